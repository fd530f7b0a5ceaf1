//! One handler per mmctl command: `main.rs` parses the arguments and maps the result to an
//! exit code; each command's body lives here, in the library, where the decisions it makes
//! (which problems a `--limit` keeps, which exit code a validation earns, what a render may
//! print) are reachable by unit tests. The handlers print what the user sees; the errors they
//! return are printed by `main` as `mmctl: error: ...`.
//!
//! The handlers return `anyhow::Result`: they are the binary's half of the crate, where the
//! typed errors of the modules they drive meet and get their context, as in a `main`.

pub mod check_config;
pub mod deploy;
pub mod drill;
pub mod init;
pub mod inventory;
pub mod list;
pub mod logs;
pub mod pause;
pub mod render;
pub mod scope;
pub mod service_edit;
pub mod status;
pub mod uninstall;
pub mod validate;

use crate::ops;
use crate::services::{Plan, Source};

/// The program's name, as every message starts with it.
pub const NAME: &str = "mmctl";

/// Runs `f` against one host, with the vault password handed on to Ansible if there is one.
pub(crate) fn on_host<T>(
    source: &Source,
    host: &str,
    f: impl FnOnce(&ops::Target) -> Result<T, ops::OpsError>,
) -> anyhow::Result<T> {
    let vault = source.vault.for_ansible()?;
    Ok(f(&ops::Target {
        inventory: &source.paths,
        host,
        vault: &vault.args,
    })?)
}

/// Shows an edit (`--dry-run`) or writes it, and says what it reached.
pub(crate) fn done(plan: &Plan, dry_run: bool, what: &str) -> anyhow::Result<()> {
    for w in &plan.warnings {
        eprintln!("{NAME}: warning: {w}");
    }
    if dry_run {
        print!("{}", plan.diff());
        eprintln!(
            "{NAME}: dry run, nothing written; it would reach: {}",
            plan.hosts.join(", ")
        );
        return Ok(());
    }
    plan.write()?;
    println!(
        "{what} in {} (reaches: {})",
        plan.files().join(", "),
        plan.hosts.join(", ")
    );
    Ok(())
}
