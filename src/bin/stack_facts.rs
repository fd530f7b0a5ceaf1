//! The `miraclemax.stack.stack_facts` Ansible module (documentation: its `.yml` beside it in
//! the collection).

fn main() -> std::process::ExitCode {
    miraclemax::ansible::main(miraclemax::ansible::stack_facts::run)
}
