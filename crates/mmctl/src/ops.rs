//! The operator's remote commands, run on a host through Ansible as root: the user guide's
//! "Test Self-Healing" (`test heal`, the `drill` module), a heartbeat run (`test heartbeat`),
//! a test message through every report channel (`test notify`),
//! the healing history from journald (`logs`), and maintenance pauses (`pause`, `resume`).
//! Every value the user typed is checked first and travels as JSON data, never as argument text.

use crate::remote::{self, Answer, RemoteError};
use miraclemax_config::ServiceName;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::PathBuf;

pub struct Target<'a> {
    pub inventory: &'a [PathBuf],
    pub host: &'a str,
    pub vault: &'a [OsString],
}

/// Why a remote command did not give its result.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("{host}: unreachable: {message}")]
    Unreachable { host: String, message: String },
    /// What the host (Ansible, the module or the program) said went wrong.
    #[error("{host}: {message}")]
    Failed { host: String, message: String },
    #[error("service '{name}': {reason}")]
    BadService {
        name: String,
        reason: miraclemax_config::ServiceNameError,
    },
    #[error("--for: {0}")]
    BadDuration(#[from] miraclemax_config::SpanError),
    #[error(
        "{host}: the drill reported no heal (its result: {result}); is the collection's drill \
         module from this mmctl's version? (mmctl deploy --only self-healing)"
    )]
    NoHeal { host: String, result: Value },
    #[error("{host}: journalctl exited with {rc} and gave no reason")]
    JournalSilent { host: String, rc: i64 },
    #[error("{host}: journalctl exited with {rc}: {stderr}")]
    Journal {
        host: String,
        rc: i64,
        stderr: String,
    },
}

fn failed(host: &str, message: impl Into<String>) -> OpsError {
    OpsError::Failed {
        host: host.into(),
        message: message.into(),
    }
}

/// What the host said, or why it could not say it.
fn answer(host: &str, a: Answer) -> Result<Value, OpsError> {
    match a {
        Answer::Ok(v) => Ok(v),
        Answer::Unreachable(message) => Err(OpsError::Unreachable {
            host: host.into(),
            message,
        }),
        Answer::Failed(m, _) => Err(failed(host, m)),
    }
}

fn service(name: &str) -> Result<(), OpsError> {
    ServiceName::parse(name).map_err(|reason| OpsError::BadService {
        name: name.into(),
        reason,
    })?;
    Ok(())
}

/// Stops the service and waits for the daemon to heal it; the drill's report as text.
pub fn test_heal(t: &Target, name: &str, timeout_secs: u32) -> Result<String, OpsError> {
    service(name)?;
    let mut answers = remote::run(&remote::Run {
        inventory: t.inventory,
        pattern: t.host,
        module: "miraclemax.stack.drill",
        args: json!({ "service": name, "timeout": timeout_secs }),
        vault: t.vault,
        become_root: true,
    })?;
    let a = answers
        .remove(t.host)
        .ok_or_else(|| RemoteError::NoHost(t.host.into()))?;
    let v = answer(t.host, a)?;
    drill_report(t.host, &v)
}

/// The drill's result as text. A result without the fields of a heal is a failure, whatever
/// Ansible marked it (its tree output drops `failed`): the module's own message if it gave one.
fn drill_report(host: &str, v: &Value) -> Result<String, OpsError> {
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    let secs = |k: &str| v.get(k).filter(|n| n.is_number());
    let (Some(unit), Some(down), Some(cause), Some(steps), Some(email), Some(incident)) = (
        text("unit"),
        secs("downtime_secs"),
        text("root_cause"),
        v.get("steps").and_then(Value::as_array),
        text("email"),
        text("incident"),
    ) else {
        return Err(match text("msg") {
            Some(m) => failed(host, m),
            None => OpsError::NoHeal {
                host: host.into(),
                result: v.clone(),
            },
        });
    };
    // The daemon's own measure, when its incident has one; else the drill's.
    let healed = secs("healing_time_secs").unwrap_or(down);
    let mut out = format!(
        "{host}: stopped {unit}; miraclemax-self-heal healed it in {healed} s (down for {down} s)\n"
    );
    out.push_str(&format!("  root cause: {cause}\n"));
    for step in steps.iter().filter_map(Value::as_str) {
        out.push_str(&format!("  - {step}\n"));
    }
    out.push_str(&format!("  RESOLVED email: {email}\n"));
    out.push_str(&format!("  incident: {incident}\n"));
    Ok(out)
}

/// A program's run on the host: its exit code and output.
pub struct Ran {
    pub rc: i64,
    pub stdout: String,
    pub stderr: String,
    /// Ansible's message: why the program could not be started, if it could not.
    pub msg: String,
}

pub fn run(t: &Target, argv: &[&str]) -> Result<Ran, OpsError> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let v = match remote::command(t.inventory, t.host, &argv, t.vault)? {
        // A program that ran and exited non-zero: its own exit code and output.
        Answer::Failed(_, v) if v.get("rc").is_some_and(Value::is_i64) => v,
        other => answer(t.host, other)?,
    };
    Ok(Ran {
        rc: v["rc"].as_i64().unwrap_or(1),
        stdout: v["stdout"].as_str().unwrap_or("").to_string(),
        stderr: v["stderr"].as_str().unwrap_or("").to_string(),
        msg: v["msg"].as_str().unwrap_or("").to_string(),
    })
}

pub const HEARTBEAT: &str = "/usr/local/bin/miraclemax-heartbeat";
pub const SELF_HEAL: &str = "/usr/local/bin/miraclemax-self-heal";

