//! The testbed itself: real Debian 12 hosts under systemd-nspawn, reached over SSH, and torn
//! down without a trace, also when a test fails midway or its process is killed.

use mm_testbed::Testbed;
use std::io::{BufRead, BufReader};
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
    let tb = Testbed::start(2).unwrap();
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

#[test]
fn arguments_reach_the_host_exactly_as_given() {
    let tb = Testbed::start(1).unwrap();
    let out = tb
        .host(0)
        .ssh_ok(&["printf", "%s|", "a b", "it's", "$(hostname)", ";true"])
        .unwrap();
    assert_eq!(out, "a b|it's|$(hostname)|;true|");
}

#[test]
fn teardown_leaves_nothing_behind_when_a_test_fails_midway() {
    let result = std::panic::catch_unwind(|| {
        let tb = Testbed::start(1).unwrap();
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
