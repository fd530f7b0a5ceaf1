//! Turns the raw file into the typed `Config`, collecting every problem at once (an operator
//! fixing a file at 3 a.m. wants the whole list, not one error per try). Each problem names the
//! object it belongs to and says how to fix it, and carries the key it is about, so that the
//! loader can name the file (main file or fragment) that set that key.

use super::model::*;
use super::quote::quote;
use super::raw::{self, *};
use super::scalar::{Flag, Secret, Span};
use std::collections::BTreeMap;
use std::num::{NonZeroU16, NonZeroU32};
use std::path::PathBuf;
use std::time::Duration;

/// One thing wrong with the file: where (`service 'passgo'`, `limits`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub object: String,
    pub message: String,
    /// The key the problem is about, as a dotted path from the top (`limits.heal_attempts`,
    /// `heartbeat.services`, `monitored_services`); names its file when fragments are merged.
    pub key: String,
}

#[derive(Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
    /// Entries that name a service the configuration no longer has (a heartbeat ping URL of a
    /// service taken out of monitored_services): an error in the file being written, left out
    /// with a note when an earlier deploy's fragment still holds them (`crate::finish`).
    stale: Vec<Problem>,
    /// The key being validated, as a dotted path (`limits`, `notifications.email`,
    /// `heartbeat.services`; empty at the top).
    section: &'static str,
}

impl Problems {
    /// A problem with the current section as a whole.
    pub(crate) fn add(&mut self, object: &str, message: impl Into<String>) {
        self.list.push(Problem {
            object: object.to_string(),
            message: message.into(),
            key: self.section.to_string(),
        });
    }

    /// A problem with one key of the current section.
    pub(crate) fn add_key(&mut self, object: &str, key: &str, message: impl Into<String>) {
        let key = if self.section.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.section)
        };
        self.list.push(Problem {
            object: object.to_string(),
            message: message.into(),
            key,
        });
    }

    /// An entry naming what the configuration no longer has (see `stale`).
    pub(crate) fn add_stale(&mut self, object: &str, message: impl Into<String>) {
        self.stale.push(Problem {
            object: object.to_string(),
            message: message.into(),
            key: self.section.to_string(),
        });
    }

    /// How many problems were found so far.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn unknown_keys(&mut self, object: &str, unknown: &raw::Unknown, allowed: &[&str]) {
        for key in unknown.keys() {
            let hint = match closest(key, allowed) {
                Some(k) => format!("did you mean '{k}'?"),
                None => format!("allowed keys: {}", allowed.join(", ")),
            };
            self.add_key(object, key, format!("unknown key '{key}' ({hint})"));
        }
    }
}

