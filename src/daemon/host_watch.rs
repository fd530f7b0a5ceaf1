//! The host checks' task: reads every check once per `host_checks.interval` (off the runtime
//! thread, on the grid's points so that it shares its wake-up with the looks), judges each
//! reading (`host_checks::judge`), keeps what is past a threshold in the state and queues the
//! reports. A check that has nothing to judge (no swap, no PSI) or cannot be read is said once
//! in the journal, and again when that changes; it is never reported by email.

use super::Shared;
use crate::config::HostChecks;
use crate::host_checks::read::{self, Look};
use crate::host_checks::report::{Said, render};
use crate::host_checks::{Change, Check, checks, judge};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A reading that takes longer than this is said once in the journal (a network file system
/// that does not answer blocks `statvfs`); the task waits on for it, and starts no other.
const HANGS_AFTER: Duration = Duration::from_secs(30);

pub(super) async fn run(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let Some(cfg) = sh.config.host_checks.clone() else {
        return;
    };
    let list: Arc<Vec<Check>> = Arc::new(checks(&cfg));
    // What was last said in the journal of a check that has no figure, by name.
    let mut unjudged: HashMap<String, String> = HashMap::new();
    let every = sh.grid.snap(cfg.interval);
    let mut ticker = tokio::time::interval_at(sh.grid.first(Duration::ZERO, every), every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let Some(looks) = read_all(&list).await else {
            return;
        };
        for (check, look) in list.iter().zip(looks) {
            match look {
                Look::Read(r) => {
                    if unjudged.remove(&check.name()).is_some() {
                        tracing::info!(event = "host_check", "{}: read again", check.name());
                    }
                    judged(&sh, &cfg, check, &r).await;
                }
                Look::Nothing(why) | Look::Failed(why) => {
                    if unjudged.get(&check.name()) != Some(&why) {
                        tracing::warn!(event = "host_check", "{}: not judged: {why}", check.name());
                        unjudged.insert(check.name(), why);
                    }
                }
            }
        }
    }
}

/// Every check read on the blocking pool; a reading that hangs is said once and waited for.
async fn read_all(list: &Arc<Vec<Check>>) -> Option<Vec<Look>> {
    let l = list.clone();
    let mut task = tokio::task::spawn_blocking(move || read::all(&l));
    match tokio::time::timeout(HANGS_AFTER, &mut task).await {
        Ok(done) => done.ok(),
        Err(_) => {
            tracing::error!(
                event = "host_check",
                "reading the host checks has taken over {}s (a network file system that does \
                 not answer?); waiting for it before the next reading",
                HANGS_AFTER.as_secs()
            );
            task.await.ok()
        }
    }
}

/// Judges one reading, keeps the result in the state, and queues its report if it has one.
async fn judged(sh: &Shared, cfg: &HostChecks, check: &Check, r: &read::Reading) {
    let name = check.name();
    let now_ms = sh.ctx.clock.now_ms();
    let before = sh.lock_state().host_checks.get(&name).cloned();
    let line = || read::said(&check.kind, r, &check.thresholds);
    let verdict = judge(
        before.as_ref(),
        r.percent,
        &check.thresholds,
        cfg.step,
        line,
        now_ms,
    );
    if verdict.next == before {
        return;
    }
    if let Some(change) = verdict.report {
        let said = Said {
            host: &sh.host,
            ssh_target: &sh.ssh_target,
            check,
            change,
            before: before.as_ref(),
            after: verdict.next.as_ref(),
            now_line: &line(),
            step: cfg.step,
            now_ms,
        };
        let message = format!("{}: {} {}", name, said.word(), line());
        if change == Change::Recovered {
            tracing::info!(event = "host_check", result = "ok", "{message}");
        } else {
            tracing::warn!(event = "host_check", result = said.word(), "{message}");
        }
        sh.append_event(crate::state::Event {
            time_ms: now_ms,
            service: crate::state::DAEMON_EVENTS.into(),
            event: "host_check".into(),
            incident: String::new(),
            result: said.word().to_lowercase(),
            message,
        });
        sh.report(&said.id(), &said.about(), || render(&said)).await;
    }
    sh.update(|st| match verdict.next {
        Some(held) => {
            st.host_checks.insert(name, held);
        }
        None => {
            st.host_checks.remove(&name);
        }
    });
}
