//! Why `add-service`, `remove-service`, `list` or `validate` refused an edit or could not work
//! it out. Each names the file or object at fault and what
//! to do: the CLI tests and the end-to-end tier compare these lines, so a variant's text is
//! part of the interface. Errors of the layers below (reading the inventory, editing a file,
//! writing it) pass through as they are, so that `mmctl: error:` shows their own words.

use super::{HEALTHCHECKS, SERVICES, Target};
use crate::edit::EditError;
use crate::inventory::via_ansible::NotEditable;
use crate::inventory::{InventoryError, PatternError, YamlError};
use crate::write::WriteError;
use miraclemax_config::{ServiceNameError, Strategy};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// `validate` says which step could not be done before the inventory's own error.
    #[error("reading the inventory")]
    ReadingInventory(#[source] InventoryError),
    /// The inventory is read through ansible-inventory and the file is not one mmctl edits.
    #[error(transparent)]
    NotEditable(#[from] NotEditable),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// `list --limit` with a pattern mmctl does not evaluate.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// An edited text that does not parse again (never expected: every edit is checked).
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The edit of one file could not be made; the reason says why, the file is named first.
    #[error("{}: {reason}", file.display())]
    Edit { file: PathBuf, reason: EditError },
    #[error("service '{name}': {reason}")]
    BadName {
        name: String,
        reason: ServiceNameError,
    },
    #[error("service '{name}': port {port} is out of range 1-65535")]
    PortOutOfRange { name: String, port: u32 },
    #[error(
        "service '{name}': unknown healing strategy '{strategy}' (known: {})",
        known_strategies()
    )]
    UnknownStrategy { name: String, strategy: String },
    #[error("no host '{host}' in the inventory (hosts: {})", hosts.join(", "))]
    NoHost { host: String, hosts: Vec<String> },
    #[error("no group '{group}' in the inventory (groups: {})", groups.join(", "))]
    NoGroup { group: String, groups: Vec<String> },
    /// No target said, and no file (or more than one group) to put a first list in.
    #[error("no file defines {var} yet; say where with --group GROUP or --host HOST")]
    NowhereYet { var: String },
    #[error(
        "{var} is defined in several files ({}); say which with --group GROUP or --host HOST",
        files.join(", ")
    )]
    SeveralFiles { var: String, files: Vec<String> },
    /// An inherited entry that is neither a name nor a mapping, so not copied for one host.
    #[error("{var} has an entry mmctl cannot copy ({entry}); edit the file by hand")]
    CannotCopy { var: String, entry: Value },
    #[error(
        "service '{name}' is in no {} or {} list {} (see: mmctl list)",
        SERVICES,
        HEALTHCHECKS,
        within(target)
    )]
    NotListed { name: String, target: Target },
    /// The edit went to a file Ansible skips for another of the same name.
    #[error(
        "{}: Ansible does not read this file: it reads {} instead (only the first of NAME, \
         NAME.yml, NAME.yaml and NAME.json that exists, a folder included); nothing was \
         written. Move its variables into {}, or say where with --group GROUP or --host HOST",
        file.display(),
        used.display(),
        used.display()
    )]
    Shadowed { file: PathBuf, used: PathBuf },
    #[error(
        "{}: no host would use this {var} list (each host takes it from a file that overrides it); say where with --host HOST",
        file.display()
    )]
    NoHostWouldUse { file: PathBuf, var: String },
    /// The edit would give hosts problems they did not have: each said once, one a line.
    #[error("refused, nothing was written:\n{}", problems.join("\n"))]
    Refused { problems: Vec<String> },
}

fn known_strategies() -> String {
    let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
    known.join(", ")
}

/// The lists `remove-service` looked in.
fn within(target: &Target) -> String {
    match target {
        Target::Host(h) => format!("that host '{h}' uses"),
        Target::Group(g) => format!("of group '{g}'"),
        Target::Auto => "of this inventory".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `mmctl: error:` shows an error: it and each of its sources, joined by ": ".
    fn shown(e: &dyn std::error::Error) -> String {
        let mut out = e.to_string();
        let mut next = e.source();
        while let Some(s) = next {
            out = format!("{out}: {s}");
            next = s.source();
        }
        out
    }

    #[test]
    fn a_refusal_reads_as_it_always_has() {
        let e = ServicesError::NotListed {
            name: "web".into(),
            target: Target::Group("edge".into()),
        };
        assert_eq!(
            e.to_string(),
            "service 'web' is in no monitored_services or healthcheck_services list of group \
             'edge' (see: mmctl list)"
        );
        let e = ServicesError::Shadowed {
            file: "group_vars/web".into(),
            used: "group_vars/web.yml".into(),
        };
        assert_eq!(
            e.to_string(),
            "group_vars/web: Ansible does not read this file: it reads group_vars/web.yml \
             instead (only the first of NAME, NAME.yml, NAME.yaml and NAME.json that exists, a \
             folder included); nothing was written. Move its variables into group_vars/web.yml, \
             or say where with --group GROUP or --host HOST"
        );
        let e = ServicesError::Refused {
            problems: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "refused, nothing was written:\na\nb");
    }

    #[test]
    fn validate_names_its_step_before_the_inventorys_own_error() {
        let e = ServicesError::ReadingInventory(InventoryError::Syntax {
            path: "hosts.yml".into(),
            message: "line 3: bad".into(),
        });
        assert_eq!(shown(&e), "reading the inventory: hosts.yml: line 3: bad");
    }

    #[test]
    fn an_edit_error_is_said_once_after_its_file() {
        let e = ServicesError::Edit {
            file: "host_vars/a.yml".into(),
            reason: EditError::Unsupported("flow mapping".into()),
        };
        assert_eq!(
            shown(&e),
            "host_vars/a.yml: cannot edit this file: flow mapping"
        );
    }
}
