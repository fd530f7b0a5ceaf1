//! The demo (`make demo` with no servers given): a real Debian host under systemd-nspawn gets
//! the self-healing daemon and the heartbeat, its example service is broken, and everything a
//! user would see is printed: status, the email that arrived, the heartbeat's ping, the journal.

use super::Testbed;
use super::deploy::{EXAMPLE_SERVICE, install_daemon, lab_config};
use super::healthchecks::Healthchecks;
use super::smtp::Smtp;
use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

pub fn run(bin_dir: &Path) -> Result<()> {
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
    let ping_url = hc.add_check();
    println!(
        "a local Healthchecks (ping API) listens on {}",
        host.gateway()
    );

    step("Installing miraclemax-self-heal and miraclemax-heartbeat with this configuration");
    let config = format!(
        "{}heartbeat:\n  ping_url: {ping_url}\n",
        lab_config(host, EXAMPLE_SERVICE)
    );
    print!("{config}");
    install_daemon(host, bin_dir, &config)?;
    show(host, &["miraclemax-status"])?;

    step("Test Self-Healing: sudo systemctl stop example");
    show(host, &["systemctl", "stop", "example.service"])?;
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
    let pings = hc.wait_for_pings(1, Duration::from_secs(10));
    if let Some(p) = pings.last() {
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
