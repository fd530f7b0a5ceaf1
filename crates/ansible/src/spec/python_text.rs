//! The text a Python module would see where Ansible turns a value into a string: `str()` of a
//! number, a boolean, a list or a dict (Python's `repr` inside containers: `{'a': 1}`,
//! `['x', True, None]`, `1e+16`), and a `path` option's `~` and `$VAR` expanded as
//! `os.path.expanduser(os.path.expandvars(...))` expands them. Following these forms, rather
//! than refusing or writing JSON, is what keeps a Rust module's options identical to what the
//! same task would give a Python module (the differential test `tests/spec_agrees.rs` holds
//! both to it).

use serde_json::{Number, Value};
use uzers::os::unix::UserExt;

/// Python's `str(value)` of a decoded JSON value (`None` is handled by the caller: Ansible
/// turns it into `''` for a string option).
pub(super) fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr` of a decoded JSON value.
fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number(n),
        Value::String(s) => repr_str(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// A JSON number as Python prints the `int` or `float` its JSON reader makes of it.
pub(super) fn number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => float(f),
        _ => n.to_string(),
    }
}

/// Python's `repr(float)`: the shortest digits that read back the same, in positional form
/// for exponents -4..16 (always with a fractional part) and as `1.5e+16` / `1e-05` otherwise.
fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: `-1.2345e-7`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            let zeros = "0".repeat(point.unsigned_abs() as usize);
            ("0".to_string(), format!("{zeros}{digits}"))
        } else if point as usize >= digits.len() {
            let zeros = "0".repeat(point as usize - digits.len());
            (format!("{digits}{zeros}"), "0".to_string())
        } else {
            let (i, f) = digits.split_at(point as usize);
            (i.to_string(), f.to_string())
        };
        format!("{sign}{int}.{frac}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text holds one and no double quote, with
/// backslash escapes for the quote, backslash and characters Python does not print.
fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for the characters options hold in practice: ASCII, Latin and
/// the other letters, marks, digits, symbols and punctuation. Unicode's separators (other
/// than the space), format characters, controls and private-use characters are escaped; code
/// points Unicode has not assigned (which Python also escapes) are not told apart here
/// without a table of the whole Unicode database (a known divergence in the test).
fn printable(c: char) -> bool {
    let u = c as u32;
    match u {
        0x20..=0x7e => true,
        0..=0x1f | 0x7f..=0xa0 | 0xad => false,
        // Separators (Zs, Zl, Zp) and format characters (Cf) Python escapes.
        0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890 | 0x891 | 0x8e2 | 0x1680 | 0x180e => false,
        0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f => false,
        0x3000 | 0xfeff | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f => false,
        0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f => false,
        // Private use and noncharacters.
        0xe000..=0xf8ff | 0xf0000.. | 0xfdd0..=0xfdef | 0xfffe | 0xffff => false,
        _ => true,
    }
}

/// `os.path.expanduser(os.path.expandvars(path))`, as Ansible's `path` type applies it on the
/// managed host (the module's own environment and user database).
pub(super) fn expand_path(path: &str) -> String {
    expand_user(&expand_vars(path))
}

/// `posixpath.expandvars`: `$NAME` and `${NAME}` (NAME of ASCII letters, digits and `_`)
/// replaced by the variable's value when it is set; anything else kept as written.
fn expand_vars(path: &str) -> String {
    if !path.contains('$') {
        return path.to_string();
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after.find(|c| !word(c)).unwrap_or(after.len());
            (&after[..end], end)
        };
        if len == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        match std::env::var(name) {
            Ok(value) => out.push_str(&value),
            // Python skips the whole reference it could not expand.
            Err(_) => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `posixpath.expanduser`: `~` from `HOME` (or the user database when it is unset), `~user`
/// from the user database; a user it does not know leaves the path as written.
fn expand_user(path: &str) -> String {
    let Some(after) = path.strip_prefix('~') else {
        return path.to_string();
    };
    let (name, rest) = after.split_at(after.find('/').unwrap_or(after.len()));
    let home = if name.is_empty() {
        std::env::var("HOME")
            .ok()
            .or_else(|| home_of(uzers::get_current_uid()))
    } else {
        uzers::get_user_by_name(name).map(|u| u.home_dir().to_string_lossy().into_owned())
    };
    match home {
        Some(home) => {
            let joined = format!("{}{rest}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        None => path.to_string(),
    }
}

fn home_of(uid: u32) -> Option<String> {
    uzers::get_user_by_uid(uid).map(|u| u.home_dir().to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_read_as_python_prints_them() {
        for (f, says) in [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(float(f), says, "{f}");
        }
    }

    #[test]
    fn containers_read_as_pythons_repr() {
        assert_eq!(str_of(&json!({"a": 1})), "{'a': 1}");
        assert_eq!(
            str_of(&json!(["x", true, null, 1.0, "it's", "a\"b'c\n"])),
            r#"['x', True, None, 1.0, "it's", 'a"b\'c\n']"#
        );
        assert_eq!(
            str_of(&json!("\u{7f}é\u{a0}")),
            "\u{7f}é\u{a0}",
            "a string stays"
        );
        assert_eq!(str_of(&json!(["\u{7f}é\u{a0}"])), "['\\x7fé\\xa0']");
        assert_eq!(
            str_of(&json!(["\u{2029}\u{200b}\u{e000}\u{f0000}日"])),
            "['\\u2029\\u200b\\ue000\\U000f0000日']",
            "separators, format and private-use characters are escaped as Python escapes them"
        );
    }
}
