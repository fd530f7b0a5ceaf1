//! The demo (`make demo` with no servers given): a real Debian host under systemd-nspawn is
//! set up the way a user sets up a server, with mmctl: `init`, the secrets in Ansible Vault,
//! `add-service`, `validate`, `deploy` (the project's own playbooks), `status`, `test heal`,
//! `test heartbeat`, `logs`; and everything a user would see is printed: the commands and
//! their output, the plays, the email that arrived, the heartbeat's ping.

use super::Testbed;
use super::healthchecks::{API_KEY, Healthchecks};
use super::smtp::Smtp;
use anyhow::{Context, Result, bail};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `repo` is the repository root (playbooks, roles, inventory, and `scripts/build`'s output).
#[allow(clippy::too_many_lines)] // the demo's script, each step printed as the user sees it, in order
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
    step(&format!(
        "Booting a local test host ({}, real systemd, reached over SSH)",
        super::Release::default()
    ));
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
    let inv = work.join("inventory");
    let mmctl = Mmctl {
        repo,
        inventory: inv.clone(),
    };
    println!(
        "(below, mmctl runs as `mmctl -i {}`: the demo's inventory; yours is inventory/)",
        inv.display()
    );

    step("A first inventory: mmctl init");
    let address = host.address().to_string();
    let dir = inv.display().to_string();
    mmctl.run(&[
        "init",
        &dir,
        "--host",
        &host.name,
        "--address",
        &address,
        "--user",
        "root",
    ])?;
    std::fs::write(
        inv.join("group_vars/miraclemax/testbed.yml"),
        super::deploy::testbed_vars(Some(&hc.api_url)),
    )?;
    println!(
        "(the test host's specifics, its SSH key and the local SMTP server and Healthchecks, go in \
         group_vars/miraclemax/testbed.yml)"
    );

    step("The secrets, in Ansible Vault: group_vars/miraclemax/vault.yml");
    // Beside the inventory, not in it: every file in an inventory folder is read as inventory.
    let password = work.join("vault-password");
    miraclemax::state::write_atomic(&password, b"demo-vault-password\n")?;
    let vault = inv.join("group_vars/miraclemax/vault.yml");
    miraclemax::state::write_atomic(
        &vault,
        format!("vault_healthchecks_api_key: {API_KEY}\n").as_bytes(),
    )?;
    let status = Command::new(repo.join(".venv/bin/ansible-vault"))
        .args(["encrypt", "--vault-password-file"])
        .arg(&password)
        .arg(&vault)
        .status()
        .context("ansible-vault: run scripts/install-deps first")?;
    if !status.success() {
        bail!("ansible-vault encrypt failed ({status})");
    }
    let pw = password.display().to_string();

    step("Add New Service: mmctl add-service");
    mmctl.run(&[
        "add-service",
        "example",
        "--port",
        "8080",
        "--domain",
        "example.lab.test",
        "--critical",
        "--health-path",
        "/health",
        "--strategy",
        "service_restart",
        "--strategy",
        "port_conflict",
        "--strategy",
        "kill_hung",
        "--healthcheck",
    ])?;
    mmctl.run(&["list"])?;
    mmctl.run(&["--vault-password-file", &pw, "validate"])?;

    step("Deploying both layers: mmctl deploy");
    mmctl.run(&["--vault-password-file", &pw, "deploy"])?;

    step("The fleet: mmctl status");
    mmctl.run(&["--vault-password-file", &pw, "status"])?;

    step("Test Self-Healing: mmctl test heal");
    println!("(it stops example.service, as `sudo systemctl stop example` would, and watches)");
    mmctl.run(&[
        "--vault-password-file",
        &pw,
        "test",
        "heal",
        &host.name,
        "example",
    ])?;
    let mail = smtp
        .wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30))
        .context("the RESOLVED email did not arrive")?;
    show(host, &["systemctl", "is-active", "example.service"])?;

    step("The email that arrived");
    println!(
        "From: {}\nTo: {}\nSubject: {}\n\n{}",
        mail.from, mail.to, mail.subject, mail.body
    );

    step("Test Heartbeat: mmctl test heartbeat");
    mmctl.run(&[
        "--vault-password-file",
        &pw,
        "test",
        "heartbeat",
        &host.name,
    ])?;
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

    step("The healing history: mmctl logs");
    mmctl.run(&[
        "--vault-password-file",
        &pw,
        "logs",
        &host.name,
        "--service",
        "example",
    ])?;
    step("mmctl status");
    mmctl.run(&["--vault-password-file", &pw, "status"])?;
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

/// mmctl from this build, run from the repository root (whose ansible.cfg finds the playbooks
/// and the collection) on the demo's inventory; each command shown, its output as is.
struct Mmctl<'a> {
    repo: &'a Path,
    inventory: PathBuf,
}

impl Mmctl<'_> {
    fn run(&self, args: &[&str]) -> Result<()> {
        println!("$ mmctl {}", args.join(" "));
        let program = self.repo.join("target/release/mmctl");
        let status = Command::new(&program)
            .current_dir(self.repo)
            .env_remove("ANSIBLE_CONFIG")
            .env("MMCTL_ANSIBLE_BIN_DIR", self.repo.join(".venv/bin"))
            .arg("-i")
            .arg(&self.inventory)
            .args(args)
            .status()
            .with_context(|| format!("{}: build it first (make demo does)", program.display()))?;
        if !status.success() {
            bail!("mmctl {} failed ({status})", args.join(" "));
        }
        Ok(())
    }
}
