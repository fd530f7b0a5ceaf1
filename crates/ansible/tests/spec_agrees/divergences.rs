//! Where the modules' option checks knowingly answer otherwise than Ansible, each with its
//! reason. A difference none of these explains fails the test, so this list is the complete
//! account of how a Rust module's options can differ from a Python module's.

use super::Verdict;
use miraclemax_ansible::spec::{Kind, Spec};
use serde_json::{Map, Value};

pub struct Divergence {
    pub name: &'static str,
    pub why: &'static str,
    /// Whether this divergence explains the two verdicts for these arguments.
    pub explains: fn(&Spec, &Map<String, Value>, &Verdict, &Verdict) -> bool,
}

pub const KNOWN: &[Divergence] = &[
    Divergence {
        name: "a boolean for an int is its number",
        why: "Python's bool is an int, so Ansible hands the module True; a Rust module gets the \
              1 it means",
        explains: |spec, args, rust, python| {
            only_values_differ(rust, python, |k, r, p| {
                kind(spec, k) == Some(Kind::Int)
                    && args.get(k).is_some_and(Value::is_boolean)
                    && r.as_i64() == args[k].as_bool().map(i64::from)
                    && p == &args[k]
            })
        },
    },
    Divergence {
        name: "integers beyond 64 bits are refused",
        why: "Python keeps any integer; the modules read int options as signed 64-bit \
              integers, so a larger one is refused rather than wrapped or rounded",
        explains: |spec, _, rust, python| match (rust, python) {
            (Verdict::Refused(msg), Verdict::Ok(p)) => spec.options.iter().any(|o| {
                o.kind == Kind::Int
                    && msg.starts_with(&format!("argument '{}' is of type", o.name))
                    && p.get(o.name).is_some_and(|v| {
                        v.is_f64() || v.as_u64().is_some_and(|n| n > i64::MAX as u64)
                    })
            }),
            _ => false,
        },
    },
    Divergence {
        name: "a Python-literal dict written as text is refused",
        why: "Ansible falls back to Python's literal_eval for text such as \"{'a': 1}\"; that is \
              Python's syntax, not JSON or key=value, and the modules read only those two",
        explains: |spec, args, rust, python| match (rust, python) {
            (Verdict::Refused(msg), Verdict::Ok(_)) => spec.options.iter().any(|o| {
                let names_it = msg.contains(&format!("option '{}'", o.name))
                    || msg.starts_with(&format!("argument '{}'", o.name));
                matches!(o.kind, Kind::Dict | Kind::List(_))
                    && names_it
                    && args.get(o.name).is_some_and(holds_brace_text)
            }),
            _ => false,
        },
    },
    Divergence {
        name: "an _ansible_ key Ansible does not know is not an unknown option",
        why: "a newer controller may pass internal keys this Ansible does not list; a module \
              must not fail on them, and they are never options",
        explains: |_, args, rust, python| match (rust, python) {
            (Verdict::Ok(_), Verdict::Refused(msg)) => {
                msg.starts_with("Unsupported parameters")
                    && args.keys().any(|k| k.starts_with("_ansible_"))
            }
            _ => false,
        },
    },
    Divergence {
        name: "a mapping turned into text lists its keys sorted",
        why: "the modules read their arguments with the workspace's JSON reader, which keeps \
              an object's keys sorted (keeping the written order would change every other \
              crate's output); Python keeps the order the task wrote",
        explains: |spec, _, rust, python| {
            only_values_differ(rust, python, |k, r, p| {
                matches!(kind(spec, k), Some(Kind::Str | Kind::Path | Kind::List(_)))
                    && sorted_chars(r) == sorted_chars(p)
            })
        },
    },
    Divergence {
        name: "an unassigned code point inside a list or dict turned into text is not escaped",
        why: "Python's repr escapes the characters of its Unicode database's categories it does \
              not print; the modules escape the same for every assigned character, but telling \
              unassigned code points apart would take a copy of that database (which changes \
              with each Python version)",
        explains: |_, _, rust, python| match (rust, python) {
            (Verdict::Refused(r), Verdict::Refused(p)) => *r == printed_as(p, r),
            _ => only_values_differ(rust, python, |_, r, p| match (r.as_str(), p.as_str()) {
                (Some(r), Some(p)) => r == printed_as(p, r),
                _ => false,
            }),
        },
    },
    Divergence {
        name: "where Ansible's validator crashes, the value is refused",
        why: "int(Decimal('Infinity')) raises an OverflowError the validator does not catch, so a \
              Python module fails with a traceback; the modules refuse the value with the type \
              error instead",
        explains: |_, _, rust, python| match (rust, python) {
            (Verdict::Refused(r), Verdict::Refused(p)) => {
                p.starts_with("Ansible crashed")
                    && p.contains("OverflowError")
                    && r.contains(" int")
            }
            _ => false,
        },
    },
];

/// Python's text with each `\uXXXX` or `\UXXXXXXXX` escape turned back into its character
/// where the modules' text has that character unescaped: equal to the modules' text when
/// the only difference is characters Python escapes and the modules print.
fn printed_as(text: &str, rust: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let width = match after.chars().next() {
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        let code = after
            .get(1..=width)
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) if width > 0 && rust.contains(c) => {
                out.push(c);
                rest = &after[1 + width..];
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The characters of a value's text, sorted: equal for two texts that differ only in order.
fn sorted_chars(v: &Value) -> Vec<char> {
    let mut chars: Vec<char> = v.to_string().chars().collect();
    chars.sort_unstable();
    chars
}

fn kind(spec: &Spec, name: &str) -> Option<Kind> {
    spec.options.iter().find(|o| o.name == name).map(|o| o.kind)
}

fn holds_brace_text(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('{'),
        Value::Array(items) => items.iter().any(holds_brace_text),
        _ => false,
    }
}

/// Both accepted, and every option whose value differs satisfies `explained`.
fn only_values_differ(
    rust: &Verdict,
    python: &Verdict,
    explained: impl Fn(&str, &Value, &Value) -> bool,
) -> bool {
    let (Verdict::Ok(r), Verdict::Ok(p)) = (rust, python) else {
        return false;
    };
    let null = Value::Null;
    r.keys()
        .chain(p.keys())
        .filter(|k| r.get(*k) != p.get(*k))
        .all(|k| explained(k, r.get(k).unwrap_or(&null), p.get(k).unwrap_or(&null)))
}
