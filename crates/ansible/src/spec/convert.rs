//! One option value converted to its documented type exactly as Ansible's type checkers
//! (`ansible.module_utils.common.validation.check_type_*`) convert it for a Python module, so a
//! task means the same to a Rust module as to a Python one. `None` means Ansible refuses the
//! value (the caller words the refusal, never quoting the value: it may be a secret).

use super::python_text::{expand_path, number, str_of};
use serde_json::{Map, Value, json};

/// `check_type_str`: text stays, `None` becomes `''`, anything else becomes Python's `str()`
/// of it (`True`, `1.0`, `['a']`, `{'a': 1}`: what a Python module would be handed).
pub(super) fn to_str(v: &Value) -> Option<Value> {
    Some(match v {
        Value::String(_) => v.clone(),
        Value::Null => json!(""),
        other => json!(str_of(other)),
    })
}

/// `check_type_path`: the text, with `~` and set `$VARS` expanded.
pub(super) fn to_path(v: &Value) -> Option<Value> {
    let text = to_str(v)?;
    Some(json!(expand_path(text.as_str().unwrap_or_default())))
}

/// `check_type_int`: whole numbers stay (a boolean is Python's int 1 or 0), a float or text
/// is taken when Python's `Decimal` reads it as a whole number (`" 3.0 "`, `"1_000"`,
/// `"+5"`, `"1e3"`). Numbers beyond a signed 64-bit integer, which Python would keep, are
/// refused: the modules read their `int` options as `i64`.
pub(super) fn to_int(v: &Value) -> Option<Value> {
    match v {
        Value::Bool(b) => Some(json!(i64::from(*b))),
        Value::Number(n) if n.is_i64() => Some(v.clone()),
        // 2^63 is exact as a float; every whole float below it in size is a 64-bit integer.
        Value::Number(n) => n
            .as_f64()
            .filter(|f| {
                f.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(f)
            })
            .map(|f| json!(f as i64)),
        Value::String(s) => decimal_int(s).map(|i| json!(i)),
        _ => None,
    }
}

/// Python's `int(Decimal(text))` when that is exact: whitespace around, a sign, digits with
/// any underscores, an optional fraction that must be zero, an optional exponent.
fn decimal_int(text: &str) -> Option<i64> {
    let s: String = text.trim().chars().filter(|c| *c != '_').collect();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, &s[..]),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], s[at + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let mut digits = format!("{int}{frac}");
    let mut exp = i64::from(exp) - frac.len() as i64;
    while exp < 0 && digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if exp < 0 || digits.len() as i64 + exp > 19 {
        return None;
    }
    let value = format!("{digits}{}", "0".repeat(exp as usize))
        .parse::<i128>()
        .ok()?;
    i64::try_from(if negative { -value } else { value }).ok()
}

/// `check_type_bool` with `boolean()`: booleans stay; text (any case, spaces around) and the
/// numbers 1 and 0 are read from Ansible's two sets of words.
pub(super) fn to_bool(v: &Value) -> Option<Value> {
    match v {
        Value::Bool(_) => Some(v.clone()),
        Value::String(s) => match s.trim().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(json!(true)),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(json!(false)),
            _ => None,
        },
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(json!(true)),
            // -0.0 too, as Python finds it equal to 0.
            Some(0.0) => Some(json!(false)),
            _ => None,
        },
        _ => None,
    }
}

/// `check_type_dict`: a mapping stays; text starting with `{` is read as JSON, other text
/// with `=` as `k1=v1 k2=v2` (or `k1=v1, k2=v2`, with quotes and backslash escapes).
/// Python-literal text (`{'a': 1}`), which Ansible would also try, is refused here.
pub(super) fn to_dict(v: &Value) -> Option<Value> {
    match v {
        Value::Object(_) => Some(v.clone()),
        Value::String(s) if s.starts_with('{') => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object),
        Value::String(s) if s.contains('=') => key_values(s).map(Value::Object),
        _ => None,
    }
}

/// The `key=value` form of `check_type_dict`, field by field as it splits them.
fn key_values(s: &str) -> Option<Map<String, Value>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.trim().chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    fields
        .into_iter()
        .map(|f| f.split_once('=').map(|(k, v)| (k.to_string(), json!(v))))
        .collect()
}

/// `check_type_list`: a list stays; text is split at every comma (nothing trimmed: `"a, b"`
/// gives `a` and ` b`); a number (or boolean, an int to Python) becomes a one-item list of
/// its text.
pub(super) fn to_list(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items.clone()),
        Value::String(s) => Some(s.split(',').map(|i| json!(i)).collect()),
        Value::Number(n) => Some(vec![json!(number(n))]),
        Value::Bool(b) => Some(vec![json!(if *b { "True" } else { "False" })]),
        _ => None,
    }
}
