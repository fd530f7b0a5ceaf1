//! The fast tier: the host binaries and the library run for real without root, systemd or the
//! testbed (`cargo test`, seconds). The end-to-end tier is `tests/e2e`.

mod channels;
mod cli;
mod config_fragments;
mod config_fuzz;
mod config_secrets;
mod config_validation;
mod docs;
mod email_golden;
mod failure_modes_doc;
mod formats;
mod heartbeat_contract;
mod readme_results;
mod role_specs;
mod unit_hardening;
mod workspace;
