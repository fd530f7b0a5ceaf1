//! A stand-in for the HTTP services reports go to (ntfy, a webhook, Slack/Mattermost/Discord
//! incoming webhooks, Telegram's Bot API, Gotify): it records every request (method, target,
//! headers, body) and answers as the real one does when it accepts a message (200; Telegram's
//! `{"ok": true, ...}` for a `/bot.../sendMessage`). `down` makes it answer 500 until `up`,
//! as a service that is down behind its proxy does.

use crate::healthchecks::Request;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Receiver {
    /// `http://IP:PORT`.
    pub origin: String,
    received: Arc<Mutex<Vec<Request>>>,
    refused: Arc<Mutex<Vec<Request>>>,
    down: Arc<AtomicBool>,
}

impl Receiver {
    /// Serves on `ip` (loopback, or a test host's gateway) on a free port.
    pub fn start(ip: IpAddr) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind((ip, 0))?;
        let origin = format!("http://{}", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let (r, f, d) = (received.clone(), refused.clone(), down.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (r, f, d) = (r.clone(), f.clone(), d.clone());
                std::thread::spawn(move || serve(conn, &r, &f, &d));
            }
        });
        Ok(Receiver {
            origin,
            received,
            refused,
            down,
        })
    }

    /// Answer 500 to everything from now on (recorded as refused).
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// The requests it accepted (answered 2xx), in order.
    pub fn received(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }

    /// The requests it answered 500 while down.
    pub fn refused(&self) -> Vec<Request> {
        self.refused.lock().unwrap().clone()
    }

    /// Waits until it has accepted `n` requests (or `timeout` passed); returns what it has.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Request> {
        let end = Instant::now() + timeout;
        while self.received().len() < n && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.received()
    }
}

fn serve(
    mut conn: TcpStream,
    received: &Mutex<Vec<Request>>,
    refused: &Mutex<Vec<Request>>,
    down: &AtomicBool,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().expect("socket clones"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k, v.trim().to_string()));
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    let req = Request {
        method,
        target: target.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let (status, reply) = if down.load(Ordering::SeqCst) {
        refused.lock().unwrap().push(req);
        ("500 Internal Server Error", "down".to_string())
    } else {
        let mut all = received.lock().unwrap();
        all.push(req);
        if target.contains("/sendMessage") {
            (
                "200 OK",
                format!(r#"{{"ok":true,"result":{{"message_id":{}}}}}"#, all.len()),
            )
        } else {
            ("200 OK", "ok".to_string())
        }
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    );
}
