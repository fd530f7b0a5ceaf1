//! The user's coverage matrix, proven by fault injection. Nine test hosts are deployed at once
//! with the real playbook (deploy-complete-monitoring.yml: self-healing and heartbeat, checks
//! created through the Healthchecks stand-in's Management API with a 60 s period and 60 s
//! grace, heartbeat every minute, reports to a real SMTP server that requires a login). Then
//! each host gets its own faults, all at once, and each scenario returns the row it saw:
//! every row of the user's table, plus the added ones. With `MM_WRITE_RESULTS=1` the rows are
//! kept in results/failure-modes/ and docs/failure-modes.md is rendered from them. Last, every
//! output, journal, log, email, state file and module result of the whole run is searched for
//! the secrets (SMTP password, API key, the ping URLs' keys): none may appear. The hosts
//! alternate between Debian 12 and Debian 13.

pub(crate) mod certs;
mod healer;
pub(crate) mod host;
pub(crate) mod lab;
mod layer1;
mod layer2;
mod reporting;
pub(crate) mod rules;
mod secrets;

use crate::ansible_deploy::{inventory, playbook, succeeded, vault};
use crate::support::{D12, D13};
use lab::Lab;
use mm_testbed::Testbed;
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use mm_testbed::matrix::{self, Row};
use mm_testbed::smtp::Smtp;
use std::net::IpAddr;
use std::path::Path;

pub const SMTP_USER: &str = "mm-alerts";
pub const SMTP_PASSWORD: &str = "smtp-Pa55-4b1d9e7c0a";

/// The roles of the nine hosts, in order.
const SCENARIOS: [&str; 9] = [
    "app crash, port conflict, memory leak, CPU spin",
    "config error, restart loop, incidents at once, check command fails and hangs",
    "self-heal bug",
    "systemd hang",
    "server crash",
    "power outage",
    "network down",
    "SMTP down",
    "Healthchecks slow",
];

/// A service with its own config file (/etc/NAME.conf: `port = N`): a bad file is reported on
/// stderr and it exits 78, as real daemons do; SIGUSR1 makes it exit 1, as its own fatal
/// error would.
const APP: &str = r#"#!/usr/bin/python3
import http.server, os, signal, socket, sys
name = sys.argv[1]
path = "/etc/%s.conf" % name
key, _, value = open(path).read().strip().partition("=")
if key.strip() != "port" or not value.strip().isdigit():
    print("%s: %s line 1: %r is not a port number" % (name, path, value.strip()), file=sys.stderr, flush=True)
    sys.exit(78)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("0.0.0.0", int(value)), Handler)
signal.signal(signal.SIGUSR1, lambda *a: os._exit(1))
addr = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("\0" + addr[1:] if addr[0] == "@" else addr)
s.send(b"READY=1")
server.serve_forever()
"#;

fn unit(exec: &str) -> String {
    format!(
        "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=notify\nNotifyAccess=main\nExecStart={exec}\n"
    )
}

/// /usr/local/bin/mm-fm-NAME holding `script`, run by NAME.service (a simple service).
fn install(host: &mm_testbed::Host, name: &str, script: &str) {
    let bin = format!("/usr/local/bin/mm-fm-{name}");
    host.write(&bin, script).unwrap();
    host.ssh_ok(&["chmod", "755", &bin]).unwrap();
    host.write(
        &format!("/etc/systemd/system/{name}.service"),
        &format!("[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart={bin}\n"),
    )
    .unwrap();
}

