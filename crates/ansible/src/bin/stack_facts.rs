//! The `miraclemax.stack.stack_facts` Ansible module (documentation: its `.yml` beside it in
//! the collection).

fn main() -> std::process::ExitCode {
    miraclemax_ansible::main(miraclemax_ansible::stack_facts::run)
}
