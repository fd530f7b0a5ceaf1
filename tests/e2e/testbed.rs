//! The testbed itself: real Debian 12 and Debian 13 hosts under systemd-nspawn, each the release
//! it was asked for, with the logins the inventories use, reached over SSH, and torn down without
//! a trace, also when a test fails midway or its process is killed.

use crate::support::{BOTH, D12, D13};
use mm_testbed::{Host, Release, SUDO_PASSWORD, Testbed};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn is_active(tb: &Testbed, i: usize) -> String {
    let out = tb
        .host(i)
        .ssh(&["systemctl", "is-active", "example.service"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn two_hosts_boot_and_stopping_a_service_on_one_leaves_the_other_running() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    assert_eq!(is_active(&tb, 0), "active");
    assert_eq!(is_active(&tb, 1), "active");

    tb.host(0)
        .ssh_ok(&["systemctl", "stop", "example.service"])
        .unwrap();
    assert_eq!(is_active(&tb, 0), "inactive");
    assert_eq!(is_active(&tb, 1), "active");

    // Each host is its own machine on its own network, answering on the example app's port.
    let names: Vec<String> = tb
        .hosts()
        .iter()
        .map(|h| h.ssh_ok(&["hostname"]).unwrap().trim().to_string())
        .collect();
    assert_ne!(names[0], names[1]);
    let health = tb
        .host(1)
        .ssh_ok(&["curl", "-fsS", "http://127.0.0.1:8080/health"])
        .unwrap();
    assert_eq!(health, "ok\n");
}

/// The fields of /etc/os-release the host was asked to be.
fn assert_is_release(host: &Host, release: Release) {
    assert_eq!(host.release, release);
    let text = host.ssh_ok(&["cat", "/etc/os-release"]).unwrap();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("no {key} in /etc/os-release: {text}"))
    };
    assert_eq!(field("ID"), "debian", "{text}");
    assert_eq!(field("VERSION_ID"), release.version(), "{text}");
    assert_eq!(field("VERSION_CODENAME"), release.suite(), "{text}");
}

#[test]
fn a_debian_12_host_is_debian_12_by_its_os_release() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    assert_is_release(tb.host(0), Release::Bookworm);
}

#[test]
fn a_debian_13_host_is_debian_13_by_its_os_release() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    assert_is_release(tb.host(0), Release::Trixie);
}

#[test]
fn a_mixed_fleet_gets_each_host_the_release_asked_for_and_plain_start_boots_debian_13() {
    let tb = Testbed::start_on(&[D13, D12]).unwrap();
    assert_is_release(tb.host(0), Release::Trixie);
    assert_is_release(tb.host(1), Release::Bookworm);
    let tb = Testbed::start(1).unwrap();
    assert_is_release(tb.host(0), Release::Trixie);
}

/// Runs a command on the host logged in as `user` with the testbed's key, as Ansible does;
/// `input` is its stdin.
fn ssh_as(host: &Host, user: &str, command: &str, input: &str) -> std::process::Output {
    let mut child = Command::new("ssh")
        .args(host.ssh_options())
        .arg(format!("{user}@{}", host.address()))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn every_host_has_the_inventories_logins_deploy_with_sudo_and_ops_with_a_sudo_password() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    for h in tb.hosts() {
        let at = format!("{} ({})", h.name, h.release);
        let out = ssh_as(h, "deploy", "sudo -n id -un", "");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "root\n",
            "{at}: {out:?}"
        );

        let out = ssh_as(h, "ops", "sudo -n id -un", "");
        assert!(!out.status.success(), "{at}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("a password is required"),
            "{at}: {out:?}"
        );
        let out = ssh_as(
            h,
            "ops",
            "sudo -S -p '' id -un",
            &format!("{SUDO_PASSWORD}\n"),
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "root\n",
            "{at}: {out:?}"
        );

        // Keys only: no login takes a password.
        let out = Command::new("ssh")
            .args(h.ssh_options())
            .args(["-o", "PreferredAuthentications=password"])
            .arg(format!("ops@{}", h.address()))
            .arg("true")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{at}: {out:?}");
    }
}

