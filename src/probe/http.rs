//! The HTTP health probe: one GET with a timeout, healthy when the status is the expected one.

use std::time::Duration;

/// What one probe saw, phrased for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    Healthy,
    WrongStatus(u16),
    Failed(String),
}

pub async fn check(
    client: &reqwest::Client,
    url: &str,
    expected: u16,
    timeout: Duration,
) -> HttpOutcome {
    match client.get(url).timeout(timeout).send().await {
        Ok(r) if r.status().as_u16() == expected => HttpOutcome::Healthy,
        Ok(r) => HttpOutcome::WrongStatus(r.status().as_u16()),
        Err(e) if e.is_timeout() => HttpOutcome::Failed(format!("no answer within {timeout:?}")),
        Err(e) => HttpOutcome::Failed(root_cause(&e)),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl HttpOutcome {
    pub fn describe(&self, url: &str, expected: u16) -> String {
        match self {
            HttpOutcome::Healthy => format!("{url} answered {expected}"),
            HttpOutcome::WrongStatus(s) => format!("{url} answered {s}, expected {expected}"),
            HttpOutcome::Failed(why) => format!("{url} failed: {why}"),
        }
    }
}

/// A client for probes: no redirects followed, no connection reuse between probes.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("a TLS backend is compiled in")
}
