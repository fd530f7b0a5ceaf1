//! mmctl, the MiracleMax controller: reads and edits the Ansible inventory the playbooks use,
//! checks what each host will receive with the daemon's own validation, and drives the deploys.

pub mod ansible;
pub mod commands;
pub mod deploy;
pub mod edit;
pub mod fleet;
pub mod host_view;
pub mod init;
pub mod inventory;
pub mod ops;
pub mod remote;
pub mod render;
pub mod services;
pub mod status;
pub mod table;
pub mod watched;
pub mod write;
