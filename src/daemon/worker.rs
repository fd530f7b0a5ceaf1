//! One watched service: wakes on systemd's state-change signal or the probe interval, looks at
//! the service, feeds the state machine, and runs the healing ladder when it says so. An
//! incident left open by a killed daemon is resumed first, never started again. systemd, the
//! process table and the clock are reached through the context (`sh.ctx`), never directly.
//! It stamps its progress at every look and healing step (the watchdog is fed only while every
//! worker does). A service systemd does not answer about is unseen, never down: the daemon's
//! own blindness, recorded in the state and logged once per episode, and never healed.

use super::Shared;
use super::bus::{REBUILDS_BEFORE_EXIT, RebuildTurn};
use super::control::Control;
use super::look::{Known, Look, Unseen, detected_text, look};
use crate::config::Service;
use crate::heal::cause::{Cause, classify};
use crate::heal::incident::{Incident, Outcome};
use crate::heal::ladder;
use crate::heal::machine::{Action, Policy, Seen};
use crate::notify::outbox::{About, ReportOutcome};
use crate::notify::report::{Origin, render};
use crate::state::Event;
use crate::systemd::{ActiveState, ActiveStates};
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::watch;

/// How many of the unit's journal lines a FAILED report carries.
const JOURNAL_LINES: u32 = 20;

/// The worker of the configuration's `index`th service.
pub async fn run(sh: Arc<Shared>, index: usize, mut stop: watch::Receiver<bool>) {
    // Read where the configuration keeps it, not copied; the start's work is a future of its
    // own: this future is what each worker holds between looks, hundreds of times over on a
    // large host.
    let svc = &sh.config.services[index];
    Box::pin(resume(&sh, svc)).await;
    let mut changes = follow(&sh, svc, true).await;
    // Without signals (refused, or ended with a lost connection), asked for again after looks.
    let every = sh.config.limits.check_interval;
    let rewatch_every = every * 3;
    let mut rewatch_at = tokio::time::Instant::now() + rewatch_every;
    let mut acting_since = None;
    let mut known = Known::default();
    // The first look at once, then one per interval, each service at its own point in it. A
    // look's future is boxed: it lives for a moment, while the worker waits for the next one
    // holding only its own small state (hundreds of services are hundreds of workers).
    Box::pin(look_and_act(
        &sh,
        svc,
        &sh.control,
        &mut acting_since,
        &mut known,
        changes.is_some(),
    ))
    .await;
    // On the daemon's grid, so the looks of one slot share a wake-up; a look or heal that
    // overruns its tick waits for the next point of the series, never bunching.
    let mut tick = tokio::time::interval_at(sh.grid.first(spread(&sh, index), every), every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                sh.progress.leave(svc.name.as_str());
                return;
            }
            _ = tick.tick() => {}
            state = async { match changes.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } } => match state {
                Some(state) => {
                    known.forget();
                    if state == ActiveState::Active {
                        // Whatever systemd was doing has ended: the next wait is timed afresh.
                        acting_since = None;
                    }
                    if state.is_running_or_moving() {
                        continue;
                    }
                }
                None => {
                    tracing::warn!(
                        service = svc.name.as_str(),
                        "state-change signals for {} ended; probing every {:?} until they are back",
                        svc.unit,
                        every
                    );
                    changes = None;
                    known.forget();
                    rewatch_at = tokio::time::Instant::now() + rewatch_every;
                }
            },
        }
        Box::pin(look_and_act(
            &sh,
            svc,
            &sh.control,
            &mut acting_since,
            &mut known,
            changes.is_some(),
        ))
        .await;
        if changes.is_none() && tokio::time::Instant::now() >= rewatch_at {
            changes = follow(&sh, svc, false).await;
            rewatch_at = tokio::time::Instant::now() + rewatch_every;
        }
    }
}

/// At the worker's start: an incident the previous daemon left open is taken up again.
async fn resume(sh: &Arc<Shared>, svc: &Service) {
    sh.progress.stamp(svc.name.as_str());
    let open = sh.update(|st| {
        let s = st.services.entry(svc.name.to_string()).or_default();
        if s.open.is_none() && s.machine.phase == crate::heal::machine::Phase::Healing {
            // Killed between deciding to heal and recording the incident (older state files).
            s.machine.phase = crate::heal::machine::Phase::Healthy;
        }
        s.open.clone().map(|i| *i)
    });
    if let Some(inc) = open {
        log(
            sh,
            svc,
            "resumed",
            &inc.id,
            "",
            &format!("resuming incident {} after a daemon restart", inc.id),
        );
        Box::pin(heal(sh, svc, inc)).await;
    }
}

