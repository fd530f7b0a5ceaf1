//! Report channels besides email (`notifications.channels`): ntfy, a generic JSON webhook,
//! Slack/Mattermost/Discord incoming webhooks, Telegram and Gotify. Each entry is checked on
//! its own, every problem naming the channel and the fix, and credentials stay `Secret`s so
//! that no log, summary or `mmctl render` shows them whole.
//!
//! Plain http is allowed (a self-hosted ntfy or Gotify on the LAN is common), but a request that
//! carries a credential (a token, webhook headers, a chat webhook URL, which is itself the
//! credential) goes over plain http only to a loopback address, or where the entry says
//! `insecure_http: true`: anyone on the path could read it otherwise.

use super::quote::quote;
use super::raw::Unknown;
use super::scalar::{Flag, Secret};
use super::validate::Problems;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Telegram's public Bot API; `api_url` replaces it (a local Bot API server, a test stand-in).
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// One channel, validated: its unique name (also its outbox folder's) and where it delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelKind {
    /// `POST url` with ntfy's JSON body (topic, title, message, priority, tags).
    Ntfy {
        url: String,
        topic: String,
        token: Option<Secret>,
        /// 1-5; default from the outcome (FAILED 5, RESOLVED 3).
        priority: Option<u8>,
    },
    /// `POST url` with the documented JSON report; `secret` signs the body (HMAC-SHA256).
    Webhook {
        url: Secret,
        headers: Vec<(String, Secret)>,
        secret: Option<Secret>,
    },
    /// An incoming webhook whose URL is the credential.
    Chat { flavor: ChatFlavor, url: Secret },
    /// `POST {api_url}/bot{token}/sendMessage`.
    Telegram {
        api_url: String,
        token: Secret,
        chat_id: String,
    },
    /// `POST {url}/message` with `X-Gotify-Key: token`.
    Gotify {
        url: String,
        token: Secret,
        /// 0-10; default from the outcome (FAILED 8, RESOLVED 5).
        priority: Option<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFlavor {
    Slack,
    Mattermost,
    Discord,
}

impl ChannelKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Ntfy { .. } => "ntfy",
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Chat { flavor, .. } => match flavor {
                ChatFlavor::Slack => "slack",
                ChatFlavor::Mattermost => "mattermost",
                ChatFlavor::Discord => "discord",
            },
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::Gotify { .. } => "gotify",
        }
    }

    /// Where it delivers, safe to print (credentials redacted).
    pub fn shown(&self) -> String {
        match self {
            ChannelKind::Ntfy { url, topic, .. } => {
                format!("{}/{topic}", url.trim_end_matches('/'))
            }
            ChannelKind::Webhook { url, .. } | ChannelKind::Chat { url, .. } => url.redacted(),
            ChannelKind::Telegram {
                api_url, chat_id, ..
            } => format!("{api_url} chat {chat_id}"),
            ChannelKind::Gotify { url, .. } => url.clone(),
        }
    }
}

/// One `notifications.channels` entry as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawChannel {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub url: Option<Secret>,
    pub topic: Option<String>,
    pub token: Option<Secret>,
    pub priority: Option<i64>,
    pub headers: Option<BTreeMap<String, Secret>>,
    pub secret: Option<Secret>,
    pub chat_id: Option<Text>,
    pub api_url: Option<String>,
    pub insecure_http: Option<Flag>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// A scalar read as text: Telegram chat ids are numbers (`-1001234`) or `@channel` names.
#[derive(Debug, Clone)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

pub const TYPES: &[&str] = &[
    "ntfy",
    "webhook",
    "slack",
    "mattermost",
    "discord",
    "telegram",
    "gotify",
];

/// Every key a channel entry may have, for "did you mean" hints.
pub const CHANNEL_KEYS: &[&str] = &[
    "type",
    "name",
    "url",
    "topic",
    "token",
    "priority",
    "headers",
    "secret",
    "chat_id",
    "api_url",
    "insecure_http",
];

/// The keys each type takes besides `type`, `name` and `insecure_http`.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "ntfy" => &["url", "topic", "token", "priority"],
        "webhook" => &["url", "headers", "secret"],
        "telegram" => &["token", "chat_id", "api_url"],
        "gotify" => &["url", "token", "priority"],
        _ => &["url"],
    }
}

const SECTION: &str = "notifications.channels";

