//! `mm-listen BASE INDEX [PIDFILE]`: a tiny HTTP service for benchmarks that need hundreds of
//! cheap services (one template unit, `fp@.service`, instance INDEX). It listens on port
//! BASE + INDEX, answers every request `200 ok`, writes its PID to PIDFILE if given, and tells
//! systemd it is ready (`Type=notify`) only once its port is bound. Std only, one thread: a few
//! hundred KiB of memory, where a Python service takes about 10 MiB.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u16>().ok());
    let (Some(base), Some(index)) = (number(0), number(1)) else {
        eprintln!("usage: mm-listen BASE INDEX [PIDFILE]   (listens on port BASE + INDEX)");
        std::process::exit(2);
    };
    let port = base.checked_add(index).unwrap_or_else(|| {
        eprintln!("mm-listen: port {base} + {index} is out of range");
        std::process::exit(2);
    });
    let listener = TcpListener::bind(("0.0.0.0", port)).unwrap_or_else(|e| {
        eprintln!("mm-listen: cannot listen on port {port}: {e}");
        std::process::exit(1);
    });
    if let Some(pidfile) = args.get(2)
        && let Err(e) = std::fs::write(pidfile, format!("{}\n", std::process::id()))
    {
        eprintln!("mm-listen: cannot write {pidfile}: {e}");
        std::process::exit(1);
    }
    notify_ready();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = [0u8; 2048];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

/// `READY=1` to `$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`).
fn notify_ready() {
    use std::os::linux::net::SocketAddrExt;
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = target.as_encoded_bytes();
    let sent = match bytes.strip_prefix(b"@") {
        Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| socket.send_to_addr(b"READY=1", &addr)),
        None => socket.send_to(b"READY=1", &target),
    };
    if let Err(e) = sent {
        eprintln!("mm-listen: cannot notify systemd: {e}");
    }
}
