//! The `miraclemax.stack.maintenance` Ansible module (documentation: its `.yml` beside it in
//! the collection).

fn main() -> std::process::ExitCode {
    miraclemax_ansible::main(miraclemax_ansible::maintenance::run)
}
