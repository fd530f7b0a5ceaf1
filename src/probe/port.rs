//! Who listens on a TCP port: the sockets in LISTEN state (asked of the kernel, `sockets`),
//! mapped to the processes holding them through /proc/PID/fd, with each process's command line,
//! user, cgroup and start time, so healing can tell the unit's own listener from a stray.
//!
//! A healthy service is checked the cheap way. First the kernel's answer alone
//! (`settled_by_kernel`): a socket listening on the port that was made in the unit's own cgroup
//! settles it with one netlink query and no file read. Where that cannot settle it (a socket
//! handed over by systemd's socket activation, made in a cgroup below the unit's, a unit
//! restarted since its cgroup was last seen), only the processes of the unit's own cgroup are
//! searched for the socket (`unit_listens`), starting with the descriptor that held it last time,
//! so the cost does not grow with the processes on the host. The whole process table is walked
//! (`listeners`) only when the unit does not hold its port.

use super::procs::Identity;
use serde::{Deserialize, Serialize};

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
        within(&self.cgroup, control_group)
    }
}

/// `cgroup` is the control group `control_group` or one below it (never when the latter is
/// empty: a unit that has no cgroup owns nothing). The one test of membership by path.
pub fn within(cgroup: &str, control_group: &str) -> bool {
    !control_group.is_empty()
        && cgroup
            .strip_prefix(control_group)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

use super::sockets::{Bound, asked_of_the_kernel, listener_at, listening_inodes};

/// The id of a cgroup (v2) as the kernel names it in socket answers: the inode number of its
/// folder under /sys/fs/cgroup. None when it cannot be read (the unit has no cgroup now).
pub fn cgroup_id(control_group: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    if control_group.is_empty() {
        return None;
    }
    std::fs::metadata(format!("/sys/fs/cgroup{control_group}"))
        .ok()
        .map(|m| m.ino())
}

/// What the kernel's answer about `port` settles on its own: `Some(true)` when a socket
/// listening on it was made in the unit's cgroup (`unit_cgroup`, its id), `Some(false)` when
/// nothing listens on it, None when only the processes holding the sockets can tell. `at` is
/// where the unit's socket was bound last time: that one socket is asked for first (one lookup
/// in the kernel), and every listener on the port only when it is no longer the unit's. It
/// reads no file and waits on nothing, so it runs where the look runs.
pub fn settled_by_kernel(
    port: u16,
    unit_cgroup: Option<u64>,
    at: &mut Option<Bound>,
) -> Option<bool> {
    if let (Some(unit), Some(bound)) = (unit_cgroup, *at)
        && let Ok(Some(socket)) = listener_at(port, bound)
        && socket.cgroup_id == Some(unit)
    {
        return Some(true);
    }
    *at = None;
    let sockets = asked_of_the_kernel(port).ok()?;
    if sockets.is_empty() {
        return Some(false);
    }
    let unit = unit_cgroup?;
    let mine = sockets.iter().find(|s| s.cgroup_id == Some(unit))?;
    *at = Some(mine.bound);
    Some(true)
}

/// Where a unit's listening socket was found last time: its process and descriptor.
pub type Hint = (i32, String);

/// Whether a process of the unit's cgroup (`control_group`, e.g. /system.slice/x.service, or
/// one below it) holds a socket listening on `port`. `hint` is where it was found last time,
/// tried first and updated. False also when the cgroup cannot be read: the caller then walks
/// the whole process table.
pub fn unit_listens(port: u16, control_group: &str, hint: &mut Option<Hint>) -> bool {
    let inodes = listening_inodes(port);
    if inodes.is_empty() || control_group.is_empty() {
        return false;
    }
    let holds = |pid: i32, fd: &str| {
        std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .ok()
            .and_then(|t| socket_inode(&t.to_string_lossy()))
            .is_some_and(|i| inodes.contains(&i))
    };
    if let Some((pid, fd)) = hint.as_ref()
        && holds(*pid, fd)
        && in_unit(*pid, control_group)
    {
        return true;
    }
    *hint = None;
    for pid in cgroup_pids(control_group) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let fd = fd.file_name().to_string_lossy().into_owned();
            if holds(pid, &fd) {
                *hint = Some((pid, fd));
                return true;
            }
        }
    }
    false
}

/// `socket:[12345]` -> 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The processes of a cgroup and of the cgroups below it (cgroup v2).
pub(crate) fn cgroup_pids(control_group: &str) -> Vec<i32> {
    cgroup_processes(control_group, false).0
}

