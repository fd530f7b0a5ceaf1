//! Fakes for the daemon's seams, for fast root-free unit tests of the ladder, the workers and
//! the main loop: a scripted systemd and a process table on one fake host (so a unit that
//! comes up holds its port), a clock that only moves when told, and a temporary state
//! directory. Test-only: compiled under `cfg(test)`, never shipped.

mod faults;
mod host;
mod procs;

pub use faults::Faulty;
pub use host::{FakeHost, Then};
pub use procs::FRESH;

use super::System;
use crate::config::Config;
use crate::heal::clock::Clock;
use crate::heal::ladder::Ctx;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// When the fake clock starts: 2025-01-01T00:00:00Z.
pub const T0: u64 = 1_735_689_600_000;

/// A clock that stands still until a test moves it, so incident ids, healing times and the
/// circuit breaker's window are exact in assertions.
pub struct FakeClock {
    ms: AtomicU64,
}

impl FakeClock {
    /// Stopped at `ms` since the Unix epoch.
    pub fn at(ms: u64) -> FakeClock {
        FakeClock {
            ms: AtomicU64::new(ms),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.ms.load(Ordering::SeqCst)
    }
}

/// A configuration from YAML, as the daemon would load it (validated).
pub fn config(yaml: &str) -> Config {
    crate::config::parse(yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The fake host and clock, as the daemon's `System`.
pub fn system(host: &Arc<FakeHost>, clock: &Arc<FakeClock>) -> System {
    System {
        units: host.clone(),
        procs: host.clone(),
        clock: clock.clone(),
    }
}

/// The ladder's context on the fake host, with the configuration's limits.
pub fn ctx(config: &Config, host: &Arc<FakeHost>, clock: &Arc<FakeClock>) -> Ctx {
    Ctx {
        units: host.clone(),
        procs: host.clone(),
        clock: clock.clone(),
        http: crate::probe::http::client(),
        limits: config.limits.clone(),
        protected: config.protected_processes.clone(),
        turns: crate::heal::turns::Turns::new(config.limits.max_concurrent_heals),
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("mm-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a writable temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
