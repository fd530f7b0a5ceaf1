//! Whether a host watches a service, per the inventory: `test heal` and `logs --service` ask
//! before they reach the host, so a typo or a service never added is refused with the list
//! the host has and the way to add one, and nothing on the host is touched.

use crate::edit;
use crate::inventory::{Inventory, NotInInventory, Unresolved, template::Resolver};
use crate::services::SERVICES;
use serde_json::Value;

/// Why mmctl will not ask a host about a service.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WatchedError {
    #[error(transparent)]
    Unknown(#[from] NotInInventory),
    #[error("{host}: {SERVICES} is not a list (see: mmctl validate)")]
    NotAList { host: String },
    #[error("{host}: cannot tell which services it watches: {reason}")]
    Unresolved { host: String, reason: Unresolved },
    #[error(
        "{host} does not watch service '{service}' (its {SERVICES}{from}: {watched}); {instead}, \
         or add it first: mmctl add-service {service} --port PORT --host {host}, then mmctl \
         deploy --only self-healing"
    )]
    NotWatched {
        host: String,
        service: String,
        /// ` in FILE` when a file defines the list.
        from: String,
        /// The services it watches, or `none`.
        watched: String,
        instead: String,
    },
}

/// The services `host` watches, and the file that defines its list (None when no file does
/// and the role's default applies). An error when the host is not in the inventory or its
/// list cannot be worked out (a template mmctl cannot evaluate, a vaulted value).
pub fn services_of(
    inv: &Inventory,
    host: &str,
) -> Result<(Vec<String>, Option<String>), WatchedError> {
    inv.require_host(host)?;
    let hv = inv.host_vars(host);
    let list = match Resolver::new(&hv).get(SERVICES) {
        Ok(Value::Array(a)) => a,
        Ok(Value::Null) => Vec::new(),
        Ok(_) => return Err(WatchedError::NotAList { host: host.into() }),
        Err(reason) => {
            return Err(WatchedError::Unresolved {
                host: host.into(),
                reason,
            });
        }
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
pub fn require(
    inv: &Inventory,
    host: &str,
    service: &str,
    instead: &str,
) -> Result<(), WatchedError> {
    let (names, file) = services_of(inv, host)?;
    if names.iter().any(|n| n == service) {
        return Ok(());
    }
    let watched = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    Err(WatchedError::NotWatched {
        host: host.into(),
        service: service.into(),
        from: file.map_or(String::new(), |f| format!(" in {f}")),
        watched,
        instead: instead.into(),
    })
}
