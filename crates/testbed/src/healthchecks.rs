//! A local Healthchecks for tests: the ping API exactly as the contract notes describe it
//! (UUID and ping-key/slug URLs, /fail, /start, /log, exit statuses, `rid` validation,
//! `?create=1`, "OK"/"Created"/"not found" replies, a 10,000-byte body limit), plus scripted
//! misbehaviour (429, 5xx, a 200 that is not "OK", a server that hangs, a 301 redirect such as
//! an http->https proxy sends) for the cases a real one shows only sometimes, for the next
//! request or for one check's requests. It records every ping it counts and every request it
//! received (method, target, headers, body). Under /api/v3 it serves the
//! Management API's checks: X-Api-Key auth, create/upsert with `unique`, list by slug, get,
//! delete, pause/resume, with the contract's validation errors and a plan limit.

mod alerts;
pub use alerts::Flip;

use std::collections::{HashMap, HashSet, VecDeque};
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
    /// HEAD, GET or POST: all count, but only a POST carries a body.
    pub method: String,
    /// "success", "fail", "start", "log", or an exit status.
    pub kind: String,
    pub rid: Option<String>,
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

/// A reply forced for the next request, instead of the contract's.
#[derive(Debug, Clone)]
pub enum Forced {
    Status(u16, &'static str),
    /// Accept the connection and never answer.
    Hang,
    /// `301 Moved Permanently` to this origin (`https://hc.example.org`, or this server's own
    /// [`Healthchecks::origin`]) with the request's own path and query, as an http->https proxy
    /// in front of Healthchecks answers.
    Redirect(String),
    /// Any status, content type and body (garbage, a proxy's HTML page, megabytes).
    Reply {
        status: u16,
        content_type: &'static str,
        body: String,
    },
}

/// A request as the server received it, counted as a ping or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl Request {
    /// The value of a header (name in any case), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A check as the Management API keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub uuid: String,
    pub name: String,
    pub slug: String,
    pub tags: String,
    pub desc: String,
    pub timeout: i64,
    pub grace: i64,
    pub schedule: Option<String>,
    pub tz: String,
    pub channels: String,
    pub status: String,
}

/// The one read-write key the API accepts (32 characters, like a real project key).
pub const API_KEY: &str = "mm-test-key-0123456789abcdefghij";
/// The project's one integration: `"channels": "*"` selects it.
pub const CHANNEL: &str = "5f9b2a94-1b6f-4a3c-9d0e-6a1f2b3c4d5e";

#[derive(Default)]
struct Inner {
    checks: Vec<Check>,
    max_checks: Option<usize>,
    writes: usize,
    uuids: HashSet<String>,
    slugs: HashSet<String>,
    forced: VecDeque<Forced>,
    /// Replies forced on one check's requests: (path prefix, replies left in order).
    forced_on: Vec<(String, VecDeque<Forced>)>,
    pings: Vec<Ping>,
    requests: usize,
    received: Vec<Request>,
    /// When each API check was last pinged (success or failure), for the alert loop.
    last_ping: HashMap<String, Instant>,
    flips: Vec<Flip>,
}

