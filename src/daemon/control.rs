//! Operator requests to the running daemon, as files under <state>/control/ so they need no
//! socket and survive restarts: `pause-<service>` or `pause-all` holding the end time (unix
//! seconds), and `reset-<service>`, consumed by the daemon once applied.

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Control {
    dir: PathBuf,
}

impl Control {
    pub fn new(state_dir: &Path) -> Control {
        Control {
            dir: state_dir.join("control"),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Pauses healing of one service (or all, with `None`) until `until` (unix seconds).
    pub fn pause(&self, service: Option<&str>, until: u64) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let name = service.map_or("pause-all".to_string(), |s| format!("pause-{s}"));
        crate::state::write_atomic(&self.file(&name), format!("{until}\n").as_bytes())
    }

    /// Ends a pause; returns whether there was one.
    pub fn resume(&self, service: Option<&str>) -> bool {
        let name = service.map_or("pause-all".to_string(), |s| format!("pause-{s}"));
        fs::remove_file(self.file(&name)).is_ok()
    }

    /// The end (unix seconds) written in one pause file, expired or not: `service`'s own, or
    /// the global one with `None`.
    pub fn pause_end(&self, service: Option<&str>) -> Option<u64> {
        let name = service.map_or("pause-all".to_string(), |s| format!("pause-{s}"));
        fs::read_to_string(self.file(&name))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    }

    pub fn request_reset(&self, service: &str) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        fs::write(self.file(&format!("reset-{service}")), b"")
    }

    /// The pause in force for a service at `now`, if any (its own or the global one).
    pub fn paused_until(&self, service: &str, now: u64) -> Option<u64> {
        [Some(service), None]
            .into_iter()
            .filter_map(|s| self.pause_end(s))
            .filter(|until| *until > now)
            .max()
    }

    /// Whether a reset was requested; consumes the request.
    pub fn take_reset(&self, service: &str) -> bool {
        fs::remove_file(self.file(&format!("reset-{service}"))).is_ok()
    }
}
