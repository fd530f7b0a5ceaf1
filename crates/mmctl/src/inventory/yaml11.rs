//! YAML read as Ansible reads it: PyYAML's YAML 1.1 rules for what a plain scalar is
//! (`yes`/`on` are booleans, `y` and `tRue` are text, `017` is octal 15, `08` and `0o17` are
//! text, `1:20` is 80, `1e3` is text but `1.0e+3` a float, `~` is null), anchors and aliases,
//! and merge keys (`<<`). Quoted and block scalars are text; `!vault` and `!unsafe` values are
//! text as written; `!!str`, `!!int`, `!!float`, `!!bool` and `!!null` are honoured.

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Number, Value};
use std::collections::HashMap;

/// Marks the text of an `!unsafe` value, which Ansible never templates: the templating takes
/// the text after it as it is, and views print the text alone (a private-use character, which
/// no inventory holds).
pub const UNSAFE: char = '\u{E000}';

/// How many nodes aliases may copy in one file: far beyond any real inventory, far below
/// what an alias bomb (each level ten aliases of the one before) would expand to.
const ALIAS_BUDGET: usize = 1_000_000;

/// Why a text is not YAML mmctl can read; the parser's words, and where (never the text
/// itself: inventory files can hold secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The parser's own message, which says where.
    #[error("{0}")]
    Parser(String),
    #[error("{reason} at {at}")]
    Scalar { reason: ScalarError, at: String },
    #[error("unbalanced sequence")]
    UnbalancedSequence,
    #[error("unbalanced mapping")]
    UnbalancedMapping,
    #[error("an alias to an unknown anchor at {0}")]
    UnknownAnchor(String),
    #[error(
        "budget breached: its aliases copy more than {ALIAS_BUDGET} values (an alias bomb?); refused at {0}"
    )]
    AliasBomb(String),
    #[error("a mapping key that is a list or a mapping")]
    ComplexKey,
    #[error("a merge key (<<) takes mappings")]
    MergeOfNonMappings,
    #[error("a merge key (<<) takes a mapping")]
    MergeOfNonMapping,
}

/// Why one scalar cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    #[error("'{0}' is no !!int")]
    NotInt(String),
    #[error("'{0}' is no !!float")]
    NotFloat(String),
    #[error("'{0}' is no !!bool")]
    NotBool(String),
    #[error("the tag !!{0} is not supported here")]
    UnsupportedCoreTag(String),
    #[error("unknown tag {0}")]
    UnknownTag(String),
    #[error("'=' (a YAML 1.1 value key) cannot be read")]
    ValueKey,
}

/// A document with its mappings in the order written (a key written twice keeps its first
/// place and its last value, as Python's dict does): a hosts file's groups and hosts are
/// read in that order, and a later mention of a host overrides an earlier one.
#[derive(Debug, Clone)]
pub enum Node {
    Scalar(Value),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn into_value(self) -> Value {
        match self {
            Node::Scalar(v) => v,
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect(),
            ),
        }
    }
}

/// Puts `k` in an ordered mapping: a new key last, a known one in its place.
fn put(entries: &mut Vec<(String, Node)>, k: String, v: Node) {
    match entries.iter_mut().find(|(key, _)| *key == k) {
        Some(slot) => slot.1 = v,
        None => entries.push((k, v)),
    }
}

/// The first document of `text` as data; a parser error says where.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    parse_ordered(text).map(Node::into_value)
}

/// As `parse`, with mappings in the order written.
pub fn parse_ordered(text: &str) -> Result<Node, YamlError> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        done: None,
    };
    let mut copied = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError::Parser(e.to_string()))?;
        let at = || {
            format!(
                "line {}, column {}",
                span.start.line(),
                span.start.col() + 1
            )
        };
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let v = scalar(&value, style, tag.as_deref())
                    .map_err(|reason| YamlError::Scalar { reason, at: at() })?;
                b.node(Node::Scalar(v), anchor, Some(value.into_owned()))?;
            }
            Event::SequenceStart(_, anchor, _) => b.stack.push(Open::Seq(Vec::new(), anchor)),
            Event::MappingStart(_, anchor, _) => b.stack.push(Open::Map {
                entries: Vec::new(),
                key: None,
                anchor,
            }),
            Event::SequenceEnd => match b.stack.pop() {
                Some(Open::Seq(items, anchor)) => b.node(Node::Seq(items), anchor, None)?,
                _ => return Err(YamlError::UnbalancedSequence),
            },
            Event::MappingEnd => match b.stack.pop() {
                Some(Open::Map {
                    entries, anchor, ..
                }) => b.node(merged(entries)?, anchor, None)?,
                _ => return Err(YamlError::UnbalancedMapping),
            },
            Event::Alias(id) => {
                let (v, size) = b
                    .anchors
                    .get(&id)
                    .ok_or_else(|| YamlError::UnknownAnchor(at()))?;
                copied += size;
                if copied > ALIAS_BUDGET {
                    return Err(YamlError::AliasBomb(at()));
                }
                let v = v.clone();
                b.node(v, 0, None)?;
            }
            Event::DocumentEnd if b.done.is_some() => break,
            _ => {}
        }
    }
    Ok(b.done.unwrap_or(Node::Scalar(Value::Null)))
}

