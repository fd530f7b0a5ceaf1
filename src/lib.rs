//! MiracleMax: self-healing for systemd services plus an external Healthchecks heartbeat,
//! deployed as configuration as code. This library holds everything; the binaries in
//! `src/bin/` only parse arguments, call it and map the result to an exit code.

pub mod ansible;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod heal;
pub mod heartbeat;
pub mod journal;
pub mod notify;
pub mod probe;
pub mod state;
pub mod status;
pub mod systemd;
pub mod testbed;
