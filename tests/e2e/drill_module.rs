//! The `miraclemax.stack.drill` and `stack_facts` modules on a test host, run the way Ansible
//! runs them there (the binary and one JSON args file): what they report, and that a drill
//! never leaves a service down, whatever stops the healing.

use crate::support::*;
use mm_testbed::{Host, Testbed};
use serde_json::{Value, json};
use std::time::Duration;

/// Runs a module on the host with these arguments; returns its one JSON object.
fn module(h: &Host, name: &str, args: Value) -> Value {
    copy_module(h, name);
    run_module(h, name, args)
}

/// Puts the module on the host as Ansible would (`/root/AnsiballZ_NAME`).
fn copy_module(h: &Host, name: &str) {
    let exe = modules().into_iter().find(|(n, _)| *n == name).unwrap().1;
    h.copy(&exe, &format!("/root/AnsiballZ_{name}")).unwrap();
}

/// Runs the module copied there, as Ansible would; its one JSON result.
fn run_module(h: &Host, name: &str, args: Value) -> Value {
    let remote = format!("/root/AnsiballZ_{name}");
    h.write("/root/args.json", &args.to_string()).unwrap();
    let out = h.ssh(&[&remote, "/root/args.json"]).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON object ({e}): {stdout}"));
    assert_eq!(out.status.success(), v["failed"] == false, "{v}");
    v
}

fn host_with_daemon(tb: &Testbed) -> (&Host, Smtp) {
    let h = tb.host(0);
    let smtp = Smtp::start(h.gateway());
    install_daemon(h, &test_config(h, mm_testbed::deploy::EXAMPLE_SERVICE));
    (h, smtp)
}

#[test]
fn a_drill_stops_the_service_and_reports_the_daemons_healing_time() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let (h, smtp) = host_with_daemon(&tb);

    let facts = module(h, "stack_facts", json!({}));
    let m = &facts["ansible_facts"]["miraclemax"];
    assert_eq!(m["installed"], true, "{facts}");
    assert_eq!(m["daemon"]["active_state"], "active", "{facts}");
    assert_eq!(m["services"][0]["name"], "example", "{facts}");
    assert_eq!(m["services"][0]["active_state"], "active", "{facts}");
    assert_eq!(facts["changed"], false);

    let r = module(h, "drill", json!({ "service": "example", "timeout": "60" }));
    assert_eq!(r["changed"], true, "{r}");
    let secs = r["healing_time_secs"].as_f64().expect("a healing time");
    assert!(secs > 0.0 && secs < 60.0, "{r}");
    assert!(r["downtime_secs"].as_f64().unwrap() >= secs, "{r}");
    assert_eq!(
        r["root_cause"]
            .as_str()
            .unwrap()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>(),
        ["Service", "was", "stopped"],
        "{r}"
    );
    assert_eq!(is_active(h, "example.service"), "active");
    let mail = smtp.wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(30));
    assert!(
        mail.body
            .contains(&format!("HEALING TIME: {secs:.1} seconds")),
        "the email and the drill give the same time ({secs}): {}",
        mail.body
    );

    let facts = module(h, "stack_facts", json!({}));
    let last = &facts["ansible_facts"]["miraclemax"]["services"][0]["last_incident"];
    assert_eq!(last["id"], r["incident"], "{facts}");
    assert_eq!(last["outcome"], "resolved", "{facts}");

    // The breaker allows 3 heals per 15 minutes: a second drill may run, a third would leave
    // no heal for a real failure, so it stops nothing.
    let second = module(h, "drill", json!({ "service": "example" }));
    assert_eq!(second["failed"], false, "{second}");
    let third = module(h, "drill", json!({ "service": "example" }));
    assert_eq!(
        third["msg"],
        "example was healed 2 time(s) in the last 15 minutes; the breaker allows 3 per window, \
         and a drill now would leave no heal for a real failure. Try again later",
        "{third}"
    );
    assert_eq!(third["changed"], false);
    assert_eq!(is_active(h, "example.service"), "active");
}

#[test]
fn a_drill_that_could_not_heal_stops_nothing_and_says_why() {
    let tb = Testbed::start_on(&[D13]).unwrap();
    let (h, smtp) = host_with_daemon(&tb);
    let drill = json!({ "service": "example" });

    let check = module(
        h,
        "drill",
        json!({ "service": "example", "_ansible_check_mode": true }),
    );
    assert_eq!(check["changed"], true, "{check}");
    assert!(
        check["msg"]
            .as_str()
            .unwrap()
            .starts_with("would stop example.service"),
        "{check}"
    );

    let unknown = module(h, "drill", json!({ "service": "passgo" }));
    assert_eq!(
        unknown["msg"],
        "service 'passgo' is not watched in /etc/miraclemax/config.yaml (watched: example): \
         drill one of those, or add it to monitored_services and deploy first"
    );

    h.ssh_ok(&["miraclemax-self-heal", "pause", "example", "--for", "10m"])
        .unwrap();
    let paused = module(h, "drill", drill.clone());
    assert!(
        paused["msg"]
            .as_str()
            .unwrap()
            .starts_with("healing of example is paused until"),
        "{paused}"
    );
    h.ssh_ok(&["miraclemax-self-heal", "resume", "example"])
        .unwrap();

    h.ssh_ok(&["systemctl", "stop", "miraclemax-self-heal.service"])
        .unwrap();
    let down = module(h, "drill", drill.clone());
    assert!(
        down["msg"].as_str().unwrap().starts_with(
            "miraclemax-self-heal.service is inactive on this host: nothing would heal example, \
             so the drill did not stop it"
        ),
        "{down}"
    );
    let facts = module(h, "stack_facts", json!({}));
    assert_eq!(
        facts["ansible_facts"]["miraclemax"]["daemon"]["active_state"],
        "inactive"
    );

    for r in [&check, &unknown, &paused, &down] {
        assert_eq!(is_active(h, "example.service"), "active", "{r}");
    }
    assert_eq!(smtp.count("MiracleMax: example"), 0, "no incident was made");
}

#[test]
fn a_drill_whose_healing_never_comes_starts_the_service_itself() {
    let tb = Testbed::start_on(&[D12]).unwrap();
    let (h, _smtp) = host_with_daemon(&tb);
    // A daemon that systemd still calls active but that no longer runs: frozen. The module is
    // on the host first: the freeze must stay shorter than the unit's WatchdogSec (8 s), after
    // which systemd rightly kills and restarts the daemon, even on a loaded machine.
    copy_module(h, "drill");
    let pid = main_pid(h, "miraclemax-self-heal.service");
    h.ssh_ok(&["kill", "-STOP", &pid]).unwrap();
    let r = run_module(h, "drill", json!({ "service": "example", "timeout": 3 }));
    h.ssh_ok(&["kill", "-CONT", &pid]).unwrap();
    assert_eq!(
        (&r["failed"], &r["changed"]),
        (&json!(true), &json!(true)),
        "{r}"
    );
    assert_eq!(
        r["msg"],
        "example.service was not healed within 3 s of the drill stopping it; the drill started \
         it itself and it is now active. See miraclemax-status and journalctl -u \
         miraclemax-self-heal.service",
        "{r}"
    );
    assert_eq!(is_active(h, "example.service"), "active");
}
