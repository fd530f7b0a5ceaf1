//! Host patterns as `--limit` takes them (Ansible's own rules): terms separated by `:` or `,`,
//! each a host or group name or a glob over them (`web*`, `db?`), `all` or `*` for every host;
//! `&term` keeps only hosts also in it, `!term` takes its hosts out. Terms are applied as
//! Ansible applies them: the plain ones first, then the `&` ones, then the `!` ones, whatever
//! their order, and on every host when no plain term is given. Regular expressions (`~...`) and subscripts (`group[0]`) are refused with a
//! clear message rather than guessed.

use super::Inventory;
use std::collections::BTreeSet;

/// A pattern term mmctl does not evaluate (rather than guess what Ansible would select).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error(
        "the pattern '{0}' is a regular expression, which mmctl does not evaluate: name the hosts or groups, or use * and ? globs"
    )]
    Regex(String),
    #[error(
        "the pattern '{0}' has a subscript or a range, which mmctl does not evaluate: name the hosts or groups, or use * and ? globs"
    )]
    Subscript(String),
}

impl Inventory {
    /// The hosts `pattern` selects, in name order; a term that matches nothing selects nothing
    /// (as in Ansible, which only warns).
    pub fn matching(&self, pattern: &str) -> Result<Vec<String>, PatternError> {
        let terms: Vec<&str> = pattern
            .split([',', ':'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let mut selected: BTreeSet<String> = BTreeSet::new();
        let kind = |t: &str| match t.chars().next() {
            Some('&') => 1,
            Some('!') => 2,
            _ => 0,
        };
        let mut ordered = terms.clone();
        ordered.sort_by_key(|t| kind(t));
        // Only `&` and `!` terms: they apply to every host.
        if ordered.iter().all(|t| kind(t) != 0) {
            selected.extend(self.hosts.keys().cloned());
        }
        for term in ordered {
            match kind(term) {
                1 => {
                    let keep = self.term(&term[1..])?;
                    selected.retain(|h| keep.contains(h));
                }
                2 => {
                    for h in self.term(&term[1..])? {
                        selected.remove(&h);
                    }
                }
                _ => selected.extend(self.term(term)?),
            }
        }
        Ok(selected.into_iter().collect())
    }

    fn term(&self, term: &str) -> Result<BTreeSet<String>, PatternError> {
        if term.starts_with('~') {
            return Err(PatternError::Regex(term.into()));
        }
        if term.contains('[') {
            return Err(PatternError::Subscript(term.into()));
        }
        if term == "all" || term == "*" {
            return Ok(self.hosts.keys().cloned().collect());
        }
        let mut out = BTreeSet::new();
        let groups: Vec<&String> = self.groups.keys().filter(|g| glob(term, g)).collect();
        for g in &groups {
            out.extend(self.hosts_in(g));
        }
        // Host names too when no group matched, or the term is a glob (or has a dot), as
        // Ansible's `_enumerate_matches` decides.
        if groups.is_empty() || term.contains(['*', '?', '.']) {
            out.extend(self.hosts.keys().filter(|h| glob(term, h)).cloned());
        }
        Ok(out)
    }
}

/// `*` any run of characters, `?` one; anything else itself.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // The last `*` seen and where in the name it stood, to backtrack to.
    let (mut i, mut j, mut star): (usize, usize, Option<(usize, usize)>) = (0, 0, None);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_as_fnmatch_does_for_star_and_question_mark() {
        assert!(glob("web*", "web1"));
        assert!(glob("*", "x"));
        assert!(glob("d?1", "db1"));
        assert!(glob("*b*1", "web01"));
        assert!(!glob("web?", "web10"));
        assert!(!glob("db", "db1"));
        assert!(glob("web1", "web1"));
    }
}
