//! `Processes`: the daemon's seam to the process table. Who listens on a port, and taking hold
//! of one of those processes to end it, go through this trait, so the healing ladder's kills (a
//! stray on the port, one that ignores SIGTERM, one it must never touch, a PID reused between
//! finding and killing) are unit-tested against a fake table without root. `ProcTable` is the
//! real one: /proc, and pidfds, so a signal can only ever reach the process that was checked.

use super::port::{self, Listener};
use super::readings::Readings;
use super::sockets::Bound;
use super::usage::{Usage, Wanted};
use futures_util::future::BoxFuture;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::process::{Pid, PidfdFlags, Signal};
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub trait Processes: Send + Sync {
    /// The processes holding a listening socket on `port`.
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>>;

    /// Whether a process of the cgroup `control_group` (a unit's) holds a socket listening on
    /// `port`: the healthy service's check, which a real table answers without walking every
    /// process. False sends the caller to `listeners`.
    fn unit_listens<'a>(&'a self, port: u16, control_group: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            self.listeners(port)
                .await
                .iter()
                .any(|l| l.in_cgroup(control_group))
        })
    }

    /// Takes hold of the process running as `pid` now. From then on the handle reaches that
    /// process or nothing: never a later one given the same PID. `ESRCH` if there is none.
    fn hold(&self, pid: i32) -> io::Result<Box<dyn Held>>;

    /// What the unit in cgroup `control_group` uses now: the figures `wanted` names.
    fn usage<'a>(&'a self, control_group: &'a str, wanted: Wanted) -> BoxFuture<'a, Usage>;
}

/// One process, held so that it cannot be mistaken for another.
pub trait Held: Send + Sync {
    /// What the held process is now; `ESRCH` once it has exited.
    fn identity(&self) -> io::Result<Identity>;

    /// Sends `signal` to the held process only.
    fn signal(&self, signal: Signal) -> io::Result<()>;

    /// Waits, at most `timeout`, for the process to exit; true once it has.
    fn exited(&self, timeout: Duration) -> BoxFuture<'_, bool>;
}

/// What tells one process from a later one with the same PID: its start time (clock ticks
/// after boot, /proc/PID/stat field 22), with its command and cgroup as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub start_time: u64,
    pub comm: String,
    pub cgroup: String,
}

/// True while `pid` exists and has not exited (a zombie has exited: only its entry is left).
pub fn alive(pid: u32) -> bool {
    pid > 0
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()))
            .is_some_and(|state| state != 'Z')
}

pub fn no_such_process() -> io::Error {
    io::Error::from_raw_os_error(rustix::io::Errno::SRCH.raw_os_error())
}

/// This host's process table.
#[derive(Debug, Clone, Default)]
pub struct ProcTable {
    /// Per port, where its unit's listening socket was found last time (`port::unit_listens`).
    hints: Arc<Mutex<HashMap<u16, port::Hint>>>,
    /// Per unit cgroup path, its id when last read: what the kernel's answer about a socket is
    /// compared with. Read again (off the runtime thread) whenever the answer does not settle.
    cgroup_ids: Arc<Mutex<HashMap<String, u64>>>,
    /// Per port, where its unit's listening socket was bound last time (`port::settled_by_kernel`).
    bound: Arc<Mutex<HashMap<u16, Bound>>>,
    /// The resource readings asked for: the looks due in the same slot share one blocking task.
    readings: Readings,
}

/// More cgroup paths than any host watches: past it the remembered ids start afresh.
const CGROUP_IDS_MAX: usize = 4096;

impl Processes for ProcTable {
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>> {
        // The walk reads /proc: blocking work, kept off the runtime's thread.
        Box::pin(async move {
            tokio::task::spawn_blocking(move || port::listeners(port))
                .await
                .unwrap_or_default()
        })
    }

