//! What the tests against Ansible itself share.

use std::path::{Path, PathBuf};

/// The project's own Ansible program `name` (.venv/bin, which `make test` installs).
pub fn ansible_program(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/install-deps (make test does)",
        p.display()
    );
    p
}
