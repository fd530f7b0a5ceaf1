//! Telegram: the Bot API's `sendMessage` with the chat and the report's text (plain text, at
//! most 4096 characters: a longer report is cut with a note). Telegram accepted it only when
//! its answer says `"ok": true`.

use super::{Request, json_header, text, truncate};
use crate::config::Secret;
use crate::notify::outbox::Outgoing;
use serde_json::{Value, json};

/// Telegram's limit on a message's text.
const TELEGRAM_MAX: usize = 4096;

pub fn request(api_url: &str, token: &Secret, chat_id: &str, out: &Outgoing<'_>) -> Request {
    // A numeric chat id goes as a number, an @channel as a string, as the API documents.
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    Request {
        url: format!("{api_url}/bot{}/sendMessage", token.expose()),
        headers: vec![json_header()],
        body: json!({ "chat_id": chat, "text": truncate(&text(out), TELEGRAM_MAX) }).to_string(),
    }
}

pub fn accepted(status: u16, body: &str) -> Result<String, crate::notify::SendError> {
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if answer["ok"] == json!(true) {
        let id = &answer["result"]["message_id"];
        return Ok(format!("HTTP {status}, message {id}"));
    }
    let why = answer["description"]
        .as_str()
        .unwrap_or("no \"ok\": true")
        .to_string();
    Err(crate::notify::SendError::NotAccepted { status, why })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{about, email, json, out};
    use super::*;

    #[test]
    fn send_message_names_the_chat_and_carries_the_text() {
        let (e, a) = (email("FAILED"), about("FAILED"));
        let r = request(
            "https://api.telegram.org",
            &Secret::new("123:abc"),
            "-1001234",
            &out(&e, &a),
        );
        assert_eq!(r.url, "https://api.telegram.org/bot123:abc/sendMessage");
        let b = json(&r.body);
        assert_eq!(b["chat_id"], json!(-1001234));
        assert!(
            b["text"]
                .as_str()
                .unwrap()
                .starts_with("❌ MiracleMax: traefik - FAILED\n\nService")
        );
        let r = request("http://x", &Secret::new("t"), "@ops", &out(&e, &a));
        assert_eq!(json(&r.body)["chat_id"], "@ops");
    }

    #[test]
    fn only_ok_true_is_accepted() {
        assert!(accepted(200, r#"{"ok":true,"result":{"message_id":7}}"#).is_ok());
        let e = accepted(200, r#"{"ok":false,"description":"chat not found"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("chat not found"), "{e}");
        assert!(accepted(200, "<html>").is_err());
    }
}
