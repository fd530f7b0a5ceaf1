//! No module arguments crash a module: any JSON Ansible could pass gives a result or a
//! `failed` with a message. (The modules that reach a host or Healthchecks are fed only their
//! argument checks here; the end-to-end tier runs them for real.)

use miraclemax_ansible::{Args, agent_config};
use proptest::prelude::*;
use serde_json::Value;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn options() -> impl Strategy<Value = Value> {
    let keys = prop::sample::subsequence(
        vec![
            "host",
            "ssh_target",
            "monitored_services",
            "email",
            "limits",
            "protected_processes",
            "heartbeat",
            "bogus",
            "_ansible_check_mode",
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
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn agent_config_answers_any_arguments_with_text_or_a_message(args in options()) {
        let args = Args::from_json(&args.to_string()).unwrap();
        match agent_config::run(&args) {
            Ok(out) => prop_assert!(out["content"].as_str().is_some_and(|t| t.starts_with("# /etc/miraclemax/"))),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_text_as_the_arguments_file_is_parsed_or_refused(text in any::<String>()) {
        let _ = Args::from_json(&text);
    }
}
