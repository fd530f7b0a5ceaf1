//! The fake host's process table: processes that are alive (each with a start time, command
//! and cgroup, so a PID taken by a new process is a different process), the ones listening on
//! each port, the ones that ignore SIGTERM, and every signal sent, so a test asserts exactly
//! which PID got which signal (and that PID 1, sshd or a reused PID got none).

use super::host::{FakeHost, World};
use crate::probe::port::Listener;
use crate::probe::procs::{Held, Identity, Processes, no_such_process};
use crate::probe::usage::{Lacking, Usage, Wanted};
use futures_util::future::BoxFuture;
use rustix::process::Signal;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a unit's cgroup uses right after it starts: 8 MiB, no CPU time yet, one task, 4 open
/// files.
pub const FRESH: Usage = Usage {
    memory: Some(8 << 20),
    cpu_usec: Some(0),
    tasks: Some(1),
    fds: Some(4),
    summed: false,
    lacking: Lacking::NONE,
};

#[derive(Default)]
pub(super) struct Procs {
    /// The running processes, by PID.
    alive: BTreeMap<i32, Identity>,
    /// The start time the next new process gets.
    clock: u64,
    listeners: BTreeMap<u16, Vec<Listener>>,
    stubborn: BTreeSet<i32>,
    signals: Vec<(i32, &'static str)>,
    last_pid: i32,
    /// PIDs that, right after the next look at the listeners, exit and are taken by a new
    /// process (command, cgroup): the race a kill by raw PID loses.
    reused_after_lookup: Vec<(i32, String, String)>,
    /// Processes that, right after the next look at the listeners, are in another cgroup.
    moved_after_lookup: Vec<(i32, String)>,
    /// What each cgroup uses, as its look reads it.
    usage: BTreeMap<String, Usage>,
    /// Per cgroup, the files each reading was told the cgroup lacks, in order.
    told_lacking: BTreeMap<String, Vec<Lacking>>,
}

impl Procs {
    /// A new process, with a PID no test chose (they pick theirs below 1000).
    pub(super) fn spawn(&mut self) -> i32 {
        self.last_pid = self.last_pid.max(1000) + 1;
        self.start(self.last_pid, "", "");
        self.last_pid
    }

    /// A new process as `pid`, whatever ran as `pid` before.
    fn start(&mut self, pid: i32, comm: &str, cgroup: &str) {
        self.clock += 100;
        let id = Identity {
            start_time: self.clock,
            comm: comm.into(),
            cgroup: cgroup.into(),
        };
        self.alive.insert(pid, id);
    }

    /// The process as `pid` now, if it is the one that started at `start_time`.
    fn same(&self, pid: i32, start_time: u64) -> Option<&Identity> {
        self.alive
            .get(&pid)
            .filter(|id| id.start_time == start_time)
    }

    /// The cgroup's unit started again: it uses what a new process does (`FRESH`).
    pub(super) fn fresh(&mut self, cgroup: &str) {
        self.usage.insert(cgroup.to_string(), FRESH);
    }

    pub(super) fn exit(&mut self, pid: i32) {
        self.alive.remove(&pid);
        for holders in self.listeners.values_mut() {
            holders.retain(|l| l.pid != pid);
        }
    }

    pub(super) fn listen(&mut self, port: u16, pid: i32, comm: &str, cgroup: &str) {
        if !self.alive.contains_key(&pid) {
            self.start(pid, comm, cgroup);
        }
        let id = self.alive.get_mut(&pid).expect("started above");
        (id.comm, id.cgroup) = (comm.into(), cgroup.into());
        let start_time = id.start_time;
        self.listeners.entry(port).or_default().push(Listener {
            pid,
            comm: comm.into(),
            cmdline: String::new(),
            uid: 0,
            user: "root".into(),
            cgroup: cgroup.into(),
            start_time,
        });
    }
}

fn name(signal: Signal) -> &'static str {
    if signal == Signal::TERM {
        "SIGTERM"
    } else if signal == Signal::KILL {
        "SIGKILL"
    } else {
        "another signal"
    }
}

impl FakeHost {
    /// A process outside any unit listening on `port`, e.g. `listen(8080, 4242, "python3",
    /// "/user.slice/user-0.slice/session-1.scope")`.
    pub fn listen(&self, port: u16, pid: i32, comm: &str, cgroup: &str) {
        self.world().procs.listen(port, pid, comm, cgroup);
    }

