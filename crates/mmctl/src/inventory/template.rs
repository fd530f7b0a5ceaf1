//! Jinja in inventory values (`"{{ vault_smtp_password | default('') }}"`), evaluated as
//! Ansible does when a play reads the variable: lazily, each referenced variable templated in
//! turn, and a value that is one `{{ expression }}` keeps its type (a list stays a list). The
//! filters inventories use are here (`default`, `regex_replace`, `bool`, `lower`, ...); an
//! expression mmctl cannot evaluate (a lookup, `hostvars`) is reported with its variable and
//! place, never guessed.

use super::{HostVars, Place};
use minijinja::{Environment, UndefinedBehavior, Value as JValue};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Why a variable has no value mmctl can know.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unresolved {
    #[error("variable '{0}' is not defined")]
    Undefined(String),
    #[error("variable '{name}' ({}): {message}", place.file.display())]
    Template {
        name: String,
        place: Place,
        message: String,
    },
    #[error("variable '{name}' ({}) is encrypted with Ansible Vault; give its password (--vault-password-file, --vault-id or --ask-vault-pass)", place.file.display())]
    Vaulted { name: String, place: Place },
}

/// Templates variables of one host, remembering what it has worked out.
pub struct Resolver<'a> {
    vars: &'a HostVars,
    env: Environment<'static>,
    done: RefCell<BTreeMap<String, Result<Value, Unresolved>>>,
    busy: RefCell<BTreeSet<String>>,
}

impl<'a> Resolver<'a> {
    pub fn new(vars: &'a HostVars) -> Self {
        Resolver {
            vars,
            env: environment(),
            done: RefCell::default(),
            busy: RefCell::default(),
        }
    }

    /// The value of `name`, fully templated.
    pub fn get(&self, name: &str) -> Result<Value, Unresolved> {
        if let Some(r) = self.done.borrow().get(name) {
            return r.clone();
        }
        let def = self
            .vars
            .defs
            .get(name)
            .ok_or_else(|| Unresolved::Undefined(name.to_string()))?;
        if !self.busy.borrow_mut().insert(name.to_string()) {
            return Err(Unresolved::Template {
                name: name.into(),
                place: def.at.clone(),
                message: "refers to itself".into(),
            });
        }
        let r = self.value(&def.value).map_err(|e| match e {
            Fail::Vaulted => Unresolved::Vaulted {
                name: name.into(),
                place: def.at.clone(),
            },
            Fail::Other(message) => Unresolved::Template {
                name: name.into(),
                place: def.at.clone(),
                message,
            },
        });
        self.busy.borrow_mut().remove(name);
        self.done.borrow_mut().insert(name.to_string(), r.clone());
        r
    }

    fn value(&self, v: &Value) -> Result<Value, Fail> {
        Ok(match v {
            Value::String(s) => self.string(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.value(i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), self.value(v)?)))
                    .collect::<Result<_, Fail>>()?,
            ),
            other => other.clone(),
        })
    }

    fn string(&self, s: &str) -> Result<Value, Fail> {
        if let Some(text) = s.strip_prefix(super::yaml11::UNSAFE) {
            return Ok(Value::String(text.to_string()));
        }
        if super::vault::is_vault(s) {
            // An inline `!vault` value: its plain text, as it is (Ansible does not template it).
            if !self.vars.vault.has_secrets() {
                return Err(Fail::Vaulted);
            }
            return self
                .vars
                .vault
                .open(s)
                .map(Value::String)
                .map_err(|e| Fail::Other(e.to_string()));
        }
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(Value::String(s.to_string()));
        }
        let fail = |e: minijinja::Error| Fail::Other(describe(&e));
        if let Some(expr) = single_expression(s) {
            let e = self.env.compile_expression(expr).map_err(fail)?;
            let ctx = self.context(e.undeclared_variables(false))?;
            let out = e.eval(ctx).map_err(fail)?;
            return to_json(&out);
        }
        let t = self.env.template_from_str(s).map_err(fail)?;
        let ctx = self.context(t.undeclared_variables(false))?;
        Ok(Value::String(t.render(ctx).map_err(fail)?))
    }

    /// The variables a template refers to; undefined ones are left out, so that `default()`
    /// and `is defined` see them as Ansible does.
    fn context(&self, names: std::collections::HashSet<String>) -> Result<JValue, Fail> {
        let mut ctx = BTreeMap::new();
        for n in names {
            match self.get(&n) {
                Ok(v) => {
                    ctx.insert(n, JValue::from(minijinja::value::Serde(&v)));
                }
                Err(Unresolved::Undefined(_)) => {}
                Err(Unresolved::Vaulted { .. }) => return Err(Fail::Vaulted),
                Err(e) => return Err(Fail::Other(e.to_string())),
            }
        }
        Ok(JValue::from(minijinja::value::Serde(&ctx)))
    }
}

enum Fail {
    Vaulted,
    Other(String),
}

fn describe(e: &minijinja::Error) -> String {
    let mut m = e.to_string();
    if matches!(
        e.kind(),
        minijinja::ErrorKind::UnknownFilter | minijinja::ErrorKind::UnknownFunction
    ) {
        m.push_str(" (mmctl evaluates inventory Jinja without Ansible's lookups and plugins; set this value plainly, or in host_vars)");
    }
    m
}

