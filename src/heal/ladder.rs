//! The healing ladder: a service's `healing_strategies` in order, each verified before the next
//! is tried. Every action is recorded on the incident as it happens (for the report) and
//! logged; a strategy that does not apply (no stray process on the port, nothing hung) says so
//! and steps aside. A start or restart is judged by the job systemd ran, then verified; a stray
//! is signalled only through a pidfd on the very process found on the port. It reaches systemd,
//! the process table and the clock only through `Ctx`.

mod error;

use super::clock::Clock;
use super::incident::{Attempt, Incident};
use super::turns::{Turn, Turns};
use crate::config::{Limits, Service, Strategy, UnitName};
use crate::probe::health::{self, Verdict};
use crate::probe::port::Listener;
use crate::probe::procs::{Processes, no_such_process};
use crate::systemd::{ActiveState, JobResult, UnitStatus, Units};
use error::{JobError, Unhealthy};
use rustix::process::Signal;
use std::sync::Arc;
use std::time::Duration;

/// What the ladder (and the daemon's workers) act through: the real host in the daemon, fakes
/// in tests.
pub struct Ctx {
    pub units: Arc<dyn Units>,
    pub procs: Arc<dyn Processes>,
    pub clock: Arc<dyn Clock>,
    pub http: crate::probe::http::Client,
    pub limits: Limits,
    pub protected: Vec<String>,
    /// Turns among the actions running at once on the host (`limits.max_concurrent_heals`).
    pub turns: Turns,
}

/// Saves the incident after a change (and stamps the worker's progress).
type Record<'a> = &'a mut (dyn FnMut(&Incident) + Send);

enum Step {
    /// Verified healthy: the summary for the last step.
    Healed(String),
    Failed(String),
    /// The strategy did not apply here.
    Skipped(String),
}

/// Runs the ladder on an open incident. `record` is called after every change so the incident
/// survives a crash. Returns the strategy that healed, if one did.
pub async fn run(
    ctx: &Ctx,
    svc: &Service,
    inc: &mut Incident,
    record: Record<'_>,
) -> Option<Strategy> {
    let done: Vec<String> = inc.attempts.iter().map(|a| a.strategy.clone()).collect();
    for strategy in svc.healing_strategies.iter().copied() {
        if done.iter().any(|d| d == strategy.as_str()) {
            continue; // tried before a daemon restart
        }
        crate::journal::event(
            svc,
            "strategy",
            &inc.id,
            Some(strategy.as_str()),
            "started",
            &format!("trying {strategy}"),
        );
        let step = match strategy {
            Strategy::ServiceRestart => restart(ctx, svc, inc, record).await,
            Strategy::PortConflict => port_conflict(ctx, svc, inc, record).await,
            Strategy::ResetFailed => reset_failed(ctx, svc, inc, record).await,
            Strategy::DependencyRestart => dependency_restart(ctx, svc, inc, record).await,
            Strategy::KillHung => kill_hung(ctx, svc, inc, record).await,
        };
        let (ok, detail, result) = match step {
            Step::Healed(s) => (true, s, "healed"),
            Step::Failed(s) => (false, s, "failed"),
            Step::Skipped(s) => (false, s, "skipped"),
        };
        crate::journal::event(
            svc,
            "strategy",
            &inc.id,
            Some(strategy.as_str()),
            result,
            &format!("{strategy}: {detail}"),
        );
        if ok {
            inc.steps.push(format!("Verified: {detail}"));
        }
        inc.attempts.push(Attempt {
            strategy: strategy.as_str().into(),
            ok,
            detail: if result == "skipped" {
                format!("skipped: {detail}")
            } else {
                detail
            },
        });
        record(inc);
        if ok {
            return Some(strategy);
        }
    }
    None
}

async fn restart(ctx: &Ctx, svc: &Service, inc: &mut Incident, record: Record<'_>) -> Step {
    let step = format!("Executed: systemctl restart {}", svc.unit);
    if let Err(why) = job(ctx, &svc.unit, Verb::Restart, step, inc, record).await {
        return Step::Failed(why.to_string());
    }
    verify(ctx, svc).await
}

