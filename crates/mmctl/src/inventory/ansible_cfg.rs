//! ansible.cfg read as Ansible reads it: Python's `configparser.ConfigParser(
//! inline_comment_prefixes=(';',))`, values taken raw (no `%` interpolation).
//! Kept by hand: no crate in Cargo.lock reads INI by configparser's rules (inline `;` only after
//! a blank, `#` inline is text, keys case-insensitive, indented continuation lines, `[DEFAULT]`
//! under every section), and these are what decide which inventory and vault Ansible uses.
//! What configparser refuses (a key outside a section, a line with no `=` or `:`, a key
//! written twice) makes Ansible stop; mmctl reads past it and Ansible says the error.

/// `key` in `[section]` (or in `[DEFAULT]`, when `section` exists), its lines joined by
/// newlines as configparser joins a continued value; None when not set.
pub fn setting(text: &str, section: &str, key: &str) -> Option<String> {
    let key = key.to_lowercase();
    let mut current: Option<&str> = None;
    let mut sections: Vec<&str> = Vec::new();
    // Every value read: its section, its key, its lines; the last one may go on.
    let mut values: Vec<(&str, String, Vec<&str>)> = Vec::new();
    let mut open = false;
    let mut indent = 0;
    for line in text.lines() {
        let value = line[..comment_start(line)].trim();
        if value.is_empty() {
            // A blank line inside a continued value is kept; neither it nor a comment line
            // ends the value.
            if line.trim().is_empty()
                && open
                && let Some((_, _, lines)) = values.last_mut()
            {
                lines.push("");
            }
            continue;
        }
        let this_indent = line.len() - line.trim_start().len();
        if open
            && this_indent > indent
            && let Some((_, _, lines)) = values.last_mut()
        {
            lines.push(value);
            continue;
        }
        indent = this_indent;
        open = false;
        if let Some(header) = value
            .strip_prefix('[')
            .and_then(|v| v.rfind(']').map(|e| &v[..e]))
            .filter(|h| !h.is_empty())
        {
            current = Some(header);
            sections.push(header);
            continue;
        }
        let (Some(s), Some(at)) = (current, value.find(['=', ':'])) else {
            continue;
        };
        let k = value[..at].trim_end().to_lowercase();
        if !k.is_empty() {
            values.push((s, k, vec![value[at + 1..].trim_start()]));
            open = true;
        }
    }
    let last_in = |s: &str| values.iter().rev().find(|(vs, k, _)| *vs == s && *k == key);
    let (_, _, lines) = last_in(section).or_else(|| {
        sections
            .contains(&section)
            .then(|| last_in("DEFAULT"))
            .flatten()
    })?;
    Some(lines.join("\n").trim_end().to_string())
}

/// Where the comment of `line` starts (its length when it has none): a line whose text starts
/// with `#` or `;` is all comment; else a `;` at the start or after a blank.
fn comment_start(line: &str) -> usize {
    let t = line.trim_start();
    if t.starts_with(['#', ';']) {
        return 0;
    }
    let b = line.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b';' && (i == 0 || (b[i - 1] as char).is_ascii_whitespace()))
        .unwrap_or(line.len())
}

#[cfg(test)]
mod tests {
    use super::setting;

    #[test]
    fn the_setting_is_read_from_its_section_only() {
        let cfg = "[ssh_connection]\ninventory = wrong\n# inventory = commented\n[defaults]\ninventory = inv/hosts.yml, other ; note\n";
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("inv/hosts.yml, other")
        );
        assert_eq!(setting(cfg, "defaults", "vault_password_file"), None);
    }

    #[test]
    fn keys_are_case_insensitive_and_sections_are_not() {
        let cfg = "[defaults]\nInventory: hosts\n[Defaults]\nvault_id_match = true\n";
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("hosts")
        );
        assert_eq!(setting(cfg, "defaults", "vault_id_match"), None);
    }

    #[test]
    fn a_hash_after_the_value_is_part_of_it_a_semicolon_after_a_blank_is_not() {
        let cfg = "[defaults]\ninventory = hosts # all\nvault_identity = dev;prod ; note\n";
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("hosts # all")
        );
        assert_eq!(
            setting(cfg, "defaults", "vault_identity").as_deref(),
            Some("dev;prod")
        );
    }

    #[test]
    fn indented_lines_continue_the_value() {
        let cfg = "[defaults]\ncallbacks_enabled = a,\n    b, ; one\n\n  # between\n    c\n\ninventory = hosts\n";
        assert_eq!(
            setting(cfg, "defaults", "callbacks_enabled").as_deref(),
            Some("a,\nb,\n\nc")
        );
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("hosts")
        );
    }

    #[test]
    fn default_applies_to_a_section_that_exists() {
        let cfg = "[DEFAULT]\ninventory = shared\n[defaults]\nforks = 5\n";
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("shared")
        );
        assert_eq!(
            setting("[DEFAULT]\ninventory = shared\n", "defaults", "inventory"),
            None
        );
        let own = "[DEFAULT]\ninventory = shared\n[defaults]\ninventory = own\n";
        assert_eq!(
            setting(own, "defaults", "inventory").as_deref(),
            Some("own")
        );
    }

    #[test]
    fn percent_signs_are_read_raw() {
        let cfg = "[defaults]\ninventory = %(here)s/hosts\n";
        assert_eq!(
            setting(cfg, "defaults", "inventory").as_deref(),
            Some("%(here)s/hosts")
        );
    }
}
