//! Finding Ansible's programs: the project's own `.venv` (made by `scripts/install-deps`) in
//! the current folder or one above it, else whatever `PATH` has.

use std::path::PathBuf;

pub fn program(name: &str) -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let p = dir.join(".venv/bin").join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from(name)
}
