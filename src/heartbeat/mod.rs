//! Layer 2: `miraclemax-heartbeat`, run by root's crontab every 5 minutes. It pings the
//! server's Healthchecks check (success only when the daemon is alive and no critical service
//! is FAILED, else `/fail` with the reason first), pings each per-service check (from the
//! daemon's view, or from systemd's when the daemon cannot vouch), and records the run: one
//! line in /var/log/healthcheck-heartbeat.log, journald, and `heartbeat.json` for
//! `miraclemax-status`. All the run's pings go out at once, each with its own retries inside
//! the run's deadline, so a hung or failing check cannot starve the others. A lock keeps two
//! runs from overlapping.

pub mod api;
pub(crate) mod body;
pub mod health;
pub mod ping;
pub(crate) mod units;

use crate::config::{Config, Heartbeat};
use crate::heal::incident::now_ms;
use crate::notify::report::utc;
use crate::state::{Dirs, write_atomic};
use ping::{PingResult, Signal};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How long the heartbeat waits for `systemctl show` when the daemon cannot vouch.
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(5);

pub const DEFAULT_LOG: &str = "/var/log/healthcheck-heartbeat.log";

/// What the last run did, for `miraclemax-status` and the next run's event window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The file's format (see `crate::formats`); each run writes this build's. A run reads
    /// only the times below from the last one, so any format's are carried over as they are.
    #[serde(default = "crate::formats::unversioned")]
    pub format: u32,
    pub last_run_ms: u64,
    pub last_success_ms: u64,
    /// "ok" or "fail" (what was sent) and whether it was delivered.
    pub last_signal: String,
    pub last_delivered: bool,
    pub last_error: Option<String>,
}

