//! One host's variables as a play sees them: every definition that applies to the host,
//! layered in Ansible's order of precedence (lowest first), each keeping its place:
//!   1. the roles' defaults (`roles/*/defaults/main.yml`, built into mmctl);
//!   2. group variables from hosts files, `all` first, then by depth, priority and name;
//!   3. `group_vars/all`;  4. `group_vars/<group>`, in the same order;
//!   5. host variables from hosts files;  6. `host_vars/<host>`;  7. `-e`, when given.
//!
//! 3, 4 and 6 go by inventory source first, as Ansible's vars plugins run per source: a
//! later source's `group_vars/a` overrides an earlier one's `group_vars/b`.
//!
//! A later layer replaces a variable whole (Ansible's default `hash_behaviour`). Values are
//! templated only when asked for (see `template`).

use super::{Def, Inventory, Place, Vars, VarsFile};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The roles' defaults, read from this repository's roles when mmctl is built, so that they
/// cannot drift from what the playbooks apply.
const ROLE_DEFAULTS: &[(&str, &str)] = &[
    (
        "roles/self_healing/defaults/main.yml",
        include_str!("../../../../roles/self_healing/defaults/main.yml"),
    ),
    (
        "roles/heartbeat/defaults/main.yml",
        include_str!("../../../../roles/heartbeat/defaults/main.yml"),
    ),
];

/// The "file" of what Ansible itself sets for a host (`inventory_hostname`, `group_names`).
pub const ANSIBLE_SETS: &str = "(Ansible)";

/// Every variable of one host, with where the winning definition is.
pub struct HostVars {
    pub host: String,
    pub defs: BTreeMap<String, Def>,
    /// Every definition of each variable, lowest precedence first (for `--group` edits).
    pub layers: BTreeMap<String, Vec<Def>>,
    /// Opens inline `!vault` values.
    pub vault: super::Vault,
    /// Vaulted files of this host's groups or its own that could not be opened: variables
    /// missing here may be in them.
    pub sealed: Vec<PathBuf>,
}

impl HostVars {
    /// Where the value of `name` comes from, unless it is only a role default.
    pub fn defined_at(&self, name: &str) -> Option<&Place> {
        self.defs
            .get(name)
            .map(|d| &d.at)
            .filter(|p| !p.file.starts_with("roles/"))
    }
}

/// The roles' defaults, parsed once per run.
pub fn role_defaults() -> &'static Vars {
    static DEFAULTS: std::sync::OnceLock<Vars> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let mut v = Vars::new();
        for (file, text) in ROLE_DEFAULTS {
            let value = super::yaml::parse(text).expect("the roles' defaults are valid YAML");
            v.extend(super::yaml::vars_of(&value, &[], &PathBuf::from(file)).expect("a mapping"));
        }
        v
    })
}

impl Inventory {
    pub fn host_vars<'a>(&'a self, host: &str) -> HostVars {
        let mut layers: Vec<&Vars> = Vec::new();
        layers.push(role_defaults());
        let groups = self.groups_of(host);
        let group = |g: &String| self.groups.get(g);
        for g in groups.iter().filter_map(group) {
            layers.push(&g.vars);
        }
        let from = |files: &'a [VarsFile], dir: usize| {
            files.iter().filter(move |f| f.dir == dir).map(|f| &f.vars)
        };
        let (all, others) = groups.split_first().expect("every host is in all");
        for &d in &self.var_dir_order {
            layers.extend(group(all).into_iter().flat_map(|g| from(&g.files, d)));
        }
        for &d in &self.var_dir_order {
            for g in others.iter().filter_map(group) {
                layers.extend(from(&g.files, d));
            }
        }
        if let Some(h) = self.hosts.get(host) {
            layers.push(&h.vars);
            for &d in &self.var_dir_order {
                layers.extend(from(&h.files, d));
            }
        }
        layers.push(&self.extra);
        let mut defs = BTreeMap::new();
        let mut all: BTreeMap<String, Vec<Def>> = BTreeMap::new();
        for layer in layers {
            for (k, d) in layer {
                defs.insert(k.clone(), d.clone());
                all.entry(k.clone()).or_default().push(d.clone());
            }
        }
        let magic = Place {
            file: PathBuf::from(ANSIBLE_SETS),
            keys: Vec::new(),
        };
        let mut set = |k: &str, value: Value| {
            defs.entry(k.to_string()).or_insert(Def {
                value,
                at: magic.clone(),
            });
        };
        set("inventory_hostname", host.into());
        set(
            "inventory_hostname_short",
            host.split('.').next().unwrap_or(host).into(),
        );
        let names: Vec<Value> = groups
            .iter()
            .filter(|g| g.as_str() != "all")
            .map(|g| Value::String(g.clone()))
            .collect();
        set("group_names", Value::Array(names));
        let mut sealed: Vec<PathBuf> = groups
            .iter()
            .filter_map(group)
            .flat_map(|g| g.files.iter())
            .chain(
                self.hosts
                    .get(host)
                    .into_iter()
                    .flat_map(|h| h.files.iter()),
            )
            .filter(|f| f.sealed)
            .map(|f| f.path.clone())
            .collect();
        sealed.dedup();
        HostVars {
            host: host.to_string(),
            defs,
            layers: all,
            vault: self.vault.clone(),
            sealed,
        }
    }
}