/// The allowed key nearest to a typo, if it is near enough to be what was meant.
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::levenshtein(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// What validation found: the configuration when nothing is wrong but stale entries (left out
/// of it), the problems, and the stale entries apart (see `Problems::stale`).
pub struct Checked {
    pub config: Option<Config>,
    pub problems: Vec<Problem>,
    pub stale: Vec<Problem>,
}

pub fn validate(raw: RawConfig) -> Checked {
    let mut p = Problems::default();
    p.unknown_keys("top level", &raw.unknown, TOP_KEYS);

    p.section = "limits";
    let limits = limits(raw.limits.unwrap_or_default(), &mut p);
    p.section = "monitored_services";
    let services = services(raw.monitored_services.unwrap_or_default(), &limits, &mut p);
    p.section = "notifications";
    let notifications = raw.notifications.unwrap_or_default();
    p.unknown_keys("notifications", &notifications.unknown, NOTIFICATION_KEYS);
    let email = notifications.email.and_then(|e| {
        p.section = "notifications.email";
        email(e, &mut p)
    });
    // The list comes whole from one file: its entries' problems belong to it.
    p.section = "notifications.channels";
    let channels = super::channels::channels(notifications.channels.unwrap_or_default(), &mut p);
    p.section = "heartbeat";
    let heartbeat = raw.heartbeat.and_then(|h| heartbeat(h, &services, &mut p));

    p.section = "ssh_target";
    if let Some(t) = &raw.ssh_target
        && (t.is_empty() || t.starts_with('-') || t.contains(char::is_whitespace))
    {
        p.add(
            "ssh_target",
            format!(
                "{} is not an ssh destination; write it like admin@server.example.org",
                quote(t)
            ),
        );
    }
    p.section = "protected_processes";
    let protected_processes = raw.protected_processes.unwrap_or_default();
    for name in &protected_processes {
        if name.is_empty() || name.contains('/') || name.len() > 15 {
            p.add(
                "protected_processes",
                format!("{} is not a process name; give the command name as in `ps -o comm` (at most 15 characters, no '/')", quote(name)),
            );
        }
    }

    p.section = "metrics";
    let metrics = raw.metrics.and_then(|m| {
        p.unknown_keys("metrics", &m.unknown, crate::metrics::METRICS_KEYS);
        crate::metrics::check(m)
            .map_err(|e| p.add_key("metrics", "textfile", e.to_string()))
            .ok()
            .flatten()
    });

    p.section = "host_checks";
    let host_checks = raw
        .host_checks
        .and_then(|h| crate::host_checks::validate(h, &mut p));

    if p.list.is_empty() {
        let config = Config {
            host: raw.host,
            ssh_target: raw.ssh_target,
            services,
            email,
            channels,
            heartbeat,
            limits,
            protected_processes,
            metrics,
            host_checks,
            fragments: Vec::new(),
            notes: Vec::new(),
        };
        Checked {
            config: Some(config),
            problems: Vec::new(),
            stale: p.stale,
        }
    } else {
        Checked {
            config: None,
            problems: p.list,
            stale: p.stale,
        }
    }
}

fn services(raw: Vec<RawService>, limits: &Limits, p: &mut Problems) -> Vec<Service> {
    // Kept for the daemon's life: sized to the list, not to the next power of two.
    let mut out = Vec::with_capacity(raw.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut ports: BTreeMap<u16, String> = BTreeMap::new();
    for (i, s) in raw.into_iter().enumerate() {
        let object = match &s.name {
            Some(n) => format!("service '{n}'"),
            None => format!("monitored_services[{i}]"),
        };
        p.unknown_keys(&object, &s.unknown, SERVICE_KEYS);
        let Some(raw_name) = &s.name else {
            p.add(
                &object,
                "missing required key 'name'; every monitored service needs a name",
            );
            continue;
        };
        if names.insert(raw_name.clone(), i).is_some() {
            p.add(
                &object,
                "is listed twice; service names must be unique (remove or rename one)",
            );
        }
        let name = match ServiceName::parse(raw_name) {
            Ok(n) => n,
            Err(e) => {
                p.add(&object, e.to_string());
                continue;
            }
        };
        let unit = match &s.unit {
            Some(u) => UnitName::parse(u),
            None => UnitName::parse(&format!("{name}.service")),
        };
        let unit = unit.map_err(|e| p.add(&object, e.to_string())).ok();

        let port = service_port(s.port, &object, p);
        if let Some(port) = port
            && let Some(other) = ports.insert(port.get(), raw_name.clone())
        {
            p.add(
                &object,
                format!("port {port} is already used by service '{other}'; two services cannot listen on one port"),
            );
        }

        let healing_strategies = strategies(s.healing_strategies, &object, p);
        let depends_on = depends_on(s.depends_on, &object, p);
        strategies_have_what_they_need(
            &healing_strategies,
            s.port.is_some(),
            &depends_on,
            &object,
            p,
        );
        let health = s
            .health
            .and_then(|h| health(h, s.port.is_some(), s.domain.as_deref(), limits, &object, p));
        check_domain(s.domain.as_deref(), &object, p);

        let limits = s
            .limits
            .and_then(|raw| service_limits(raw, unit.as_ref()?, &object, p));
        let certificate = service_certificate(s.certificate, s.domain.as_deref(), &object, p);

        if let Some(unit) = unit {
            out.push(Service {
                name,
                unit,
                port,
                domain: s.domain,
                health,
                critical: s.critical.is_none_or(|Flag(b)| b),
                healing_strategies,
                depends_on,
                limits,
                certificate,
            });
        }
    }
    out
}

/// A service's `domain`, when it is one.
fn check_domain(domain: Option<&str>, object: &str, p: &mut Problems) {
    if let Some(d) = domain
        && !is_hostname(d)
    {
        p.add(
            object,
            format!(
                "domain {} is not a host name; write it like books.example.org",
                quote(d)
            ),
        );
    }
}

/// A service's resource rules, checked against its unit.
fn service_limits(
    raw: super::resources::RawResourceRules,
    unit: &UnitName,
    object: &str,
    p: &mut Problems,
) -> Option<super::resources::ResourceRules> {
    let keys = super::resources::RESOURCE_KEYS;
    p.unknown_keys(&format!("{object} limits"), &raw.unknown, keys);
    super::resources::check(raw, unit.as_str())
        .map_err(|e| p.add(object, e.to_string()))
        .ok()
}

/// A service's certificate check (on by default for a service with a domain).
fn service_certificate(
    raw: Option<super::certificate::RawCertificate>,
    domain: Option<&str>,
    object: &str,
    p: &mut Problems,
) -> Option<super::certificate::CertificateCheck> {
    if let Some(super::certificate::RawCertificate::Map(m)) = &raw {
        let keys = super::certificate::CERTIFICATE_KEYS;
        p.unknown_keys(&format!("{object} certificate"), &m.unknown, keys);
    }
    super::certificate::check(raw, domain)
        .map_err(|e| p.add(object, e.to_string()))
        .ok()
        .flatten()
}

/// A service's `port`, when it is one.
fn service_port(raw: Option<i64>, object: &str, p: &mut Problems) -> Option<NonZeroU16> {
    let port = raw?;
    let valid = u16::try_from(port).ok().and_then(NonZeroU16::new);
    if valid.is_none() {
        p.add(object, format!("port {port} is out of range 1-65535"));
    }
    valid
}

/// A service's `depends_on`, each entry a unit (a bare name is a service).
fn depends_on(raw: Option<Vec<String>>, object: &str, p: &mut Problems) -> Vec<UnitName> {
    raw.unwrap_or_default()
        .iter()
        .filter_map(|d| {
            UnitName::parse_service_default(d)
                .map_err(|e| p.add(object, format!("depends_on: {e}")))
                .ok()
        })
        .collect()
}

/// The strategies that act on a port or on dependencies need the service to name them.
fn strategies_have_what_they_need(
    strategies: &[Strategy],
    has_port: bool,
    depends_on: &[UnitName],
    object: &str,
    p: &mut Problems,
) {
    if strategies.contains(&Strategy::PortConflict) && !has_port {
        p.add(
            object,
            "healing strategy 'port_conflict' needs the service's 'port'",
        );
    }
    if strategies.contains(&Strategy::DependencyRestart) && depends_on.is_empty() {
        p.add(
            object,
            "healing strategy 'dependency_restart' needs 'depends_on' (the units it depends on)",
        );
    }
}

fn strategies(raw: Option<Vec<String>>, object: &str, p: &mut Problems) -> Vec<Strategy> {
    let Some(raw) = raw else {
        return vec![Strategy::ServiceRestart];
    };
    if raw.is_empty() {
        p.add(
            object,
            "healing_strategies is empty; list at least one, e.g. [service_restart]",
        );
    }
    let mut out = Vec::new();
    for s in raw {
        match Strategy::parse(&s) {
            Some(k) if out.contains(&k) => p.add(
                object,
                format!("healing strategy {} is listed twice", quote(&s)),
            ),
            Some(k) => out.push(k),
            None => {
                let known: Vec<&str> = Strategy::ALL.iter().map(|k| k.as_str()).collect();
                let hint = match closest(&s, &known) {
                    Some(k) => format!("did you mean '{k}'? "),
                    None => String::new(),
                };
                p.add(
                    object,
                    format!(
                        "unknown healing strategy {} ({hint}known strategies: {})",
                        quote(&s),
                        known.join(", ")
                    ),
                );
            }
        }
    }
    out
}

fn health(
    mut h: RawHealth,
    has_port: bool,
    domain: Option<&str>,
    limits: &Limits,
    object: &str,
    p: &mut Problems,
) -> Option<Health> {
    let object = format!("{object}: health");
    p.unknown_keys(&object, &h.unknown, HEALTH_KEYS);
    let timeout = positive(h.timeout, limits.probe_timeout, &object, "timeout", p);
    if let Some(argv) = h.command.take() {
        return command_health(h, argv.0, timeout, &object, p);
    }
    if h.user.is_some() {
        p.add_key(
            &object,
            "user",
            "'user' is whom a 'command' runs as; this health check has no command",
        );
    }
    let (target, url) = health_target(h.url, h.path, has_port, &object, p);
    let expected_status = match h.expected_status {
        None => Some(200),
        Some(code @ 100..=599) => Some(code as u16),
        Some(code) => {
            p.add(
                &object,
                format!("expected_status {code} is not an HTTP status (100-599)"),
            );
            None
        }
    };
    let https = url.as_ref().is_some_and(|u| u.tls);
    let tls = match (h.ca_file, h.tls_verify) {
        (None, None | Some(Flag(true))) => Some(TlsTrust::WebPki),
        (Some(_), Some(Flag(false))) => {
            p.add(
                &object,
                "give either 'ca_file' or 'tls_verify: false', not both",
            );
            None
        }
        _ if !https => {
            p.add(
                &object,
                "'ca_file' and 'tls_verify' are for an https:// url; this probe does not use TLS",
            );
            None
        }
        (Some(f), _) if !f.starts_with('/') => {
            p.add(
                &object,
                format!("ca_file {} must be an absolute path", quote(&f)),
            );
            None
        }
        (Some(f), _) => Some(TlsTrust::CaFile(f.into())),
        (None, Some(Flag(false))) => Some(TlsTrust::Unverified),
    };
    // A local endpoint (an address, localhost) serves the site's certificate: check it
    // against the site's name.
    let server_name = url
        .filter(|u| u.tls && (u.host == "localhost" || u.host.parse::<std::net::IpAddr>().is_ok()))
        .and(domain.map(str::to_string));
    Some(Health {
        target: target?,
        expected_status: expected_status?,
        timeout,
        tls: tls?,
        server_name,
    })
}

/// A health check that runs a command: no key of an HTTP probe beside it.
fn command_health(
    h: RawHealth,
    argv: Vec<String>,
    timeout: Duration,
    object: &str,
    p: &mut Problems,
) -> Option<Health> {
    if h.url.is_some() || h.path.is_some() {
        p.add(object, "give one of 'url', 'path' or 'command', not more");
        return None;
    }
    let http_only = [
        ("expected_status", h.expected_status.is_some()),
        ("ca_file", h.ca_file.is_some()),
        ("tls_verify", h.tls_verify.is_some()),
    ];
    for (key, _) in http_only.iter().filter(|(_, given)| *given) {
        p.add_key(
            object,
            key,
            format!("'{key}' is for an HTTP probe (url or path), not a command"),
        );
    }
    let check = command_check(argv, h.user, object, p)?;
    Some(Health {
        target: HealthTarget::Command(check),
        expected_status: 0,
        timeout,
        tls: TlsTrust::WebPki,
        server_name: None,
    })
}

/// `health.command` and `health.user`: a program named by its absolute path (no PATH is
/// searched, no shell splits it), and a user name as NSS would know it.
fn command_check(
    argv: Vec<String>,
    user: Option<String>,
    object: &str,
    p: &mut Problems,
) -> Option<CommandCheck> {
    let Some(program) = argv.first() else {
        p.add_key(
            object,
            "command",
            "command is empty; give the program and its arguments, e.g. [/usr/bin/pg_isready, -q]",
        );
        return None;
    };
    let mut ok = true;
    if !program.starts_with('/') {
        p.add_key(
            object,
            "command",
            format!(
                "command's program {} must be an absolute path (e.g. /usr/bin/{}): no PATH is \
                 searched",
                quote(program),
                program.rsplit('/').next().unwrap_or(program)
            ),
        );
        ok = false;
    }
    if argv.iter().any(|a| a.contains('\0')) {
        p.add_key(object, "command", "command holds a NUL character");
        ok = false;
    }
    if let Some(u) = &user
        && (u.is_empty()
            || u.starts_with('-')
            || u.chars()
                .any(|c| c == ':' || c == '/' || c.is_whitespace() || c.is_control()))
    {
        p.add_key(
            object,
            "user",
            format!("user {} is not a user name", quote(u)),
        );
        ok = false;
    }
    ok.then_some(CommandCheck { argv, user })
}

/// What an HTTP health check probes (`url` or `path`), with the URL taken apart when it is one.
fn health_target(
    url: Option<String>,
    path: Option<String>,
    has_port: bool,
    object: &str,
    p: &mut Problems,
) -> (Option<HealthTarget>, Option<crate::ProbeUrl>) {
    match (url, path) {
        (Some(_), Some(_)) => {
            p.add(object, "give one of 'url', 'path' or 'command', not more");
            (None, None)
        }
        (Some(u), None) => match crate::ProbeUrl::parse(&u) {
            Ok(parsed) => (Some(HealthTarget::Url(u)), Some(parsed)),
            // The URL itself is not quoted: it may hold credentials.
            Err(why) => {
                p.add(object, format!("url cannot be probed: {why}"));
                (None, None)
            }
        },
        (None, Some(path)) if !path.starts_with('/') => {
            p.add(object, format!("path {} must start with '/'", quote(&path)));
            (None, None)
        }
        (None, Some(_)) if !has_port => {
            p.add(object, "'path' is probed on 127.0.0.1:<port>, so the service needs a 'port' (or give a full 'url')");
            (None, None)
        }
        (None, Some(path)) => (Some(HealthTarget::Path(path)), None),
        (None, None) => {
            p.add(object, "missing required key 'url', 'path' or 'command'");
            (None, None)
        }
    }
}

fn email(e: RawEmail, p: &mut Problems) -> Option<Email> {
    let object = "notifications.email";
    p.unknown_keys(object, &e.unknown, EMAIL_KEYS);
    if e.enabled.is_some_and(|Flag(b)| !b) {
        return None;
    }
    let tls = match e.tls.as_deref() {
        None => Some(TlsMode::Starttls),
        Some(t) => TlsMode::parse(t).or_else(|| {
            p.add_key(
                object,
                "tls",
                format!("tls {} is not one of none, starttls, tls", quote(t)),
            );
            None
        }),
    };
    let port = match e.smtp_port {
        None => tls.map(TlsMode::default_port),
        Some(port) => u16::try_from(port).ok().filter(|v| *v != 0).or_else(|| {
            p.add_key(
                object,
                "smtp_port",
                format!("smtp_port {port} is out of range 1-65535"),
            );
            None
        }),
    };
    let required = |v: Option<String>, key: &str, p: &mut Problems| {
        v.filter(|s| !s.trim().is_empty()).or_else(|| {
            p.add_key(object, key, format!("missing required key '{key}'"));
            None
        })
    };
    let smtp_host = required(e.smtp_host, "smtp_host", p);
    let from = required(e.from, "from", p);
    check_addresses(
        from.as_deref(),
        e.to.as_deref().unwrap_or_default(),
        object,
        p,
    );
    let to = e.to.filter(|t| !t.is_empty()).or_else(|| {
        p.add_key(
            object,
            "to",
            "missing required key 'to' (a list of recipient addresses)",
        );
        None
    });
    let password_file = e.password_file.map(PathBuf::from);
    check_password_file(password_file.as_deref(), e.username.is_some(), object, p);
    Some(Email {
        smtp_host: smtp_host?,
        smtp_port: port?,
        tls: tls?,
        username: e.username,
        password_file,
        from: from?,
        to: to?,
    })
}

/// Every address as the mailer will parse it.
fn check_addresses(from: Option<&str>, to: &[String], object: &str, p: &mut Problems) {
    let addresses = from.into_iter().map(|a| ("from", a));
    for (key, addr) in addresses.chain(to.iter().map(|a| ("to", a.as_str()))) {
        if let Err(e) = addr.parse::<lettre::message::Mailbox>() {
            p.add_key(
                object,
                key,
                format!(
                    "{} is not an email address the mailer can use ({e}); write it as user@example.org or \"Name <user@example.org>\"",
                    quote(addr)
                ),
            );
        }
    }
}

/// The SMTP password file: an absolute path, and only with a username to log in as.
fn check_password_file(
    file: Option<&std::path::Path>,
    has_username: bool,
    object: &str,
    p: &mut Problems,
) {
    let Some(f) = file else { return };
    if !f.is_absolute() {
        p.add_key(
            object,
            "password_file",
            format!(
                "password_file {} must be an absolute path",
                quote(&f.to_string_lossy())
            ),
        );
    }
    if !has_username {
        p.add_key(
            object,
            "password_file",
            "password_file is set but username is not; SMTP login needs both",
        );
    }
}

/// The server check of a configuration that does not validate as a whole: its heartbeat
/// section's ping URL, timeout and deadline when those are sound (per-service checks are left
/// out: their services cannot be trusted).
pub fn heartbeat_only(raw: RawConfig) -> Option<Heartbeat> {
    let mut h = raw.heartbeat?;
    h.services = None;
    let mut p = Problems::default();
    heartbeat(h, &[], &mut p).filter(|_| p.list.is_empty())
}

fn heartbeat(h: RawHeartbeat, services: &[Service], p: &mut Problems) -> Option<Heartbeat> {
    let object = "heartbeat";
    p.unknown_keys(object, &h.unknown, HEARTBEAT_KEYS);
    let ping_url = match h.ping_url {
        Some(u) => check_ping_url(u)
            .map_err(|e| p.add_key(object, "ping_url", e.to_string()))
            .ok(),
        None => {
            p.add_key(
                object,
                "ping_url",
                "missing required key 'ping_url' (the server check's ping URL from Healthchecks)",
            );
            None
        }
    };
    let mut pings = Vec::new();
    // The list comes whole from one file: its entries' problems belong to it.
    p.section = "heartbeat.services";
    for (i, s) in h.services.unwrap_or_default().into_iter().enumerate() {
        let object = match &s.name {
            Some(n) => format!("heartbeat: service '{n}'"),
            None => format!("heartbeat.services[{i}]"),
        };
        p.unknown_keys(&object, &s.unknown, SERVICE_PING_KEYS);
        let name = s
            .name
            .and_then(|n| match services.iter().find(|m| m.name.as_str() == n) {
                Some(m) => Some(m.name.clone()),
                None => {
                    p.add_stale(
                        &object,
                        "is not in monitored_services; add it there or remove its ping URL",
                    );
                    None
                }
            });
        let url = match s.ping_url {
            Some(u) => check_ping_url(u)
                .map_err(|e| p.add(&object, e.to_string()))
                .ok(),
            None => {
                p.add(&object, "missing required key 'ping_url'");
                None
            }
        };
        if let (Some(n), Some(u)) = (name, url) {
            pings.push((n, u));
        }
    }
    p.section = "heartbeat";
    let timeout = positive(h.timeout, Duration::from_secs(10), object, "timeout", p);
    let deadline = positive(h.deadline, Duration::from_secs(30), object, "deadline", p);
    if deadline > Duration::from_secs(240) {
        p.add_key(
            object,
            "deadline",
            "deadline must be under 4m so a run ends before cron starts the next one",
        );
    }
    Some(Heartbeat {
        ping_url: ping_url?,
        services: pings,
        timeout: timeout.min(deadline),
        deadline,
    })
}

/// A ping URL that is not an http(s) URL. It holds nothing of the value: the URL is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "ping_url is not an http(s) URL (its value is not shown); \
     give the check's ping URL from Healthchecks, like https://hc-ping.com/UUID"
)]
struct BadPingUrl;

