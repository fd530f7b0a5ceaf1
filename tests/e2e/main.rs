//! The end-to-end tier: MiracleMax on real systemd hosts (the nspawn testbed), reached over real
//! SSH, deployed by real ansible-playbook, reporting to a real SMTP server and a Healthchecks
//! stand-in. Needs root, the project venv and a built workspace (`cargo build --workspace`), so
//! it runs only with the `e2e` feature: `make test`, or
//! `cargo build --workspace && cargo test --features e2e --test e2e`.

mod support;

mod ansible_deploy;
mod ansible_lint;
mod certificates;
mod channels;
mod check_commands;
mod collection;
mod docs;
mod drill_module;
mod failure_modes;
mod heartbeat_cron;
mod host_checks;
mod lifecycle;
mod maintenance;
mod metrics_textfile;
mod mmctl;
mod release_artifacts;
mod scale;
mod self_heal;
mod self_heal_failures;
mod self_heal_operations;
mod shared_units;
mod storms;
mod testbed;
mod trust;
mod upgrade;
mod user_repository;
