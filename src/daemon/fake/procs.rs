//! The fake host's process table: processes that are alive, the ones listening on each port
//! with their command and cgroup, the ones that ignore SIGTERM, and every signal sent, so a
//! test asserts exactly which PID got which signal (and that PID 1 or sshd got none).

use super::host::FakeHost;
use crate::probe::port::Listener;
use crate::probe::procs::Processes;
use futures_util::future::BoxFuture;
use rustix::process::Signal;
use std::collections::{BTreeMap, BTreeSet};
use std::io;

#[derive(Default)]
pub(super) struct Procs {
    alive: BTreeSet<i32>,
    listeners: BTreeMap<u16, Vec<Listener>>,
    stubborn: BTreeSet<i32>,
    signals: Vec<(i32, &'static str)>,
    last_pid: i32,
}

impl Procs {
    /// A new process, with a PID no test chose (they pick theirs below 1000).
    pub(super) fn spawn(&mut self) -> i32 {
        self.last_pid = self.last_pid.max(1000) + 1;
        self.alive.insert(self.last_pid);
        self.last_pid
    }

    pub(super) fn exit(&mut self, pid: i32) {
        self.alive.remove(&pid);
        for holders in self.listeners.values_mut() {
            holders.retain(|l| l.pid != pid);
        }
    }

    pub(super) fn listen(&mut self, port: u16, pid: i32, comm: &str, cgroup: &str) {
        self.alive.insert(pid);
        self.listeners.entry(port).or_default().push(Listener {
            pid,
            comm: comm.into(),
            cmdline: String::new(),
            uid: 0,
            user: "root".into(),
            cgroup: cgroup.into(),
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

    /// Every signal sent, in order: `[(4242, "SIGTERM")]`.
    pub fn signals(&self) -> Vec<(i32, &'static str)> {
        self.world().procs.signals.clone()
    }
}

impl Processes for FakeHost {
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>> {
        let found = self
            .world()
            .procs
            .listeners
            .get(&port)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { found })
    }

    fn alive(&self, pid: i32) -> bool {
        self.world().procs.alive.contains(&pid)
    }

    fn signal(&self, pid: i32, signal: Signal) -> io::Result<()> {
        let mut w = self.world();
        let p = &mut w.procs;
        if !p.alive.contains(&pid) {
            return Err(io::Error::from_raw_os_error(3)); // ESRCH, as kill(2) says
        }
        p.signals.push((pid, name(signal)));
        if signal == Signal::KILL || !p.stubborn.contains(&pid) {
            p.exit(pid);
        }
        Ok(())
    }
}
