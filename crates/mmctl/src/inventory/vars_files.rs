//! `group_vars/<name>` and `host_vars/<name>`: a file (`name`, `name.yml`, `name.yaml`,
//! `name.json`) or a folder of such files read in name order, later files overriding earlier
//! ones, as Ansible's `host_group_vars` plugin reads them. A file encrypted whole with Ansible
//! Vault is opened with `ansible-vault view` when a vault password is given, and otherwise
//! left sealed: its variables are then unknown to mmctl, and said to be.

use super::{Inventory, InventoryError, Overlay, VarsFile, yaml};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to open vaulted files: the password file, as `--vault-password-file` or
/// `ANSIBLE_VAULT_PASSWORD_FILE` give it to Ansible.
#[derive(Debug, Default, Clone)]
pub struct Vault {
    pub password_file: Option<PathBuf>,
}

impl Vault {
    pub fn from_env(given: Option<PathBuf>) -> Vault {
        let password_file = given.or_else(|| {
            std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        Vault { password_file }
    }
}

const EXTENSIONS: &[&str] = &["", ".yml", ".yaml", ".json"];

pub fn read(
    dir: &Path,
    name: &str,
    vault: &Vault,
    overlay: &Overlay,
) -> Result<Vec<VarsFile>, InventoryError> {
    let mut out = Vec::new();
    for ext in EXTENSIONS {
        let p = dir.join(format!("{name}{ext}"));
        if overlay.is_file(&p) {
            out.push(read_file(&p, vault, overlay)?);
        }
    }
    let folder = dir.join(name);
    let mut files = if folder.is_dir() {
        files_in(&folder)?
    } else {
        Vec::new()
    };
    for p in overlay.0.keys() {
        if p.parent() == Some(folder.as_path()) && !files.contains(p) {
            files.push(p.clone());
        }
    }
    files.sort();
    for p in files {
        out.push(read_file(&p, vault, overlay)?);
    }
    Ok(out)
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InventoryError::Read {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut v: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    let mut out = Vec::new();
    for p in v {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            out.extend(files_in(&p)?);
        } else if EXTENSIONS[1..].iter().any(|e| name.ends_with(e)) || !name.contains('.') {
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
    if text.starts_with("$ANSIBLE_VAULT;") {
        match &vault.password_file {
            None => {
                return Ok(VarsFile {
                    path: path.to_path_buf(),
                    vars: Default::default(),
                    sealed: true,
                });
            }
            Some(pw) => text = open(path, pw)?,
        }
    }
    let syntax = |message: String| InventoryError::Syntax {
        path: path.to_path_buf(),
        message,
    };
    let value = yaml::parse(&text).map_err(syntax)?;
    let vars = yaml::vars_of(&value, &[], path)
        .map_err(|m| syntax(format!("{m}: a vars file is a mapping of variable names")))?;
    Ok(VarsFile {
        path: path.to_path_buf(),
        vars,
        sealed: false,
    })
}

/// The plain text of a vaulted file, from Ansible's own `ansible-vault`.
fn open(path: &Path, password_file: &Path) -> Result<String, InventoryError> {
    let vault_err = |message: String| InventoryError::Vault {
        path: path.to_path_buf(),
        message,
    };
    let out = Command::new(crate::ansible::program("ansible-vault"))
        .arg("view")
        .arg("--vault-password-file")
        .arg(password_file)
        .arg(path)
        .output()
        .map_err(|e| {
            vault_err(format!(
                "cannot run ansible-vault: {e} (install ansible-core)"
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(vault_err(format!(
            "ansible-vault view failed: {} (check the vault password file {})",
            err.trim(),
            password_file.display()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| vault_err("decrypted text is not UTF-8".into()))
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
