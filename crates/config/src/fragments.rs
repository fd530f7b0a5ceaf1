//! Where a host's configuration comes from: the main file and the fragments in the `config.d`
//! folder beside it, each owned by one Ansible role (the heartbeat role writes
//! `config.d/50-heartbeat.yaml`; a user may add `90-local.yaml`, which sorts after it).
//! Fragments are every `*.yaml` file there, applied in byte order of their names; hidden files
//! (`.name.yaml`, where editors and Ansible keep their temporary copies) and other names are
//! skipped. A `Fragment` given on the command line stands for a file about to be installed, so
//! Ansible can check the merged result before it writes anything (`load_with_main` does the
//! same for a new main file).

use super::ConfigError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The folder of fragments that belongs to the main file at `main`.
pub fn dir_of(main: &Path) -> PathBuf {
    main.parent().unwrap_or(Path::new("")).join("config.d")
}

/// A file to check as if it were installed as `config.d/<name>`: `NAME=FILE` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub name: String,
    pub file: PathBuf,
}

/// Why a `NAME=FILE` fragment argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFragment(String);

impl Fragment {
    /// Parses `NAME=FILE`, e.g. `50-heartbeat.yaml=/tmp/ansible.xyz`. NAME must be a name the
    /// loader would read from `config.d`: `[A-Za-z0-9._-]+.yaml`, not hidden.
    pub fn parse(arg: &str) -> Result<Fragment, BadFragment> {
        let Some((name, file)) = arg.split_once('=') else {
            return Err(BadFragment(format!(
                "'{arg}' is not NAME=FILE; write it like heartbeat.yaml=/tmp/new-heartbeat.yaml"
            )));
        };
        check_name(name)?;
        if file.is_empty() {
            return Err(BadFragment(format!(
                "'{arg}' names no file after '='; write it like {name}=/tmp/new-{name}"
            )));
        }
        Ok(Fragment {
            name: name.to_string(),
            file: PathBuf::from(file),
        })
    }
}

fn check_name(name: &str) -> Result<(), BadFragment> {
    let refuse = |why: &str| Err(BadFragment(format!("fragment name '{name}' {why}")));
    if name.contains('/') {
        return refuse("must be a file name in config.d, without '/' (e.g. heartbeat.yaml)");
    }
    if !name.ends_with(".yaml") {
        return refuse("must end in .yaml: only *.yaml files in config.d are read");
    }
    if name.starts_with('.') {
        return refuse("must not start with '.': hidden files in config.d are not read");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return refuse("may use only letters, digits and . _ - (e.g. 90-local.yaml)");
    }
    Ok(())
}

/// Whether the loader reads a file of this name from `config.d`.
fn is_fragment(name: &OsString) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.ends_with(b".yaml") && bytes.len() > ".yaml".len() && !bytes.starts_with(b".")
}

/// One file to merge: what to call it in errors and the summary, and where to read it.
#[derive(Debug)]
pub struct Source {
    /// `config.d/<name>` for a fragment; `None` for the main file.
    pub name: Option<String>,
    /// The file read, and named in its errors (for a `Fragment`, its FILE).
    pub file: PathBuf,
    /// A fragment already installed in `config.d` (not the main file, not one about to be
    /// installed): written by an earlier deploy, so an entry of it for a service the
    /// configuration no longer has is stale, not a mistake being made.
    pub installed: bool,
}

/// The fragments to merge over the main file at `main`, in name order, with `extra` replacing
/// installed fragments of the same name or joining them. A missing `config.d` means none; one
/// that exists but cannot be listed is an error naming it.
pub fn list(main: &Path, extra: &[Fragment]) -> Result<Vec<Source>, ConfigError> {
    let dir = dir_of(main);
    let mut names: Vec<(OsString, PathBuf, bool)> = Vec::new();
    match std::fs::read_dir(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(ConfigError::Read { path: dir, source }),
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|source| ConfigError::Read {
                    path: dir.clone(),
                    source,
                })?;
                let name = entry.file_name();
                if is_fragment(&name) {
                    names.push((name, entry.path(), true));
                }
            }
        }
    }
    for (i, f) in extra.iter().enumerate() {
        if extra[..i].iter().any(|g| g.name == f.name) {
            return Err(ConfigError::DuplicateFragment {
                name: f.name.clone(),
            });
        }
        names.retain(|(n, _, _)| n.as_encoded_bytes() != f.name.as_bytes());
        names.push((OsString::from(&f.name), f.file.clone(), false));
    }
    // OsString orders by bytes on Unix: the order `LC_ALL=C ls` shows.
    names.sort();
    Ok(names
        .into_iter()
        .map(|(name, file, installed)| Source {
            name: Some(format!("config.d/{}", name.to_string_lossy())),
            file,
            installed,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(arg: &str) -> String {
        Fragment::parse(arg).unwrap_err().to_string()
    }

    #[test]
    fn a_fragment_argument_is_a_yaml_name_and_a_file() {
        assert_eq!(
            Fragment::parse("heartbeat.yaml=/tmp/x=y").unwrap(),
            Fragment {
                name: "heartbeat.yaml".into(),
                file: "/tmp/x=y".into()
            }
        );
        assert!(Fragment::parse("90-local_v2.yaml=f").is_ok());
    }

    #[test]
    fn fragment_names_the_loader_would_not_read_are_refused() {
        assert_eq!(
            refused("heartbeat=/tmp/x"),
            "fragment name 'heartbeat' must end in .yaml: only *.yaml files in config.d are read"
        );
        assert_eq!(
            refused("../heartbeat.yaml=/tmp/x"),
            "fragment name '../heartbeat.yaml' must be a file name in config.d, without '/' (e.g. heartbeat.yaml)"
        );
        assert_eq!(
            refused("my heartbeat.yaml=/tmp/x"),
            "fragment name 'my heartbeat.yaml' may use only letters, digits and . _ - (e.g. 90-local.yaml)"
        );
        assert_eq!(
            refused(".heartbeat.yaml=/tmp/x"),
            "fragment name '.heartbeat.yaml' must not start with '.': hidden files in config.d are not read"
        );
        assert_eq!(
            refused(".yaml=/tmp/x"),
            "fragment name '.yaml' must not start with '.': hidden files in config.d are not read"
        );
        assert_eq!(
            refused("heartbeat.yaml"),
            "'heartbeat.yaml' is not NAME=FILE; write it like heartbeat.yaml=/tmp/new-heartbeat.yaml"
        );
        assert_eq!(
            refused("heartbeat.yaml="),
            "'heartbeat.yaml=' names no file after '='; write it like heartbeat.yaml=/tmp/new-heartbeat.yaml"
        );
    }

    #[test]
    fn the_fragment_folder_sits_beside_the_main_file() {
        assert_eq!(
            dir_of(Path::new("/etc/miraclemax/config.yaml")),
            Path::new("/etc/miraclemax/config.d")
        );
        assert_eq!(dir_of(Path::new("config.yaml")), Path::new("config.d"));
    }

    #[test]
    fn hidden_and_non_yaml_files_are_not_fragments() {
        for (name, read) in [
            ("heartbeat.yaml", true),
            ("90 local.yaml", true),
            ("heartbeat.yml", false),
            ("heartbeat.yaml~", false),
            ("heartbeat.yaml.dpkg-old", false),
            (".ansible_tmpab12heartbeat.yaml", false),
            (".yaml", false),
            ("README", false),
        ] {
            assert_eq!(is_fragment(&OsString::from(name)), read, "{name}");
        }
    }
}