#[test]
fn every_suite_boots_hosts_of_both_releases() {
    // Each suite names where its hosts run (D12, D13, BOTH), so that this tier, run once,
    // tests every suite on Debian 12 and on Debian 13 (the table in docs/testbed.md).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        // A suite's own folder (failure_modes/) is part of it.
        if let Ok(sub) = std::fs::read_dir(path.with_extension("")) {
            for e in sub.flatten() {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !text.contains("Testbed::start") || name == "testbed.rs" {
            continue;
        }
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        if code.contains("Testbed::start(") {
            missing.push(format!("{name}: a host of the default release, not named"));
        }
        for (release, names) in [
            ("Debian 12", ["D12", "BOTH"]),
            ("Debian 13", ["D13", "BOTH"]),
        ] {
            if !names.iter().any(|n| code.contains(n)) {
                missing.push(format!("{name}: no host of {release}"));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}

#[test]
fn arguments_reach_the_host_exactly_as_given() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let out = tb
        .host(0)
        .ssh_ok(&["printf", "%s|", "a b", "it's", "$(hostname)", ";true"])
        .unwrap();
    assert_eq!(out, "a b|it's|$(hostname)|;true|");
}

#[test]
fn teardown_leaves_nothing_behind_when_a_test_fails_midway() {
    let result = std::panic::catch_unwind(|| {
        let tb = Testbed::start_on(&[D13]).unwrap();
        let slot = tb.host(0).net.slot;
        let running = Testbed::leftovers_of_slot(slot);
        assert!(!running.is_empty(), "a running host is visible");
        std::panic::panic_any((slot, running));
    });
    let (slot, running) = *result
        .expect_err("the test body panics")
        .downcast::<(u8, Vec<String>)>()
        .unwrap();
    match Testbed::hold_slot(slot).unwrap() {
        // Nobody can boot there while we look: nothing at all may be left.
        Some(_held) => assert_eq!(Testbed::leftovers_of_slot(slot), Vec::<String>::new()),
        // Another test of this process claimed the slot first: the host's processes are gone.
        None => assert_eq!(
            pids_in(&running)
                .into_iter()
                .filter(|p| miraclemax::probe::procs::alive(*p))
                .collect::<Vec<_>>(),
            Vec::<u32>::new()
        ),
    }
}

#[test]
fn hosts_left_by_a_killed_process_are_cleaned_up() {
    let mut child = Command::new(mm_testbed::workspace_bin("mm-testbed"))
        .args(["up", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut slot = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("lab") {
            slot = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u8>().ok());
        }
        if line.starts_with("hosts are up") {
            break;
        }
    }
    let slot = slot.expect("mm-testbed printed its host");
    child.kill().unwrap(); // SIGKILL: no teardown runs in that process
    child.wait().unwrap();
    let before = Testbed::leftovers_of_slot(slot);
    let pids = pids_in(&before);
    assert!(
        !pids.is_empty(),
        "the killed process left its host running: {before:?}"
    );

    let left = Testbed::clean_stale().unwrap();
    assert_eq!(left, Vec::<String>::new());
    // By its processes, not its slot: once the killed process's lock is gone, another test in
    // this process may claim the slot (cleaning it first) and boot a host of its own there.
    let alive: Vec<u32> = pids
        .into_iter()
        .filter(|p| miraclemax::probe::procs::alive(*p))
        .collect();
    assert_eq!(
        alive,
        Vec::<u32>::new(),
        "processes of the stale host still run"
    );
}

/// The PIDs a leftovers report names ("processes [1, 2]", "systemd-nspawn process 3").
fn pids_in(leftovers: &[String]) -> Vec<u32> {
    let mut pids: Vec<u32> = leftovers
        .iter()
        .filter(|l| l.contains("process"))
        .flat_map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    pids.sort();
    pids.dedup();
    pids
}