pub(crate) fn channels(raw: Vec<RawChannel>, p: &mut Problems) -> Vec<Channel> {
    let mut out: Vec<Channel> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // A default name never takes one given explicitly anywhere in the list.
    let explicit: Vec<String> = raw.iter().filter_map(|c| c.name.clone()).collect();
    for (i, c) in raw.into_iter().enumerate() {
        let object = match (&c.name, &c.kind) {
            (Some(n), _) => format!("channel '{n}'"),
            (None, Some(t)) => format!("{SECTION}[{i}] ({t})"),
            (None, None) => format!("{SECTION}[{i}]"),
        };
        p.unknown_keys(&object, &c.unknown, CHANNEL_KEYS);
        let Some(kind) = c.kind.clone() else {
            p.add(
                &object,
                format!("missing required key 'type' (one of {})", TYPES.join(", ")),
            );
            continue;
        };
        if !TYPES.contains(&kind.as_str()) {
            p.add(
                &object,
                format!("type {} is not one of {}", quote(&kind), TYPES.join(", ")),
            );
            continue;
        }
        let name = match &c.name {
            Some(n) if !valid_name(n) => {
                p.add(
                    &object,
                    format!(
                        "name {} is not a channel name; use letters, digits, '-' and '_' (at most 40)",
                        quote(n)
                    ),
                );
                continue;
            }
            Some(n) if n == "email" => {
                p.add(
                    &object,
                    "name 'email' is email's own (status and the metrics file call email's reports so); give the channel another name",
                );
                continue;
            }
            Some(n) if names.contains(n) => {
                p.add(
                    &object,
                    "this name is used by another channel; give each channel its own name",
                );
                continue;
            }
            Some(n) => n.clone(),
            None => (1..)
                .map(|k| match k {
                    1 => kind.clone(),
                    k => format!("{kind}-{k}"),
                })
                .find(|n| !names.contains(n) && !explicit.contains(n))
                .unwrap_or_default(),
        };
        names.push(name.clone());
        if let Some(k) = entry(&kind, &object, c, p) {
            out.push(Channel { name, kind: k });
        }
    }
    out
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 40
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn entry(kind: &str, object: &str, c: RawChannel, p: &mut Problems) -> Option<ChannelKind> {
    let given: [(&str, bool); 8] = [
        ("url", c.url.is_some()),
        ("topic", c.topic.is_some()),
        ("token", c.token.is_some()),
        ("priority", c.priority.is_some()),
        ("headers", c.headers.is_some()),
        ("secret", c.secret.is_some()),
        ("chat_id", c.chat_id.is_some()),
        ("api_url", c.api_url.is_some()),
    ];
    let takes = keys_of(kind);
    for (key, set) in given {
        if set && !takes.contains(&key) {
            p.add(
                object,
                format!(
                    "key '{key}' does not apply to a {kind} channel (its keys: {}); remove it",
                    takes.join(", ")
                ),
            );
        }
    }
    let e = Entry {
        insecure: c.insecure_http.is_some_and(|Flag(b)| b),
        c: &c,
        object,
    };
    match kind {
        "ntfy" => e.ntfy(p),
        "webhook" => e.webhook(p),
        "slack" | "mattermost" | "discord" => {
            let flavor = match kind {
                "slack" => ChatFlavor::Slack,
                "mattermost" => ChatFlavor::Mattermost,
                _ => ChatFlavor::Discord,
            };
            let url = e.url(p, "the incoming webhook URL, from Ansible Vault", true)?;
            Some(ChannelKind::Chat { flavor, url })
        }
        "telegram" => e.telegram(p),
        _ => e.gotify(p),
    }
}

/// One channel entry being validated: its raw keys, how problems name it, and whether it
/// allows plain http with a credential (`insecure_http`).
struct Entry<'a> {
    c: &'a RawChannel,
    object: &'a str,
    insecure: bool,
}

