//! The channels reports leave by: email over SMTP (`email`) and HTTP services, each a
//! `Channel` the outbox delivers through. Every HTTP channel sends the email's text (subject
//! as the title, body as the message) in its service's documented form; the per-service
//! files only build the request and judge the answer, so they are tested without a network.

mod chat;
pub mod email;
mod gotify;
mod ntfy;
mod telegram;
mod webhook;

use crate::config::{self, ChannelKind};
use crate::notify::outbox::{Channel, Outgoing, ReportOutcome};
use crate::notify::{ChannelSetupError, SendError};
pub use email::{Mailer, MailerError};
use std::time::Duration;
pub use webhook::signature as webhook_signature;

/// One HTTP request for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// JSON.
    pub body: String,
}

/// The request channel `kind` makes for a report.
pub fn request(kind: &ChannelKind, out: &Outgoing<'_>) -> Request {
    match kind {
        ChannelKind::Ntfy {
            url,
            topic,
            token,
            priority,
        } => ntfy::request(url, topic, token.as_ref(), *priority, out),
        ChannelKind::Webhook {
            url,
            headers,
            secret,
        } => webhook::request(url, headers, secret.as_ref(), out),
        ChannelKind::Chat { flavor, url } => chat::request(*flavor, url, out),
        ChannelKind::Telegram {
            api_url,
            token,
            chat_id,
        } => telegram::request(api_url, token, chat_id, out),
        ChannelKind::Gotify {
            url,
            token,
            priority,
        } => gotify::request(url, token, *priority, out),
    }
}

/// Whether the service accepted the report, from its answer: any 2xx (Telegram: and `ok`).
/// Ok with what to log; Err with a short reason (never the URL, which may hold a credential).
pub fn accepted(kind: &ChannelKind, status: u16, body: &str) -> Result<String, SendError> {
    if !(200..300).contains(&status) {
        let answer = body.trim().chars().take(200).collect();
        return Err(SendError::Refused { status, answer });
    }
    if let ChannelKind::Telegram { .. } = kind {
        return telegram::accepted(status, body);
    }
    Ok(format!("HTTP {status}"))
}

/// The report's text as one message: subject, a blank line, the body.
fn text(out: &Outgoing<'_>) -> String {
    format!("{}\n\n{}", out.email.subject, out.email.body)
}

/// A FAILED report or a CRITICAL host check (urgent): from what it is about, or for reports
/// queued before that was recorded, from its subject.
fn failed(out: &Outgoing<'_>) -> bool {
    match out.about.outcome {
        ReportOutcome::None => out.email.subject.contains("FAILED"),
        o => o == ReportOutcome::Failed || o == ReportOutcome::Critical,
    }
}

/// `s` cut to at most `limit` characters, saying so at the end when it was cut.
fn truncate(s: &str, limit: usize) -> String {
    const NOTE: &str = "\n[... cut to fit; the whole report is in the email and the journal]";
    if s.chars().count() <= limit {
        return s.to_string();
    }
    let keep = limit - NOTE.chars().count();
    let mut cut: String = s.chars().take(keep).collect();
    cut.push_str(NOTE);
    cut
}

fn json_header() -> (String, String) {
    ("Content-Type".into(), "application/json".into())
}

/// One HTTP request's time limit.
const TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTP channel: its settings and a client (TLS roots loaded once, when it is made).
pub struct HttpChannel {
    name: String,
    kind: ChannelKind,
    client: reqwest::Client,
}

impl HttpChannel {
    /// Builds the client: blocking work (certificate roots), for the blocking pool.
    pub fn new(ch: &config::Channel) -> Result<HttpChannel, ChannelSetupError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("miraclemax/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ChannelSetupError {
                name: ch.name.clone(),
                source,
            })?;
        Ok(HttpChannel {
            name: ch.name.clone(),
            kind: ch.kind.clone(),
            client,
        })
    }
}

impl Channel for HttpChannel {
    fn describe(&self) -> String {
        format!("channel '{}' ({})", self.name, self.kind.type_name())
    }

    fn first_key(&self, id: &str) -> String {
        id.to_string()
    }

    async fn send(&self, out: &Outgoing<'_>) -> Result<String, SendError> {
        let req = request(&self.kind, out);
        let mut b = self.client.post(&req.url).body(req.body);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        // reqwest's errors name the URL, which may hold the credential: SendError drops it.
        let resp = b.send().await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        accepted(&self.kind, status, &body)
    }
}

/// Any channel, for the daemon's delivery tasks and `test-notify`.
pub enum Sender {
    Email(Mailer),
    Http(HttpChannel),
}

impl Channel for Sender {
    fn describe(&self) -> String {
        match self {
            Sender::Email(m) => m.describe(),
            Sender::Http(h) => h.describe(),
        }
    }

    fn first_key(&self, id: &str) -> String {
        match self {
            Sender::Email(m) => m.first_key(id),
            Sender::Http(h) => h.first_key(id),
        }
    }

    async fn send(&self, out: &Outgoing<'_>) -> Result<String, SendError> {
        match self {
            Sender::Email(m) => Channel::send(m, out).await,
            Sender::Http(h) => Channel::send(h, out).await,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::notify::outbox::{About, Outgoing};
    use crate::notify::report::Email;

    pub fn email(outcome: &str) -> Email {
        Email {
            subject: format!("❌ MiracleMax: traefik - {outcome}"),
            body: "Service: traefik\nStatus: STILL DOWN\n".into(),
        }
    }

    pub fn about(outcome: &str) -> About {
        About {
            host: "lab1".into(),
            service: "traefik".into(),
            outcome: outcome.into(),
        }
    }

    pub fn out<'a>(email: &'a Email, about: &'a About) -> Outgoing<'a> {
        Outgoing {
            id: "20261206T070000-traefik-failed",
            key: "20261206T070000-traefik-failed",
            email,
            about,
            created_ms: 1_796_540_400_000,
            late_by: None,
        }
    }

    pub fn json(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn a_long_text_is_cut_with_a_note_within_the_limit() {
        let long = "x".repeat(5000);
        let cut = super::truncate(&long, 2000);
        assert_eq!(cut.chars().count(), 2000);
        assert!(cut.ends_with("the whole report is in the email and the journal]"));
        assert_eq!(super::truncate("short", 2000), "short");
    }

    #[test]
    fn only_2xx_is_accepted_and_the_reason_is_short() {
        let kind = crate::config::ChannelKind::Chat {
            flavor: crate::config::ChatFlavor::Slack,
            url: crate::config::Secret::new("https://h.example/x"),
        };
        assert_eq!(super::accepted(&kind, 200, "ok").unwrap(), "HTTP 200");
        let e = super::accepted(&kind, 500, &"boom ".repeat(100))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("HTTP 500: boom") && e.len() < 220, "{e}");
    }
}
