//! mm-testbed: the project's real-systemd test hosts, by hand. The tests use the same code
//! through `mm_testbed`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use mm_testbed::Testbed;
use std::io::BufRead;
use std::process::ExitCode;

/// Debian 12 hosts with real systemd, booted with systemd-nspawn in their own network
/// namespaces and reached over SSH (run as root).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build (or reuse) the cached Debian 12 rootfs the hosts boot from.
    Build,
    /// Boot N hosts, print how to reach them, and keep them up until Enter or end of input.
    Up {
        #[arg(default_value_t = 1)]
        count: usize,
    },
    /// Boot N hosts, run a command on each over SSH, print what it printed, tear down.
    Exec {
        count: usize,
        /// The command and its arguments (each reaches the host unchanged).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// The demo, run from the repository root after scripts/build: boot a host, deploy it with
    /// the playbooks, drill its example service, show the healing, the email and the journal.
    Demo,
    /// Tear down hosts left behind by a process that died, and report anything still left.
    Clean,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mm-testbed: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Build => {
            let dir = Testbed::prepare()?;
            println!("rootfs ready: {}", dir.display());
        }
        Cmd::Up { count } => {
            let tb = Testbed::start(count)?;
            for h in tb.hosts() {
                println!(
                    "{}  ssh {} root@{}",
                    h.name,
                    h.ssh_options().join(" "),
                    h.address()
                );
            }
            println!("hosts are up; press Enter (or close input) to tear them down");
            let _ = std::io::stdin().lock().lines().next();
        }
        Cmd::Exec { count, command } => {
            let tb = Testbed::start(count)?;
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let mut failed = false;
            for h in tb.hosts() {
                let out = h.ssh(&args)?;
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    println!("{}: {line}", h.name);
                }
                for line in String::from_utf8_lossy(&out.stderr).lines() {
                    eprintln!("{}: {line}", h.name);
                }
                failed |= !out.status.success();
            }
            if failed {
                anyhow::bail!("the command failed on at least one host");
            }
        }
        Cmd::Demo => mm_testbed::demo::run(&std::env::current_dir()?)?,
        Cmd::Clean => {
            let left = Testbed::clean_stale()?;
            if left.is_empty() {
                println!("testbed: nothing left behind");
            } else {
                anyhow::bail!("still left behind:\n{}", left.join("\n"));
            }
        }
    }
    Ok(())
}
