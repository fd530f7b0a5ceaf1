//! Deploy windows from Ansible: a user's own play, run by the project's ansible-playbook over
//! SSH, puts `miraclemax.stack.maintenance` around an app deploy. Between `paused` and
//! `resumed` the app is stopped and nothing heals or reports it; a play that fails in between
//! leaves healing off only until the pause ends, and then the still-down app is healed and
//! reported as any incident.

use crate::ansible_deploy::inventory;
use crate::support::*;
use mm_testbed::{Host, Testbed};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";
const FAILED: &str = "❌ MiracleMax: example - FAILED";

/// The daemon watching `example`, reporting to an SMTP server of the test's own, and the
/// maintenance module where the collection's dispatcher runs it (as the binaries role puts it).
fn host_with_daemon(h: &Host) -> Smtp {
    let smtp = Smtp::start(h.gateway());
    install_daemon(h, &test_config(h, EXAMPLE));
    let exe = modules()
        .into_iter()
        .find(|(n, _)| *n == "maintenance")
        .unwrap()
        .1;
    h.ssh_ok(&["mkdir", "-p", "/usr/local/lib/miraclemax/ansible"])
        .unwrap();
    h.copy(&exe, "/usr/local/lib/miraclemax/ansible/maintenance")
        .unwrap();
    h.ssh_ok(&[
        "chmod",
        "755",
        "/usr/local/lib/miraclemax/ansible/maintenance",
    ])
    .unwrap();
    smtp
}

/// A user's deploy play: `tasks` between a pause of `example` for `pause_for` and a resume.
fn deploy_play(h: &Host, pause_for: &str, tasks: &str) -> (PathBuf, PathBuf) {
    let inv = inventory(std::slice::from_ref(h));
    let play = inv.with_extension("deploy.yml");
    std::fs::write(
        &play,
        format!(
            "- name: Deploy the example app\n  hosts: all\n  become: true\n  gather_facts: false\n  \
             pre_tasks:\n    - name: Pause self-healing of example for the deploy\n      \
             miraclemax.stack.maintenance:\n        state: paused\n        services: [example]\n        \
             for: {pause_for}\n  tasks:\n{tasks}  post_tasks:\n    - name: Resume self-healing of example\n      \
             miraclemax.stack.maintenance:\n        state: resumed\n        services: [example]\n"
        ),
    )
    .unwrap();
    (inv, play)
}

fn run_play(inv: &Path, play: &Path) -> Output {
    ansible("ansible-playbook")
        .args(["-i", inv.to_str().unwrap(), play.to_str().unwrap()])
        .output()
        .expect("scripts/install-deps puts ansible-core into .venv")
}

const STOP_WAIT_START: &str = "    - name: Stop the app\n      ansible.builtin.systemd_service:\n        \
    name: example\n        state: stopped\n    - name: Upgrade it (as long as a deploy takes)\n      \
    ansible.builtin.pause:\n        seconds: 12\n    - name: Start the app\n      \
    ansible.builtin.systemd_service:\n        name: example\n        state: started\n";

#[test]
fn a_play_that_stops_the_app_between_paused_and_resumed_ends_with_no_heal_and_no_report() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let h = tb.host(0);
    let smtp = host_with_daemon(h);
    let (inv, play) = deploy_play(h, "10m", STOP_WAIT_START);
    let out = run_play(&inv, &play);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("changed=4"),
        "pause, stop, start, resume: {text}"
    );
    assert_eq!(is_active(h, "example.service"), "active");
    // Time for a late heal or report to show: there is none.
    std::thread::sleep(Duration::from_secs(5));
    let events = events(h, "example");
    assert!(
        !events.iter().any(|e| e == "detected" || e == "resolved"),
        "{events:?}"
    );
    assert_eq!((smtp.count(RESOLVED), smtp.count(FAILED)), (0, 0));
    let nrestarts = h
        .ssh_ok(&["systemctl", "show", "-P", "NRestarts", "example.service"])
        .unwrap();
    assert_eq!(nrestarts.trim(), "0");
    let status = h.ssh_ok(&["miraclemax-status"]).unwrap();
    assert!(!status.contains("paused until"), "{status}");
}

#[test]
fn a_play_that_fails_after_stopping_the_app_leaves_healing_paused_only_until_the_pause_ends() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let h = tb.host(0);
    let smtp = host_with_daemon(h);
    let tasks = "    - name: Stop the app\n      ansible.builtin.systemd_service:\n        \
                 name: example\n        state: stopped\n    - name: Break the deploy\n      \
                 ansible.builtin.fail:\n        msg: the new release does not install\n";
    let (inv, play) = deploy_play(h, "20s", tasks);
    let out = run_play(&inv, &play);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("the new release does not install"), "{text}");
    assert!(
        !text.contains("Resume self-healing"),
        "never resumed: {text}"
    );

    // Paused, and every view says so.
    let end: u64 = h
        .ssh_ok(&["cat", "/var/lib/miraclemax/control/pause-example"])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let status = h.ssh_ok(&["miraclemax-status"]).unwrap();
    assert!(status.contains("paused until"), "{status}");
    let json = h.ssh_ok(&["miraclemax-status", "--json"]).unwrap();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["services"][0]["healing"], "paused", "{json}");
    assert!(report["services"][0]["paused_until"].is_string(), "{json}");

    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    while now() + 1 < end {
        assert_eq!(
            is_active(h, "example.service"),
            "inactive",
            "not healed while paused"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The pause ends by itself: healed and reported like any incident.
    let mail = smtp.wait_for(RESOLVED, Duration::from_secs(30));
    assert!(now() >= end, "reported only after the pause ended");
    assert!(
        mail.body.contains("Detected example was inactive"),
        "{}",
        mail.body
    );
    assert_eq!(is_active(h, "example.service"), "active");
    assert_eq!(smtp.count(RESOLVED), 1);
}