impl Entry<'_> {
    fn missing(&self, key: &str, what: &str, p: &mut Problems) {
        p.add(
            self.object,
            format!("missing required key '{key}' ({what})"),
        );
    }

    fn url(&self, p: &mut Problems, what: &str, credential: bool) -> Option<Secret> {
        let Some(u) = self.c.url.clone() else {
            self.missing("url", what, p);
            return None;
        };
        check_url(u.expose(), credential)
            .map_err(|e| p.add(self.object, format!("url {e}")))
            .ok()?;
        plain_http(u.expose(), credential, self.insecure, "url", self.object, p);
        Some(u)
    }

    fn token(&self, p: &mut Problems) -> Option<Secret> {
        match &self.c.token {
            Some(t)
                if !t.expose().trim().is_empty() && !t.expose().contains(char::is_whitespace) =>
            {
                Some(t.clone())
            }
            Some(_) => {
                p.add(
                    self.object,
                    "token is empty or contains whitespace (its value is not shown); give the token alone",
                );
                None
            }
            None => {
                self.missing("token", "from Ansible Vault", p);
                None
            }
        }
    }

    fn priority(
        &self,
        range: std::ops::RangeInclusive<i64>,
        p: &mut Problems,
    ) -> Option<Option<u8>> {
        match self.c.priority {
            None => Some(None),
            Some(v) if range.contains(&v) => Some(Some(v as u8)),
            Some(v) => {
                p.add(
                    self.object,
                    format!(
                        "priority {v} is out of range {}-{}; leave it out to take it from the outcome",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    fn ntfy(&self, p: &mut Problems) -> Option<ChannelKind> {
        let (c, object) = (self.c, self.object);
        let token = c.token.as_ref().map(|_| self.token(p));
        let credential = token.is_some();
        let url = self.url(p, "the ntfy server, like https://ntfy.sh", credential);
        let topic = match &c.topic {
            Some(t) if valid_topic(t) => Some(t.clone()),
            Some(t) => {
                p.add(
                    object,
                    format!(
                        "topic {} is not an ntfy topic; use letters, digits, '-' and '_' (at most 64)",
                        quote(t)
                    ),
                );
                None
            }
            None => {
                self.missing("topic", "the ntfy topic to publish to", p);
                None
            }
        };
        let priority = self.priority(1..=5, p);
        Some(ChannelKind::Ntfy {
            url: url?.expose().trim_end_matches('/').to_string(),
            topic: topic?,
            token: match token {
                Some(t) => Some(t?),
                None => None,
            },
            priority: priority?,
        })
    }

    fn webhook(&self, p: &mut Problems) -> Option<ChannelKind> {
        let (c, object) = (self.c, self.object);
        let headers = c.headers.clone().unwrap_or_default();
        let mut bad = false;
        for name in headers.keys() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch))
            {
                p.add(
                    object,
                    format!("headers: {} is not an HTTP header name", quote(name)),
                );
                bad = true;
            }
        }
        let url = self.url(p, "where to POST the report", !headers.is_empty());
        if c.secret.as_ref().is_some_and(|s| s.expose().is_empty()) {
            p.add(
                object,
                "secret is empty; give a shared secret or leave it out",
            );
            bad = true;
        }
        if bad {
            return None;
        }
        Some(ChannelKind::Webhook {
            url: url?,
            headers: headers.into_iter().collect(),
            secret: c.secret.clone(),
        })
    }

    fn telegram(&self, p: &mut Problems) -> Option<ChannelKind> {
        let (c, object) = (self.c, self.object);
        let token = self.token(p);
        let chat_id = match &c.chat_id {
            Some(Text(id)) if valid_chat_id(id) => Some(id.clone()),
            Some(Text(id)) => {
                p.add(
                    object,
                    format!(
                        "chat_id {} is not a Telegram chat; give its number (like -1001234567890) or @channelname",
                        quote(id)
                    ),
                );
                None
            }
            None => {
                self.missing("chat_id", "the chat's number or @channelname", p);
                None
            }
        };
        let api_url = c
            .api_url
            .clone()
            .unwrap_or_else(|| TELEGRAM_API.to_string());
        let api_ok = match check_url(&api_url, false) {
            Ok(()) => {
                plain_http(&api_url, true, self.insecure, "api_url", object, p);
                true
            }
            Err(e) => {
                p.add(object, format!("api_url {e}"));
                false
            }
        };
        Some(ChannelKind::Telegram {
            api_url: api_ok.then(|| api_url.trim_end_matches('/').to_string())?,
            token: token?,
            chat_id: chat_id?,
        })
    }

    fn gotify(&self, p: &mut Problems) -> Option<ChannelKind> {
        let token = self.token(p);
        let url = self.url(
            p,
            "the Gotify server, like https://gotify.example.org",
            true,
        );
        let priority = self.priority(0..=10, p);
        Some(ChannelKind::Gotify {
            url: url?.expose().trim_end_matches('/').to_string(),
            token: token?,
            priority: priority?,
        })
    }
}

/// A channel's URL that is not an http(s) URL with a host. `value` is `None` for a URL that
/// carries a credential: it is never quoted back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} is not an http(s) URL; write it like https://host.example.org/path",
    value.as_deref().map_or_else(|| "(its value is not shown)".to_string(), quote)
)]
struct NotAnHttpUrl {
    value: Option<String>,
}

/// An http(s) URL with a host. A credential's URL is never quoted back.
fn check_url(u: &str, credential: bool) -> Result<(), NotAnHttpUrl> {
    let host = host_of(u);
    if host.is_none_or(str::is_empty) || u.chars().any(char::is_whitespace) {
        return Err(NotAnHttpUrl {
            value: (!credential).then(|| u.to_string()),
        });
    }
    Ok(())
}