enum Open {
    Seq(Vec<Node>, usize),
    Map {
        /// (key, value), with `<<` kept apart for `merged`.
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        anchor: usize,
    },
}

#[derive(Clone)]
enum Key {
    Merge,
    Name(String),
}

struct Builder {
    stack: Vec<Open>,
    /// Each anchored value, with how many values it holds.
    anchors: HashMap<usize, (Node, usize)>,
    done: Option<Node>,
}

impl Builder {
    /// A finished node: the next item, key or value of what is open, or the document.
    /// `text`: a scalar's own text, for a key.
    fn node(&mut self, v: Node, anchor: usize, text: Option<String>) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (v.clone(), size(&v)));
        }
        match self.stack.last_mut() {
            None => self.done = Some(v),
            Some(Open::Seq(items, _)) => items.push(v),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, v)),
                None => {
                    *key = Some(match (&v, text.as_deref()) {
                        (_, Some("<<")) => Key::Merge,
                        (Node::Scalar(Value::String(s)), _) => Key::Name(s.clone()),
                        (Node::Scalar(Value::Null), _) => Key::Name("null".into()),
                        (Node::Scalar(Value::Bool(b)), _) => {
                            Key::Name(if *b { "true" } else { "false" }.into())
                        }
                        (Node::Scalar(Value::Number(n)), _) => Key::Name(n.to_string()),
                        _ => return Err(YamlError::ComplexKey),
                    })
                }
            },
        }
        Ok(())
    }
}

fn size(v: &Node) -> usize {
    1 + match v {
        Node::Seq(a) => a.iter().map(size).sum(),
        Node::Map(m) => m.iter().map(|(_, v)| size(v)).sum(),
        Node::Scalar(_) => 0,
    }
}

/// A mapping with its merge keys applied as Ansible's loader applies them: the keys written in
/// the mapping win over merged ones, and among merged mappings a later one wins over an
/// earlier (measured against ansible-core 2.19; see the differential tests).
fn merged(entries: Vec<(Key, Node)>) -> Result<Node, YamlError> {
    let mut own = Vec::new();
    let mut merges: Vec<Vec<(String, Node)>> = Vec::new();
    for (k, v) in entries {
        match (k, v) {
            (Key::Name(k), v) => put(&mut own, k, v),
            (Key::Merge, Node::Map(m)) => merges.push(m),
            (Key::Merge, Node::Seq(items)) => {
                for item in items {
                    match item {
                        Node::Map(m) => merges.push(m),
                        _ => return Err(YamlError::MergeOfNonMappings),
                    }
                }
            }
            (Key::Merge, _) => return Err(YamlError::MergeOfNonMapping),
        }
    }
    if merges.is_empty() {
        return Ok(Node::Map(own));
    }
    let mut out = Vec::new();
    for (k, v) in merges.into_iter().flatten().chain(own) {
        put(&mut out, k, v);
    }
    Ok(Node::Map(out))
}

