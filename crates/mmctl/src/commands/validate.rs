//! `mmctl validate`: every host's configuration, as it will receive it, checked with the
//! daemon's own validation. Its exit code says three things: 0 valid, 1 problems, 2 none found
//! but what Ansible Vault holds could not be opened (so not checked whole).

use super::{NAME, scope};
use crate::deploy::Only;
use crate::fleet::{self, Issue};
use crate::services::{self, Source};
use std::process::ExitCode;

/// What a validation concluded, before it is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// At least one problem.
    Problems,
    /// No problem in what could be read, but a vault was not opened.
    NotChecked,
    Valid,
}

impl Verdict {
    pub fn of(issues: &[Issue], unopened: &[String]) -> Verdict {
        match (issues.is_empty(), unopened.is_empty()) {
            (false, _) => Verdict::Problems,
            (true, false) => Verdict::NotChecked,
            (true, true) => Verdict::Valid,
        }
    }

    pub fn code(self) -> ExitCode {
        match self {
            Verdict::Problems => ExitCode::FAILURE,
            Verdict::NotChecked => ExitCode::from(NOT_CHECKED),
            Verdict::Valid => ExitCode::SUCCESS,
        }
    }
}

/// The exit code when no problem was found but a vault could not be opened.
pub const NOT_CHECKED: u8 = 2;

/// How many hosts the problems concern.
pub fn hosts_with_problems(issues: &[Issue]) -> usize {
    let mut h: Vec<&str> = issues.iter().map(|i| i.host.as_str()).collect();
    h.sort();
    h.dedup();
    h.len()
}

/// The words that say which layer was judged.
fn layer(only: Option<Only>) -> &'static str {
    if only == Some(Only::SelfHealing) {
        " for the self-healing layer"
    } else {
        ""
    }
}

pub fn run(
    source: &Source,
    json: bool,
    only: Option<Only>,
    limit: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (inv, mut issues) = services::validate(source)?;
    // As deploy judges: the heartbeat layer needs the agent's configuration too.
    scope::retain(&mut issues, &inv, limit, only)?;
    let layer = layer(only);
    let unopened = services::not_opened(&inv);
    let verdict = Verdict::of(&issues, &unopened);
    if json {
        println!("{}", serde_json::to_string_pretty(&issues)?);
        return Ok(verdict.code());
    }
    for (file, used) in &inv.shadowed {
        eprintln!(
            "{NAME}: note: {}: not read by Ansible, which reads {} instead (the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists); its variables are ignored",
            file.display(),
            used.display()
        );
    }
    for what in &unopened {
        eprintln!(
            "{NAME}: note: {what}: encrypted with Ansible Vault and not opened (give --vault-password-file to check its values)"
        );
    }
    match verdict {
        Verdict::Problems => {
            let lines = fleet::said_once(&issues);
            for l in &lines {
                eprintln!("{NAME}: error: {l}");
            }
            eprintln!(
                "{NAME}: {} problem(s) in {} host(s)",
                lines.len(),
                hosts_with_problems(&issues)
            );
        }
        Verdict::NotChecked => println!(
            "inventory NOT CHECKED whole: {} host(s), no problem found{layer} in what could be read; what Ansible Vault holds was not opened",
            inv.hosts.len()
        ),
        Verdict::Valid => println!(
            "inventory OK: {} host(s), each configuration valid{layer}",
            inv.hosts.len()
        ),
    }
    Ok(verdict.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::scope::tests::issue;

    #[test]
    fn problems_fail_whether_or_not_a_vault_was_opened() {
        let issues = [issue("web1", "port")];
        assert_eq!(Verdict::of(&issues, &[]), Verdict::Problems);
        assert_eq!(
            Verdict::of(&issues, &["group_vars/all/vault.yml".into()]),
            Verdict::Problems
        );
        assert_eq!(Verdict::Problems.code(), ExitCode::FAILURE);
    }

    #[test]
    fn no_problem_in_what_was_read_but_an_unopened_vault_exits_2() {
        let unopened = ["group_vars/all/vault.yml".to_string()];
        assert_eq!(Verdict::of(&[], &unopened), Verdict::NotChecked);
        assert_eq!(Verdict::NotChecked.code(), ExitCode::from(2));
    }

    #[test]
    fn nothing_wrong_and_everything_read_is_valid() {
        assert_eq!(Verdict::of(&[], &[]), Verdict::Valid);
        assert_eq!(Verdict::Valid.code(), ExitCode::SUCCESS);
    }

    #[test]
    fn the_hosts_with_problems_are_counted_once_each() {
        let issues = [
            issue("web2", "port"),
            issue("web1", "port"),
            issue("web2", "domain"),
        ];
        assert_eq!(hosts_with_problems(&issues), 2);
        assert_eq!(hosts_with_problems(&[]), 0);
    }

    #[test]
    fn only_self_healing_is_named_in_the_verdict_line() {
        assert_eq!(
            layer(Some(Only::SelfHealing)),
            " for the self-healing layer"
        );
        assert_eq!(layer(Some(Only::Healthchecks)), "");
        assert_eq!(layer(None), "");
    }
}
