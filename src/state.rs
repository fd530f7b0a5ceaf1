//! What the daemon knows, kept under /var/lib/miraclemax so it survives restarts: per service
//! the state machine, the open incident and the last one (`state.json`), and a bounded history
//! of events (`events.jsonl`, rotated at 1 MiB) that `miraclemax-status` and the heartbeat read.

use crate::heal::incident::{Incident, now_ms};
use crate::heal::machine::Machine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const DEFAULT_DIR: &str = "/var/lib/miraclemax";
const EVENTS_MAX_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Hash)]
pub struct ServiceState {
    pub machine: Machine,
    /// Boxed, as `last`: most services have neither, and hundreds of entries stay small.
    pub open: Option<Box<Incident>>,
    pub last: Option<Box<Incident>>,
    /// What the last look found, e.g. "example.service is active, port 8080 is listening".
    pub last_probe: Option<String>,
    /// Since when the looks have found that (written when it changes, not at every look).
    pub last_probe_ms: u64,
    /// Since when it has been over its resource rules, reported and not acted on (their
    /// `action: alert`); `None` while within them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_limits_ms: Option<u64>,
    /// Its TLS certificate as last read (services with a `domain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Box<crate::certificates::Seen>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Hash)]
pub struct State {
    /// The file's format (see `crate::formats`): this build's in memory, whatever was read.
    #[serde(default = "crate::formats::unversioned")]
    pub format: u32,
    pub daemon_pid: u32,
    pub daemon_started_ms: u64,
    pub services: BTreeMap<String, ServiceState>,
    /// Since when (ms since the epoch) the daemon has been unable to see at least one service:
    /// systemd did not answer about it, even after retries. `None` while it sees every one.
    /// The daemon's own incident: nothing it cannot see is healed meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind_since_ms: Option<u64>,
    /// The services it cannot see now, sorted; empty when `blind_since_ms` is `None`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_services: Vec<String>,
    /// Why, as the last failed call said (e.g. `org.freedesktop.DBus.Error.LimitsExceeded: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind_error: Option<String>,
    /// The last time a worker panicked (it was restarted; see `WorkerPanic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_worker_panic: Option<WorkerPanic>,
    /// Since when reports cannot leave the host because email cannot be set up (the password
    /// file cannot be read, an address is refused), and why. The daemon retries with backoff;
    /// reports wait in the outbox meanwhile. `None` while email works or is not configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_blocked: Option<MailBlocked>,
    /// The same for each channel besides email that cannot be set up, by channel name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels_blocked: BTreeMap<String, MailBlocked>,
    /// Host checks past a threshold, by name (`disk space on /var`); none within them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub host_checks: BTreeMap<String, crate::host_checks::Held>,
}

impl Default for State {
    fn default() -> State {
        State {
            format: crate::formats::CURRENT,
            daemon_pid: 0,
            daemon_started_ms: 0,
            services: BTreeMap::new(),
            blind_since_ms: None,
            blind_services: Vec::new(),
            blind_error: None,
            last_worker_panic: None,
            mail_blocked: None,
            channels_blocked: BTreeMap::new(),
            host_checks: BTreeMap::new(),
        }
    }
}

impl State {
    /// Whether queue `queue` (`email` or a channel's name) cannot be set up, and since when.
    pub fn blocked(&self, queue: &str) -> Option<&MailBlocked> {
        match queue {
            crate::notify::queues::EMAIL => self.mail_blocked.as_ref(),
            _ => self.channels_blocked.get(queue),
        }
    }
}

/// Email (or a channel) cannot be set up: no report leaves the host through it until that is
/// fixed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct MailBlocked {
    pub since_ms: u64,
    pub error: String,
}

/// A worker that panicked: the daemon logged it, restarted the worker after a pause, and exits
/// (to be restarted by systemd) if the same worker panics too often.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct WorkerPanic {
    pub service: String,
    pub at_ms: u64,
    /// The panic's message.
    pub message: String,
    /// How many times this worker panicked within the last `PANIC_WINDOW`, this one included.
    pub recent: u32,
}

/// `Event::service` of the daemon's own events (a worker panic, blindness), which are about no
/// one service. Service names cannot contain a space, so it never names one.
pub const DAEMON_EVENTS: &str = "(self-heal daemon)";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    pub time_ms: u64,
    pub service: String,
    pub event: String,
    pub incident: String,
    pub result: String,
    pub message: String,
}

/// The state directory and its files.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub root: PathBuf,
}

