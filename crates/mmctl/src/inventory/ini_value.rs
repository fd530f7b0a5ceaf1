//! How Ansible's `ini` inventory plugin reads what follows a host name or a `[group:vars]`
//! key: a host line is split as Python's `shlex.split(line, comments=True)` splits it (quotes
//! removed, `#` starting a comment), and each value is tried as a Python literal
//! (`ast.literal_eval`: `5`, `0x10`, `1_000`, `1.5`, `True`, `None`, `'text'`, `[1, 2]`,
//! `{'a': 1}`), kept as the string it is when it is none (`true`, `yes`, `07`, `{z:1}`).

use serde_json::{Map, Number, Value};

/// A host line's words, as `shlex.split(line, comments=True)` gives them; None when a quote
/// is left open (Ansible refuses the line).
pub fn shlex_split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word is under way (it may be empty: `''`).
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' => break,
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// The value as `ast.literal_eval` reads it, or the text itself when it is no Python literal.
pub fn literal(text: &str) -> Value {
    let mut p = Parser {
        s: text.trim_start_matches([' ', '\t']).as_bytes(),
        i: 0,
    };
    match p.value() {
        Some(v) if p.at_end() => v,
        _ => Value::String(text.to_string()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    /// Nothing left but a comment, which Python's parser skips.
    fn at_end(&mut self) -> bool {
        self.space();
        self.i == self.s.len() || self.s[self.i] == b'#'
    }

    fn space(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'[' => {
                self.i += 1;
                self.items(b']').map(Value::Array)
            }
            b'(' => {
                self.i += 1;
                let items = self.items(b')')?;
                Some(Value::Array(items))
            }
            b'{' => {
                self.i += 1;
                self.dict()
            }
            // `u'x'` is `'x'` in Python 3.
            b'u' | b'U' if matches!(self.s.get(self.i + 1), Some(b'\'' | b'"')) => {
                self.i += 1;
                self.value()
            }
            // `b'x'` is bytes, which Ansible takes as unsafe text.
            b'b' | b'B' if matches!(self.s.get(self.i + 1), Some(b'\'' | b'"')) => {
                self.i += 1;
                match self.value()? {
                    Value::String(t) => Some(Value::String(format!("{}{t}", super::UNSAFE))),
                    _ => None,
                }
            }
            b'\'' | b'"' => {
                let mut s = self.string()?;
                // Adjacent literals are one string, as in Python.
                while matches!(self.peek(), Some(b'\'' | b'"')) {
                    s.push_str(&self.string()?);
                }
                Some(Value::String(s))
            }
            _ => self.word(),
        }
    }

    /// Comma-separated values up to `close` (a trailing comma allowed).
    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.value()?);
            if !self.eat(b',') {
                return self.eat(close).then_some(out);
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        let mut out = Map::new();
        loop {
            if self.eat(b'}') {
                return Some(Value::Object(out));
            }
            let key = match self.value()? {
                Value::String(s) => s,
                // JSON keys are strings; Ansible's own JSON output writes numbers as text.
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => if b { "True" } else { "False" }.to_string(),
                _ => return None,
            };
            if !self.eat(b':') {
                return None;
            }
            let value = self.value()?;
            out.insert(key, value);
            if !self.eat(b',') {
                return self.eat(b'}').then_some(Value::Object(out));
            }
        }
    }

    /// A quoted Python string with its common escapes (no prefixes such as `b` or `r`).
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.i += 1;
        let mut bytes = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                c if c == quote => break,
                b'\n' => return None,
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let push: &[u8] = match e {
                        b'n' => b"\n",
                        b't' => b"\t",
                        b'r' => b"\r",
                        b'0' => b"\0",
                        b'\\' => b"\\",
                        b'\'' => b"'",
                        b'"' => b"\"",
                        // Python keeps an unknown escape as it is written.
                        _ => {
                            bytes.push(b'\\');
                            bytes.push(e);
                            continue;
                        }
                    };
                    bytes.extend_from_slice(push);
                }
                c => bytes.push(c),
            }
        }
        String::from_utf8(bytes).ok()
    }

    /// A number, `True`, `False` or `None` (what else is a bare word is no literal).
    fn word(&mut self) -> Option<Value> {
        let start = self.i;
        while self.i < self.s.len()
            && !matches!(
                self.s[self.i],
                b',' | b']' | b')' | b'}' | b':' | b' ' | b'\t'
            )
        {
            self.i += 1;
        }
        let w = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        match w {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => number(w),
        }
    }
}

