//! ansible.cfg as mmctl reads it and as Ansible reads it: each case is a configuration file
//! read by mmctl's reader and by `ansible-config dump` (the project's own Ansible, which
//! `make test` installs in .venv), and the settings mmctl uses (which inventory, which vault
//! identity, which callbacks) must agree: Ansible's configparser rules for comments, case,
//! continuation lines, `[DEFAULT]` and `%` decide them.

mod support;

use mmctl::inventory::ansible_cfg::setting;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The settings `ansible-config dump --only-changed` prints for the file, by name.
fn ansible_reads(dir: &Path) -> serde_json::Map<String, Value> {
    let out = Command::new(support::ansible_program("ansible-config"))
        .args(["dump", "--only-changed", "--format", "json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?.to_string();
            Some((name, s.get("value")?.clone()))
        })
        .collect()
}

/// A list setting's items (a text one is one item), blanks left out, the configuration
/// file's folder taken off paths.
fn items(v: Option<&Value>, dir: &Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    let all = match v {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(other) => vec![other.to_string()],
    };
    all.into_iter()
        .map(|s| s.strip_prefix(&prefix).map(String::from).unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// mmctl's reading of a setting, split at commas as the lists are.
fn mmctl_items(text: &str, key: &str, list: bool) -> Vec<String> {
    let Some(v) = setting(text, "defaults", key) else {
        return Vec::new();
    };
    if !list {
        return vec![v];
    }
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

const CASES: &[&str] = &[
    "[defaults]\ninventory = hosts.yml\nvault_identity = dev\n",
    "[defaults]\nINVENTORY: hosts.yml\nVault_Identity=dev\n",
    "[defaults]\ninventory = hosts.yml ; a comment\nvault_identity = dev # not a comment\n",
    "[defaults]\ninventory = a.yml,b.yml\nvault_identity = dev;prod\n",
    "[defaults]\ncallbacks_enabled = one,\n    two, ; the second\n\n  # between\n    three\ninventory = hosts.yml\n",
    "[DEFAULT]\nvault_identity = shared\n[defaults]\ninventory = hosts.yml\n",
    "[DEFAULT]\nvault_identity = shared\n[defaults]\nvault_identity = own\n",
    "[Defaults]\nvault_identity = other\n[defaults]\ninventory = hosts.yml\n",
    "[defaults]\nvault_identity = %(here)s\n",
    "  # an indented comment\n[defaults] ; the section\n  ; another\ninventory=hosts.yml\n",
];

#[test]
fn mmctl_reads_the_settings_ansible_reads_from_ansible_cfg() {
    for (i, text) in CASES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ansible.cfg"), text).unwrap();
        let ansible = ansible_reads(dir.path());
        for (key, name, list) in [
            ("inventory", "DEFAULT_HOST_LIST", true),
            ("vault_identity", "DEFAULT_VAULT_IDENTITY", false),
            ("callbacks_enabled", "CALLBACKS_ENABLED", true),
        ] {
            assert_eq!(
                mmctl_items(text, key, list),
                items(ansible.get(name), dir.path()),
                "case {i}, {key}, in:\n{text}"
            );
        }
    }
}
