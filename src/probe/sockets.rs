//! Which sockets listen on a TCP port, asked of the kernel with sock_diag (NETLINK_SOCK_DIAG):
//! the kernel itself filters by state (LISTEN) and port, so the answer is one or two sockets
//! however many connections and listeners the host has. /proc/net/tcp{,6}, which lists every
//! socket of the host as text, is the fallback where netlink is refused.
//!
//! The kernel also says which cgroup each socket was made in (`INET_DIAG_CGROUP_ID`, Linux 5.7
//! and later): a healthy service's check compares it with the unit's own cgroup and is done,
//! without reading a single file of /proc (`port::unit_listens`).

use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};
use std::cell::RefCell;
use std::collections::HashSet;
use std::io;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IPPROTO_TCP: u8 = 6;
const TCP_LISTEN: u32 = 10;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
/// struct nlmsghdr, inet_diag_req_v2 and the offset of idiag_inode in inet_diag_msg.
const NLMSG_HDR: usize = 16;
const REQ_V2: usize = 56;
const MSG_SPORT: usize = 4;
const MSG_SRC: usize = 8;
const MSG_INODE: usize = 68;
/// The size of struct inet_diag_msg: the attributes follow it.
const MSG_LEN: usize = 72;
const INET_DIAG_CGROUP_ID: u16 = 21;

/// A socket listening on the port: its inode, where it is bound and, where the kernel says, the
/// id of the cgroup it was made in (the inode number of that cgroup's folder under
/// /sys/fs/cgroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    pub inode: u64,
    pub cgroup_id: Option<u64>,
    pub bound: Bound,
}

/// Where a listening socket is bound: its family and local address, enough to ask the kernel
/// for that one socket next time (`listener_at`) instead of every listener of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    family: u8,
    addr: [u8; 16],
}

/// The inodes of the sockets listening on `port` (IPv4 and IPv6).
pub fn listening_inodes(port: u16) -> HashSet<u64> {
    match asked_of_the_kernel(port) {
        Ok(sockets) => sockets.iter().map(|s| s.inode).collect(),
        Err(_) => from_proc_net(port),
    }
}

/// The sockets listening on `port`, with their cgroups, as the kernel answers: a few system
/// calls that wait on nothing (no disk, no other process). An error where netlink is refused.
pub fn asked_of_the_kernel(port: u16) -> io::Result<Vec<Socket>> {
    with_diag(|d| {
        let mut sockets = d.ask(AddressFamily::INET, port, None)?;
        sockets.extend(d.ask(AddressFamily::INET6, port, None)?);
        Ok(sockets)
    })
}

/// The socket that would take a connection to `port` at the address `bound` names (the
/// kernel's own lookup: one socket, however many the host has), if it listens.
pub fn listener_at(port: u16, bound: Bound) -> io::Result<Option<Socket>> {
    let family = AddressFamily::from_raw(bound.family as _);
    with_diag(|d| Ok(d.ask(family, port, Some(bound))?.into_iter().next()))
}

/// One netlink socket per thread, kept: a question is then one send and one or two receives.
/// The receive buffer is on the stack of the call: kept here, it would hold 16 KiB of heap for
/// each thread that ever asked, long after the question.
struct Diag {
    fd: OwnedFd,
    seq: u32,
}

/// Room for one netlink datagram of a dump (the kernel fills at most this much per receive).
const RECV_BUF: usize = 16 * 1024;

thread_local! {
    static DIAG: RefCell<Option<Diag>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's netlink socket, opened on first use; a socket that failed is
/// closed, never asked again (what it may still hold would answer a later question).
fn with_diag<T>(f: impl FnOnce(&mut Diag) -> io::Result<T>) -> io::Result<T> {
    DIAG.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(Diag::open()?),
        };
        let r = f(d);
        if r.is_err() {
            *slot = None;
        }
        r
    })
}

