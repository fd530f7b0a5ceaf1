//! `agent_config`: the text of a host's agent configuration (`/etc/miraclemax/config.yaml`),
//! written from the self_healing role's variables, or with `heartbeat` the heartbeat role's
//! fragment, by `miraclemax::config::render`, the code `mmctl render` and `mmctl validate` use,
//! so what the controller shows and what the host receives cannot differ. It runs on the
//! controller and only computes: the roles write the text with `ansible.builtin.copy` (check
//! mode, diff, validation, handlers as usual).

use super::spec::{Default, Elements, Opt, Spec};
use super::{Args, ModuleError};
use miraclemax::config::render::{AgentVars, agent_config, heartbeat_fragment};
use serde_json::{Map, Value, json};

/// What `plugins/modules/agent_config.yml` documents.
pub const SPEC: Spec = Spec {
    module: "agent_config",
    options: &[
        Opt::str("host"),
        Opt::str("ssh_target").default(Default::Str("")),
        Opt::list("monitored_services", Elements::Dict).default(Default::EmptyList),
        Opt::dict("email").default(Default::EmptyDict),
        Opt::list("notify", Elements::Dict).default(Default::EmptyList),
        Opt::dict("limits").default(Default::EmptyDict),
        Opt::list("protected_processes", Elements::Str).default(Default::EmptyList),
        Opt::bool("smtp_password").default(Default::Bool(false)),
        Opt::str("metrics_textfile").default(Default::Str("")),
        Opt::dict("host_checks").default(Default::EmptyDict),
        Opt::dict("heartbeat"),
    ],
};

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    let args = &args.validate(&SPEC)?;
    let mut out = Map::new();
    if let Some(section) = args.value("heartbeat") {
        out.insert("content".into(), json!(heartbeat_fragment(section)));
        return Ok(out);
    }
    // Required only without `heartbeat`, which the spec cannot say.
    let host = args.str("host")?.ok_or_else(|| {
        ModuleError::Options(
            "missing required arguments: host (the name reports use; only a heartbeat \
             fragment needs none)"
                .into(),
        )
    })?;
    let list = |key: &str| -> Vec<Value> {
        args.value(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let vars = AgentVars {
        host,
        ssh_target: args.str("ssh_target")?.unwrap_or_default(),
        monitored_services: list("monitored_services"),
        email: args.value("email").cloned().unwrap_or(Value::Null),
        notify: list("notify"),
        limits: args.value("limits").cloned().unwrap_or(Value::Null),
        protected_processes: list("protected_processes"),
        smtp_password: args.bool("smtp_password")?.unwrap_or(false),
        metrics_textfile: args.str("metrics_textfile")?.unwrap_or_default(),
        host_checks: args.value("host_checks").cloned().unwrap_or(Value::Null),
    };
    out.insert("content".into(), json!(agent_config(&vars)));
    Ok(out)
}
