//! `group_vars/<name>` and `host_vars/<name>`: a file (`name`, `name.yml`, `name.yaml`,
//! `name.json`, the first that exists) or a folder of such files read in name order, later
//! files overriding earlier ones, as Ansible's `host_group_vars` plugin reads them. A file encrypted whole with Ansible
//! Vault is opened with the vault password when one is given (see `vault`), and otherwise left
//! sealed: its variables are then unknown to mmctl, and said to be.

use super::{Inventory, InventoryError, Overlay, VarsFile, Vault, yaml};
use std::path::{Path, PathBuf};

const EXTENSIONS: &[&str] = &["", ".yml", ".yaml", ".json"];

/// What `<dir>/<name>` holds for Ansible, and what it leaves unread.
#[derive(Debug, Default)]
pub struct Found {
    /// In the order they apply.
    pub files: Vec<VarsFile>,
    /// (a file or folder Ansible never reads, the one it reads instead): only the first of
    /// `name`, `name.yml`, `name.yaml`, `name.json` that exists is read, a folder included.
    pub shadowed: Vec<(PathBuf, PathBuf)>,
}

/// Reads `<dir>/<name>` as Ansible's vars loader does: the first of `name`, `name.yml`,
/// `name.yaml`, `name.json` that exists, be it a file or a folder (then its files, see
/// `folder_files`); any later one is shadowed.
pub fn read(
    dir: &Path,
    name: &str,
    vault: &Vault,
    overlay: &Overlay,
) -> Result<Found, InventoryError> {
    // Anything there that is not a folder is read as a file (a FIFO too), as Ansible does.
    let exists = |p: &Path| overlay.0.contains_key(p) || p.exists() || is_folder(p, overlay);
    let candidates: Vec<PathBuf> = EXTENSIONS
        .iter()
        .map(|e| dir.join(format!("{name}{e}")))
        .collect();
    let Some(first) = candidates.iter().position(|p| exists(p)) else {
        return Ok(Found::default());
    };
    let used = &candidates[first];
    let shadowed = candidates[first + 1..]
        .iter()
        .filter(|p| exists(p))
        .map(|p| (p.clone(), used.clone()))
        .collect();
    let paths = if is_folder(used, overlay) {
        folder_files(used, overlay)?
    } else {
        vec![used.clone()]
    };
    let files = paths
        .iter()
        .map(|p| read_file(p, vault, overlay))
        .collect::<Result<_, _>>()?;
    Ok(Found { files, shadowed })
}

/// A folder on disk, or one that an edit not written yet creates.
fn is_folder(p: &Path, overlay: &Overlay) -> bool {
    p.is_dir() || overlay.0.keys().any(|k| k.parent() == Some(p))
}

/// A folder's vars files as Ansible lists them: each level's names sorted, hidden names and
/// backups (`~`) skipped, a subfolder without an extension read in its place, a file kept
/// when it has no extension or `.yml`, `.yaml` or `.json`.
fn folder_files(folder: &Path, overlay: &Overlay) -> Result<Vec<PathBuf>, InventoryError> {
    let mut names: Vec<String> = match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(_) if !folder.exists() => Vec::new(),
        Err(e) => {
            return Err(InventoryError::Read {
                path: folder.to_path_buf(),
                source: e,
            });
        }
    };
    for p in overlay.0.keys() {
        if p.parent() == Some(folder)
            && let Some(n) = p.file_name()
        {
            let n = n.to_string_lossy().into_owned();
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let ext = name.rfind('.').map_or("", |i| &name[i..]);
        let p = folder.join(&name);
        if ext.is_empty() && is_folder(&p, overlay) {
            out.extend(folder_files(&p, overlay)?);
        } else if overlay.is_file(&p) && (ext.is_empty() || EXTENSIONS[1..].contains(&ext)) {
            out.push(p);
        }
    }
    Ok(out)
}

fn read_file(path: &Path, vault: &Vault, overlay: &Overlay) -> Result<VarsFile, InventoryError> {
    let mut text = overlay.read(path).map_err(|e| InventoryError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    if super::vault::is_vault(&text) {
        if !vault.has_secrets() {
            return Ok(VarsFile {
                path: path.to_path_buf(),
                vars: Default::default(),
                sealed: true,
                dir: 0,
            });
        }
        text = vault.open(&text).map_err(|e| InventoryError::Vault {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let syntax = |message: String| InventoryError::Syntax {
        path: path.to_path_buf(),
        message,
    };
    let value = yaml::parse(&text).map_err(|e| syntax(e.to_string()))?;
    let vars = yaml::vars_of(&value, &[], path)
        .map_err(|m| syntax(format!("{m}: a vars file is a mapping of variable names")))?;
    Ok(VarsFile {
        path: path.to_path_buf(),
        vars,
        sealed: false,
        dir: 0,
    })
}

impl Inventory {
    /// The vaulted files mmctl could not open, for a note beside its output.
    pub fn sealed_files(&self) -> Vec<&Path> {
        let groups = self.groups.values().flat_map(|g| g.files.iter());
        let hosts = self.hosts.values().flat_map(|h| h.files.iter());
        let mut v: Vec<&Path> = groups
            .chain(hosts)
            .filter(|f| f.sealed)
            .map(|f| f.path.as_path())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
