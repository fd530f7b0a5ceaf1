//! The shape of what ships: the crates a user installs carry only user-facing binaries and no
//! test-only dependency; the modules and the test infrastructure are never published.

use serde_json::Value;
use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn package<'a>(metadata: &'a Value, name: &str) -> &'a Value {
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no workspace package {name}"))
}

fn binaries(package: &Value) -> Vec<String> {
    let mut bins: Vec<String> = package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"][0] == "bin")
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    bins.sort();
    bins
}

#[test]
fn the_installable_crates_carry_only_user_facing_binaries() {
    let metadata: Value =
        serde_json::from_str(&cargo(&["metadata", "--no-deps", "--format-version", "1"])).unwrap();
    assert_eq!(
        binaries(package(&metadata, "miraclemax")),
        [
            "miraclemax-heartbeat",
            "miraclemax-self-heal",
            "miraclemax-status"
        ]
    );
    assert_eq!(binaries(package(&metadata, "mmctl")), ["mmctl"]);
    // Shipped inside the collection and dist/, or test-only: never published as crates.
    for name in ["miraclemax-ansible", "mm-testbed"] {
        assert_eq!(
            package(&metadata, name)["publish"],
            serde_json::json!([]),
            "{name} must have publish = false"
        );
    }
    // The module binaries' names cannot clash with other tools (ldns' `drill`).
    for bin in binaries(package(&metadata, "miraclemax-ansible")) {
        assert!(bin.starts_with("miraclemax-module-"), "{bin}");
    }
}

#[test]
fn the_host_core_depends_on_no_test_infrastructure() {
    for shipped in ["miraclemax", "mmctl"] {
        let tree = cargo(&[
            "tree",
            "--locked",
            "--offline",
            "-p",
            shipped,
            "-e",
            "normal",
            "--prefix",
            "none",
        ]);
        for test_only in ["mm-testbed", "mail-parser"] {
            assert!(
                !tree
                    .lines()
                    .any(|l| l.starts_with(&format!("{test_only} "))),
                "{shipped} depends on {test_only}:\n{tree}"
            );
        }
    }
}
