//! Each module's documentation sidecar (`plugins/modules/NAME.yml`, what `ansible-doc` shows)
//! lists exactly the options the Rust module accepts: an option documented but refused, or
//! accepted but undocumented, fails here instead of in a user's play.

use std::collections::BTreeSet;
use std::path::Path;

fn documented_options(module: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../ansible/collections/ansible_collections/miraclemax/stack/plugins/modules/{module}.yml"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let options = doc["DOCUMENTATION"]["options"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: DOCUMENTATION has no options", path.display()));
    options.keys().cloned().collect()
}

fn accepted(options: &[&str]) -> BTreeSet<String> {
    options.iter().map(|o| o.to_string()).collect()
}

#[test]
fn each_modules_documented_options_are_exactly_those_it_accepts() {
    for (module, options) in [
        (
            "healthchecks_check",
            miraclemax_ansible::healthchecks_check::OPTIONS,
        ),
        ("stack_facts", miraclemax_ansible::stack_facts::OPTIONS),
        ("agent_config", miraclemax_ansible::agent_config::OPTIONS),
        ("drill", miraclemax_ansible::drill::OPTIONS),
        ("maintenance", miraclemax_ansible::maintenance::OPTIONS),
    ] {
        assert_eq!(
            documented_options(module),
            accepted(options),
            "{module}: the sidecar's options (left) differ from what the module accepts (right)"
        );
    }
}
