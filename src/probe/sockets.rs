//! Which sockets listen on a TCP port, asked of the kernel with sock_diag (NETLINK_SOCK_DIAG):
//! the kernel itself filters by state (LISTEN) and port, so the answer is one or two sockets
//! however many connections and listeners the host has. /proc/net/tcp{,6}, which lists every
//! socket of the host as text, is the fallback where netlink is refused.

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};
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
const MSG_INODE: usize = 68;

/// The inodes of the sockets listening on `port` (IPv4 and IPv6).
pub fn listening_inodes(port: u16) -> HashSet<u64> {
    match asked_of_the_kernel(port) {
        Ok(inodes) => inodes,
        Err(_) => from_proc_net(port),
    }
}

fn asked_of_the_kernel(port: u16) -> io::Result<HashSet<u64>> {
    let fd = rustix::net::socket(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        Some(netlink::SOCK_DIAG),
    )?;
    let kernel = netlink::SocketAddrNetlink::new(0, 0);
    let mut inodes = HashSet::new();
    let mut buf = vec![0u8; 16 * 1024];
    for (seq, family) in [(1u32, AddressFamily::INET), (2, AddressFamily::INET6)] {
        let req = request(seq, family.as_raw() as u8, port);
        rustix::net::sendto(&fd, &req, SendFlags::empty(), &kernel)?;
        'replies: loop {
            let (_, n) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
            let mut at = 0;
            while at + NLMSG_HDR <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                let kind = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap());
                if len < NLMSG_HDR || at + len > n {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "short netlink reply",
                    ));
                }
                let body = &buf[at + NLMSG_HDR..at + len];
                match kind {
                    NLMSG_DONE => break 'replies,
                    NLMSG_ERROR => {
                        let errno = i32::from_ne_bytes(body[..4].try_into().unwrap_or_default());
                        return Err(io::Error::from_raw_os_error(-errno));
                    }
                    SOCK_DIAG_BY_FAMILY if body.len() >= MSG_INODE + 4 => {
                        let sport = u16::from_be_bytes([body[MSG_SPORT], body[MSG_SPORT + 1]]);
                        let inode =
                            u32::from_ne_bytes(body[MSG_INODE..MSG_INODE + 4].try_into().unwrap());
                        if sport == port && body[1] as u32 == TCP_LISTEN {
                            inodes.insert(inode as u64);
                        }
                    }
                    _ => {}
                }
                at += (len + 3) & !3;
            }
        }
    }
    Ok(inodes)
}

/// A dump request for `family`'s TCP sockets in LISTEN state whose local port is `port`
/// (bytecode: sport >= port, then sport <= port; a failed test jumps past the end: rejected).
fn request(seq: u32, family: u8, port: u16) -> Vec<u8> {
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
    let attr_len = 4 + bytecode.len();
    let len = NLMSG_HDR + REQ_V2 + attr_len;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // inet_diag_req_v2: family, protocol, ext, pad, states, then the socket id (zeros).
    m.extend_from_slice(&[family, IPPROTO_TCP, 0, 0]);
    m.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    m.extend_from_slice(&[0u8; REQ_V2 - 8]);
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    m.extend_from_slice(&bytecode);
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
        let asked = asked_of_the_kernel(port).unwrap();
        assert_eq!(asked, from_proc_net(port));
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(
            !asked_of_the_kernel(other.local_addr().unwrap().port())
                .unwrap()
                .is_subset(&asked)
        );
        drop(v4);
        assert!(asked_of_the_kernel(port).unwrap().is_empty());
    }

    #[test]
    fn ipv6_listeners_are_found_too() {
        let Ok(v6) = std::net::TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this machine: nothing to look for
        };
        let port = v6.local_addr().unwrap().port();
        let asked = asked_of_the_kernel(port).unwrap();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked, from_proc_net(port));
    }
}
