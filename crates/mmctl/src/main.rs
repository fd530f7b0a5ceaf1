//! mmctl: the controller CLI that edits the inventory and drives the deploys. Thin: parse the
//! arguments, call the library, print, map the result to an exit code (0 done, 1 refused or
//! failed, 2 bad usage).

use clap::{Args, Parser, Subcommand};
use mmctl::commands::{self, NAME};
use mmctl::inventory::{Vault, VaultOptions, locate};
use mmctl::services::{NewService, ResourceFlags, Source, Target};
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Opens what is encrypted with Ansible Vault: a file holding the password, or a program
    /// printing it (repeat for several; also ANSIBLE_VAULT_PASSWORD_FILE and ansible.cfg's
    /// vault_password_file). Secrets are never printed; Ansible's programs are handed the same.
    #[arg(
        long,
        visible_alias = "vault-pass-file",
        value_name = "FILE",
        global = true
    )]
    vault_password_file: Vec<PathBuf>,
    /// A vault identity, LABEL@SOURCE (SOURCE a password file, a program or `prompt`), as
    /// ansible-playbook takes it; repeat for several (also vault_identity_list in ansible.cfg).
    #[arg(long, value_name = "ID", global = true)]
    vault_id: Vec<String>,
    /// Ask for the vault password (once; a deploy hands it on to ansible-playbook).
    #[arg(short = 'J', long, visible_alias = "ask-vault-password", global = true)]
    ask_vault_pass: bool,
}