    fn unit_listens<'a>(&'a self, port: u16, control_group: &'a str) -> BoxFuture<'a, bool> {
        // The kernel's answer, compared with the cgroup id remembered: at rest, all of the check.
        let known = lock(&self.cgroup_ids).get(control_group).copied();
        let mut at = lock(&self.bound).get(&port).copied();
        let settled = port::settled_by_kernel(port, known, &mut at);
        remember(&self.bound, port, at);
        if let Some(answer) = settled {
            return Box::pin(std::future::ready(answer));
        }
        let (hints, ids, bound) = (
            self.hints.clone(),
            self.cgroup_ids.clone(),
            self.bound.clone(),
        );
        let cgroup = control_group.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // The unit may have been restarted into a new cgroup since its id was read.
                let id = port::cgroup_id(&cgroup);
                {
                    let mut ids = lock(&ids);
                    if ids.len() >= CGROUP_IDS_MAX {
                        ids.clear();
                    }
                    match id {
                        Some(id) => ids.insert(cgroup.clone(), id),
                        None => ids.remove(&cgroup),
                    };
                }
                // Asked again only with a new id: with the same one it has just not settled.
                if id != known {
                    let mut at = None;
                    let settled = port::settled_by_kernel(port, id, &mut at);
                    remember(&bound, port, at);
                    if settled == Some(true) {
                        return true;
                    }
                }
                let mut hints = lock(&hints);
                let mut hint = hints.remove(&port);
                let holds = port::unit_listens(port, &cgroup, &mut hint);
                if let Some(h) = hint {
                    hints.insert(port, h);
                }
                holds
            })
            .await
            .unwrap_or(false)
        })
    }

    fn usage<'a>(&'a self, control_group: &'a str, wanted: Wanted) -> BoxFuture<'a, Usage> {
        // A few small files of the unit's cgroup (and its fd tables when asked): blocking.
        Box::pin(self.readings.read(control_group, wanted))
    }

    fn hold(&self, pid: i32) -> io::Result<Box<dyn Held>> {
        // A zero or negative PID would address a process group or every process: refuse it.
        let p = (pid > 0)
            .then(|| Pid::from_raw(pid))
            .flatten()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid PID"))?;
        let fd = rustix::process::pidfd_open(p, PidfdFlags::empty())?;
        Ok(Box::new(Pidfd { pid, fd }))
    }
}

fn remember(bound: &Mutex<HashMap<u16, Bound>>, port: u16, at: Option<Bound>) {
    let mut bound = lock(bound);
    match at {
        Some(b) => bound.insert(port, b),
        None => bound.remove(&port),
    };
}

/// The guarded value, even after a panic elsewhere poisoned the lock (every holder leaves it
/// whole).
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Pidfd {
    pid: i32,
    fd: OwnedFd,
}

impl Pidfd {
    /// True while the pidfd's process still owns its PID (not yet reaped): then /proc/PID is
    /// that process. The kernel shows `Pid: -1` in the pidfd's fdinfo once it is gone.
    fn owns_pid(&self) -> io::Result<bool> {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.fd.as_raw_fd()))?;
        let pid = info
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|v| v.trim().parse::<i32>().ok());
        Ok(pid == Some(self.pid))
    }
}

impl Held for Pidfd {
    fn identity(&self) -> io::Result<Identity> {
        let id = port::identity(self.pid).ok_or_else(no_such_process)?;
        // Read after opening the pidfd, /proc/PID could only be a newer process if ours had
        // already been reaped: checked after the read, so the identity is ours.
        if self.owns_pid()? {
            Ok(id)
        } else {
            Err(no_such_process())
        }
    }

    fn signal(&self, signal: Signal) -> io::Result<()> {
        rustix::process::pidfd_send_signal(&self.fd, signal).map_err(io::Error::from)
    }

    fn exited(&self, timeout: Duration) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            // A pidfd becomes readable when its process exits: wait on the runtime's reactor,
            // never by sleeping on its thread.
            let Ok(fd) = self.fd.try_clone() else {
                return false;
            };
            let readable = tokio::io::Interest::READABLE;
            // SAFETY: the AsyncFd owns the duplicated pidfd, so it stays open and names the
            // same process for as long as it is registered.
            let Ok(fd) =
                (unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, readable) })
            else {
                return false;
            };
            matches!(
                tokio::time::timeout(timeout, fd.readable()).await,
                Ok(Ok(_))
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_pid_is_refused_without_reaching_a_process_group() {
        for pid in [0, -1] {
            let e = ProcTable::default().hold(pid).err().expect("refused");
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "PID {pid}");
        }
    }

    #[test]
    fn a_pid_past_the_maximum_cannot_be_held() {
        let e = ProcTable::default()
            .hold(i32::MAX)
            .err()
            .expect("no such process");
        assert_eq!(e.raw_os_error(), no_such_process().raw_os_error());
    }

    #[tokio::test]
    async fn a_held_child_is_identified_signalled_and_seen_to_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep(1)");
        let pid = child.id() as i32;
        let seen = port::identity(pid).expect("the child in /proc");
        let held = ProcTable::default().hold(pid).expect("a pidfd");
        assert_eq!(held.identity().unwrap(), seen);
        assert_eq!(seen.comm, "sleep");
        assert!(
            !held.exited(Duration::from_millis(50)).await,
            "still running"
        );
        held.signal(Signal::TERM).unwrap();
        assert!(
            held.exited(Duration::from_secs(5)).await,
            "ended by SIGTERM"
        );
        child.wait().unwrap();
        // Reaped: the handle reaches nothing, whatever now runs as that PID.
        assert!(held.identity().is_err());
        assert!(held.signal(Signal::KILL).is_err());
    }
}
