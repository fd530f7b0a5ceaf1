//! systemd's change signals, received once for the whole daemon: one match rule for the units'
//! `PropertiesChanged` and one for the manager's `JobRemoved`, read by one task that hands
//! each to whoever waits on that unit or job. A proxy per watched unit would cost a match rule
//! and a cache of every property of every unit; this costs two rules and one task however many
//! units are watched, and nothing at all while nothing changes.
//!
//! When the connection ends, the task ends and so does every stream and job wait it fed: their
//! owners follow again on the next connection (`reset` does the same on a reconnect).
//!
//! Each unit's stream is a `futures_channel` unbounded channel (about 100 bytes while empty):
//! tokio's pads its channel to cache lines, 0.5 KiB for each watched unit held for the
//! daemon's life, to speed up traffic that a unit's few state changes never make.

use super::ActiveState;
use futures_channel::mpsc;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;
use zbus::{Connection, MatchRule, MessageStream, message::Type};

const SYSTEMD: &str = "org.freedesktop.systemd1";
const UNIT_IFACE: &str = "org.freedesktop.systemd1.Unit";

/// The last jobs that ended, newest last, for a caller that asks a moment later: a job can end
/// before its start call has returned, and a job that several callers share (systemd merges a
/// start into a restart already queued for the unit, and returns the same job to both) may
/// end before the second has asked.
const ENDED_JOBS_KEPT: usize = 256;

#[derive(Default)]
pub(super) struct Signals {
    inner: Arc<Mutex<Inner>>,
    /// Held while the listener starts, so two callers never start two.
    starting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by `reset`: a listener of an earlier generation no longer delivers.
    generation: u64,
    listener: Option<tokio::task::AbortHandle>,
    /// Unit object path -> the streams of its new ActiveState.
    units: HashMap<String, Vec<mpsc::UnboundedSender<ActiveState>>>,
    /// Job object path -> everyone who waits for its result (one job may be several callers').
    jobs: HashMap<String, Vec<oneshot::Sender<String>>>,
    ended: VecDeque<(String, String)>,
}

impl Signals {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Starts reading signals on `conn` unless already reading them.
    pub(super) async fn listen(&self, conn: &Connection) -> zbus::Result<()> {
        let _gate = self.starting.lock().await;
        let generation = {
            let inner = self.lock();
            if inner.listener.is_some() {
                return Ok(());
            }
            inner.generation
        };
        let units = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(SYSTEMD)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .arg(0, UNIT_IFACE)
            .build()?;
        let jobs = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(SYSTEMD)
            .interface("org.freedesktop.systemd1.Manager")
            .member("JobRemoved")
            .build()?;
        let units = MessageStream::for_match_rule(units, conn, None).await?;
        let jobs = MessageStream::for_match_rule(jobs, conn, None).await?;
        // systemd sends both only to subscribed clients; already subscribed is fine.
        let _ = conn
            .call_method(
                Some(SYSTEMD),
                "/org/freedesktop/systemd1",
                Some("org.freedesktop.systemd1.Manager"),
                "Subscribe",
                &(),
            )
            .await;
        let mut inner = self.lock();
        if inner.generation != generation {
            return Ok(()); // reset meanwhile: the caller's connection is gone
        }
        let table = self.inner.clone();
        let task = tokio::spawn(deliver(table, generation, units, jobs));
        inner.listener = Some(task.abort_handle());
        Ok(())
    }

    /// The unit's new ActiveState at each change, from the unit's object path.
    pub(super) fn watch(&self, path: &str) -> mpsc::UnboundedReceiver<ActiveState> {
        let (tx, rx) = mpsc::unbounded();
        self.lock()
            .units
            .entry(path.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// The result systemd gives the job when it removes it; an error once the signals end.
    pub(super) fn job_result(&self, job: &str) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        match inner.ended.iter().find(|(j, _)| j == job) {
            Some((_, result)) => {
                let _ = tx.send(result.clone());
            }
            None => inner.jobs.entry(job.to_string()).or_default().push(tx),
        }
        rx
    }

    /// Forgets the listener and every stream and wait it fed (they end): the connection is
    /// being replaced.
    pub(super) fn reset(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        if let Some(task) = inner.listener.take() {
            task.abort();
        }
        inner.units.clear();
        inner.jobs.clear();
        inner.ended.clear();
    }
}

impl Inner {
    /// systemd removed `job` with `result`: every waiter hears it, and a caller that asks
    /// later still will.
    fn job_removed(&mut self, job: &str, result: &str) {
        for waiter in self.jobs.remove(job).unwrap_or_default() {
            let _ = waiter.send(result.to_string());
        }
        if self.ended.len() == ENDED_JOBS_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back((job.to_string(), result.to_string()));
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|e| e.into_inner())
}

/// The listener: hands each signal to its unit's streams or its job's waiter, until the
/// connection ends; then ends them all (unless a reset already did).
async fn deliver(
    table: Arc<Mutex<Inner>>,
    generation: u64,
    units: MessageStream,
    jobs: MessageStream,
) {
    use futures_util::StreamExt;
    let mut both = futures_util::stream::select(units, jobs);
    while let Some(msg) = both.next().await {
        let Ok(msg) = msg else { continue };
        let header = msg.header();
        let Some(member) = header.member() else {
            continue;
        };
        if member.as_str() == "JobRemoved" {
            let body = msg.body();
            let Ok((_, job, _, result)) =
                body.deserialize::<(u32, zbus::ObjectPath<'_>, &str, &str)>()
            else {
                continue;
            };
            lock(&table).job_removed(job.as_str(), result);
        } else if let Some(path) = header.path()
            && let Some(state) = active_state(&msg)
        {
            let mut inner = lock(&table);
            if let Some(streams) = inner.units.get_mut(path.as_str()) {
                streams.retain(|s| s.unbounded_send(state).is_ok());
            }
        }
    }
    let mut inner = lock(&table);
    if inner.generation == generation {
        inner.listener = None;
        inner.units.clear();
        inner.jobs.clear();
        inner.ended.clear();
    }
}

/// The new ActiveState a unit's PropertiesChanged carries, if it carries one.
fn active_state(msg: &zbus::Message) -> Option<ActiveState> {
    use std::collections::HashMap;
    use zbus::Variant;
    let body = msg.body();
    let (_, changed, _) = body
        .deserialize::<(&str, HashMap<&str, Variant<'_>>, Vec<&str>)>()
        .ok()?;
    match changed.get("ActiveState")? {
        Variant::Str(s) => Some(ActiveState::parse(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "/org/freedesktop/systemd1/job/4242";

    /// A dependent's start of its dependency merged into the dependency's own restart: systemd
    /// returns one job to both callers, and both hear how it ended.
    #[tokio::test]
    async fn every_caller_of_a_shared_job_hears_its_result_even_one_that_asks_after_it_ended() {
        let signals = Signals::default();
        let first = signals.job_result(JOB);
        let second = signals.job_result(JOB);
        signals.lock().job_removed(JOB, "done");
        assert_eq!(first.await.unwrap(), "done");
        assert_eq!(second.await.unwrap(), "done");
        let late = signals.job_result(JOB);
        assert_eq!(late.await.unwrap(), "done");
        let other = signals.job_result("/org/freedesktop/systemd1/job/4243");
        signals
            .lock()
            .job_removed("/org/freedesktop/systemd1/job/4243", "canceled");
        assert_eq!(other.await.unwrap(), "canceled");
    }
}
