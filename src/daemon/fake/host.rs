//! A scripted systemd: per unit, its settled state, the states the next reads see before it
//! (a restart job still running, say), and what each start or restart does (comes up, stays
//! failed, or the D-Bus call itself fails). A start or restart job runs through the
//! `after_start` states, one per 5 ms, and is removed (`done`, or `failed`) once they are used
//! up, so a test can show a state read while the job runs and the job's own result.
//! Every call is logged as a line such as `restart x.service`, so a test asserts what was done
//! ("restarted once", "nothing was restarted") the way an operator would read the journal.
//! The unit's main process lives in the same fake host's process table (`procs.rs`), so a unit
//! that comes up holds its port and one that dies frees it.

use super::procs::Procs;
use crate::config::UnitName;
use crate::systemd::{ActiveState, ActiveStates, ExecCode, Job, SystemdError, UnitStatus, Units};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// What one start or restart of a unit does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// The unit comes up: a new main PID in its cgroup, listening on its port if it serves one.
    Active,
    /// The start fails: the unit ends `failed` with `Result=exit-code`, status 1.
    Failed,
    /// The job is canceled, replaced by a newer job for the unit that brings it up.
    Canceled,
    /// The D-Bus call fails with `org.freedesktop.DBus.Error.Failed: <text>`; the unit is
    /// left as it was.
    DbusError(&'static str),
}

#[derive(Default)]
struct Unit {
    /// The settled state, what reads see once the script is used up.
    status: UnitStatus,
    /// (ActiveState, SubState) the next reads see instead, one per read. A job replaces them
    /// with `after_start` (start, restart) or nothing.
    script: VecDeque<(String, String)>,
    after_start: Vec<(String, String)>,
    /// What each start or restart does, in turn; the last one repeats. Empty means `Active`.
    on_start: VecDeque<Then>,
    /// Every D-Bus call about the unit fails with this text.
    refused: Option<&'static str>,
    port: Option<u16>,
    watchers: Vec<mpsc::UnboundedSender<ActiveState>>,
    /// Its change signals are lost on the way (the watchers stay, hearing nothing).
    signals_lost: bool,
    /// The job queued or running for the unit (its type, and what it does), as systemd shows
    /// it in the unit's `Job` property. A start or restart asked for while one runs joins it,
    /// as systemd merges them, and hears the same result.
    job: Option<(String, Then)>,
}

#[derive(Default)]
pub(super) struct World {
    units: BTreeMap<String, Unit>,
    calls: Vec<String>,
    pub(super) procs: Procs,
}

/// One fake host: its systemd (`Units`) and its process table (`Processes`).
#[derive(Default)]
pub struct FakeHost {
    /// Shared with the processes it hands out held (`Processes::hold`).
    world: Arc<Mutex<World>>,
}

/// The calls that change something; the rest only read.
const ACTIONS: [&str; 5] = ["restart", "start", "stop", "reset_failed", "kill_main"];

fn pairs<'a>(states: &'a [(&str, &str)]) -> impl Iterator<Item = (String, String)> + 'a {
    states.iter().map(|(a, s)| (a.to_string(), s.to_string()))
}

/// What zbus returns for an `org.freedesktop.DBus.Error.Failed` reply, as the real `Systemd`
/// wraps it.
fn dbus_error(call: &'static str, unit: &str, text: &str) -> SystemdError {
    SystemdError::Call {
        call,
        unit: unit.to_string(),
        source: zbus::Error::FDO(Box::new(zbus::fdo::Error::Failed(text.into()))),
    }
}

pub(super) fn cgroup(unit: &str) -> String {
    format!("/system.slice/{unit}")
}

impl FakeHost {
    pub fn new() -> FakeHost {
        FakeHost::default()
    }

    pub(super) fn world(&self) -> MutexGuard<'_, World> {
        // A panic in another task while it held the lock must not fail every later call too.
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn shared(&self) -> Arc<Mutex<World>> {
        self.world.clone()
    }

    /// Every call made, in order, e.g. `["watch x.service", "status x.service", ...]`.
    pub fn calls(&self) -> Vec<String> {
        self.world().calls.clone()
    }

