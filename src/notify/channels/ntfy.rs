//! ntfy: `POST` to the server's root with a JSON body naming the topic (ntfy's "publish as
//! JSON"), the report's subject as title; priority and tags from the outcome.

use super::{Request, failed, json_header};
use crate::config::Secret;
use crate::notify::outbox::Outgoing;
use serde_json::json;

pub fn request(
    url: &str,
    topic: &str,
    token: Option<&Secret>,
    priority: Option<u8>,
    out: &Outgoing<'_>,
) -> Request {
    let (default, tags) = if failed(out) {
        (5, ["rotating_light", "failed"])
    } else {
        (3, ["white_check_mark", "resolved"])
    };
    let body = json!({
        "topic": topic,
        "title": out.email.subject,
        "message": out.email.body,
        "priority": priority.unwrap_or(default),
        "tags": tags,
    });
    let mut headers = vec![json_header()];
    if let Some(t) = token {
        headers.push(("Authorization".into(), format!("Bearer {}", t.expose())));
    }
    Request {
        url: url.to_string(),
        headers,
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{about, email, json, out};
    use super::*;

    #[test]
    fn a_failed_report_is_urgent_and_a_resolved_one_default() {
        let (e, a) = (email("FAILED"), about("FAILED"));
        let r = request("https://ntfy.example.org", "ops", None, None, &out(&e, &a));
        assert_eq!(r.url, "https://ntfy.example.org");
        let b = json(&r.body);
        assert_eq!(b["topic"], "ops");
        assert_eq!(b["title"], "❌ MiracleMax: traefik - FAILED");
        assert_eq!(b["message"], "Service: traefik\nStatus: STILL DOWN\n");
        assert_eq!(b["priority"], 5);
        assert_eq!(b["tags"], json!(["rotating_light", "failed"]));
        assert!(!r.headers.iter().any(|(k, _)| k == "Authorization"));

        let (e, a) = (email("RESOLVED"), about("RESOLVED"));
        let token = Secret::new("tk_1");
        let r = request("https://n", "ops", Some(&token), Some(4), &out(&e, &a));
        let b = json(&r.body);
        assert_eq!(
            (b["priority"].clone(), b["tags"][1].clone()),
            (json!(4), json!("resolved"))
        );
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Bearer tk_1".into()))
        );
    }
}
