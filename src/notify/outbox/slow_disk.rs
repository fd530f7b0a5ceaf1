//! Test-only: a slowed disk under one outbox folder, for tests of what a slow disk may delay
//! (reports) and what it must not (looks, heals, the watchdog). While a `Slowed` lives, each
//! write of a queue file in that folder first blocks the thread doing it for the given time, as
//! a write and fsync to a slow disk do, then is done as usual. Keyed by folder, so tests running
//! at once, each with its own folder, do not slow each other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

static SLOWED: Mutex<BTreeMap<PathBuf, Arc<Disk>>> = Mutex::new(BTreeMap::new());

fn slowed() -> MutexGuard<'static, BTreeMap<PathBuf, Arc<Disk>>> {
    SLOWED.lock().unwrap_or_else(|e| e.into_inner())
}

struct Disk {
    by: Duration,
    log: Mutex<Log>,
    fast_again: Condvar,
}

/// Which reports' writes began and which ended (their ids, in order).
#[derive(Default)]
struct Log {
    fast_again: bool,
    started: Vec<String>,
    done: Vec<String>,
}

impl Disk {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The outbox folder `dir` on a slow disk: each queue-file write there takes `by` longer, until
/// this is dropped (then writes under way end at once, and later ones are not slowed).
pub(crate) struct Slowed {
    dir: PathBuf,
    disk: Arc<Disk>,
}

pub(crate) fn slow(dir: &Path, by: Duration) -> Slowed {
    let disk = Arc::new(Disk {
        by,
        log: Mutex::default(),
        fast_again: Condvar::new(),
    });
    slowed().insert(dir.to_path_buf(), disk.clone());
    Slowed {
        dir: dir.to_path_buf(),
        disk,
    }
}

impl Slowed {
    /// The reports whose write has begun, in order.
    pub(crate) fn started(&self) -> Vec<String> {
        self.disk.log().started.clone()
    }

    /// The reports whose write has ended, in order.
    pub(crate) fn done(&self) -> Vec<String> {
        self.disk.log().done.clone()
    }
}

impl Drop for Slowed {
    fn drop(&mut self) {
        slowed().remove(&self.dir);
        self.disk.log().fast_again = true;
        self.disk.fast_again.notify_all();
    }
}

/// A write of report `id`'s queue file in `dir`: blocks here while the disk is slow; the write
/// is recorded as done when the returned value is dropped (after the write itself).
pub(super) fn writing(dir: &Path, id: &str) -> Writing {
    let Some(disk) = slowed().get(dir).cloned() else {
        return Writing(None);
    };
    let mut log = disk.log();
    log.started.push(id.to_string());
    let (log, _) = disk
        .fast_again
        .wait_timeout_while(log, disk.by, |l| !l.fast_again)
        .unwrap_or_else(|e| e.into_inner());
    drop(log);
    Writing(Some((disk, id.to_string())))
}

pub(super) struct Writing(Option<(Arc<Disk>, String)>);

impl Drop for Writing {
    fn drop(&mut self) {
        if let Some((disk, id)) = self.0.take() {
            disk.log().done.push(id);
        }
    }
}
