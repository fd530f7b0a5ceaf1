//! `miraclemax.stack.stack_facts`: what `miraclemax-status --json` shows, as
//! `ansible_facts.miraclemax`, so a play can assert the stack is up: the daemon's state and
//! liveness, each watched service's unit state and healing phase, and the heartbeat's last run.
//! Read-only (check mode is the same run). A host without a configuration yet reports
//! `installed: false` instead of failing, so the facts can be read before a first deploy.

use super::spec::{Default, Opt, Spec};
use super::{Args, ModuleError};
use serde_json::{Map, Value, json};

/// What `plugins/modules/stack_facts.yml` documents.
pub const SPEC: Spec = Spec {
    module: "stack_facts",
    options: &[
        Opt::path("config").default(Default::Str(miraclemax::config::DEFAULT_PATH)),
        Opt::path("state_dir").default(Default::Str(miraclemax::state::DEFAULT_DIR)),
    ],
};

pub fn run(args: &Args) -> Result<Map<String, Value>, ModuleError> {
    let args = &args.validate(&SPEC)?;
    let (path, dirs) = args.host_paths()?;
    let mut out = Map::new();
    if !path.exists() {
        out.insert(
            "ansible_facts".into(),
            json!({ "miraclemax": { "installed": false } }),
        );
        out.insert(
            "msg".into(),
            json!(format!("no MiracleMax configuration at {}", path.display())),
        );
        return Ok(out);
    }
    let config = miraclemax::config::load(&path)?;
    let report = super::block_on(miraclemax::status::gather(&config, &dirs))?;
    let mut facts = serde_json::to_value(&report)?;
    facts["installed"] = json!(true);
    out.insert("ansible_facts".into(), json!({ "miraclemax": facts }));
    Ok(out)
}
