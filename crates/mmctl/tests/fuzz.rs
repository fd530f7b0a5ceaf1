//! No inventory text crashes mmctl: any hosts file or vars file is read or refused with a
//! message, and an edit of any vars file either gives a file that holds exactly the intended
//! list or is refused. Alias bombs are refused. `PROPTEST_CASES=100000 cargo test -p mmctl
//! --test fuzz` runs longer; failures found are kept in proptest-regressions/ and replayed.

use mmctl::edit::{self, Entry};
use mmctl::fleet;
use mmctl::inventory::{Inventory, Place, Vault};
use proptest::prelude::*;
use serde_json::json;
use std::path::PathBuf;

/// Text that looks like YAML often enough to reach past the first line.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("monitored_services:\n".to_string()),
        Just("  - name: a\n    port: 1\n".to_string()),
        Just("- ".to_string()),
        Just("  # c\n".to_string()),
        Just("[{name: b, port: 2}]\n".to_string()),
        Just("hosts:\n  h1:\n".to_string()),
        Just("vars:\n".to_string()),
        Just("children:\n".to_string()),
        Just("&x ".to_string()),
        Just("*x\n".to_string()),
        Just("---\n".to_string()),
        Just("\"{{ x }}\"\n".to_string()),
        "[ -~]{0,8}\n?",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

fn load_with(hosts: &str, vars: &str) -> Result<Inventory, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("group_vars")).unwrap();
    std::fs::write(dir.path().join("hosts.yml"), hosts).unwrap();
    std::fs::write(dir.path().join("group_vars/all.yml"), vars).unwrap();
    let inv = Inventory::load(&[dir.path().to_path_buf()], &Vault::default())
        .map_err(|e| e.to_string())?;
    for h in inv.hosts.keys() {
        let _ = fleet::check(&inv, h);
    }
    Ok(inv)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_hosts_or_vars_file_is_read_or_refused_never_a_crash(hosts in yamlish(), vars in yamlish()) {
        let _ = load_with(&hosts, &vars);
        let _ = load_with("all:\n  hosts:\n    h1:\n", &vars);
    }

    #[test]
    fn an_edit_of_any_file_holds_exactly_the_intended_list_or_is_refused(
        text in yamlish(),
        name in "[a-z0-9@._-]{1,12}|\\PC{1,8}",
        port in any::<u16>(),
    ) {
        let place = Place { file: PathBuf::from("x.yml"), keys: vec![] };
        let entry = Entry::Map(vec![("name".into(), json!(name)), ("port".into(), json!(port))]);
        if let Ok(out) = edit::append(&text, &place, "monitored_services", &entry) {
            // append checked the result itself; removing the entry again must work too.
            let back = edit::remove(&out, &place, "monitored_services", &name);
            prop_assert!(back.is_ok(), "{:?}", back);
        }
        let _ = edit::remove(&text, &place, "monitored_services", &name);
        let _ = edit::line_of(&text, &place, "monitored_services", Some(&name));
    }
}

#[test]
fn an_alias_bomb_in_an_inventory_is_refused_not_expanded() {
    let mut vars = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        vars.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    vars.push_str("monitored_services: *a9\n");
    let err = load_with("all:\n  hosts:\n    h1:\n", &vars).unwrap_err();
    assert!(err.contains("group_vars/all.yml: budget breached"), "{err}");
}
