//! The modules' option checks (`spec::validate`) give the answer Ansible gives a Python module
//! with the same argument spec: the same arguments accepted or refused, the same converted
//! values, the same message. The truth is Ansible itself (`ArgumentSpecValidator` from the
//! project venv, as `AnsibleModule` reports it; see `spec_agrees/ansible.rs`), not fixtures we
//! wrote: a hand-picked table of tricky values and generated argument sets go through both.
//!
//! Compared after one documented normalisation: Ansible ends a type error with `: ` and a
//! reason that quotes the value (`argument 'timeout' is of type str and we were unable to
//! convert to int: "'soon'" cannot be converted to an int`); the modules stop before it,
//! because options may hold secrets (`api_key`). Options Ansible reports as None (given as
//! null, no default) are left out by the modules, which read them as not given. Any other
//! difference must be one of the named `divergences::KNOWN`, or the test fails.

#[path = "spec_agrees/ansible.rs"]
mod ansible;
#[path = "spec_agrees/cases.rs"]
mod cases;
#[path = "spec_agrees/divergences.rs"]
mod divergences;

use miraclemax_ansible::spec::{self, Spec};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok(Map<String, Value>),
    Refused(String),
}

fn rust_verdict(spec: &Spec, args: &Map<String, Value>) -> Verdict {
    match spec::validate(args, spec) {
        Ok((mut out, _)) => {
            out.retain(|k, _| !k.starts_with("_ansible_"));
            Verdict::Ok(out)
        }
        Err(e) => Verdict::Refused(e.to_string()),
    }
}

fn python_verdict(answer: &Value, rust: &Verdict) -> Verdict {
    if let Some(crash) = answer.get("crash") {
        return Verdict::Refused(format!("Ansible crashed: {}", crash.as_str().unwrap_or("")));
    }
    if answer["ok"] == Value::Bool(true) {
        let mut params = answer["params"].as_object().cloned().unwrap_or_default();
        if let Verdict::Ok(r) = rust {
            params.retain(|k, v| !v.is_null() || r.contains_key(k));
        }
        return Verdict::Ok(params);
    }
    Verdict::Refused(without_reason(answer["msg"].as_str().unwrap_or("")))
}

/// Ansible's message without the `: reason` after a type error's wanted type (the reason
/// quotes the value).
fn without_reason(msg: &str) -> String {
    const WANTED: &str = "and we were unable to convert to ";
    match msg.find(WANTED) {
        Some(at) => {
            let from = at + WANTED.len();
            let end = msg[from..].find(": ").map_or(msg.len(), |i| from + i);
            msg[..end].to_string()
        }
        None => msg.to_string(),
    }
}

/// Runs the cases through both and returns the names of the divergences that explained a
/// difference; panics listing every unexplained one.
fn compare(cases: &[(&Spec, String)]) -> BTreeSet<&'static str> {
    let answers = ansible::verdicts(cases);
    let mut used = BTreeSet::new();
    let mut unexplained = Vec::new();
    for ((spec, text), answer) in cases.iter().zip(&answers) {
        let args: Map<String, Value> = serde_json::from_str(text).expect("arguments are JSON");
        let rust = rust_verdict(spec, &args);
        let python = python_verdict(answer, &rust);
        if rust == python {
            continue;
        }
        match divergences::KNOWN
            .iter()
            .find(|d| (d.explains)(spec, &args, &rust, &python))
        {
            Some(d) => {
                used.insert(d.name);
            }
            None => unexplained.push(format!(
                "{} {text}\n  Rust:    {rust:?}\n  Ansible: {python:?}",
                spec.module
            )),
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} of {} argument sets are answered otherwise than Ansible answers them, and no \
         known divergence explains it (fix spec.rs, or name the divergence with its reason in \
         tests/spec_agrees/divergences.rs):\n{}",
        unexplained.len(),
        cases.len(),
        unexplained
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    used
}

#[test]
fn tricky_values_are_checked_as_ansible_checks_them() {
    let used = compare(&cases::table());
    for d in divergences::KNOWN {
        assert!(
            used.contains(d.name),
            "the known divergence '{}' ({}) no longer shows in the table: remove it from \
             tests/spec_agrees/divergences.rs, or add the case that shows it",
            d.name,
            d.why
        );
    }
}

#[test]
fn generated_arguments_are_checked_as_ansible_checks_them() {
    compare(&cases::generated(3000));
}

#[test]
fn the_reason_ansible_appends_to_a_type_error_is_what_is_left_out() {
    assert_eq!(
        without_reason(
            "argument 'timeout' is of type str and we were unable to convert to int: \"'soon'\" \
             cannot be converted to an int"
        ),
        "argument 'timeout' is of type str and we were unable to convert to int"
    );
    assert_eq!(
        without_reason("value of state must be one of: a, b, got: c: d"),
        "value of state must be one of: a, b, got: c: d",
        "only type errors lose their reason"
    );
}
