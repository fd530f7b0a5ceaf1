//! The `miraclemax.stack.drill` Ansible module (documentation: its `.yml` beside it in the
//! collection).

fn main() -> std::process::ExitCode {
    miraclemax::ansible::main(miraclemax::ansible::drill::run)
}
