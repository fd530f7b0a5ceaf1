//! The playbooks and roles pass ansible-lint's production profile (`.ansible-lint`), and
//! `ansible-doc` shows each module's documentation.

#[test]
fn playbooks_and_roles_pass_ansible_lint_production_profile() {
    let out = crate::support::ansible("ansible-lint")
        .args(["playbooks/", "roles/"])
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

#[test]
fn ansible_doc_shows_each_modules_documentation() {
    for (name, first_line) in [
        (
            "healthchecks_check",
            "Ensures a check exists on Healthchecks",
        ),
        (
            "stack_facts",
            "Returns what `miraclemax-status --json' shows",
        ),
        ("drill", "A fire drill for one service"),
        ("maintenance", "A deploy window"),
        ("agent_config", "The text of a host's agent configuration"),
    ] {
        let out = crate::support::ansible("ansible-doc")
            .arg(format!("miraclemax.stack.{name}"))
            .output()
            .expect("scripts/install-deps puts ansible-core into .venv");
        let doc = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            doc.starts_with(&format!("> MODULE miraclemax.stack.{name}")),
            "{doc}"
        );
        assert!(doc.contains(first_line), "{doc}");
        assert!(doc.contains("EXAMPLES") && doc.contains("RETURN"), "{doc}");
    }
}
