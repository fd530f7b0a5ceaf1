//! Scalars as operators and Ansible write them: booleans in YAML 1.1 spelling (`yes`, `no`,
//! `on`, `off`, `True`), durations as `10s` / `15m` / plain seconds, and secrets that never
//! print whole. Each type accepts any YAML scalar and decides itself, so the same rules hold
//! wherever the value sits in the file.

use super::quote::quote;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::time::Duration;

/// A boolean that also accepts the YAML 1.1 words Ansible's templates produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> serde::Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean (true/false, yes/no, on/off)")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                parse_flag(v).map(Flag).ok_or_else(|| {
                    E::custom(format!("{} is not a boolean; use true or false", quote(v)))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// YAML 1.1 boolean words, case-insensitive, as PyYAML (and so Ansible) reads them.
pub fn parse_flag(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Some(true),
        "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A duration written as `500ms`, `10s`, `15m`, `1h 30m` or a whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Span;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 10s, 15m or 1h, or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Span, E> {
                Ok(Span(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Span, E> {
                u64::try_from(v)
                    .map(|s| Span(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("duration {v} is negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
                parse_span(v).map(Span).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration that could not be read: the value as written and humantime's reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{} is not a duration ({}); write it like 10s, 15m or 1h",
    quote(value),
    why(reason)
)]
pub struct SpanError {
    pub value: String,
    reason: humantime::DurationError,
}

/// Parses `500ms`, `10s`, `15m`, `1h 30m` or a whole number of seconds.
pub fn parse_span(v: &str) -> Result<Duration, SpanError> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(v.trim()).map_err(|reason| SpanError {
        value: v.to_string(),
        reason,
    })
}

/// humantime's reason, without the part of the value it quotes (an unknown unit, a number).
fn why(e: &humantime::DurationError) -> String {
    use humantime::DurationError as E;
    match e {
        E::InvalidCharacter(at) => format!("invalid character at {at}"),
        E::NumberExpected(at) => format!("expected a number at {at}"),
        E::UnknownUnit { unit, .. } if unit.is_empty() => "a number needs a unit".into(),
        E::UnknownUnit { start, .. } => format!("unknown time unit at {start}"),
        E::NumberOverflow => "the number is too large".into(),
        E::Empty => "it is empty".into(),
    }
}

/// A value that must never appear whole in logs, emails or output (ping URLs, passwords).
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The real value, for the one place that must use it (an HTTP request, an SMTP login).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// A form safe to print: a URL keeps its scheme and host, everything else is hidden (a
    /// login in the URL too); anything that is not plainly a URL is hidden whole.
    pub fn redacted(&self) -> String {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        };
        match self.0.split_once("://") {
            Some((scheme, rest)) if plain(scheme) => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host = authority.rsplit('@').next().unwrap_or("");
                if plain(host) {
                    format!("{scheme}://{host}/<redacted>")
                } else {
                    format!("{scheme}://<redacted>")
                }
            }
            _ => "<redacted>".to_string(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_boolean_words_are_booleans() {
        for (w, b) in [
            ("yes", true),
            ("No", false),
            ("on", true),
            ("OFF", false),
            ("True", true),
        ] {
            assert_eq!(parse_flag(w), Some(b), "{w}");
        }
        assert_eq!(parse_flag("maybe"), None);
    }

    #[test]
    fn secrets_print_only_scheme_and_host() {
        let s = Secret::new("https://hc-ping.com/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab");
        assert_eq!(format!("{s:?}"), "https://hc-ping.com/<redacted>");
        assert_eq!(Secret::new("hunter2").redacted(), "<redacted>");
        assert_eq!(
            Secret::new("https://user:hunter2@hc.example.org/ping/abc").redacted(),
            "https://hc.example.org/<redacted>"
        );
        assert_eq!(
            Secret::new("https:// 0f1e2d3c-aaaa-bbbb").redacted(),
            "https://<redacted>"
        );
        assert_eq!(
            Secret::new("https://hc.example.org?key=hunter2").redacted(),
            "https://hc.example.org/<redacted>"
        );
    }
}

/// `health.command`: a program and its arguments as a list of strings. A single string is
/// refused, saying why: it would need a shell to be split, and none is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

impl<'de> serde::Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Argv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list: the program and its arguments, e.g. [/usr/bin/pg_isready, -q]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Argv, E> {
                Err(E::custom(format!(
                    "command {v:?} is one string; give a list, the program and each argument \
                     apart, e.g. [/usr/bin/pg_isready, -q]: it runs with no shell"
                )))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Argv, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<ArgString>()? {
                    argv.push(arg.0);
                }
                Ok(Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

/// One argument: a string, or a number or a flag as YAML writes them (`[sleep, 5]`), as text.
struct ArgString(String);

impl<'de> serde::Deserialize<'de> for ArgString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ArgString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an argument (a string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgString, E> {
                Ok(ArgString(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ArgString, E> {
                Ok(ArgString(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ArgString, E> {
                Ok(ArgString(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ArgString, E> {
                Ok(ArgString(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ArgString, E> {
                Ok(ArgString(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
