//! The report of a certificate about to expire, expired or renewed
//! (`templates/email/certificate.txt.j2`, built in), and what it is about for channels.

use super::{Notice, Seen};
use crate::config::{CertificateCheck, Service};
use crate::notify::outbox::{About, ReportOutcome};
use crate::notify::report::{Email, ReportError, render_builtin, utc};
use minijinja::context;

const TEMPLATE: &str = include_str!("../../templates/email/certificate.txt.j2");
const NAME: &str = "certificate.txt.j2";

pub struct Said<'a> {
    pub host: &'a str,
    pub ssh_target: &'a str,
    pub service: &'a Service,
    pub check: &'a CertificateCheck,
    pub seen: &'a Seen,
    pub notice: Notice,
}

impl Said<'_> {
    /// One id per service, certificate and notice: queued twice, sent once.
    pub fn id(&self) -> String {
        format!(
            "{}-certificate-{}-{}",
            self.service.name,
            self.seen.serial,
            self.notice.word().to_lowercase()
        )
    }

    pub fn about(&self) -> About {
        About {
            host: self.host.to_string(),
            service: self.service.name.to_string(),
            outcome: match self.notice {
                Notice::Expiring => ReportOutcome::Warning,
                Notice::Expired => ReportOutcome::Failed,
                Notice::Renewed => ReportOutcome::Recovered,
            },
        }
    }

    /// `expires in 2 days 23 h, on 2026-12-10 11:00:00 UTC`.
    pub fn headline(&self) -> String {
        let name = &self.check.server_name;
        let until = utc(self.seen.not_after_ms);
        match self.notice {
            Notice::Renewed => format!("{name} now has a certificate valid until {until}"),
            Notice::Expired => format!("the certificate for {name} expired on {until}"),
            Notice::Expiring => format!(
                "the certificate for {name} expires in {}, on {until}",
                left(self.seen.not_after_ms.saturating_sub(self.seen.read_ms))
            ),
        }
    }
}

/// `2 days 23 h`, `5 h 12 min`.
fn left(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match days {
        0 => format!("{hours} h {mins} min"),
        1 => format!("1 day {hours} h"),
        d => format!("{d} days {hours} h"),
    }
}

fn manual(s: &Said) -> Vec<String> {
    let c = s.check;
    vec![
        format!("SSH to server: ssh {}", s.ssh_target),
        format!(
            "See the certificate served: openssl s_client -connect {}:{} -servername {} </dev/null | openssl x509 -noout -serial -dates -issuer",
            if c.host.contains(':') { format!("[{}]", c.host) } else { c.host.clone() },
            c.port,
            c.server_name
        ),
        "See why renewal failed in your ACME client's log (certbot: journalctl -u certbot -n 100; traefik: journalctl -u traefik -n 200 | grep -i acme)".into(),
    ]
}

pub fn render(s: &Said) -> Result<Email, ReportError> {
    render_builtin(
        NAME,
        TEMPLATE,
        context! {
            icon => match s.notice {
                Notice::Renewed => "✅",
                Notice::Expired => "❌",
                Notice::Expiring => "⚠️",
            },
            word => s.notice.word(),
            service => s.service.name.as_str(),
            domain => &s.check.server_name,
            host => s.host,
            headline => s.headline(),
            serial => &s.seen.serial,
            issuer => &s.seen.issuer,
            not_after => utc(s.seen.not_after_ms),
            read_from => s.check.shown(),
            read_at => utc(s.seen.read_ms),
            manual => manual(s),
        },
    )
}
