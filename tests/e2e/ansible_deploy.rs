//! The Ansible deployment, run for real: ansible-playbook from the project venv, over SSH, to
//! fresh test hosts (two full deploys to a Debian 12 and a Debian 13 host), with the example
//! inventory's group variables and its login, `deploy` with sudo; one test logs in as root, one
//! as a user whose sudo password comes from the vault.

use crate::support::*;
use mm_testbed::deploy::Login;
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use mm_testbed::{Host, SUDO_PASSWORD, Testbed};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An inventory for these hosts: the example's group variables and login, the hosts' real
/// addresses.
pub(crate) fn inventory(hosts: &[Host]) -> PathBuf {
    inventory_as(Login::default(), hosts)
}

/// `inventory`, logging in as `login` says.
pub(crate) fn inventory_as(login: Login, hosts: &[Host]) -> PathBuf {
    // One per call: tests in this process reuse host names once a slot is free again.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "mm-inventory-{}-{n}-{}",
        std::process::id(),
        hosts[0].name
    ));
    mm_testbed::deploy::inventory_as(login, hosts, &dir).unwrap();
    dir
}

/// Who ran sudo on the host, as its journal says (one name per command; Ansible's become).
pub(crate) fn sudo_users(h: &Host) -> Vec<String> {
    let journal = h
        .ssh_ok(&["journalctl", "-t", "sudo", "--no-pager", "-o", "cat"])
        .unwrap();
    journal
        .lines()
        .filter(|l| l.contains("COMMAND="))
        .filter_map(|l| l.split(" : ").next())
        .map(|u| u.trim().to_string())
        .collect()
}

pub(crate) fn playbook(inventory: &Path, name: &str, extra: &[&str]) -> Output {
    let bin_dir = mm_testbed::dist_dir();
    ansible("ansible-playbook")
        .args([
            "-i",
            inventory.to_str().unwrap(),
            &format!("playbooks/{name}"),
        ])
        .args(["-e", &format!("self_healing_bin_dir={}", bin_dir.display())])
        .args(extra)
        .output()
        .expect("scripts/install-deps puts ansible-core into .venv")
}

/// The play's output, after checking it succeeded (its output and errors shown if not).
pub(crate) fn succeeded(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A test SMTP server on each host's gateway, where the example inventory sends reports.
pub(crate) fn smtp_per_host(tb: &Testbed) -> Vec<Smtp> {
    tb.hosts()
        .iter()
        .map(|h| Smtp::start(h.gateway()))
        .collect()
}

/// `changed=` of each host in the PLAY RECAP.
pub(crate) fn recap(out: &Output) -> Vec<(String, u32, u32)> {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter_map(|l| {
            let host = l.split_whitespace().next()?.to_string();
            let num = |k: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(k)?.parse().ok())
            };
            Some((host, num("changed=")?, num("failed=")?))
        })
        .collect()
}

