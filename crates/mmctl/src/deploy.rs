//! `mmctl deploy`: runs the collection's playbook by its name (`miraclemax.stack.NAME`, found by
//! Ansible as it finds any collection) with the `ansible-playbook` mmctl was pointed at (see
//! `ansible`), on the same inventory. What the play prints goes straight to the terminal, as the
//! user's own settings make it (stdout callback, colour); mmctl's one line per host comes from
//! the collection's `mmctl_results` callback, which writes each host's totals as JSON. The exit
//! code is the play's.

use crate::ansible::{callbacks_enabled, cannot_run, program};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::OsString;
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
    /// The collection's playbook, by its fully qualified name (`playbook(only)` for a deploy).
    pub play: &'static str,
    /// Options handing on the vault secrets (`Vault::for_ansible`).
    pub vault: Vec<std::ffi::OsString>,
    pub playbook: PlaybookArgs,
}

/// The ansible-playbook options `mmctl deploy` takes, short forms and all, handed on unchanged;
/// anything after `--` follows them as it was written.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct PlaybookArgs {
    /// Change nothing; report what would change.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show the changes in files.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Only these hosts or groups (an Ansible pattern).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only the tasks with these tags (repeat, or comma-separated).
    #[arg(short = 't', long, value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Skip the tasks with these tags (repeat, or comma-separated).
    #[arg(long, value_name = "TAGS")]
    pub skip_tags: Vec<String>,
    /// An extra variable for the play, as ansible-playbook -e takes it (repeat).
    #[arg(short = 'e', long, value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// More output from the play (-vvv for more still).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Hosts worked on in parallel.
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<u32>,
    /// Log in as this user.
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Ask for the SSH password.
    #[arg(short = 'k', long)]
    pub ask_pass: bool,
    /// Ask for the become (sudo) password.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// The SSH private key to log in with.
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Start at the task of this name.
    #[arg(long, value_name = "TASK")]
    pub start_at_task: Option<String>,
    /// Confirm each task before it runs.
    #[arg(long)]
    pub step: bool,
    /// List the hosts the play would reach; run nothing.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the play's tasks; run nothing.
    #[arg(long)]
    pub list_tasks: bool,
    /// List the play's tags; run nothing.
    #[arg(long)]
    pub list_tags: bool,
    /// Check the playbook's syntax; run nothing.
    #[arg(long)]
    pub syntax_check: bool,
    /// Anything else ansible-playbook takes, after `--`, handed on as it is.
    #[arg(last = true, value_name = "ANSIBLE-PLAYBOOK OPTIONS")]
    pub rest: Vec<OsString>,
}

impl PlaybookArgs {
    /// The options as ansible-playbook's arguments, each flag as written in its long form.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                a.push(name.into());
            }
        };
        flag(self.check, "--check");
        flag(self.diff, "--diff");
        flag(self.ask_pass, "--ask-pass");
        flag(self.ask_become_pass, "--ask-become-pass");
        flag(self.step, "--step");
        flag(self.list_hosts, "--list-hosts");
        flag(self.list_tasks, "--list-tasks");
        flag(self.list_tags, "--list-tags");
        flag(self.syntax_check, "--syntax-check");
        if self.verbose > 0 {
            a.push(format!("-{}", "v".repeat(self.verbose.into())).into());
        }
        let mut pair = |name: &str, value: OsString| {
            a.push(name.into());
            a.push(value);
        };
        let values: [(&str, Option<OsString>); 5] = [
            ("--limit", self.limit.clone().map(Into::into)),
            ("--forks", self.forks.map(|n| n.to_string().into())),
            ("--user", self.user.clone().map(Into::into)),
            ("--private-key", self.private_key.clone().map(Into::into)),
            (
                "--start-at-task",
                self.start_at_task.clone().map(Into::into),
            ),
        ];
        for (name, value) in values {
            if let Some(v) = value {
                pair(name, v);
            }
        }
        let lists = [
            ("--tags", &self.tags),
            ("--skip-tags", &self.skip_tags),
            ("--extra-vars", &self.extra_vars),
        ];
        for (name, values) in lists {
            for v in values {
                pair(name, v.into());
            }
        }
        a.extend(self.rest.iter().cloned());
        a
    }
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
    cmd.arg(o.play);
    cmd.args(&o.vault);
    cmd.args(o.playbook.to_args());
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
pub fn parse_results(text: &str) -> Result<Vec<Recap>, serde_json::Error> {
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

/// Why the play could not be run, or its results not read.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    CannotRun(#[from] crate::ansible::CannotRun),
    #[error("{}: {reason}", file.display())]
    Results {
        file: std::path::PathBuf,
        reason: serde_json::Error,
    },
    /// The temporary folder for the results file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the play with the terminal as its output; returns its exit code and each host's
/// totals (none when the play ended before it could give them, or when the installed
/// collection is older than its results callback).
pub fn run(o: &Options) -> Result<(i32, Vec<Recap>), DeployError> {
    let dir = tempfile::tempdir()?;
    let results = dir.path().join("results.json");
    let status = command(o, &results)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| cannot_run("ansible-playbook", e))?;
    let recap = match std::fs::read_to_string(&results) {
        Ok(text) => parse_results(&text).map_err(|reason| DeployError::Results {
            file: results.clone(),
            reason,
        })?,
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
