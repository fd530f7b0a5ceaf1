//! The `miraclemax.stack.healthchecks_check` Ansible module (documentation: its `.yml` beside
//! it in the collection).

fn main() -> std::process::ExitCode {
    miraclemax_ansible::main(miraclemax_ansible::healthchecks_check::run)
}
