//! What the end-to-end tests share: a real SMTP server on a test host's network (Debian's
//! aiosmtpd storing into a Maildir), and installing the daemon on a testbed host the way the
//! playbooks do (binaries, config, systemd unit).
#![allow(dead_code)]

use miraclemax::testbed::Host;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SMTP_PORT: u16 = 2525;

pub struct Smtp {
    ip: Ipv4Addr,
    pub maildir: PathBuf,
    child: Option<Child>,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub body: String,
    pub to: String,
}

impl Smtp {
    /// Starts an SMTP server on the machine side of a test host's network.
    pub fn start(ip: Ipv4Addr) -> Smtp {
        let maildir = std::env::temp_dir().join(format!("mm-maildir-{ip}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&maildir);
        let mut s = Smtp {
            ip,
            maildir,
            child: None,
        };
        s.resume();
        s
    }

    /// Stops the server (mail sent now fails), keeping what it received.
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn resume(&mut self) {
        let listen = format!("{}:{SMTP_PORT}", self.ip);
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &listen,
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&self.maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed by scripts/install-deps");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect((self.ip, SMTP_PORT)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SMTP server on {listen} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .flat_map(|d| {
                std::fs::read_dir(self.maildir.join(d))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .map(|e| e.path())
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| parse(&std::fs::read(p).ok()?))
            .collect()
    }

    /// Waits for a message whose subject is `subject`; returns it.
    pub fn wait_for(&self, subject: &str, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| m.subject == subject) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no email '{subject}' within {timeout:?}; got: {:?}",
                self.messages()
                    .iter()
                    .map(|m| &m.subject)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn count(&self, subject: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| m.subject == subject)
            .count()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn parse(raw: &[u8]) -> Option<Mail> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    Some(Mail {
        subject: m.subject()?.to_string(),
        body: m.body_text(0)?.replace("\r\n", "\n"),
        to: m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string(),
    })
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The agent config used by the end-to-end tests: fast intervals, email to the host's SMTP.
pub fn test_config(host: &Host, services: &str) -> String {
    format!(
        "host: {name}\n\
         monitored_services:\n{services}\
         notifications:\n  email:\n    smtp_host: {gw}\n    smtp_port: {SMTP_PORT}\n    tls: none\n    \
         from: miraclemax@{name}.test\n    to: [ops@example.org]\n\
         limits:\n  check_interval: 1s\n  settle_time: 1s\n  kill_grace: 2s\n  start_timeout: 10s\n  probe_timeout: 1s\n",
        name = host.name,
        gw = host.gateway(),
    )
}

pub const EXAMPLE: &str = "  - name: example\n    port: 8080\n    domain: example.lab.test\n    \
    health: {path: /health}\n    healing_strategies: [service_restart, port_conflict, kill_hung]\n";

/// Installs the daemon as the playbook will: binaries, config, unit; starts it.
pub fn install_daemon(host: &Host, config: &str) {
    for bin in [
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        env!("CARGO_BIN_EXE_miraclemax-status"),
    ] {
        let name = Path::new(bin).file_name().unwrap().to_str().unwrap();
        host.copy(Path::new(bin), &format!("/usr/local/bin/{name}"))
            .unwrap();
    }
    host.write("/etc/miraclemax/config.yaml", config).unwrap();
    let unit = std::fs::read_to_string(repo("templates/miraclemax-self-heal.service")).unwrap();
    host.write("/etc/systemd/system/miraclemax-self-heal.service", &unit)
        .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&[
        "systemctl",
        "enable",
        "--now",
        "miraclemax-self-heal.service",
    ])
    .unwrap();
    wait_until(
        Duration::from_secs(20),
        "the daemon to be active and looking",
        || {
            host.ssh(&["test", "-e", "/var/lib/miraclemax/alive"])
                .map(|o| o.status.success())
                .unwrap_or(false)
        },
    );
}

pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn is_active(host: &Host, unit: &str) -> String {
    let out = host.ssh(&["systemctl", "is-active", unit]).unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The daemon's events for a service, as `event` names, from the host's events log.
pub fn events(host: &Host, service: &str) -> Vec<String> {
    let text = host
        .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["service"] == service)
        .map(|v| v["event"].as_str().unwrap_or("").to_string())
        .collect()
}