#[test]
fn deploy_self_healing_from_clean_hosts_then_again_with_no_change() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    let smtp = smtp_per_host(&tb);
    let inv = inventory(tb.hosts());
    // A customised RESOLVED report, installed on the hosts by the role (kept beside the
    // inventory: every file in an inventory folder is read as inventory).
    let custom = inv.with_extension("email").join("resolved.txt.j2");
    std::fs::create_dir_all(custom.parent().unwrap()).unwrap();
    let builtin = std::fs::read_to_string(repo().join("templates/email/resolved.txt.j2")).unwrap();
    std::fs::write(
        &custom,
        format!("{builtin}\nCustomised for {{{{ host }}}}.\n"),
    )
    .unwrap();
    let templates = format!(
        "{{\"self_healing_email_templates\": [\"{}\"]}}",
        custom.display()
    );
    let vars = ["-e", templates.as_str()];

    let first = playbook(&inv, "deploy-self-healing.yml", &vars);
    succeeded(&first);
    for (host, changed, failed) in recap(&first) {
        assert!(
            changed > 0 && failed == 0,
            "{host}: changed={changed} failed={failed}"
        );
    }
    for h in tb.hosts() {
        assert_eq!(is_active(h, "miraclemax-self-heal.service"), "active");
        // As the example inventory says: deploy logged in and became root with sudo.
        let sudo = sudo_users(h);
        assert!(
            !sudo.is_empty() && sudo.iter().all(|u| u == "deploy"),
            "{} ({}): {sudo:?}",
            h.name,
            h.release
        );
        let text = h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"]).unwrap();
        let config = miraclemax::config::parse(&text, Path::new("config.yaml")).unwrap();
        assert_eq!(config.host.as_deref(), Some(h.name.as_str()));
        let example = config.service("example").expect("the inventory's service");
        assert_eq!(example.port.map(|p| p.get()), Some(8080));
        assert_eq!(
            config.email.as_ref().unwrap().smtp_host,
            h.gateway().to_string()
        );
        assert_eq!(
            h.ssh_ok(&["stat", "-c", "%a", "/etc/miraclemax/config.yaml"])
                .unwrap()
                .trim(),
            "600"
        );
    }

    let second = playbook(&inv, "deploy-self-healing.yml", &vars);
    succeeded(&second);
    let r = recap(&second);
    assert_eq!(r.len(), 2, "{}", String::from_utf8_lossy(&second.stdout));
    for (host, changed, _) in r {
        assert_eq!(
            changed,
            0,
            "{host}: a second run changes nothing\n{}",
            String::from_utf8_lossy(&second.stdout)
        );
    }

    // The deployed daemon heals, and reports to the SMTP server the inventory names, with the
    // inventory's template.
    let h = tb.host(1);
    h.ssh_ok(&["systemctl", "stop", "example.service"]).unwrap();
    let mail = smtp[1].wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
    assert!(
        mail.body
            .contains(&format!("\n\nCustomised for {}.\n", h.name)),
        "{}",
        mail.body
    );

    // Taken out of the list, the template goes and the built-in report is back.
    let third = playbook(&inv, "deploy-self-healing.yml", &[]);
    succeeded(&third);
    assert!(
        !h.ssh(&["test", "-e", "/etc/miraclemax/templates/resolved.txt.j2"])
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn a_bad_inventory_value_fails_before_the_hosts_config_changes() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let _smtp = Smtp::start(tb.host(0).gateway());
    // Logged in as root, the example inventory's other login: no sudo at all.
    let inv = inventory_as(Login::Root, tb.hosts());
    succeeded(&playbook(&inv, "deploy-self-healing.yml", &[]));
    assert_eq!(sudo_users(tb.host(0)), Vec::<String>::new());
    let before = tb
        .host(0)
        .ssh_ok(&["cat", "/etc/miraclemax/config.yaml"])
        .unwrap();

    let bad = r#"{"monitored_services": [{"name": "example", "port": 70000, "healing_strategies": ["restart_everything"]}]}"#;
    let out = playbook(&inv, "deploy-self-healing.yml", &["-e", bad]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("service 'example': port 70000 is out of range 1-65535"),
        "{text}"
    );
    assert!(
        text.contains("unknown healing strategy 'restart_…'"),
        "{text}"
    );
    assert_eq!(
        tb.host(0)
            .ssh_ok(&["cat", "/etc/miraclemax/config.yaml"])
            .unwrap(),
        before,
        "config untouched"
    );
    assert_eq!(
        is_active(tb.host(0), "miraclemax-self-heal.service"),
        "active"
    );

    // A template the daemon cannot render is refused with its message, and not installed.
    let bad = inv.with_extension("bad").join("resolved.txt.j2");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "Subject: {{ service }}\n\n{{ sevrice }}\n").unwrap();
    let out = playbook(
        &inv,
        "deploy-self-healing.yml",
        &[
            "-e",
            &format!(
                "{{\"self_healing_email_templates\": [\"{}\"]}}",
                bad.display()
            ),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("undefined value: `sevrice` is undefined"),
        "{text}"
    );
    assert!(
        !tb.host(0)
            .ssh(&["test", "-e", "/etc/miraclemax/templates/resolved.txt.j2"])
            .unwrap()
            .status
            .success()
    );

    // No binaries built for the host's architecture: the play says what to do.
    let empty = std::env::temp_dir().join(format!("mm-no-binaries-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = playbook(
        &inv,
        "deploy-self-healing.yml",
        &["-e", &format!("self_healing_bin_dir={}", empty.display())],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let expected = format!(
        "{} is {}, and no build for it is in {} (missing: miraclemax-self-heal, \
         miraclemax-status, agent_config, healthchecks_check, stack_facts, drill, maintenance). Run \
         scripts/build on the controller",
        tb.host(0).name,
        std::env::consts::ARCH,
        empty.display()
    );
    assert!(text.contains(&expected), "{text}");
}

/// Puts the inventory's secrets into group_vars/miraclemax/vault.yml, encrypted with
/// ansible-vault as the example vault file says; returns the password file to run with.
/// The host's configuration as the daemon reads it: config.yaml (the self_healing role's) with
/// config.d/50-heartbeat.yaml (the heartbeat role's) merged over it.
pub(crate) fn host_config(h: &Host) -> miraclemax::config::Config {
    let dir =
        std::env::temp_dir().join(format!("mm-host-config-{}-{}", std::process::id(), h.name));
    std::fs::create_dir_all(dir.join("config.d")).unwrap();
    for file in ["config.yaml", "config.d/50-heartbeat.yaml"] {
        let text = h
            .ssh_ok(&["cat", &format!("/etc/miraclemax/{file}")])
            .unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }
    miraclemax::config::load(&dir.join("config.yaml")).unwrap()
}

pub(crate) fn vault(inventory: &Path, secrets: &str) -> PathBuf {
    let file = inventory.join("group_vars/miraclemax/vault.yml");
    std::fs::write(&file, secrets).unwrap();
    // Beside the inventory, not in it: every file in an inventory folder is read as inventory.
    let password = inventory.with_extension("vault-password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let out = ansible("ansible-vault")
        .args(["encrypt", "--vault-password-file"])
        .args([&password, &file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.starts_with("$ANSIBLE_VAULT;"), "{on_disk}");
    password
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn deploy_complete_monitoring_creates_checks_once_wires_their_urls_and_drills() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    let smtp = smtp_per_host(&tb);
    // On a test host's gateway: the controller reaches it, and so do both hosts' heartbeats.
    let hc = Healthchecks::start(IpAddr::V4(tb.host(0).gateway())).unwrap();
    // Logged in as a user whose sudo asks for a password, kept in the vault with the API key.
    let inv = inventory_as(Login::SudoWithPassword, tb.hosts());
    let password = vault(
        &inv,
        &format!("vault_healthchecks_api_key: {API_KEY}\nvault_become_password: {SUDO_PASSWORD}\n"),
    );
    let password = password.to_str().unwrap();
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let args = ["-e", &api_url, "--vault-password-file", password];

    let first = playbook(&inv, "deploy-complete-monitoring.yml", &args);
    let out = succeeded(&first);
    assert!(
        !out.contains(API_KEY),
        "the API key stays out of the output"
    );
    assert!(!out.contains(SUDO_PASSWORD), "so does the sudo password");
    for h in tb.hosts() {
        let sudo = sudo_users(h);
        assert!(
            !sudo.is_empty() && sudo.iter().all(|u| u == "ops"),
            "{} ({}): {sudo:?}",
            h.name,
            h.release
        );
    }
    let checks = hc.checks();
    assert_eq!(
        checks.len(),
        4,
        "a server check and an example check per host: {checks:?}"
    );
    let pings = hc.pings();
    for h in tb.hosts() {
        let server = checks
            .iter()
            .find(|c| c.slug == h.name)
            .expect("the server check");
        assert_eq!(
            (server.name.clone(), server.timeout, server.grace),
            (format!("MiracleMax Server {}", h.name), 300, 600)
        );
        assert!(
            pings
                .iter()
                .any(|p| p.check == server.uuid && p.kind == "success"),
            "{}: the deploy's heartbeat run reached Healthchecks: {pings:?}",
            h.name
        );
        let service = checks
            .iter()
            .find(|c| c.slug == format!("{}-example", h.name))
            .expect("the service check");
        let config = host_config(h);
        let heartbeat = config.heartbeat.expect("the heartbeat section");
        assert!(
            heartbeat
                .ping_url
                .expose()
                .ends_with(&format!("/ping/{}", server.uuid))
        );
        assert_eq!(heartbeat.services[0].0.as_str(), "example");
        assert!(
            heartbeat.services[0]
                .1
                .expose()
                .ends_with(&format!("/ping/{}", service.uuid))
        );
        let crontab = h.ssh_ok(&["crontab", "-l"]).unwrap();
        assert!(
            crontab.contains("*/5 * * * * /usr/local/bin/miraclemax-heartbeat --quiet"),
            "{crontab}"
        );
        assert!(
            h.ssh_ok(&["cat", "/etc/logrotate.d/miraclemax-heartbeat"])
                .unwrap()
                .contains("/var/log/healthcheck-heartbeat.log")
        );
        assert_eq!(is_active(h, "miraclemax-self-heal.service"), "active");
    }
    for task in [
        "TASK [miraclemax.stack.self_healing : Check that the daemon and every critical service are active]",
        "TASK [miraclemax.stack.heartbeat : Check that the heartbeat's run was delivered]",
    ] {
        let ok_after = out
            .split(task)
            .nth(1)
            .unwrap_or_else(|| panic!("{task} ran: {out}"));
        for h in tb.hosts() {
            assert!(
                ok_after.contains(&format!("ok: [{}]", h.name)),
                "{task} passed on {}: {out}",
                h.name
            );
        }
    }

    let writes = hc.writes();
    let second = playbook(&inv, "deploy-complete-monitoring.yml", &args);
    succeeded(&second);
    for (host, changed, _) in recap(&second) {
        assert_eq!(
            changed,
            0,
            "{host}: a second run changes nothing\n{}",
            String::from_utf8_lossy(&second.stdout)
        );
    }
    assert_eq!(hc.writes(), writes, "no check is written again");
    assert_eq!(hc.checks().len(), 4);

    // The drill: each host's example.service is stopped in turn and healed.
    let drill = playbook(
        &inv,
        "drill.yml",
        &[
            "-e",
            "drill_service=example",
            "--vault-password-file",
            password,
        ],
    );
    let out = succeeded(&drill);
    for (i, h) in tb.hosts().iter().enumerate() {
        let reported = out
            .lines()
            .skip_while(|l| !l.starts_with(&format!("ok: [{}] => ", h.name)))
            .nth(1)
            .unwrap_or_else(|| panic!("{}: the drill's report: {out}", h.name));
        assert!(
            reported.contains("example.service was stopped and miraclemax-self-heal healed it in")
                && reported.contains("Service was stopped"),
            "{reported}"
        );
        let secs: f64 = reported
            .split(" healed it in ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a healing time: {reported}"));
        assert!(secs > 0.0 && secs < 60.0, "{reported}");
        assert_eq!(is_active(h, "example.service"), "active");
        let mail = smtp[i].wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
        assert!(
            mail.body
                .contains("2. Executed: systemctl restart example.service"),
            "{}",
            mail.body
        );
    }
    assert_eq!(
        recap(&drill)
            .iter()
            .map(|(_, changed, failed)| (*changed, *failed))
            .collect::<Vec<_>>(),
        vec![(1, 0), (1, 0)]
    );
}

#[test]
fn adding_a_service_shows_in_check_diff_then_the_daemon_reloads_and_watches_it() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let h = tb.host(0);
    let smtp = Smtp::start(h.gateway());
    let inv = inventory(tb.hosts());
    assert!(
        playbook(&inv, "deploy-self-healing.yml", &[])
            .status
            .success()
    );
    start_second_service(h);
    let before = h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"]).unwrap();
    let daemon_pid = main_pid(h, "miraclemax-self-heal.service");

    let services = r#"{"monitored_services": [
        {"name": "example", "port": 8080, "domain": "example.lab.test", "critical": true,
         "healing_strategies": ["service_restart", "port_conflict", "kill_hung"], "health": {"path": "/health"}},
        {"name": "second", "port": 8081}]}"#;
    let check = playbook(
        &inv,
        "deploy-self-healing.yml",
        &["-e", services, "--check", "--diff"],
    );
    let out = succeeded(&check);
    let added = out
        .lines()
        .find(|l| l.starts_with('+') && l.contains("\"second\""))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(added.contains("8081"), "{added}");
    assert_eq!(
        h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"]).unwrap(),
        before,
        "--check changes nothing"
    );

    let real = playbook(&inv, "deploy-self-healing.yml", &["-e", services]);
    let out = succeeded(&real);
    assert!(
        out.contains(
            "RUNNING HANDLER [miraclemax.stack.self_healing : Reload miraclemax-self-heal]"
        ),
        "{out}"
    );
    let new_pid = main_pid(h, "miraclemax-self-heal.service");
    assert_eq!(daemon_pid, new_pid, "reloaded, not restarted");
    wait_until(
        Duration::from_secs(15),
        "the daemon to watch the new service",
        || {
            h.ssh_ok(&["miraclemax-status", "--json"])
                .map(|s| s.contains("second.service is active"))
                .unwrap_or(false)
        },
    );
    h.ssh_ok(&["systemctl", "stop", "second.service"]).unwrap();
    smtp.wait_for("✅ MiracleMax: second - RESOLVED", Duration::from_secs(30));
}

