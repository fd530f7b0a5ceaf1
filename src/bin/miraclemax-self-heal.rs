//! miraclemax-self-heal: the per-server self-healing daemon (run by systemd), and the
//! operator's commands to pause, resume and reset it.

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand};
use miraclemax::cli::{self, HostArgs, summary::config_summary};
use miraclemax::config::{Config, Fragment, parse_span};
use miraclemax::daemon::{self, control::Control};
use miraclemax::heal::incident::now_ms;
use std::path::PathBuf;
use std::process::ExitCode;

const NAME: &str = "miraclemax-self-heal";

/// Watches the systemd services listed in the configuration, heals them with their configured
/// strategies (restart, free a taken port, ...), verifies the fix and reports what it did by
/// email and to journald (`journalctl -t miraclemax-self-heal`). Without a command it runs the
/// daemon (as systemd's miraclemax-self-heal.service does).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    host: HostArgs,
    /// Email templates here override the built-in ones (resolved.txt.j2, failed.txt.j2).
    #[arg(long, value_name = "DIR", default_value = miraclemax::notify::report::TEMPLATE_DIR)]
    template_dir: PathBuf,
    /// Validate the configuration (the file and the config.d fragments beside it), print what
    /// it describes and exit (0 when valid).
    #[arg(long)]
    check_config: bool,
    /// With --check-config: check the configuration as it will be once FILE is installed as
    /// config.d/NAME, replacing a fragment of that name (for Ansible's `validate:`, e.g.
    /// `--with-fragment 50-heartbeat.yaml=%s`). May be given more than once.
    #[arg(long, value_name = "NAME=FILE", requires = "check_config")]
    with_fragment: Vec<String>,
    /// With --check-config: check the configuration as it will be once FILE replaces the
    /// --config file: FILE as the main file, merged with the config.d fragments installed beside
    /// --config (for Ansible's `validate:`, e.g. `--config /etc/miraclemax/config.yaml
    /// --with-main %s`). Combines with --with-fragment.
    #[arg(long, value_name = "FILE", requires = "check_config")]
    with_main: Option<PathBuf>,
    /// Check an email template (resolved.txt.j2 or failed.txt.j2 for /etc/miraclemax/templates)
    /// by rendering it for a sample incident, and exit (0 when it renders).
    #[arg(long, value_name = "FILE", conflicts_with = "check_config")]
    check_template: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Pause healing of a service (or all) for a while, e.g. for maintenance: `pause passgo --for 30m`.
    Pause {
        /// The service, as named in the configuration.
        service: Option<String>,
        /// Pause every service.
        #[arg(long, conflicts_with = "service")]
        all: bool,
        /// How long (10m, 2h); the pause ends by itself.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
    },
    /// End a pause early.
    Resume {
        service: Option<String>,
        #[arg(long, conflicts_with = "service")]
        all: bool,
    },
    /// Close an open circuit breaker so a FAILED service is watched and healed again.
    Reset { service: String },
    /// Send a test message by email and through every report channel now (outside the
    /// outbox: nothing is queued or retried) and print what each answered; exit 1 if any refused.
    TestNotify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(NAME, e.as_ref()),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(path) = &cli.check_template {
        miraclemax::notify::report::check_template(path)?;
        println!("{}: email template OK", path.display());
        return Ok(());
    }
    let extra = cli
        .with_fragment
        .iter()
        .map(|arg| Fragment::parse(arg).map_err(|e| anyhow!("--with-fragment: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = match &cli.with_main {
        Some(main) => miraclemax::config::load_with_main(&cli.host.config, main, &extra)?,
        None => miraclemax::config::load_with(&cli.host.config, &extra)?,
    };
    let control = Control::new(&cli.host.state_dir);
    let known = |s: &str| -> anyhow::Result<()> {
        if config.service(s).is_none() {
            bail!("{}: no monitored service '{s}'", cli.host.config.display());
        }
        Ok(())
    };
    let target = |service: Option<String>, all: bool| -> anyhow::Result<Option<String>> {
        match (service, all) {
            (Some(s), false) => known(&s).map(|_| Some(s)),
            (None, true) => Ok(None),
            _ => bail!("name a service or give --all"),
        }
    };
    match cli.command {
        None if cli.check_config => check_config(&cli, &config)?,
        None => run_daemon(&cli, config)?,
        Some(Cmd::Pause {
            service,
            all,
            duration,
        }) => {
            let who = target(service, all)?;
            let d = parse_span(&duration).map_err(|e| anyhow!("--for: {e}"))?;
            let until = now_ms() / 1000 + d.as_secs();
            control.pause(who.as_deref(), until)?;
            println!(
                "healing of {} paused until {}",
                who.as_deref().unwrap_or("every service"),
                miraclemax::notify::report::utc(until * 1000)
            );
        }
        Some(Cmd::Resume { service, all }) => {
            let who = target(service, all)?;
            let had = control.resume(who.as_deref());
            let name = who.as_deref().unwrap_or("every service");
            println!(
                "{}",
                if had {
                    format!("healing of {name} resumed")
                } else {
                    format!("healing of {name} was not paused")
                }
            );
        }
        Some(Cmd::Reset { service }) => {
            known(&service)?;
            control.request_reset(&service)?;
            println!("circuit breaker of {service} will be reset at the daemon's next check");
        }
        Some(Cmd::TestNotify) => test_notify(&cli, &config)?,
    }
    Ok(())
}

/// `--check-config`: what the daemon would refuse at start or at its first report, refused
/// now, at deploy.
fn check_config(cli: &Cli, config: &Config) -> anyhow::Result<()> {
    // Email as the daemon will set it up (addresses as the SMTP client parses them, the
    // password file read): a report that could never leave is refused here, at deploy.
    // The certificates a probe will trust, read as the probe reads them.
    for svc in &config.services {
        if let Some(h) = &svc.health
            && let miraclemax::config::TlsTrust::CaFile(path) = &h.tls
        {
            miraclemax::probe::check_ca_file(path).map_err(|e| {
                anyhow!(
                    "{}: service '{}': health: {e}",
                    cli.host.config.display(),
                    svc.name
                )
            })?;
        }
        // A check command that could not even start would judge nothing: refused here.
        if let Some(h) = &svc.health
            && let miraclemax::config::HealthTarget::Command(check) = &h.target
        {
            miraclemax::probe::check_command(check).map_err(|e| {
                anyhow!(
                    "{}: service '{}': health: check command: {e}",
                    cli.host.config.display(),
                    svc.name
                )
            })?;
        }
    }
    // A disk to watch that is not there would never be judged: refused here.
    for d in config.host_checks.iter().flat_map(|h| &h.disks) {
        miraclemax::probe::host::disk(&d.path).map_err(|e| {
            anyhow!(
                "{}: host_checks: disk '{}' cannot be measured on this host ({e}); give a path \
                 that exists, like its mount point",
                cli.host.config.display(),
                d.path.display()
            )
        })?;
    }
    if let Some(email) = &config.email {
        let host = config
            .host
            .clone()
            .unwrap_or_else(miraclemax::daemon::hostname);
        miraclemax::notify::check_email(email, &host)
            .map_err(|e| anyhow!("{}: {e}", cli.host.config.display()))?;
    }
    print!(
        "{}: configuration OK\n{}",
        cli.host.config.display(),
        config_summary(config)
    );
    Ok(())
}

/// The daemon itself, until it is stopped.
fn run_daemon(cli: &Cli, config: Config) -> anyhow::Result<()> {
    // The files can hold secrets: the daemon does not run on ones others can read.
    let exposed = miraclemax::config::not_private(&cli.host.config, &config);
    if !exposed.is_empty() {
        bail!(
            "refusing to start: files of the configuration are not private\n{}",
            exposed.join("\n")
        );
    }
    // The daemon reads the file itself (and again at each reload): this copy, kept
    // for the daemon's life, would be a second one (100 KiB at 500 services).
    drop(config);
    miraclemax::journal::init(NAME, true);
    daemon::single_heap();
    // Named so that its threads (file and /proc work, started on demand) are told
    // apart from any other in `ps -L` and the footprint benchmark. Kept a minute when
    // idle: at rest the liveness stamp and the operator's requests need one every few
    // seconds, and one thread kept is cheaper than one started and ended each time.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(miraclemax::daemon::BLOCKING_THREADS)
        .max_blocking_threads(miraclemax::daemon::BLOCKING_THREADS_MAX)
        .thread_keep_alive(std::time::Duration::from_secs(60))
        .build()?;
    rt.block_on(daemon::run(daemon::Options {
        config_path: cli.host.config.clone(),
        state_dir: cli.host.state_dir.clone(),
        template_dir: cli.template_dir.clone(),
    }))?;
    Ok(())
}

/// `test-notify`: one message through every channel, each answer printed.
fn test_notify(cli: &Cli, config: &Config) -> anyhow::Result<()> {
    if config.email.is_none() && config.channels.is_empty() {
        bail!(
            "{}: no report channel is configured (notifications.email, notifications.channels)",
            cli.host.config.display()
        );
    }
    let host = config
        .host
        .clone()
        .unwrap_or_else(miraclemax::daemon::hostname);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answers = rt.block_on(miraclemax::notify::test_notify::send_all(
        config,
        &host,
        now_ms(),
    ));
    let mut refused = 0;
    for a in &answers {
        match &a.result {
            Ok(answer) => println!("{}: accepted ({answer})", a.channel),
            Err(why) => {
                refused += 1;
                println!("{}: NOT accepted: {why}", a.channel);
            }
        }
    }
    if refused > 0 {
        bail!(
            "{refused} of {} channel(s) did not accept the test message",
            answers.len()
        );
    }
    Ok(())
}
