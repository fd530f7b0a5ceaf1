//! Each role's `meta/argument_specs.yml` (what Ansible checks a play's variables against, and
//! what `ansible-doc -t role` shows) specifies exactly the variables of its `defaults/main.yml`,
//! each with the same default, across its entry points (`main`, and `remove` for the variables
//! only removal reads; an entry point that names a variable again gives it the same default):
//! a variable added to one and not the other fails here.

use serde_json::Value;
use std::path::Path;

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_roles_argument_spec_matches_its_defaults() {
    let roles = Path::new(env!("CARGO_MANIFEST_DIR")).join("roles");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&roles).unwrap() {
        let role = entry.unwrap().path();
        let name = role.file_name().unwrap().to_string_lossy().into_owned();
        let defaults = yaml(&role.join("defaults/main.yml"));
        let spec = yaml(&role.join("meta/argument_specs.yml"));
        let entry_points = spec["argument_specs"]
            .as_object()
            .unwrap_or_else(|| panic!("role {name}: argument_specs is missing"));
        assert!(
            entry_points["main"]["options"].is_object(),
            "role {name}: argument_specs.main.options is missing"
        );
        let mut options = serde_json::Map::new();
        for (entry, spec) in entry_points {
            for (var, opt) in spec["options"].as_object().into_iter().flatten() {
                if let Some(seen) = options.get(var) {
                    assert_eq!(
                        seen["default"], opt["default"],
                        "role {name}: {var}'s default differs in entry point {entry}"
                    );
                }
                options.insert(var.clone(), opt.clone());
            }
        }
        let defaults = defaults
            .as_object()
            .unwrap_or_else(|| panic!("role {name}: defaults/main.yml is not a mapping"));
        let mut spec_names: Vec<_> = options.keys().collect();
        let mut default_names: Vec<_> = defaults.keys().collect();
        spec_names.sort();
        default_names.sort();
        assert_eq!(
            spec_names, default_names,
            "role {name}: argument_specs (left) and defaults (right) name different variables"
        );
        for (var, value) in defaults {
            assert_eq!(
                &options[var]["default"], value,
                "role {name}: {var}'s default differs between argument_specs and defaults"
            );
            assert!(
                options[var]["description"].is_string() || options[var]["description"].is_array(),
                "role {name}: {var} has no description"
            );
        }
        checked.push(name);
    }
    checked.sort();
    assert_eq!(checked, ["binaries", "heartbeat", "self_healing"]);
}
