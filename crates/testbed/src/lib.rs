//! A real-systemd test fleet on one machine: Debian 12 and Debian 13 hosts booted with
//! systemd-nspawn, each in its own network namespace, reached over real SSH. Tests use
//! `Testbed::start(n)` (Debian 13 hosts) or `Testbed::start_on(&[Release::Bookworm,
//! Release::Trixie])` (one host per release given),
//! `host(i)`, `Host::ssh`, and let the testbed drop: teardown runs on drop (so also when a test
//! panics) and a slot left behind by a killed process is cleaned before it is used again.
//!
//! Ansible logs in to the hosts as the example inventory says (`deploy` with sudo, see
//! `deploy::Login`); the harness's own commands (`Host::ssh`) run as root.
//!
//! Needs root, debootstrap and systemd-container (`scripts/install-deps` installs them). State
//! lives in `/var/lib/miraclemax-testbed` (or `$MIRACLEMAX_TESTBED_DIR`).

mod built;
mod cmd;
pub mod demo;
pub mod deploy;
pub mod docs;
pub mod elf;
mod faults;
pub mod healthchecks;
mod host;
pub mod matrix;
mod net;
pub mod receiver;
mod release;
mod rootfs;
pub mod smtp;

pub use anyhow;
pub use built::{ansible_bin_dir, dist_dir, mmctl, workspace_bin};
pub use cmd::shell_quote;
pub use host::Host;
pub use release::Release;
pub use rootfs::SUDO_PASSWORD;

use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Slots 1..=MAX_SLOT map to netns mmlabN and subnet 10.77.N.0/24.
const MAX_SLOT: u8 = 60;

pub struct Testbed {
    // Hosts drop (and tear down) before their slot locks are released.
    hosts: Vec<Host>,
    _locks: Vec<File>,
}

impl Testbed {
    /// Boots `n` fresh hosts of the default release, Debian 13, as `start_on` does.
    pub fn start(n: usize) -> Result<Testbed> {
        Testbed::start_on(&vec![Release::default(); n])
    }

    /// Boots one fresh host per release given, in that order (in parallel), and waits until
    /// each answers SSH with systemd running. On any failure, whatever was started is torn
    /// down before the error returns.
    pub fn start_on(releases: &[Release]) -> Result<Testbed> {
        let state = state_dir();
        let mut rootfs = std::collections::HashMap::new();
        for &release in releases {
            if let std::collections::hash_map::Entry::Vacant(e) = rootfs.entry(release) {
                e.insert(rootfs::ensure(&state, release)?);
            }
        }
        let key = ssh_key(&state)?;
        let public = fs::read_to_string(key.with_extension("pub"))?;
        let slots_dir = state.join("slots");
        fs::create_dir_all(&slots_dir)?;

        let mut locks = Vec::new();
        let mut hosts = Vec::new();
        for &release in releases {
            let (slot, lock) = claim_slot(&slots_dir)?;
            locks.push(lock);
            let mut host = Host::new(slot, &slots_dir, &key);
            host.release = release;
            // A process that died holding this slot may have left things behind.
            host.stop()
                .with_context(|| format!("cleaning stale slot {slot}"))?;
            hosts.push(host);
        }
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = hosts
                .iter_mut()
                .map(|h| {
                    let tree = &rootfs[&h.release];
                    s.spawn(|| h.boot(tree, &public))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("boot thread panicked"))
                .collect()
        });
        let testbed = Testbed {
            hosts,
            _locks: locks,
        };
        for r in results {
            r?; // dropping `testbed` on this error path tears every host down
        }
        Ok(testbed)
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The hosts, each to be handed to its own thread (a power cut needs `&mut`).
    pub fn hosts_mut(&mut self) -> &mut [Host] {
        &mut self.hosts
    }

    /// Builds the release's golden rootfs if needed (so the first test does not pay for it).
    pub fn prepare(release: Release) -> Result<PathBuf> {
        rootfs::ensure(&state_dir(), release)
    }

    /// Tears down every slot no live process holds (after a crash or a `kill -9`), and returns
    /// what is still left anywhere: empty means the machine is clean.
    pub fn clean_stale() -> Result<Vec<String>> {
        let state = state_dir();
        let slots_dir = state.join("slots");
        fs::create_dir_all(&slots_dir)?;
        let key = state.join("id_ed25519");
        let mut left = Vec::new();
        for slot in 1..=MAX_SLOT {
            let lock = File::create(slots_dir.join(format!("{slot}.lock")))?;
            let mut host = Host::new(slot, &slots_dir, &key);
            if lock.try_lock().is_ok()
                && let Err(e) = host.stop()
            {
                left.push(format!("{e:#}"));
            }
            std::mem::forget(host); // nothing to tear down twice; its lock closes here
        }
        Ok(left)
    }

    /// Takes a slot's lock if no process holds it, so no host can boot there while it is held;
    /// None if it is taken. For tests that inspect a slot after its host is gone.
    pub fn hold_slot(slot: u8) -> Result<Option<File>> {
        let f = File::create(state_dir().join("slots").join(format!("{slot}.lock")))?;
        Ok(f.try_lock().is_ok().then_some(f))
    }

    /// What remains on the machine of the given slot's host (processes, cgroups, mount,
    /// files, netns, veth). Used by tests to prove teardown.
    pub fn leftovers_of_slot(slot: u8) -> Vec<String> {
        let state = state_dir();
        let host = Host::new(slot, &state.join("slots"), &state.join("id_ed25519"));
        let left = host.leftovers();
        std::mem::forget(host); // a probe, not an owner: dropping would tear the slot down
        left
    }
}

pub fn state_dir() -> PathBuf {
    std::env::var_os("MIRACLEMAX_TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/miraclemax-testbed"))
}

/// The first slot no other process holds. The lock is held as long as the file stays open,
/// and the kernel releases it when the holder dies, however it dies.
fn claim_slot(slots_dir: &Path) -> Result<(u8, File)> {
    for slot in 1..=MAX_SLOT {
        let f = File::create(slots_dir.join(format!("{slot}.lock")))?;
        if f.try_lock().is_ok() {
            return Ok((slot, f));
        }
    }
    bail!("all {MAX_SLOT} testbed slots are in use")
}

fn ssh_key(state: &Path) -> Result<PathBuf> {
    let key = state.join("id_ed25519");
    if !key.exists() {
        let lock = File::create(state.join("key.lock"))?;
        lock.lock()?;
        if !key.exists() {
            cmd::run(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "miraclemax-testbed",
                    "-f",
                    rootfs::path_str(&key)?,
                ],
            )?;
        }
    }
    Ok(key)
}