impl Diag {
    fn open() -> io::Result<Diag> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            rustix::net::SocketFlags::CLOEXEC,
            Some(netlink::SOCK_DIAG),
        )?;
        // The kernel answers as it is asked, so a receive never waits; should one ever, it
        // gives up within a second rather than hold the thread.
        rustix::net::sockopt::set_socket_timeout(
            &fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(std::time::Duration::from_secs(1)),
        )?;
        Ok(Diag { fd, seq: 0 })
    }

    /// `family`'s TCP sockets listening on `port`: every one (a dump), or the one at `bound`.
    fn ask(
        &mut self,
        family: AddressFamily,
        port: u16,
        bound: Option<Bound>,
    ) -> io::Result<Vec<Socket>> {
        self.seq = self.seq.wrapping_add(1);
        let req = request(self.seq, family.as_raw() as u8, port, bound);
        let kernel = netlink::SocketAddrNetlink::new(0, 0);
        rustix::net::sendto(&self.fd, &req, SendFlags::empty(), &kernel)?;
        let mut sockets = Vec::new();
        let mut room = [0u8; RECV_BUF];
        loop {
            let (_, n) = rustix::net::recv(&self.fd, &mut room[..], RecvFlags::empty())?;
            let buf = &room[..n.min(RECV_BUF)];
            let mut at = 0;
            while at + NLMSG_HDR <= buf.len() {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap());
                let seq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap());
                if len < NLMSG_HDR || at + len > buf.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "short netlink reply",
                    ));
                }
                let body = &buf[at + NLMSG_HDR..at + len];
                at += (len + 3) & !3;
                if seq != self.seq {
                    continue; // the end of an earlier answer
                }
                match kind {
                    NLMSG_DONE => return Ok(sockets),
                    NLMSG_ERROR => {
                        let errno = i32::from_ne_bytes(body[..4].try_into().unwrap_or_default());
                        // Asked for one socket: none is bound there.
                        if bound.is_some() && -errno == rustix::io::Errno::NOENT.raw_os_error() {
                            return Ok(sockets);
                        }
                        return Err(io::Error::from_raw_os_error(-errno));
                    }
                    SOCK_DIAG_BY_FAMILY if body.len() >= MSG_LEN => {
                        if let Some(s) = socket(body, port) {
                            sockets.push(s);
                        }
                        if bound.is_some() {
                            return Ok(sockets); // one answer, no end marker
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// One struct inet_diag_msg and its attributes: the socket, if it listens on `port`.
fn socket(body: &[u8], port: u16) -> Option<Socket> {
    let sport = u16::from_be_bytes([body[MSG_SPORT], body[MSG_SPORT + 1]]);
    if sport != port || body[1] as u32 != TCP_LISTEN {
        return None;
    }
    let inode = u32::from_ne_bytes(body[MSG_INODE..MSG_INODE + 4].try_into().ok()?);
    Some(Socket {
        inode: inode as u64,
        cgroup_id: cgroup_id(body.get(MSG_LEN..).unwrap_or_default()),
        bound: Bound {
            family: body[0],
            addr: body[MSG_SRC..MSG_SRC + 16].try_into().ok()?,
        },
    })
}

/// The `INET_DIAG_CGROUP_ID` attribute among a reply's attributes (struct rtattr: length, type,
/// then the value, each aligned to 4 bytes).
fn cgroup_id(mut attrs: &[u8]) -> Option<u64> {
    while attrs.len() >= 4 {
        let len = u16::from_ne_bytes([attrs[0], attrs[1]]) as usize;
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]);
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == INET_DIAG_CGROUP_ID && len >= 12 {
            return Some(u64::from_ne_bytes(attrs[4..12].try_into().ok()?));
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    None
}

/// A request for `family`'s TCP sockets in LISTEN state whose local port is `port`: a dump of
/// them all (bytecode: sport >= port, then sport <= port; a failed test jumps past the end:
/// rejected), or with `bound`, the kernel's lookup of the one a connection to that address and
/// port would reach.
fn request(seq: u32, family: u8, port: u16, bound: Option<Bound>) -> Vec<u8> {
    let bytecode: [u8; 16] = {
        let mut b = [0u8; 16];
        b[0] = INET_DIAG_BC_S_GE;
        b[1] = 8; // yes: the next test
        b[2..4].copy_from_slice(&20u16.to_ne_bytes()); // no: past the end (16 + 4)
        b[6..8].copy_from_slice(&port.to_ne_bytes());
        b[8] = INET_DIAG_BC_S_LE;
        b[9] = 8; // yes: the end, accepted
        b[10..12].copy_from_slice(&12u16.to_ne_bytes()); // no: past the end (8 + 4)
        b[14..16].copy_from_slice(&port.to_ne_bytes());
        b
    };
    let attr_len = if bound.is_some() {
        0
    } else {
        4 + bytecode.len()
    };
    let len = NLMSG_HDR + REQ_V2 + attr_len;
    let flags = if bound.is_some() {
        NLM_F_REQUEST
    } else {
        NLM_F_REQUEST | NLM_F_DUMP
    };
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // inet_diag_req_v2: family, protocol, ext, pad, states, then the socket id: source port,
    // destination port, source and destination addresses, interface, cookie (none: all ones).
    m.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]);
    m.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    match bound {
        Some(b) => {
            m.extend_from_slice(&port.to_be_bytes());
            m.extend_from_slice(&[0u8; 2]);
            m.extend_from_slice(&b.addr);
            m.extend_from_slice(&[0u8; 16 + 4]);
            m.extend_from_slice(&[0xff; 8]);
        }
        None => {
            m.extend_from_slice(&[0u8; REQ_V2 - 8]);
            m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
            m.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
            m.extend_from_slice(&bytecode);
        }
    }
    m
}

fn from_proc_net(port: u16) -> HashSet<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_names_exactly_the_sockets_listening_on_the_port() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        // A connection to it is not a listener, and another port's listener is not ours.
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let asked = listening_inodes(port);
        assert_eq!(asked, from_proc_net(port));
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(!listening_inodes(other.local_addr().unwrap().port()).is_subset(&asked));
        drop(v4);
        assert!(asked_of_the_kernel(port).unwrap().is_empty());
    }

    #[test]
    fn the_kernel_names_the_cgroup_each_socket_was_made_in() {
        use std::os::unix::fs::MetadataExt;
        let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let asked = asked_of_the_kernel(port).unwrap();
        assert_eq!(asked.len(), 1, "{asked:?}");
        // This process's cgroup (v2): its folder's inode number is the cgroup's id.
        let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let path = mine.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
        let id = std::fs::metadata(format!("/sys/fs/cgroup{path}"))
            .unwrap()
            .ino();
        assert_eq!(asked[0].cgroup_id, Some(id), "cgroup {path}");
    }

    #[test]
    fn ipv6_listeners_are_found_too() {
        let Ok(v6) = std::net::TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this machine: nothing to look for
        };
        let port = v6.local_addr().unwrap().port();
        let asked = listening_inodes(port);
        assert_eq!(asked.len(), 1);
        assert_eq!(asked, from_proc_net(port));
        let socket = asked_of_the_kernel(port).unwrap()[0];
        assert_eq!(listener_at(port, socket.bound).unwrap(), Some(socket));
    }

    #[test]
    fn one_socket_is_found_by_where_it_is_bound_and_only_while_it_listens() {
        for addr in ["0.0.0.0:0", "127.0.0.1:0"] {
            let sock = std::net::TcpListener::bind(addr).unwrap();
            let port = sock.local_addr().unwrap().port();
            let all = asked_of_the_kernel(port).unwrap();
            assert_eq!(all.len(), 1, "{addr}: {all:?}");
            assert_eq!(
                listener_at(port, all[0].bound).unwrap(),
                Some(all[0]),
                "{addr}"
            );
            // Many questions on the thread's one socket: each answered, none left over.
            for _ in 0..100 {
                assert_eq!(listener_at(port, all[0].bound).unwrap(), Some(all[0]));
                assert_eq!(asked_of_the_kernel(port).unwrap(), all);
            }
            drop(sock);
            assert_eq!(listener_at(port, all[0].bound).unwrap(), None, "{addr}");
        }
    }
}
