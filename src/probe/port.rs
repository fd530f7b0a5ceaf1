//! Who listens on a TCP port: the sockets in LISTEN state from /proc/net/tcp{,6}, mapped to the
//! processes holding them through /proc/PID/fd, with each process's command line, user, cgroup
//! and start time, so healing can tell the unit's own listener from a stray process.

use super::procs::Identity;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub pid: i32,
    pub comm: String,
    pub cmdline: String,
    pub uid: u32,
    pub user: String,
    /// The process's cgroup v2 path, e.g. /system.slice/example.service.
    pub cgroup: String,
    /// When it started (clock ticks after boot): with the PID, names this very process, so a
    /// later one given the same PID is told apart at kill time.
    #[serde(default)]
    pub start_time: u64,
}

impl Listener {
    /// A one-line description for reports: `PID 812 (python3 -m http.server 8080, user root)`.
    pub fn describe(&self) -> String {
        let cmd = if self.cmdline.is_empty() {
            &self.comm
        } else {
            &self.cmdline
        };
        format!("PID {} ({cmd}, user {})", self.pid, self.user)
    }

    /// True when the process belongs to the given unit's control group (or one below it).
    pub fn in_cgroup(&self, control_group: &str) -> bool {
        !control_group.is_empty()
            && (self.cgroup == control_group
                || self.cgroup.starts_with(&format!("{control_group}/")))
    }
}

/// Socket inodes listening on `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in [procfs::net::tcp(), procfs::net::tcp6()]
        .into_iter()
        .flatten()
    {
        for e in table {
            if e.state == procfs::net::TcpState::Listen && e.local_address.port() == port {
                inodes.insert(e.inode);
            }
        }
    }
    inodes
}

/// True when something listens on `port` on this host.
#[cfg(test)]
fn is_listening(port: u16) -> bool {
    !listening_inodes(port).is_empty()
}

/// The processes holding a listening socket on `port`.
pub fn listeners(port: u16) -> Vec<Listener> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let Ok(procs) = procfs::process::all_processes() else {
        return out;
    };
    for p in procs.flatten() {
        let Ok(fds) = p.fd() else { continue };
        let holds = fds.flatten().any(
            |fd| matches!(fd.target, procfs::process::FDTarget::Socket(i) if inodes.contains(&i)),
        );
        if !holds {
            continue;
        }
        let Some(id) = identity_of(&p) else { continue };
        let cmdline = p.cmdline().map(|c| c.join(" ")).unwrap_or_default();
        let uid = p.uid().unwrap_or(u32::MAX);
        out.push(Listener {
            pid: p.pid,
            comm: id.comm,
            cmdline,
            uid,
            user: user_name(uid),
            cgroup: id.cgroup,
            start_time: id.start_time,
        });
    }
    out
}

/// What the process running as `pid` is now: start time, command, cgroup. None once it is gone.
pub fn identity(pid: i32) -> Option<Identity> {
    identity_of(&procfs::process::Process::new(pid).ok()?)
}

fn identity_of(p: &procfs::process::Process) -> Option<Identity> {
    let stat = p.stat().ok()?;
    let cgroup = p
        .cgroups()
        .ok()
        .and_then(|cgs| {
            cgs.into_iter()
                .find(|c| c.hierarchy == 0)
                .map(|c| c.pathname)
        })
        .unwrap_or_default();
    Some(Identity {
        start_time: stat.starttime,
        comm: stat.comm,
        cgroup,
    })
}

fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_on_this_machine_is_found_with_its_process() {
        let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        assert!(is_listening(port));
        let found = listeners(port);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pid, std::process::id() as i32);
        let me = identity(found[0].pid).unwrap();
        assert_eq!(found[0].start_time, me.start_time);
        assert!(me.start_time > 0);
        drop(sock);
        assert!(!is_listening(port));
    }

    #[test]
    fn cgroup_membership_is_by_path_prefix() {
        let l = Listener {
            pid: 1,
            comm: "x".into(),
            cmdline: String::new(),
            uid: 0,
            user: "root".into(),
            cgroup: "/system.slice/example.service".into(),
            start_time: 0,
        };
        assert!(l.in_cgroup("/system.slice/example.service"));
        assert!(!l.in_cgroup("/system.slice/example.service2"));
        assert!(!l.in_cgroup(""));
        assert_eq!(l.describe(), "PID 1 (x, user root)");
    }
}
