//! MiracleMax's host core: what runs on each server. Layer 1 is the self-healing daemon
//! (`config`, `systemd`, `probe`, `heal`, `daemon`, `notify`, `state`, `journal`), layer 2 the
//! external heartbeat (`heartbeat`), and `status` reads both. The binaries in `src/bin/` only
//! parse arguments, call this library and map the result to an exit code. The Ansible modules,
//! the controller (`mmctl`) and the test infrastructure are crates of their own under `crates/`.

mod backoff;
pub mod certificates;
pub mod cli;
/// The configuration model is its own portable crate, shared with mmctl; the host core reads it
/// as `crate::config`.
pub use miraclemax_config as config;
pub mod daemon;
pub mod formats;
pub mod heal;
pub mod heartbeat;
pub mod host_checks;
pub mod journal;
pub mod metrics;
pub mod notify;
pub mod probe;
pub mod state;
pub mod status;
pub mod systemd;
