//! `-e`/`--extra-vars` as Ansible reads them: `@FILE` (YAML or JSON), text starting with `{`
//! or `[` (YAML or JSON), else `key=value` words (values are text; quotes around a value are
//! taken off). Later ones override earlier ones; they override everything the inventory says.

use super::yaml11::YamlError;
use super::{Def, Place, Vars, yaml};
use serde_json::Value;
use std::path::PathBuf;

/// The "file" of variables given on the command line.
pub const EXTRA_VARS: &str = "(-e)";

/// Why a `-e` cannot be read; each names the `-e` as given.
#[derive(Debug, thiserror::Error)]
pub enum ExtraVarsError {
    #[error("-e @{file}: cannot read: {reason}")]
    Unreadable {
        file: String,
        reason: std::io::Error,
    },
    #[error("-e {given}: {reason}")]
    Syntax { given: String, reason: YamlError },
    #[error("-e {0}: extra variables are a mapping (key=value, {{\"key\": value}} or @FILE)")]
    NotMapping(String),
    #[error("-e {given}: '{word}' is not key=value (give key=value, YAML/JSON or @FILE)")]
    NotKeyValue { given: String, word: String },
}

pub fn parse(given: &[String]) -> Result<Vars, ExtraVarsError> {
    let mut vars = Vars::new();
    let at = Place {
        file: PathBuf::from(EXTRA_VARS),
        keys: Vec::new(),
    };
    for e in given {
        let data = if let Some(file) = e.strip_prefix('@') {
            let text =
                std::fs::read_to_string(file).map_err(|reason| ExtraVarsError::Unreadable {
                    file: file.into(),
                    reason,
                })?;
            yaml::parse(&text).map_err(|reason| ExtraVarsError::Syntax {
                given: format!("@{file}"),
                reason,
            })?
        } else if e.starts_with(['{', '[']) {
            yaml::parse(e).map_err(|reason| ExtraVarsError::Syntax {
                given: e.clone(),
                reason,
            })?
        } else {
            key_values(e)?
        };
        let Value::Object(map) = data else {
            if data.is_null() {
                continue;
            }
            return Err(ExtraVarsError::NotMapping(e.clone()));
        };
        for (k, value) in map {
            vars.insert(
                k,
                Def {
                    value,
                    at: at.clone(),
                },
            );
        }
    }
    Ok(vars)
}

/// `a=1 b="two words"`: words split at blanks outside quotes.
fn key_values(text: &str) -> Result<Value, ExtraVarsError> {
    let mut map = serde_json::Map::new();
    for word in words(text) {
        let Some((k, v)) = word.split_once('=') else {
            return Err(ExtraVarsError::NotKeyValue {
                given: text.into(),
                word,
            });
        };
        map.insert(
            k.trim().to_string(),
            Value::String(unquote(v.trim()).into()),
        );
    }
    Ok(Value::Object(map))
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match (quote, c) {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            (_, '\\') => {
                cur.push(c);
                escaped = true;
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_are_text_and_lose_the_quotes_around_them() {
        let v = parse(&["a=1 b=\"two words\" c='x'".into()]).unwrap();
        assert_eq!(v["a"].value, "1");
        assert_eq!(v["b"].value, "two words");
        assert_eq!(v["c"].value, "x");
        let v = parse(&["{\"n\": 5}".into(), "n=6".into()]).unwrap();
        assert_eq!(v["n"].value, "6");
        assert!(
            parse(&["word".into()])
                .unwrap_err()
                .to_string()
                .contains("not key=value")
        );
    }
}
