//! `mmctl deploy`: runs the matching playbook with ansible-playbook (the project's `.venv`, else
//! PATH) on the same inventory, streaming its output as it comes, then one summary line per
//! host from the play's recap. The exit code is the play's.

use crate::ansible::program;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The playbook: the repository's own when run from its root (as ansible-playbook is), else
/// the installed collection's.
pub fn playbook(only: Option<Only>) -> String {
    let (file, fqcn) = match only {
        None => (
            "deploy-complete-monitoring.yml",
            "deploy_complete_monitoring",
        ),
        Some(Only::SelfHealing) => ("deploy-self-healing.yml", "deploy_self_healing"),
        Some(Only::Healthchecks) => ("deploy-healthchecks.yml", "deploy_healthchecks"),
    };
    let local = Path::new("playbooks").join(file);
    if local.is_file() {
        local.display().to_string()
    } else {
        format!("miraclemax.stack.{fqcn}")
    }
}

/// The ansible-playbook command line (argument vector, never a shell string).
pub fn command(o: &Options) -> Command {
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
    cmd
}

/// One host's line of the PLAY RECAP.
#[derive(Debug, PartialEq, Eq)]
pub struct Recap {
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

pub fn parse_recap(lines: &[String]) -> Vec<Recap> {
    lines
        .iter()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter_map(|l| {
            let (host, rest) = l.split_once(" : ")?;
            let num = |k: &str| {
                rest.split_whitespace()
                    .find_map(|w| w.strip_prefix(k)?.parse().ok())
            };
            Some(Recap {
                host: host.trim().to_string(),
                ok: num("ok=")?,
                changed: num("changed=")?,
                unreachable: num("unreachable=")?,
                failed: num("failed=")?,
            })
        })
        .collect()
}

/// Runs the play, streaming its output; returns its exit code and recap.
pub fn run(o: &Options) -> anyhow::Result<(i32, Vec<Recap>)> {
    let mut cmd = command(o);
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    cmd.env("ANSIBLE_FORCE_COLOR", if colour { "1" } else { "0" })
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| {
        anyhow::anyhow!(
            "cannot run {}: {e} (install Ansible: scripts/install-deps, or pip install ansible-core)",
            program("ansible-playbook").display()
        )
    })?;
    let mut lines = Vec::new();
    let stdout = child.stdout.take().expect("piped");
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        writeln!(out, "{line}")?;
        out.flush()?;
        lines.push(strip_ansi(&line));
    }
    let status = child.wait()?;
    Ok((status.code().unwrap_or(1), parse_recap(&lines)))
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recap_gives_one_summary_line_per_host() {
        let lines: Vec<String> = [
            "TASK [x] ***",
            "PLAY RECAP *********************************************************************",
            "\u{1b}[0;33mweb1\u{1b}[0m                       : ok=20   changed=3    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0",
            "web2                       : ok=1    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0",
            "",
        ]
        .iter()
        .map(|l| strip_ansi(l))
        .collect();
        let r = parse_recap(&lines);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].summary(), "web1: changed (20 ok, 3 changed, 0 failed)");
        assert_eq!(
            r[1].summary(),
            "web2: UNREACHABLE (1 ok, 0 changed, 0 failed)"
        );
    }
}
