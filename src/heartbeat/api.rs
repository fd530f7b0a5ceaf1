//! The Healthchecks Management API v3, the calls the `healthchecks_check` module makes. Every
//! call has a timeout; 429 is retried with backoff; every other error names its cause (bad
//! key, validation, plan limit, unreachable) in words an operator can act on. The API key is
//! sent only in the X-Api-Key header and never appears in an error.

use serde_json::Value;
use std::time::Duration;

pub const HOSTED: &str = "https://healthchecks.io/api/v3";

/// The most of a reply that is read (a list of checks is a few hundred kilobytes at most).
const MAX_REPLY: usize = 4 << 20;

/// Why a call to the Management API did not give what was asked. `base` is the API's address as
/// configured (it holds no key: the key travels in a header only).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `why` is the innermost cause (DNS, refused, TLS, timeout).
    #[error("cannot reach Healthchecks at {base}: {why}")]
    Unreachable { base: String, why: String },
    #[error(
        "Healthchecks at {base} answered HTTP {status} with something that is not the \
         API's JSON (is api_url the Management API, e.g. .../api/v3?)"
    )]
    NotJson { base: String, status: u16 },
    /// `server` is the server's own words (its `error`, or the start of its body).
    #[error(
        "Healthchecks rejected the API key ({server}): use the project's read-write API key from its Settings page"
    )]
    BadKey { server: String },
    #[error("Healthchecks refused the check's settings: {server}")]
    Invalid { server: String },
    #[error("Healthchecks refused: the plan's limit on checks is reached ({server})")]
    PlanLimit { server: String },
    #[error("Healthchecks rate limit: still 429 after 4 attempts; try again in a minute")]
    RateLimited,
    #[error("Healthchecks answered 404 Not Found for {method}: is api_url ({base}) right?")]
    NotFound {
        method: reqwest::Method,
        base: String,
    },
    #[error(
        "Healthchecks at {base} redirected ({status}); set api_url to the final address (https://...)"
    )]
    Redirected { base: String, status: u16 },
    #[error("Healthchecks answered HTTP {status} for {method}")]
    Status {
        status: u16,
        method: reqwest::Method,
    },
    #[error("Healthchecks answered the upsert without a check uuid: is the API key read-write?")]
    NoUuid,
}

pub struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            // No redirects: a redirect would resend the key, possibly elsewhere or in clear,
            // and turn a POST into a GET whose answer looks like success.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a TLS backend is compiled in"),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ApiError> {
        let url = format!("{}{path}", self.base);
        for attempt in 1..=4 {
            let mut req = self
                .client
                .request(method.clone(), &url)
                .header("X-Api-Key", &self.key);
            if let Some(b) = body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.to_string());
            }
            let resp = req.send().await.map_err(|e| ApiError::Unreachable {
                base: self.base.clone(),
                why: root(&e.without_url()),
            })?;
            let status = resp.status().as_u16();
            let json_reply = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("application/json"));
            // A check's JSON is a few kilobytes; a list of them, a few hundred.
            let text = super::ping::capped_text(resp, MAX_REPLY).await;
            if status == 429 && attempt < 4 {
                let wait = crate::backoff::doubling(Duration::from_secs(1), attempt, Duration::MAX);
                tokio::time::sleep(wait).await;
                continue;
            }
            let json: Option<Value> = serde_json::from_str(&text).ok();
            let server: String = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(|e| e.as_str())
                .unwrap_or(text.trim())
                .chars()
                .take(200)
                .collect();
            let base = self.base.clone();
            return match (status, json) {
                (200 | 201, Some(json @ Value::Object(_))) if json_reply => Ok((status, json)),
                (200 | 201, _) => Err(ApiError::NotJson { base, status }),
                (status, _) => Err(match status {
                    401 => ApiError::BadKey { server },
                    400 => ApiError::Invalid { server },
                    403 => ApiError::PlanLimit { server },
                    429 => ApiError::RateLimited,
                    404 => ApiError::NotFound { method, base },
                    300..=399 => ApiError::Redirected { base, status },
                    status => ApiError::Status { status, method },
                }),
            };
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// The check with this slug, if there is one.
    pub async fn find_by_slug(&self, slug: &str) -> Result<Option<Value>, ApiError> {
        let (_, v) = self
            .call(reqwest::Method::GET, &format!("/checks/?slug={slug}"), None)
            .await?;
        Ok(v["checks"].as_array().and_then(|a| a.first().cloned()))
    }

    /// Creates or updates (upsert on slug). Returns the check as the server has it.
    pub async fn upsert(&self, fields: &Value) -> Result<Value, ApiError> {
        let (_, v) = self
            .call(reqwest::Method::POST, "/checks/", Some(fields))
            .await?;
        if v["uuid"].as_str().is_none() {
            return Err(ApiError::NoUuid);
        }
        Ok(v)
    }

    pub async fn resume(&self, uuid: &str) -> Result<Value, ApiError> {
        self.check_action(uuid, "resume").await
    }

    pub async fn delete(&self, uuid: &str) -> Result<(), ApiError> {
        self.call(reqwest::Method::DELETE, &format!("/checks/{uuid}"), None)
            .await
            .map(|_| ())
    }

    pub async fn pause(&self, uuid: &str) -> Result<Value, ApiError> {
        self.check_action(uuid, "pause").await
    }

    /// POST /checks/<uuid>/<action> (pause, resume): the check as the server now has it.
    async fn check_action(&self, uuid: &str, action: &str) -> Result<Value, ApiError> {
        let path = format!("/checks/{uuid}/{action}");
        let (_, v) = self.call(reqwest::Method::POST, &path, None).await?;
        Ok(v)
    }

    /// The project's integrations: (id, name).
    pub async fn channels(&self) -> Result<Vec<(String, String)>, ApiError> {
        let (_, v) = self.call(reqwest::Method::GET, "/channels/", None).await?;
        Ok(v["channels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            c["id"].as_str().unwrap_or("").to_string(),
                            c["name"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