/// A turn to act (see `turns`), noted in the incident when it had to be waited for.
async fn turn<'c>(ctx: &'c Ctx, inc: &mut Incident, record: Record<'_>) -> Turn<'c> {
    let every = ctx.limits.check_interval.min(Duration::from_secs(1));
    let turn = ctx.turns.take(every, &mut || record(inc)).await;
    if let Some(waited) = turn.waited {
        let waited = if waited < Duration::from_secs(1) {
            format!("{} ms", waited.as_millis())
        } else {
            format!("{:.1} s", waited.as_secs_f64())
        };
        inc.steps.push(format!(
            "Waited {waited} for a turn to act (limits.max_concurrent_heals: {} actions at \
             once on the host)",
            ctx.turns.limit()
        ));
    }
    turn
}

#[derive(Clone, Copy)]
enum Verb {
    Start,
    Restart,
}

/// Runs a start or restart job to its end (at most `start_timeout`), in a turn, as the step
/// `step`, to which it appends how the job ended (`... -> job done in 0.4 s`). The unit's state
/// is judged only after that: read earlier, it may still be the one the crash left. An error
/// says why the unit is not up.
async fn job(
    ctx: &Ctx,
    unit: &UnitName,
    verb: Verb,
    step: String,
    inc: &mut Incident,
    record: Record<'_>,
) -> Result<(), JobError> {
    let timeout = ctx.limits.start_timeout;
    let turn = turn(ctx, inc, record).await;
    inc.steps.push(step);
    record(inc);
    let (job, verb) = match verb {
        Verb::Restart => (ctx.units.restart(unit, timeout).await, "restart"),
        Verb::Start => (ctx.units.start(unit, timeout).await, "start"),
    };
    drop(turn);
    let job = job?;
    if let Some(step) = inc.steps.last_mut() {
        step.push_str(&format!(" -> {}", job.describe()));
    }
    // A job canceled by a newer one for the same unit (systemd's own restart, an operator's
    // start) is not a failure: the unit's state says how that one went.
    if job.is_done() || job.result == Some(JobResult::Canceled) {
        return Ok(());
    }
    let state = match ctx.units.status(unit).await {
        Ok(st) => describe_status(&st),
        Err(e) => e.to_string(),
    };
    let unit = unit.clone();
    Err(match job.result {
        Some(result) => JobError::Ended {
            unit,
            verb,
            result,
            state,
        },
        None => JobError::StillRunning {
            unit,
            verb,
            timeout,
            state,
        },
    })
}

async fn port_conflict(ctx: &Ctx, svc: &Service, inc: &mut Incident, record: Record<'_>) -> Step {
    let Some(port) = svc.port.map(|p| p.get()) else {
        return Step::Skipped("the service has no port".into());
    };
    let unit = ctx.units.status(&svc.unit).await.unwrap_or_default();
    // Never through this strategy: a process of the unit itself, running or left over.
    let (own, strays): (Vec<Listener>, Vec<Listener>) = ctx
        .procs
        .listeners(port)
        .await
        .into_iter()
        .partition(|l| owned_by(svc, &unit.control_group, &l.cgroup));
    if strays.is_empty() {
        return match own.first() {
            // The unit is down and yet its port is held in its own cgroup: a child it left
            // behind (KillMode=process or none) keeps it from coming back.
            Some(l) if !unit.is_active() => Step::Failed(format!(
                "port {port} is held by {}, a leftover process of {unit_name}'s own cgroup, so \
                 {unit_name} cannot bind it; not killed by this strategy: run systemctl kill \
                 {unit_name} (or systemctl stop {unit_name}), then systemctl start {unit_name}",
                l.describe(),
                unit_name = svc.unit
            )),
            _ => Step::Skipped(format!("port {port} was not held by another process")),
        };
    }
    for p in &strays {
        if let Some(why) = protected(p.pid, &p.comm, &ctx.protected) {
            return Step::Failed(format!(
                "port {port} is held by {}, which is {why}; not killed",
                p.describe()
            ));
        }
    }
    for p in &strays {
        inc.steps.push(format!(
            "Found port {port} held by {} outside {}",
            p.describe(),
            svc.unit
        ));
        let turn = turn(ctx, inc, record).await;
        let ended = terminate(ctx, svc, &unit.control_group, p).await;
        drop(turn);
        let (step, event) = match ended {
            Kill::Killed(how) => (
                format!("Killed PID {} ({}) with {how}", p.pid, p.comm),
                format!("killed {} with {how}", p.describe()),
            ),
            Kill::Gone(why) => (format!("Did not signal PID {}: {why}", p.pid), why),
            Kill::Refused(why) => return Step::Failed(why),
        };
        inc.steps.push(step);
        crate::journal::event(svc, "killed", &inc.id, Some("port_conflict"), "ok", &event);
        record(inc);
    }
    restart(ctx, svc, inc, record).await
}

