//! Gotify: `POST {url}/message` with the application token in `X-Gotify-Key` and a JSON body
//! (title, message, priority: FAILED 8, RESOLVED 5 unless the channel sets one).

use super::{Request, failed, json_header};
use crate::config::Secret;
use crate::notify::outbox::Outgoing;
use serde_json::json;

pub fn request(url: &str, token: &Secret, priority: Option<u8>, out: &Outgoing<'_>) -> Request {
    let default = if failed(out) { 8 } else { 5 };
    Request {
        url: format!("{url}/message"),
        headers: vec![
            json_header(),
            ("X-Gotify-Key".into(), token.expose().to_string()),
        ],
        body: json!({
            "title": out.email.subject,
            "message": out.email.body,
            "priority": priority.unwrap_or(default),
        })
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{about, email, json, out};
    use super::*;

    #[test]
    fn the_message_has_title_body_and_a_priority_from_the_outcome() {
        let (e, a) = (email("FAILED"), about("FAILED"));
        let r = request(
            "https://g.example.org",
            &Secret::new("AbC"),
            None,
            &out(&e, &a),
        );
        assert_eq!(r.url, "https://g.example.org/message");
        assert!(r.headers.contains(&("X-Gotify-Key".into(), "AbC".into())));
        assert_eq!(
            json(&r.body),
            json!({"title": "❌ MiracleMax: traefik - FAILED",
                   "message": "Service: traefik\nStatus: STILL DOWN\n", "priority": 8})
        );
        let (e, a) = (email("RESOLVED"), about("RESOLVED"));
        let r = request("https://g", &Secret::new("AbC"), None, &out(&e, &a));
        assert_eq!(json(&r.body)["priority"], 5);
    }
}
