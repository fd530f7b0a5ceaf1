//! `mmctl inventory`: the inventory as mmctl reads it, in the shapes of `ansible-inventory`:
//! `--host HOST` (a host's variables), `--list` (groups, their hosts and children, and every
//! host's variables under `_meta.hostvars`) and `--graph [GROUP]`. Values are as written, not
//! templated; the roles' defaults and what Ansible sets itself are left out, as
//! ansible-inventory leaves them out, so the two can be set side by side. Names are listed
//! in name order (ansible-inventory lists them in the order it read them).

use crate::inventory::{ANSIBLE_SETS, Inventory, NotInInventory};
use serde_json::{Map, Value, json};

/// The variables the inventory gives `host`.
pub fn host(inv: &Inventory, host: &str) -> Result<Value, NotInInventory> {
    inv.require_host(host)?;
    Ok(Value::Object(vars_of(inv, host, false)))
}

fn vars_of(inv: &Inventory, host: &str, list: bool) -> Map<String, Value> {
    inv.host_vars(host)
        .defs
        .into_iter()
        .filter(|(_, d)| !d.at.file.starts_with("roles/") && d.at.file.as_os_str() != ANSIBLE_SETS)
        .map(|(name, d)| (name, shown(d.value, list)))
        .collect()
}

/// A value as ansible-inventory prints it: an inline `!vault` value as
/// `{"__ansible_vault": TEXT}`; an `!unsafe` one as `{"__ansible_unsafe": TEXT}` in `--list`
/// and as its text in `--host`.
fn shown(v: Value, list: bool) -> Value {
    match v {
        Value::String(s) if crate::inventory::vault::is_vault(&s) => {
            json!({ "__ansible_vault": s })
        }
        // `!unsafe` text, as written: marked so in --list, as ansible-inventory marks it.
        Value::String(s) if s.starts_with(crate::inventory::UNSAFE) => {
            let text = s.trim_start_matches(crate::inventory::UNSAFE).to_string();
            if list {
                json!({ "__ansible_unsafe": text })
            } else {
                Value::String(text)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|v| shown(v, list)).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, shown(v, list))).collect())
        }
        other => other,
    }
}

/// The groups (direct hosts among `hosts`, child groups) and `_meta.hostvars`.
pub fn list(inv: &Inventory, hosts: &[String]) -> Value {
    let mut out = Map::new();
    for name in inv.groups.keys() {
        let mut g = Map::new();
        if name != "all" {
            let direct: Vec<&String> = hosts
                .iter()
                .filter(|h| inv.hosts[h.as_str()].groups.contains(name))
                .collect();
            if !direct.is_empty() {
                g.insert("hosts".into(), json!(direct));
            }
        }
        let children = children(inv, name);
        if !children.is_empty() {
            g.insert("children".into(), json!(children));
        }
        if !g.is_empty() {
            out.insert(name.clone(), Value::Object(g));
        }
    }
    let hostvars: Map<String, Value> = hosts
        .iter()
        .map(|h| (h.clone(), Value::Object(vars_of(inv, h, true))))
        .filter(|(_, v)| v.as_object().is_some_and(|m| !m.is_empty()))
        .collect();
    out.insert("_meta".into(), json!({ "hostvars": hostvars }));
    Value::Object(out)
}

fn children<'a>(inv: &'a Inventory, group: &str) -> Vec<&'a String> {
    inv.groups
        .iter()
        .filter(|(_, g)| g.parents.contains(group))
        .map(|(n, _)| n)
        .collect()
}

/// `@all:` and below, as `ansible-inventory --graph` draws it.
pub fn graph(inv: &Inventory, top: &str) -> Result<String, NotInInventory> {
    inv.require_group(top)?;
    let mut lines = Vec::new();
    draw(inv, top, 0, &mut lines);
    Ok(lines.join("\n") + "\n")
}

fn draw(inv: &Inventory, group: &str, depth: usize, lines: &mut Vec<String>) {
    let name = |n: &str, depth: usize| {
        if depth == 0 {
            n.to_string()
        } else {
            format!("{}--{n}", "  |".repeat(depth))
        }
    };
    lines.push(name(&format!("@{group}:"), depth));
    for kid in children(inv, group) {
        draw(inv, kid, depth + 1, lines);
    }
    if group != "all" {
        for (h, host) in &inv.hosts {
            if host.groups.contains(group) {
                lines.push(name(h, depth + 1));
            }
        }
    }
}
