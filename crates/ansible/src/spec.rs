//! Each module's argument spec: what its documentation sidecar (`plugins/modules/NAME.yml`)
//! states of every option (type, `elements`, `required`, `choices`, `default`), as data the
//! module validates its arguments against before it acts. Ansible validates a Python module's
//! arguments for it from `argument_spec`; a binary module gets them raw, so this does the same
//! job, in the same words (`missing required arguments: name`, `value of state must be one of:
//! present, absent, got: x`, ...). A test reads the sidecars and proves they state exactly
//! these specs, so the documentation and the checks cannot drift apart.
//!
//! Values are converted as Ansible converts them: a number given for a string option becomes
//! its text, `"300"` for an `int` becomes 300, `yes`/`no` for a `bool` become booleans, a
//! comma-separated string for a `list` becomes its items, a JSON object written as a string
//! for a `dict` becomes the object. A value is never quoted in an error: options can hold
//! secrets (`api_key`).

use super::ModuleError;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A module's name (as `ansible-doc` shows it, without the collection) and its options.
pub struct Spec {
    pub module: &'static str,
    pub options: &'static [Opt],
}

/// One documented option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub choices: &'static [&'static str],
    pub default: Default,
}

/// An option's `type` (and for lists their `elements`), as the sidecar names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Path,
    Dict,
    List(Elements),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elements {
    Str,
    Dict,
}

/// An option's documented `default`; `None` means the option has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
    EmptyList,
    EmptyDict,
}

impl Opt {
    const fn new(name: &'static str, kind: Kind) -> Opt {
        Opt {
            name,
            kind,
            required: false,
            choices: &[],
            default: Default::None,
        }
    }
    pub const fn str(name: &'static str) -> Opt {
        Opt::new(name, Kind::Str)
    }
    pub const fn int(name: &'static str) -> Opt {
        Opt::new(name, Kind::Int)
    }
    pub const fn bool(name: &'static str) -> Opt {
        Opt::new(name, Kind::Bool)
    }
    pub const fn path(name: &'static str) -> Opt {
        Opt::new(name, Kind::Path)
    }
    pub const fn dict(name: &'static str) -> Opt {
        Opt::new(name, Kind::Dict)
    }
    pub const fn list(name: &'static str, elements: Elements) -> Opt {
        Opt::new(name, Kind::List(elements))
    }
    pub const fn required(self) -> Opt {
        Opt {
            required: true,
            ..self
        }
    }
    pub const fn choices(self, choices: &'static [&'static str]) -> Opt {
        Opt { choices, ..self }
    }
    pub const fn default(self, default: Default) -> Opt {
        Opt { default, ..self }
    }
}

impl Kind {
    /// The name Ansible's documentation and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Int => "int",
            Kind::Bool => "bool",
            Kind::Path => "path",
            Kind::Dict => "dict",
            Kind::List(_) => "list",
        }
    }
}

impl Elements {
    pub fn name(self) -> &'static str {
        match self {
            Elements::Str => "str",
            Elements::Dict => "dict",
        }
    }
}

impl Default {
    /// The default as the JSON value Ansible would pass.
    pub fn value(self) -> Option<Value> {
        match self {
            Default::None => None,
            Default::Str(s) => Some(json!(s)),
            Default::Int(i) => Some(json!(i)),
            Default::Bool(b) => Some(json!(b)),
            Default::EmptyList => Some(json!([])),
            Default::EmptyDict => Some(json!({})),
        }
    }
}