    /// Only the calls that act on a unit, e.g. `["restart x.service"]`.
    pub fn actions(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| ACTIONS.iter().any(|a| c.split(' ').next() == Some(a)))
            .collect()
    }

    /// How many times exactly this call was made, e.g. `count("restart x.service")`.
    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }

    /// From now on the unit's change signals are lost: its watchers hear nothing.
    pub fn loses_signals(&self, unit: &str) {
        self.world().unit(unit).signals_lost = true;
    }

    /// The unit runs: a new main process in its cgroup, listening on its port if it has one.
    pub fn active(&self, unit: &str) {
        self.world().come_up(unit, true);
    }

    /// The unit runs but does not listen on its port (hung, or still loading).
    pub fn hung(&self, unit: &str) {
        self.world().come_up(unit, false);
    }

    /// Stopped cleanly, as by `systemctl stop`: inactive, `Result=success`.
    pub fn stopped(&self, unit: &str) {
        self.world()
            .go_down(unit, "inactive", "success", ExecCode::Exited, 0);
    }

    /// Its main process exited with status 1: failed, `Result=exit-code`.
    pub fn crashed(&self, unit: &str) {
        self.world()
            .go_down(unit, "failed", "exit-code", ExecCode::Exited, 1);
    }

    /// Its main process was killed by `signal` (`kill -9` is 9): failed, `Result=signal`.
    pub fn killed(&self, unit: &str, signal: i32) {
        self.world()
            .go_down(unit, "failed", "signal", ExecCode::Killed, signal);
    }

    /// Any state, e.g. `activating (start)`; the main process is left as it is.
    pub fn set(&self, unit: &str, active: &str, sub: &str) {
        let mut w = self.world();
        let mut st = w.unit(unit).status.clone();
        st.load_state = "loaded".into();
        st.active_state = active.into();
        st.sub_state = sub.into();
        w.set_status(unit, st);
    }

    /// The next reads see these (ActiveState, SubState) before the settled state, e.g.
    /// `[("activating", "start")]`.
    pub fn script(&self, unit: &str, states: &[(&str, &str)]) {
        self.world().unit(unit).script = pairs(states).collect();
    }

    /// After each start or restart job, the reads see these states before its outcome, as they
    /// would while systemd runs the job (or before it has even begun).
    pub fn after_start(&self, unit: &str, states: &[(&str, &str)]) {
        self.world().unit(unit).after_start = pairs(states).collect();
    }

    /// Someone else (an operator, a deploy) has a job of this type queued for the unit
    /// (`start`: what is left of a `systemctl restart` once its stop half is done), until
    /// `job_ended`.
    pub fn job_queued(&self, unit: &str, kind: &str) {
        self.world().unit(unit).job = Some((kind.to_string(), Then::Active));
    }

    /// The unit's queued job is gone.
    pub fn job_ended(&self, unit: &str) {
        self.world().unit(unit).job = None;
    }

    /// What the next starts or restarts of the unit do, in turn (the last one repeats).
    pub fn on_start(&self, unit: &str, then: impl IntoIterator<Item = Then>) {
        self.world().unit(unit).on_start = then.into_iter().collect();
    }

    /// Every D-Bus call about the unit fails from now on with `org.freedesktop.DBus.Error.Failed:
    /// <text>`, as on a bus that refuses or drops the daemon's calls.
    pub fn bus_refuses(&self, unit: &str, text: &'static str) {
        self.world().unit(unit).refused = Some(text);
    }

    /// The bus answers calls about the unit again, ending `bus_refuses` (a bus back after a
    /// restart, or no longer overloaded).
    pub fn bus_answers(&self, unit: &str) {
        self.world().unit(unit).refused = None;
    }

    /// The unit listens on `port` whenever it runs.
    pub fn serves(&self, unit: &str, port: u16) {
        let mut w = self.world();
        w.unit(unit).port = Some(port);
        let st = w.unit(unit).status.clone();
        if st.is_active() && st.main_pid != 0 {
            let name = unit.trim_end_matches(".service").to_string();
            w.procs
                .listen(port, st.main_pid as i32, &name, &cgroup(unit));
        }
    }

    /// A start or restart job: queued at once, removed once systemd has gone through the
    /// `after_start` states (one per 5 ms), or still running at `timeout`.
    async fn job(
        &self,
        call: &'static str,
        verb: &str,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<Job, SystemdError> {
        let then = self.act(call, verb, unit)?;
        let started = tokio::time::Instant::now();
        loop {
            if self.world().unit(unit.as_str()).script.is_empty() {
                self.world().unit(unit.as_str()).job = None;
                let result = match then {
                    Then::Failed => "failed",
                    Then::Canceled => "canceled",
                    _ => "done",
                };
                return Ok(Job {
                    result: Some(result.into()),
                    took: started.elapsed(),
                });
            }
            if started.elapsed() >= timeout {
                return Ok(Job {
                    result: None,
                    took: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.world().unit(unit.as_str()).script.pop_front();
        }
    }

    /// Queues a start or restart job: what it does to the unit, and the states reads see
    /// while it runs.
    fn act(&self, call: &'static str, verb: &str, unit: &UnitName) -> Result<Then, SystemdError> {
        let mut w = self.world();
        w.call(call, format!("{verb} {unit}"), unit)?;
        let u = w.unit(unit.as_str());
        if let Some((_, then)) = &u.job {
            return Ok(then.clone());
        }
        let then = match u.on_start.len() {
            0 => Then::Active,
            1 => u.on_start[0].clone(),
            _ => u.on_start.pop_front().unwrap_or(Then::Active),
        };
        match then {
            Then::Active | Then::Canceled => w.come_up(unit.as_str(), true),
            Then::Failed => w.go_down(unit.as_str(), "failed", "exit-code", ExecCode::Exited, 1),
            Then::DbusError(text) => return Err(dbus_error(call, unit.as_str(), text)),
        }
        let u = w.unit(unit.as_str());
        u.script = u.after_start.iter().cloned().collect();
        if !u.script.is_empty() {
            u.job = Some((verb.to_string(), then.clone()));
        }
        Ok(then)
    }
}

impl World {
    /// Logs a call as `line`; fails it as D-Bus would when the bus refuses calls about `unit`.
    fn call(
        &mut self,
        dbus: &'static str,
        line: String,
        unit: &UnitName,
    ) -> Result<(), SystemdError> {
        self.calls.push(line);
        match self.unit(unit.as_str()).refused {
            Some(text) => Err(dbus_error(dbus, unit.as_str(), text)),
            None => Ok(()),
        }
    }

    fn unit(&mut self, unit: &str) -> &mut Unit {
        self.units.entry(unit.to_string()).or_insert_with(|| Unit {
            // Never configured on this host: what systemd says of a unit file that is missing.
            status: UnitStatus {
                load_state: "not-found".into(),
                active_state: "inactive".into(),
                sub_state: "dead".into(),
                ..UnitStatus::default()
            },
            ..Unit::default()
        })
    }

    /// A read of the unit's state: the next scripted state if there is one.
    fn read(&mut self, unit: &str) -> UnitStatus {
        let u = self.unit(unit);
        let mut st = u.status.clone();
        st.job = u
            .job
            .as_ref()
            .map(|(kind, _)| kind.as_str().into())
            .unwrap_or_default();
        if let Some((active, sub)) = u.script.pop_front() {
            (st.active_state, st.sub_state) = (active.as_str().into(), sub.as_str().into());
        }
        st
    }

    fn set_status(&mut self, unit: &str, st: UnitStatus) {
        let u = self.unit(unit);
        let changed = u.status.active_state != st.active_state;
        u.status = st;
        if changed && !u.signals_lost {
            let state = u.status.active_state;
            u.watchers.retain(|w| w.send(state).is_ok());
        }
    }

    fn come_up(&mut self, unit: &str, listen: bool) {
        let old = self.unit(unit).status.main_pid as i32;
        self.procs.exit(old);
        let pid = self.procs.spawn();
        self.procs.fresh(&cgroup(unit));
        let port = self.unit(unit).port;
        if let (true, Some(port)) = (listen, port) {
            let name = unit.trim_end_matches(".service").to_string();
            self.procs.listen(port, pid, &name, &cgroup(unit));
        }
        self.unit(unit).script.clear();
        let st = UnitStatus {
            load_state: "loaded".into(),
            active_state: "active".into(),
            sub_state: "running".into(),
            result: "success".into(),
            main_pid: pid as u32,
            control_group: cgroup(unit),
            ..UnitStatus::default()
        };
        self.set_status(unit, st);
    }

    fn go_down(&mut self, unit: &str, active: &str, result: &str, code: ExecCode, status: i32) {
        let old = self.unit(unit).status.main_pid as i32;
        self.procs.exit(old);
        self.unit(unit).script.clear();
        let st = UnitStatus {
            load_state: "loaded".into(),
            active_state: active.into(),
            sub_state: if active == "failed" { "failed" } else { "dead" }.into(),
            result: result.into(),
            exec_main_code: code,
            exec_main_status: status,
            ..UnitStatus::default()
        };
        self.set_status(unit, st);
    }
}

impl Units for FakeHost {
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>> {
        self.world().calls.push("subscribe".into());
        Box::pin(async { Ok(()) })
    }

    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>> {
        let mut w = self.world();
        let st = w
            .call("LoadUnit", format!("status {unit}"), unit)
            .map(|()| w.read(unit.as_str()));
        Box::pin(async move { st })
    }

    fn watch<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<ActiveStates, SystemdError>> {
        let mut w = self.world();
        if let Err(e) = w.call("LoadUnit", format!("watch {unit}"), unit) {
            return Box::pin(async move { Err(e) });
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        w.unit(unit.as_str()).watchers.push(tx);
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed();
        Box::pin(async move { Ok(stream) })
    }

    fn restart<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(self.job("RestartUnit", "restart", unit, timeout))
    }

    fn start<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(self.job("StartUnit", "start", unit, timeout))
    }

    fn stop<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        let mut w = self.world();
        let r = w.call("StopUnit", format!("stop {unit}"), unit).map(|()| {
            w.go_down(unit.as_str(), "inactive", "success", ExecCode::Exited, 0);
        });
        Box::pin(async move { r })
    }

    fn reset_failed<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        let mut w = self.world();
        let line = format!("reset_failed {unit}");
        if let Err(e) = w.call("ResetFailedUnit", line, unit) {
            return Box::pin(async move { Err(e) });
        }
        let mut st = w.unit(unit.as_str()).status.clone();
        if st.active_state == ActiveState::Failed {
            (st.active_state, st.sub_state, st.result) =
                ("inactive".into(), "dead".into(), "success".into());
            w.set_status(unit.as_str(), st);
        }
        Box::pin(async { Ok(()) })
    }

    fn kill_main<'a>(
        &'a self,
        unit: &'a UnitName,
        signal: i32,
    ) -> BoxFuture<'a, Result<(), SystemdError>> {
        let mut w = self.world();
        let r = w
            .call("KillUnit", format!("kill_main {unit} {signal}"), unit)
            .map(|()| w.go_down(unit.as_str(), "failed", "signal", ExecCode::Killed, signal));
        Box::pin(async move { r })
    }

    fn wait_active<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<bool, SystemdError>> {
        self.world().calls.push(format!("wait_active {unit}"));
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            loop {
                let state = {
                    let mut w = self.world();
                    if let Some(text) = w.unit(unit.as_str()).refused {
                        return Err(dbus_error("LoadUnit", unit.as_str(), text));
                    }
                    w.read(unit.as_str()).active_state
                };
                match state.as_str() {
                    "active" => return Ok(true),
                    "failed" | "inactive" => return Ok(false),
                    _ if started.elapsed() >= timeout => return Ok(false),
                    _ => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        })
    }

    fn journal<'a>(&'a self, unit: &'a UnitName, lines: u32) -> BoxFuture<'a, Vec<String>> {
        self.world().calls.push(format!("journal {unit} {lines}"));
        let line = format!("(the journal of {unit})");
        Box::pin(async move { vec![line] })
    }
}
