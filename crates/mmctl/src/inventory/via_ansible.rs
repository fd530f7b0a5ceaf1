//! Inventory sources mmctl cannot read exactly, read by Ansible instead of guessed at:
//! an executable file (an inventory script, which Ansible's `script` plugin runs with `--list`),
//! and a YAML file whose top-level mapping has a `plugin` key with a value (an inventory plugin
//! config, `plugin: ansible.builtin.constructed`, `amazon.aws.aws_ec2`, ...; Ansible's `yaml`
//! plugin refuses such a file, and its `auto` plugin runs the named plugin on it).
//!
//! When any source (or any file inside a source folder) is one of these, the WHOLE inventory is
//! read by `ansible-inventory -i SOURCE... --list`: Ansible reads sources in order, and a
//! `constructed` config works on what the sources before it gave. The rest of mmctl is told so
//! once on stderr. Plain YAML and INI inventories keep the fast path (no Python started).
//!
//! Where each variable is defined still matters to mmctl (an edit goes to the file that defines
//! a value). So Ansible's answer gives the groups, their children and the hosts in them, while
//! the variables are read as mmctl reads them anyway: the plain hosts files among the sources,
//! then `group_vars/` and `host_vars/` beside them, for Ansible's groups and hosts. A variable
//! Ansible gives a host that this reading does not explain (set by the plugin or the script,
//! or a `compose` that overrides a hosts file) is taken from Ansible's `_meta.hostvars`, placed
//! as a host variable of the inventory source (keys `_meta`, `hostvars`, HOST) that made mmctl
//! ask Ansible. A host's variables are thus exactly what `ansible-inventory` gives it.
//!
//! Edits: allowed only into `group_vars/` and `host_vars/` files beside the sources (Ansible's
//! `host_group_vars` plugin reads them whatever the sources are, and mmctl knows exactly what
//! they hold); an edit that would land anywhere else (the plugin config, the script, a hosts
//! file whose values a plugin may rework) is refused, naming the source and saying what to do
//! instead (see `Inventory::editable`). A `compose` expression over a variable being edited is
//! not worked out again before the edit is written (Ansible is asked once per run); the next
//! run asks Ansible again.

use super::{Def, Inventory, InventoryError, Overlay, Place, Vault};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The source that makes mmctl ask Ansible, and what it is.
#[derive(Debug, Clone)]
pub struct Reason {
    pub source: PathBuf,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// An executable file.
    Script,
    /// `plugin: NAME`.
    Plugin(String),
    /// A `plugin` key whose value is not a name (a group called `plugin`, say).
    PluginKey,
}

impl Reason {
    /// What the source is, without its name.
    pub fn what(&self) -> String {
        match &self.kind {
            Kind::Script => "is an inventory script".into(),
            Kind::Plugin(name) => format!("is an inventory plugin config (plugin: {name})"),
            Kind::PluginKey => {
                "has a top-level 'plugin' key, so Ansible takes it for an inventory plugin config"
                    .into()
            }
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} {}", self.source.display(), self.what())
    }
}

/// Why Ansible must read `file`, if it must: executable (Ansible's `script` plugin tries it
/// first; any execute bit is taken as "executable"), or YAML with a `plugin` key that has a
/// value (Python-true: not null, false, 0 or empty).
pub(super) fn reason(file: &Path, overlay: &Overlay) -> Option<Reason> {
    use std::os::unix::fs::PermissionsExt;
    let kind = |kind| {
        Some(Reason {
            source: file.to_path_buf(),
            kind,
        })
    };
    if std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
        return kind(Kind::Script);
    }
    let text = overlay.read(file).ok()?;
    if !text.contains("plugin") || !matches!(super::kind(file, &text), super::Kind::Yaml) {
        return None;
    }
    match super::yaml::parse(&text).ok()?.get("plugin")? {
        Value::String(name) if !name.is_empty() => kind(Kind::Plugin(name.clone())),
        Value::Null | Value::Bool(false) | Value::String(_) => None,
        Value::Number(n) if n.as_f64() == Some(0.0) => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(m) if m.is_empty() => None,
        _ => kind(Kind::PluginKey),
    }
}

