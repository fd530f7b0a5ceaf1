//! mmctl: the controller CLI that edits the inventory and drives the deploys. Thin: parse the
//! arguments, call the library, print, map the result to an exit code (0 done, 1 refused or
//! failed, 2 bad usage).

use clap::{Args, Parser, Subcommand};
use miraclemax::cli::{self, summary::config_summary};
use mmctl::inventory::{Vault, locate};
use mmctl::services::{self, NewService, Plan, Source, Target};
use std::path::PathBuf;
use std::process::ExitCode;

const NAME: &str = "mmctl";

/// Manage a MiracleMax fleet from its Ansible inventory: add and remove monitored services,
/// validate what each host will receive, render configs, deploy and run drills.
#[derive(Parser)]
#[command(
    version,
    after_help = "Exit codes: 0 done, 1 refused or failed (the reason is printed), 2 bad usage."
)]
struct Cli {
    #[command(flatten)]
    inventory: InventoryArgs,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args)]
struct InventoryArgs {
    /// The inventory (file or folder; repeat for several), as for ansible-playbook. Default: the
    /// `inventory` of ansible.cfg (ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg), or ANSIBLE_INVENTORY.
    #[arg(short = 'i', long = "inventory", value_name = "PATH", global = true)]
    inventory: Vec<PathBuf>,
    /// Opens files encrypted with Ansible Vault (also ANSIBLE_VAULT_PASSWORD_FILE).
    #[arg(long, value_name = "FILE", global = true)]
    vault_password_file: Option<PathBuf>,
}

#[derive(Args)]
struct Where {
    /// Edit the list that this host uses (the file that defines it for the host).
    #[arg(long, value_name = "HOST", conflicts_with = "group")]
    host: Option<String>,
    /// Edit the list of this group (group_vars/GROUP).
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
}

