//! `miraclemax-self-heal test-notify`: one test message through email and every configured
//! channel, at once and outside the outbox (nothing is queued or retried: the point is to see
//! what each service answers now), each answer reported on its own line.

use super::channels::{HttpChannel, Mailer, Sender};
use super::outbox::{About, Channel, Outgoing};
use super::report::Email;
use crate::config::Config;

/// What one channel answered: its description and the answer or the reason it refused.
pub struct Answer {
    pub channel: String,
    pub result: Result<String, String>,
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
        outcome: "TEST".into(),
    };
    let id = format!("test-{now_ms}");
    let mut senders: Vec<Result<Sender, (String, String)>> = Vec::new();
    if let Some(e) = &config.email {
        senders.push(
            Mailer::new(e, host)
                .map(Sender::Email)
                .map_err(|e| ("the mail server".into(), e.to_string())),
        );
    }
    for ch in &config.channels {
        senders.push(HttpChannel::new(ch).map(Sender::Http).map_err(|e| {
            (
                format!("channel '{}' ({})", ch.name, ch.kind.type_name()),
                e,
            )
        }));
    }
    let tries = senders.iter().map(|s| async {
        match s {
            Err((channel, why)) => Answer {
                channel: channel.clone(),
                result: Err(why.clone()),
            },
            Ok(sender) => {
                let key = sender.first_key(&id);
                let out = Outgoing {
                    id: &id,
                    key: &key,
                    email: &email,
                    about: &about,
                    created_ms: now_ms,
                    late_by: None,
                };
                Answer {
                    channel: sender.describe(),
                    result: sender.send(&out).await,
                }
            }
        }
    });
    futures_util::future::join_all(tries).await
}