/// A process in the unit's own cgroup: the running unit's, or one it left over (its cgroup is
/// still named after the unit when systemd no longer reports one).
fn owned_by(svc: &Service, control_group: &str, cgroup: &str) -> bool {
    cgroup
        .strip_suffix(svc.unit.as_str())
        .is_some_and(|head| head.ends_with('/'))
        || crate::probe::port::within(cgroup, control_group)
}

/// Why a process must not be killed to free a port, if it must not.
fn protected(pid: i32, comm: &str, extra: &[String]) -> Option<&'static str> {
    if pid == 1 {
        Some("PID 1")
    } else if pid as u32 == std::process::id() {
        Some("this daemon")
    } else if comm == "sshd" {
        Some("sshd")
    } else if extra.iter().any(|e| e == comm) {
        Some("in protected_processes")
    } else {
        None
    }
}

/// How ending a stray went.
enum Kill {
    /// It exited, after this signal.
    Killed(String),
    /// It had already exited (its PID perhaps taken by another process): nothing was sent.
    Gone(String),
    /// It must not be killed after all: the strategy fails with this.
    Refused(String),
}

/// SIGTERM, then SIGKILL if it is still there after the grace period, through a pidfd taken
/// on the process and checked to be the one found on the port (same start time), so a PID
/// reused in between is never signalled. The rules are checked again on what runs now.
async fn terminate(ctx: &Ctx, svc: &Service, control_group: &str, p: &Listener) -> Kill {
    let gone = || Kill::Gone(format!("{} had already exited", p.comm));
    let held = match ctx.procs.hold(p.pid) {
        Ok(held) => held,
        Err(e) if e.raw_os_error() == no_such_process().raw_os_error() => return gone(),
        Err(e) => {
            return Kill::Refused(format!(
                "cannot take hold of {} to kill it: {e}; not killed",
                p.describe()
            ));
        }
    };
    let now = match held.identity() {
        Ok(now) => now,
        Err(_) => return gone(),
    };
    if now.start_time != p.start_time {
        return Kill::Gone(format!(
            "{} had exited and the PID now belongs to another process ({})",
            p.comm, now.comm
        ));
    }
    if owned_by(svc, control_group, &now.cgroup) {
        return Kill::Refused(format!(
            "PID {} ({}) is now in {}'s own cgroup; not killed",
            p.pid, now.comm, svc.unit
        ));
    }
    if let Some(why) = protected(p.pid, &now.comm, &ctx.protected) {
        return Kill::Refused(format!("PID {} ({}) is {why}; not killed", p.pid, now.comm));
    }
    if held.signal(Signal::TERM).is_err() {
        return gone();
    }
    let grace = ctx.limits.kill_grace;
    if held.exited(grace).await {
        return Kill::Killed("SIGTERM".into());
    }
    let _ = held.signal(Signal::KILL);
    held.exited(Duration::from_secs(2)).await;
    Kill::Killed(format!("SIGKILL (still running {grace:?} after SIGTERM)"))
}

async fn reset_failed(ctx: &Ctx, svc: &Service, inc: &mut Incident, record: Record<'_>) -> Step {
    match ctx.units.status(&svc.unit).await {
        Ok(st) if st.active() != ActiveState::Failed => {
            return Step::Skipped(format!("{} was not in the failed state", svc.unit));
        }
        Err(e) => return Step::Failed(e.to_string()),
        Ok(_) => {}
    }
    let turn = turn(ctx, inc, record).await;
    inc.steps
        .push(format!("Executed: systemctl reset-failed {}", svc.unit));
    let reset = ctx.units.reset_failed(&svc.unit).await;
    drop(turn);
    if let Err(e) = reset {
        return Step::Failed(e.to_string());
    }
    let step = format!("Executed: systemctl start {}", svc.unit);
    if let Err(why) = job(ctx, &svc.unit, Verb::Start, step, inc, record).await {
        return Step::Failed(why.to_string());
    }
    verify(ctx, svc).await
}

