//! Each module's documentation sidecar (`plugins/modules/NAME.yml`, what `ansible-doc` shows)
//! states exactly the argument spec the Rust module validates against: the same options, each
//! with the same type, elements, `required`, `choices` and default. An option documented but
//! refused, accepted but undocumented, or checked differently from what its documentation
//! says fails here instead of in a user's play.

use miraclemax_ansible::spec::{Kind, Opt, Spec};
use serde_json::{Map, Value, json};
use std::path::Path;

fn documented_options(module: &str) -> Map<String, Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../ansible/collections/ansible_collections/miraclemax/stack/plugins/modules/{module}.yml"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc["DOCUMENTATION"]["options"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: DOCUMENTATION has no options", path.display()))
        .clone()
}

/// What the sidecar should say of an option, in the sidecar's own keys (description aside).
fn as_documented(opt: &Opt) -> Value {
    let mut doc = Map::new();
    doc.insert("type".into(), json!(opt.kind.name()));
    if let Kind::List(elements) = opt.kind {
        doc.insert("elements".into(), json!(elements.name()));
    }
    if opt.required {
        doc.insert("required".into(), json!(true));
    }
    if !opt.choices.is_empty() {
        doc.insert("choices".into(), json!(opt.choices));
    }
    if let Some(default) = opt.default.value() {
        doc.insert("default".into(), default);
    }
    Value::Object(doc)
}

fn without_description(doc: &Value) -> Value {
    let mut doc = doc.as_object().cloned().unwrap_or_default();
    doc.remove("description");
    // `required: false` is what leaving it out means.
    if doc.get("required") == Some(&json!(false)) {
        doc.remove("required");
    }
    Value::Object(doc)
}

const SPECS: [&Spec; 5] = [
    &miraclemax_ansible::healthchecks_check::SPEC,
    &miraclemax_ansible::stack_facts::SPEC,
    &miraclemax_ansible::agent_config::SPEC,
    &miraclemax_ansible::drill::SPEC,
    &miraclemax_ansible::maintenance::SPEC,
];

#[test]
fn each_modules_documented_options_are_exactly_those_it_accepts() {
    for spec in SPECS {
        let documented = documented_options(spec.module);
        let mut documented: Vec<&str> = documented.keys().map(String::as_str).collect();
        let mut accepted: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
        accepted.sort_unstable();
        documented.sort_unstable();
        assert_eq!(
            documented, accepted,
            "{}: the sidecar's options (left) differ from what the module accepts (right)",
            spec.module
        );
    }
}

#[test]
fn each_option_is_checked_as_its_documentation_says() {
    for spec in SPECS {
        let documented = documented_options(spec.module);
        for opt in spec.options {
            assert_eq!(
                without_description(&documented[opt.name]),
                as_documented(opt),
                "{}: option {}: the sidecar (left) and the module's SPEC (right) differ",
                spec.module,
                opt.name
            );
        }
    }
}