#[derive(Args)]
struct Where {
    /// Edit this host's own list (its host_vars, or its entry in the hosts file); a host that
    /// takes the list from a group gets one of its own, the group's entries first.
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
    /// Start an inventory for a first server: hosts file, group variables with every setting
    /// commented, a vault example; then prints the next steps.
    #[command(
        after_help = "Example:\n  mmctl init ~/fleet --host web1 --address 203.0.113.10 --user deploy"
    )]
    Init {
        /// The new inventory's folder (new or empty); `-i FOLDER` names it too. Default:
        /// `inventory`.
        dir: Option<PathBuf>,
        /// The first server's name in reports and mmctl (default server1).
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        /// Its address (host name or IP).
        #[arg(long, value_name = "ADDRESS")]
        address: Option<String>,
        /// The account Ansible logs in as (with sudo).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Also write playbooks/deploy-complete-monitoring.yml, deploy-self-healing.yml and
        /// deploy-healthchecks.yml here, importing the installed collection's, and an
        /// ansible.cfg naming the inventory if this folder has none.
        #[arg(long)]
        playbooks: bool,
    },
    /// Add a service to the services a host or group watches (monitored_services), checked for
    /// every host it reaches with the daemon's own validation; nothing is written if any fails.
    #[command(
        after_help = "Example:\n  mmctl add-service story-stages --port 3000 --domain books.example.org \\\n      --critical --strategy service_restart --strategy port_conflict --healthcheck \\\n      --memory-limit 1GiB --limit-for 3\n  mmctl add-service postgresql --port 5432 --unit postgresql@15-main.service \\\n      --check-command '/usr/bin/pg_isready --quiet --host 127.0.0.1' --check-user postgres\n  mmctl deploy --only self-healing",
        group(clap::ArgGroup::new("limit_rule").multiple(true))
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
        /// Check it by running this program (exit 0: healthy) as well as the port: the
        /// program's absolute path and its arguments, split as a shell would split them
        /// (quotes kept together) but run with no shell, e.g. "/usr/bin/pg_isready -q".
        #[arg(long, value_name = "COMMAND", conflicts_with_all = ["health_path", "health_url"])]
        check_command: Option<String>,
        /// The user the check command runs as (default root).
        #[arg(long, value_name = "USER", requires = "check_command")]
        check_user: Option<String>,
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
        limits: LimitArgs,
        #[command(flatten)]
        certificate: CertificateArgs,
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
        #[arg(long, conflicts_with = "limit")]
        host: Option<String>,
        /// Only the hosts this pattern selects, as ansible-playbook --limit takes it
        /// (`web:!web2`, `db*`, `web:&prod`).
        #[arg(short = 'l', long, value_name = "PATTERN")]
        limit: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The inventory as mmctl reads it, in ansible-inventory's shapes: --list (the default),
    /// --host HOST, --graph [GROUP] (JSON; values as written, not templated; the roles'
    /// defaults left out), to set beside what ansible-inventory prints.
    #[command(
        after_help = "Example:\n  mmctl inventory --graph\n  mmctl inventory --host web1\n  mmctl inventory --list -l web -e env=prod"
    )]
    Inventory {
        /// Every group and every host's variables (the default).
        #[arg(long, conflicts_with_all = ["host", "graph"])]
        list: bool,
        /// The variables the inventory gives this host.
        #[arg(long, value_name = "HOST", conflicts_with = "graph")]
        host: Option<String>,
        /// The groups under GROUP (default all) and their hosts, as a tree.
        #[arg(long, value_name = "GROUP", num_args = 0..=1, default_missing_value = "all")]
        graph: Option<String>,
        /// Only the hosts this pattern selects (--list), as --limit takes it.
        #[arg(short = 'l', long, value_name = "PATTERN")]
        limit: Option<String>,
        /// Extra variables (key=value, YAML/JSON or @FILE; repeat), above all others.
        #[arg(short = 'e', long, value_name = "VARS")]
        extra_vars: Vec<String>,
    },
    /// Check every host's configuration, as it will receive it, with the daemon's own
    /// validation; every problem with its file, line, host and service. Exit 1 if any; 2 if
    /// none was found but what Ansible Vault holds could not be opened (not checked).
    #[command(
        after_help = "Example:\n  mmctl validate\n  mmctl -i ~/fleet/inventory validate --json"
    )]
    Validate {
        /// Print the problems as JSON (a list; empty when the inventory is valid).
        #[arg(long)]
        json: bool,
        /// Only what this layer needs, as `deploy --only` judges it (a setup without
        /// Healthchecks validates with --only self-healing).
        #[arg(long, value_enum)]
        only: Option<mmctl::deploy::Only>,
        /// Only the hosts this pattern selects, as ansible-playbook --limit takes it.
        #[arg(short = 'l', long, value_name = "PATTERN")]
        limit: Option<String>,
    },
    /// Print what a host will receive from a deploy: its agent configuration, the heartbeat's
    /// fragment, the unit and the crontab line, from the same code the playbooks run. Secrets
    /// are redacted unless --show-secrets.
    #[command(
        after_help = "Example:\n  mmctl render web1\n  mmctl render web1 --file /etc/miraclemax/config.yaml > config.yaml"
    )]
    Render {
        /// A host, or a pattern as --limit takes it (each host it selects, one after another).
        host: String,
        /// Print only this file, byte for byte (e.g. /etc/miraclemax/config.yaml).
        #[arg(long, value_name = "PATH")]
        file: Option<String>,
        /// Show the SMTP password and ping URLs instead of redacting them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Deploy with ansible-playbook: both layers, or --only one; the inventory is validated
    /// first. Streams the play, then one line per host; the exit code is the play's.
    #[command(
        after_help = "Examples:\n  mmctl deploy\n  mmctl deploy --only self-healing -C -D -l web1\n  mmctl deploy -t heartbeat -l web1 -v -- --forks 3\n  mmctl deploy --vault-password-file ~/.vault-pass"
    )]
    Deploy {
        /// Only this layer's playbook (deploy-self-healing.yml or deploy-healthchecks.yml).
        #[arg(long, value_enum)]
        only: Option<mmctl::deploy::Only>,
        /// Deploy even if mmctl validate finds problems (the play's own checks still run).
        #[arg(long)]
        no_validate: bool,
        #[command(flatten)]
        playbook: mmctl::deploy::PlaybookArgs,
    },
    /// Take MiracleMax off the hosts PATTERN names: their Healthchecks checks paused (or
    /// deleted), the daemon, its unit, the binaries, the cron line and /etc/miraclemax removed.
    /// A pattern that reaches hosts it does not name (a group, a wildcard) needs --yes.
    #[command(
        after_help = "Examples:\n  mmctl uninstall web1\n  mmctl uninstall web1 --check\n  mmctl uninstall old-servers --yes --delete-checks --remove-state"
    )]
    Uninstall {
        /// The hosts: names (web1,web2), or with --yes a group or any Ansible pattern.
        pattern: String,
        #[command(flatten)]
        removal: mmctl::commands::uninstall::Removal,
        #[command(flatten)]
        playbook: mmctl::deploy::PlaybookArgs,
    },
    /// The fleet at a glance: each host's daemon, services, open incidents and last heartbeat,
    /// asked in parallel through Ansible; an unreachable host is a row that says so.
    #[command(after_help = "Examples:\n  mmctl status\n  mmctl status web1 web2 --json")]
    Status {
        /// Only these hosts (or groups); all by default.
        hosts: Vec<String>,
        /// Print JSON (each host's whole report included).
        #[arg(long)]
        json: bool,
    },
    /// Drills on a host: `heal` stops a service and reports how the daemon healed it (the user
    /// guide's "Test Self-Healing"); `heartbeat` runs the heartbeat once and shows its result;
    /// `notify` sends a test message through email and every report channel.
    #[command(subcommand)]
    Test(TestCmd),
    /// The healing history from a host's journal: every action the daemon took.
    #[command(after_help = "Examples:\n  mmctl logs web1\n  mmctl logs web1 --service passgo -f")]
    Logs {
        host: String,
        /// Only this service's history.
        #[arg(long)]
        service: Option<String>,
        /// How many of the latest entries.
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: u32,
        /// Keep showing new entries (Ctrl-C ends).
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Pause healing of a service (or --all) on a host for maintenance; it ends by itself.
    #[command(after_help = "Example:\n  mmctl pause web1 passgo --for 30m")]
    Pause {
        host: String,
        #[arg(required_unless_present = "all")]
        service: Option<String>,
        /// Every service of the host.
        #[arg(long, conflicts_with = "service")]
        all: bool,
        /// How long (10m, 2h).
        #[arg(long = "for", value_name = "DURATION", default_value = "30m")]
        duration: String,
    },
    /// End a pause early.
    #[command(after_help = "Example:\n  mmctl resume web1 passgo")]
    Resume {
        host: String,
        #[arg(required_unless_present = "all")]
        service: Option<String>,
        #[arg(long, conflicts_with = "service")]
        all: bool,
    },
    /// Print the completion script for a shell.
    #[command(
        after_help = "Examples:\n  mmctl completions bash > /etc/bash_completion.d/mmctl\n  mmctl completions zsh > \"${fpath[1]}/_mmctl\""
    )]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or with --dir write it and one page per command there.
    #[command(
        after_help = "Examples:\n  mmctl man | man -l -\n  mmctl man --dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write mmctl.1 and mmctl-COMMAND.1 into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Validate an agent configuration file (as a host receives it at /etc/miraclemax/config.yaml)
    /// merged with the config.d/*.yaml fragments beside it, as the host programs read it.
    #[command(after_help = "Example:\n  mmctl check-config /etc/miraclemax/config.yaml")]
    CheckConfig {
        /// The main file to check; fragments are read from config.d/ in its folder.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TestCmd {
    /// Stop a service and watch the daemon heal it: healing time, root cause, steps and
    /// whether the RESOLVED email was sent. The service is never left down.
    #[command(after_help = "Example:\n  mmctl test heal web1 story-stages")]
    Heal {
        host: String,
        service: String,
        /// How long to wait for the heal, in seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u32,
    },
    /// Run the heartbeat once on a host and show what it sent.
    #[command(after_help = "Example:\n  mmctl test heartbeat web1")]
    Heartbeat { host: String },
    /// Send a test message from a host by email and through every report channel
    /// (self_healing_notify) and show what each answered.
    #[command(after_help = "Example:\n  mmctl test notify web1")]
    Notify { host: String },
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// EPIPE, on Linux and macOS alike.
const EPIPE: i32 = 32;

/// A reader that went away (`mmctl man | head`, `mmctl logs -f | grep -m1 ...`) ends the
/// output, not with an error: the rest was not wanted. `println!` panics on it; an error
/// returned on it is caught in `main`.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // As std formats the error, and as a library's `expect` prints it (Debug).
        if message.contains(&format!("(os error {EPIPE})"))
            || message.contains(&format!("code: {EPIPE}, kind: BrokenPipe"))
        {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `mmctl: error: ...` (every line of a multi-line error) and returns exit code 1.
fn fail(err: &anyhow::Error) -> ExitCode {
    for line in format!("{err:#}").lines() {
        eprintln!("{NAME}: error: {line}");
    }
    ExitCode::FAILURE
}

/// The inventory the command works on, and what opens its vault.
fn source(args: &InventoryArgs) -> anyhow::Result<Source> {
    Ok(Source {
        paths: locate(&args.inventory).sources,
        vault: Vault::new(&VaultOptions {
            ids: args.vault_id.clone(),
            password_files: args.vault_password_file.clone(),
            ask: args.ask_vault_pass,
        })?,
    })
}

/// The commands that need no inventory; the others go to `on_hosts` (remote) or
/// `on_inventory`.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Init {
            dir,
            host,
            address,
            user,
            playbooks,
        } => {
            let dir = commands::init::dir(dir, &cli.inventory.inventory)?;
            let first = mmctl::init::First {
                name: host,
                address,
                user,
            };
            commands::init::run(&dir, first, playbooks)?;
        }
        Cmd::CheckConfig { file } => commands::check_config::run(&file)?,
        Cmd::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, NAME, &mut std::io::stdout());
        }
        Cmd::Man { dir } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match dir {
                Some(d) => {
                    std::fs::create_dir_all(&d)?;
                    clap_mangen::generate_to(cmd, &d)?;
                    println!("man pages written to {}", d.display());
                }
                None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
            }
        }
        cmd @ (Cmd::Status { .. }
        | Cmd::Test(_)
        | Cmd::Logs { .. }
        | Cmd::Pause { .. }
        | Cmd::Resume { .. }
        | Cmd::Uninstall { .. }) => return on_hosts(cmd, &cli.inventory),
        cmd => return on_inventory(cmd, &cli.inventory),
    }
    Ok(ExitCode::SUCCESS)
}