fn check_ping_url(u: Secret) -> Result<Secret, BadPingUrl> {
    let s = u.expose();
    let host = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    if host.is_empty() || s.chars().any(char::is_whitespace) {
        // The URL is a secret: name the problem, never any part of the value.
        return Err(BadPingUrl);
    }
    Ok(u)
}

fn limits(l: RawLimits, p: &mut Problems) -> Limits {
    let object = "limits";
    p.unknown_keys(object, &l.unknown, LIMIT_KEYS);
    let d = Limits::default();
    let count = |v: Option<i64>, default: NonZeroU32, key: &str, p: &mut Problems| match v {
        None => default,
        Some(n) => u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or_else(|| {
                p.add_key(
                    object,
                    key,
                    format!("{key} {n} must be a whole number of at least 1"),
                );
                default
            }),
    };
    Limits {
        check_interval: positive(
            l.check_interval,
            d.check_interval,
            object,
            "check_interval",
            p,
        ),
        failures_before_action: count(
            l.failures_before_action,
            d.failures_before_action,
            "failures_before_action",
            p,
        ),
        heal_attempts: count(l.heal_attempts, d.heal_attempts, "heal_attempts", p),
        heal_window: positive(l.heal_window, d.heal_window, object, "heal_window", p),
        probe_timeout: positive(l.probe_timeout, d.probe_timeout, object, "probe_timeout", p),
        start_timeout: positive(l.start_timeout, d.start_timeout, object, "start_timeout", p),
        settle_time: l.settle_time.map_or(d.settle_time, |Span(s)| s),
        kill_grace: positive(l.kill_grace, d.kill_grace, object, "kill_grace", p),
        max_concurrent_heals: count(
            l.max_concurrent_heals,
            d.max_concurrent_heals,
            "max_concurrent_heals",
            p,
        ),
    }
}

fn positive(
    v: Option<Span>,
    default: Duration,
    object: &str,
    key: &str,
    p: &mut Problems,
) -> Duration {
    match v {
        None => default,
        Some(Span(d)) if d.is_zero() => {
            p.add_key(object, key, format!("{key} must be longer than 0s"));
            default
        }
        Some(Span(d)) => d,
    }
}

fn is_hostname(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
