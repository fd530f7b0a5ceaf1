//! `mmctl inventory --host HOST`: the variables the inventory gives a host, as
//! `ansible-inventory --host HOST` prints them (JSON, values as written, not templated, the
//! roles' defaults left out), so what mmctl reads can be set beside what Ansible reads.

use crate::services::Source;
use serde_json::{Map, Value};

pub fn host(src: &Source, host: &str) -> anyhow::Result<Value> {
    let inv = src.load()?;
    if !inv.hosts.contains_key(host) {
        anyhow::bail!(
            "no host '{host}' in the inventory (hosts: {})",
            inv.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let vars: Map<String, Value> = inv
        .host_vars(host)
        .defs
        .into_iter()
        // Not the roles' defaults, nor what Ansible itself sets (`inventory_hostname`, ...).
        .filter(|(_, d)| {
            !d.at.file.starts_with("roles/")
                && d.at.file.as_os_str() != crate::inventory::ANSIBLE_SETS
        })
        .map(|(name, d)| (name, d.value))
        .collect();
    Ok(Value::Object(vars))
}
