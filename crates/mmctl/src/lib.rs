//! mmctl, the MiracleMax controller: reads and edits the Ansible inventory the playbooks use,
//! checks what each host will receive with the daemon's own validation, and drives the deploys.

pub mod ansible;
pub mod edit;
pub mod fleet;
pub mod inventory;
pub mod services;
pub mod write;
