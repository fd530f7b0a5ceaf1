//! Which inventory to read when `-i` is not given: the one Ansible itself would use, so that
//! `mmctl` and `ansible-playbook` run from the same folder see the same hosts. Ansible reads
//! `ANSIBLE_INVENTORY`, else the `inventory` setting of the first configuration file it finds
//! (`ANSIBLE_CONFIG`, `./ansible.cfg`, `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`), else
//! `/etc/ansible/hosts`. A relative path in a configuration file is relative to that file.

pub use super::ansible_cfg::setting;
use std::path::{Path, PathBuf};

/// The inventory sources to read, and where that choice came from (for error messages).
pub struct Located {
    pub sources: Vec<PathBuf>,
    pub from: String,
}

pub fn locate(given: &[PathBuf]) -> Located {
    if !given.is_empty() {
        return Located {
            sources: given.to_vec(),
            from: "-i".into(),
        };
    }
    if let Some(v) = std::env::var_os("ANSIBLE_INVENTORY").filter(|v| !v.is_empty()) {
        return Located {
            sources: split(&v.to_string_lossy(), Path::new(".")),
            from: "ANSIBLE_INVENTORY".into(),
        };
    }
    let Some((cfg, text)) = config_file() else {
        return default();
    };
    let base = cfg.parent().unwrap_or(Path::new("."));
    match setting(&text, "defaults", "inventory") {
        Some(v) => Located {
            sources: split(&v, base),
            from: format!("{} (inventory =)", cfg.display()),
        },
        None => default(),
    }
}

/// The configuration file Ansible reads (the first it finds, and only that one) and its text.
pub fn config_file() -> Option<(PathBuf, String)> {
    config_files()
        .into_iter()
        .find_map(|cfg| std::fs::read_to_string(&cfg).ok().map(|t| (cfg, t)))
}

fn default() -> Located {
    Located {
        sources: vec![PathBuf::from("/etc/ansible/hosts")],
        from: "Ansible's default".into(),
    }
}

/// The configuration files Ansible looks for, in its order; it reads the first that exists.
pub fn config_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(c) = std::env::var_os("ANSIBLE_CONFIG").filter(|v| !v.is_empty()) {
        v.push(PathBuf::from(c));
    }
    v.push(PathBuf::from("ansible.cfg"));
    if let Some(home) = std::env::var_os("HOME") {
        v.push(Path::new(&home).join(".ansible.cfg"));
    }
    v.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    v
}

/// A comma-separated list of paths, `~` expanded, relative ones taken from `base`.
fn split(list: &str, base: &Path) -> Vec<PathBuf> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let p = match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
                (Some(rest), Some(home)) => Path::new(&home).join(rest),
                _ => PathBuf::from(s),
            };
            if p.is_absolute() { p } else { base.join(p) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_taken_from_the_configuration_files_folder() {
        assert_eq!(
            split("inv/hosts.yml, /abs", Path::new("/repo")),
            vec![PathBuf::from("/repo/inv/hosts.yml"), PathBuf::from("/abs")]
        );
    }
}
