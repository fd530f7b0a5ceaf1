//! Operator requests to the running daemon, as files under <state>/control/ so they need no
//! socket and survive restarts: `pause-<service>` or `pause-all` holding the end time (unix
//! seconds), and `reset-<service>`, consumed by the daemon once applied.
//!
//! The daemon reads the folder once per check interval into `Requests` (one task, off the
//! runtime thread), so a healthy service's look reads no file; a look that found something
//! wrong reads the files themselves before anything is decided (`paused_until`), so a pause
//! written a moment before a deploy stops its service is always honoured.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What the control folder asked for when it was last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    /// Pause ends (unix seconds) by file name after `pause-`: a service's, or `all`.
    pauses: BTreeMap<String, u64>,
    /// Services whose circuit breaker an operator asked to reset.
    resets: BTreeSet<String>,
}

impl Requests {
    /// The pause in force for a service at `now`, if any (its own or the global one).
    pub fn paused_until(&self, service: &str, now: u64) -> Option<u64> {
        [service, "all"]
            .into_iter()
            .filter_map(|s| self.pauses.get(s).copied())
            .filter(|until| *until > now)
            .max()
    }

    pub fn reset_asked(&self, service: &str) -> bool {
        self.resets.contains(service)
    }

    /// For one service at `now`: whether a reset is asked, and the pause in force.
    pub fn for_service(&self, service: &str, now: u64) -> (bool, Option<u64>) {
        (self.reset_asked(service), self.paused_until(service, now))
    }
}

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

    /// Every request in the folder now (none when it does not exist).
    pub fn requests(&self) -> Requests {
        let mut r = Requests::default();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return r;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(service) = name.strip_prefix("reset-") {
                r.resets.insert(service.to_string());
            } else if let Some(who) = name.strip_prefix("pause-") {
                let who = (who != "all").then_some(who);
                if let Some(until) = self.pause_end(who) {
                    r.pauses.insert(who.unwrap_or("all").to_string(), until);
                }
            }
        }
        r
    }

    /// Whether a reset was requested; consumes the request.
    pub fn take_reset(&self, service: &str) -> bool {
        fs::remove_file(self.file(&format!("reset-{service}"))).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_read_at_once_answers_as_its_files_do() {
        let dir = crate::daemon::fake::TempDir::new("control");
        let c = Control::new(dir.path());
        assert_eq!(c.requests(), Requests::default(), "no folder yet");
        c.pause(Some("web"), 1_000).unwrap();
        c.pause(None, 2_000).unwrap();
        c.pause(Some("db"), 3_000).unwrap();
        c.request_reset("db").unwrap();
        std::fs::write(dir.path().join("control/pause-broken"), "soon\n").unwrap();
        let r = c.requests();
        for (service, now) in [("web", 500), ("web", 1_500), ("db", 2_500), ("x", 2_000)] {
            assert_eq!(
                r.paused_until(service, now),
                c.paused_until(service, now),
                "{service} at {now}"
            );
        }
        assert_eq!(r.paused_until("web", 500), Some(2_000));
        assert_eq!(r.paused_until("db", 2_500), Some(3_000));
        assert_eq!(r.paused_until("broken", 2_500), None);
        assert!(r.reset_asked("db") && !r.reset_asked("web"));
        assert!(c.take_reset("db"));
        assert!(!c.requests().reset_asked("db"));
    }
}
