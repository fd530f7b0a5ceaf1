//! Running host programs for the testbed: always an argument vector, never a shell line, and a
//! failure reports the argv and the program's stderr.

use anyhow::{Context, Result, bail};
use std::process::{Command, Output, Stdio};

/// Runs a program to completion and returns its stdout; a non-zero exit is an error.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    succeeded(program, args, output(program, args)?)
}

/// The program's stdout when it exited 0; else an error with its argv and stderr.
fn succeeded(program: &str, args: &[&str], out: Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            argv(program, args),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like `run`, with `input` as the program's stdin.
pub fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}`", argv(program, args)))?;
    // Dropped once written: the program sees the end of its input.
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())?;
    succeeded(program, args, child.wait_with_output()?)
}

/// Runs a program and returns whatever it did, success or not.
pub fn output(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", argv(program, args)))
}

/// Runs a cleanup step whose failure only matters if the thing still exists afterwards.
pub fn quietly(program: &str, args: &[&str]) {
    let _ = output(program, args);
}

pub fn argv(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes one argument for the remote shell that ssh hands its command line to, so each
/// argument arrives exactly as given.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting_keeps_arguments_whole() {
        assert_eq!(shell_quote("example.service"), "example.service");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x; rm -rf /"), "'x; rm -rf /'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