/// Where in each check interval the `index`th service's look falls: the services evenly
/// spread over it in configuration order, so a host with many services sees a steady trickle
/// of looks instead of all of them at once.
fn spread(sh: &Shared, index: usize) -> std::time::Duration {
    let services = sh.config.services.len().max(1);
    sh.config
        .limits
        .check_interval
        .mul_f64((index + 1) as f64 / services as f64)
}

/// The unit's state changes, if systemd will send them; `first` says whether this is the
/// worker's first try (a failure is logged then, later ones are not, but their success is).
async fn follow(sh: &Shared, svc: &Service, first: bool) -> Option<ActiveStates> {
    match sh.ctx.units.watch(&svc.unit).await {
        Ok(s) => {
            if !first {
                tracing::info!(
                    service = svc.name.as_str(),
                    "following the state changes of {} again",
                    svc.unit
                );
            }
            Some(s)
        }
        Err(e) => {
            if first {
                tracing::warn!(
                    service = svc.name.as_str(),
                    "no state-change signals for {} ({e}); probing every {:?}",
                    svc.unit,
                    sh.config.limits.check_interval
                );
            }
            None
        }
    }
}

/// An operator's reset: the breaker closes and the attempt counts start again.
fn reset_breaker(sh: &Shared, svc: &Service) {
    sh.update(|st| {
        st.services
            .entry(svc.name.to_string())
            .or_default()
            .machine
            .reset()
    });
    log(
        sh,
        svc,
        "reset",
        "",
        "ok",
        "circuit breaker reset by an operator",
    );
}

/// The look in the metrics, when they are on.
fn count_look(sh: &Shared, svc: &Service, look: &Look, paused: bool, began: tokio::time::Instant) {
    if let Some(m) = &sh.metrics {
        let up = look.seen == Seen::Ok;
        if m.look(
            svc.name.as_str(),
            up,
            paused,
            began.elapsed(),
            sh.ctx.clock.now_ms(),
            sh.config.limits.check_interval,
        ) {
            sh.metrics_changed();
        }
    }
}

/// systemd starting or restarting the unit is left to it for at most `start_timeout` (counted
/// from `acting_since`); after that the look counts as the unit down.
fn give_systemd_its_time(
    sh: &Shared,
    look: &mut Look,
    acting_since: &mut Option<tokio::time::Instant>,
) {
    if look.seen == Seen::SystemdActing {
        let since = *acting_since.get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() > sh.config.limits.start_timeout {
            look.seen = Seen::UnitDown;
            look.summary = format!(
                "{} for over {:?}",
                look.summary, sh.config.limits.start_timeout
            );
        }
    } else {
        *acting_since = None;
    }
}

/// The state machine's step for this look, and the incident it opens (to heal, or to report
/// a tripped breaker). The phase change and the incident are saved together: a crash between
/// them would leave a service "healing" with nothing to resume.
fn decide(
    sh: &Shared,
    svc: &Service,
    look: &Look,
    paused: bool,
    now_s: u64,
) -> (Action, Option<Incident>) {
    let now = sh.ctx.clock.now_ms();
    sh.update_service(svc.name.as_str(), |s| {
        // Written when what the look saw changes, with when that was: not at every look.
        if s.last_probe.as_deref() != Some(look.summary.as_str()) {
            s.last_probe = Some(look.summary.clone());
            s.last_probe_ms = now;
        }
        if paused {
            // A pause is the operator's, kept apart from the phase so it never clears a breaker.
            return (Action::Nothing, None);
        }
        s.machine.resume();
        let action = s.machine.observe(look.seen, now_s, &policy(sh));
        if !matches!(action, Action::Heal | Action::TripBreaker) {
            return (action, None);
        }
        let mut inc = Incident::new(
            svc,
            detected_text(svc, look),
            classify(&look.status, &look.finding),
            now,
        );
        if action == Action::TripBreaker {
            flapping(&mut inc, &s.machine.heals, now);
        }
        s.open = Some(Box::new(inc.clone()));
        (action, Some(inc))
    })
}

