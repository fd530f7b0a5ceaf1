//! The argument sets both sides answer: every module's spec and one that has every kind of
//! option, fed a hand-picked table of values where conversions are subtle (numbers as text,
//! booleans in every spelling, nulls, lists and dicts written as text, unknown options,
//! several errors at once) and generated ones.

use miraclemax_ansible::spec::{Default, Elements, Opt, Spec};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

/// Every kind of option, required, with choices, with and without defaults.
pub const EVERY_KIND: Spec = Spec {
    module: "every_kind",
    options: &[
        Opt::str("name").required(),
        Opt::str("secret"),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default(Default::Str("present")),
        Opt::str("answer").choices(&["yes", "no", "ask"]),
        Opt::int("timeout").default(Default::Int(120)),
        Opt::int("count"),
        Opt::bool("force").default(Default::Bool(false)),
        Opt::bool("flag"),
        Opt::path("p"),
        Opt::path("config").default(Default::Str("/etc/x")),
        Opt::dict("d"),
        Opt::dict("limits").default(Default::EmptyDict),
        Opt::list("tags", Elements::Str),
        Opt::list("notify", Elements::Dict).default(Default::EmptyList),
    ],
};

pub const SPECS: [&Spec; 6] = [
    &EVERY_KIND,
    &miraclemax_ansible::healthchecks_check::SPEC,
    &miraclemax_ansible::stack_facts::SPEC,
    &miraclemax_ansible::agent_config::SPEC,
    &miraclemax_ansible::drill::SPEC,
    &miraclemax_ansible::maintenance::SPEC,
];

/// Values for one option each, given with `name: x` beside them.
fn tricky() -> Vec<(&'static str, Vec<Value>)> {
    let any = || {
        vec![
            Value::Null,
            json!([]),
            json!({}),
            json!(true),
            json!(""),
            json!(0.5),
        ]
    };
    let ints = json!([
        "1_000", " 300 ", "+5", "-7", "3.0", "1.5", "1e3", "1E-0", "0x10", " ", "1 000", "_",
        "12.50e1", "00", "-0", 1.0, 1.5, 3, -0.0, 1e300, 99999999999999999999u128 as f64,
        9223372036854775807i64, 9223372036854775808u64, -9223372036854775808i64,
        9.2233720368547e18, -9.223372036854776e18, "99999999999999999999", "nan", "sNaN",
        "Infinity", " -inf ", false,
        [1], {"a": 1}
    ]);
    let bools = json!([
        "Yes", "yes", "YES", "on", "On", "y", "Y", "n", "1", "0", "t", "F", " true ", "no ",
        "off", "maybe", "1.0", "", 1, 0, 1.0, 0.0, 2, -1, false, [true], {"a": true}
    ]);
    let strs = json!([
        true, false, 1, 1.0, 1.5, 1e16, 1e-5, 2.5e-7, 123456789012345678u64 as f64, -3,
        [1, {"a": 1}], {"a": 1, "b": [true, null, 1.0]}, ["it's", "say \"hi\"", "both ' \""],
        ["tab\there", "nl\nx", "back\\slash", "\u{7f}\u{a0}\u{ad}é日😀\u{200b}"], "plain",
        ["\u{378}", "\u{e0080}", "\u{2029}\u{1f}\u{feff}"], "\u{378}"
    ]);
    let paths = json!([
        "~/x", "~", "~/", "~root/x", "~root", "~no_such_user_mm/x", "$HOME/y", "${HOME}/y",
        "$NO_SUCH_VAR_MM/z", "${NO_SUCH_VAR_MM}/z", "${NO_SUCH_VAR_MM$HOME}", "a$", "$", "${",
        "x/$HOME", 5, 1.5, ["x"], {"a": "~"}
    ]);
    let dicts = json!([
        "a=1 b=2", "a=1, b=2", "a='x y' b=\"q r\"", "a=\\ b", "a", "a=1 b", "=", "k=v=w",
        "{\"a\": 1}", " {\"a\": 1}", "{'a': 1}", "{bad", "{\"a\": [1, 2]}", "{}", "[1]", 5,
        ["a=1"], {"a": {"b": 1}}
    ]);
    let tags = json!([
        "a, b", "a,,b", "a", ",", 5, 1.5, 1e20, true, [1, {"a": 1}], [null, true, 1.0, [2]],
        {"a": 1}, ["x"]
    ]);
    let notify = json!([
        ["a=1", {"b": 2}], ["{\"c\": 3}"], "a=1", [1], [null], "{\"a\": 1}", ["{'a': 1}"],
        [[]], 7
    ]);
    let choices = json!(["present", "absent", "gone", "Present", 1, "True", "False"]);
    let answers = json!([true, false, "True", "False", "yes", "y", "maybe"]);
    let list = |v: Value| v.as_array().cloned().unwrap_or_default();
    let with_any = |v: Value| [list(v), any()].concat();
    vec![
        ("timeout", with_any(ints.clone())),
        ("count", with_any(ints)),
        ("force", with_any(bools.clone())),
        ("flag", with_any(bools)),
        ("secret", with_any(strs.clone())),
        ("name", with_any(strs)),
        ("p", with_any(paths.clone())),
        ("config", with_any(paths)),
        ("d", with_any(dicts.clone())),
        ("limits", with_any(dicts)),
        ("tags", with_any(tags)),
        ("notify", with_any(notify)),
        ("state", with_any(choices)),
        ("answer", with_any(answers)),
    ]
}

