//! One look at a watched service, as a worker makes it on each tick or change signal: what
//! systemd says about the unit, then who holds its port (the owner compared against the unit's
//! own cgroup), then the HTTP probe, stopping at the first thing wrong. It decides nothing: the
//! worker feeds what it saw to the state machine. When systemd does not answer about the unit
//! (even after retries), the look saw nothing (`Unseen`): the daemon is blind, the service is
//! not down.

use super::Shared;
use super::bus::{CallError, STATUS_ATTEMPTS, retry_pause};
use crate::config::resources::RuleAction;
use crate::config::{ResourceRules, Service};
use crate::heal::cause::Finding;
use crate::heal::ladder::describe_status;
use crate::heal::machine::Seen;
use crate::heal::rules;
use crate::probe::health::{self, Verdict};
use crate::probe::usage::{Lacking, Wanted};
use crate::systemd::UnitStatus;

/// What one look found: the state machine's input, the finding root-cause classification
/// starts from, systemd's record of the unit, and a one-line summary for status and the journal.
pub(super) struct Look {
    pub seen: Seen,
    pub finding: Finding,
    pub status: UnitStatus,
    pub summary: String,
    /// Why the health check could not be run (the journal says it once), when it could not.
    pub unjudged: Option<String>,
}

/// The daemon could not see the service: systemd did not answer about it (the last error).
/// Not the service's fault, so never a reason to heal it.
pub(super) struct Unseen(pub CallError);

/// What a worker remembers between looks: the unit's full status from the last look that found
/// it healthy. While systemd's change signals arrive (any signal makes the worker `forget`),
/// nothing about a running unit changes unseen, so a look need not ask systemd again; it still
/// asks for the unit's state every `TRUSTED_LOOKS` looks, in case a signal was lost.
#[derive(Default)]
pub(super) struct Known {
    status: Option<UnitStatus>,
    /// Looks since systemd was last asked.
    unasked: u32,
    /// Looks in a row over a resource rule.
    over: u32,
    /// The last reading of the unit's CPU time (microseconds) and when it was read.
    cpu: Option<(u64, tokio::time::Instant)>,
    /// A rule's figure was found missing and the journal told (once a daemon's life).
    told_unread: bool,
    /// The journal has said that a ruled figure is summed from the unit's processes.
    told_summed: bool,
    /// The controller files the unit's cgroup lacks, and the readings since that was found.
    lacking: Option<(Lacking, u16)>,
    /// The journal has said that the health check cannot be run (said again once it could be
    /// run and then cannot again).
    told_unjudged: bool,
}

/// Looks that trust the change signals between two questions to systemd: a lost signal delays
/// what the unit state alone would show by at most this many check intervals.
pub(super) const TRUSTED_LOOKS: u32 = 5;

/// Readings that trust the controller files a unit's cgroup was found without, before they are
/// looked for again (ten minutes at the default interval): a controller enabled meanwhile is
/// read from then on.
const LACKING_READINGS: u16 = 60;

impl Known {
    /// Something changed (a signal, a heal): the next look asks systemd everything.
    pub(super) fn forget(&mut self) {
        self.status = None;
        self.lacking = None;
    }
}

/// Looks at the service once: systemd's state, then its port's holder, then its HTTP probe,
/// then its resource rules. `signals`: the unit's change signals are arriving. Anything wrong
/// is always judged on a status just asked of systemd, never on a remembered one.
pub(super) async fn look(
    sh: &Shared,
    svc: &Service,
    known: &mut Known,
    signals: bool,
) -> Result<Look, Unseen> {
    let mut look = look_unit(sh, svc, known, signals).await?;
    match &look.unjudged {
        Some(why) if !known.told_unjudged => {
            known.told_unjudged = true;
            tracing::warn!(
                "{}: its {why}; nothing is done about the service until it can (the health \
                 check's command or user is wrong: `miraclemax-self-heal --check-config` says \
                 which)",
                svc.name
            );
        }
        Some(_) => {}
        None => known.told_unjudged = false,
    }
    if let Some(rules) = &svc.limits {
        judge_rules(sh, svc, rules, known, &mut look).await;
    }
    Ok(look)
}