/// A Python number literal with any unary signs: `-3`, `0x10`, `0o17`, `0b11`, `1_000`, `1.5`,
/// `1e3`, `.5`; None for what Python refuses (`07`, `1__0`, `_1`) and for complex numbers.
fn number(w: &str) -> Option<Value> {
    let digits = w.trim_start_matches(['+', '-']);
    let negative = w[..w.len() - digits.len()].matches('-').count() % 2 == 1;
    if digits.is_empty() {
        return None;
    }
    let grouped = |d: &str, ok: fn(char) -> bool| -> Option<String> {
        let clean = !d.is_empty()
            && !d.starts_with('_')
            && !d.ends_with('_')
            && !d.contains("__")
            && d.chars().all(|c| c == '_' || ok(c));
        clean.then(|| d.replace('_', ""))
    };
    let radix = |prefix: &[&str], base: u32, ok: fn(char) -> bool| -> Option<Value> {
        let rest = prefix.iter().find_map(|p| digits.strip_prefix(p))?;
        let rest = rest.strip_prefix('_').unwrap_or(rest);
        let n = i64::from_str_radix(&grouped(rest, ok)?, base).ok()?;
        Some(Value::from(if negative { -n } else { n }))
    };
    if let Some(v) = radix(&["0x", "0X"], 16, |c| c.is_ascii_hexdigit())
        .or_else(|| radix(&["0o", "0O"], 8, |c| ('0'..='7').contains(&c)))
        .or_else(|| radix(&["0b", "0B"], 2, |c| c == '0' || c == '1'))
    {
        return Some(v);
    }
    if let Some(int) = grouped(digits, |c| c.is_ascii_digit()) {
        // A decimal integer has no leading zero, unless it is all zeros.
        if int.len() > 1 && int.starts_with('0') && int.chars().any(|c| c != '0') {
            return None;
        }
        let n: i64 = int.parse().ok()?;
        return Some(Value::from(if negative { -n } else { n }));
    }
    float(digits).map(|f| {
        let f = if negative { -f } else { f };
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    })
}

/// A Python float literal without its sign: digits with a point and/or an exponent.
fn float(d: &str) -> Option<f64> {
    let (mantissa, exponent) = match d.find(['e', 'E']) {
        Some(i) => (&d[..i], Some(&d[i + 1..])),
        None => (d, None),
    };
    let part = |p: &str| {
        p.is_empty()
            || (!p.starts_with('_')
                && !p.ends_with('_')
                && !p.contains("__")
                && p.chars().all(|c| c.is_ascii_digit() || c == '_'))
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    if !part(int) || !frac.is_none_or(part) || (int.is_empty() && frac.is_none_or(str::is_empty)) {
        return None;
    }
    if frac.is_none() && exponent.is_none() {
        return None;
    }
    if let Some(e) = exponent {
        let digits = e.trim_start_matches(['+', '-']);
        if e.len() - digits.len() > 1 || digits.is_empty() || !part(digits) {
            return None;
        }
    }
    d.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn host_lines_split_as_shlex_splits_them() {
        let w = |l: &str| shlex_split(l).unwrap();
        assert_eq!(w("web1 a=5 d=\"x y\" # note"), ["web1", "a=5", "d=x y"]);
        assert_eq!(
            w("web1 h=\"'q'\" e='[1, 2]'"),
            ["web1", "h='q'", "e=[1, 2]"]
        );
        assert_eq!(w("web1 x=a#b"), ["web1", "x=a"]);
        assert_eq!(
            w(r#"web1 y=a\ b z="q\"uote""#),
            ["web1", "y=a b", "z=q\"uote"]
        );
        assert_eq!(w("web1 e=''"), ["web1", "e="]);
        assert_eq!(shlex_split("web1 x=\"open"), None);
    }

    #[test]
    fn values_are_python_literals_or_the_text_they_are() {
        for (text, want) in [
            ("5", json!(5)),
            ("-3", json!(-3)),
            ("0x10", json!(16)),
            ("0o17", json!(15)),
            ("0b11", json!(3)),
            ("1_000", json!(1000)),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            (".5", json!(0.5)),
            ("True", json!(true)),
            ("None", json!(null)),
            ("'q'", json!("q")),
            ("[1, 2]", json!([1, 2])),
            ("(1,)", json!([1])),
            ("{'a': [1, 'b']}", json!({"a": [1, "b"]})),
            ("true", json!("true")),
            ("yes", json!("yes")),
            ("07", json!("07")),
            ("00", json!(0)),
            ("1__0", json!("1__0")),
            ("{z:1}", json!("{z:1}")),
            ("a=b", json!("a=b")),
            ("", json!("")),
            ("[1, 2", json!("[1, 2")),
        ] {
            assert_eq!(literal(text), want, "{text:?}");
        }
    }
}
