//! The Ansible inventory as Ansible reads it: the sources (`-i`, or what ansible.cfg names),
//! each a YAML or INI hosts file or a folder of them, and the `group_vars/` and `host_vars/`
//! beside them. An inventory script or plugin config among them makes mmctl ask
//! `ansible-inventory` instead (see `via_ansible`). Every variable keeps the place it was
//! defined (file and key path), so that an edit goes to the file that defines a value and an
//! error can point at its line.

pub mod ansible_cfg;
mod extra_vars;
mod ini;
mod ini_value;
pub(crate) mod locate;
mod pattern;
mod resolve;
mod secrets;
pub mod template;
mod unknown;
mod vars_files;
pub mod vault;
pub mod via_ansible;
mod yaml;
mod yaml11;

pub use extra_vars::{EXTRA_VARS, ExtraVarsError, parse as parse_extra_vars};
pub use locate::{Located, locate};
pub use pattern::PatternError;
pub use resolve::{ANSIBLE_SETS, HostVars};
pub use secrets::{AnsibleVault, PasswordError, Vault, VaultOptions};
pub use template::Unresolved;
pub use unknown::NotInInventory;
pub use yaml::parse as parse_yaml;
pub use yaml11::{UNSAFE, YamlError, plain_reads_as_string};

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a variable is defined: a file, and the keys leading to the mapping that holds it
/// (empty for a `group_vars`/`host_vars` file, `[all, children, web, vars]` in a hosts file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Def {
    pub value: Value,
    pub at: Place,
}

pub type Vars = BTreeMap<String, Def>;

#[derive(Debug, Default)]
pub struct Group {
    pub parents: BTreeSet<String>,
    /// `ansible_group_priority` from a hosts file (not a variable then, as in Ansible): among
    /// groups of the same depth, a higher one applies later. 1 unless set.
    pub priority: Option<i64>,
    /// Variables set in a hosts file (`vars:` or `[group:vars]`).
    pub vars: Vars,
    /// Variables from `group_vars/<group>*`, in the order they apply.
    pub files: Vec<VarsFile>,
}

#[derive(Debug, Default)]
pub struct Host {
    /// The groups the host is listed in directly.
    pub groups: BTreeSet<String>,
    pub vars: Vars,
    pub files: Vec<VarsFile>,
}

#[derive(Debug)]
pub struct VarsFile {
    pub path: PathBuf,
    pub vars: Vars,
    /// Encrypted with Ansible Vault and not opened (no password was given).
    pub sealed: bool,
    /// Which of the inventory's `var_dirs` holds it.
    pub dir: usize,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub sources: Vec<PathBuf>,
    pub groups: BTreeMap<String, Group>,
    pub hosts: BTreeMap<String, Host>,
    /// Folders whose `group_vars/` and `host_vars/` belong to this inventory.
    pub var_dirs: Vec<PathBuf>,
    /// The order Ansible applies them in: one per source (a file's folder, or the folder
    /// itself), so a folder named twice applies twice, as its last place says.
    pub var_dir_order: Vec<usize>,
    /// For inline `!vault` values.
    pub vault: Vault,
    /// Vars files and folders Ansible never reads, each with the one it reads instead
    /// (`group_vars/web.yml` beside a `group_vars/web/` folder).
    pub shadowed: Vec<(PathBuf, PathBuf)>,
    /// `-e`: above everything else.
    pub extra: Vars,
    /// Set when a source only Ansible can read made mmctl read the whole inventory through
    /// ansible-inventory (see `via_ansible`).
    pub via_ansible: Option<via_ansible::Reason>,
}

/// Why an inventory could not be read: always names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{}: cannot read: {source} (give the inventory with -i PATH)", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Vault { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Ansible { path: PathBuf, message: String },
}

/// Texts that stand in for files (an edit not written yet), so that the inventory can be read
/// as it would be after the edit.
#[derive(Debug, Default, Clone)]
pub struct Overlay(pub BTreeMap<PathBuf, String>);

impl Overlay {
    pub fn read(&self, path: &Path) -> std::io::Result<String> {
        match self.0.get(path) {
            Some(t) => Ok(t.clone()),
            None => std::fs::read_to_string(path),
        }
    }

    pub fn is_file(&self, path: &Path) -> bool {
        self.0.contains_key(path) || path.is_file()
    }
}

impl Inventory {
    /// Reads every source and the variable files beside them.
    pub fn load(sources: &[PathBuf], vault: &Vault) -> Result<Inventory, InventoryError> {
        Inventory::load_with(sources, vault, &Overlay::default())
    }

