//! No configuration text can crash the parser or make it hang: any bytes, and configurations
//! built from random parts, give a configuration or a list of problems. YAML alias bombs and
//! deeply nested documents are refused. `PROPTEST_CASES=100000 cargo test --test integration
//! config_fuzz` runs longer; a failure found is kept in proptest-regressions/ and replayed.

use miraclemax::config::render::{AgentVars, agent_config};
use miraclemax::config::{ConfigError, ServiceName, parse};
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "[a-z0-9_@.:/ -]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A service entry with the keys the daemon knows (and sometimes others), any values.
fn service() -> impl Strategy<Value = Value> {
    let keys = prop::sample::subsequence(
        vec![
            "name",
            "port",
            "unit",
            "domain",
            "critical",
            "healing_strategies",
            "depends_on",
            "health",
            "typo",
        ],
        0..9,
    );
    (keys, prop::collection::vec(value(), 9)).prop_map(|(keys, values)| {
        Value::Object(
            keys.into_iter()
                .zip(values)
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_configuration_or_problems_never_a_crash(text in any::<String>()) {
        let _ = parse(&text, Path::new("config.yaml"));
    }

    #[test]
    fn random_services_either_validate_into_sound_values_or_are_refused(
        services in prop::collection::vec(service(), 0..6),
        limits in value(),
        email in value(),
    ) {
        let text = agent_config(&AgentVars {
            host: "fuzz".into(),
            monitored_services: services,
            limits,
            email,
            ..AgentVars::default()
        });
        match parse(&text, Path::new("config.yaml")) {
            Ok(c) => {
                for s in &c.services {
                    prop_assert!(ServiceName::parse(s.name.as_str()).is_ok());
                    prop_assert!(s.port.is_none_or(|p| p.get() >= 1));
                }
                let mut names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
                names.sort();
                names.dedup();
                prop_assert_eq!(names.len(), c.services.len(), "names are unique");
            }
            Err(ConfigError::Invalid { problems, .. }) => prop_assert!(!problems.is_empty()),
            Err(_) => {}
        }
    }
}

#[test]
fn an_alias_bomb_is_refused_not_expanded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("monitored_services: *a9\n");
    let err = parse(&text, Path::new("bomb.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bomb.yaml: budget breached"), "{err}");
}

#[test]
fn a_deeply_nested_document_is_refused() {
    let depth = 100_000;
    let text = format!("extra: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let err = parse(&text, Path::new("deep.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("deep.yaml: recursion limit exceeded"),
        "{err}"
    );
    let maps = format!(
        "limits:\n{}",
        (0..1_500)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>()
    );
    assert!(parse(&maps, Path::new("deep.yaml")).is_err());
}