/// The processes of a cgroup and of the cgroups below it, and whether it had none below it
/// (`nr_descendants 0`). `leaf`: it had none at an earlier reading, so cgroup.stat is not read
/// unless its own cgroup.procs is empty (its processes may have moved to a cgroup made below).
pub(crate) fn cgroup_processes(control_group: &str, leaf: bool) -> (Vec<i32>, bool) {
    let top = std::path::PathBuf::from(format!("/sys/fs/cgroup{control_group}"));
    let mut pids = Vec::new();
    let mut dirs = vec![top.clone()];
    let mut is_leaf = true;
    while let Some(dir) = dirs.pop() {
        if let Some(procs) = super::kernfs::read(dir.join("cgroup.procs")) {
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if leaf && dir == top && !pids.is_empty() {
            continue;
        }
        // Most units have no cgroups below their own (only `Delegate=` ones do): one small
        // file says so, where listing the folder reads its thirty-odd control files.
        if !has_descendants(&dir) {
            continue;
        }
        is_leaf = false;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            dirs.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    (pids, is_leaf)
}

/// Whether cgroup.stat counts cgroups below `dir` (true when it cannot be read: then look).
fn has_descendants(dir: &std::path::Path) -> bool {
    super::kernfs::read(dir.join("cgroup.stat")).is_none_or(|stat| {
        stat.lines()
            .find_map(|l| l.strip_prefix("nr_descendants "))
            .is_none_or(|n| n.trim() != "0")
    })
}

/// The process is (still) in the unit's cgroup: a remembered PID may have been reused.
fn in_unit(pid: i32, control_group: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .is_some_and(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("0::"))
                .is_some_and(|cg| within(cg, control_group))
        })
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

/// The user's name as the system's name service knows it (NSS: /etc/passwd, and systemd's own
/// for `DynamicUser=` services), else the bare uid.
fn user_name(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .map(|u| u.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cgroup_whose_stat_counts_descendants_or_cannot_be_read_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(has_descendants(dir.path()), "no cgroup.stat: look");
        let stat = dir.path().join("cgroup.stat");
        std::fs::write(&stat, "nr_descendants 0\nnr_dying_descendants 3\n").unwrap();
        assert!(!has_descendants(dir.path()));
        std::fs::write(&stat, "nr_descendants 2\nnr_dying_descendants 0\n").unwrap();
        assert!(has_descendants(dir.path()));
    }

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
    fn a_socket_made_in_the_units_cgroup_settles_it_and_any_other_is_left_to_the_processes() {
        let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let cgroup = mine.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
        let id = cgroup_id(cgroup);
        assert!(id.is_some(), "{cgroup}");
        let mut at = None;
        assert_eq!(settled_by_kernel(port, id, &mut at), Some(true));
        let bound = at.expect("where the socket is bound, remembered");
        // Asked again: the one socket at that address answers, the same.
        assert_eq!(
            listener_at(port, bound).unwrap().map(|s| s.cgroup_id),
            Some(id)
        );
        assert_eq!(settled_by_kernel(port, id, &mut at), Some(true));
        assert_eq!(at, Some(bound));
        // Another cgroup (the root's), or one not known: the processes must tell.
        if cgroup != "/" {
            assert_eq!(settled_by_kernel(port, cgroup_id("/"), &mut at), None);
            assert_eq!(at, None, "forgotten: not the unit's");
        }
        assert_eq!(settled_by_kernel(port, None, &mut None), None);
        drop(sock);
        // A process another test forks at this moment holds a copy of the socket until its
        // exec closes it: wait for the last copy to close.
        let gone = (0..250).any(|_| {
            let gone = listener_at(port, bound).unwrap().is_none();
            if !gone {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            gone
        });
        assert!(gone, "the socket is gone once closed");
        assert_eq!(settled_by_kernel(port, id, &mut Some(bound)), Some(false));
        assert_eq!(cgroup_id(""), None);
        assert_eq!(cgroup_id("/no/such.service"), None);
    }

    #[test]
    fn a_uid_is_named_by_the_name_service_and_an_unknown_one_stays_a_number() {
        assert_eq!(user_name(0), "root");
        // uid 4294967294 is "nobody" on some systems; this one is reserved and never a user.
        assert_eq!(user_name(4_294_967_293), "4294967293");
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
        assert!(within(
            "/system.slice/example.service",
            "/system.slice/example.service"
        ));
        assert!(!within("/system.slice", ""));
        assert_eq!(l.describe(), "PID 1 (x, user root)");
    }
}