    /// As `load`, with the files in `overlay` read as the texts given there.
    pub fn load_with(
        sources: &[PathBuf],
        vault: &Vault,
        overlay: &Overlay,
    ) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory {
            sources: sources.to_vec(),
            vault: vault.clone(),
            ..Inventory::default()
        };
        inv.group_mut("all");
        inv.group_mut("ungrouped");
        let mut files = Vec::new();
        for source in sources {
            let meta = std::fs::metadata(source).map_err(|e| InventoryError::Read {
                path: source.clone(),
                source: e,
            })?;
            if meta.is_dir() {
                files.extend(source_files(source)?);
                inv.add_var_dir(source.clone());
            } else {
                files.push(source.clone());
                inv.add_var_dir(source.parent().unwrap_or(Path::new(".")).to_path_buf());
            }
        }
        let mut listed = None;
        for file in &files {
            match via_ansible::reason(file, overlay) {
                None => inv.read_source(file, overlay)?,
                Some(reason) if inv.via_ansible.is_none() => {
                    via_ansible::note(&reason);
                    listed = Some(via_ansible::list(sources, vault, &reason)?);
                    inv.via_ansible = Some(reason);
                }
                Some(_) => {}
            }
        }
        if let Some(listed) = &listed {
            via_ansible::take_structure(&mut inv, listed);
        }
        // A host in no group but `all` belongs to `ungrouped`, and one in another group not
        // (though a source listed it there), as Ansible reconciles them.
        for host in inv.hosts.values_mut() {
            host.groups.remove("all");
            if host.groups.iter().any(|g| g != "ungrouped") {
                host.groups.remove("ungrouped");
            }
            if host.groups.is_empty() {
                host.groups.insert("ungrouped".into());
            }
        }
        for (name, group) in inv.groups.iter_mut() {
            if name != "all" && group.parents.is_empty() {
                group.parents.insert("all".into());
            }
        }
        inv.take_priorities()?;
        inv.read_vars_files(overlay)?;
        if let (Some(listed), Some(reason)) = (&listed, inv.via_ansible.clone()) {
            via_ansible::take_vars(&mut inv, listed, &reason, overlay)?;
        }
        Ok(inv)
    }

    /// The `group_vars/` and `host_vars/` files of every group and host, read afresh.
    fn read_vars_files(&mut self, overlay: &Overlay) -> Result<(), InventoryError> {
        self.shadowed.clear();
        self.groups.values_mut().for_each(|g| g.files.clear());
        self.hosts.values_mut().for_each(|h| h.files.clear());
        for (i, dir) in self.var_dirs.clone().iter().enumerate() {
            let mark = |mut f: VarsFile| {
                f.dir = i;
                f
            };
            for (name, group) in self.groups.iter_mut() {
                let found = vars_files::read(&dir.join("group_vars"), name, &self.vault, overlay)?;
                group.files.extend(found.files.into_iter().map(mark));
                self.shadowed.extend(found.shadowed);
            }
            for (name, host) in self.hosts.iter_mut() {
                let found = vars_files::read(&dir.join("host_vars"), name, &self.vault, overlay)?;
                host.files.extend(found.files.into_iter().map(mark));
                self.shadowed.extend(found.shadowed);
            }
        }
        Ok(())
    }

    fn add_var_dir(&mut self, dir: PathBuf) {
        let i = match self.var_dirs.iter().position(|d| *d == dir) {
            Some(i) => i,
            None => {
                self.var_dirs.push(dir);
                self.var_dirs.len() - 1
            }
        };
        self.var_dir_order.push(i);
    }

    /// `ansible_group_priority` in a hosts file sets the group's priority and is no variable
    /// (Ansible's `Group.set_variable`); in a `group_vars` file it is a plain variable.
    fn take_priorities(&mut self) -> Result<(), InventoryError> {
        for (name, g) in self.groups.iter_mut() {
            let Some(d) = g.vars.remove("ansible_group_priority") else {
                continue;
            };
            let n = match &d.value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                Value::Bool(b) => Some(i64::from(*b)),
                _ => None,
            };
            g.priority = Some(n.ok_or_else(|| InventoryError::Syntax {
                path: d.at.file.clone(),
                message: format!(
                    "group '{name}': ansible_group_priority is {}, not a whole number",
                    d.value
                ),
            })?);
        }
        Ok(())
    }

    fn read_source(&mut self, file: &Path, overlay: &Overlay) -> Result<(), InventoryError> {
        let text = overlay.read(file).map_err(|e| InventoryError::Read {
            path: file.to_path_buf(),
            source: e,
        })?;
        match kind(file, &text) {
            Kind::Yaml => yaml::read(self, file, &text),
            Kind::Ini => ini::read(self, file, &text),
        }
    }

    pub(crate) fn group_mut(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_string()).or_default()
    }

    pub(crate) fn host_mut(&mut self, name: &str) -> &mut Host {
        self.hosts.entry(name.to_string()).or_default()
    }

    /// Every group `host` belongs to, `all` included, in the order Ansible applies their
    /// variables: by depth below `all`, then priority, then name.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = self
            .hosts
            .get(host)
            .map(|h| h.groups.iter().cloned().collect())
            .unwrap_or_default();
        todo.push("all".into());
        while let Some(g) = todo.pop() {
            if seen.insert(g.clone())
                && let Some(group) = self.groups.get(&g)
            {
                todo.extend(group.parents.iter().cloned());
            }
        }
        let mut v: Vec<String> = seen.into_iter().collect();
        v.sort_by_key(|g| {
            let priority = self.groups.get(g).and_then(|g| g.priority).unwrap_or(1);
            (self.depth(g, 0), priority, g.clone())
        });
        v
    }

    fn depth(&self, group: &str, guard: usize) -> usize {
        if group == "all" || guard > 64 {
            return 0;
        }
        self.groups
            .get(group)
            .map(|g| {
                g.parents
                    .iter()
                    .map(|p| self.depth(p, guard + 1) + 1)
                    .max()
                    .unwrap_or(1)
            })
            .unwrap_or(1)
    }

    /// The hosts of a group, its children's included.
    pub fn hosts_in(&self, group: &str) -> Vec<String> {
        self.hosts
            .keys()
            .filter(|h| self.groups_of(h).iter().any(|g| g == group))
            .cloned()
            .collect()
    }
}