/// add-service's certificate flags, written as the service's `certificate`.
#[derive(clap::Args, Debug)]
struct CertificateArgs {
    /// Read its domain's TLS certificate from 127.0.0.1:PORT instead of 443 (a service
    /// with a domain has its certificate's expiry watched).
    #[arg(long, value_name = "PORT", requires = "domain", conflicts_with = "no_certificate", value_parser = clap::value_parser!(u16).range(1..))]
    certificate_port: Option<u16>,
    /// Warn this many days before its certificate expires instead of 14.
    #[arg(long, value_name = "DAYS", requires = "domain", conflicts_with = "no_certificate", value_parser = clap::value_parser!(u32).range(1..=365))]
    certificate_warn_days: Option<u32>,
    /// Do not watch its TLS certificate.
    #[arg(long)]
    no_certificate: bool,
}

impl CertificateArgs {
    /// The `certificate` key; `None`: not written (the default applies).
    fn entry(&self) -> Option<serde_json::Value> {
        if self.no_certificate {
            return Some(serde_json::Value::Bool(false));
        }
        let mut m = serde_json::Map::new();
        if let Some(p) = self.certificate_port {
            m.insert("port".into(), p.into());
        }
        if let Some(d) = self.certificate_warn_days {
            m.insert("warn_days".into(), d.into());
        }
        (!m.is_empty()).then_some(serde_json::Value::Object(m))
    }
}

