//! A local Healthchecks for tests: the ping API exactly as the contract notes describe it
//! (UUID and ping-key/slug URLs, /fail, /start, /log, exit statuses, `rid` validation,
//! `?create=1`, "OK"/"Created"/"not found" replies, a 10,000-byte body limit), plus scripted
//! misbehaviour (429, 5xx, a 200 that is not "OK", a server that hangs) for the cases a real
//! one shows only sometimes. It records every ping it counts.

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BODY_LIMIT: usize = 10_000;

/// A ping the server counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// The check: its UUID, or `key/slug`.
    pub check: String,
    /// "success", "fail", "start", "log", or an exit status.
    pub kind: String,
    pub rid: Option<String>,
    pub body: String,
}

/// A reply forced for the next request, instead of the contract's.
#[derive(Debug, Clone)]
pub enum Forced {
    Status(u16, &'static str),
    /// Accept the connection and never answer.
    Hang,
}

#[derive(Default)]
struct Inner {
    uuids: HashSet<String>,
    slugs: HashSet<String>,
    forced: VecDeque<Forced>,
    pings: Vec<Ping>,
    requests: usize,
}

pub struct Healthchecks {
    base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Healthchecks {
    /// Serves on `ip` (loopback, or a test host's gateway) on a free port.
    pub fn start(ip: IpAddr) -> std::io::Result<Healthchecks> {
        let listener = TcpListener::bind((ip, 0))?;
        let base = format!("http://{}/ping", listener.local_addr()?);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(conn, &shared));
            }
        });
        Ok(Healthchecks { base, inner })
    }

    /// Registers a check and returns its ping URL (UUID form).
    pub fn add_check(&self) -> String {
        let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .expect("Linux")
            .trim()
            .to_string();
        self.inner.lock().unwrap().uuids.insert(uuid.clone());
        format!("{}/{uuid}", self.base)
    }

    /// A ping URL for a check that does not exist.
    pub fn unknown_check(&self) -> String {
        format!("{}/00000000-0000-4000-8000-000000000000", self.base)
    }

    /// The ping-key/slug URL of a slug check (created on first `?create=1` ping).
    pub fn slug_url(&self, key: &str, slug: &str) -> String {
        format!("{}/{key}/{slug}", self.base)
    }

    pub fn force(&self, reply: Forced) {
        self.inner.lock().unwrap().forced.push_back(reply);
    }

    pub fn pings(&self) -> Vec<Ping> {
        self.inner.lock().unwrap().pings.clone()
    }

    /// Requests received, counted or not.
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    pub fn wait_for_pings(&self, n: usize, timeout: Duration) -> Vec<Ping> {
        let deadline = Instant::now() + timeout;
        while self.pings().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.pings()
    }
}

fn serve(mut conn: TcpStream, shared: &Mutex<Inner>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().expect("socket clones"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();

    let forced = {
        let mut inner = shared.lock().unwrap();
        inner.requests += 1;
        inner.forced.pop_front()
    };
    let (status, text) = match forced {
        Some(Forced::Hang) => {
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
        Some(Forced::Status(s, t)) => (s, t.to_string()),
        None => contract(&target, &body, &mut shared.lock().unwrap()),
    };
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nPing-Body-Limit: {BODY_LIMIT}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The ping API's own answers.
fn contract(target: &str, body: &[u8], inner: &mut Inner) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let rid = params
        .iter()
        .find(|(k, _)| *k == "rid")
        .map(|(_, v)| v.to_string());
    if let Some(r) = &rid
        && !is_uuid(r)
    {
        return (400, "invalid uuid format".into());
    }
    let create = params.iter().any(|(k, v)| *k == "create" && *v == "1");
    let parts: Vec<&str> = path
        .trim_start_matches("/ping/")
        .trim_end_matches('/')
        .split('/')
        .collect();
    let suffix_kind = |s: Option<&&str>| -> Result<String, ()> {
        match s {
            None => Ok("success".into()),
            Some(&("fail" | "start" | "log")) => Ok(s.unwrap().to_string()),
            Some(code) => match code.parse::<u16>() {
                Ok(0) => Ok("success".into()),
                Ok(c) if c <= 255 => Ok(code.to_string()),
                _ => Err(()),
            },
        }
    };
    let (check, kind, created) = if is_uuid(parts[0]) {
        if !inner.uuids.contains(parts[0]) {
            return (404, "not found".into());
        }
        match suffix_kind(parts.get(1)) {
            Ok(k) => (parts[0].to_string(), k, false),
            Err(()) => return (400, "invalid url format".into()),
        }
    } else if parts.len() >= 2 {
        let slug = parts[1];
        if slug
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'))
        {
            return (400, "invalid url format".into());
        }
        let id = format!("{}/{slug}", parts[0]);
        let kind = match suffix_kind(parts.get(2)) {
            Ok(k) => k,
            Err(()) => return (400, "invalid url format".into()),
        };
        let created = !inner.slugs.contains(&id);
        if created && !create {
            return (404, "not found".into());
        }
        inner.slugs.insert(id.clone());
        (id, kind, created)
    } else {
        return (400, "invalid url format".into());
    };
    let stored = &body[..body.len().min(BODY_LIMIT)];
    inner.pings.push(Ping {
        check,
        kind,
        rid,
        body: String::from_utf8_lossy(stored).into_owned(),
    });
    if created {
        (201, "Created".into())
    } else {
        (200, "OK".into())
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
