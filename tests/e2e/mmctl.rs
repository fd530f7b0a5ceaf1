//! `mmctl` against hosts the real playbooks deployed: what it says a host receives is what the
//! host got.

use crate::ansible_deploy::{inventory, playbook, smtp_per_host, succeeded};
use crate::support::{BOTH, D13};
use mm_testbed::Testbed;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn mmctl(inv: &Path, args: &[&str]) -> String {
    let out = mm_testbed::mmctl()
        .arg("-i")
        .arg(inv)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mmctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn mmctl_render_is_byte_for_byte_the_config_the_playbook_wrote_on_each_host() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    let _smtp = smtp_per_host(&tb);
    let inv = inventory(tb.hosts());
    let [a, b] = tb.hosts() else {
        panic!("two hosts")
    };
    // Different host_vars per host: limits and a login for one, a second service (with
    // characters JSON must escape) and protected processes for the other.
    std::fs::create_dir_all(inv.join("host_vars")).unwrap();
    std::fs::write(
        inv.join(format!("host_vars/{}.yml", a.name)),
        "self_healing_limits:\n  check_interval: 3s\n  heal_attempts: 4\nself_healing_ssh_target: admin@a.example.org\n",
    )
    .unwrap();
    std::fs::write(
        inv.join(format!("host_vars/{}.yml", b.name)),
        "# the second host also watches a copy of the app\nmonitored_services:\n  - name: example\n    port: 8080\n    \
         healing_strategies: [service_restart]\n  - name: second\n    port: 8081\n    domain: beta.example.org\n    \
         health: {url: 'http://127.0.0.1:8081/health?x=\"1\"'}\nself_healing_protected_processes: [python3, \"my app\"]\nself_healing_host_name: \"B\\u00fcro \\\"2\\\"\"\n",
    )
    .unwrap();
    crate::support::start_second_service(b);
    succeeded(&playbook(&inv, "deploy-self-healing.yml", &[]));

    let mut rendered = Vec::new();
    for h in tb.hosts() {
        let ours = mmctl(
            &inv,
            &["render", &h.name, "--file", "/etc/miraclemax/config.yaml"],
        );
        let theirs = h.ssh(&["cat", "/etc/miraclemax/config.yaml"]).unwrap();
        assert_eq!(
            ours,
            String::from_utf8(theirs.stdout).unwrap(),
            "{}",
            h.name
        );
        rendered.push(ours);
    }
    assert!(
        rendered[0].contains("\"heal_attempts\":4") && rendered[0].contains("admin@a.example.org")
    );
    assert!(
        rendered[1].contains("\"name\":\"second\"")
            && rendered[1].contains("host: \"Büro \\\"2\\\"\"\n")
    );
    assert!(
        rendered[1].contains("protected_processes: [\"python3\",\"my app\"]"),
        "{}",
        rendered[1]
    );
    // The unit too is the role's own file.
    let unit = mmctl(
        &inv,
        &[
            "render",
            &a.name,
            "--file",
            "/etc/systemd/system/miraclemax-self-heal.service",
        ],
    );
    let on_host = a
        .ssh(&["cat", "/etc/systemd/system/miraclemax-self-heal.service"])
        .unwrap();
    assert_eq!(unit.as_bytes(), on_host.stdout.as_slice());
}

