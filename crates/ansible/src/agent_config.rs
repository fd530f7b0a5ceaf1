//! `agent_config`: the text of a host's agent configuration (`/etc/miraclemax/config.yaml`),
//! written from the self_healing role's variables, or with `heartbeat` the heartbeat role's
//! fragment, by `miraclemax::config::render`, the code `mmctl render` and `mmctl validate` use,
//! so what the controller shows and what the host receives cannot differ. It runs on the
//! controller and only computes: the roles write the text with `ansible.builtin.copy` (check
//! mode, diff, validation, handlers as usual).

use super::{Args, ModuleError};
use miraclemax::config::render::{AgentVars, agent_config, heartbeat_fragment};
use serde_json::{Map, Value, json};

pub const OPTIONS: &[&str] = &[
    "host",
    "ssh_target",
    "monitored_services",
    "email",
    "notify",
    "limits",
    "protected_processes",
    "smtp_password",
    "metrics_textfile",
    "heartbeat",
];

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    args.only(OPTIONS)?;
    let mut out = Map::new();
    if let Some(section) = args.value("heartbeat").filter(|v| !v.is_null()) {
        if !section.is_object() {
            return Err(ModuleError(
                "option heartbeat: expected a mapping (ping_url, deadline, services)".into(),
            ));
        }
        out.insert("content".into(), json!(heartbeat_fragment(section)));
        return Ok(out);
    }
    let host = args
        .str("host")?
        .ok_or_else(|| ModuleError("host is required (the name reports use)".into()))?;
    let list = |key: &str| -> Result<Vec<Value>, ModuleError> {
        match args.value(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(ModuleError(format!("option {key}: expected a list"))),
        }
    };
    let vars = AgentVars {
        host,
        ssh_target: args.str("ssh_target")?.unwrap_or_default(),
        monitored_services: list("monitored_services")?,
        email: args.value("email").cloned().unwrap_or(Value::Null),
        notify: list("notify")?,
        limits: args.value("limits").cloned().unwrap_or(Value::Null),
        protected_processes: list("protected_processes")?,
        smtp_password: args.bool("smtp_password")?.unwrap_or(false),
        metrics_textfile: args.str("metrics_textfile")?.unwrap_or_default(),
    };
    out.insert("content".into(), json!(agent_config(&vars)));
    Ok(out)
}