/// A tripped breaker's incident: when the service was healed within the window.
fn flapping(inc: &mut Incident, heals: &[u64], now: u64) {
    let times: Vec<String> = heals
        .iter()
        .map(|t| crate::notify::report::utc(t * 1000))
        .collect();
    inc.steps.push(format!(
        "Healed {} times before, at {}; not healing again until the window passes",
        heals.len(),
        times.join(", ")
    ));
    inc.outcome = Outcome::Flapping {
        at_ms: now,
        recent_heals: heals.len() as u32,
    };
}

fn policy(sh: &Shared) -> Policy {
    let l = &sh.config.limits;
    Policy {
        failures_before_action: l.failures_before_action.get(),
        heal_attempts: l.heal_attempts.get(),
        heal_window_secs: l.heal_window.as_secs(),
    }
}

/// `acting_since`: when systemd was first seen starting or restarting the unit without
/// finishing; systemd is trusted with its own attempt for at most `start_timeout`.
async fn look_and_act(
    sh: &Arc<Shared>,
    svc: &Service,
    control: &Control,
    acting_since: &mut Option<tokio::time::Instant>,
    known: &mut Known,
    signals: bool,
) {
    sh.progress.stamp(svc.name.as_str());
    let now_s = sh.ctx.clock.now_ms() / 1000;
    let began = tokio::time::Instant::now();
    let mut look = match look(sh, svc, known, signals).await {
        Ok(look) => {
            seen(sh, svc);
            look
        }
        Err(unseen) => return blind(sh, svc, unseen).await,
    };
    let (reset, paused) = requests(sh, svc, control, &look, now_s).await;
    if reset {
        reset_breaker(sh, svc);
    }
    count_look(sh, svc, &look, paused.is_some(), began);
    give_systemd_its_time(sh, &mut look, acting_since);
    let (action, inc) = decide(sh, svc, &look, paused.is_some(), now_s);
    match (action, inc) {
        (Action::Recovered, _) => log(
            sh,
            svc,
            "recovered",
            "",
            "ok",
            &format!("is healthy again: {}", look.summary),
        ),
        (Action::Heal, Some(inc)) => {
            log(
                sh,
                svc,
                "detected",
                &inc.id,
                "",
                &format!("{}; root cause: {}", inc.detected, inc.cause),
            );
            // The incident is on disk before anything is done, so a daemon killed mid-heal
            // resumes it.
            sh.waiting_on_disk(svc.name.as_str(), sh.flush()).await;
            Box::pin(heal(sh, svc, inc)).await;
            // Whatever systemd does next is judged afresh, not against time spent healing.
            *acting_since = None;
            known.forget();
        }
        (Action::TripBreaker, Some(mut inc)) => {
            inc.journal = sh.ctx.units.journal(&svc.unit, JOURNAL_LINES).await;
            let recent = match inc.outcome {
                Outcome::Flapping { recent_heals, .. } => recent_heals,
                _ => 0,
            };
            log(
                sh,
                svc,
                "breaker_open",
                &inc.id,
                "failed",
                &format!(
                    "needed healing {recent} times within {:?}; leaving it alone",
                    sh.config.limits.heal_window
                ),
            );
            close(sh, svc, inc).await;
        }
        _ => {}
    }
}

/// The operator's requests for this service after `look`: whether a reset was asked (and now
/// taken) and the pause in force. A healthy look goes by the control folder as last read; one
/// that saw something wrong, or a reset waiting, reads the files themselves (off the runtime
/// thread) before anything is decided.
async fn requests(
    sh: &Shared,
    svc: &Service,
    control: &Control,
    look: &Look,
    now_s: u64,
) -> (bool, Option<u64>) {
    let last = sh
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .for_service(svc.name.as_str(), now_s);
    if look.seen == Seen::Ok && !last.0 {
        return last;
    }
    let (control, name) = (control.clone(), svc.name.to_string());
    tokio::task::spawn_blocking(move || {
        let reset = control.take_reset(&name);
        (reset, control.paused_until(&name, now_s))
    })
    .await
    .unwrap_or((false, None))
}

