//! The generic webhook: `POST url` with a documented JSON object (docs/configuration.md):
//! `{id, host, service, outcome, subject, body, created, late_by}`. With a `secret`, the body is
//! signed: `X-MiracleMax-Signature: sha256=HEX` is HMAC-SHA256 of the exact body bytes under the
//! secret, so a receiver can tell the report came from a holder of it. `X-MiracleMax-Delivery`
//! carries the report id, the same on every attempt, so a receiver can drop a repeat.

use super::{Request, json_header};
use crate::config::Secret;
use crate::notify::outbox::Outgoing;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

pub fn request(
    url: &Secret,
    headers: &[(String, Secret)],
    secret: Option<&Secret>,
    out: &Outgoing<'_>,
) -> Request {
    let created = UNIX_EPOCH + Duration::from_millis(out.created_ms);
    let body = json!({
        "id": out.id,
        "host": out.about.host,
        "service": out.about.service,
        "outcome": out.about.outcome,
        "subject": out.email.subject,
        "body": out.email.body,
        "created": humantime::format_rfc3339_seconds(created).to_string(),
        "late_by": out.late_by.map(|d| d.as_secs()),
    })
    .to_string();
    let mut h = vec![
        json_header(),
        ("X-MiracleMax-Delivery".to_string(), out.key.to_string()),
    ];
    if let Some(s) = secret {
        h.push(("X-MiracleMax-Signature".into(), signature(s, &body)));
    }
    h.extend(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    Request {
        url: url.expose().to_string(),
        headers: h,
        body,
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &Secret, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{about, email, json, out};
    use super::*;

    #[test]
    fn the_payload_is_the_documented_object_signed_with_the_secret() {
        let (e, a) = (email("FAILED"), about("FAILED"));
        let mut o = out(&e, &a);
        o.late_by = Some(Duration::from_secs(301));
        let r = request(
            &Secret::new("https://hooks.example.org/mm"),
            &[("Authorization".into(), Secret::new("Bearer t"))],
            Some(&Secret::new("shh")),
            &o,
        );
        assert_eq!(
            json(&r.body),
            json!({
                "id": "20261206T070000-traefik-failed",
                "host": "lab1",
                "service": "traefik",
                "outcome": "FAILED",
                "subject": "❌ MiracleMax: traefik - FAILED",
                "body": "Service: traefik\nStatus: STILL DOWN\n",
                "created": "2026-12-06T07:00:00Z",
                "late_by": 301,
            })
        );
        let header = |k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("Authorization").as_deref(), Some("Bearer t"));
        assert_eq!(
            header("X-MiracleMax-Delivery").as_deref(),
            Some("20261206T070000-traefik-failed")
        );
        assert_eq!(
            header("X-MiracleMax-Signature"),
            Some(signature(&Secret::new("shh"), &r.body))
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(&Secret::new("Jefe"), "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
