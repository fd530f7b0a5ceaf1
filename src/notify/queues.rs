//! The outbox's queues as everything outside the delivery tasks names them: email's (the outbox
//! folder itself, where reports queued before channels existed wait) and one per channel
//! (`outbox/channel-NAME/`). The daemon's routes, `miraclemax-status`, the heartbeat and the
//! metrics file all take their list from here, so none of them counts email's queue alone.

use super::outbox::{Queued, waiting};
use crate::config::Config;
use crate::heal::incident::human;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Email's queue name (a channel may not take it: the configuration refuses it).
pub const EMAIL: &str = "email";

/// One queue of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// `email` or the channel's name: the metrics' `channel` label, the state's key.
    pub name: String,
    /// How reports and logs name it: "the mail server", "channel 'phone' (ntfy)".
    pub describe: String,
    pub dir: PathBuf,
}

/// A channel's queue folder inside the outbox folder.
pub fn channel_dir(outbox: &Path, channel: &str) -> PathBuf {
    outbox.join(format!("channel-{channel}"))
}

/// The queues of a configuration, email's first.
pub fn of(config: &Config, outbox: &Path) -> Vec<Queue> {
    let email = config.email.as_ref().map(|_| Queue {
        name: EMAIL.into(),
        describe: "the mail server".into(),
        dir: outbox.to_path_buf(),
    });
    email
        .into_iter()
        .chain(config.channels.iter().map(|c| Queue {
            name: c.name.clone(),
            describe: format!("channel '{}' ({})", c.name, c.kind.type_name()),
            dir: channel_dir(outbox, &c.name),
        }))
        .collect()
}

/// The queue names of a configuration (`email` first when email is set up): the metrics'
/// `channel` label values.
pub fn names(config: &Config) -> Vec<&str> {
    let email = config.email.as_ref().map(|_| EMAIL);
    email
        .into_iter()
        .chain(config.channels.iter().map(|c| c.name.as_str()))
        .collect()
}

/// What waits in one queue, read from its folder (by a reader outside the daemon).
#[derive(Debug, Clone)]
pub struct Waiting {
    pub queue: Queue,
    /// Oldest first.
    pub reports: Vec<Queued>,
}

impl Waiting {
    /// The oldest report the channel has refused at least once (one not yet tried is on its
    /// way, not stuck).
    pub fn oldest_refused(&self) -> Option<&Queued> {
        self.reports.iter().find(|q| q.attempts > 0)
    }

    /// "2 report(s) waiting for channel 'phone' (ntfy), the oldest for 41m: 503 ..." once the
    /// oldest refused report has waited longer than `late`; `None` before.
    pub fn late(&self, now_ms: u64, late: Duration) -> Option<String> {
        let oldest = self.oldest_refused()?;
        let age = Duration::from_millis(now_ms.saturating_sub(oldest.created_ms));
        (age > late).then(|| {
            format!(
                "{} report(s) waiting for {}, the oldest for {}: it refused or could not be reached ({})",
                self.reports.len(),
                self.queue.describe,
                human(age),
                oldest.last_error.as_deref().unwrap_or("no error recorded")
            )
        })
    }
}

/// Every queue of the configuration with what waits in it.
pub fn waiting_in(config: &Config, outbox: &Path) -> Vec<Waiting> {
    of(config, outbox)
        .into_iter()
        .map(|queue| Waiting {
            reports: waiting(&queue.dir),
            queue,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        crate::config::parse(yaml, Path::new("config.yaml")).unwrap()
    }

    #[test]
    fn email_comes_first_then_each_channel_in_its_own_folder() {
        let c = config(
            "monitored_services: []\nnotifications:\n  email: {smtp_host: localhost, from: a@b.c, to: [d@e.f]}\n  \
             channels:\n    - {type: ntfy, name: phone, url: 'https://ntfy.example', topic: t}\n    \
             - {type: discord, url: 'https://discord.example/api/webhooks/1/x'}\n",
        );
        let q = of(&c, Path::new("/var/lib/miraclemax/outbox"));
        let seen: Vec<(&str, &str, &Path)> = q
            .iter()
            .map(|q| (q.name.as_str(), q.describe.as_str(), q.dir.as_path()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "email",
                    "the mail server",
                    Path::new("/var/lib/miraclemax/outbox")
                ),
                (
                    "phone",
                    "channel 'phone' (ntfy)",
                    Path::new("/var/lib/miraclemax/outbox/channel-phone")
                ),
                (
                    "discord",
                    "channel 'discord' (discord)",
                    Path::new("/var/lib/miraclemax/outbox/channel-discord")
                ),
            ]
        );
    }
}