/// The arguments checked against `spec`: options converted to their documented types, the
/// documented defaults filled in for options not given (their names in the second half), and
/// Ansible's `_ansible_*` keys kept as they are. Errors come in the order Ansible reports them:
/// unknown options, then missing required ones, then types, then choices.
pub(crate) fn validate(
    raw: &Map<String, Value>,
    spec: &Spec,
) -> Result<(Map<String, Value>, BTreeSet<String>), ModuleError> {
    let known = |k: &str| spec.options.iter().any(|o| o.name == k);
    let unsupported: Vec<&str> = raw
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("_ansible_") && !known(k))
        .collect();
    if !unsupported.is_empty() {
        let mut supported: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
        supported.sort_unstable();
        return Err(ModuleError::Options(format!(
            "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
            spec.module,
            unsupported.join(", "),
            supported.join(", ")
        )));
    }
    // A null is an option left out (a variable that is not set), as for Python modules.
    let given = |name: &str| raw.get(name).filter(|v| !v.is_null());
    let mut missing: Vec<&str> = spec
        .options
        .iter()
        .filter(|o| o.required && given(o.name).is_none())
        .map(|o| o.name)
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(ModuleError::Options(format!(
            "missing required arguments: {}",
            missing.join(", ")
        )));
    }
    let mut out: Map<String, Value> = raw
        .iter()
        .filter(|(k, _)| k.starts_with("_ansible_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut defaulted = BTreeSet::new();
    for opt in spec.options {
        let value = match given(opt.name) {
            Some(v) => convert(opt, v)?,
            None => match opt.default.value() {
                Some(v) => {
                    defaulted.insert(opt.name.to_string());
                    v
                }
                None => continue,
            },
        };
        if !opt.choices.is_empty() && !value.as_str().is_some_and(|s| opt.choices.contains(&s)) {
            return Err(ModuleError::Options(format!(
                "value of {} must be one of: {}, got: {}",
                opt.name,
                opt.choices.join(", "),
                shown(&value)
            )));
        }
        out.insert(opt.name.to_string(), value);
    }
    Ok((out, defaulted))
}

/// A value as an error may show it: only a choice option's value, which is never a secret.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn convert(opt: &Opt, v: &Value) -> Result<Value, ModuleError> {
    let wrong = || {
        ModuleError::Options(format!(
            "argument '{}' is of type {} and we were unable to convert to {}",
            opt.name,
            type_name(v),
            opt.kind.name()
        ))
    };
    match opt.kind {
        Kind::Str | Kind::Path => to_str(v).ok_or_else(wrong),
        Kind::Int => to_int(v).ok_or_else(wrong),
        Kind::Bool => to_bool(v).ok_or_else(wrong),
        Kind::Dict => to_dict(v).ok_or_else(wrong),
        Kind::List(elements) => {
            let items = match v {
                Value::Array(items) => items.clone(),
                Value::String(s) => s.split(',').map(|i| json!(i.trim())).collect(),
                Value::Number(_) => vec![json!(v.to_string())],
                _ => return Err(wrong()),
            };
            items
                .iter()
                .map(|item| {
                    match elements {
                        Elements::Str => to_str(item),
                        Elements::Dict => to_dict(item),
                    }
                    .ok_or_else(|| {
                        ModuleError::Options(format!(
                            "Elements value for option '{}' is of type {} and we were unable \
                             to convert to {}",
                            opt.name,
                            type_name(item),
                            elements.name()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
    }
}

/// The type's name as Ansible's messages give it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn to_str(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) => Some(v.clone()),
        Value::Number(n) => Some(json!(n.to_string())),
        _ => None,
    }
}

fn to_int(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) if n.is_i64() => Some(v.clone()),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| json!(f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|i| json!(i)),
        _ => None,
    }
}

fn to_bool(v: &Value) -> Option<Value> {
    match v {
        Value::Bool(_) => Some(v.clone()),
        Value::String(s) => match s.trim() {
            "1" | "t" | "T" => Some(json!(true)),
            "0" | "f" | "F" => Some(json!(false)),
            s => miraclemax::config::parse_flag(s).map(|b| json!(b)),
        },
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(json!(true)),
            Some(0.0) => Some(json!(false)),
            _ => None,
        },
        _ => None,
    }
}

fn to_dict(v: &Value) -> Option<Value> {
    match v {
        Value::Object(_) => Some(v.clone()),
        Value::String(s) if s.trim().starts_with('{') => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
