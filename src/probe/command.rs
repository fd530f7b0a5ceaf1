//! A health check that runs a program: `health.command`, an argv list run with no shell, as
//! `health.user` when given, for at most `health.timeout`. Healthy on exit 0. Its standard
//! output and error share one pipe, of which the last `OUTPUT_KEPT` bytes are kept for the
//! report. The program leads its own process group: one that outlives its timeout is killed
//! with the whole group, and whatever it left behind in the group once it has exited too.

use super::CommandError;
use crate::config::CommandCheck;
use rustix::process::{Pid, Signal};
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt as _;
use tokio::time::Instant;

/// The output kept for the report: its end, where programs say what went wrong.
pub const OUTPUT_KEPT: usize = 4096;

/// How long the output may still be read once the program has exited (and its group been
/// killed): a process that left the group (`setsid`) may hold the pipe open.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);

/// The PATH a check runs with: the system's own folders, nothing from the daemon's environment.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    Passed,
    /// It exited with another status or was killed by a signal: `exit` says which.
    Failed {
        exit: String,
        output: String,
    },
    /// Still running at its timeout: killed with its process group.
    TimedOut {
        output: String,
    },
    /// It could not be started (no such program, no such user): nothing is known of the service.
    NotRun(String),
}

impl CommandOutcome {
    /// "check command /usr/bin/pg_isready exited with status 2: no response". The program is
    /// named, never its arguments, which may hold a password.
    pub fn describe(&self, check: &CommandCheck, timeout: Duration) -> String {
        let program = check.program();
        match self {
            CommandOutcome::Passed => format!("check command {program} exited 0"),
            CommandOutcome::Failed { exit, output } => {
                format!("check command {program} {exit}{}", said(output))
            }
            CommandOutcome::TimedOut { output } => format!(
                "check command {program} did not finish within {timeout:?} and was killed with \
                 its process group{}",
                said(output)
            ),
            CommandOutcome::NotRun(why) => format!("check command cannot be run: {why}"),
        }
    }
}

/// ": <the output's last lines>", at most 300 characters, or nothing when it printed nothing.
fn said(output: &str) -> String {
    const MAX: usize = 300;
    let text = output.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return String::new();
    }
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= MAX)
        .unwrap_or(0);
    let cut = if start > 0 { "..." } else { "" };
    format!(": {cut}{}", &text[start..])
}

/// Runs the check once.
pub async fn run(check: &CommandCheck, timeout: Duration) -> CommandOutcome {
    let deadline = Instant::now() + timeout;
    let (mut child, output) = match spawn(check).await {
        Ok(started) => started,
        Err(why) => return CommandOutcome::NotRun(why.to_string()),
    };
    let group = child.id().and_then(|id| Pid::from_raw(id as i32));
    // Should the look itself be dropped midway (the daemon reloading), the group goes too.
    let _group_guard = GroupGuard(group);
    let mut kept = Vec::new();
    let mut status: Option<io::Result<ExitStatus>> = None;
    let mut reading = Box::pin(read_end(output, &mut kept));
    let mut drained = false;
    let mut wait_until = deadline;
    loop {
        tokio::select! {
            s = child.wait(), if status.is_none() => {
                // Whatever it started and left in its group goes with it. (Its number cannot
                // have been given to a new process yet: the group outlives its leader while it
                // has a member, and numbers are handed out in turn, up to pid_max.)
                kill_group(group);
                status = Some(s);
                wait_until = deadline.min(Instant::now() + DRAIN_AFTER_EXIT);
            }
            () = &mut reading, if !drained => drained = true,
            () = tokio::time::sleep_until(wait_until) => break,
        }
        if drained && status.is_some() {
            break;
        }
    }
    drop(reading);
    let output = String::from_utf8_lossy(&kept).into_owned();
    match status {
        None => {
            kill_group(group);
            // Killed: it is reaped at once (kill_on_drop would only ask the runtime to).
            let _ = child.wait().await;
            CommandOutcome::TimedOut { output }
        }
        Some(Ok(s)) if s.success() => CommandOutcome::Passed,
        Some(Ok(s)) => CommandOutcome::Failed {
            exit: exit_words(s),
            output,
        },
        Some(Err(e)) => CommandOutcome::NotRun(format!("waiting for it failed: {e}")),
    }
}

/// The check's process, started in its own group, its output's reading end returned.
async fn spawn(
    check: &CommandCheck,
) -> Result<(tokio::process::Child, tokio::net::unix::pipe::Receiver), CommandError> {
    // Whom it runs as: the user named (asked of NSS at each run, which may ask a directory
    // service: off the runtime's thread), or the daemon's own (asked once). Its home and name
    // go in the environment either way.
    let account = match &check.user {
        Some(name) => {
            let name = name.clone();
            tokio::task::spawn_blocking(move || uzers::get_user_by_name(&name))
                .await
                .ok()
                .flatten()
                .ok_or_else(|| CommandError::NoUser(check.user.clone().unwrap_or_default()))
                .map(Some)?
        }
        None => own_account().await,
    };
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| CommandError::Pipe(e.into()))?;
    let stderr = write.try_clone().map_err(CommandError::Pipe)?;
    let mut cmd = std::process::Command::new(&check.argv[0]);
    cmd.args(&check.argv[1..])
        .env_clear()
        .env("PATH", PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::from(stderr))
        .process_group(0);
    if let Some(u) = &account {
        cmd.env("HOME", uzers::os::unix::UserExt::home_dir(u))
            .env("USER", u.name())
            .env("LOGNAME", u.name());
        if check.user.is_some() {
            // std drops the supplementary groups when it changes the user.
            cmd.uid(u.uid()).gid(u.primary_group_id());
        }
    }
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| CommandError::Program {
        program: check.program().to_string(),
        source,
    })?;
    // The write ends are the child's alone now (`cmd` held them): EOF comes when it is done.
    drop(cmd);
    let read = tokio::net::unix::pipe::Receiver::from_owned_fd(read).map_err(CommandError::Pipe)?;
    Ok((child, read))
}

/// The daemon's own account, looked up once (its user does not change while it runs).
async fn own_account() -> Option<uzers::User> {
    static OWN: tokio::sync::OnceCell<Option<uzers::User>> = tokio::sync::OnceCell::const_new();
    OWN.get_or_init(|| async {
        tokio::task::spawn_blocking(|| uzers::get_user_by_uid(uzers::get_current_uid()))
            .await
            .ok()
            .flatten()
    })
    .await
    .clone()
}

/// Reads `pipe` to its end, keeping its last `OUTPUT_KEPT` bytes in `kept`.
async fn read_end(mut pipe: tokio::net::unix::pipe::Receiver, kept: &mut Vec<u8>) {
    let mut chunk = [0u8; 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > OUTPUT_KEPT {
                    kept.drain(..kept.len() - OUTPUT_KEPT);
                }
            }
        }
    }
}

/// Kills the check's process group when dropped: on every way out of `run`.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

fn kill_group(group: Option<Pid>) {
    if let Some(g) = group {
        let _ = rustix::process::kill_process_group(g, Signal::KILL);
    }
}

/// "exited with status 2", "was killed by signal 9".
fn exit_words(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => format!("ended ({s})"),
    }
}

#[cfg(test)]
mod tests;
