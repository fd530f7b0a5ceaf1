//! Reaching hosts exactly as ansible-playbook does: through Ansible itself (`ansible` ad-hoc,
//! the inventory's connection variables, the user's ~/.ssh/config, agent, ProxyJump and
//! known_hosts), running one of the collection's modules on every host in parallel. Each
//! host's result is read from the `tree` callback's file, so an unreachable or failing host is
//! a result of its own and never hides the others. The tree file of a failed task has no
//! `failed` key (Ansible strips it from what callbacks see), so which hosts failed is read from
//! the one-line summary Ansible prints, one line per host.

use crate::ansible::{cannot_run, program};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What one host answered.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok(Value),
    Unreachable(String),
    /// The task failed: its message, and the whole result (a command's `rc` and output).
    Failed(String, Value),
}

pub struct Run<'a> {
    pub inventory: &'a [PathBuf],
    pub pattern: &'a str,
    pub module: &'a str,
    /// The module's arguments, passed as one JSON object (never `key=value` text, so nothing
    /// a user typed is split or parsed as arguments). Callers pass only values they have
    /// checked (service names, durations), which hold no template syntax.
    pub args: Value,
    /// Options handing on the vault secrets (`Vault::for_ansible`).
    pub vault: &'a [OsString],
    /// Run with `become` (root), for modules that need it.
    pub become_root: bool,
}

/// Why Ansible gave no answer to read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    CannotRun(#[from] crate::ansible::CannotRun),
    #[error("ansible found no host to ask: {0}")]
    NoHostToAsk(String),
    #[error("no host '{0}' in the inventory")]
    NoHost(String),
    /// The module's arguments (never expected: they are built here as JSON).
    #[error(transparent)]
    Arguments(#[from] serde_json::Error),
    /// The folder of answers (`ansible --tree`).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the module on every host the pattern names; each host's answer by name.
pub fn run(r: &Run) -> Result<BTreeMap<String, Answer>, RemoteError> {
    let tree = tempfile::tempdir()?;
    let mut cmd = Command::new(program("ansible"));
    for i in r.inventory {
        cmd.arg("-i").arg(i);
    }
    cmd.arg(r.pattern)
        .arg("-m")
        .arg(r.module)
        .arg("--tree")
        .arg(tree.path())
        .arg("--forks")
        .arg("25")
        .arg("--one-line");
    if !r.args.is_null() {
        cmd.arg("-a").arg(serde_json::to_string(&r.args)?);
    }
    if r.become_root {
        cmd.arg("--become");
    }

    cmd.args(r.vault);
    cmd.env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().map_err(|e| cannot_run("ansible", e))?;
    let said = String::from_utf8_lossy(&out.stdout);
    let mut answers = BTreeMap::new();
    for e in std::fs::read_dir(tree.path())? {
        let e = e?;
        let host = e.file_name().to_string_lossy().into_owned();

        let text = std::fs::read_to_string(e.path())?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let msg = || summary(v.get("msg").and_then(Value::as_str).unwrap_or("no answer"));
        let answer = if v.get("unreachable") == Some(&Value::Bool(true)) {
            Answer::Unreachable(msg())
        } else if v.get("failed") == Some(&Value::Bool(true)) || failed(&said, &host) {
            Answer::Failed(msg(), v.clone())
        } else {
            Answer::Ok(v)
        };
        answers.insert(host, answer);
    }
    if answers.is_empty() && !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(RemoteError::NoHostToAsk(err.trim().to_string()));
    }
    Ok(answers)
}

/// Whether the one-line summary says the task failed on `host` (`web1 | FAILED! => {...}`,
/// `web1 | FAILED | rc=1 | ...`).
fn failed(summary: &str, host: &str) -> bool {
    summary.lines().any(|l| {
        l.strip_prefix(host)
            .and_then(|rest| rest.strip_prefix(" | "))
            .is_some_and(|rest| rest.starts_with("FAILED"))
    })
}

/// The line of a failure that says what happened (ssh's warnings come framed in `@` lines).
fn summary(msg: &str) -> String {
    const TELLING: &[&str] = &[
        "Host key verification failed",
        "HOST IDENTIFICATION HAS CHANGED",
        "Permission denied",
        "Connection refused",
        "timed out",
        "No route to host",
        "Could not resolve",
    ];
    let lines: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '@'))
        .collect();
    let first = lines.first().copied().unwrap_or("no answer");
    let first = first.trim_end_matches(['@', ' ', ':']);
    match lines.iter().find(|l| TELLING.iter().any(|t| l.contains(t))) {
        Some(t) if !first.contains(t) => {
            format!("{first}: {}", t.trim_matches(['@', ' ']))
        }
        _ => first.to_string(),
    }
}

/// Runs a program on one host with this argument vector (`ansible.builtin.command`, as root);
/// its answer holds `rc`, `stdout` and `stderr`.
pub fn command(
    inventory: &[PathBuf],
    host: &str,
    argv: &[String],
    vault: &[OsString],
) -> Result<Answer, RemoteError> {
    let mut answers = run(&Run {
        inventory,
        pattern: host,
        module: "ansible.builtin.command",
        // No $VARIABLE expansion: the arguments reach the program exactly as given.
        args: serde_json::json!({ "argv": argv, "expand_argument_vars": false }),
        vault,
        become_root: true,
    })?;
    answers
        .remove(host)
        .ok_or_else(|| RemoteError::NoHost(host.into()))
}

#[cfg(test)]
mod tests {
    use super::{failed, summary};

    #[test]
    fn a_host_failed_when_its_one_line_summary_says_so() {
        let out = "An exception occurred during task execution.\n\
                   web1 | FAILED! => {\"changed\": false,\"msg\": \"service 'nope' is not watched\"}\n\
                   web10 | SUCCESS => {\"changed\": false}\n\
                   db1 | FAILED | rc=1 | (stdout) \n\
                   db2 | CHANGED | rc=0 | (stdout) web2 | FAILED\n";
        assert!(failed(out, "web1"));
        assert!(failed(out, "db1"));
        assert!(!failed(out, "web10"));
        assert!(!failed(out, "db2"));
        assert!(!failed(out, "web2"), "only a line's own host counts");
        assert!(!failed(out, "web"));
    }

    #[test]
    fn an_unreachable_host_is_summed_up_by_what_ssh_said_went_wrong() {
        let msg = "Task failed: Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                   @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                   @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                   IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nHost key verification failed.";
        assert_eq!(
            summary(msg),
            "Task failed: Failed to connect to the host via ssh: WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!"
        );
        assert_eq!(
            summary("ssh: connect to host 10.0.0.1 port 22: Connection refused"),
            "ssh: connect to host 10.0.0.1 port 22: Connection refused"
        );
    }
}