/// `"{{ expr }}"` and nothing else: Ansible keeps the expression's own type.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

fn to_json(v: &JValue) -> Result<Value, Fail> {
    if v.is_undefined() {
        return Err(Fail::Other("the expression is undefined".into()));
    }
    serde_json::to_value(v).map_err(|e| Fail::Other(e.to_string()))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("bool", to_bool);
    env.add_filter("to_json", |v: JValue| {
        serde_json::to_string(&v).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    });
    env.add_filter(
        "ternary",
        |v: JValue, yes: JValue, no: JValue| {
            if v.is_true() { yes } else { no }
        },
    );
    env.add_filter("mandatory", |v: JValue| {
        if v.is_undefined() || v.is_none() {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::UndefinedError,
                "a mandatory variable is not defined",
            ))
        } else {
            Ok(v)
        }
    });
    env.add_filter("d", minijinja::filters::default);
    env
}

/// Ansible's `regex_replace(pattern, replacement)`: Python's `re.sub`, so `\1` in the
/// replacement is a group.
fn regex_replace(
    s: String,
    pattern: String,
    replacement: String,
) -> Result<String, minijinja::Error> {
    let re = regex::Regex::new(&pattern).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    })?;
    let mut rep = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                rep.push_str(&format!("${{{d}}}"));
                chars.next();
            }
            ('$', _) => rep.push_str("$$"),
            _ => rep.push(c),
        }
    }
    Ok(re.replace_all(&s, rep.as_str()).into_owned())
}

/// Ansible 2.19's `bool` (`to_bool` in plugins/filter/core.py): a string lowercased (not
/// trimmed), or an integer or boolean written out, is true for `yes`, `on`, `true`, `1` and
/// false for `no`, `off`, `false`, `0`. Any other value gives what Python's `value == 1` gives:
/// the float 1.0 is true; `y`, `t`, ` yes `, '', 2, -1, 0.5, null, lists and mappings are false
/// (Ansible warns that this is deprecated, and an error from ansible-core 2.23).
fn to_bool(v: JValue) -> bool {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().to_lowercase();
            matches!(s.as_str(), "yes" | "on" | "true" | "1")
        }
        ValueKind::Number if v.is_integer() => v.as_i64() == Some(1),
        ValueKind::Number => f64::try_from(v).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Def;
    use std::path::PathBuf;

    fn vars(pairs: &[(&str, Value)]) -> HostVars {
        let at = Place {
            file: PathBuf::from("inv/group_vars/all.yml"),
            keys: vec![],
        };
        HostVars {
            host: "web1".into(),
            defs: pairs
                .iter()
                .map(|(k, v)| {
                    let def = Def {
                        value: v.clone(),
                        at: at.clone(),
                    };
                    (k.to_string(), def)
                })
                .collect(),
            layers: Default::default(),
            vault: Default::default(),
            sealed: Vec::new(),
        }
    }

    #[test]
    fn values_are_templated_lazily_with_the_filters_inventories_use() {
        let v = vars(&[
            ("ansible_host", "10.77.3.2".into()),
            (
                "gw",
                "{{ ansible_host | regex_replace('\\.2$', '.1') }}".into(),
            ),
            ("pw", "{{ vault_pw | default('') }}".into()),
            ("list", "{{ base + ['b'] }}".into()),
            ("base", serde_json::json!(["a"])),
            ("text", "smtp at {{ gw }}:{{ port }}".into()),
            ("port", 2525.into()),
        ]);
        let r = Resolver::new(&v);
        assert_eq!(r.get("gw").unwrap(), "10.77.3.1");
        assert_eq!(r.get("pw").unwrap(), "");
        assert_eq!(r.get("list").unwrap(), serde_json::json!(["a", "b"]));
        assert_eq!(r.get("text").unwrap(), "smtp at 10.77.3.1:2525");
    }

    #[test]
    fn an_unsafe_value_is_never_templated() {
        let doc = crate::inventory::parse_yaml("u: !unsafe '{{ nothing }}'\n").unwrap();
        let v = vars(&[("u", doc["u"].clone())]);
        assert_eq!(Resolver::new(&v).get("u").unwrap(), "{{ nothing }}");
    }

    #[test]
    fn what_cannot_be_evaluated_is_reported_with_its_variable_never_guessed() {
        let v = vars(&[
            ("a", "{{ lookup('file', '/x') }}".into()),
            ("b", "{{ c }}".into()),
            ("c", "{{ b }}".into()),
            ("d", "{{ nothing }}".into()),
            ("e", "$ANSIBLE_VAULT;1.1;AES256\n6162".into()),
        ]);
        let r = Resolver::new(&v);
        let a = r.get("a").unwrap_err().to_string();
        assert!(a.contains("variable 'a'") && a.contains("lookup"), "{a}");
        assert!(
            r.get("b")
                .unwrap_err()
                .to_string()
                .contains("refers to itself")
        );
        assert!(r.get("d").unwrap_err().to_string().contains("variable 'd'"));
        assert!(matches!(r.get("e"), Err(Unresolved::Vaulted { .. })));
    }
}