pub(crate) fn mmctl_out(inv: &Path, args: &[&str]) -> std::process::Output {
    mm_testbed::mmctl()
        .arg("-i")
        .arg(inv)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ANSIBLE_COLLECTIONS_PATH", crate::support::collections())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn mmctl_init_add_service_and_deploy_make_the_daemon_heal_it_and_status_shows_the_fleet() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    let _smtp = smtp_per_host(&tb);
    let [a, b] = tb.hosts() else {
        panic!("two hosts")
    };
    // A first inventory from mmctl init, a second server added to hosts.yml by hand as the
    // file says, and the test hosts' specifics beside the user's settings.
    let inv = std::env::temp_dir().join(format!("mm-mmctl-init-{}-{}", std::process::id(), a.name));
    let _ = std::fs::remove_dir_all(&inv);
    let address = a.address().to_string();
    let init = mmctl_out(
        &inv,
        &[
            "init",
            inv.to_str().unwrap(),
            "--host",
            &a.name,
            "--address",
            &address,
            "--user",
            "root",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let hosts = std::fs::read_to_string(inv.join("hosts.yml"))
        .unwrap()
        .replacen(
            "  vars:\n",
            &format!(
                "    {}:\n      ansible_host: {}\n  vars:\n",
                b.name,
                b.address()
            ),
            1,
        );
    std::fs::write(inv.join("hosts.yml"), hosts).unwrap();
    std::fs::write(
        inv.join("group_vars/miraclemax/testbed.yml"),
        mm_testbed::deploy::testbed_vars(None),
    )
    .unwrap();
    // Both hosts watch the example app.
    let add = mmctl_out(
        &inv,
        &[
            "add-service",
            "example",
            "--port",
            "8080",
            "--critical",
            "--health-path",
            "/health",
            "--strategy",
            "service_restart",
            "--strategy",
            "port_conflict",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The test hosts' binaries come from this build.
    let bin_dir = format!("self_healing_bin_dir={}", mm_testbed::dist_dir().display());
    let first = mmctl_out(&inv, &["deploy", "--only", "self-healing", "-e", &bin_dir]);
    assert!(
        first.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    crate::support::start_second_service(a);
    crate::support::start_second_service(b);

    // One command adds the service, one deploys it.
    let add = mmctl_out(
        &inv,
        &[
            "add-service",
            "second",
            "--port",
            "8081",
            "--critical",
            "--strategy",
            "service_restart",
        ],
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The hosts in mmctl's order (by name), whichever slots the testbed gave them.
    let mut both = [a.name.as_str(), b.name.as_str()];
    both.sort();
    assert!(
        String::from_utf8_lossy(&add.stdout).contains(&format!("(reaches: {})", both.join(", "))),
        "{}{}",
        String::from_utf8_lossy(&add.stdout),
        String::from_utf8_lossy(&add.stderr)
    );
    let deploy = mmctl_out(&inv, &["deploy", "--only", "self-healing", "-e", &bin_dir]);
    let text = String::from_utf8_lossy(&deploy.stdout);
    assert!(
        deploy.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&deploy.stderr)
    );
    assert!(
        text.contains(&format!("mmctl: {}: changed (", a.name)),
        "{text}"
    );
    let config = a.ssh_ok(&["cat", "/etc/miraclemax/config.yaml"]).unwrap();
    assert!(config.contains("\"name\":\"second\""), "{config}");
    // The daemon watches it: stopped, it is healed.
    crate::support::wait_until(Duration::from_secs(20), "the daemon watches second", || {
        a.ssh_ok(&["miraclemax-status", "--json"])
            .is_ok_and(|s| s.contains("\"second\""))
    });
    a.ssh_ok(&["systemctl", "stop", "second.service"]).unwrap();
    crate::support::wait_until(Duration::from_secs(20), "second healed", || {
        crate::support::is_active(a, "second.service") == "active"
    });

    // The user guide's "Test Self-Healing", in one command.
    let drill = mmctl_out(&inv, &["test", "heal", &a.name, "example"]);
    let report = String::from_utf8_lossy(&drill.stdout);
    assert!(
        drill.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&drill.stderr)
    );
    assert!(
        report.contains("stopped example.service; miraclemax-self-heal healed it in"),
        "{report}"
    );
    assert!(report.contains("RESOLVED email: sent"), "{report}");
    // The history, from the host's journal.
    let logs = mmctl_out(&inv, &["logs", &a.name, "--service", "example"]);
    let history = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.status.success(),
        "{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert!(history.lines().any(|l| l.contains("example:")), "{history}");
    assert!(
        !history.contains("second:"),
        "only example's history: {history}"
    );
    // Maintenance: paused, a stopped service stays stopped; resumed, it is healed.
    let pause = mmctl_out(&inv, &["pause", &a.name, "example", "--for", "10m"]);
    let said = String::from_utf8_lossy(&pause.stdout);
    assert!(
        said.contains("healing of example paused until"),
        "{said}{}",
        String::from_utf8_lossy(&pause.stderr)
    );
    a.ssh_ok(&["systemctl", "stop", "example.service"]).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        crate::support::is_active(a, "example.service"),
        "inactive",
        "paused: not healed"
    );
    let resume = mmctl_out(&inv, &["resume", &a.name, "example"]);
    assert!(String::from_utf8_lossy(&resume.stdout).contains("healing of example resumed"));
    crate::support::wait_until(
        Duration::from_secs(20),
        "example healed after resume",
        || crate::support::is_active(a, "example.service") == "active",
    );

    // The fleet table: both hosts; then with b powered off, b is a row that says so.
    let status = mmctl_out(&inv, &["status"]);
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for h in [a, b] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&h.name) && l.contains(" ok ") && l.contains("active")),
            "{table}"
        );
    }
    assert!(table.contains("2/2 active"), "{table}");
    let _ = b.ssh(&["systemctl", "poweroff"]);
    crate::support::wait_until(Duration::from_secs(30), "b is off", || {
        b.ssh(&["true"]).is_ok_and(|o| !o.status.success())
    });
    let status = mmctl_out(&inv, &["status", "--json"]);
    assert_eq!(status.status.code(), Some(1), "a host needs attention");
    let rows: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let row = |h: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["host"] == h)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&a.name)["state"], "ok", "{rows}");
    assert_eq!(row(&b.name)["state"], "unreachable", "{rows}");
}

