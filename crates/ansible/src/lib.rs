//! Ansible's binary-module protocol: the one argument is a JSON file with the task's options
//! and Ansible's `_ansible_*` keys; the module prints exactly one JSON object. Binary modules
//! get no check-mode protection from Ansible, so `Args::check_mode` must be honoured by each.
//! Each module first checks its arguments against its spec (`spec`, the data its documentation
//! sidecar states), as Ansible does for Python modules; options written as `key=value` arrive
//! as strings and are converted there.

pub mod agent_config;
pub mod drill;
mod error;
pub mod healthchecks_check;
pub mod maintenance;
pub mod spec;
pub mod stack_facts;

pub use error::ModuleError;

use miraclemax::state::Dirs;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A module's arguments. Made by `from_json` as Ansible wrote them, then checked against the
/// module's spec by `validate`, after which every option has its documented type and default.
pub struct Args {
    map: Map<String, Value>,
    defaulted: BTreeSet<String>,
}

impl Args {
    pub fn from_json(text: &str) -> Result<Args, ModuleError> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Args {
                map,
                defaulted: BTreeSet::new(),
            }),
            _ => Err(ModuleError::Invocation(
                "the module's arguments are not a JSON object".into(),
            )),
        }
    }

    /// The arguments checked against the module's documented options (see `spec`).
    pub fn validate(&self, spec: &spec::Spec) -> Result<Args, ModuleError> {
        let (map, defaulted) = spec::validate(&self.map, spec)?;
        Ok(Args { map, defaulted })
    }

    pub fn check_mode(&self) -> bool {
        self.bool("_ansible_check_mode")
            .unwrap_or(None)
            .unwrap_or(false)
    }

    pub fn diff(&self) -> bool {
        self.bool("_ansible_diff").unwrap_or(None).unwrap_or(false)
    }

    /// Whether the task gave the option (rather than its documented default filling it in).
    pub fn given(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null()) && !self.defaulted.contains(key)
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
            Some(other) => Err(unconvertible(key, other, "str")),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ModuleError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| unconvertible(key, &self.map[key], "int")),
            Some(other) => Err(unconvertible(key, other, "int")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ModuleError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v @ Value::String(s)) => miraclemax::config::parse_flag(s)
                .map(Some)
                .ok_or_else(|| unconvertible(key, v, "bool")),
            Some(other) => Err(unconvertible(key, other, "bool")),
        }
    }
}

/// Ansible's type error; it names the value's type, never the value: an option can hold a
/// secret (`api_key`).
fn unconvertible(key: &str, v: &Value, to: &str) -> ModuleError {
    ModuleError::Options(format!(
        "argument '{key}' is of type {} and we were unable to convert to {to}",
        spec::type_name(v)
    ))
}

/// A single-threaded runtime for a module's async work.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, ModuleError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ModuleError::Runtime)?;
    Ok(rt.block_on(f))
}

/// Runs a module: reads the args file named by the first argument, prints the result (or
/// `failed` with the message) as one JSON object, exits 0 or 1 like Python modules do.
pub fn main(run: impl FnOnce(&Args) -> Result<Map<String, Value>, ModuleError>) -> ExitCode {
    let result = std::env::args()
        .nth(1)
        .ok_or_else(|| {
            ModuleError::Invocation(
                "usage: MODULE ARGS_FILE (Ansible runs modules this way)".into(),
            )
        })
        .and_then(|path| {
            std::fs::read_to_string(&path)
                .map_err(|e| ModuleError::Invocation(format!("cannot read {path}: {e}")))
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
        Err(e) => {
            println!(
                "{}",
                json!({ "failed": true, "changed": false, "msg": e.to_string() })
            );
            ExitCode::FAILURE
        }
    }
}
