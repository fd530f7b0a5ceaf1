//! The demo (`make demo` with no servers given): a real Debian host under systemd-nspawn is
//! deployed with the project's own playbooks, exactly as a server would be, its example service
//! is drilled, and everything a user would see is printed: the plays, the email that arrived,
//! the heartbeat's ping, the journal and miraclemax-status.

use super::Testbed;
use super::deploy::inventory;
use super::healthchecks::{API_KEY, Healthchecks};
use super::smtp::Smtp;
use anyhow::{Context, Result, bail};
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `repo` is the repository root (playbooks, roles, inventory, and `scripts/build`'s output).
pub fn run(repo: &Path) -> Result<()> {
    if !repo
        .join("playbooks/deploy-complete-monitoring.yml")
        .exists()
    {
        bail!(
            "{}: no playbooks here; run the demo from the repository root (make demo)",
            repo.display()
        );
    }
    step("Booting a local test host (Debian 12, real systemd, reached over SSH)");
    let tb = Testbed::start(1)?;
    let host = tb.host(0);
    println!("{} is up at {}", host.name, host.address());
    let smtp = Smtp::start(host.gateway())?;
    println!(
        "a test SMTP server listens on {}:{}",
        host.gateway(),
        super::smtp::SMTP_PORT
    );
    let hc = Healthchecks::start(IpAddr::V4(host.gateway()))?;
    println!(
        "a local Healthchecks (ping and Management API) listens on {}",
        host.gateway()
    );
    let work = std::env::temp_dir().join(format!("mm-demo-{}", std::process::id()));
    let dir = work.join("inventory");
    inventory(tb.hosts(), &dir)?;
    // The API key as a vault would hold it: a variables file only root can read.
    let secrets = work.join("secrets.yml");
    miraclemax::state::write_atomic(
        &secrets,
        format!("vault_healthchecks_api_key: {API_KEY}\n").as_bytes(),
    )?;
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let secrets_arg = format!("@{}", secrets.display());
    let vars = ["-e", api_url.as_str(), "-e", secrets_arg.as_str()];

    step("Deploying both layers: ansible-playbook playbooks/deploy-complete-monitoring.yml");
    println!("(inventory: {}, the test host's own)", dir.display());
    playbook(repo, &dir, "deploy-complete-monitoring.yml", &vars)?;
    show(host, &["miraclemax-status"])?;

    step("Test Self-Healing: ansible-playbook playbooks/drill.yml -e drill_service=example");
    println!("(the drill stops example.service, as `sudo systemctl stop example` would)");
    playbook(repo, &dir, "drill.yml", &["-e", "drill_service=example"])?;
    let mail = smtp
        .wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30))
        .context("the RESOLVED email did not arrive")?;
    show(host, &["systemctl", "is-active", "example.service"])?;

    step("The email that arrived");
    println!(
        "From: {}\nTo: {}\nSubject: {}\n\n{}",
        mail.from, mail.to, mail.subject, mail.body
    );

    step("Test Heartbeat: sudo /usr/local/bin/miraclemax-heartbeat");
    show(host, &["/usr/local/bin/miraclemax-heartbeat"])?;
    // The deploy's own run pinged each check once; this run pings them again.
    let pings = hc.wait_for_pings(4, Duration::from_secs(10));
    let server = hc.checks().into_iter().find(|c| c.slug == host.name);
    let last = pings
        .iter()
        .rev()
        .find(|p| server.as_ref().is_some_and(|c| c.uuid == p.check));
    if let Some(p) = last {
        println!(
            "Healthchecks recorded a '{}' ping (run id {}) with this body:",
            p.kind,
            p.rid.as_deref().unwrap_or("-")
        );
        for line in p.body.lines() {
            println!("  | {line}");
        }
    }
    show(
        host,
        &["tail", "-n", "1", "/var/log/healthcheck-heartbeat.log"],
    )?;

    step("journalctl -t miraclemax-self-heal");
    show(
        host,
        &[
            "journalctl",
            "-t",
            "miraclemax-self-heal",
            "--no-pager",
            "-o",
            "short",
        ],
    )?;
    step("journalctl -u example-self-heal");
    show(
        host,
        &[
            "journalctl",
            "-u",
            "example-self-heal",
            "--no-pager",
            "-o",
            "cat",
        ],
    )?;
    step("miraclemax-status");
    show(host, &["miraclemax-status"])?;
    step("Tearing the test host down");
    Ok(())
}

fn step(title: &str) {
    println!("\n==> {title}");
}

fn show(host: &super::Host, args: &[&str]) -> Result<()> {
    println!("{}$ {}", host.name, args.join(" "));
    let out = host.ssh(args)?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Runs one of the project's playbooks against the demo inventory, its output shown as is.
fn playbook(repo: &Path, inventory: &Path, name: &str, extra: &[&str]) -> Result<()> {
    let program = repo.join(".venv/bin/ansible-playbook");
    let status = Command::new(&program)
        .current_dir(repo)
        // As a user runs it: from the repository root, whose ansible.cfg finds everything.
        .env_remove("ANSIBLE_CONFIG")
        .arg("-i")
        .arg(inventory)
        .arg(format!("playbooks/{name}"))
        .args(extra)
        .status()
        .with_context(|| format!("{}: run scripts/install-deps first", program.display()))?;
    if !status.success() {
        bail!("ansible-playbook playbooks/{name} failed ({status})");
    }
    Ok(())
}
