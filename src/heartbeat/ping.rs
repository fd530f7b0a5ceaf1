//! The Healthchecks ping: one POST with the summary as its body, success only when the server
//! answers 200 "OK" (or 201 "Created" for `?create=1` slug URLs). Connection errors, timeouts,
//! 408, 429 and 5xx are retried with backoff, all inside the run's hard deadline. Redirects are
//! refused, not followed: a 301/302 turns a POST into a GET without its body (Healthchecks then
//! records a ping without the `/fail` reason and answers "OK"), and following one would send
//! the secret URL wherever it points. The ping URL is a secret: it never appears in results,
//! errors or logs. Every request says who sent it: `User-Agent: miraclemax-heartbeat/<version>`.

use crate::config::Secret;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Success,
    Fail,
}

#[derive(Debug, Clone)]
pub struct PingResult {
    pub delivered: bool,
    /// The last HTTP status seen, if any.
    pub status: Option<u16>,
    /// Why it was not delivered (never contains the URL).
    pub error: Option<String>,
    pub attempts: u32,
    pub latency: Duration,
}

/// `BASE[/fail]?rid=<run id>`, keeping a query the URL already has (`?create=1`).
pub fn url_for(base: &str, signal: Signal, rid: &str) -> String {
    let (path, query) = base
        .split_once('?')
        .map_or((base, None), |(p, q)| (p, Some(q)));
    let path = path.trim_end_matches('/');
    let suffix = if signal == Signal::Fail { "/fail" } else { "" };
    match query {
        Some(q) if !q.is_empty() => format!("{path}{suffix}?{q}&rid={rid}"),
        _ => format!("{path}{suffix}?rid={rid}"),
    }
}

/// What the server's access log shows for each ping.
pub const USER_AGENT: &str = concat!("miraclemax-heartbeat/", env!("CARGO_PKG_VERSION"));

/// The client every ping of a run shares: no redirects, our User-Agent.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()
        .expect("a TLS backend is compiled in")
}

fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

pub async fn ping(
    client: &reqwest::Client,
    url: &Secret,
    signal: Signal,
    body: &str,
    rid: &str,
    timeout: Duration,
    deadline: Instant,
) -> PingResult {
    let target = url_for(url.expose(), signal, rid);
    let started = Instant::now();
    let mut result = PingResult {
        delivered: false,
        status: None,
        error: None,
        attempts: 0,
        latency: Duration::ZERO,
    };
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let last = result.error.take().unwrap_or_else(|| "no attempt".into());
            result.error = Some(format!(
                "gave up at the deadline after {} attempt(s); last: {last}",
                result.attempts
            ));
            break;
        }
        result.attempts += 1;
        let send = client
            .post(&target)
            .body(body.to_string())
            .timeout(timeout.min(remaining))
            .send();
        let retry = match send.await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                result.status = Some(status);
                if resp.status().is_redirection() {
                    // Only scheme and host: the Location carries the check's secret path.
                    let to = resp
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .map_or("an unnamed address".into(), |l| Secret::new(l).redacted());
                    result.error = Some(format!(
                        "HTTP {status} redirect to {to} refused (a redirected ping can lose its \
                         body): set the ping URL to the address it redirects to"
                    ));
                    break;
                }
                // "OK" is all a ping's reply need say.
                let text = capped_text(resp, 1024).await;
                let reply = text.trim();
                if (status == 200 && reply == "OK") || (status == 201 && reply == "Created") {
                    result.delivered = true;
                    result.error = None;
                    break;
                }
                let shown: String = reply.chars().take(80).collect();
                result.error = Some(format!("HTTP {status} \"{shown}\""));
                retryable(status)
            }
            Err(e) => {
                result.error = Some(describe(&e.without_url()));
                true
            }
        };
        if !retry {
            break;
        }
        let backoff = crate::backoff::doubling(
            Duration::from_millis(500),
            result.attempts,
            Duration::from_secs(8),
        );
        tokio::time::sleep(backoff.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    result.latency = started.elapsed();
    result
}

/// A reply's body, read only up to `limit` bytes: a server answering with something huge (a
/// proxy's error page, garbage) costs no more memory than that.
pub(crate) async fn capped_text(mut resp: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())])
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_form_and_gain_a_run_id() {
        let u = "https://hc-ping.com/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        assert_eq!(url_for(u, Signal::Success, "r1"), format!("{u}?rid=r1"));
        assert_eq!(url_for(u, Signal::Fail, "r1"), format!("{u}/fail?rid=r1"));
        let slug = "https://hc.example.org/ping/key123/web-1/?create=1";
        assert_eq!(
            url_for(slug, Signal::Fail, "r2"),
            "https://hc.example.org/ping/key123/web-1/fail?create=1&rid=r2"
        );
    }
}
