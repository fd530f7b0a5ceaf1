//! The playbooks and roles pass ansible-lint's production profile (`.ansible-lint`, no rule
//! skipped), `ansible-doc` shows each module's documentation, and the collection passes
//! `ansible-test sanity` as a community collection's CI runs it, and its changelog passes
//! `antsibull-changelog lint`.

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

/// `ansible-test sanity`, the one of the ansible-core in .venv, passes on the collection, each
/// exception in its tests/sanity/ignore file carrying its reason.
#[test]
fn the_collection_passes_ansible_test_sanity() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join("scripts/ansible-test-sanity"))
        .output()
        .expect("scripts/ansible-test-sanity runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    for test in ["validate-modules", "ansible-doc", "changelog", "yamllint"] {
        assert!(
            report.contains(&format!("Running sanity test \"{test}\"")),
            "{test} ran: {report}"
        );
    }
    let ignores = std::fs::read_to_string(root.join(
        "ansible/collections/ansible_collections/miraclemax/stack/tests/sanity/ignore-2.19.txt",
    ))
    .unwrap();
    for line in ignores.lines() {
        assert!(
            line.split_once("  # ")
                .is_some_and(|(_, why)| !why.trim().is_empty()),
            "every ignored check says why: {line}"
        );
    }
}

/// The collection's changelog fragments and its changelog.yaml pass antsibull-changelog's own
/// checks, so `antsibull-changelog release` can run.
#[test]
fn the_collections_changelog_passes_antsibull_changelog_lint() {
    let collection = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ansible/collections/ansible_collections/miraclemax/stack");
    for args in [
        &["lint"][..],
        &["lint-changelog-yaml", "changelogs/changelog.yaml"][..],
    ] {
        let out = crate::support::ansible("antsibull-changelog")
            .current_dir(&collection)
            .args(args)
            .output()
            .expect("scripts/install-deps puts antsibull-changelog into .venv");
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "antsibull-changelog {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