/// A healthy look of a service with resource rules reads the unit's cgroup (a few files, and
/// its fd tables only when a rule counts open files); a rule crossed for its `for` looks in a
/// row turns the look into `RuleCrossed`. A look under every rule, or not healthy, starts the
/// count again.
async fn judge_rules(
    sh: &Shared,
    svc: &Service,
    rules: &ResourceRules,
    known: &mut Known,
    look: &mut Look,
) {
    if look.seen != Seen::Ok {
        known.over = 0;
        known.cpu = None;
        return;
    }
    let mut wanted = Wanted::of(rules);
    let trusted = known.lacking.filter(|&(_, n)| n < LACKING_READINGS);
    if let Some((lacking, _)) = trusted {
        wanted.lacking = lacking;
    }
    let usage = sh.ctx.procs.usage(&look.status.control_group, wanted).await;
    known.lacking = match trusted {
        Some((lacking, n)) => Some((lacking, n + 1)),
        None => Lacking::worth_remembering(&usage).then_some((usage.lacking, 0)),
    };
    let now = tokio::time::Instant::now();
    let cpu = match (known.cpu, usage.cpu_usec) {
        (Some((before, at)), Some(usec)) => rules::cpu_percent(before, usec, now - at),
        _ => None,
    };
    known.cpu = usage.cpu_usec.map(|usec| (usec, now));
    say_unjudged(svc, rules, &usage, known, look);
    let crossed = rules::crossed(rules, &usage, cpu);
    let alert = rules.action == RuleAction::Alert;
    if crossed.is_empty() {
        known.over = 0;
        if alert {
            // Boxed, as the report below: a look's future is as large as its largest path, and
            // every service's look would carry these rare ones.
            Box::pin(super::limit_alert::within(sh, svc, || {
                rules::figures(rules, &usage, cpu)
            }))
            .await;
        }
        return;
    }
    known.over = known.over.saturating_add(1);
    let (over, needed) = (known.over, rules.for_looks.get());
    let said: Vec<String> = crossed.iter().map(rules::Crossing::describe).collect();
    if over < needed {
        look.summary.push_str(&format!(
            ", but {} ({over} of {needed} looks)",
            said.join("; ")
        ));
        return;
    }
    if alert {
        // The same words at every look while it stays over: no state written at rest.
        look.summary
            .push_str(", but over its limits (reported; its limits say action: alert)");
        let lines: Vec<String> = crossed
            .iter()
            .map(|c| format!("{} for {needed} checks: {}", c.describe(), c.hint()))
            .collect();
        let figures = rules::figures(rules, &usage, cpu);
        Box::pin(super::limit_alert::over(sh, svc, &lines, &figures)).await;
        return;
    }
    known.over = 0; // the incident takes it from here
    look.seen = Seen::RuleCrossed;
    look.summary
        .push_str(&format!(", but {} for {over} looks", said.join("; ")));
    look.finding = Finding::OverLimit(
        crossed
            .iter()
            .map(|c| format!("{} for {over} checks: {}", c.describe(), c.hint()))
            .collect(),
    );
}

/// A figure a rule needs that could not be read, or that is summed from the unit's processes:
/// said in the look's summary (unread) and once in the journal.
fn say_unjudged(
    svc: &Service,
    rules: &ResourceRules,
    usage: &crate::probe::usage::Usage,
    known: &mut Known,
    look: &mut Look,
) {
    let unread = rules::unread(rules, usage);
    if !unread.is_empty() {
        let what = unread.join(", ");
        // In every look's summary (status shows it; the same words are no new state), and in
        // the journal once.
        look.summary.push_str(&format!(
            ", but its limits on {what} cannot be judged: it has no process to read them from"
        ));
        if !known.told_unread {
            known.told_unread = true;
            tracing::warn!(
                "{}: limits on {what} cannot be judged: neither the unit's cgroup ({}) nor a \
                 process of it gives such a figure (an active unit with no process left, such \
                 as a oneshot service that remains after exit)",
                svc.name,
                look.status.control_group
            );
        }
    }
    if usage.summed && !known.told_summed {
        known.told_summed = true;
        tracing::info!(
            "{}: its cgroup ({}) lacks a controller a limit needs (no memory.current, \
             pids.current or cpu.stat): that figure is summed from its processes' own \
             (resident memory, threads, CPU time)",
            svc.name,
            look.status.control_group
        );
    }
}

