//! miraclemax-heartbeat: the external heartbeat, run by root's crontab every 5 minutes.

use clap::Parser;
use miraclemax::cli::{self, HostArgs};
use miraclemax::heartbeat::{self, Outcome, ping::Signal};
use miraclemax::state::Dirs;
use std::path::PathBuf;
use std::process::ExitCode;

const NAME: &str = "miraclemax-heartbeat";

/// Pings this server's Healthchecks check (and each per-service check) with a summary of the
/// host, or `/fail` with the reason when the self-healing daemon or a critical service is down.
/// Appends one line per run to /var/log/healthcheck-heartbeat.log. Exits 1 when a ping could
/// not be delivered.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    host: HostArgs,
    /// The run log (one line per run, ping URL redacted).
    #[arg(long, value_name = "FILE", default_value = heartbeat::DEFAULT_LOG)]
    log_file: PathBuf,
    /// Print nothing unless a ping could not be delivered (for cron).
    #[arg(long, short)]
    quiet: bool,
}

/// The configuration does not load: still tell Healthchecks (`/fail` with the reason) if a
/// heartbeat section can be found, then fail as before.
fn unconfigured(cli: &Cli, e: miraclemax::config::ConfigError) -> ExitCode {
    let why = e.to_string();
    if let Some((host, hb)) = miraclemax::config::rescue_heartbeat(&cli.host.config) {
        miraclemax::journal::init(NAME, false);
        let dirs = Dirs::new(&cli.host.state_dir);
        let sent = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| {
                rt.block_on(heartbeat::run_unconfigured(
                    &hb,
                    host,
                    &why,
                    &dirs,
                    &cli.log_file,
                ))
                .map_err(anyhow::Error::from)
            });
        match sent {
            Ok(o) if o.all_delivered() => {
                eprintln!("{NAME}: sent /fail to {}", hb.ping_url.redacted())
            }
            Ok(_) => eprintln!("{NAME}: /fail to {} NOT delivered", hb.ping_url.redacted()),
            Err(e) => eprintln!("{NAME}: cannot send /fail: {e:#}"),
        }
    }
    cli::fail(NAME, &e)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match miraclemax::config::load(&cli.host.config) {
        Ok(c) => c,
        Err(e) => return unconfigured(&cli, e),
    };
    let Some(hb) = config.heartbeat.clone() else {
        return cli::fail(
            NAME,
            anyhow::anyhow!(
                "{}: no 'heartbeat' section: nothing to ping",
                cli.host.config.display()
            )
            .as_ref(),
        );
    };
    miraclemax::journal::init(NAME, false);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cli::fail(NAME, &e),
    };
    let dirs = Dirs::new(&cli.host.state_dir);
    let outcome = match rt.block_on(heartbeat::run(&config, &hb, &dirs, &cli.log_file)) {
        Ok(o) => o,
        Err(e) => {
            return cli::fail(
                NAME,
                anyhow::Error::from(e)
                    .context("cannot record the run")
                    .as_ref(),
            );
        }
    };
    print_outcome(&cli, &hb, &outcome);
    if outcome.all_delivered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What the run checked and sent, for the operator (stdout, unless --quiet) and each ping it
/// could not deliver (stderr, always).
fn print_outcome(cli: &Cli, hb: &miraclemax::config::Heartbeat, outcome: &Outcome) {
    match outcome {
        Outcome::Skipped => {
            if !cli.quiet {
                println!("another miraclemax-heartbeat run is in progress; this one sent nothing");
            }
        }
        Outcome::Ran {
            problems,
            body,
            sent,
        } => {
            if !cli.quiet {
                println!(
                    "checked: {}",
                    if problems.is_empty() {
                        "healthy".to_string()
                    } else {
                        problems.join("; ")
                    }
                );
                println!("sent to {}:", hb.ping_url.redacted());
                for line in body.lines() {
                    println!("  | {line}");
                }
            }
            for s in sent {
                let what = if s.signal == Signal::Success {
                    "success"
                } else {
                    "/fail"
                };
                let line = match &s.result.error {
                    None => format!(
                        "{} check: {what} delivered in {} ms",
                        s.check,
                        s.result.latency.as_millis()
                    ),
                    Some(e) => format!(
                        "{} check: {what} NOT delivered after {} attempt(s): {e}",
                        s.check, s.result.attempts
                    ),
                };
                if s.result.delivered {
                    if !cli.quiet {
                        println!("{line}");
                    }
                } else {
                    eprintln!("{NAME}: error: {line}");
                }
            }
        }
    }
}