/// Why a heartbeat run (`mmctl test heartbeat`) failed: what the program said, or why it could
/// not start; when the heartbeat is not deployed on the host (no program, or a configuration
/// without its section), how to deploy it.
pub fn heartbeat_failure(host: &str, r: &Ran) -> String {
    const DEPLOY: &str = "the heartbeat is not deployed there: give the inventory a Healthchecks \
        API key or ping URL and deploy it (mmctl deploy, or mmctl deploy --only healthchecks)";
    let said: Vec<&str> = r
        .stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("miraclemax-heartbeat: error: "))
        .filter(|l| !l.is_empty())
        .collect();
    let msg = r.msg.trim();
    // ansible-core 2.19 says only "Error executing command." with the errno as rc (2: ENOENT);
    // older releases quote the OS error.
    let missing = msg.contains("No such file or directory")
        || (r.rc == 2 && msg == "Error executing command.");
    if said.is_empty() && r.stdout.is_empty() && missing {
        return format!(
            "{host}: no {HEARTBEAT} there (Ansible: {msg} rc {}); {DEPLOY}",
            r.rc
        );
    }
    let why = match (said.is_empty(), msg.is_empty()) {
        (false, _) => said.join("; "),
        (true, false) => msg.to_string(),
        (true, true) => "it gave no reason".to_string(),
    };
    let mut out = format!("{host}: miraclemax-heartbeat exited with {}: {why}", r.rc);
    if r.stderr.contains("no 'heartbeat' section") {
        out.push_str(&format!("; {DEPLOY}"));
    }
    out
}

/// Why `mmctl test notify` failed: the program's own words (which channels refused and why),
/// or why it could not run.
pub fn notify_failure(host: &str, r: &Ran) -> String {
    let said: Vec<&str> = r
        .stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("miraclemax-self-heal: error: "))
        .filter(|l| !l.is_empty())
        .collect();
    let why = match (said.is_empty(), r.msg.trim()) {
        (false, _) => said.join("; "),
        (true, "") => "it gave no reason".to_string(),
        (true, msg) => msg.to_string(),
    };
    format!(
        "{host}: miraclemax-self-heal test-notify exited with {}: {why}",
        r.rc
    )
}

/// The healing history from the host's journal (every action the daemon logged), optionally
/// one service's; with `follow`, new entries as they come (asked for every two seconds).
pub fn logs(
    t: &Target,
    service_name: Option<&str>,
    lines: u32,
    follow: bool,
    mut print: impl FnMut(&str),
) -> Result<(), OpsError> {
    if let Some(s) = service_name {
        service(s)?;
    }
    let lines = lines.to_string();
    let mut cursor: Option<String> = None;
    let mut first = true;
    loop {
        let mut argv = vec![
            "journalctl",
            "--no-pager",
            "--quiet",
            "-o",
            "short-iso",
            "--show-cursor",
        ];
        let after;
        match &cursor {
            Some(c) => {
                after = format!("--after-cursor={c}");
                argv.push(&after);
            }
            None => argv.extend(["-n", lines.as_str()]),
        }
        argv.push("SYSLOG_IDENTIFIER=miraclemax-self-heal");
        let field;
        if let Some(s) = service_name {
            field = format!("SERVICE={s}");
            argv.push(&field);
        }
        let r = run(t, &argv)?;
        let shown = journal(t.host, &r)?;
        for line in r.stdout.lines() {
            match line.strip_prefix("-- cursor: ") {
                Some(c) => cursor = Some(c.to_string()),
                None => print(line),
            }
        }
        if !shown && first {
            let what = service_name.map_or("healing history".to_string(), |s| {
                format!("entries for {s}")
            });
            print(&format!(
                "no {what} on {} (miraclemax-self-heal has logged none)",
                t.host
            ));
        }
        first = false;
        if !follow {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

/// Whether journalctl showed entries; an error when it failed. With `--show-cursor` and no
/// entry to show, journalctl (systemd 252 and older) exits 1 and says nothing: that is an
/// empty history, not a failure. Any other exit, or one with a reason, is a failure.
fn journal(host: &str, r: &Ran) -> Result<bool, OpsError> {
    let shown = r.stdout.lines().any(|l| !l.trim().is_empty());
    let stderr = r.stderr.trim();
    match r.rc {
        0 => Ok(shown),
        1 if !shown && stderr.is_empty() => Ok(false),
        rc if stderr.is_empty() => Err(OpsError::JournalSilent {
            host: host.into(),
            rc,
        }),
        rc => Err(OpsError::Journal {
            host: host.into(),
            rc,
            stderr: stderr.into(),
        }),
    }
}

/// Pauses healing of one service (or every one) for `duration` (`30m`, `2h`).
pub fn pause(t: &Target, service_name: Option<&str>, duration: &str) -> Result<String, OpsError> {
    miraclemax_config::parse_span(duration)?;
    let mut argv = vec![SELF_HEAL, "pause"];
    match service_name {
        Some(s) => {
            service(s)?;
            argv.push(s);
        }
        None => argv.push("--all"),
    }
    argv.extend(["--for", duration]);
    checked(t, &argv)
}

pub fn resume(t: &Target, service_name: Option<&str>) -> Result<String, OpsError> {
    let mut argv = vec![SELF_HEAL, "resume"];
    match service_name {
        Some(s) => {
            service(s)?;
            argv.push(s);
        }
        None => argv.push("--all"),
    }
    checked(t, &argv)
}

/// Runs the program; its output, or its error as the program said it.
fn checked(t: &Target, argv: &[&str]) -> Result<String, OpsError> {
    let r = run(t, argv)?;
    if r.rc != 0 {
        let err = r
            .stderr
            .trim()
            .trim_start_matches("miraclemax-self-heal: error: ");
        return Err(failed(t.host, err));
    }
    Ok(format!("{}: {}", t.host, r.stdout.trim()))
}
