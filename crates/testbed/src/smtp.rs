//! A real SMTP server for tests and the demo: Debian's aiosmtpd, listening on the machine side
//! of a test host's network and storing every message in a Maildir that is read back here.

use anyhow::{Context, Result, bail};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SMTP_PORT: u16 = 2525;

const SERVER: &str = include_str!("files/smtp-server.py");

pub struct Smtp {
    ip: Ipv4Addr,
    pub maildir: PathBuf,
    child: Option<Child>,
    /// The user and password it requires (AUTH), if any.
    auth: Option<(String, String)>,
}

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub body: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
}

impl Smtp {
    /// Starts a server on `ip`:2525 (a test host's gateway address).
    pub fn start(ip: Ipv4Addr) -> Result<Smtp> {
        Smtp::serve(ip, None)
    }

    /// Starts a server that requires AUTH with exactly this user and password.
    pub fn start_with_auth(ip: Ipv4Addr, user: &str, password: &str) -> Result<Smtp> {
        Smtp::serve(ip, Some((user.to_string(), password.to_string())))
    }

    fn serve(ip: Ipv4Addr, auth: Option<(String, String)>) -> Result<Smtp> {
        let maildir = std::env::temp_dir().join(format!("mm-maildir-{ip}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&maildir);
        let mut s = Smtp {
            ip,
            maildir,
            child: None,
            auth,
        };
        s.resume()?;
        Ok(s)
    }

    /// Stops the server (mail sent now fails), keeping what it received.
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections are still accepted by the kernel, but nothing
    /// answers, so a client is caught inside the SMTP exchange. `thaw` lets it go on.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg(sig)
                .arg(c.id().to_string())
                .status();
        }
    }

    pub fn resume(&mut self) -> Result<()> {
        let listen = format!("{}:{SMTP_PORT}", self.ip);
        // Another server there (one left by a killed test process) would take our mail and
        // make every test that reads it fail for no visible reason: say so instead.
        if TcpStream::connect((self.ip, SMTP_PORT)).is_ok() {
            bail!(
                "something already listens on {listen}, probably an SMTP server left by a killed \
                 test process: pkill -f 'mm-smtp-server.* {listen}'"
            );
        }
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script()?).arg(&listen).arg(&self.maildir);
        if let Some((user, password)) = &self.auth {
            cmd.env("MM_SMTP_USER", user)
                .env("MM_SMTP_PASSWORD", password);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start aiosmtpd (Debian's python3-aiosmtpd; scripts/install-deps installs it)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect((self.ip, SMTP_PORT)).is_err() {
            if Instant::now() > deadline {
                bail!("the SMTP server on {listen} did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Every message received so far, oldest first.
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

    /// Waits for a message with this subject.
    pub fn wait_for(&self, subject: &str, timeout: Duration) -> Result<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| m.subject == subject) {
                return Ok(m);
            }
            if Instant::now() > deadline {
                let got: Vec<String> = self.messages().into_iter().map(|m| m.subject).collect();
                bail!("no email '{subject}' within {timeout:?}; got: {got:?}");
            }
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

/// The server's script, written once per test process where python can run it.
fn script() -> Result<PathBuf> {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(p) = PATH.get() {
        return Ok(p.clone());
    }
    let path = std::env::temp_dir().join(format!("mm-smtp-server-{}.py", std::process::id()));
    std::fs::write(&path, SERVER).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(PATH.get_or_init(|| path).clone())
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn parse(raw: &[u8]) -> Option<Mail> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    let addr = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string()
    };
    Some(Mail {
        subject: m.subject()?.to_string(),
        body: m.body_text(0)?.replace("\r\n", "\n"),
        from: addr(m.from()),
        to: addr(m.to()),
        message_id: m.message_id().unwrap_or_default().to_string(),
    })
}