/// Whether `text`, written as a plain (unquoted) scalar, is read back as that string by YAML 1.1
/// (PyYAML, so Ansible): not `on` (true), `010` (8), `12:30` (750), `1_000` (1000), `~` (null).
pub fn plain_reads_as_string(text: &str) -> bool {
    matches!(scalar(text, ScalarStyle::Plain, None), Ok(Value::String(s)) if s == text)
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, ScalarError> {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() {
            let s = || Value::String(text.to_string());
            return match tag.suffix() {
                "str" => Ok(s()),
                "int" => int(text).ok_or_else(|| ScalarError::NotInt(text.into())),
                "float" => float(text)
                    .or_else(|| int(text))
                    .ok_or_else(|| ScalarError::NotFloat(text.into())),
                "bool" => bool(text).ok_or_else(|| ScalarError::NotBool(text.into())),
                "null" => Ok(Value::Null),
                other => Err(ScalarError::UnsupportedCoreTag(other.into())),
            };
        }
        return match (tag.handle(), tag.suffix()) {
            ("!", "vault") => Ok(Value::String(text.to_string())),
            ("!", "unsafe") => Ok(Value::String(format!("{UNSAFE}{text}"))),
            (h, s) => Err(ScalarError::UnknownTag(format!("{h}{s}"))),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    if text.is_empty() || matches!(text, "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if text == "=" {
        return Err(ScalarError::ValueKey);
    }
    Ok(bool(text)
        .or_else(|| int(text))
        .or_else(|| float(text))
        .unwrap_or_else(|| Value::String(text.to_string())))
}

fn bool(t: &str) -> Option<Value> {
    match t {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(Value::Bool(true))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

/// Splits a leading sign off.
fn signed(t: &str) -> (bool, &str) {
    match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

/// YAML 1.1 integers: `0b101`, `017` (octal), `0x1F`, `1_000`, `1:20` (base 60).
fn int(t: &str) -> Option<Value> {
    let (negative, body) = signed(t);
    let all = |s: &str, ok: fn(u8) -> bool| !s.is_empty() && s.bytes().all(|b| b == b'_' || ok(b));
    let parse = |s: &str, radix: u32| i64::from_str_radix(&s.replace('_', ""), radix).ok();
    let n = if let Some(b) = body.strip_prefix("0b") {
        all(b, |c| c == b'0' || c == b'1').then(|| parse(b, 2))??
    } else if let Some(h) = body.strip_prefix("0x") {
        all(h, |c| c.is_ascii_hexdigit()).then(|| parse(h, 16))??
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        all(o, |c| (b'0'..=b'7').contains(&c)).then(|| parse(o, 8).or(Some(0)))??
    } else if body.contains(':') {
        sexagesimal(body)?.try_into().ok()?
    } else {
        let first = body.bytes().next()?;
        ((b'1'..=b'9').contains(&first) && all(body, |c| c.is_ascii_digit()))
            .then(|| parse(body, 10))??
    };
    Some(Value::from(if negative { -n } else { n }))
}

/// `1:20:30` as YAML 1.1 reads it: base 60 (the first part 1-9 then digits, the others 0-59).
fn sexagesimal(body: &str) -> Option<u64> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if !first.starts_with(|c: char| ('1'..='9').contains(&c))
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let mut n: u64 = first.replace('_', "").parse().ok()?;
    for p in parts {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u64 = p.parse().ok()?;
        if v > 59 || (p.len() == 2 && !(b'0'..=b'5').contains(&p.as_bytes()[0])) {
            return None;
        }
        n = n.checked_mul(60)?.checked_add(v)?;
    }
    Some(n)
}

/// YAML 1.1 floats: a point required (`1.5`, `1.`, `.5`), an exponent only with its sign
/// (`1.0e+3`), `1:20.5` (base 60); `.inf` and `.nan` are text here (JSON has no such numbers).
fn float(t: &str) -> Option<Value> {
    let (negative, body) = signed(t);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(e) = exponent {
        let ok = e.len() > 1
            && (e.starts_with('+') || e.starts_with('-'))
            && e[1..].bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return None;
        }
    }
    let (int_part, frac) = mantissa.split_once('.')?;
    let value: f64 = if int_part.contains(':') {
        if exponent.is_some() || !digits(frac) {
            return None;
        }
        let whole = sexagesimal(int_part)? as f64;
        let frac: f64 = format!("0.{}", frac.replace('_', "")).parse().ok()?;
        whole + frac
    } else {
        let int_ok = if int_part.is_empty() {
            // `.5`: digits must follow, the first not `_`.
            frac.bytes().next().is_some_and(|b| b.is_ascii_digit())
        } else {
            int_part.as_bytes()[0].is_ascii_digit() && digits(int_part)
        };
        if !int_ok || !digits(frac) {
            return None;
        }
        body.replace('_', "").parse().ok()?
    };
    let value = if negative { -value } else { value };
    Number::from_f64(value).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_are_typed_as_pyyaml_types_them() {
        let doc = "b1: yes\nb2: No\nb3: on\nb5: y\nb8: tRue\nn1: ~\nn4:\ni1: 0x1F\ni2: 017\n\
                   i3: 0o17\ni4: 1_000\ni5: +5\ni6: 0b101\ni7: 1:20\ni8: 08\nf1: 1.5\nf2: 1e3\n\
                   f3: 1.0e+3\nf7: 1_0.5\nf8: .5\ns1: \"yes\"\ns2: '017'\ns4: 12:30:00\n\
                   s5: !!str 5\nv: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n";
        assert_eq!(
            parse(doc).unwrap(),
            json!({"b1": true, "b2": false, "b3": true, "b5": "y", "b8": "tRue", "n1": null,
                   "n4": null, "i1": 31, "i2": 15, "i3": "0o17", "i4": 1000, "i5": 5, "i6": 5,
                   "i7": 80, "i8": "08", "f1": 1.5, "f2": "1e3", "f3": 1000.0, "f7": 10.5,
                   "f8": 0.5, "s1": "yes", "s2": "017", "s4": 45000, "s5": "5",
                   "v": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"})
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys_are_resolved() {
        let doc = "base: &b {port: 80, name: a}\nother: &o {tls: on}\n\
                   svc:\n  <<: [*b, *o]\n  name: mine\ncopy: *b\n";
        assert_eq!(
            parse(doc).unwrap(),
            json!({"base": {"port": 80, "name": "a"}, "other": {"tls": true},
                   "svc": {"port": 80, "name": "mine", "tls": true},
                   "copy": {"port": 80, "name": "a"}})
        );
    }
}
