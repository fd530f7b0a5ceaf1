//! A value quoted back in an error message, cut short: any value may be a secret pasted into
//! the wrong key (an SMTP password, an API key, a ping URL), so a message shows at most the
//! start of a long one, enough to find it in the file. Keys that hold secrets (`ping_url`) are
//! never quoted at all.

/// Values up to this many characters are quoted whole.
const WHOLE: usize = 16;
/// Of a longer value, this many characters are shown, then an ellipsis.
const SHOWN: usize = 8;

/// `'value'`, or `'the start…'` when it is longer than `WHOLE` characters; control characters
/// are shown as `?` so a message stays one line.
pub fn quote(v: &str) -> String {
    let clean = |c: char| if c.is_control() { '?' } else { c };
    if v.chars().count() <= WHOLE {
        return format!("'{}'", v.chars().map(clean).collect::<String>());
    }
    let start: String = v.chars().take(SHOWN).map(clean).collect();
    format!("'{start}…'")
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn a_short_value_is_quoted_whole_and_a_long_one_only_begun() {
        assert_eq!(quote("maybe"), "'maybe'");
        assert_eq!(quote("sixteen-chars-xx"), "'sixteen-chars-xx'");
        assert_eq!(quote("Zx9-hunter2-SuperSecret"), "'Zx9-hunt…'");
        assert_eq!(quote("ünïcödé-ünïcödé-ü"), "'ünïcödé-…'");
        assert_eq!(quote("a\nb"), "'a?b'");
    }
}
