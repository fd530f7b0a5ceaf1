//! systemd over D-Bus: read a unit's state, act on it (restart, start, reset-failed, kill) and
//! subscribe to its state changes, so a unit leaving `active` is seen within milliseconds
//! instead of at the next poll. A start or restart waits for the job systemd ran (`Job`). The daemon reaches it through the `Units` trait, so tests can
//! put a scripted systemd in its place.

mod job;
mod signals;
mod states;
mod status;
mod units;

pub use job::Job;
pub use states::{ActiveState, JobResult, JobType, LoadState, ServiceResult, SubState};
pub use status::{ExecCode, UnitStatus};
pub use units::{ActiveStates, Units};

use crate::config::UnitName;
use futures_util::Stream;
use signals::Signals;
use std::sync::Arc;
use std::time::Duration;
use zbus::Connection;
use zbus_systemd::systemd1::{ManagerProxy, ServiceProxy};

#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("D-Bus call {call} for {unit} failed: {source}")]
    Call {
        call: &'static str,
        unit: String,
        source: zbus::Error,
    },
    #[error("cannot connect to the system bus: {0}")]
    Connect(zbus::Error),
}

/// A connection to PID 1's D-Bus API. Clones share one connection slot, so `reconnect`
/// replaces the connection for every later call of every clone.
#[derive(Clone)]
pub struct Systemd {
    slot: Arc<std::sync::RwLock<Connection>>,
    /// Unit changes and job ends, received once for every watcher (see `signals`).
    signals: Arc<Signals>,
}

fn call<'a>(
    call: &'static str,
    unit: &'a UnitName,
) -> impl FnOnce(zbus::Error) -> SystemdError + 'a {
    move |source| SystemdError::Call {
        call,
        unit: unit.to_string(),
        source,
    }
}

/// What `ListUnitsByNames` says of a unit.
struct UnitStates {
    load: LoadState,
    active: String,
    sub: SubState,
    path: zbus::OwnedObjectPath,
    /// The type of the unit's queued or running job, `None` when none.
    job: JobType,
}

impl Systemd {
    pub async fn connect() -> Result<Systemd, SystemdError> {
        Ok(Systemd {
            slot: Arc::new(std::sync::RwLock::new(Self::open().await?)),
            signals: Arc::default(),
        })
    }

    async fn open() -> Result<Connection, SystemdError> {
        // A stalled PID 1 must not hang a worker forever: every call gets a deadline.
        zbus::connection::Builder::system()
            .method_timeout(Duration::from_secs(25))
            .build()
            .await
            .map_err(SystemdError::Connect)
    }

    /// Replaces the connection (after the bus restarted or dropped us) and asks for change
    /// signals on the new one. Streams from `watch` on the old connection end; callers follow
    /// the unit again.
    pub async fn reconnect(&self) -> Result<(), SystemdError> {
        let fresh = Self::open().await?;
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.signals.reset();
        self.subscribe().await
    }

    /// The current connection (a cheap handle; the lock is never held across an await).
    fn conn(&self) -> Connection {
        self.slot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn manager(&self) -> zbus::Result<ManagerProxy<'static>> {
        // Methods only: no property cache (it would cost a GetAll and a match rule).
        ManagerProxy::builder(&self.conn())
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
    }

    /// Starts receiving change signals on the current connection, unless already receiving.
    async fn listen(&self, unit: &UnitName) -> Result<(), SystemdError> {
        self.signals
            .listen(&self.conn())
            .await
            .map_err(call("AddMatch", unit))
    }

    /// The unit's load, active and sub state and object path, in one call (`ListUnitsByNames`
    /// loads the unit if it must, and follows an alias to the unit it names).
    async fn unit_states(&self, unit: &UnitName) -> Result<UnitStates, SystemdError> {
        let m = self.manager().await.map_err(call("Manager", unit))?;
        let found = m
            .list_units_by_names(vec![unit.to_string()])
            .await
            .map_err(call("ListUnitsByNames", unit))?;
        let (_, _, load, active, sub, _, path, _, job, _) =
            found.into_iter().next().ok_or_else(|| {
                call("ListUnitsByNames", unit)(zbus::Error::Failure(
                    "no answer about the unit".into(),
                ))
            })?;
        Ok(UnitStates {
            load: LoadState::parse(&load),
            active,
            sub: SubState::parse(&sub),
            path,
            job: JobType::parse(&job),
        })
    }

    /// The unit's ActiveState and SubState: one call, for a look that knows the rest.
    pub async fn active_state(
        &self,
        unit: &UnitName,
    ) -> Result<(ActiveState, SubState), SystemdError> {
        let st = self.unit_states(unit).await?;
        Ok((ActiveState::parse(&st.active), st.sub))
    }

    /// Asks systemd to send change signals (needed for `watch` on some versions).
    pub async fn subscribe(&self) -> Result<(), SystemdError> {
        let m = ManagerProxy::new(&self.conn())
            .await
            .map_err(SystemdError::Connect)?;
        // Already subscribed is fine; anything else will show up in the first real call.
        let _ = m.subscribe().await;
        Ok(())
    }

