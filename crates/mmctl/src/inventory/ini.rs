//! An INI hosts file (Ansible's `ini` inventory plugin): `[group]` sections of host lines
//! (`name key=value ...`), `[group:vars]` and `[group:children]`. mmctl reads these but edits
//! only YAML files; services are best kept in `group_vars/` or `host_vars/`.

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
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = match h.split_once(':') {
                Some((g, "vars")) => (g.to_string(), "vars"),
                Some((g, "children")) => (g.to_string(), "children"),
                Some(_) => {
                    return Err(bad(
                        "a section is [group], [group:vars] or [group:children]",
                    ));
                }
                None => (h.to_string(), "hosts"),
            };
            inv.group_mut(&section.0);
            continue;
        }
        match section.1 {
            "vars" => {
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| bad("expected key=value in a [group:vars] section"))?;
                let def = Def {
                    value: scalar(v.trim()),
                    at: place(),
                };
                inv.group_mut(&section.0).vars.insert(k.trim().into(), def);
            }
            "children" => {
                inv.group_mut(line).parents.insert(section.0.clone());
            }
            _ => {
                let mut words = line.split_whitespace();
                let pattern = words.next().unwrap_or_default().to_string();
                let mut vars = Vec::new();
                for w in words {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or_else(|| bad("host variables are written key=value"))?;
                    vars.push((k.to_string(), scalar(v)));
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

/// INI values are strings unless they read as a number or a boolean, as in Ansible.
fn scalar(v: &str) -> Value {
    let unquoted = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
    if let Some(s) = unquoted {
        return Value::String(s.into());
    }
    if let Ok(n) = v.parse::<i64>() {
        return n.into();
    }
    match v {
        "True" | "true" => true.into(),
        "False" | "false" => false.into(),
        _ => Value::String(v.into()),
    }
}
