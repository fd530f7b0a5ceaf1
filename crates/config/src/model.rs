//! The validated configuration the server-side programs act on. Values here have passed every
//! check in `validate`: names and units are safe to hand to systemd, ports are in range, every
//! limit is positive. Defaults are documented on each field and in `docs/configuration.md`.

use super::scalar::Secret;
use std::fmt;
use std::num::{NonZeroU16, NonZeroU32};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Display name of this server in reports; defaults to the machine's hostname.
    pub host: Option<String>,
    /// How a human reaches this server, for the FAILED report; default `root@<host>`.
    pub ssh_target: Option<String>,
    pub services: Vec<Service>,
    /// Email reports; `None` when no `notifications.email` is configured or it is disabled.
    pub email: Option<Email>,
    /// Report channels besides email (`notifications.channels`), in the order written.
    pub channels: Vec<super::channels::Channel>,
    /// Healthchecks pings; `None` when no `heartbeat` is configured.
    pub heartbeat: Option<Heartbeat>,
    pub limits: Limits,
    /// Command names (as in /proc/PID/comm) that `port_conflict` never kills, on top of PID 1,
    /// the daemon itself and sshd.
    pub protected_processes: Vec<String>,
    /// The Prometheus textfile the daemon keeps; `None` (no `metrics.textfile`): none.
    pub metrics: Option<super::metrics::Metrics>,
    /// Disks, memory, swap and pressure of the host itself; `None` (no `host_checks`): none.
    pub host_checks: Option<super::host_checks::HostChecks>,
    /// The fragments merged over the main file, in the order applied
    /// (`config.d/50-heartbeat.yaml`).
    pub fragments: Vec<String>,
    /// Entries an installed fragment still holds for what the configuration no longer has,
    /// left out: each said as `FILE: OBJECT: what was left out and why` (the daemon's journal,
    /// `--check-config`'s output).
    pub notes: Vec<String>,
}

impl Config {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: ServiceName,
    /// The systemd unit; defaults to `<name>.service`.
    pub unit: UnitName,
    pub port: Option<NonZeroU16>,
    /// The public name the service answers on (for reports and, when set, the HTTP probe).
    pub domain: Option<String>,
    pub health: Option<Health>,
    /// A critical service that stays down makes the heartbeat report failure. Default: true.
    pub critical: bool,
    /// Tried in this order; default `[service_restart]`.
    pub healing_strategies: Vec<Strategy>,
    /// Units started first by `dependency_restart`.
    pub depends_on: Vec<UnitName>,
    /// Resource rules read from the unit's cgroup at each look; `None`: none.
    pub limits: Option<super::resources::ResourceRules>,
    /// Where its TLS certificate is read once a day; `None`: not read (no domain, or
    /// `certificate: false`).
    pub certificate: Option<super::certificate::CertificateCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    ServiceRestart,
    PortConflict,
    ResetFailed,
    DependencyRestart,
    KillHung,
}

impl Strategy {
    pub const ALL: [Strategy; 5] = [
        Strategy::ServiceRestart,
        Strategy::PortConflict,
        Strategy::ResetFailed,
        Strategy::DependencyRestart,
        Strategy::KillHung,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::ServiceRestart => "service_restart",
            Strategy::PortConflict => "port_conflict",
            Strategy::ResetFailed => "reset_failed",
            Strategy::DependencyRestart => "dependency_restart",
            Strategy::KillHung => "kill_hung",
        }
    }
    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub target: HealthTarget,
    /// Default 200.
    pub expected_status: u16,
    /// Default: `limits.probe_timeout`.
    pub timeout: Duration,
    /// How an https:// URL's certificate is checked.
    pub tls: TlsTrust,
    /// The name the certificate is checked against (and sent as SNI): the service's `domain`
    /// when the URL names an address or localhost (a local endpoint serving the site's
    /// certificate), else `None`: the URL's own host.
    pub server_name: Option<String>,
}

impl Health {
    /// Said after the URL wherever a probe is described, so nobody takes it for verified.
    pub fn trust_note(&self) -> &'static str {
        match self.tls {
            TlsTrust::Unverified => " (certificate not verified: tls_verify is false)",
            _ => "",
        }
    }
}

/// How an https:// health URL's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum TlsTrust {
    /// Against the public web's roots (bundled).
    #[default]
    WebPki,
    /// Against the certificates in this PEM file only: a private CA, or the service's own
    /// (self-signed) certificate (`ca_file`).
    CaFile(PathBuf),
    /// Not at all (`tls_verify: false`): the connection is encrypted, its peer not proven.
    Unverified,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthTarget {
    /// A full http:// or https:// URL.
    Url(String),
    /// A path requested from http://127.0.0.1:<port>.
    Path(String),
    /// A program run with no shell: healthy on exit 0.
    Command(CommandCheck),
}

/// `health.command` (with `health.user`): what to run, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCheck {
    /// The program (an absolute path) and its arguments, never through a shell.
    pub argv: Vec<String>,
    /// The user it runs as, by name; `None`: the daemon's own (root, in its sandbox).
    pub user: Option<String>,
}

impl CommandCheck {
    /// The program, as reports name it: never the arguments, which may hold a password.
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub smtp_host: String,
    /// Default: 25 for `none`, 587 for `starttls`, 465 for `tls`.
    pub smtp_port: u16,
    /// Default `starttls`.
    pub tls: TlsMode,
    pub username: Option<String>,
    /// A root-only file holding the SMTP password; read when sending, never logged.
    pub password_file: Option<PathBuf>,
    pub from: String,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    None,
    Starttls,
    Tls,
}