/// `--check-command "PROGRAM ARG..."` as its argv: split as a shell splits words (quotes keep an
/// argument together), then run with no shell.
fn split_command(line: &str) -> anyhow::Result<Vec<String>> {
    shlex::split(line).ok_or_else(|| {
        anyhow::anyhow!(
            "--check-command {line:?}: a quote is not closed (the command is split as a shell \
             splits words, and then run with no shell)"
        )
    })
}

/// add-service's resource rules, written as the service's `limits`.
#[derive(clap::Args, Debug)]
struct LimitArgs {
    /// Restart it when its memory (its cgroup's memory.current) stays above SIZE, e.g. 1GiB.
    #[arg(long, group = "limit_rule", value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Restart it when its CPU use stays above PERCENT of one core, e.g. 90%.
    #[arg(long, group = "limit_rule", value_name = "PERCENT")]
    cpu_limit: Option<String>,
    /// Restart it when its processes and threads stay above N.
    #[arg(long, group = "limit_rule", value_name = "N")]
    tasks_limit: Option<u32>,
    /// Restart it when its open files stay above N.
    #[arg(long, group = "limit_rule", value_name = "N")]
    fds_limit: Option<u32>,
    /// How many looks in a row a limit must be crossed before it counts (default 3).
    #[arg(long, value_name = "LOOKS", requires = "limit_rule")]
    limit_for: Option<u32>,
    /// What a limit crossed for its looks does: restart (heal, the default) or alert (only
    /// report, once over and once back within).
    #[arg(long, value_name = "ACTION", requires = "limit_rule", value_parser = ["restart", "alert"])]
    limit_action: Option<String>,
}