async fn heal(sh: &Arc<Shared>, svc: &Service, mut inc: Incident) {
    if inc.is_open() {
        let mut record = |i: &Incident| {
            sh.progress.stamp(svc.name.as_str());
            sh.update(|st| {
                st.services.entry(svc.name.to_string()).or_default().open =
                    Some(Box::new(i.clone()))
            });
        };
        let healed = ladder::run(&sh.ctx, svc, &mut inc, &mut record).await;
        let at_ms = sh.ctx.clock.now_ms();
        inc.outcome = match healed {
            Some(strategy) => Outcome::Resolved {
                at_ms,
                strategy: strategy.as_str().into(),
            },
            None => Outcome::Failed { at_ms },
        };
        if let (Some(_), Some(rules)) = (healed, &svc.limits)
            && matches!(inc.cause, Cause::OverLimit { .. })
            && let Some(figures) = super::look::figures_now(sh, svc, rules).await
        {
            inc.steps.push(format!("After the heal: {figures}"));
        }
        if healed.is_none() {
            refine_cause(sh, svc, &mut inc).await;
            inc.journal = sh.ctx.units.journal(&svc.unit, JOURNAL_LINES).await;
        }
        sh.update(|st| {
            let s = st.services.entry(svc.name.to_string()).or_default();
            s.machine
                .finish_heal(healed.is_some(), at_ms / 1000, &policy(sh));
            s.open = Some(Box::new(inc.clone()));
        });
    }
    let (event, msg) = match &inc.outcome {
        Outcome::Resolved { strategy, .. } => (
            "resolved",
            format!(
                "healed by {strategy} in {:?}",
                inc.healing_time().unwrap_or_default()
            ),
        ),
        _ => (
            "failed",
            "all healing strategies failed; leaving it alone until the window passes".to_string(),
        ),
    };
    log(
        sh,
        svc,
        event,
        &inc.id,
        if event == "resolved" { "ok" } else { "failed" },
        &msg,
    );
    close(sh, svc, inc).await;
}

/// When every strategy failed, systemd's record of the last start says more than what was
/// seen at detection (a stop that then fails at start is a configuration error).
async fn refine_cause(sh: &Shared, svc: &Service, inc: &mut Incident) {
    let unit_cause = matches!(
        inc.cause,
        Cause::Stopped | Cause::Killed { .. } | Cause::Crashed { .. } | Cause::Other { .. }
    );
    if let (true, Ok(st)) = (unit_cause, sh.ctx.units.status(&svc.unit).await)
        && !st.is_active()
        && st.result != crate::systemd::ServiceResult::Success
    {
        inc.cause = crate::heal::cause::refine(&inc.cause, &st);
    }
}

/// Queues the report, then closes the incident. Queuing is idempotent per incident, so a crash
/// between the two sends the report once when the incident is resumed.
async fn close(sh: &Arc<Shared>, svc: &Service, inc: Incident) {
    let origin = Origin {
        host: &sh.host,
        ssh_target: &sh.ssh_target,
        heal_window: sh.config.limits.heal_window,
    };
    // No channel configured: nothing to queue (the journal and events have it all).
    let rendered = (!sh.routes.is_empty()).then(|| render(&inc, &origin, &sh.template_dir));
    match rendered {
        None => {}
        Some(Ok(email)) => {
            let id = format!("{}-{}", inc.id, inc.kind());
            let about = About {
                host: sh.host.clone(),
                service: svc.name.to_string(),
                outcome: match inc.outcome {
                    Outcome::Resolved { .. } => ReportOutcome::Resolved,
                    Outcome::Failed { .. } | Outcome::Flapping { .. } => ReportOutcome::Failed,
                    Outcome::Open => ReportOutcome::None,
                },
            };
            // Each channel's queue in turn; one that cannot be written does not stop the next.
            for route in &sh.routes {
                let queued = route.outbox.queue(id.clone(), email.clone(), about.clone());
                match sh.waiting_on_disk(svc.name.as_str(), queued).await {
                    Ok(_) => route.wakeup.notify_one(),
                    Err(e) => tracing::error!(
                        service = svc.name.as_str(),
                        "cannot queue the report for {} for {}: {e}",
                        inc.id,
                        route.task_name()
                    ),
                }
            }
            sh.count_outbox().await;
        }
        Some(Err(e)) => tracing::error!(
            service = svc.name.as_str(),
            "cannot render the report for {}: {e}",
            inc.id
        ),
    }
    // Counted before the state changes: that change writes the metrics file.
    sh.with_metrics(|f| f.closed(&inc));
    sh.update(|st| {
        let s = st.services.entry(svc.name.to_string()).or_default();
        s.open = None;
        s.last = Some(Box::new(inc));
    });
}

