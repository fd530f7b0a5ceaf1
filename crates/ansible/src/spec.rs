//! Each module's argument spec: what its documentation sidecar (`plugins/modules/NAME.yml`)
//! states of every option (type, `elements`, `required`, `choices`, `default`), as data the
//! module validates its arguments against before it acts. Ansible validates a Python module's
//! arguments for it from `argument_spec`; a binary module gets them raw, so this does the same
//! job, in the same words (`missing required arguments: name`, `value of state must be one of:
//! present, absent, got: x`, ...). A test reads the sidecars and proves they state exactly
//! these specs, so the documentation and the checks cannot drift apart.
//!
//! Where this decides what Ansible also decides, Ansible's answer is the truth: the same
//! arguments are accepted or refused, converted to the same values, and refused with the same
//! first message as `AnsibleModule` gives a Python module, which `tests/spec_agrees.rs` proves
//! against the installed ansible-core on a table of tricky values and generated ones. So
//! `"300"`, `" 3.0 "` or `"1_000"` are an `int`; `yes`, `On`, `1` are a `bool`; anything given
//! for a `str` becomes Python's `str()` of it (`True`, `['a']`); `"a, b"` is the `list` `a`,
//! ` b` (nothing trimmed); `"a=1 b=2"` or a JSON object in text is a `dict`; a `path` has `~`
//! and `$VARS` expanded; null is given (a string becomes `''`, a value with a default is
//! checked as it is, not replaced by the default). The few places where it knowingly answers
//! otherwise are named, with their reasons, in that test's `divergences.rs`; the chief one is
//! that a value is never quoted in an error (Ansible appends a reason quoting it): options can
//! hold secrets (`api_key`).

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

/// The arguments checked against `spec` as Ansible's `AnsibleModule` checks a Python
/// module's: options converted to their documented types, the documented defaults filled in
/// for options not given (their names in the second half), and Ansible's `_ansible_*` keys
/// kept as they are. Of several errors the one reported is the one Ansible reports (the
/// first it finds): missing required options, then each option's type in the spec's order,
/// then choices, then unknown options (ignored when Ansible passes
/// `_ansible_ignore_unknown_opts`, which keeps them as given).
pub fn validate(
    raw: &Map<String, Value>,
    spec: &Spec,
) -> Result<(Map<String, Value>, BTreeSet<String>), ModuleError> {
    // An option given as null is given: Ansible type-checks it (a string becomes '').
    let mut missing: Vec<&str> = spec
        .options
        .iter()
        .filter(|o| o.required && !raw.contains_key(o.name))
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
        let value = match raw.get(opt.name) {
            // Ansible leaves it None, which a module reads as not given.
            Some(Value::Null) if !opt.required && opt.default == Default::None => continue,
            Some(v) => convert(opt, v)?,
            None => match opt.default.value() {
                Some(v) => {
                    defaulted.insert(opt.name.to_string());
                    v
                }
                None => continue,
            },
        };
        out.insert(opt.name.to_string(), value);
    }
    for opt in spec.options.iter().filter(|o| !o.choices.is_empty()) {
        match out.get_mut(opt.name) {
            Some(value) => check_choice(opt, value)?,
            // Ansible checks the None it kept against the choices too (`got: None`).
            None if raw.get(opt.name) == Some(&Value::Null) => {
                check_choice(opt, &mut Value::Null)?;
            }
            None => {}
        }
    }
    unknown_options(raw, spec, &mut out)?;
    Ok((out, defaulted))
}

/// Options the spec does not name: refused naming them and the supported ones, or, when
/// Ansible passes `_ansible_ignore_unknown_opts`, kept as given (as Ansible keeps them).
fn unknown_options(
    raw: &Map<String, Value>,
    spec: &Spec,
    out: &mut Map<String, Value>,
) -> Result<(), ModuleError> {
    let known = |k: &str| k.starts_with("_ansible_") || spec.options.iter().any(|o| o.name == k);
    let mut unsupported: Vec<&str> = raw
        .keys()
        .map(String::as_str)
        .filter(|k| !known(k))
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    if raw
        .get("_ansible_ignore_unknown_opts")
        .and_then(convert::to_bool)
        == Some(json!(true))
    {
        for k in unsupported {
            out.insert(k.to_string(), raw[k].clone());
        }
        return Ok(());
    }
    unsupported.sort_unstable();
    let mut supported: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
    supported.sort_unstable();
    Err(ModuleError::Options(format!(
        "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
        spec.module,
        unsupported.join(", "),
        supported.join(", ")
    )))
}

/// A value outside the choices is refused showing it (a choice option's value is never a
/// secret). As Ansible does, `True`/`False` (a YAML boolean turned into text) stand for the
/// one choice that is a boolean word, if there is exactly one.
fn check_choice(opt: &Opt, value: &mut Value) -> Result<(), ModuleError> {
    let is_choice = |v: &Value| v.as_str().is_some_and(|s| opt.choices.contains(&s));
    if !is_choice(value) {
        let words: &[&str] = match value.as_str() {
            Some("True") => &["y", "yes", "on", "1", "true", "t"],
            Some("False") => &["n", "no", "off", "0", "false", "f"],
            _ => &[],
        };
        let overlap: Vec<&&str> = opt.choices.iter().filter(|c| words.contains(c)).collect();
        if let [only] = overlap[..] {
            *value = json!(only);
        }
    }
    if is_choice(value) {
        return Ok(());
    }
    Err(ModuleError::Options(format!(
        "value of {} must be one of: {}, got: {}",
        opt.name,
        opt.choices.join(", "),
        shown(value)
    )))
}

/// A value as an error may show it: only a choice option's value, which is never a secret.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => python_text::str_of(other),
    }
}

/// The option's value converted to its kind, or Ansible's refusal naming the option and both
/// types (Ansible goes on to quote the value; options may hold secrets, so this stops there).
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
        Kind::Str => convert::to_str(v).ok_or_else(wrong),
        Kind::Path => convert::to_path(v).ok_or_else(wrong),
        Kind::Int => convert::to_int(v).ok_or_else(wrong),
        Kind::Bool => convert::to_bool(v).ok_or_else(wrong),
        Kind::Dict => convert::to_dict(v).ok_or_else(wrong),
        Kind::List(elements) => convert::to_list(v)
            .ok_or_else(wrong)?
            .iter()
            .map(|item| {
                match elements {
                    Elements::Str => convert::to_str(item),
                    Elements::Dict => convert::to_dict(item),
                }
                .ok_or_else(|| {
                    ModuleError::Options(format!(
                        "Elements value for option '{}' is of type {} and we were unable to \
                         convert to {}",
                        opt.name,
                        type_name(item),
                        elements.name()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
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

mod convert;
mod python_text;

#[cfg(test)]
mod tests;
