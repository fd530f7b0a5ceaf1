//! Whether a host watches a service, per the inventory: `test heal` and `logs --service` ask
//! before they reach the host, so a typo or a service never added is refused with the list
//! the host has and the way to add one, and nothing on the host is touched.

use crate::edit;
use crate::inventory::{Inventory, template::Resolver};
use crate::services::SERVICES;
use serde_json::Value;

/// The services `host` watches, and the file that defines its list (None when no file does
/// and the role's default applies). An error when the host is not in the inventory or its
/// list cannot be worked out (a template mmctl cannot evaluate, a vaulted value).
pub fn services_of(inv: &Inventory, host: &str) -> anyhow::Result<(Vec<String>, Option<String>)> {
    if !inv.hosts.contains_key(host) {
        let known: Vec<&str> = inv.hosts.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no host '{host}' in the inventory (hosts: {})",
            known.join(", ")
        );
    }
    let hv = inv.host_vars(host);
    let list = match Resolver::new(&hv).get(SERVICES) {
        Ok(Value::Array(a)) => a,
        Ok(Value::Null) => Vec::new(),
        Ok(_) => anyhow::bail!("{host}: {SERVICES} is not a list (see: mmctl validate)"),
        Err(e) => anyhow::bail!("{host}: cannot tell which services it watches: {e}"),
    };
    let names = list
        .iter()
        .filter_map(edit::entry_name)
        .map(String::from)
        .collect();
    let file = hv
        .defined_at(SERVICES)
        .map(|p| p.file.display().to_string());
    Ok((names, file))
}

/// Refuses a service that `host` does not watch; `instead` says what else the user can do.
pub fn require(inv: &Inventory, host: &str, service: &str, instead: &str) -> anyhow::Result<()> {
    let (names, file) = services_of(inv, host)?;
    if names.iter().any(|n| n == service) {
        return Ok(());
    }
    let watched = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let from = file.map_or(String::new(), |f| format!(" in {f}"));
    anyhow::bail!(
        "{host} does not watch service '{service}' (its {SERVICES}{from}: {watched}); {instead}, \
         or add it first: mmctl add-service {service} --port PORT --host {host}, then mmctl \
         deploy --only self-healing"
    )
}