/// The host of an http(s) URL, without userinfo or port.
pub fn host_of(u: &str) -> Option<&str> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    Some(match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A credential over plain http to another machine needs `insecure_http: true`.
fn plain_http(
    u: &str,
    credential: bool,
    insecure: bool,
    key: &str,
    object: &str,
    p: &mut Problems,
) {
    let Some(host) = host_of(u).filter(|_| u.starts_with("http://")) else {
        return;
    };
    if credential && !insecure && !is_loopback(host) {
        p.add(
            object,
            format!(
                "{key} is plain http to {host}, and the request carries a credential anyone on the path could read; use https, or set insecure_http: true if that network is trusted"
            ),
        );
    }
}

fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_chat_id(id: &str) -> bool {
    match id.strip_prefix('@') {
        Some(name) => valid_name(name),
        None => {
            let digits = id.strip_prefix('-').unwrap_or(id);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(channels: &str) -> Result<Vec<Channel>, crate::ConfigError> {
        let text = format!("notifications:\n  channels:\n{channels}");
        crate::parse(&text, Path::new("/etc/miraclemax/config.yaml")).map(|c| c.channels)
    }

    #[test]
    fn every_type_is_read_with_default_names_and_priorities() {
        let c = parse(
            "    - {type: ntfy, url: 'https://ntfy.sh/', topic: ops}\n\
             \x20   - {type: ntfy, url: 'http://10.0.0.5', topic: lab, priority: 4}\n\
             \x20   - {type: webhook, url: 'https://h.example.org/in', headers: {Authorization: Bearer x}, secret: s}\n\
             \x20   - {type: slack, url: 'https://hooks.slack.example/services/T/B/x'}\n\
             \x20   - {type: discord, name: team, url: 'https://discord.example/api/webhooks/1/x'}\n\
             \x20   - {type: telegram, token: '123:abc', chat_id: -1001234}\n\
             \x20   - {type: gotify, url: 'http://127.0.0.1:8080', token: AbC}\n",
        )
        .unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ntfy", "ntfy-2", "webhook", "slack", "team", "telegram", "gotify"
            ]
        );
        assert_eq!(
            c[0].kind,
            ChannelKind::Ntfy {
                url: "https://ntfy.sh".into(),
                topic: "ops".into(),
                token: None,
                priority: None
            }
        );
        assert!(matches!(
            &c[5].kind,
            ChannelKind::Telegram { api_url, chat_id, .. } if api_url == TELEGRAM_API && chat_id == "-1001234"
        ));
    }

    #[test]
    fn mistakes_name_the_channel_and_the_fix_and_never_show_a_credential() {
        let e = parse(
            "    - {type: ntfy, url: 'https://ntfy.sh', topic: 'a b', tpoic: x}\n\
             \x20   - {type: slack, url: 'http://10.0.0.9/hooks/hunter2'}\n\
             \x20   - {type: telegram, name: tg, token: 'hunter2', chat_id: 'me', topic: x}\n\
             \x20   - {type: pager}\n\
             \x20   - {type: gotify, name: tg, url: 'https://g.example.org', token: t}\n\
             \x20   - {type: discord, url: 'not a url hunter2'}\n\
             \x20   - {type: ntfy, name: email, url: 'https://ntfy.sh', topic: t}\n",
        )
        .unwrap_err()
        .to_string();
        for expected in [
            "notifications.channels[0] (ntfy): unknown key 'tpoic' (did you mean 'topic'?)",
            "topic 'a b' is not an ntfy topic",
            "url is plain http to 10.0.0.9, and the request carries a credential",
            "set insecure_http: true",
            "channel 'tg': key 'topic' does not apply to a telegram channel",
            "chat_id 'me' is not a Telegram chat",
            "type 'pager' is not one of ntfy, webhook",
            "this name is used by another channel",
            "url (its value is not shown) is not an http(s) URL",
            "channel 'email': name 'email' is email's own",
        ] {
            assert!(e.contains(expected), "missing {expected:?} in:\n{e}");
        }
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("/etc/miraclemax/config.yaml"), "{e}");
    }

    #[test]
    fn plain_http_with_a_credential_is_fine_to_loopback_or_when_the_entry_says_so() {
        parse("    - {type: gotify, url: 'http://localhost:8080', token: t}\n").unwrap();
        parse("    - {type: slack, url: 'http://10.77.1.1:9000/s', insecure_http: yes}\n").unwrap();
        parse("    - {type: ntfy, url: 'http://10.0.0.5', topic: t}\n").unwrap();
        assert!(parse("    - {type: ntfy, url: 'http://10.0.0.5', topic: t, token: x}\n").is_err());
    }
}
