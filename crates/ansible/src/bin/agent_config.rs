//! The `miraclemax.stack.agent_config` Ansible module (documentation: its `.yml` beside it in
//! the collection).

fn main() -> std::process::ExitCode {
    miraclemax_ansible::main(miraclemax_ansible::agent_config::run)
}