impl Dirs {
    pub fn new(root: &Path) -> Dirs {
        Dirs {
            root: root.to_path_buf(),
        }
    }
    pub fn create(&self) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }
    pub fn events(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }
    /// Touched by the daemon on every check cycle; the heartbeat reads its age.
    pub fn alive(&self) -> PathBuf {
        self.root.join("alive")
    }

    /// The state as last saved (empty when there is none), in this build's format.
    pub fn load_state(&self) -> io::Result<State> {
        self.read_state().map(|(s, _)| s)
    }

    /// `load_state`, with what to say when the file was of another build's format (the
    /// daemon says it once, at its start).
    pub fn read_state(&self) -> io::Result<(State, Option<crate::formats::Note>)> {
        match fs::read(self.state()) {
            Ok(b) => {
                let mut s: State = serde_json::from_slice(&b).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {e}", self.state().display()),
                    )
                })?;
                let note = crate::formats::note(&self.state(), "the state", s.format);
                s.format = crate::formats::CURRENT;
                Ok((s, note))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((State::default(), None)),
            Err(e) => Err(e),
        }
    }

    pub fn save_state(&self, s: &State) -> io::Result<()> {
        write_atomic(&self.state(), &serde_json::to_vec_pretty(s)?)
    }

    pub fn append_event(&self, ev: &Event) -> io::Result<()> {
        let path = self.events();
        if fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > EVENTS_MAX_BYTES {
            fs::rename(&path, path.with_extension("jsonl.1"))?;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut line = serde_json::to_vec(ev)?;
        line.push(b'\n');
        f.write_all(&line)
    }

    /// Events newer than `since_ms`, oldest first (both files).
    pub fn events_since(&self, since_ms: u64) -> Vec<Event> {
        let mut out = Vec::new();
        for p in [self.events().with_extension("jsonl.1"), self.events()] {
            let text = fs::read_to_string(p).unwrap_or_default();
            out.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<Event>(l).ok())
                    .filter(|e| e.time_ms > since_ms),
            );
        }
        out
    }

    /// The liveness stamp: "PID START_MS", written once per daemon process; after that each
    /// beat only moves its modification time (which readers take as the last sign of life),
    /// so a healthy daemon writes no data and syncs nothing at rest.
    pub fn touch_alive(&self) -> io::Result<()> {
        let path = self.alive();
        let pid = std::process::id().to_string();
        let ours = fs::read_to_string(&path)
            .is_ok_and(|s| s.split_whitespace().next() == Some(pid.as_str()));
        if ours
            && fs::File::open(&path)?
                .set_modified(std::time::SystemTime::now())
                .is_ok()
        {
            return Ok(());
        }
        write_atomic(&path, format!("{pid} {}\n", now_ms()).as_bytes())
    }
}

/// What a writer compares to tell whether something changed since it last wrote it, instead
/// of a copy of it: equal values hash equal, and a change that hashes the same as the value
/// before it (one chance in 2^64) would only wait for the next change to be written.
pub fn fingerprint<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Writes a file so readers see the old or the new content, never half of it: a temporary file
/// beside it, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// `write_atomic` for a file others read too (`mode`, e.g. 0o644 for node_exporter's).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        // Whatever the umask (the daemon's unit sets 0077): others read a 0644 file.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_liveness_stamp_is_written_once_per_process_then_only_its_time_moves() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("mm-alive-{}", std::process::id()));
        let d = Dirs::new(&dir);
        d.create().unwrap();
        std::fs::write(d.alive(), "999999999 0\n").unwrap();
        d.touch_alive().unwrap();
        let first = std::fs::read_to_string(d.alive()).unwrap();
        assert!(
            first.starts_with(&format!("{} ", std::process::id())),
            "{first}"
        );
        let meta = std::fs::metadata(d.alive()).unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        std::fs::File::open(d.alive())
            .unwrap()
            .set_modified(old)
            .unwrap();
        d.touch_alive().unwrap();
        let after = std::fs::metadata(d.alive()).unwrap();
        assert_eq!(after.ino(), meta.ino(), "the same file, not rewritten");
        assert_eq!(std::fs::read_to_string(d.alive()).unwrap(), first);
        assert!(after.modified().unwrap().elapsed().unwrap() < std::time::Duration::from_secs(60));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn state_round_trips_and_events_rotate() {
        let dir = std::env::temp_dir().join(format!("mm-state-{}", std::process::id()));
        let d = Dirs::new(&dir);
        d.create().unwrap();
        assert_eq!(d.load_state().unwrap(), State::default());
        let mut s = State::default();
        s.services.insert("example".into(), ServiceState::default());
        d.save_state(&s).unwrap();
        assert_eq!(d.load_state().unwrap(), s);

        let ev = |t| Event {
            time_ms: t,
            service: "example".into(),
            event: "detected".into(),
            incident: "i".into(),
            result: "".into(),
            message: "x".repeat(1000),
        };
        for t in 1..=1200 {
            d.append_event(&ev(t)).unwrap();
        }
        assert!(
            d.events().with_extension("jsonl.1").exists(),
            "rotated past 1 MiB"
        );
        assert_eq!(d.events_since(1190).len(), 10);
        fs::remove_dir_all(dir).unwrap();
    }
}