/// Says once per run that the inventory is read through ansible-inventory.
pub(super) fn note(reason: &Reason) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("mmctl: note: {reason}: read through ansible-inventory"));
}

/// `ansible-inventory --list` for these sources, asked once per run.
pub(super) fn list(
    sources: &[PathBuf],
    vault: &Vault,
    reason: &Reason,
) -> Result<Value, InventoryError> {
    static ASKED: Mutex<BTreeMap<Vec<PathBuf>, Value>> = Mutex::new(BTreeMap::new());
    let mut asked = ASKED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = asked.get(sources) {
        return Ok(v.clone());
    }
    let fail = |message: String| InventoryError::Ansible {
        path: reason.source.clone(),
        message,
    };
    let name = "ansible-inventory";
    let mut cmd = Command::new(crate::ansible::program(name));
    for s in sources {
        cmd.arg("-i").arg(s);
    }
    cmd.arg("--list");
    // A source Ansible cannot parse is an error here, not a warning and an empty inventory.
    cmd.env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "True");
    let secrets = vault.for_ansible().map_err(|e| fail(e.to_string()))?;
    cmd.args(&secrets.args);
    let out = cmd.output().map_err(|e| {
        fail(format!(
            "{}, which only Ansible can read: {}",
            reason.what(),
            crate::ansible::cannot_run(name, e)
        ))
    })?;
    if !out.status.success() {
        return Err(fail(format!(
            "{}, and {name} could not read the inventory ({}); fix what Ansible says:\n{}",
            reason.what(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    let listed: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("{name} --list printed no JSON object: {e}")))?;
    let listed = plain(listed);
    asked.insert(sources.to_vec(), listed.clone());
    Ok(listed)
}

/// Ansible's tagged JSON (`{"__ansible_unsafe": "x"}`, `{"__ansible_vault": "..."}`) as the
/// values mmctl's own reading gives (`"x"`, the vaulted text).
fn plain(v: Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m.into_iter().next().expect("one entry");
            match (k.as_str(), inner) {
                ("__ansible_unsafe" | "__ansible_vault", s @ Value::String(_)) => s,
                (_, inner) => Value::Object([(k, plain(inner))].into_iter().collect()),
            }
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, plain(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(plain).collect()),
        other => other,
    }
}

/// Groups, their children and their hosts as Ansible lists them, replacing what mmctl's own
/// reading of the plain sources made of them (their variables stay).
pub(super) fn take_structure(inv: &mut Inventory, listed: &Value) {
    let empty = serde_json::Map::new();
    let groups = listed.as_object().unwrap_or(&empty);
    let names = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut known_groups: BTreeSet<String> = ["all", "ungrouped"].map(String::from).into();
    let mut known_hosts: BTreeSet<String> = listed
        .pointer("/_meta/hostvars")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for (name, g) in groups.iter().filter(|(n, _)| *n != "_meta") {
        known_groups.insert(name.clone());
        known_groups.extend(names(g, "children"));
        known_hosts.extend(names(g, "hosts"));
    }
    inv.groups.retain(|g, _| known_groups.contains(g));
    inv.hosts.retain(|h, _| known_hosts.contains(h));
    inv.groups.values_mut().for_each(|g| g.parents.clear());
    inv.hosts.values_mut().for_each(|h| h.groups.clear());
    for g in &known_groups {
        inv.group_mut(g);
    }
    for h in &known_hosts {
        inv.host_mut(h);
    }
    for (name, g) in groups.iter().filter(|(n, _)| *n != "_meta") {
        for child in names(g, "children") {
            inv.group_mut(&child).parents.insert(name.clone());
        }
        for host in names(g, "hosts") {
            inv.host_mut(&host).groups.insert(name.clone());
        }
    }
}

/// Every variable Ansible gives a host that mmctl's own reading (hosts files, `group_vars/`,
/// `host_vars/` as on disk) does not explain, set as a host variable of the reason's source.
/// The vars files are then read again with `overlay` (an edit not written yet).
pub(super) fn take_vars(
    inv: &mut Inventory,
    listed: &Value,
    reason: &Reason,
    overlay: &Overlay,
) -> Result<(), InventoryError> {
    if !overlay.0.is_empty() {
        inv.read_vars_files(&Overlay::default())?;
    }
    let hostvars = listed.pointer("/_meta/hostvars").and_then(Value::as_object);
    for (host, vars) in hostvars.into_iter().flatten() {
        let Some(vars) = vars.as_object() else {
            continue;
        };
        let mine = inv.host_vars(host).defs;
        let explained = |k: &String, v: &Value| {
            mine.get(k).is_some_and(|d| {
                d.value == *v
                    && !d.at.file.starts_with("roles/")
                    && d.at.file.as_os_str() != super::ANSIBLE_SETS
            })
        };
        let at = Place {
            file: reason.source.clone(),
            keys: vec!["_meta".into(), "hostvars".into(), host.clone()],
        };
        let unexplained: Vec<(String, Def)> = vars
            .iter()
            .filter(|(k, v)| !explained(k, v))
            .map(|(k, v)| {
                let def = Def {
                    value: v.clone(),
                    at: at.clone(),
                };
                (k.clone(), def)
            })
            .collect();
        inv.host_mut(host).vars.extend(unexplained);
    }
    if !overlay.0.is_empty() {
        inv.read_vars_files(overlay)?;
    }
    Ok(())
}

/// A file of an inventory read through ansible-inventory that mmctl does not edit.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{}: not edited: {reason}, so this inventory is read through ansible-inventory and \
     mmctl edits only its group_vars/ and host_vars/ files. Edit the plugin's (or the \
     script's) data yourself, or set the value in group_vars/GROUP or host_vars/HOST \
     (mmctl ... --group GROUP or --host HOST)",
    file.display()
)]
pub struct NotEditable {
    pub file: PathBuf,
    pub reason: Reason,
}

