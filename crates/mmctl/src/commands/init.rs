//! `mmctl init`: a new inventory for a first server, optionally with playbooks importing the
//! collection's, then the next steps.

use crate::init::{self, First};
use std::path::{Path, PathBuf};

/// Why `init` does not know which folder to write.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitDirError {
    #[error("init was given two folders, {} and -i {}: give one", given.display(), inventory.display())]
    TwoFolders { given: PathBuf, inventory: PathBuf },
    #[error("init writes one inventory: give one -i FOLDER")]
    SeveralInventories,
}

/// The folder `mmctl init` writes: as given, or by `-i` (as every other command takes the
/// inventory), or `inventory`; two different ones are refused rather than one ignored.
pub fn dir(given: Option<PathBuf>, inventory: &[PathBuf]) -> Result<PathBuf, InitDirError> {
    match (given, inventory) {
        (Some(d), []) => Ok(d),
        (None, []) => Ok(PathBuf::from("inventory")),
        (None, [i]) => Ok(i.clone()),
        (Some(d), [i]) if d == *i => Ok(d),
        (Some(d), [i]) => Err(InitDirError::TwoFolders {
            given: d,
            inventory: i.clone(),
        }),
        (_, _) => Err(InitDirError::SeveralInventories),
    }
}

/// Writes the inventory in `dir` (and with `playbooks` the playbooks and ansible.cfg in the
/// current folder), says each file written and what to do next.
pub fn run(dir: &Path, first: First, playbooks: bool) -> anyhow::Result<()> {
    if playbooks {
        init::check_playbooks(Path::new("."))?;
    }
    for f in init::init(dir, &first)? {
        println!("wrote {}", f.display());
    }
    if playbooks {
        for f in init::playbooks(Path::new("."), dir)? {
            println!("wrote {}", f.display());
        }
    }
    print!(
        "{}",
        init::next_steps(dir, first.name.as_deref().unwrap_or("server1"))
    );
    if playbooks {
        println!(
            "\nThe playbooks need the miraclemax.stack collection where Ansible finds it \
             (ansible-galaxy collection install miraclemax-stack-VERSION.tar.gz); then, \
             as well as mmctl deploy:\n  ansible-playbook playbooks/deploy-complete-monitoring.yml --ask-vault-pass"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn the_folder_is_the_one_given_or_by_i_or_inventory() {
        assert_eq!(dir(Some(p("fleet")), &[]), Ok(p("fleet")));
        assert_eq!(dir(None, &[p("fleet")]), Ok(p("fleet")));
        assert_eq!(dir(None, &[]), Ok(p("inventory")));
        assert_eq!(dir(Some(p("fleet")), &[p("fleet")]), Ok(p("fleet")));
    }

    #[test]
    fn two_different_folders_are_refused_rather_than_one_ignored() {
        let e = dir(Some(p("a")), &[p("b")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "init was given two folders, a and -i b: give one"
        );
        let e = dir(None, &[p("a"), p("b")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "init writes one inventory: give one -i FOLDER"
        );
    }
}
