//! `mmctl deploy`: validates what the run will touch, runs ansible-playbook with the terminal
//! as its output, then says one line per host; the exit code is the play's.

use super::{NAME, scope};
use crate::deploy::{self, Only, PlaybookArgs, Recap};
use crate::fleet;
use crate::services::{self, Source};
use std::process::ExitCode;

/// Refuses a deploy whose hosts and layer have problems, before anything runs.
fn check(source: &Source, only: Option<Only>, limit: Option<&str>) -> anyhow::Result<()> {
    let (inv, mut issues) = services::validate(source)?;
    // Only what this deploy touches: its layer, the hosts its --limit selects.
    scope::retain(&mut issues, &inv, limit, only)?;
    if !issues.is_empty() {
        let lines = fleet::said_once(&issues);
        anyhow::bail!(
            "the inventory has problems; nothing was deployed (fix them, or --no-validate):\n{}",
            lines.join("\n")
        );
    }
    Ok(())
}

/// What a failed play is reported as: before any host ran, the likely cause is a collection
/// Ansible does not find.
pub fn failure(code: i32, recap: &[Recap]) -> Option<String> {
    match code {
        0 => None,
        _ if recap.is_empty() => Some(format!(
            "ansible-playbook exited with {code} before any host ran \
             (is the miraclemax.stack collection installed where this Ansible finds \
             collections? ansible-galaxy collection list miraclemax.stack)"
        )),
        _ => Some(format!("ansible-playbook exited with {code}")),
    }
}

/// mmctl's exit code for the play's: the same, or 1 when it does not fit one.
pub fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

pub fn run(
    source: Source,
    only: Option<Only>,
    no_validate: bool,
    playbook: PlaybookArgs,
) -> anyhow::Result<ExitCode> {
    if !no_validate {
        check(&source, only, playbook.limit.as_deref())?;
    }
    let vault = source.vault.for_ansible()?;
    let o = deploy::Options {
        inventory: source.paths,
        play: deploy::playbook(only),
        vault: vault.args.clone(),
        playbook,
    };
    play(&o)
}

/// Runs the play, then says one line per host; the exit code is the play's.
pub fn play(o: &deploy::Options) -> anyhow::Result<ExitCode> {
    let (code, recap) = deploy::run(o)?;
    println!();
    for r in &recap {
        println!("{NAME}: {}", r.summary());
    }
    if let Some(why) = failure(code, &recap) {
        eprintln!("{NAME}: error: {why}");
        return Ok(exit_code(code));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recap(host: &str) -> Recap {
        Recap {
            host: host.into(),
            ok: 1,
            changed: 0,
            unreachable: 0,
            failed: 1,
        }
    }

    #[test]
    fn a_play_that_succeeded_is_no_failure() {
        assert_eq!(failure(0, &[]), None);
        assert_eq!(failure(0, &[recap("web1")]), None);
    }

    #[test]
    fn a_play_that_ended_before_any_host_points_at_the_collection() {
        let why = failure(4, &[]).unwrap();
        assert!(why.starts_with("ansible-playbook exited with 4 before any host ran"));
        assert!(why.ends_with("ansible-galaxy collection list miraclemax.stack)"));
    }

    #[test]
    fn a_play_that_failed_on_a_host_gives_its_exit_code() {
        assert_eq!(
            failure(2, &[recap("web1")]).unwrap(),
            "ansible-playbook exited with 2"
        );
    }

    #[test]
    fn the_plays_exit_code_is_kept_when_it_fits_a_byte() {
        assert_eq!(exit_code(2), ExitCode::from(2));
        assert_eq!(exit_code(250), ExitCode::from(250));
        assert_eq!(exit_code(-1), ExitCode::from(1));
        assert_eq!(exit_code(256), ExitCode::from(1));
    }
}