/// Units and files the first two hosts' services need, before the deploy watches them.
fn prepare(host: &mm_testbed::Host, i: usize) -> String {
    let mut services = String::new();
    let svc = |name: &str, extra: &str| format!("  - {{name: {name}, critical: false{extra}}}\n");
    let write = |path: &str, text: &str| host.write(path, text).unwrap();
    if i == 0 || i == 1 {
        write("/usr/local/bin/mm-fm-app", APP);
        host.ssh_ok(&["chmod", "755", "/usr/local/bin/mm-fm-app"])
            .unwrap();
    }
    let mut units = Vec::new();
    if i == 0 {
        write("/etc/shop.conf", "port = 8090\n");
        write(
            "/etc/systemd/system/shop.service",
            &unit("/usr/local/bin/mm-fm-app shop"),
        );
        units.push("shop.service".to_string());
        services.push_str(&svc("shop", ", port: 8090, health: {path: /health}"));
        for (name, script) in [("leaky", rules::LEAKY), ("spinner", rules::SPINNER)] {
            install(host, name, script);
            units.push(format!("{name}.service"));
        }
        services.push_str(rules::RULED);
        host::mount_data(host);
    }
    if i == 1 {
        write("/etc/billing.conf", "port = 8091\n");
        write(
            "/etc/systemd/system/billing.service",
            &unit("/usr/local/bin/mm-fm-app billing"),
        );
        write(
            "/etc/systemd/system/looper.service",
            "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c 'if [ -e /run/looper-broken ]; then sleep 4; exit 3; fi; exec sleep infinity'\n",
        );
        units.extend(["billing.service".into(), "looper.service".into()]);
        install(host, "queue", rules::QUEUE);
        write("/usr/local/bin/mm-queue-ping", rules::QUEUE_PING);
        host.ssh_ok(&["chmod", "755", "/usr/local/bin/mm-queue-ping"])
            .unwrap();
        units.push("queue.service".into());
        services.push_str(rules::CHECKED);
        certs::install(host);
        services.push_str(certs::SERVICES);
        // Critical: while it is FAILED the heartbeat escalates it.
        services.push_str(
            "  - {name: billing, port: 8091, healing_strategies: [service_restart, reset_failed]}\n",
        );
        services.push_str(&svc("looper", ""));
        for n in 1..=10 {
            let name = format!("app{n:02}");
            write(
                &format!("/etc/systemd/system/{name}.service"),
                &unit(
                    "/usr/bin/python3 -S -c \"import os, socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a = os.environ['NOTIFY_SOCKET']; s.connect('\\\\0' + a[1:] if a[0] == '@' else a); s.send(b'READY=1'); time.sleep(1e9)\"",
                ),
            );
            units.push(format!("{name}.service"));
            services.push_str(&svc(&name, ""));
        }
    }
    if !units.is_empty() {
        host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
        let mut start = vec!["systemctl", "start"];
        start.extend(units.iter().map(String::as_str));
        host.ssh_ok(&start).unwrap();
    }
    services
}

/// host_vars/NAME.yml: reports with an SMTP login, the heartbeat every minute against a check
/// of period 60 s and grace 60 s, and each host's own services and limits.
fn host_vars(host: &mm_testbed::Host, i: usize, services: &str) -> String {
    let mut v = format!(
        "self_healing_email:\n  smtp_host: \"{gw}\"\n  smtp_port: {port}\n  tls: none\n  username: {SMTP_USER}\n  \
         from: \"miraclemax@{name}.test\"\n  to: [ops@example.org]\n\
         healthchecks_timeout: {period}\nhealthchecks_grace: {grace}\nhealthchecks_cron_minute: \"*\"\n",
        gw = host.gateway(),
        port = mm_testbed::smtp::SMTP_PORT,
        name = host.name,
        period = layer2::PERIOD,
        grace = layer2::GRACE,
    );
    if !services.is_empty() {
        v.push_str(&format!(
            "monitored_services:\n  - {{name: example, port: 8080, domain: example.lab.test, critical: true, \
             healing_strategies: [service_restart, port_conflict, kill_hung], health: {{path: /health}}}}\n{services}"
        ));
    }
    match i {
        0 => v.push_str(&format!(
            "self_healing_host_checks: {}\n",
            host::HOST_CHECKS
        )),
        1 => v.push_str(
            "self_healing_limits: {check_interval: 2s, settle_time: 1s, heal_window: 60s}\n",
        ),
        8 => v.push_str("healthchecks_deadline: 100s\n"),
        _ => {}
    }
    v
}

