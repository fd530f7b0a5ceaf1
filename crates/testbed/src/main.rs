//! mm-testbed: the project's real-systemd test hosts, by hand. The tests use the same code
//! through `mm_testbed`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use mm_testbed::{Release, Testbed};
use std::io::BufRead;
use std::process::ExitCode;

/// Debian 12 and 13 hosts with real systemd, booted with systemd-nspawn in their own network
/// namespaces and reached over SSH (run as root).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build (or reuse) the cached rootfs the hosts boot from: each release's, or the one given.
    Build {
        /// 12 (bookworm) or 13 (trixie).
        #[arg(long)]
        release: Option<Release>,
    },
    /// Boot N hosts, print how to reach them, and keep them up until Enter or end of input.
    Up {
        #[arg(default_value_t = 1)]
        count: usize,
        /// 12 (bookworm) or 13 (trixie, the default).
        #[arg(long)]
        release: Option<Release>,
    },
    /// Boot N hosts, run a command on each over SSH, print what it printed, tear down.
    Exec {
        count: usize,
        /// 12 (bookworm) or 13 (trixie, the default).
        #[arg(long)]
        release: Option<Release>,
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
        Cmd::Build { release } => {
            let releases = release.map_or(Release::ALL.to_vec(), |r| vec![r]);
            for release in releases {
                let start = std::time::Instant::now();
                let dir = Testbed::prepare(release)?;
                println!(
                    "{release} rootfs ready: {} ({:.0} s)",
                    dir.display(),
                    start.elapsed().as_secs_f64()
                );
            }
        }
        Cmd::Up { count, release } => {
            let tb = start(count, release)?;
            for h in tb.hosts() {
                println!(
                    "{}  ssh {} root@{}  ({})",
                    h.name,
                    h.ssh_options().join(" "),
                    h.address(),
                    h.release
                );
            }
            println!("hosts are up; press Enter (or close input) to tear them down");
            let _ = std::io::stdin().lock().lines().next();
        }
        Cmd::Exec {
            count,
            release,
            command,
        } => {
            let tb = start(count, release)?;
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

fn start(count: usize, release: Option<Release>) -> Result<Testbed> {
    Testbed::start_on(&vec![release.unwrap_or_default(); count])
}