#[test]
fn mmctl_reaches_hosts_as_ansible_does_and_a_changed_host_key_is_an_error() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let h = tb.host(0);
    let inv = inventory(tb.hosts());
    // The user's own known_hosts, with host-key checking on, set for this host as a user would.
    let known = inv.with_extension("known_hosts");
    let scan = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", &h.address().to_string()])
        .output()
        .unwrap();
    let real = String::from_utf8(scan.stdout).unwrap();
    assert!(real.contains("ssh-ed25519"), "ssh-keyscan: {real}");
    std::fs::write(&known, &real).unwrap();
    std::fs::create_dir_all(inv.join("host_vars")).unwrap();
    std::fs::write(
        inv.join(format!("host_vars/{}.yml", h.name)),
        format!(
            "ansible_ssh_common_args: -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}\n",
            known.display()
        ),
    )
    .unwrap();
    let row = |out: std::process::Output| -> serde_json::Value {
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        rows[0].clone()
    };
    // The right key: reached (nothing deployed on it yet).
    let ok = row(mmctl_out(&inv, &["status", "--json"]));
    assert_eq!(ok["state"], "not installed", "{ok}");
    // Another key for the same address: the host is a row that says why, nothing else runs.
    let other = std::env::temp_dir().join(format!("mm-other-key-{}", std::process::id()));
    let _ = std::fs::remove_file(&other);
    let _ = std::fs::remove_file(other.with_extension("pub"));
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let key = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(&known, format!("{} {key}\n", h.address())).unwrap();
    // A new connection (Ansible keeps one open for a minute after each run, with the key it
    // checked then; a host whose key changed was reinstalled, so that one is gone too).
    let fresh = std::env::temp_dir().join(format!("mm-cp-{}", std::process::id()));
    std::fs::create_dir_all(&fresh).unwrap();
    let out = mm_testbed::mmctl()
        .arg("-i")
        .arg(&inv)
        .args(["status", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ANSIBLE_COLLECTIONS_PATH", crate::support::collections())
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", &fresh)
        .output()
        .unwrap();
    let changed = row(out);
    assert_eq!(changed["state"], "unreachable", "{changed}");
    let why = changed["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("Host key verification failed")
            || why.contains("HOST IDENTIFICATION HAS CHANGED"),
        "{changed}"
    );
}