impl From<LimitArgs> for ResourceFlags {
    fn from(a: LimitArgs) -> ResourceFlags {
        ResourceFlags {
            memory: a.memory_limit,
            cpu: a.cpu_limit,
            tasks: a.tasks_limit,
            fds: a.fds_limit,
            for_looks: a.limit_for,
            action: a.limit_action,
        }
    }
}

/// The commands that read and edit the inventory (the vault is opened, or its password
/// asked, only when the command gets that far).
fn on_inventory(cmd: Cmd, args: &InventoryArgs) -> anyhow::Result<ExitCode> {
    let src = || source(args);
    match cmd {
        Cmd::AddService {
            name,
            port,
            domain,
            unit,
            health_path,
            health_url,
            check_command,
            check_user,
            certificate,
            critical,
            no_critical,
            strategies,
            depends_on,
            healthcheck,
            limits,
            place,
            dry_run,
        } => {
            let s = NewService {
                name,
                port,
                domain,
                unit,
                health_path,
                health_url,
                check_command: check_command.as_deref().map(split_command).transpose()?,
                check_user,
                certificate: certificate.entry(),
                critical: (critical || no_critical).then_some(critical),
                strategies,
                depends_on,
                healthcheck,
                limits: limits.into(),
            };
            commands::service_edit::add(&src()?, &s, &place.target(), dry_run)?;
        }
        Cmd::RemoveService {
            name,
            place,
            dry_run,
        } => commands::service_edit::remove(&src()?, &name, &place.target(), dry_run)?,
        Cmd::List { host, limit, json } => {
            commands::list::run(&src()?, host.as_deref(), limit.as_deref(), json)?;
        }
        Cmd::Render {
            host,
            file,
            show_secrets,
        } => commands::render::run(&src()?, &host, file.as_deref(), show_secrets)?,
        Cmd::Deploy {
            only,
            no_validate,
            playbook,
        } => return commands::deploy::run(src()?, only, no_validate, playbook),
        Cmd::Inventory {
            list: _,
            host,
            graph,
            limit,
            extra_vars,
        } => {
            let view = commands::inventory::View::asked(
                graph.as_deref(),
                host.as_deref(),
                limit.as_deref(),
            );
            commands::inventory::run(&src()?, view, &extra_vars)?;
        }
        Cmd::Validate { json, only, limit } => {
            return commands::validate::run(&src()?, json, only, limit.as_deref());
        }
        _ => unreachable!("run dispatches only the inventory's commands here"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands that act on hosts through Ansible.
fn on_hosts(cmd: Cmd, args: &InventoryArgs) -> anyhow::Result<ExitCode> {
    let src = || source(args);
    match cmd {
        Cmd::Uninstall {
            pattern,
            removal,
            playbook,
        } => return commands::uninstall::run(&src()?, &pattern, removal, playbook),
        Cmd::Status { hosts, json } => return commands::status::run(&src()?, &hosts, json),
        Cmd::Test(TestCmd::Heal {
            host,
            service,
            timeout,
        }) => commands::drill::heal(&src()?, &host, &service, timeout)?,
        Cmd::Test(TestCmd::Heartbeat { host }) => commands::drill::heartbeat(&src()?, &host)?,
        Cmd::Test(TestCmd::Notify { host }) => commands::drill::notify(&src()?, &host)?,
        Cmd::Logs {
            host,
            service,
            lines,
            follow,
        } => commands::logs::run(&src()?, &host, service.as_deref(), lines, follow)?,
        Cmd::Pause {
            host,
            service,
            all: _,
            duration,
        } => commands::pause::pause(&src()?, &host, service.as_deref(), &duration)?,
        Cmd::Resume {
            host,
            service,
            all: _,
        } => commands::pause::resume(&src()?, &host, service.as_deref())?,
        _ => unreachable!("run dispatches only the remote commands here"),
    }
    Ok(ExitCode::SUCCESS)
}