impl Inventory {
    /// Whether mmctl may edit `file`: always, unless the inventory is read through
    /// ansible-inventory; then only its `group_vars/` and `host_vars/` files.
    pub fn editable(&self, file: &Path) -> Result<(), NotEditable> {
        let Some(reason) = &self.via_ansible else {
            return Ok(());
        };
        let in_vars_dir = self.var_dirs.iter().any(|d| {
            file.starts_with(d.join("group_vars")) || file.starts_with(d.join("host_vars"))
        });
        if in_vars_dir {
            return Ok(());
        }
        Err(NotEditable {
            file: file.to_path_buf(),
            reason: reason.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(name: &str, text: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        reason(&file, &Overlay::default()).map(|r| r.what())
    }

    #[test]
    fn only_a_plugin_key_with_a_value_or_an_executable_file_needs_ansible() {
        let plugin = "is an inventory plugin config (plugin: ansible.builtin.constructed)";
        let text = "plugin: ansible.builtin.constructed\n";
        assert_eq!(kind_of("c.yml", text).as_deref(), Some(plugin));
        assert_eq!(kind_of("c.yaml", text).as_deref(), Some(plugin));
        assert!(kind_of("h.yml", "plugin: {hosts: {a: }}\n").is_some());
        assert_eq!(kind_of("h.yml", "plugin:\nweb:\n  hosts:\n    a:\n"), None);
        assert_eq!(kind_of("h.yml", "plugin: ''\n"), None);
        assert_eq!(kind_of("hosts", "[plugin]\nweb1\n"), None);
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("inv.sh");
        std::fs::write(&script, "#!/bin/sh\necho '{}'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let r = reason(&script, &Overlay::default()).unwrap();
        assert_eq!(
            r.to_string(),
            format!("{} is an inventory script", script.display())
        );
    }
}