/// The unit's figures now, as a heal's last step says them ("memory 9.8 MiB, CPU 0.2 %"),
/// with CPU measured over a second; `None` when systemd does not say where its cgroup is.
pub(super) async fn figures_now(
    sh: &Shared,
    svc: &Service,
    rules: &ResourceRules,
) -> Option<String> {
    let status = sh.ctx.units.status(&svc.unit).await.ok()?;
    let cgroup = &status.control_group;
    let wanted = Wanted::of(rules);
    let first = sh.ctx.procs.usage(cgroup, wanted).await;
    let (usage, cpu) = match (rules.cpu_percent, first.cpu_usec) {
        (Some(_), Some(before)) => {
            let span = std::time::Duration::from_secs(1);
            tokio::time::sleep(span).await;
            let later = sh.ctx.procs.usage(cgroup, wanted).await;
            let cpu = later
                .cpu_usec
                .and_then(|now| rules::cpu_percent(before, now, span));
            (later, cpu)
        }
        _ => (first, None),
    };
    let crossed = rules::crossed(rules, &usage, cpu);
    let verdict = if crossed.is_empty() {
        "within its limits".to_string()
    } else {
        let said: Vec<String> = crossed.iter().map(rules::Crossing::describe).collect();
        format!("still {}", said.join("; "))
    };
    Some(format!("{}: {verdict}", rules::figures(rules, &usage, cpu)))
}

/// The unit's state, port and HTTP probe (everything but the resource rules).
async fn look_unit(
    sh: &Shared,
    svc: &Service,
    known: &mut Known,
    signals: bool,
) -> Result<Look, Unseen> {
    if let Some(status) = known.status.take() {
        let still = if signals && known.unasked < TRUSTED_LOOKS {
            known.unasked += 1;
            Some(status)
        } else {
            known.unasked = 0;
            let (active, sub) = ask(sh, || {
                sh.bus
                    .active_state_within(&svc.unit, sh.config.limits.probe_timeout)
            })
            .await?;
            (active == status.active() && sub == status.sub_state).then_some(status)
        };
        if let Some(status) = still {
            let look = look_at(sh, svc, status).await;
            if look.seen == Seen::Ok {
                known.status = Some(look.status.clone());
                return Ok(look);
            }
        }
    }
    let status = ask(sh, || {
        sh.bus
            .status_within(&svc.unit, sh.config.limits.probe_timeout)
    })
    .await?;
    known.unasked = 0;
    let look = look_at(sh, svc, status).await;
    if look.seen == Seen::Ok {
        known.status = Some(look.status.clone());
    }
    Ok(look)
}

/// Asks systemd about the unit, asking again (`STATUS_ATTEMPTS` in all, `probe_timeout` each)
/// when a call fails: a busy or restarting bus is no news about the service.
async fn ask<T, F: Future<Output = Result<T, CallError>>>(
    sh: &Shared,
    mut call: impl FnMut() -> F,
) -> Result<T, Unseen> {
    let mut attempt = 0;
    loop {
        if attempt > 0 {
            tokio::time::sleep(retry_pause(sh.config.limits.check_interval, attempt)).await;
        }
        attempt += 1;
        match call().await {
            Ok(answer) => return Ok(answer),
            Err(e) if attempt >= STATUS_ATTEMPTS => return Err(Unseen(e)),
            Err(_) => {}
        }
    }
}

async fn look_at(sh: &Shared, svc: &Service, status: UnitStatus) -> Look {
    if status.systemd_is_acting() {
        let summary = format!(
            "{} is {} ({}); systemd is acting",
            svc.unit, status.active_state, status.sub_state
        );
        return acting(status, summary);
    }
    if !status.is_active() {
        let finding = match svc.port.map(|p| p.get()) {
            Some(p) => {
                let stray = sh
                    .ctx
                    .procs
                    .listeners(p)
                    .await
                    .into_iter()
                    .find(|l| !l.in_cgroup(&status.control_group));
                match stray {
                    Some(holder) => Finding::PortHeld { port: p, holder },
                    None => Finding::UnitDown,
                }
            }
            None => Finding::UnitDown,
        };
        let summary = format!(
            "{} is {} ({})",
            svc.unit,
            status.active_state,
            describe_status(&status)
        );
        return Look {
            seen: Seen::UnitDown,
            finding,
            status,
            summary,
            unjudged: None,
        };
    }
    let mut summary = format!("{} is active", svc.unit);
    if let Some(p) = svc.port.map(|p| p.get()) {
        // The cheap check first; the whole process table only when the unit's own processes
        // do not seem to hold the port (and then that decides: the socket may have just opened).
        let cgroup = &status.control_group;
        if !sh.ctx.procs.unit_listens(p, cgroup).await {
            let all = sh.ctx.procs.listeners(p).await;
            if !all.iter().any(|l| l.in_cgroup(cgroup)) {
                let finding = match all.into_iter().next() {
                    Some(holder) => Finding::PortHeld { port: p, holder },
                    None => Finding::PortNotListening(p),
                };
                summary.push_str(&format!(", but not listening on port {p}"));
                return failed_probe(sh, svc, status, finding, summary).await;
            }
        }
        summary.push_str(&format!(", port {p} is listening"));
    }
    health_look(sh, svc, status, summary).await
}