impl Where {
    fn target(self) -> Target {
        match (self.host, self.group) {
            (Some(h), _) => Target::Host(h),
            (None, Some(g)) => Target::Group(g),
            _ => Target::Auto,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Add a service to the services a host or group watches (monitored_services), checked for
    /// every host it reaches with the daemon's own validation; nothing is written if any fails.
    #[command(
        after_help = "Example:\n  mmctl add-service story-stages --port 3000 --domain books.example.org \\\n      --critical --strategy service_restart --strategy port_conflict --healthcheck\n  mmctl deploy --only self-healing"
    )]
    AddService {
        /// The service's name (letters, digits, '-', '_', '.', '@'); its unit is NAME.service unless --unit.
        name: String,
        /// The TCP port it listens on.
        #[arg(long, value_parser = clap::value_parser!(u32))]
        port: u32,
        /// The domain it serves (shown in reports).
        #[arg(long)]
        domain: Option<String>,
        /// Its systemd unit, when not NAME.service.
        #[arg(long)]
        unit: Option<String>,
        /// Probe http://127.0.0.1:PORT/PATH as well as the port.
        #[arg(long, value_name = "PATH", conflicts_with = "health_url")]
        health_path: Option<String>,
        /// Probe this URL as well as the port.
        #[arg(long, value_name = "URL")]
        health_url: Option<String>,
        /// Mark it critical.
        #[arg(long, overrides_with = "no_critical")]
        critical: bool,
        /// Mark it not critical.
        #[arg(long)]
        no_critical: bool,
        /// A healing strategy, in the order to try (repeat): service_restart, port_conflict,
        /// reset_failed, dependency_restart, kill_hung.
        #[arg(long = "strategy", value_name = "STRATEGY")]
        strategies: Vec<String>,
        /// A unit it depends on, restarted by dependency_restart (repeat).
        #[arg(long = "depends-on", value_name = "UNIT")]
        depends_on: Vec<String>,
        /// Also give it its own Healthchecks check (healthcheck_services).
        #[arg(long)]
        healthcheck: bool,
        #[command(flatten)]
        place: Where,
        /// Print the change as a unified diff and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove a service from monitored_services and healthcheck_services (everywhere it is
    /// listed, or where --host/--group say).
    #[command(after_help = "Example:\n  mmctl remove-service story-stages --dry-run")]
    RemoveService {
        name: String,
        #[command(flatten)]
        place: Where,
        /// Print the change as a unified diff and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the services each host watches.
    #[command(after_help = "Example:\n  mmctl list --host web1\n  mmctl list --json")]
    List {
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every host's configuration, as it will receive it, with the daemon's own
    /// validation; every problem with its file, line, host and service. Exit 1 if any.
    #[command(after_help = "Example:\n  mmctl validate\n  mmctl -i ~/fleet/inventory validate")]
    Validate,
    /// Validate an agent configuration file (as a host receives it at /etc/miraclemax/config.yaml)
    /// merged with the config.d/*.yaml fragments beside it, as the host programs read it.
    #[command(after_help = "Example:\n  mmctl check-config /etc/miraclemax/config.yaml")]
    CheckConfig {
        /// The main file to check; fragments are read from config.d/ in its folder.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => cli::fail(NAME, &e),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let src = || Source {
        paths: locate(&cli.inventory.inventory).sources,
        vault: Vault::from_env(cli.inventory.vault_password_file.clone()),
    };
    match cli.command {
        Cmd::CheckConfig { file } => {
            let c = miraclemax::config::load(&file)?;
            print!(
                "{}: configuration OK\n{}",
                file.display(),
                config_summary(&c)
            );
        }
        Cmd::AddService {
            name,
            port,
            domain,
            unit,
            health_path,
            health_url,
            critical,
            no_critical,
            strategies,
            depends_on,
            healthcheck,
            place,
            dry_run,
        } => {
            let s = NewService {
                name: name.clone(),
                port,
                domain,
                unit,
                health_path,
                health_url,
                critical: (critical || no_critical).then_some(critical),
                strategies,
                depends_on,
                healthcheck,
            };
            let plan = services::add(&src(), &s, &place.target())?;
            done(&plan, dry_run, &format!("added service '{name}'"))?;
        }
        Cmd::RemoveService {
            name,
            place,
            dry_run,
        } => {
            let plan = services::remove(&src(), &name, &place.target())?;
            done(&plan, dry_run, &format!("removed service '{name}'"))?;
        }
        Cmd::List { host, json } => {
            let hosts = services::list(&src(), host.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hosts)?);
            } else {
                print!("{}", mmctl::services::table(&hosts));
            }
        }
        Cmd::Validate => {
            let (inv, issues) = services::validate(&src())?;
            for f in inv.sealed_files() {
                eprintln!(
                    "{NAME}: note: {}: encrypted with Ansible Vault and not opened (give --vault-password-file to check its values)",
                    f.display()
                );
            }
            if !issues.is_empty() {
                for i in &issues {
                    eprintln!("{NAME}: error: {i}");
                }
                eprintln!("{NAME}: {} problem(s) in {} host(s)", issues.len(), {
                    let mut h: Vec<&str> = issues.iter().map(|i| i.host.as_str()).collect();
                    h.dedup();
                    h.len()
                });
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "inventory OK: {} host(s), each configuration valid",
                inv.hosts.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn done(plan: &Plan, dry_run: bool, what: &str) -> anyhow::Result<()> {
    for w in &plan.warnings {
        eprintln!("{NAME}: warning: {w}");
    }
    if dry_run {
        print!("{}", plan.diff());
        eprintln!(
            "{NAME}: dry run, nothing written; it would reach: {}",
            plan.hosts.join(", ")
        );
        return Ok(());
    }
    plan.write()?;
    println!(
        "{what} in {} (reaches: {})",
        plan.files().join(", "),
        plan.hosts.join(", ")
    );
    println!(
        "next: mmctl deploy --only self-healing   (or ansible-playbook playbooks/deploy-self-healing.yml)"
    );
    Ok(())
}
