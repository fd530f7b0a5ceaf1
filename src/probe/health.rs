//! A service's health check, whichever kind it is: an HTTP request (`url`, `path`) or a
//! program (`command`). The look and the heal's verification both ask it here, so both judge
//! the same way and say it in the same words.

use super::command::{self, CommandOutcome};
use super::http::{self, HttpOutcome};
use crate::config::{HealthTarget, Service};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// What passed, as a look's summary says it: "http://127.0.0.1:8080/ answered 200".
    Healthy(String),
    /// The HTTP probe failed: why.
    HttpFailed(String),
    /// The check command failed or hung: why.
    CommandFailed(String),
    /// The check command could not be started (no such program, no such user): nothing is
    /// known of the service, so nothing is done about it. Why.
    NotRun(String),
}

/// The service's health check, run once; `None` when it has none.
pub async fn check(client: &http::Client, svc: &Service) -> Option<Verdict> {
    let h = svc.health.as_ref()?;
    let url = match &h.target {
        HealthTarget::Command(c) => {
            let outcome = command::run(c, h.timeout).await;
            let said = outcome.describe(c, h.timeout);
            return Some(match outcome {
                CommandOutcome::Passed => Verdict::Healthy(said),
                CommandOutcome::NotRun(_) => Verdict::NotRun(said),
                CommandOutcome::Failed { .. } | CommandOutcome::TimedOut { .. } => {
                    Verdict::CommandFailed(said)
                }
            });
        }
        HealthTarget::Url(u) => u.clone(),
        HealthTarget::Path(p) => {
            format!("http://127.0.0.1:{}{p}", svc.port.map_or(0, |p| p.get()))
        }
    };
    Some(match http::check(client, &url, h).await {
        HttpOutcome::Healthy => Verdict::Healthy(format!(
            "{url}{} answered {}",
            h.trust_note(),
            h.expected_status
        )),
        bad => Verdict::HttpFailed(bad.describe(&url, h.expected_status)),
    })
}