/// The files of an inventory folder, as Ansible reads them: every file, recursively, in name
/// order, but not `group_vars`/`host_vars`, hidden files, backups or other known non-inventory
/// files.
fn source_files(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let read = |d: &Path| {
        std::fs::read_dir(d).map_err(|e| InventoryError::Read {
            path: d.to_path_buf(),
            source: e,
        })
    };
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = read(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') || name == "group_vars" || name == "host_vars" {
            continue;
        }
        if p.is_dir() {
            out.extend(source_files(&p)?);
        } else if !IGNORED.iter().any(|ext| name.ends_with(ext)) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Ansible's default `inventory_ignore_extensions`, plus the example files this project ships.
const IGNORED: &[&str] = &[
    "~",
    ".orig",
    ".bak",
    ".ini.example",
    ".cfg",
    ".retry",
    ".pyc",
    ".pyo",
    ".example",
    ".md",
];

enum Kind {
    Yaml,
    Ini,
}

/// Which of Ansible's plugins reads a hosts file: `.yml`, `.yaml` and `.json` files the YAML
/// one, `.ini` files the INI one; any other is tried as YAML first and read as INI when it is
/// no YAML mapping, as Ansible tries its plugins in turn.
fn kind(file: &Path, text: &str) -> Kind {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "yml" | "yaml" | "json" => Kind::Yaml,
        "ini" => Kind::Ini,
        _ => match yaml11::parse_ordered(text) {
            Ok(yaml11::Node::Map(_)) => Kind::Yaml,
            _ => Kind::Ini,
        },
    }
}

/// A host pattern as Ansible expands it: `web[01:03]` is web01, web02, web03 (the width of the
/// first bound kept), `db-[a:c]` is db-a, db-b, db-c; a name without a range is itself.
pub(crate) fn expand_hosts(name: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return vec![name.to_string()];
    };
    let Some((lo, hi)) = name.get(open + 1..close).and_then(|r| r.split_once(':')) else {
        return vec![name.to_string()];
    };
    let (head, tail) = (&name[..open], &name[close + 1..]);
    let mut out = Vec::new();
    if let (Ok(a), Ok(b)) = (lo.parse::<u64>(), hi.parse::<u64>()) {
        let width = lo.len();
        for n in a..=b.min(a + 100_000) {
            for rest in expand_hosts(tail) {
                out.push(format!("{head}{n:0width$}{rest}"));
            }
        }
    } else if let ([a], [b]) = (lo.as_bytes(), hi.as_bytes()) {
        for c in *a..=*b {
            for rest in expand_hosts(tail) {
                out.push(format!("{head}{}{rest}", c as char));
            }
        }
    } else {
        out.push(name.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ranges_expand_as_in_ansible() {
        assert_eq!(
            expand_hosts("web[01:03].example.org"),
            [
                "web01.example.org",
                "web02.example.org",
                "web03.example.org"
            ]
        );
        assert_eq!(expand_hosts("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand_hosts("plain"), ["plain"]);
    }

    #[test]
    fn an_ini_inventory_gives_the_same_hosts_groups_and_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hosts"),
            "# INI\nweb[1:2] ansible_user=deploy\n[db]\ndb1 ansible_host=192.0.2.5\n[db:vars]\nport=5432\n\
             [prod:children]\ndb\n[ungrouped]\nlone\n",
        )
        .unwrap();
        let inv = Inventory::load(&[dir.path().join("hosts")], &Vault::default()).unwrap();
        assert_eq!(
            inv.hosts.keys().collect::<Vec<_>>(),
            ["db1", "lone", "web1", "web2"]
        );
        assert_eq!(inv.groups_of("db1"), ["all", "prod", "db"]);
        let hv = inv.host_vars("db1");
        assert_eq!(hv.defs["port"].value, 5432);
        assert_eq!(hv.defs["ansible_host"].value, "192.0.2.5");
        assert_eq!(inv.host_vars("web2").defs["ansible_user"].value, "deploy");
        assert_eq!(inv.hosts_in("prod"), ["db1"]);
    }
}