async fn dependency_restart(
    ctx: &Ctx,
    svc: &Service,
    inc: &mut Incident,
    record: Record<'_>,
) -> Step {
    let mut started = 0;
    for dep in &svc.depends_on {
        let st = match ctx.units.status(dep).await {
            Ok(st) => st,
            Err(e) => return Step::Failed(e.to_string()),
        };
        if st.is_active() {
            continue;
        }
        let step = format!(
            "Found dependency {dep} {}; executed: systemctl start {dep}",
            st.active_state
        );
        if let Err(why) = job(ctx, dep, Verb::Start, step, inc, record).await {
            return Step::Failed(why.to_string());
        }
        record(inc);
        if !ctx
            .units
            .wait_active(dep, ctx.limits.start_timeout)
            .await
            .unwrap_or(false)
        {
            return Step::Failed(format!("dependency {dep} did not become active"));
        }
        started += 1;
    }
    if started == 0 {
        return Step::Skipped("every dependency was already active".into());
    }
    restart(ctx, svc, inc, record).await
}

async fn kill_hung(ctx: &Ctx, svc: &Service, inc: &mut Incident, record: Record<'_>) -> Step {
    let st = match ctx.units.status(&svc.unit).await {
        Ok(st) => st,
        Err(e) => return Step::Failed(e.to_string()),
    };
    if !st.is_active() || st.main_pid == 0 {
        return Step::Skipped(format!("{} had no running main process", svc.unit));
    }
    let turn = turn(ctx, inc, record).await;
    inc.steps.push(format!(
        "Killed hung main process PID {} of {} with SIGKILL",
        st.main_pid, svc.unit
    ));
    let killed = ctx.units.kill_main(&svc.unit, 9).await;
    drop(turn);
    if let Err(e) = killed {
        return Step::Failed(e.to_string());
    }
    // Let systemd notice the death before the restart job is queued.
    let _ = ctx
        .units
        .wait_active(&svc.unit, Duration::from_millis(300))
        .await;
    restart(ctx, svc, inc, record).await
}

/// Verified means: unit active, its port listening and held by the unit, the HTTP probe
/// healthy, and all of it still true after the settle time.
async fn verify(ctx: &Ctx, svc: &Service) -> Step {
    match check_healthy(ctx, svc, ctx.limits.start_timeout).await {
        Err(why) => return Step::Failed(why.to_string()),
        Ok(_) if ctx.limits.settle_time.is_zero() => {}
        Ok(_) => tokio::time::sleep(ctx.limits.settle_time).await,
    }
    match check_healthy(ctx, svc, Duration::from_secs(1)).await {
        Ok(summary) => Step::Healed(summary),
        Err(why) => Step::Failed(format!("did not stay healthy: {why}")),
    }
}

async fn check_healthy(ctx: &Ctx, svc: &Service, within: Duration) -> Result<String, Unhealthy> {
    let deadline = tokio::time::Instant::now() + within;
    if !ctx.units.wait_active(&svc.unit, within).await? {
        let st = ctx.units.status(&svc.unit).await?;
        return Err(Unhealthy::NotActive {
            unit: svc.unit.clone(),
            status: describe_status(&st),
        });
    }
    let st = ctx.units.status(&svc.unit).await?;
    let mut summary = format!("{} is active", svc.unit);
    if let Some(port) = svc.port.map(|p| p.get()) {
        loop {
            let holders = ctx.procs.listeners(port).await;
            if holders.iter().any(|l| l.in_cgroup(&st.control_group)) {
                summary.push_str(&format!(", port {port} is listening"));
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(match holders.first() {
                    Some(h) => Unhealthy::PortHeldByOther {
                        port,
                        holder: h.describe(),
                        unit: svc.unit.clone(),
                    },
                    None => Unhealthy::PortFree { port },
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    match health::check(&ctx.http, svc).await {
        None => {}
        Some(Verdict::Healthy(said)) => summary.push_str(&format!(", {said}")),
        Some(Verdict::HttpFailed(why) | Verdict::CommandFailed(why) | Verdict::NotRun(why)) => {
            return Err(Unhealthy::Health(why));
        }
    }
    Ok(summary)
}

pub fn describe_status(st: &UnitStatus) -> String {
    let mut s = format!("ActiveState={}, Result={}", st.active_state, st.result);
    if st.exec_main_code != crate::systemd::ExecCode::None {
        s.push_str(&format!(", ExecMainStatus={}", st.exec_main_status));
    }
    s
}

#[cfg(test)]
mod tests;
