//! Writing an inventory file safely: the new text replaces the file atomically (a temporary
//! file beside it, synced, then renamed over it, keeping its mode, owner and group), and only
//! if the file still holds what was read: an edit made meanwhile by a person or another mmctl
//! is never overwritten. A symbolic link stays one: the file it points to is what is edited,
//! as that is what Ansible reads. `--dry-run` shows the same change as a unified diff instead.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A file as it was read (`None` when it did not exist).
pub struct Snapshot {
    pub path: PathBuf,
    pub text: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: changed since mmctl read it; nothing was written (run the command again)", path.display())]
    Changed { path: PathBuf },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn snapshot(path: &Path) -> Result<Snapshot, WriteError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(WriteError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Ok(Snapshot {
        path: path.to_path_buf(),
        text,
    })
}

/// Replaces the file with `new`, unless it changed since `snap` was taken.
/// Removes the file, unless it changed since `snap` was taken.
pub fn remove(snap: &Snapshot) -> Result<(), WriteError> {
    let path = &snap.path;
    if snapshot(path)?.text != snap.text {
        return Err(WriteError::Changed { path: path.clone() });
    }
    std::fs::remove_file(path).map_err(|source| WriteError::Write {
        path: path.clone(),
        source,
    })
}

pub fn replace(snap: &Snapshot, new: &str) -> Result<(), WriteError> {
    let werr = |source| WriteError::Write {
        path: snap.path.clone(),
        source,
    };
    if snapshot(&snap.path)?.text != snap.text {
        return Err(WriteError::Changed {
            path: snap.path.clone(),
        });
    }
    // Through a symbolic link, the file it points to.
    let target = match std::fs::symlink_metadata(&snap.path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&snap.path).map_err(werr)?,
        _ => snap.path.clone(),
    };
    let path = &target;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(werr)?;
    let old = std::fs::metadata(path).ok();
    let mode = old.as_ref().map_or(0o644, |m| m.permissions().mode());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.mmctl-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some(m) = &old {
            use std::os::unix::fs::MetadataExt;
            // The file stays its owner's (an edit run as root of a user's file, say).
            std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid())).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot keep its owner and group ({}:{}), so nothing was written: {e}",
                        m.uid(),
                        m.gid()
                    ),
                )
            })?;
        }
        f.write_all(new.as_bytes())?;
        f.sync_all()?;
        // Checked again at the last moment: the window left is the rename itself.
        if snapshot(&snap.path).ok().map(|s| s.text) != Some(snap.text.clone()) {
            return Err(std::io::Error::other("changed"));
        }
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        if e.to_string() == "changed" {
            return Err(WriteError::Changed {
                path: snap.path.clone(),
            });
        }
        return Err(werr(e));
    }
    Ok(())
}

/// The change as a unified diff, with the file's path in the headers.
pub fn diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_after_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("main.yml");
        std::fs::write(&p, "a: 1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let snap = snapshot(&p).unwrap();
        std::fs::write(&p, "a: 2\n").unwrap();
        let e = replace(&snap, "a: 3\n").unwrap_err();
        assert!(matches!(e, WriteError::Changed { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 2\n");
        let snap = snapshot(&p).unwrap();
        replace(&snap, "a: 3\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 3\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file keeps its permissions");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn a_symlink_stays_one_and_the_file_keeps_its_owner_group_and_mode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("shared.yml");
        std::fs::write(&real, "a: 1\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Another user's file, when the test can say so (as root, as the CI runs it).
        let owner = (4242, 4243);
        let chowned = std::os::unix::fs::chown(&real, Some(owner.0), Some(owner.1)).is_ok();
        let link = dir.path().join("web.yml");
        std::os::unix::fs::symlink("shared.yml", &link).unwrap();
        let snap = snapshot(&link).unwrap();
        replace(&snap, "a: 2\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "a: 2\n");
        let m = std::fs::metadata(&real).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o640);
        if chowned {
            assert_eq!((m.uid(), m.gid()), owner);
        }
    }
}
