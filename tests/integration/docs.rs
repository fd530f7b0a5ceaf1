//! The README and the guides cannot rot: their links and repository paths exist, their email
//! examples are the golden files, and every command of a `sh runnable` block runs here (the fast
//! tier: this build's binaries first on PATH, a temporary home folder as the working folder) and
//! prints what the guide shows. `sh runnable e2e` blocks run in `tests/e2e/docs.rs`.
//! `UPDATE_GOLDEN=1` rewrites the guides' email examples from `tests/golden/`.

use mm_testbed::docs::{self, Session, Tier};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn docs_links_paths_and_email_examples_in_the_readme_and_guides_exist_and_match() {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        for doc in docs::documents(root()) {
            let path = root().join(doc);
            let text = std::fs::read_to_string(&path).unwrap();
            let new = docs::check::rewrite_goldens(root(), &text);
            if new != text {
                std::fs::write(&path, new).unwrap();
            }
        }
    }
    let problems: Vec<String> = docs::check_all(root())
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// This build's binaries: the host programs beside this test's, and mmctl from the same folder.
fn bin_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
        .parent()
        .unwrap()
        .to_path_buf();
    mm_testbed::workspace_bin("mmctl");
    dir
}

#[test]
fn docs_runnable_commands_run_and_print_what_the_guides_show() {
    let mut ran = 0;
    let mut problems = Vec::new();
    for doc in docs::documents(root()) {
        let text = std::fs::read_to_string(root().join(&doc)).unwrap();
        // Each guide in a session of its own.
        let session = Session::new(&[bin_dir()], None, &[], 60).unwrap();
        match docs::run_document(
            &session,
            &doc,
            &text,
            |b| b.tier == Tier::Fast,
            true,
            |_, _, _| {},
        ) {
            Ok(n) => ran += n,
            Err(p) => problems.push(p.to_string()),
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
    assert!(ran > 0, "no runnable command found in the guides");
}
