//! A YAML hosts file (Ansible's `yaml` inventory plugin): top-level keys are groups (`all` or
//! any other), each with `hosts:` (name -> variables), `vars:` and `children:` (name -> group).

use super::yaml11::{Node, YamlError};
use super::{Def, Inventory, InventoryError, Place};
use serde_json::{Map, Value};
use std::path::Path;

/// Why a YAML hosts file does not have the shape of an inventory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("expected a mapping of names")]
    NotNames,
    #[error("group '{0}': expected hosts:, vars: or children:")]
    GroupBody(String),
    #[error("group '{group}': unknown key '{key}' (a group has hosts:, vars: and children:)")]
    UnknownKey { group: String, key: String },
    #[error("group '{0}': {1}")]
    GroupVars(String, Box<ShapeError>),
    #[error("group '{0}' hosts: {1}")]
    Hosts(String, Box<ShapeError>),
    #[error("group '{0}' children: {1}")]
    Children(String, Box<ShapeError>),
    #[error("host '{0}': {1}")]
    Host(String, Box<ShapeError>),
}

pub fn read(inv: &mut Inventory, file: &Path, text: &str) -> Result<(), InventoryError> {
    let bad = |message: String| InventoryError::Syntax {
        path: file.to_path_buf(),
        message,
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    let doc = super::yaml11::parse_ordered(text).map_err(|e| bad(e.to_string()))?;
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
        group(inv, file, &name, &body, vec![name.clone()], None).map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

/// YAML text as data, with the parser's message on failure (never the text itself: inventory
/// files can hold secrets).
pub fn parse(text: &str) -> Result<Value, YamlError> {
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
) -> Result<(), ShapeError> {
    let g = inv.group_mut(name);
    if let Some(p) = parent {
        g.parents.insert(p.to_string());
    }
    let body = match body {
        Node::Scalar(Value::Null) => return Ok(()),
        Node::Map(m) => m,
        _ => {
            return Err(ShapeError::GroupBody(name.into()));
        }
    };
    for (key, value) in body {
        let mut at = keys.clone();
        at.push(key.clone());
        match key.as_str() {
            "vars" => {
                let vars = vars_of(&value.clone().into_value(), &at, file)
                    .map_err(|m| ShapeError::GroupVars(name.into(), Box::new(m)))?;
                inv.group_mut(name).vars.extend(vars);
            }
            "hosts" => {
                for (host, hv) in
                    &names(value).map_err(|m| ShapeError::Hosts(name.into(), Box::new(m)))?
                {
                    let mut hkeys = at.clone();
                    hkeys.push(host.clone());
                    let vars = vars_of(&hv.clone().into_value(), &hkeys, file)
                        .map_err(|m| ShapeError::Host(host.clone(), Box::new(m)))?;
                    for each in super::expand_hosts(host) {
                        let h = inv.host_mut(&each);
                        h.groups.insert(name.to_string());
                        h.vars.extend(vars.clone());
                    }
                }
            }
            "children" => {
                for (child, cv) in
                    &names(value).map_err(|m| ShapeError::Children(name.into(), Box::new(m)))?
                {
                    let mut ckeys = at.clone();
                    ckeys.push(child.clone());
                    group(inv, file, child, cv, ckeys, Some(name))?;
                }
            }
            other => {
                return Err(ShapeError::UnknownKey {
                    group: name.into(),
                    key: other.into(),
                });
            }
        }
    }
    Ok(())
}

/// A mapping of names in the order written.
fn names(v: &Node) -> Result<Vec<(String, Node)>, ShapeError> {
    match v {
        Node::Scalar(Value::Null) => Ok(Vec::new()),
        // `hosts: web1` is `hosts: {web1: }`, as Ansible reads it.
        Node::Scalar(Value::String(s)) => Ok(vec![(s.clone(), Node::Scalar(Value::Null))]),
        Node::Map(m) => Ok(m.clone()),
        _ => Err(ShapeError::NotNames),
    }
}

fn mapping(v: &Value) -> Result<Map<String, Value>, ShapeError> {
    match v {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(ShapeError::NotNames),
    }
}

/// The variables of a `vars:` mapping (or a host's own mapping), each with its place.
pub fn vars_of(v: &Value, keys: &[String], file: &Path) -> Result<super::Vars, ShapeError> {
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