/// The service's health check, if it has one, on a unit found active with its port held.
async fn health_look(sh: &Shared, svc: &Service, status: UnitStatus, mut summary: String) -> Look {
    match health::check(&sh.ctx.http, svc).await {
        None => {}
        Some(Verdict::Healthy(said)) => summary.push_str(&format!(", {said}")),
        Some(Verdict::HttpFailed(why)) => {
            summary.push_str(&format!(", but {why}"));
            return failed_probe(sh, svc, status, Finding::HttpFailed(why), summary).await;
        }
        Some(Verdict::CommandFailed(why)) => {
            summary.push_str(&format!(", but {why}"));
            return failed_probe(sh, svc, status, Finding::CheckFailed(why), summary).await;
        }
        Some(Verdict::NotRun(why)) => {
            // Nothing is known of the service: said, never acted on.
            summary.push_str(&format!(", but its {why}"));
            return Look {
                seen: Seen::Ok,
                finding: Finding::UnitDown,
                status,
                summary,
                unjudged: Some(why),
            };
        }
    }
    Look {
        seen: Seen::Ok,
        finding: Finding::UnitDown,
        status,
        summary,
        unjudged: None,
    }
}

/// A failed port or HTTP probe, unless systemd was restarting the unit meanwhile: the unit is
/// asked about again (only after a failure, never at rest), and one that systemd has since
/// begun to stop or restart (a job queued, another main process, another state) was not
/// failing its probe but being restarted, by an operator, a deploy or systemd itself. It is
/// then judged on what it is now; the next look probes it afresh.
async fn failed_probe(
    sh: &Shared,
    svc: &Service,
    status: UnitStatus,
    finding: Finding,
    summary: String,
) -> Look {
    let failed = Look {
        seen: Seen::ProbeFailed,
        finding,
        status,
        summary,
        unjudged: None,
    };
    let Ok(now) = sh
        .bus
        .status_within(&svc.unit, sh.config.limits.probe_timeout)
        .await
    else {
        return failed;
    };
    let before = &failed.status;
    let moved = now.job != crate::systemd::JobType::None
        || now.main_pid != before.main_pid
        || now.active_state != before.active_state;
    if !moved {
        return failed;
    }
    if now.is_active() || now.systemd_is_acting() {
        let summary = format!(
            "{} was restarted during the look (now {}, main PID {}); systemd is acting",
            svc.unit, now.active_state, now.main_pid
        );
        return acting(now, summary);
    }
    Box::pin(look_at(sh, svc, now)).await
}

/// systemd is starting, stopping or restarting the unit: nothing to judge yet.
fn acting(status: UnitStatus, summary: String) -> Look {
    Look {
        seen: Seen::SystemdActing,
        finding: Finding::UnitDown,
        status,
        summary,
        unjudged: None,
    }
}

/// The incident's first line: what was seen wrong.
pub(super) fn detected_text(svc: &Service, look: &Look) -> String {
    match &look.finding {
        Finding::UnitDown => format!(
            "Detected {} was {} ({})",
            svc.name,
            look.status.active_state,
            describe_status(&look.status)
        ),
        Finding::PortHeld { port, holder } if !look.status.is_active() => format!(
            "Detected {} was {} and its port {port} was held by {}",
            svc.name,
            look.status.active_state,
            holder.describe()
        ),
        Finding::PortHeld { port, holder } => format!(
            "Detected {} was active but port {port} was held by {}",
            svc.name,
            holder.describe()
        ),
        Finding::PortNotListening(p) => format!(
            "Detected {} was active but not listening on port {p}",
            svc.name
        ),
        Finding::HttpFailed(why) => format!(
            "Detected {} was active but its health check failed: {why}",
            svc.name
        ),
        Finding::CheckFailed(why) => format!(
            "Detected {} was active but its health check failed: {why}",
            svc.name
        ),
        Finding::OverLimit(crossed) => format!(
            "Detected {} was active but over its resource limits: {}",
            svc.name,
            crossed.join("; ")
        ),
    }
}