pub struct Healthchecks {
    base: String,
    pub api_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Healthchecks {
    /// Serves on `ip` (loopback, or a test host's gateway) on a free port.
    pub fn start(ip: IpAddr) -> std::io::Result<Healthchecks> {
        let listener = TcpListener::bind((ip, 0))?;
        let base = format!("http://{}/ping", listener.local_addr()?);
        let api_url = format!("http://{}/api/v3", listener.local_addr()?);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let weak = Arc::downgrade(&inner);
        std::thread::spawn(move || {
            while let Some(inner) = weak.upgrade() {
                alerts::scan(&mut inner.lock().unwrap(), Instant::now());
                drop(inner);
                std::thread::sleep(alerts::SCAN);
            }
        });
        let shared = inner.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(conn, &shared));
            }
        });
        Ok(Healthchecks {
            base,
            api_url,
            inner,
        })
    }

    /// `http://127.0.0.1:PORT`, the scheme and authority this server answers on.
    pub fn origin(&self) -> String {
        self.api_url.trim_end_matches("/api/v3").to_string()
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

    /// Checks the Management API holds.
    pub fn checks(&self) -> Vec<Check> {
        self.inner.lock().unwrap().checks.clone()
    }

    /// Requests that changed something through the Management API.
    pub fn writes(&self) -> usize {
        self.inner.lock().unwrap().writes
    }

    /// The plan's limit on checks (403 past it).
    pub fn limit_checks(&self, n: usize) {
        self.inner.lock().unwrap().max_checks = Some(n);
    }

    /// Forces the reply to the next request, whichever check it is for.
    pub fn force(&self, reply: Forced) {
        self.inner.lock().unwrap().forced.push_back(reply);
    }

    /// Forces the reply to the next request for the check at `ping_url` (any suffix: `/fail`,
    /// `/start`...), leaving other checks' requests to the contract. Calls queue up.
    pub fn force_on(&self, ping_url: &str, reply: Forced) {
        let path = match ping_url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => ping_url,
        };
        let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        let mut inner = self.inner.lock().unwrap();
        match inner.forced_on.iter_mut().find(|(p, _)| p == path) {
            Some((_, replies)) => replies.push_back(reply),
            None => inner
                .forced_on
                .push((path.to_string(), VecDeque::from([reply]))),
        }
    }

    /// Drops every reply still forced, for all checks: the contract's answers again.
    pub fn clear_forced(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.forced.clear();
        inner.forced_on.clear();
    }

    /// Every request received, in order of arrival.
    pub fn received(&self) -> Vec<Request> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn pings(&self) -> Vec<Ping> {
        self.inner.lock().unwrap().pings.clone()
    }

    /// The status changes a real server would have emailed about (DOWN, UP), oldest first.
    pub fn flips(&self) -> Vec<Flip> {
        self.inner.lock().unwrap().flips.clone()
    }

    /// Waits until the check with this UUID has flipped `n` times; its flips so far.
    pub fn wait_for_flips(&self, uuid: &str, n: usize, timeout: Duration) -> Vec<Flip> {
        let deadline = Instant::now() + timeout;
        loop {
            let flips: Vec<Flip> = self
                .flips()
                .into_iter()
                .filter(|f| f.check == uuid)
                .collect();
            if flips.len() >= n || Instant::now() > deadline {
                return flips;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
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

/// One request as read off the connection.
struct Incoming {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    api_key: Option<String>,
    body: Vec<u8>,
}

impl Inner {
    /// The reply a test forced for this request, if any: one forced on its check's path first.
    fn next_forced(&mut self, target: &str) -> Option<Forced> {
        let path = target.split('?').next().unwrap_or(target);
        let on_check = self
            .forced_on
            .iter_mut()
            .find(|(p, replies)| {
                !replies.is_empty()
                    && (path == p
                        || path
                            .strip_prefix(p.as_str())
                            .is_some_and(|r| r.starts_with('/')))
            })
            .and_then(|(_, replies)| replies.pop_front());
        on_check.or_else(|| self.forced.pop_front())
    }
}

fn read_request(conn: &TcpStream) -> Option<Incoming> {
    let mut reader = BufReader::new(conn.try_clone().expect("socket clones"));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0usize;
    let mut api_key = None;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("x-api-key") {
                api_key = Some(v.trim().to_string());
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut words = request_line.split_whitespace();
    Some(Incoming {
        method: words.next().unwrap_or("GET").to_string(),
        target: words.next().unwrap_or("/").to_string(),
        headers,
        api_key,
        body,
    })
}

fn serve(mut conn: TcpStream, shared: &Mutex<Inner>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(Incoming {
        method,
        target,
        headers,
        api_key,
        body,
    }) = read_request(&conn)
    else {
        return;
    };
    let forced = {
        let mut inner = shared.lock().unwrap();
        inner.requests += 1;
        inner.received.push(Request {
            method: method.clone(),
            target: target.clone(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        inner.next_forced(&target)
    };
    let mut location = None;
    let mut content_type = None;
    let (status, text) = match forced {
        Some(Forced::Reply {
            status,
            content_type: t,
            body,
        }) => {
            content_type = Some(t);
            (status, body)
        }
        Some(Forced::Hang) => {
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
        Some(Forced::Status(s, t)) => (s, t.to_string()),
        Some(Forced::Redirect(origin)) => {
            location = Some(format!("{}{target}", origin.trim_end_matches('/')));
            (301, String::new())
        }
        None if target.starts_with("/api/v3/") => {
            let base = format!(
                "http://{}/ping",
                conn.local_addr().map(|a| a.to_string()).unwrap_or_default()
            );
            api(
                &method,
                &target,
                api_key.as_deref(),
                &body,
                &base,
                &mut shared.lock().unwrap(),
            )
        }
        None => contract(&method, &target, &body, &mut shared.lock().unwrap()),
    };
    let reason = reason_phrase(status);
    let ctype = content_type.unwrap_or(if text.starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    });
    let location = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\n{location}Content-Type: {ctype}\r\nPing-Body-Limit: {BODY_LIMIT}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The ping API's own answers.
fn contract(method: &str, target: &str, body: &[u8], inner: &mut Inner) -> (u16, String) {
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
    let now = Instant::now();
    alerts::on_ping(inner, &check, &kind, now);
    inner.pings.push(Ping {
        check,
        method: method.to_string(),
        kind,
        rid,
        body: String::from_utf8_lossy(stored).into_owned(),
        at: now,
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

fn json_error(status: u16, msg: &str) -> (u16, String) {
    (status, serde_json::json!({ "error": msg }).to_string())
}

fn check_json(c: &Check, base: &str) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": c.name, "slug": c.slug, "tags": c.tags, "desc": c.desc, "grace": c.grace,
        "n_pings": 0, "status": c.status, "started": false, "last_ping": null, "next_ping": null,
        "manual_resume": false, "methods": "", "uuid": c.uuid,
        "ping_url": format!("{base}/{}", c.uuid),
        "update_url": format!("{}/api/v3/checks/{}", base.trim_end_matches("/ping"), c.uuid),
        "pause_url": format!("{}/api/v3/checks/{}/pause", base.trim_end_matches("/ping"), c.uuid),
        "resume_url": format!("{}/api/v3/checks/{}/resume", base.trim_end_matches("/ping"), c.uuid),
        "channels": c.channels,
    });
    match &c.schedule {
        Some(s) => {
            v["schedule"] = s.clone().into();
            v["tz"] = c.tz.clone().into();
        }
        None => v["timeout"] = c.timeout.into(),
    }
    v
}

/// The Management API v3, the parts the checks module uses.
fn api(
    method: &str,
    target: &str,
    key: Option<&str>,
    body: &[u8],
    base: &str,
    inner: &mut Inner,
) -> (u16, String) {
    match key {
        Some(k) if k.len() == 32 && k == API_KEY => {}
        Some(k) if k.len() == 32 => return json_error(401, "wrong api key"),
        _ => return json_error(401, "missing api key"),
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v3/")
        .trim_end_matches('/')
        .split('/')
        .collect();
    match (method, parts.as_slice()) {
        ("GET", ["checks"]) => {
            let slug = query.split('&').find_map(|kv| kv.strip_prefix("slug="));
            let list: Vec<serde_json::Value> =
                inner.checks.iter().filter(|c| slug.is_none_or(|s| c.slug == s)).map(|c| check_json(c, base)).collect();
            (200, serde_json::json!({ "checks": list }).to_string())
        }
        ("POST", ["checks"]) => upsert(body, base, inner),
        ("GET", ["channels"]) => (
            200,
            serde_json::json!({ "channels": [{ "id": CHANNEL, "name": "Email ops", "kind": "email" }] }).to_string(),
        ),
        ("GET", ["checks", id]) => match inner.checks.iter().find(|c| c.uuid == *id) {
            Some(c) => (200, check_json(c, base).to_string()),
            None => (404, "<html><body><h1>Not Found</h1></body></html>".into()),
        },
        ("DELETE", ["checks", id]) => match inner.checks.iter().position(|c| c.uuid == *id) {
            Some(i) => {
                inner.writes += 1;
                let c = inner.checks.remove(i);
                (200, check_json(&c, base).to_string())
            }
            None => (404, "<html><body><h1>Not Found</h1></body></html>".into()),
        },
        ("POST", ["checks", id, action @ ("pause" | "resume")]) => {
            let Some(c) = inner.checks.iter_mut().find(|c| c.uuid == *id) else {
                return (404, "<html><body><h1>Not Found</h1></body></html>".into());
            };
            if *action == "resume" && c.status != "paused" {
                return json_error(409, "check is not paused");
            }
            c.status = if *action == "pause" { "paused".into() } else { "new".into() };
            let reply = check_json(c, base).to_string();
            inner.writes += 1;
            (200, reply)
        }
        _ => (404, "<html><body><h1>Not Found</h1></body></html>".into()),
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        _ => "Status",
    }
}

/// The refusal Healthchecks answers an upsert whose fields are out of its schema, if any.
fn refused(req: &serde_json::Value) -> Option<(u16, String)> {
    for field in ["timeout", "grace"] {
        match req.get(field) {
            None => {}
            Some(v) if v.is_i64() => {
                let n = v.as_i64().unwrap();
                if n < 60 {
                    return Some(json_error(
                        400,
                        &format!("json validation error: {field} is too small"),
                    ));
                }
                if n > 31_536_000 {
                    return Some(json_error(
                        400,
                        &format!("json validation error: {field} is too large"),
                    ));
                }
            }
            Some(_) => {
                return Some(json_error(
                    400,
                    &format!("json validation error: {field} is not a number"),
                ));
            }
        }
    }
    let text = |k: &str| req.get(k).and_then(|v| v.as_str());
    if let Some(slug) = text("slug")
        && slug
            .chars()
            .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'))
    {
        return Some(json_error(
            400,
            "json validation error: slug does not match pattern",
        ));
    }
    None
}

/// The fields an upsert sets on a check, new or existing.
fn apply_fields(c: &mut Check, req: &serde_json::Value) {
    let text = |k: &str| req.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(v) = text("name") {
        c.name = v;
    }
    if let Some(v) = text("slug") {
        c.slug = v;
    }
    if let Some(v) = text("tags") {
        c.tags = v;
    }
    if let Some(v) = text("desc") {
        c.desc = v;
    }
    if let Some(v) = req.get("timeout").and_then(|v| v.as_i64()) {
        c.timeout = v;
        c.schedule = None;
    }
    if let Some(v) = req.get("grace").and_then(|v| v.as_i64()) {
        c.grace = v;
    }
    if let Some(v) = text("schedule") {
        c.schedule = Some(v);
    }
    if let Some(v) = text("tz") {
        c.tz = v;
    }
    if let Some(v) = text("channels").map(|c| if c == "*" { CHANNEL.to_string() } else { c }) {
        c.channels = v;
    }
}

fn upsert(body: &[u8], base: &str, inner: &mut Inner) -> (u16, String) {
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(body) else {
        return json_error(400, "could not parse request body");
    };
    if let Some(refused) = refused(&req) {
        return refused;
    }
    let text = |k: &str| req.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let unique: Vec<String> = req
        .get("unique")
        .and_then(|u| u.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // A field named in `unique` but missing from the request: no lookup, a new check.
    let lookup = !unique.is_empty() && unique.iter().all(|f| req.get(f).is_some());
    let existing = if lookup {
        inner.checks.iter().position(|c| {
            unique.iter().all(|f| match f.as_str() {
                "name" => text("name").as_deref() == Some(c.name.as_str()),
                "slug" => text("slug").as_deref() == Some(c.slug.as_str()),
                "tags" => text("tags").as_deref() == Some(c.tags.as_str()),
                "timeout" => req["timeout"].as_i64() == Some(c.timeout),
                "grace" => req["grace"].as_i64() == Some(c.grace),
                _ => false,
            })
        })
    } else {
        None
    };
    let apply = |c: &mut Check| apply_fields(c, &req);
    inner.writes += 1;
    match existing {
        Some(i) => {
            apply(&mut inner.checks[i]);
            (200, check_json(&inner.checks[i], base).to_string())
        }
        None => {
            if inner.max_checks.is_some_and(|m| inner.checks.len() >= m) {
                inner.writes -= 1;
                return json_error(403, "Checks limit reached");
            }
            let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
                .expect("Linux")
                .trim()
                .to_string();
            let mut c = Check {
                uuid,
                name: String::new(),
                slug: String::new(),
                tags: String::new(),
                desc: String::new(),
                timeout: 86_400,
                grace: 3_600,
                schedule: None,
                tz: "UTC".into(),
                channels: String::new(),
                status: "new".into(),
            };
            apply(&mut c);
            inner.uuids.insert(c.uuid.clone());
            let reply = check_json(&c, base).to_string();
            inner.checks.push(c);
            (201, reply)
        }
    }
}
