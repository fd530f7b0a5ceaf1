//! The playbooks and roles pass ansible-lint's production profile (`.ansible-lint`).

use std::path::Path;
use std::process::Command;

#[test]
fn playbooks_and_roles_pass_ansible_lint_production_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The linter resolves module names: give it this build's module and its documentation.
    let lib = std::env::temp_dir().join(format!("mm-lint-library-{}", std::process::id()));
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_healthchecks_check"),
        lib.join("healthchecks_check"),
    )
    .unwrap();
    std::fs::copy(
        root.join("ansible/modules/healthchecks_check.yml"),
        lib.join("healthchecks_check.yml"),
    )
    .unwrap();
    let out = Command::new(root.join(".venv/bin/ansible-lint"))
        .current_dir(root)
        .args(["playbooks/", "roles/"])
        .env("ANSIBLE_CONFIG", root.join("ansible/ansible.cfg"))
        .env("ANSIBLE_LIBRARY", &lib)
        .env("NO_COLOR", "1")
        .output()
        .expect("scripts/install-deps puts ansible-lint into .venv");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("Profile 'production' was required, and it passed."),
        "{report}"
    );
}
