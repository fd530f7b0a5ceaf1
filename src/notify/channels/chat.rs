//! Slack, Mattermost and Discord incoming webhooks: one JSON field with the report's text
//! (`text` for Slack and Mattermost, `content` for Discord, which takes at most 2000
//! characters: a longer report is cut with a note).

use super::{Request, json_header, text, truncate};
use crate::config::{ChatFlavor, Secret};
use crate::notify::outbox::Outgoing;
use serde_json::json;

/// Discord's limit on a message's `content`.
const DISCORD_MAX: usize = 2000;

pub fn request(flavor: ChatFlavor, url: &Secret, out: &Outgoing<'_>) -> Request {
    let body = match flavor {
        ChatFlavor::Slack | ChatFlavor::Mattermost => json!({ "text": text(out) }),
        ChatFlavor::Discord => json!({ "content": truncate(&text(out), DISCORD_MAX) }),
    };
    Request {
        url: url.expose().to_string(),
        headers: vec![json_header()],
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{about, email, json, out};
    use super::*;

    #[test]
    fn slack_and_mattermost_get_text_and_discord_content_within_its_limit() {
        let (e, a) = (email("FAILED"), about("FAILED"));
        let url = Secret::new("https://hooks.example/T/B/x");
        for flavor in [ChatFlavor::Slack, ChatFlavor::Mattermost] {
            let r = request(flavor, &url, &out(&e, &a));
            assert_eq!(r.url, "https://hooks.example/T/B/x");
            assert_eq!(
                json(&r.body),
                json!({"text": "❌ MiracleMax: traefik - FAILED\n\nService: traefik\nStatus: STILL DOWN\n"})
            );
        }
        let mut long = e.clone();
        long.body = "line\n".repeat(1000);
        let b = json(&request(ChatFlavor::Discord, &url, &out(&long, &a)).body);
        let content = b["content"].as_str().unwrap();
        assert!(content.starts_with("❌ MiracleMax: traefik - FAILED\n\nline\n"));
        assert_eq!(content.chars().count(), DISCORD_MAX);
    }
}
