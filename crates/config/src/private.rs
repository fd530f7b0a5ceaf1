//! The files that hold secrets (the configuration, which can carry ping URLs, its fragments,
//! the SMTP password file) must be the daemon user's alone: mode 0600 (no bits for group or
//! others) and owned by that user (root on a server). The daemon checks them at start and
//! refuses to run with any that is not, naming the file and the command that fixes it; the
//! roles write them that way.

use super::{Config, fragments};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Every secret-holding file of this configuration that others could read or change, with
/// the fix; empty when all are private.
pub fn not_private(main: &Path, config: &Config) -> Vec<String> {
    let mut files: Vec<PathBuf> = vec![main.to_path_buf()];
    if let Ok(sources) = fragments::list(main, &[]) {
        files.extend(sources.into_iter().map(|s| s.file));
    }
    if let Some(f) = config.email.as_ref().and_then(|e| e.password_file.clone()) {
        files.push(f);
    }
    let me = rustix::process::geteuid().as_raw();
    let mut out = Vec::new();
    for f in files {
        let Ok(meta) = std::fs::metadata(&f) else {
            continue;
        };
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            out.push(format!(
                "{}: readable or writable by others (mode {mode:04o}), and it can hold secrets: \
                 chmod 600 {}",
                f.display(),
                f.display()
            ));
        }
        if meta.uid() != me {
            out.push(format!(
                "{}: owned by uid {}, not by the daemon's user (uid {me}): chown {me} {}",
                f.display(),
                meta.uid(),
                f.display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_others_can_read_are_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("config.yaml");
        std::fs::write(&main, "monitored_services:\n  - name: web\n").unwrap();
        std::fs::create_dir(dir.path().join("config.d")).unwrap();
        let frag = dir.path().join("config.d/50-heartbeat.yaml");
        std::fs::write(&frag, "heartbeat:\n  ping_url: https://hc-ping.com/x\n").unwrap();
        let set =
            |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        set(&main, 0o600);
        set(&frag, 0o644);
        let c = super::super::load(&main).unwrap();
        let problems = not_private(&main, &c);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("50-heartbeat.yaml: readable or writable by others (mode 0644)")
        );
        assert!(problems[0].ends_with(&format!("chmod 600 {}", frag.display())));
        set(&frag, 0o600);
        assert!(not_private(&main, &c).is_empty());
    }
}
