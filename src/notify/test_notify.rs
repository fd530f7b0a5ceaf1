//! `miraclemax-self-heal test-notify`: one test message through email and every configured
//! channel, at once and outside the outbox (nothing is queued or retried: the point is to see
//! what each service answers now), each answer reported on its own line.

use super::channels::{HttpChannel, Mailer, Sender};
use super::outbox::{About, Channel, Outgoing};
use super::report::Email;
use super::{SendError, SetupError};
use crate::config::Config;

/// What one channel answered: its description and the answer or the reason it refused.
pub struct Answer {
    pub channel: String,
    pub result: Result<String, Refusal>,
}

/// Why a channel did not take the test message: it could not be set up, or it refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Sends the test message through email (when configured) and every channel, concurrently.
pub async fn send_all(config: &Config, host: &str, now_ms: u64) -> Vec<Answer> {
    let email = Email {
        subject: format!("🔔 MiracleMax: {host} - TEST"),
        body: format!(
            "This is a test message from miraclemax-self-heal on {host}.\n\
             Reports of healed (RESOLVED) and unhealed (FAILED) services arrive here the same way.\n"
        ),
    };
    let about = About {
        host: host.to_string(),
        service: String::new(),
        outcome: super::outbox::ReportOutcome::Test,
    };
    let id = format!("test-{now_ms}");
    let mut senders: Vec<Result<Sender, (String, SetupError)>> = Vec::new();
    if let Some(e) = &config.email {
        senders.push(
            Mailer::new(e, host)
                .map(Sender::Email)
                .map_err(|e| ("the mail server".into(), e.into())),
        );
    }
    for ch in &config.channels {
        senders.push(HttpChannel::new(ch).map(Sender::Http).map_err(|e| {
            (
                format!("channel '{}' ({})", ch.name, ch.kind.type_name()),
                e.into(),
            )
        }));
    }
    let (id, email, about) = (&id, &email, &about);
    let tries = senders.into_iter().map(|s| async move {
        match s {
            Err((channel, why)) => Answer {
                channel,
                result: Err(why.into()),
            },
            Ok(sender) => {
                let key = sender.first_key(id);
                let out = Outgoing {
                    id,
                    key: &key,
                    email,
                    about,
                    created_ms: now_ms,
                    late_by: None,
                };
                Answer {
                    channel: sender.describe(),
                    result: sender.send(&out).await.map_err(Refusal::from),
                }
            }
        }
    });
    futures_util::future::join_all(tries).await
}
