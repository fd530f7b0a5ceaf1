//! A YAML hosts file (Ansible's `yaml` inventory plugin): top-level keys are groups (`all` or
//! any other), each with `hosts:` (name -> variables), `vars:` and `children:` (name -> group).

use super::yaml11::Node;
use super::{Def, Inventory, InventoryError, Place};
use serde_json::{Map, Value};
use std::path::Path;

pub fn read(inv: &mut Inventory, file: &Path, text: &str) -> Result<(), InventoryError> {
    let bad = |message: String| InventoryError::Syntax {
        path: file.to_path_buf(),
        message,
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    let doc = super::yaml11::parse_ordered(text).map_err(bad)?;
    let top = match doc {
        Node::Scalar(Value::Null) => return Ok(()),
        Node::Map(m) => m,
        _ => {
            return Err(bad(
                "a YAML inventory is a mapping of groups (all:, web:, ...)".into(),
            ));
        }
    };
    for (name, body) in top {
        group(inv, file, &name, &body, vec![name.clone()], None).map_err(bad)?;
    }
    Ok(())
}

/// YAML text as data, with the parser's message on failure (never the text itself: inventory
/// files can hold secrets).
pub fn parse(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    super::yaml11::parse(text)
}

fn group(
    inv: &mut Inventory,
    file: &Path,
    name: &str,
    body: &Node,
    keys: Vec<String>,
    parent: Option<&str>,
) -> Result<(), String> {
    let g = inv.group_mut(name);
    if let Some(p) = parent {
        g.parents.insert(p.to_string());
    }
    let body = match body {
        Node::Scalar(Value::Null) => return Ok(()),
        Node::Map(m) => m,
        _ => {
            return Err(format!(
                "group '{name}': expected hosts:, vars: or children:"
            ));
        }
    };
    for (key, value) in body {
        let mut at = keys.clone();
        at.push(key.clone());
        match key.as_str() {
            "vars" => {
                let vars = vars_of(&value.clone().into_value(), &at, file)
                    .map_err(|m| format!("group '{name}': {m}"))?;
                inv.group_mut(name).vars.extend(vars);
            }
            "hosts" => {
                for (host, hv) in &names(value).map_err(|m| format!("group '{name}' hosts: {m}"))? {
                    let mut hkeys = at.clone();
                    hkeys.push(host.clone());
                    let vars = vars_of(&hv.clone().into_value(), &hkeys, file)
                        .map_err(|m| format!("host '{host}': {m}"))?;
                    for each in super::expand_hosts(host) {
                        let h = inv.host_mut(&each);
                        h.groups.insert(name.to_string());
                        h.vars.extend(vars.clone());
                    }
                }
            }
            "children" => {
                for (child, cv) in
                    &names(value).map_err(|m| format!("group '{name}' children: {m}"))?
                {
                    let mut ckeys = at.clone();
                    ckeys.push(child.clone());
                    group(inv, file, child, cv, ckeys, Some(name))?;
                }
            }
            other => {
                return Err(format!(
                    "group '{name}': unknown key '{other}' (a group has hosts:, vars: and children:)"
                ));
            }
        }
    }
    Ok(())
}

/// A mapping of names in the order written.
fn names(v: &Node) -> Result<Vec<(String, Node)>, String> {
    match v {
        Node::Scalar(Value::Null) => Ok(Vec::new()),
        // `hosts: web1` is `hosts: {web1: }`, as Ansible reads it.
        Node::Scalar(Value::String(s)) => Ok(vec![(s.clone(), Node::Scalar(Value::Null))]),
        Node::Map(m) => Ok(m.clone()),
        _ => Err("expected a mapping of names".into()),
    }
}

fn mapping(v: &Value) -> Result<Map<String, Value>, String> {
    match v {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err("expected a mapping of names".into()),
    }
}

/// The variables of a `vars:` mapping (or a host's own mapping), each with its place.
pub fn vars_of(v: &Value, keys: &[String], file: &Path) -> Result<super::Vars, String> {
    Ok(mapping(v)?
        .into_iter()
        .map(|(k, value)| {
            let at = Place {
                file: file.to_path_buf(),
                keys: keys.to_vec(),
            };
            (k, Def { value, at })
        })
        .collect())
}
