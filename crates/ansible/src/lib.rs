//! Ansible's binary-module protocol: the one argument is a JSON file with the task's options
//! and Ansible's `_ansible_*` keys; the module prints exactly one JSON object. Binary modules
//! get no check-mode protection from Ansible, so `Args::check_mode` must be honoured by each.
//! Options written as `key=value` arrive as strings: `int` and `bool` accept them.

pub mod agent_config;
pub mod drill;
pub mod healthchecks_check;
pub mod maintenance;
pub mod stack_facts;

use miraclemax::config::quote;
use miraclemax::state::Dirs;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct Args {
    map: Map<String, Value>,
}

#[derive(Debug)]
pub struct ModuleError(pub String);

impl<T: std::fmt::Display> From<T> for ModuleError {
    fn from(e: T) -> Self {
        ModuleError(e.to_string())
    }
}

impl Args {
    pub fn from_json(text: &str) -> Result<Args, ModuleError> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Args { map }),
            _ => Err(ModuleError(
                "the module's arguments are not a JSON object".into(),
            )),
        }
    }

    pub fn check_mode(&self) -> bool {
        self.bool("_ansible_check_mode")
            .unwrap_or(None)
            .unwrap_or(false)
    }

    pub fn diff(&self) -> bool {
        self.bool("_ansible_diff").unwrap_or(None).unwrap_or(false)
    }

    /// Fails on options the module does not know (a typo in the task), naming the ones it does.
    pub fn only(&self, known: &[&str]) -> Result<(), ModuleError> {
        let unknown: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with("_ansible_") && !known.contains(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(ModuleError(format!(
            "unsupported option(s): {}; supported: {}",
            unknown.join(", "),
            known.join(", ")
        )))
    }

    /// The host's agent configuration and state directory (`config`, `state_dir` options).
    pub fn host_paths(&self) -> Result<(PathBuf, Dirs), ModuleError> {
        let config = self
            .str("config")?
            .unwrap_or_else(|| miraclemax::config::DEFAULT_PATH.to_string());
        let state = self
            .str("state_dir")?
            .unwrap_or_else(|| miraclemax::state::DEFAULT_DIR.to_string());
        Ok((PathBuf::from(config), Dirs::new(Path::new(&state))))
    }

    /// An option as Ansible passed it (lists and mappings as they are).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn str(&self, key: &str) -> Result<Option<String>, ModuleError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(ModuleError(format!(
                "option {key}: expected a string, got {}",
                kind(other)
            ))),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ModuleError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                ModuleError(format!("option {key}: {} is not a whole number", quote(s)))
            }),
            Some(other) => Err(ModuleError(format!(
                "option {key}: expected a whole number, got {}",
                kind(other)
            ))),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ModuleError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => miraclemax::config::parse_flag(s)
                .map(Some)
                .ok_or_else(|| ModuleError(format!("option {key}: {} is not a boolean", quote(s)))),
            Some(other) => Err(ModuleError(format!(
                "option {key}: expected a boolean, got {}",
                kind(other)
            ))),
        }
    }
}

/// What an option's value is, never the value: an option can hold a secret (`api_key`).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A single-threaded runtime for a module's async work.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, ModuleError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

/// Runs a module: reads the args file named by the first argument, prints the result (or
/// `failed` with the message) as one JSON object, exits 0 or 1 like Python modules do.
pub fn main(run: impl FnOnce(&Args) -> Result<Map<String, Value>, ModuleError>) -> ExitCode {
    let result = std::env::args()
        .nth(1)
        .ok_or_else(|| {
            ModuleError("usage: MODULE ARGS_FILE (Ansible runs modules this way)".into())
        })
        .and_then(|path| {
            std::fs::read_to_string(&path)
                .map_err(|e| ModuleError(format!("cannot read {path}: {e}")))
        })
        .and_then(|text| Args::from_json(&text))
        .and_then(|args| run(&args));
    match result {
        // A module may report a failure after it changed something (`failed` and `changed`).
        Ok(mut out) => {
            out.entry("changed").or_insert(json!(false));
            let failed = out.entry("failed").or_insert(json!(false)) == &json!(true);
            println!("{}", Value::Object(out));
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(ModuleError(msg)) => {
            println!(
                "{}",
                json!({ "failed": true, "changed": false, "msg": msg })
            );
            ExitCode::FAILURE
        }
    }
}
