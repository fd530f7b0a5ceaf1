//! The playbooks and roles pass ansible-lint's production profile (`.ansible-lint`).

mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn playbooks_and_roles_pass_ansible_lint_production_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The linter resolves module names: give it this build's module and its documentation.
    let lib = support::module_library();
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