/// Whole argument sets: missing and null required options, unknown options, Ansible's own
/// keys, several errors at once.
fn whole_sets() -> Vec<Value> {
    json!([
        {}, {"name": null}, {"name": "x", "nmae": 1}, {"bogus": 1, "zed": 2},
        {"name": "x", "_ansible_check_mode": true, "_ansible_diff": false,
         "_ansible_module_name": "every_kind", "_ansible_verbosity": 3},
        {"name": "x", "_ansible_future_key_mm": 1},
        {"name": "x", "bogus": 1, "_ansible_ignore_unknown_opts": true},
        {"name": "x", "bogus": 1, "_ansible_ignore_unknown_opts": "no"},
        {"timeout": "x", "force": "maybe", "state": "gone", "bogus": 1},
        {"name": "x", "timeout": "x", "force": "maybe", "state": "gone", "bogus": 1},
        {"name": "x", "force": "maybe", "timeout": "x"},
        {"name": "x", "state": "gone", "answer": "maybe", "bogus": 1},
        {"name": "x", "tags": [[1], {"a": 1}], "notify": ["x", "y"]},
        {"name": "x", "state": "gone", "bogus": 1},
    ])
    .as_array()
    .cloned()
    .unwrap_or_default()
}

/// The module specs with their own options given text or nulls.
fn module_sets(spec: &Spec) -> Vec<Value> {
    let all = |v: Value| -> Value {
        Value::Object(
            spec.options
                .iter()
                .map(|o| (o.name.to_string(), v.clone()))
                .collect(),
        )
    };
    vec![
        json!({}),
        all(Value::Null),
        all(json!("1")),
        all(json!("yes")),
        all(json!("a=1, b")),
        all(json!(0)),
        all(json!([])),
        json!({"bogus": true}),
    ]
}

pub fn table() -> Vec<(&'static Spec, String)> {
    let mut cases = Vec::new();
    for (option, values) in tricky() {
        for v in values {
            let mut args = json!({"name": "x"});
            args[option] = v;
            cases.push((&EVERY_KIND, args.to_string()));
        }
    }
    for args in whole_sets() {
        cases.push((&EVERY_KIND, args.to_string()));
    }
    // Written by hand: a mapping's keys out of sorted order.
    cases.push((
        &EVERY_KIND,
        r#"{"name": {"b": 1, "a": [2]}, "d": {"z": 1, "y": 2}}"#.into(),
    ));
    for spec in &SPECS[1..] {
        for args in module_sets(spec) {
            cases.push((*spec, args.to_string()));
        }
    }
    cases
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9 ,=_.+{}\"'~$/é-]{0,10}".prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "t",
            "1",
            "0",
            " 7 ",
            "1_0",
            "2.0",
            "2.5",
            "-3",
            "a, b",
            "a=1 b=2",
            "{\"k\": 1}",
            "~/x",
            "$HOME",
            "present",
            "absent",
            "paused",
        ])
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-3i32..4).prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        (-1000i32..1000).prop_map(|i| Value::from(f64::from(i))),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arguments(spec: &'static Spec) -> impl Strategy<Value = Value> {
    let mut names: Vec<&'static str> = spec.options.iter().map(|o| o.name).collect();
    names.extend(["bogus", "_ansible_check_mode"]);
    let count = names.len();
    (
        prop::sample::subsequence(names, 0..=count),
        prop::collection::vec(value(), count),
    )
        .prop_map(|(keys, values)| {
            Value::Object(
                keys.into_iter()
                    .zip(values)
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        })
}

/// `n` argument sets spread over the specs, the same on every run (a failure can be re-run).
pub fn generated(n: usize) -> Vec<(&'static Spec, String)> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|i| {
            let spec = SPECS[i % SPECS.len()];
            let args = arguments(spec)
                .new_tree(&mut runner)
                .expect("a generated argument set")
                .current();
            (spec, args.to_string())
        })
        .collect()
}