    /// The process survives SIGTERM (only SIGKILL ends it).
    pub fn ignores_sigterm(&self, pid: i32) {
        self.world().procs.stubborn.insert(pid);
    }

    /// Right after the next look at who listens, `pid` exits (freeing its port) and a new
    /// process with the same PID starts: `comm`, in `cgroup`, listening nowhere.
    pub fn pid_reused_after_lookup(&self, pid: i32, comm: &str, cgroup: &str) {
        let reuse = (pid, comm.to_string(), cgroup.to_string());
        self.world().procs.reused_after_lookup.push(reuse);
    }

    /// Right after the next look at who listens, `pid` is in `cgroup` (the same process).
    pub fn moved_after_lookup(&self, pid: i32, cgroup: &str) {
        let moved = (pid, cgroup.to_string());
        self.world().procs.moved_after_lookup.push(moved);
    }

    /// From now on the unit's cgroup uses `usage` (until its next start, which begins afresh).
    pub fn uses(&self, unit: &str, usage: Usage) {
        self.world()
            .procs
            .usage
            .insert(super::host::cgroup(unit), usage);
    }

    /// What each reading of the unit's cgroup was told it lacks, in order.
    pub fn told_lacking(&self, unit: &str) -> Vec<Lacking> {
        let cgroup = super::host::cgroup(unit);
        let w = self.world();
        w.procs
            .told_lacking
            .get(&cgroup)
            .cloned()
            .unwrap_or_default()
    }

    /// Every signal sent, in order: `[(4242, "SIGTERM")]`.
    pub fn signals(&self) -> Vec<(i32, &'static str)> {
        self.world().procs.signals.clone()
    }
}

impl Processes for FakeHost {
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>> {
        let mut w = self.world();
        let p = &mut w.procs;
        let found = p.listeners.get(&port).cloned().unwrap_or_default();
        for (pid, comm, cgroup) in std::mem::take(&mut p.reused_after_lookup) {
            p.exit(pid);
            p.start(pid, &comm, &cgroup);
        }
        for (pid, cgroup) in std::mem::take(&mut p.moved_after_lookup) {
            if let Some(id) = p.alive.get_mut(&pid) {
                id.cgroup = cgroup;
            }
        }
        Box::pin(async move { found })
    }

    fn usage<'a>(&'a self, control_group: &'a str, wanted: Wanted) -> BoxFuture<'a, Usage> {
        let mut w = self.world();
        let told = w.procs.told_lacking.entry(control_group.to_string());
        told.or_default().push(wanted.lacking);
        let found = w.procs.usage.get(control_group).copied();
        Box::pin(async move { found.unwrap_or_default() })
    }

    fn hold(&self, pid: i32) -> io::Result<Box<dyn Held>> {
        let w = self.world();
        let id = w.procs.alive.get(&pid).ok_or_else(no_such_process)?;
        Ok(Box::new(FakeHeld {
            world: self.shared(),
            pid,
            start_time: id.start_time,
        }))
    }
}

/// A process of the fake table held as by a pidfd: it reaches that process (PID and start
/// time) or nothing.
struct FakeHeld {
    world: Arc<Mutex<World>>,
    pid: i32,
    start_time: u64,
}

impl FakeHeld {
    fn with<T>(&self, f: impl FnOnce(&mut Procs) -> T) -> T {
        let mut w = self.world.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut w.procs)
    }
}

impl Held for FakeHeld {
    fn identity(&self) -> io::Result<Identity> {
        self.with(|p| p.same(self.pid, self.start_time).cloned())
            .ok_or_else(no_such_process)
    }

    fn signal(&self, signal: Signal) -> io::Result<()> {
        self.with(|p| {
            p.same(self.pid, self.start_time)
                .ok_or_else(no_such_process)?;
            p.signals.push((self.pid, name(signal)));
            if signal == Signal::KILL || !p.stubborn.contains(&self.pid) {
                p.exit(self.pid);
            }
            Ok(())
        })
    }

    fn exited(&self, timeout: Duration) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            loop {
                if self.with(|p| p.same(self.pid, self.start_time).is_none()) {
                    return true;
                }
                if started.elapsed() >= timeout {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    }
}
