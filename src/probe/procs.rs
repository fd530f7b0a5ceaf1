//! `Processes`: the daemon's seam to the process table. Who listens on a port, whether a PID
//! is still alive, and sending it a signal go through this trait, so the healing ladder's
//! kills (a stray on the port, one that ignores SIGTERM, one it must never touch) are
//! unit-tested against a fake table without root. `ProcTable` is the real one: /proc and kill(2).

use super::port::{self, Listener};
use futures_util::future::BoxFuture;
use rustix::process::Signal;
use std::io;

pub trait Processes: Send + Sync {
    /// The processes holding a listening socket on `port`.
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>>;

    /// True while the process exists and is not a zombie.
    fn alive(&self, pid: i32) -> bool;

    /// Sends `signal` to one process (never a process group).
    fn signal(&self, pid: i32, signal: Signal) -> io::Result<()>;
}

/// This host's process table.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcTable;

impl Processes for ProcTable {
    fn listeners(&self, port: u16) -> BoxFuture<'_, Vec<Listener>> {
        Box::pin(async move { port::listeners(port) })
    }

    fn alive(&self, pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next()) != Some('Z'),
            Err(_) => false,
        }
    }

    fn signal(&self, pid: i32, signal: Signal) -> io::Result<()> {
        // A zero or negative PID would address a process group: refuse it.
        let p = (pid > 0)
            .then(|| rustix::process::Pid::from_raw(pid))
            .flatten()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid PID"))?;
        rustix::process::kill_process(p, signal).map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_pid_past_the_maximum_is_not() {
        assert!(ProcTable.alive(std::process::id() as i32));
        assert!(!ProcTable.alive(i32::MAX));
    }

    #[test]
    fn a_signal_to_an_invalid_pid_is_refused_without_reaching_a_process_group() {
        for pid in [0, -1] {
            let e = ProcTable.signal(pid, Signal::TERM).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "PID {pid}");
        }
    }
}