pub fn load_record(dirs: &Dirs) -> Record {
    std::fs::read(dirs.root.join("heartbeat.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// One ping that was sent, for the printout and the log.
#[derive(Debug, Clone)]
pub struct Sent {
    pub check: String,
    pub signal: Signal,
    pub result: PingResult,
}

pub enum Outcome {
    /// Another run holds the lock: this one did nothing.
    Skipped,
    Ran {
        problems: Vec<String>,
        body: String,
        sent: Vec<Sent>,
    },
}

impl Outcome {
    pub fn all_delivered(&self) -> bool {
        match self {
            Outcome::Skipped => true,
            Outcome::Ran { sent, .. } => sent.iter().all(|s| s.result.delivered),
        }
    }
}

pub async fn run(
    config: &Config,
    hb: &Heartbeat,
    dirs: &Dirs,
    log_file: &Path,
) -> std::io::Result<Outcome> {
    let Some(_lock) = lock(dirs)? else {
        return Ok(Outcome::Skipped);
    };
    let deadline = tokio::time::Instant::now() + hb.deadline;
    let record = load_record(dirs);
    let systemd = units::Systemctl {
        timeout: SYSTEMCTL_TIMEOUT.min(hb.deadline / 2),
    };
    let assessment = health::assess_with(config, dirs, &systemd).await;
    let mut events = dirs.events_since(record.last_success_ms);
    events.reverse();
    let host = config.host.clone().unwrap_or_else(crate::daemon::hostname);
    let previous = previous_run(&record);
    let body = body::render(&host, &assessment, &previous, &events, body::BODY_LIMIT);

    let signal = if assessment.problems.is_empty() {
        Signal::Success
    } else {
        Signal::Fail
    };
    // (check, URL, signal, body): the server check first, then each service's, in config order.
    let mut pings = vec![("server".to_string(), &hb.ping_url, signal, body.clone())];
    for (name, url) in &hb.services {
        // Validation accepts only names from monitored_services, so each has an assessment.
        let Some(svc) = assessment.services.iter().find(|s| s.name == name.as_str()) else {
            continue;
        };
        let (signal, text) = body::service_ping(&host, svc);
        pings.push((name.to_string(), url, signal, text));
    }
    let sent = deliver(
        hb,
        dirs,
        log_file,
        &record,
        pings,
        &assessment.problems,
        deadline,
    )
    .await?;
    Ok(Outcome::Ran {
        problems: assessment.problems,
        body,
        sent,
    })
}

/// The run when the configuration cannot be loaded: the daemon cannot start with it (or will
/// not, at its next start), so the server check gets `/fail` with the loader's reason, through
/// the heartbeat section of whichever files still parse (`config::rescue_heartbeat`).
pub async fn run_unconfigured(
    hb: &Heartbeat,
    host: Option<String>,
    why: &str,
    dirs: &Dirs,
    log_file: &Path,
) -> std::io::Result<Outcome> {
    let Some(_lock) = lock(dirs)? else {
        return Ok(Outcome::Skipped);
    };
    let deadline = tokio::time::Instant::now() + hb.deadline;
    let record = load_record(dirs);
    let host = host.unwrap_or_else(crate::daemon::hostname);
    let problems = vec![format!(
        "the configuration cannot be loaded, so miraclemax-self-heal cannot (re)start with it: {why}"
    )];
    let body = format!(
        "FAIL: {}\nhost: {host}\nuptime: {}\n{}daemon: not checked (no usable configuration)\n",
        problems[0],
        body::in_units(body::uptime_secs()),
        previous_run(&record)
    );
    let pings = vec![(
        "server".to_string(),
        &hb.ping_url,
        Signal::Fail,
        body.clone(),
    )];
    let sent = deliver(hb, dirs, log_file, &record, pings, &problems, deadline).await?;
    Ok(Outcome::Ran {
        problems,
        body,
        sent,
    })
}

/// The run's lock, held until it is dropped; None while another run holds it.
fn lock(dirs: &Dirs) -> std::io::Result<Option<File>> {
    dirs.create()?;
    let lock = File::create(dirs.root.join("heartbeat.lock"))?;
    Ok(lock.try_lock().is_ok().then_some(lock))
}

fn previous_run(record: &Record) -> String {
    let now = now_ms();
    body::previous(record, now, now.saturating_sub(body::uptime_secs() * 1000))
}

/// Sends the run's pings at once (the server check first), then records the run: heartbeat.json,
/// the log line, journald.
async fn deliver(
    hb: &Heartbeat,
    dirs: &Dirs,
    log_file: &Path,
    record: &Record,
    pings: Vec<(String, &crate::config::Secret, Signal, String)>,
    problems: &[String],
    deadline: tokio::time::Instant,
) -> std::io::Result<Vec<Sent>> {
    let rid = run_id();
    let client = ping::client();
    let results = futures_util::future::join_all(pings.iter().map(|(_, url, signal, text)| {
        ping::ping(&client, url, *signal, text, &rid, hb.timeout, deadline)
    }))
    .await;
    let sent: Vec<Sent> = pings
        .into_iter()
        .zip(results)
        .map(|((check, _, signal, _), result)| Sent {
            check,
            signal,
            result,
        })
        .collect();
    let server = &sent[0];
    let now = now_ms();
    let ok = server.signal == Signal::Success;
    let new = Record {
        format: crate::formats::CURRENT,
        last_run_ms: now,
        last_success_ms: if server.result.delivered && ok {
            now
        } else {
            record.last_success_ms
        },
        last_signal: if ok { "ok".into() } else { "fail".into() },
        last_delivered: server.result.delivered,
        last_error: server.result.error.clone(),
    };
    write_atomic(
        &dirs.root.join("heartbeat.json"),
        &serde_json::to_vec_pretty(&new)?,
    )?;
    let line = log_line(now, &sent, &hb.ping_url.redacted(), problems);
    append_log(log_file, &line)?;
    if sent.iter().all(|s| s.result.delivered) {
        tracing::info!(event = "ping", "{}", line.trim_end());
    } else {
        tracing::warn!(event = "ping_failed", "{}", line.trim_end());
    }
    Ok(sent)
}

/// `2026-11-28 12:00:01 UTC server=ok delivered latency=120ms retries=0 ...`: one line per run.
fn log_line(now: u64, sent: &[Sent], url: &str, problems: &[String]) -> String {
    let mut line = utc(now);
    for s in sent {
        let what = if s.signal == Signal::Success {
            "ok"
        } else {
            "fail"
        };
        let result = if s.result.delivered {
            "delivered".to_string()
        } else {
            format!(
                "NOT DELIVERED ({})",
                s.result.error.as_deref().unwrap_or("?")
            )
        };
        line.push_str(&format!(
            " {}={what} {result} latency={}ms retries={}",
            s.check,
            s.result.latency.as_millis(),
            s.result.attempts.saturating_sub(1)
        ));
    }
    line.push_str(&format!(" url={url}"));
    if let Some(p) = problems.first() {
        line.push_str(&format!(" reason=\"{p}\""));
    }
    line.push('\n');
    line
}

fn append_log(path: &Path, line: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)?;
    f.write_all(line.as_bytes())
}

/// A random UUID (version 4 form) from the kernel, to pair this run's pings.
fn run_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| {
            format!(
                "00000000-0000-4000-8000-{:012x}",
                now_ms() & 0xffff_ffff_ffff
            )
        })
}