#[test]
#[allow(clippy::too_many_lines)] // the coverage matrix, one row per failure mode, read as the generated table
fn the_coverage_matrix_holds_on_real_hosts() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The scenarios alternate between Debian 12 and Debian 13 hosts, so each layer's faults
    // strike both releases.
    let releases: Vec<_> = (0..SCENARIOS.len())
        .map(|i| if i % 2 == 0 { D12 } else { D13 })
        .collect();
    let mut tb = Testbed::start_on(&releases).unwrap();
    // On the first host's gateway, which no scenario cuts off.
    let hc = Healthchecks::start(IpAddr::V4(tb.host(0).gateway())).unwrap();
    let mut smtps: Vec<Smtp> = tb
        .hosts()
        .iter()
        .map(|h| Smtp::start_with_auth(h.gateway(), SMTP_USER, SMTP_PASSWORD).unwrap())
        .collect();

    let inv = inventory(tb.hosts());
    std::fs::create_dir_all(inv.join("host_vars")).unwrap();
    for (i, h) in tb.hosts().iter().enumerate() {
        let services = prepare(h, i);
        std::fs::write(
            inv.join(format!("host_vars/{}.yml", h.name)),
            host_vars(h, i, &services),
        )
        .unwrap();
    }
    let password = vault(
        &inv,
        &format!("vault_healthchecks_api_key: {API_KEY}\nvault_smtp_password: {SMTP_PASSWORD}\n"),
    );
    let api_url = format!("heartbeat_api_url={}", hc.api_url);
    let deploy = playbook(
        &inv,
        "deploy-complete-monitoring.yml",
        &[
            "-v",
            "-f",
            "10",
            "-e",
            &api_url,
            "--vault-password-file",
            password.to_str().unwrap(),
        ],
    );
    let deploy_output = format!(
        "{}{}",
        succeeded(&deploy),
        String::from_utf8_lossy(&deploy.stderr)
    );
    // Reports log in with the password the role installed (every scenario's email proves it).
    for h in tb.hosts() {
        let config = h.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"]).unwrap();
        assert!(
            config.contains("\"password_file\":\"/etc/miraclemax/smtp-password\""),
            "{config}"
        );
        let mode = h
            .ssh_ok(&["stat", "-c", "%a %U", "/etc/miraclemax/smtp-password"])
            .unwrap();
        assert_eq!(mode.trim(), "600 root");
    }

    let checks = hc.checks();
    let mut labs: Vec<Lab> = tb
        .hosts_mut()
        .iter_mut()
        .zip(smtps.drain(..))
        .map(|(host, smtp)| {
            let uuid = checks
                .iter()
                .find(|c| c.slug == host.name)
                .map(|c| c.uuid.clone())
                .unwrap_or_else(|| panic!("{}: no server check", host.name));
            Lab {
                host,
                smtp,
                hc: &hc,
                uuid,
            }
        })
        .collect();

    let results: Vec<(usize, Result<Vec<Row>, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = labs
            .iter_mut()
            .enumerate()
            .map(|(i, lab)| {
                s.spawn(move || {
                    let rows = match i {
                        0 => layer1::app_crash(lab).and_then(|a| {
                            Ok(vec![
                                a,
                                layer1::port_conflict(lab)?,
                                rules::memory_leak(lab)?,
                                rules::cpu_spin(lab)?,
                                host::disk_full(lab)?,
                            ])
                        }),
                        1 => layer1::config_error(lab).and_then(|a| {
                            let mut rows = vec![
                                a,
                                layer1::restart_loop(lab)?,
                                layer1::incidents_at_once(lab)?,
                            ];
                            rows.extend(rules::check_command(lab)?);
                            rows.push(certs::certificate_expiring(lab)?);
                            Ok(rows)
                        }),
                        2 => healer::self_heal_bug(lab).map(|r| vec![r]),
                        3 => layer2::systemd_hang(lab).map(|r| vec![r]),
                        4 => layer2::server_crash(lab).map(|r| vec![r]),
                        5 => layer2::power_outage(lab).map(|r| vec![r]),
                        6 => layer2::network_down(lab).map(|r| vec![r]),
                        7 => reporting::smtp_down(lab).map(|r| vec![r]),
                        _ => reporting::healthchecks_slow(lab).map(|r| vec![r]),
                    };
                    (i, rows.map_err(|e| format!("{e:#}")))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut failures = Vec::new();
    for (i, rows) in results {
        match rows {
            Ok(rows) => {
                for row in rows {
                    matrix::record(repo, &row).unwrap();
                }
            }
            Err(e) => failures.push(format!("{} ({}): {e}", labs[i].name(), SCENARIOS[i])),
        }
    }
    let leaks = secrets::sweep(&labs, &hc, &inv, &password, &deploy_output);
    assert!(
        failures.is_empty() && leaks.is_empty(),
        "scenarios failed:\n{}\nsecrets found:\n{}",
        failures.join("\n"),
        leaks.join("\n")
    );
}