#[test]
fn a_check_run_on_a_clean_host_reports_the_changes_and_makes_none() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let h = tb.host(0);
    let hc = Healthchecks::start(IpAddr::V4(h.gateway())).unwrap();
    let inv = inventory(tb.hosts());
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let out = playbook(
        &inv,
        "deploy-complete-monitoring.yml",
        &[
            "-e",
            &api_url,
            "--vault-password-file",
            password.to_str().unwrap(),
            "--check",
            "--diff",
        ],
    );
    let text = succeeded(&out);
    assert!(!text.contains(API_KEY));
    let r = recap(&out);
    assert!(r[0].1 > 0, "the changes are reported: {text}");
    assert_eq!(hc.writes(), 0, "no check is created");
    for path in [
        "/etc/miraclemax",
        "/usr/local/bin/miraclemax-self-heal",
        "/usr/local/bin/miraclemax-heartbeat",
        "/etc/systemd/system/miraclemax-self-heal.service",
        "/etc/logrotate.d/miraclemax-heartbeat",
        "/var/spool/cron/crontabs/root",
    ] {
        assert!(
            !h.ssh(&["test", "-e", path]).unwrap().status.success(),
            "{path} was not made"
        );
    }
    // The one thing a check run puts on a host, as the binaries role documents: the modules the
    // roles run there to show what would change, off PATH.
    let modules = h.ssh(&["ls", "/usr/local/lib/miraclemax/ansible"]).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&modules.stdout)
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "agent_config",
            "drill",
            "healthchecks_check",
            "maintenance",
            "stack_facts"
        ]
    );
}

