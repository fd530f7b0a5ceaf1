//! Finding Ansible's programs and settings as a user's own `ansible-playbook` would. mmctl runs
//! only what it was pointed at: the programs in `MMCTL_ANSIBLE_BIN_DIR` when that is set, else
//! the ones on `PATH`, never a virtualenv or playbook it happens to find near the current folder.

use crate::inventory::locate::{config_files, setting};
use std::path::PathBuf;

/// The environment variable naming the folder that holds `ansible-playbook` and `ansible`.
pub const BIN_DIR_VAR: &str = "MMCTL_ANSIBLE_BIN_DIR";

pub fn program(name: &str) -> PathBuf {
    match std::env::var_os(BIN_DIR_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join(name),
        None => PathBuf::from(name),
    }
}

/// One of Ansible's programs could not be started.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot run {}: {reason} (install ansible-core, e.g. pip install ansible-core, and put its \
     programs on PATH or name their folder in {BIN_DIR_VAR})",
    program.display()
)]
pub struct CannotRun {
    pub program: PathBuf,
    pub reason: std::io::Error,
}

/// What to say when a program cannot be started.
pub fn cannot_run(name: &str, e: std::io::Error) -> CannotRun {
    CannotRun {
        program: program(name),
        reason: e,
    }
}

/// The callbacks Ansible will enable on its own: `ANSIBLE_CALLBACKS_ENABLED`, else the
/// `callbacks_enabled` setting of the configuration file Ansible reads (the first it finds).
pub fn callbacks_enabled() -> Vec<String> {
    let list = std::env::var("ANSIBLE_CALLBACKS_ENABLED").ok().or_else(|| {
        config_files()
            .into_iter()
            .find_map(|cfg| std::fs::read_to_string(cfg).ok())
            .and_then(|text| setting(&text, "defaults", "callbacks_enabled"))
    });
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
