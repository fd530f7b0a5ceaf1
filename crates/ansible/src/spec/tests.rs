//! The argument spec checks arguments as Ansible checks a Python module's, in its words.

use super::*;

const SPEC: Spec = Spec {
    module: "example",
    options: &[
        Opt::str("name").required(),
        Opt::str("api_key"),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default(Default::Str("present")),
        Opt::int("timeout").default(Default::Int(120)),
        Opt::bool("force").default(Default::Bool(false)),
        Opt::path("config"),
        Opt::dict("limits").default(Default::EmptyDict),
        Opt::list("services", Elements::Str),
        Opt::list("notify", Elements::Dict).default(Default::EmptyList),
    ],
};

fn check(args: Value) -> Result<(Map<String, Value>, BTreeSet<String>), ModuleError> {
    validate(args.as_object().unwrap(), &SPEC)
}

fn ok(args: Value) -> Map<String, Value> {
    check(args.clone())
        .unwrap_or_else(|e| panic!("{args}: {e}"))
        .0
}

fn err(args: Value) -> String {
    check(args.clone())
        .expect_err(&args.to_string())
        .to_string()
}

#[test]
fn an_unknown_option_is_refused_naming_the_supported_ones() {
    assert_eq!(
        err(json!({"name": "x", "nmae": "y"})),
        "Unsupported parameters for (example) module: nmae. Supported parameters include: \
         api_key, config, force, limits, name, notify, services, state, timeout."
    );
}

#[test]
fn ansibles_own_keys_are_kept_and_never_unknown() {
    let out = ok(json!({"name": "x", "_ansible_check_mode": true}));
    assert_eq!(out["_ansible_check_mode"], true);
}

#[test]
fn a_missing_required_option_is_named() {
    assert_eq!(err(json!({})), "missing required arguments: name");
}

#[test]
fn null_is_what_ansible_makes_of_it() {
    assert_eq!(
        ok(json!({"name": null}))["name"],
        "",
        "a required string given as null is given, as ''"
    );
    assert!(
        !ok(json!({"name": "x", "api_key": null})).contains_key("api_key"),
        "no default: left as not given"
    );
    assert_eq!(
        err(json!({"name": "x", "timeout": null})),
        "argument 'timeout' is of type NoneType and we were unable to convert to int",
        "with a default, null is checked as a value, not replaced by the default"
    );
}

#[test]
fn a_value_outside_the_choices_is_refused_with_the_choices() {
    assert_eq!(
        err(json!({"name": "x", "state": "gone"})),
        "value of state must be one of: present, absent, got: gone"
    );
}

#[test]
fn defaults_fill_what_the_task_left_out_and_are_told_apart() {
    let (out, defaulted) = check(json!({"name": "x", "timeout": 5})).unwrap();
    assert_eq!(out["state"], "present");
    assert_eq!(out["timeout"], 5);
    assert_eq!(out["force"], false);
    assert_eq!(out["limits"], json!({}));
    assert_eq!(out["notify"], json!([]));
    assert!(
        !out.contains_key("api_key"),
        "no default, not given: absent"
    );
    assert!(defaulted.contains("state") && !defaulted.contains("timeout"));
}

#[test]
fn values_written_as_strings_convert_as_ansible_converts_them() {
    let out = ok(json!({
        "name": 42,
        "timeout": " 300 ",
        "force": "yes",
        "limits": "{\"check_interval\": \"5s\"}",
        "services": "web, db",
        "config": ["a", 1],
    }));
    assert_eq!(out["name"], "42");
    assert_eq!(out["timeout"], 300);
    assert_eq!(out["force"], true);
    assert_eq!(out["limits"], json!({"check_interval": "5s"}));
    assert_eq!(
        out["services"],
        json!(["web", " db"]),
        "split, nothing trimmed"
    );
    assert_eq!(out["config"], "['a', 1]", "Python's str() of a list");
    for (flag, means) in [("no", false), ("True", true), ("off", false), ("1", true)] {
        assert_eq!(
            ok(json!({"name": "x", "force": flag}))["force"],
            means,
            "{flag}"
        );
    }
    assert_eq!(ok(json!({"name": "x", "force": 0}))["force"], false);
    assert_eq!(ok(json!({"name": "x", "timeout": 60.0}))["timeout"], 60);
}

#[test]
fn a_value_of_the_wrong_type_is_refused_naming_both_types() {
    for (args, says) in [
        (
            json!({"name": "x", "timeout": "soon"}),
            "argument 'timeout' is of type str and we were unable to convert to int",
        ),
        (
            json!({"name": "x", "timeout": 1.5}),
            "argument 'timeout' is of type float and we were unable to convert to int",
        ),
        (
            json!({"name": "x", "force": "perhaps"}),
            "argument 'force' is of type str and we were unable to convert to bool",
        ),
        (
            json!({"name": "x", "force": null}),
            "argument 'force' is of type NoneType and we were unable to convert to bool",
        ),
        (
            json!({"name": "x", "timeout": [5]}),
            "argument 'timeout' is of type list and we were unable to convert to int",
        ),
        (
            json!({"name": "x", "limits": "check_interval"}),
            "argument 'limits' is of type str and we were unable to convert to dict",
        ),
        (
            json!({"name": "x", "services": {"web": 1}}),
            "argument 'services' is of type dict and we were unable to convert to list",
        ),
        (
            json!({"name": "x", "notify": [{"a": 1}, 1]}),
            "Elements value for option 'notify' is of type int and we were unable to convert \
             to dict",
        ),
        (
            json!({"name": "x", "notify": ["ntfy"]}),
            "Elements value for option 'notify' is of type str and we were unable to convert \
             to dict",
        ),
    ] {
        assert_eq!(err(args.clone()), says, "{args}");
    }
}

#[test]
fn a_refused_value_is_never_quoted_as_it_may_be_a_secret() {
    let e = err(json!({"name": "x", "timeout": "hc-Zx9-secret"}));
    assert!(!e.contains("Zx9"), "{e}");
}
