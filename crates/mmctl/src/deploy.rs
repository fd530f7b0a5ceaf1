//! `mmctl deploy`: runs the collection's playbook by its name (`miraclemax.stack.NAME`, found by
//! Ansible as it finds any collection) with the `ansible-playbook` mmctl was pointed at (see
//! `ansible`), on the same inventory. What the play prints goes straight to the terminal, as the
//! user's own settings make it (stdout callback, colour); mmctl's one line per host comes from
//! the collection's `mmctl_results` callback, which writes each host's totals as JSON. The exit
//! code is the play's.

use crate::ansible::{callbacks_enabled, cannot_run, program};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The collection's callback that writes the results, and the variable naming its file.
const RESULTS_CALLBACK: &str = "miraclemax.stack.mmctl_results";
const RESULTS_FILE_VAR: &str = "MIRACLEMAX_RESULTS_FILE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    #[value(name = "self-healing")]
    SelfHealing,
    #[value(name = "healthchecks")]
    Healthchecks,
}

pub struct Options {
    pub inventory: Vec<PathBuf>,
    pub only: Option<Only>,
    pub check: bool,
    pub diff: bool,
    pub limit: Option<String>,
    pub vault_password_file: Option<PathBuf>,
    /// Passed on as `-e` (ansible-playbook's extra variables).
    pub extra_vars: Vec<String>,
}

/// The collection's playbook for this deploy, by its fully qualified name.
pub fn playbook(only: Option<Only>) -> &'static str {
    match only {
        None => "miraclemax.stack.deploy_complete_monitoring",
        Some(Only::SelfHealing) => "miraclemax.stack.deploy_self_healing",
        Some(Only::Healthchecks) => "miraclemax.stack.deploy_healthchecks",
    }
}

/// The ansible-playbook command line (argument vector, never a shell string), with the
/// results callback added to the callbacks the user's settings already enable.
pub fn command(o: &Options, results: &Path) -> Command {
    let mut cmd = Command::new(program("ansible-playbook"));
    for i in &o.inventory {
        cmd.arg("-i").arg(i);
    }
    cmd.arg(playbook(o.only));
    if o.check {
        cmd.arg("--check");
    }
    if o.diff {
        cmd.arg("--diff");
    }
    if let Some(l) = &o.limit {
        cmd.arg("--limit").arg(l);
    }
    if let Some(f) = &o.vault_password_file {
        cmd.arg("--vault-password-file").arg(f);
    }
    for e in &o.extra_vars {
        cmd.arg("-e").arg(e);
    }
    let mut callbacks = callbacks_enabled();
    if !callbacks.iter().any(|c| c == RESULTS_CALLBACK) {
        callbacks.push(RESULTS_CALLBACK.to_string());
    }
    cmd.env("ANSIBLE_CALLBACKS_ENABLED", callbacks.join(","))
        .env(RESULTS_FILE_VAR, results);
    cmd
}

/// One host's totals from the play.
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub struct Recap {
    #[serde(skip)]
    pub host: String,
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
}

impl Recap {
    pub fn summary(&self) -> String {
        let verdict = if self.unreachable > 0 {
            "UNREACHABLE"
        } else if self.failed > 0 {
            "FAILED"
        } else if self.changed > 0 {
            "changed"
        } else {
            "ok, nothing to change"
        };
        format!(
            "{}: {verdict} ({} ok, {} changed, {} failed)",
            self.host, self.ok, self.changed, self.failed
        )
    }
}

/// The results file the callback wrote: `{"hosts": {NAME: {ok, changed, ...}}}`.
pub fn parse_results(text: &str) -> anyhow::Result<Vec<Recap>> {
    #[derive(Deserialize)]
    struct File {
        hosts: BTreeMap<String, Recap>,
    }
    let f: File = serde_json::from_str(text)?;
    Ok(f.hosts
        .into_iter()
        .map(|(host, r)| Recap { host, ..r })
        .collect())
}

/// Runs the play with the terminal as its output; returns its exit code and each host's
/// totals (none when the play ended before it could give them, or when the installed
/// collection is older than its results callback).
pub fn run(o: &Options) -> anyhow::Result<(i32, Vec<Recap>)> {
    let dir = tempfile::tempdir()?;
    let results = dir.path().join("results.json");
    let status = command(o, &results)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| cannot_run("ansible-playbook", &e))?;
    let recap = match std::fs::read_to_string(&results) {
        Ok(text) => {
            parse_results(&text).map_err(|e| anyhow::anyhow!("{}: {e}", results.display()))?
        }
        Err(_) => Vec::new(),
    };
    Ok((status.code().unwrap_or(1), recap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_results_give_one_summary_line_per_host() {
        let text = r#"{"hosts": {"web2": {"ok": 1, "changed": 0, "unreachable": 1, "failed": 0, "skipped": 0, "rescued": 0, "ignored": 0},
                       "web1": {"ok": 20, "changed": 3, "unreachable": 0, "failed": 0, "skipped": 2, "rescued": 0, "ignored": 0}}}"#;
        let r = parse_results(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].summary(), "web1: changed (20 ok, 3 changed, 0 failed)");
        assert_eq!(
            r[1].summary(),
            "web2: UNREACHABLE (1 ok, 0 changed, 0 failed)"
        );
    }

    #[test]
    fn the_playbook_is_the_collections_whatever_the_current_folder_holds() {
        assert_eq!(
            playbook(None),
            "miraclemax.stack.deploy_complete_monitoring"
        );
        assert_eq!(
            playbook(Some(Only::Healthchecks)),
            "miraclemax.stack.deploy_healthchecks"
        );
    }
}