fn log(sh: &Shared, svc: &Service, event: &str, incident: &str, result: &str, message: &str) {
    crate::journal::event(svc, event, incident, None, result, message);
    let ev = Event {
        time_ms: sh.ctx.clock.now_ms(),
        service: svc.name.to_string(),
        event: event.into(),
        incident: incident.into(),
        result: result.into(),
        message: message.into(),
    };
    sh.append_event(ev);
}

/// The look saw the service: if it was the last one unseen, the daemon's blindness is over.
fn seen(sh: &Shared, svc: &Service) {
    sh.rebuild.sight_restored();
    let name = svc.name.as_str();
    if !sh.lock_state().blind_services.iter().any(|s| s == name) {
        return; // the usual case, without a state update
    }
    let ended = sh.update(|st| {
        let i = st.blind_services.iter().position(|s| s == name)?;
        st.blind_services.remove(i);
        if !st.blind_services.is_empty() {
            return None;
        }
        st.blind_error = None;
        st.blind_since_ms.take()
    });
    if let Some(since) = ended {
        let blind_ms = sh.ctx.clock.now_ms().saturating_sub(since);
        sh.daemon_event(
            "sight_restored",
            "ok",
            &format!(
                "systemd answers about every service again (the last was {}), after {} blind",
                svc.unit,
                humantime::format_duration(std::time::Duration::from_secs(blind_ms / 1000))
            ),
        );
    }
}

/// systemd did not answer about the service: the daemon is blind to it. Recorded (state,
/// status, heartbeat), logged when the episode starts, and never healed. When no service can
/// be seen, the connection itself is rebuilt, spaced out by `bus::Rebuild`.
async fn blind(sh: &Arc<Shared>, svc: &Service, Unseen(error): Unseen) {
    let now = sh.ctx.clock.now_ms();
    let name = svc.name.to_string();
    let (first, none_seen) = sh.update(|st| {
        let s = st.services.entry(name.clone()).or_default();
        s.last_probe = Some(format!("cannot see {}: {error}", svc.unit));
        s.last_probe_ms = now;
        let first = st.blind_services.is_empty();
        if let Err(i) = st.blind_services.binary_search(&name) {
            st.blind_services.insert(i, name.clone());
        }
        if first {
            st.blind_since_ms = Some(now);
        }
        st.blind_error = Some(error.to_string());
        (first, st.blind_services.len() >= sh.config.services.len())
    });
    if first {
        sh.daemon_event(
            "blind",
            "failed",
            &format!(
                "cannot see {}: {error}; healing nothing it cannot see until systemd answers",
                svc.unit
            ),
        );
    }
    if !none_seen {
        return;
    }
    match sh.rebuild.turn() {
        RebuildTurn::Wait => {}
        RebuildTurn::Rebuild(n) => match sh.reconnect.reconnect().await {
            Ok(()) => sh.daemon_event(
                "reconnect",
                "ok",
                &format!(
                    "no service can be seen: rebuilt the connection to systemd (try {n} of \
                     {REBUILDS_BEFORE_EXIT})"
                ),
            ),
            Err(e) => sh.daemon_event(
                "reconnect",
                "failed",
                &format!(
                    "no service can be seen, and the connection to systemd could not be \
                     rebuilt (try {n} of {REBUILDS_BEFORE_EXIT}): {e}"
                ),
            ),
        },
        RebuildTurn::GiveUp(n) => {
            let why = format!(
                "no service could be seen through {n} rebuilds of the connection to systemd; \
                 exiting so systemd restarts the daemon with a new connection"
            );
            sh.daemon_event("reconnect", "failed", &why);
            sh.fail(why);
        }
    }
}

#[cfg(test)]
mod tests;