    /// A snapshot of the unit's state, with the service fields systemd keeps about its last run.
    pub async fn status(&self, unit: &UnitName) -> Result<UnitStatus, SystemdError> {
        let UnitStates {
            load,
            active,
            sub,
            path,
            job,
        } = self.unit_states(unit).await?;
        let mut st = UnitStatus {
            load_state: load,
            active_state: ActiveState::parse(&active),
            sub_state: sub,
            job,
            ..UnitStatus::default()
        };
        if unit.as_str().ends_with(".service") && st.load_state == LoadState::Loaded {
            let s = ServiceProxy::builder(&self.conn())
                .path(path)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await
                .map_err(call("Service", unit))?;
            // Asked all at once: each call waits its turn in systemd's queue, and right after a
            // unit changes systemd is busy telling everyone (on a host of 500 units, a few ms
            // a call), so six calls in a row would be six waits before the look can judge.
            let (result, main_pid, code, status, restarts, cgroup) = tokio::join!(
                s.result(),
                s.main_pid(),
                s.exec_main_code(),
                s.exec_main_status(),
                s.n_restarts(),
                s.control_group(),
            );
            st.result = ServiceResult::parse(&result.map_err(call("Result", unit))?);
            st.main_pid = main_pid.map_err(call("MainPID", unit))?;
            st.exec_main_code = ExecCode::from_raw(code.map_err(call("ExecMainCode", unit))?);
            st.exec_main_status = status.map_err(call("ExecMainStatus", unit))?;
            st.n_restarts = restarts.map_err(call("NRestarts", unit))?;
            st.control_group = cgroup.map_err(call("ControlGroup", unit))?;
        }
        Ok(st)
    }

    /// A stream that yields each time the unit's ActiveState changes (the new value). It ends
    /// when the connection does.
    ///
    /// The unit is also referenced for as long as the connection lives (`RefUnit`): systemd
    /// then keeps a stopped unit loaded, with its result and exit status, instead of unloading
    /// it as soon as nothing needs it (a stopped template instance, a unit nothing wants). An
    /// unloaded unit is loaded again by every call that names it, and on a host of hundreds of
    /// units in one slice each load walks the slice's members: the look after a stop would
    /// wait for that several times over. Without the reference (an older systemd) nothing else
    /// changes.
    pub async fn watch(
        &self,
        unit: &UnitName,
    ) -> Result<impl Stream<Item = ActiveState> + use<>, SystemdError> {
        self.listen(unit).await?;
        let m = self.manager().await.map_err(call("Manager", unit))?;
        let _ = m.ref_unit(unit.to_string()).await;
        let path = self.unit_states(unit).await?.path;
        Ok(self.signals.watch(path.as_str()))
    }

    /// Restarts the unit and waits, at most `timeout`, for systemd to finish the job.
    pub async fn restart_job(
        &self,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<Job, SystemdError> {
        self.run_job("RestartUnit", unit, timeout).await
    }

    /// Starts the unit and waits, at most `timeout`, for systemd to finish the job.
    pub async fn start_job(&self, unit: &UnitName, timeout: Duration) -> Result<Job, SystemdError> {
        self.run_job("StartUnit", unit, timeout).await
    }

    async fn run_job(
        &self,
        method: &'static str,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<Job, SystemdError> {
        // Listening before queuing: a job that ends at once must not end unseen.
        self.listen(unit).await?;
        let m = self.manager().await.map_err(call("Manager", unit))?;
        let started = tokio::time::Instant::now();
        let (name, mode) = (unit.to_string(), "replace".to_string());
        let job = match method {
            "StartUnit" => m.start_unit(name, mode).await,
            _ => m.restart_unit(name, mode).await,
        }
        .map_err(call(method, unit))?;
        let ended = async {
            self.signals.job_result(job.as_str()).await.map_err(|_| {
                zbus::Error::Failure(
                    "the bus stopped sending JobRemoved before the job ended".into(),
                )
            })
        };
        let result = match tokio::time::timeout(timeout, ended).await {
            Ok(Ok(result)) => Some(JobResult::parse(&result)),
            // Not knowing how the job ended is not knowing the unit's state: a D-Bus failure.
            Ok(Err(e)) => return Err(call("JobRemoved", unit)(e)),
            Err(_) => None,
        };
        Ok(Job {
            result,
            took: started.elapsed(),
        })
    }

    pub async fn start(&self, unit: &UnitName) -> Result<(), SystemdError> {
        let m = self.manager().await.map_err(call("Manager", unit))?;
        m.start_unit(unit.to_string(), "replace".into())
            .await
            .map_err(call("StartUnit", unit))?;
        Ok(())
    }

    pub async fn stop(&self, unit: &UnitName) -> Result<(), SystemdError> {
        let m = self.manager().await.map_err(call("Manager", unit))?;
        m.stop_unit(unit.to_string(), "replace".into())
            .await
            .map_err(call("StopUnit", unit))?;
        Ok(())
    }

    pub async fn reset_failed(&self, unit: &UnitName) -> Result<(), SystemdError> {
        let m = self.manager().await.map_err(call("Manager", unit))?;
        m.reset_failed_unit(unit.to_string())
            .await
            .map_err(call("ResetFailedUnit", unit))
    }

    /// Sends a signal to the unit's main process only.
    pub async fn kill_main(&self, unit: &UnitName, signal: i32) -> Result<(), SystemdError> {
        let m = self.manager().await.map_err(call("Manager", unit))?;
        m.kill_unit(unit.to_string(), "main".into(), signal)
            .await
            .map_err(call("KillUnit", unit))
    }

    /// Polls until the unit is `active` (true) or has settled in `failed`/`inactive` (false),
    /// or the timeout passes (false).
    pub async fn wait_active(
        &self,
        unit: &UnitName,
        timeout: Duration,
    ) -> Result<bool, SystemdError> {
        let started = tokio::time::Instant::now();
        loop {
            let st = self.status(unit).await?;
            match st.active() {
                ActiveState::Active => return Ok(true),
                ActiveState::Failed => return Ok(false),
                // A start job may not have begun yet; give it a moment before judging.
                ActiveState::Inactive if started.elapsed() > Duration::from_millis(500) => {
                    return Ok(false);
                }
                _ => {}
            }
            if started.elapsed() >= timeout {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
