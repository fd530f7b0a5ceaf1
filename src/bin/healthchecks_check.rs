//! The `healthchecks_check` Ansible module (see ansible/modules/healthchecks_check.yml).

fn main() -> std::process::ExitCode {
    miraclemax::ansible::main(miraclemax::ansible::healthchecks_check::run)
}
