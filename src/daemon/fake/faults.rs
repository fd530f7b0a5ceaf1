//! Faults the scripted systemd does not play by itself, layered over it for the daemon's
//! supervision tests: a status call that panics (a bug on a worker's path), one that never
//! returns (a wedged call), status calls that take a while or wait for the test to release
//! them (to count how many are in flight),
//! and a count of the connection rebuilds the daemon asked for. Every other call goes to the
//! `FakeHost` unchanged, so its call log stays the one record of what was done.

use super::{FakeClock, FakeHost};
use crate::config::UnitName;
use crate::daemon::System;
use crate::daemon::bus::Reconnect;
use crate::systemd::{ActiveStates, Job, SystemdError, UnitStatus, Units};
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Default)]
struct Faults {
    /// How many more status calls about each unit panic.
    panics: BTreeMap<String, usize>,
    /// Units whose status calls never return.
    hangs: BTreeSet<String>,
    /// Units whose start, restart and stop calls never return.
    wedged: BTreeSet<String>,
    status_takes: Option<Duration>,
    in_flight: usize,
    max_in_flight: usize,
    reconnects: usize,
}

/// The fake host's systemd with faults injected.
pub struct Faulty {
    host: Arc<FakeHost>,
    faults: Mutex<Faults>,
    /// While true, status calls wait (in flight) until it is false again.
    held: watch::Sender<bool>,
}

impl Faulty {
    pub fn new(host: &Arc<FakeHost>) -> Arc<Faulty> {
        Arc::new(Faulty {
            host: host.clone(),
            faults: Mutex::default(),
            held: watch::Sender::new(false),
        })
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The daemon's `System` on this systemd, the fake host's process table and `clock`.
    pub fn system(self: &Arc<Self>, clock: &Arc<FakeClock>) -> System {
        System {
            units: self.clone(),
            procs: self.host.clone(),
            clock: clock.clone(),
        }
    }

    /// The next `times` status calls about the unit panic (in the task that made them).
    pub fn status_panics(&self, unit: &str, times: usize) {
        self.faults().panics.insert(unit.to_string(), times);
    }

    /// From now on, status calls about the unit never return.
    pub fn status_hangs(&self, unit: &str) {
        self.faults().hangs.insert(unit.to_string());
    }

    /// From now on, start, restart and stop calls about the unit never return, as a D-Bus
    /// call whose reply never comes (a heal stuck in its first step).
    pub fn actions_hang(&self, unit: &str) {
        self.faults().wedged.insert(unit.to_string());
    }

    async fn hang_if_wedged(&self, unit: &UnitName) {
        if self.faults().wedged.contains(unit.as_str()) {
            std::future::pending::<()>().await;
        }
    }

    /// Status calls wait, in flight, until `release_status`: the bus has not answered yet.
    pub fn hold_status(&self) {
        self.held.send_replace(true);
    }

    /// Every status call held, and every later one, is answered.
    pub fn release_status(&self) {
        self.held.send_replace(false);
    }

    /// Every status call takes this long before the fake host answers it.
    pub fn status_takes(&self, d: Duration) {
        self.faults().status_takes = Some(d);
    }

    /// The most status calls that were ever in flight at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.faults().max_in_flight
    }

    /// How many times the daemon asked for the connection to be rebuilt.
    pub fn reconnects(&self) -> usize {
        self.faults().reconnects
    }
}

/// Counts a status call in flight until dropped (a cancelled call included).
struct InFlight<'a>(&'a Faulty);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.faults().in_flight -= 1;
    }
}

impl Reconnect for Faulty {
    fn reconnect(&self) -> BoxFuture<'_, Result<(), SystemdError>> {
        self.faults().reconnects += 1;
        Box::pin(async { Ok(()) })
    }
}

impl Units for Faulty {
    fn subscribe(&self) -> BoxFuture<'_, Result<(), SystemdError>> {
        self.host.subscribe()
    }

    fn status<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<UnitStatus, SystemdError>> {
        Box::pin(async move {
            let (panic, hang, takes) = {
                let mut f = self.faults();
                let panic = match f.panics.get_mut(unit.as_str()) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        true
                    }
                    _ => false,
                };
                f.in_flight += 1;
                f.max_in_flight = f.max_in_flight.max(f.in_flight);
                (panic, f.hangs.contains(unit.as_str()), f.status_takes)
            };
            let _counted = InFlight(self);
            if panic {
                panic!("injected panic in a status call about {unit}");
            }
            if hang {
                std::future::pending::<()>().await;
            }
            if let Some(d) = takes {
                tokio::time::sleep(d).await;
            }
            let _ = self.held.subscribe().wait_for(|held| !*held).await;
            self.host.status(unit).await
        })
    }

    fn watch<'a>(
        &'a self,
        unit: &'a UnitName,
    ) -> BoxFuture<'a, Result<ActiveStates, SystemdError>> {
        self.host.watch(unit)
    }

    fn restart<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(async move {
            self.hang_if_wedged(unit).await;
            self.host.restart(unit, timeout).await
        })
    }

    fn start<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Job, SystemdError>> {
        Box::pin(async move {
            self.hang_if_wedged(unit).await;
            self.host.start(unit, timeout).await
        })
    }

    fn stop<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        Box::pin(async move {
            self.hang_if_wedged(unit).await;
            self.host.stop(unit).await
        })
    }

    fn reset_failed<'a>(&'a self, unit: &'a UnitName) -> BoxFuture<'a, Result<(), SystemdError>> {
        self.host.reset_failed(unit)
    }

    fn kill_main<'a>(
        &'a self,
        unit: &'a UnitName,
        signal: i32,
    ) -> BoxFuture<'a, Result<(), SystemdError>> {
        self.host.kill_main(unit, signal)
    }

    fn wait_active<'a>(
        &'a self,
        unit: &'a UnitName,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<bool, SystemdError>> {
        self.host.wait_active(unit, timeout)
    }

    fn journal<'a>(&'a self, unit: &'a UnitName, lines: u32) -> BoxFuture<'a, Vec<String>> {
        self.host.journal(unit, lines)
    }
}