#[test]
fn the_heartbeat_alone_on_a_new_host_says_what_to_deploy_first_and_a_removed_smtp_password_leaves_the_host()
 {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let h = tb.host(0);
    let hc = Healthchecks::start(IpAddr::V4(h.gateway())).unwrap();
    let inv = inventory(tb.hosts());
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let pw = ["--vault-password-file", password.to_str().unwrap()];

    // The heartbeat layer alone, on a host without the self-healing layer: stopped at once,
    // before any check is created, saying what to deploy.
    let alone = playbook(
        &inv,
        "deploy-healthchecks.yml",
        &[&["-e", &api_url][..], &pw[..]].concat(),
    );
    let text = String::from_utf8_lossy(&alone.stdout);
    assert!(!alone.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "{} has no self-healing layer yet (/etc/miraclemax/config.yaml, \
             /usr/local/bin/miraclemax-self-heal missing)",
            h.name
        )) && text.contains("mmctl deploy --only self-healing"),
        "{text}"
    );
    assert_eq!(hc.writes(), 0, "no check was created");

    // With an SMTP password, the role installs it root-only; taken out of the inventory, the
    // next deploy removes it, and the configuration no longer names it.
    let login = format!(
        "{{\"self_healing_smtp_password\": \"correct-horse\", \"self_healing_email\": \
         {{\"smtp_host\": \"{}\", \"smtp_port\": {}, \"tls\": \"none\", \
         \"from\": \"miraclemax@example.org\", \"to\": [\"ops@example.org\"], \"username\": \"mm\"}}}}",
        h.gateway(),
        mm_testbed::smtp::SMTP_PORT
    );
    let with = playbook(
        &inv,
        "deploy-self-healing.yml",
        &[&["-e", login.as_str()][..], &pw[..]].concat(),
    );
    succeeded(&with);
    assert_eq!(
        h.ssh_ok(&["stat", "-c", "%a %U", "/etc/miraclemax/smtp-password"])
            .unwrap()
            .trim(),
        "600 root"
    );
    assert!(
        h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"])
            .unwrap()
            .contains("/etc/miraclemax/smtp-password")
    );
    let without = playbook(&inv, "deploy-self-healing.yml", &pw);
    succeeded(&without);
    assert!(
        !h.ssh(&["test", "-e", "/etc/miraclemax/smtp-password"])
            .unwrap()
            .status
            .success(),
        "the password file is gone"
    );
    assert!(
        !h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"])
            .unwrap()
            .contains("smtp-password")
    );
    assert_eq!(is_active(h, "miraclemax-self-heal.service"), "active");

    refuses_a_period_and_grace_shorter_than_crons_gap(h, &inv, &api_url, &pw, &hc);

    // Now the heartbeat layer deploys.
    let heartbeat = playbook(
        &inv,
        "deploy-healthchecks.yml",
        &[&["-e", &api_url][..], &pw[..]].concat(),
    );
    succeeded(&heartbeat);
    assert!(hc.checks().iter().any(|c| c.slug == h.name));
}

/// A period and grace shorter than cron's gap between two heartbeat runs (every five minutes by
/// default) would report every check DOWN between runs: the deploy refuses it, before any
/// check is made.
fn refuses_a_period_and_grace_shorter_than_crons_gap(
    h: &mm_testbed::Host,
    inv: &std::path::Path,
    api_url: &str,
    pw: &[&str],
    hc: &Healthchecks,
) {
    let too_short = playbook(
        inv,
        "deploy-healthchecks.yml",
        &[
            &[
                "-e",
                api_url,
                "-e",
                "heartbeat_timeout=60",
                "-e",
                "heartbeat_grace=60",
            ][..],
            pw,
        ]
        .concat(),
    );
    let text = String::from_utf8_lossy(&too_short.stdout);
    assert!(!too_short.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "{}: heartbeat_cron_minute (*/5) runs the heartbeat up to 5 minutes apart, but a \
             check goes DOWN 60 s (heartbeat_timeout) + 60 s (heartbeat_grace) after its last ping",
            h.name
        )),
        "{text}"
    );
    assert_eq!(hc.writes(), 0, "no check was created");
}