impl TlsMode {
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s {
            "none" => Some(TlsMode::None),
            "starttls" => Some(TlsMode::Starttls),
            "tls" => Some(TlsMode::Tls),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
        }
    }
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    /// The server check's ping URL (UUID or ping-key/slug form).
    pub ping_url: Secret,
    /// Per-service checks: (service, ping URL).
    pub services: Vec<(ServiceName, Secret)>,
    /// One ping request's timeout. Default 10s.
    pub timeout: Duration,
    /// The whole run, retries included, ends by then (well inside cron's 5 minutes). Default 30s.
    pub deadline: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// How often ports and health URLs are probed. Default 10s.
    pub check_interval: Duration,
    /// Consecutive probe failures before healing starts. Default 2.
    pub failures_before_action: NonZeroU32,
    /// Heal attempts allowed per `heal_window` before the circuit breaker trips. Default 3.
    pub heal_attempts: NonZeroU32,
    /// Default 15m.
    pub heal_window: Duration,
    /// Timeout of one port or HTTP probe. Default 5s.
    pub probe_timeout: Duration,
    /// How long a start or restart may take before it counts as failed. Default 30s.
    pub start_timeout: Duration,
    /// How long a healed service must stay healthy before the heal is verified. Default 3s.
    pub settle_time: Duration,
    /// Time between SIGTERM and SIGKILL when a process must go. Default 5s.
    pub kill_grace: Duration,
    /// Heals running at once across all services; the others wait their turn. Default 4.
    pub max_concurrent_heals: NonZeroU32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            check_interval: Duration::from_secs(10),
            failures_before_action: NonZeroU32::new(2).unwrap(),
            heal_attempts: NonZeroU32::new(3).unwrap(),
            heal_window: Duration::from_secs(15 * 60),
            probe_timeout: Duration::from_secs(5),
            start_timeout: Duration::from_secs(30),
            settle_time: Duration::from_secs(3),
            kill_grace: Duration::from_secs(5),
            max_concurrent_heals: NonZeroU32::new(4).unwrap(),
        }
    }
}

/// Why a service name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceNameError {
    #[error("name is empty")]
    Empty,
    #[error(
        "name {} is not allowed; use up to {} letters, digits and - _ . @, starting with a letter or digit",
        super::quote(.0),
        ServiceName::MAX_LEN
    )]
    NotAllowed(String),
}

/// Why a unit name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitNameError {
    #[error(
        "unit {} is not a valid systemd unit name; use only letters, digits and : _ . - @ (at most 255), e.g. 'passgo.service'",
        super::quote(.0)
    )]
    Charset(String),
    #[error(
        "unit {} has no unit type suffix; write it like {}",
        super::quote(.0),
        super::quote(&format!("{}.service", .0))
    )]
    NoSuffix(String),
    #[error(
        "unit {} is not a valid systemd unit name; it needs a name before '{suffix}'",
        super::quote(unit)
    )]
    NoStem { unit: String, suffix: &'static str },
}

/// A service name: letters, digits and `-_.@`, starting with a letter or digit, so it is safe
/// as a unit name stem, a journal identifier and a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(String);

impl ServiceName {
    pub const MAX_LEN: usize = 64;
    pub fn parse(s: &str) -> Result<ServiceName, ServiceNameError> {
        let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
        if s.is_empty() {
            Err(ServiceNameError::Empty)
        } else if s.len() > Self::MAX_LEN || !first_ok || !rest_ok {
            Err(ServiceNameError::NotAllowed(s.to_string()))
        } else {
            Ok(ServiceName(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A systemd unit name checked against systemd's own rules (unit_name_is_valid): at most 255
/// characters of `[A-Za-z0-9:_.\-@]` (and `\` for escapes) with a known unit type suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitName(String);

impl UnitName {
    const SUFFIXES: [&'static str; 11] = [
        ".service",
        ".socket",
        ".target",
        ".device",
        ".mount",
        ".automount",
        ".swap",
        ".timer",
        ".path",
        ".slice",
        ".scope",
    ];

    pub fn parse(s: &str) -> Result<UnitName, UnitNameError> {
        let chars_ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '-' | '@' | '\\'));
        if s.is_empty() || s.len() > 255 || !chars_ok {
            return Err(UnitNameError::Charset(s.to_string()));
        }
        let Some(suffix) = Self::SUFFIXES.iter().find(|x| s.ends_with(*x)) else {
            return Err(UnitNameError::NoSuffix(s.to_string()));
        };
        if s.len() == suffix.len() || s.starts_with('.') || s.starts_with('-') {
            return Err(UnitNameError::NoStem {
                unit: s.to_string(),
                suffix,
            });
        }
        Ok(UnitName(s.to_string()))
    }
    /// A unit given without suffix means a service: `postgresql` is `postgresql.service`.
    pub fn parse_service_default(s: &str) -> Result<UnitName, UnitNameError> {
        if Self::SUFFIXES.iter().any(|x| s.ends_with(x)) {
            Self::parse(s)
        } else {
            Self::parse(&format!("{s}.service")).map_err(|_| UnitNameError::Charset(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}
