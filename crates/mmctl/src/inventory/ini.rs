//! An INI hosts file (Ansible's `ini` inventory plugin): `[group]` sections of host lines
//! (`name[:port] key=value ...`), `[group:vars]` and `[group:children]`, values read as that
//! plugin reads them (see `ini_value`). mmctl reads these but edits only YAML files; services
//! are best kept in `group_vars/` or `host_vars/`.

use super::ini_value::{literal, shlex_split};
use super::{Def, Inventory, InventoryError, Place};
use serde_json::Value;
use std::path::Path;

pub fn read(inv: &mut Inventory, file: &Path, text: &str) -> Result<(), InventoryError> {
    let mut section = ("ungrouped".to_string(), "hosts");
    let place = || Place {
        file: file.to_path_buf(),
        keys: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let bad = |m: &str| InventoryError::Syntax {
            path: file.to_path_buf(),
            message: format!("line {}: {m}", i + 1),
        };
        if let Some(h) = section_header(line) {
            section = match h.split_once(':') {
                Some((g, "vars")) => (g.to_string(), "vars"),
                Some((g, "children")) => (g.to_string(), "children"),
                None if !h.is_empty() => (h.to_string(), "hosts"),
                _ => {
                    return Err(bad(
                        "a section is [group], [group:vars] or [group:children]",
                    ));
                }
            };
            inv.group_mut(&section.0);
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(bad(
                "not a section: a section is [group], [group:vars] or [group:children], without spaces",
            ));
        }
        match section.1 {
            "vars" => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| bad("expected key=value in a [group:vars] section"))?;
                let def = Def {
                    value: literal(v.trim()),
                    at: place(),
                };
                inv.group_mut(&section.0).vars.insert(k.trim().into(), def);
            }
            "children" => {
                inv.group_mut(line).parents.insert(section.0.clone());
            }
            _ => {
                let words =
                    shlex_split(line).ok_or_else(|| bad("a quote is not closed on this line"))?;
                let Some((first, rest)) = words.split_first() else {
                    continue;
                };
                let (pattern, port) = host_and_port(first);
                let mut vars = Vec::new();
                if let Some(port) = port {
                    vars.push(("ansible_port".to_string(), Value::from(port)));
                }
                for w in rest {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or_else(|| bad("host variables are written key=value"))?;
                    vars.push((k.to_string(), literal(v)));
                }
                for name in super::expand_hosts(&pattern) {
                    let host = inv.host_mut(&name);
                    host.groups.insert(section.0.clone());
                    for (k, v) in &vars {
                        let def = Def {
                            value: v.clone(),
                            at: place(),
                        };
                        host.vars.insert(k.clone(), def);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `[name]` or `[name:kind]`, then perhaps a comment: what is inside the brackets.
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?;
    let end = inner.find(']')?;
    let after = inner[end + 1..].trim_start();
    let name = &inner[..end];
    let valid = !name.is_empty()
        && !name.contains(char::is_whitespace)
        && name.matches(':').count() <= 1
        && (after.is_empty() || after.starts_with('#'));
    valid.then_some(name)
}

/// `web2:2222` is host web2 on port 2222 (a pattern's own `[1:3]` range is no port).
fn host_and_port(word: &str) -> (String, Option<u16>) {
    if let Some((host, port)) = word.rsplit_once(':')
        && !host.contains(':')
        && !host.ends_with(']')
        && let Ok(port) = port.parse::<u16>()
    {
        return (host.to_string(), Some(port));
    }
    (word.to_string(), None)
}
