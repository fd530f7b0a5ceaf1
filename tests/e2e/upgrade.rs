//! Upgrades keep what was in flight: a host running an earlier build's daemon (the commit
//! `scripts/build-previous` builds, which wrote the files of format 1), with an incident open and
//! a report queued, gets this build deployed by the real playbook. The daemon restarts once,
//! says it carried the earlier files over, resumes the incident and resolves it once, delivers
//! the queued report once, and heals a service killed while it was restarting.
//!
//! Only the daemon is the earlier build's: it is what keeps the state and the outbox, and the
//! roles, modules and other binaries deployed with it are this build's, as an upgrade from the
//! last release runs them. A Debian 12 and a Debian 13 host are upgraded by the same deploys.

use crate::ansible_deploy::{inventory, playbook, succeeded};
use crate::support::*;
use mm_testbed::Testbed;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const STATE: &str = "/var/lib/miraclemax/state.json";
const OUTBOX: &str = "/var/lib/miraclemax/outbox";
/// While it exists, example.service's start waits in its ExecStartPre: a heal is in progress.
const HOLD: &str = "/run/mm-upgrade-hold";

/// This build's host binaries with the daemon replaced by the earlier build's.
fn previous_dist() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/previous/miraclemax-self-heal");
    assert!(
        built.is_file(),
        "{} is not built: run scripts/build-previous (make test does)",
        built.display()
    );
    let dir = std::env::temp_dir().join(format!("mm-previous-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(mm_testbed::dist_dir()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    std::fs::copy(&built, dir.join("miraclemax-self-heal")).unwrap();
    dir
}

fn sha256(h: &mm_testbed::Host, path: &str) -> String {
    h.ssh_ok(&["sha256sum", path]).unwrap()[..64].to_string()
}

fn local_sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// The report files waiting in email's queue on the host.
fn queued(h: &mm_testbed::Host) -> Vec<String> {
    h.ssh_ok(&["find", OUTBOX, "-maxdepth", "1", "-name", "*.json"])
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `MM_WRITE_FIXTURES=1` keeps what the earlier build wrote as the fixtures of format 1
/// (`tests/fixtures/format-1/`), which the integration tests read.
fn keep_fixture(name: &str, text: &str) {
    if std::env::var_os("MM_WRITE_FIXTURES").is_some() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one upgrade on real hosts, told in the order it happens
fn an_upgrade_resumes_the_open_incident_delivers_the_queued_report_once_and_heals_a_kill_during_it()
{
    let tb = Testbed::start_on(&BOTH).unwrap();
    let smtp: BTreeMap<String, Mutex<Smtp>> = tb
        .hosts()
        .iter()
        .map(|h| (h.name.clone(), Mutex::new(Smtp::start(h.gateway()))))
        .collect();
    let smtp_of = |h: &mm_testbed::Host| smtp[&h.name].lock().unwrap();
    on_each_host(&tb, start_second_service);
    let inv = inventory(tb.hosts());
    let services = r#"{"monitored_services": [
        {"name": "example", "port": 8080, "critical": false, "healing_strategies": ["service_restart"], "health": {"path": "/health"}},
        {"name": "second", "port": 8081, "healing_strategies": ["service_restart"]}],
      "self_healing_limits": {"start_timeout": "600s", "settle_time": "1s"}}"#;
    let previous = previous_dist();
    let previous_bin = format!("binaries_dir={}", previous.display());
    succeeded(&playbook(
        &inv,
        "deploy-self-healing.yml",
        &["-e", services, "-e", &previous_bin],
    ));
    let daemon = "/usr/local/bin/miraclemax-self-heal";
    // Per host: the queued report's id and the open incident's.
    let in_flight: Mutex<BTreeMap<String, (String, String)>> = Mutex::default();
    on_each_host(&tb, |h| {
        assert_eq!(
            sha256(h, daemon),
            local_sha256(&previous.join("miraclemax-self-heal")),
            "the earlier build's daemon runs"
        );
        wait_until(Duration::from_secs(30), "the daemon watching both", || {
            h.ssh_ok(&["cat", STATE]).is_ok_and(|s| {
                s.contains("example.service is active") && s.contains("second.service is active")
            })
        });

        // A report queued: second is healed while the mail server is down.
        smtp_of(h).pause();
        h.ssh_ok(&["systemctl", "stop", "second.service"]).unwrap();
        wait_until(Duration::from_secs(60), "second's report queued", || {
            queued(h).len() == 1
        });
        let report_file = queued(h).remove(0);
        let report = h.ssh_ok(&["cat", &report_file]).unwrap();
        let queued_id = serde_json::from_str::<serde_json::Value>(&report).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !report.contains("\"format\""),
            "the earlier format: {report}"
        );

        // An incident open: example's restart waits in its ExecStartPre while HOLD exists.
        h.write(
            "/etc/systemd/system/example.service.d/hold.conf",
            &format!(
                "[Service]\nTimeoutStartSec=600\nExecStartPre=/bin/sh -c 'while [ -e {HOLD} ]; do sleep 0.2; done'\n"
            ),
        )
        .unwrap();
        h.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
        h.ssh_ok(&["touch", HOLD]).unwrap();
        kill_9(h, "example.service");
        let open_id = || -> Option<String> {
            let state: serde_json::Value =
                serde_json::from_str(&h.ssh_ok(&["cat", STATE]).ok()?).ok()?;
            state["services"]["example"]["open"]["id"]
                .as_str()
                .map(str::to_string)
        };
        wait_until(Duration::from_secs(30), "example's incident open", || {
            open_id().is_some() && is_active(h, "example.service") == "activating"
        });
        let incident = open_id().unwrap();
        let state = h.ssh_ok(&["cat", STATE]).unwrap();
        assert!(!state.contains("\"format\""), "the earlier format: {state}");
        if h.release == D12 {
            keep_fixture("state.json", &state);
            keep_fixture("outbox-report.json", &report);
        }
        in_flight
            .lock()
            .unwrap()
            .insert(h.name.clone(), (queued_id, incident));
    });
    let in_flight = in_flight.into_inner().unwrap();

    // On each host, second is killed the moment the earlier daemon exits, before this build's
    // is up. (Bounded: a deploy that never restarts the daemon fails the test within minutes.)
    let script = "old=$(systemctl show -p MainPID --value miraclemax-self-heal.service)\n\
                  for i in $(seq 3000); do kill -0 \"$old\" 2>/dev/null || break; sleep 0.05; done\n\
                  kill -9 \"$(systemctl show -p MainPID --value second.service)\"";
    let since = tb.host(0).ssh_ok(&["date", "+@%s"]).unwrap();
    let upgrade = std::thread::scope(|s| {
        let killers: Vec<_> = tb
            .hosts()
            .iter()
            .map(|h| s.spawn(move || h.ssh_ok(&["sh", "-c", script]).unwrap()))
            .collect();
        let out = succeeded(&playbook(
            &inv,
            "deploy-self-healing.yml",
            &["-e", services],
        ));
        for k in killers {
            k.join().unwrap();
        }
        out
    });
    assert!(
        upgrade.contains("RUNNING HANDLER [miraclemax.stack.self_healing : Restart"),
        "{upgrade}"
    );
    on_each_host(&tb, |h| {
        let (queued_id, incident) = &in_flight[&h.name];
        assert_eq!(
            sha256(h, daemon),
            local_sha256(&mm_testbed::dist_dir().join("miraclemax-self-heal")),
            "this build's daemon runs"
        );
        let said = h
            .ssh_ok(&[
                "journalctl",
                "-u",
                "miraclemax-self-heal.service",
                "--since",
                since.trim(),
                "-o",
                "cat",
                "--no-pager",
            ])
            .unwrap();
        let starts = said.lines().filter(|l| l.starts_with("Started ")).count();
        assert_eq!(starts, 1, "restarted once, never reloaded: {said}");
        assert!(!said.contains("Reloading"), "{said}");
        assert!(
            said.contains(&format!(
                "{STATE}: the state written by an earlier MiracleMax (format 1): read and carried over"
            )),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "a report waiting for the mail server ({queued_id}) written by an earlier \
                 MiracleMax (format 1)"
            )),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "resuming incident {incident} after a daemon restart"
            )),
            "{said}"
        );

        // The heal in progress ends; the mail server comes back.
        h.ssh_ok(&["rm", HOLD]).unwrap();
        smtp_of(h).resume();
        let resolved =
            smtp_of(h).wait_for("✅ MiracleMax: example - RESOLVED", Duration::from_secs(90));
        assert!(
            resolved.body.contains(&format!("Incident: {incident} ")),
            "the incident opened before the upgrade: {}",
            resolved.body
        );
        // A report that has waited long is tried at most a minute apart (the outbox's backoff).
        wait_until(
            Duration::from_secs(90),
            "second's queued report and its heal's",
            || smtp_of(h).count("✅ MiracleMax: second - RESOLVED") >= 2,
        );
        assert_eq!(is_active(h, "example.service"), "active");
        assert_eq!(is_active(h, "second.service"), "active");
        // Nothing twice: a few more looks and delivery passes.
        std::thread::sleep(Duration::from_secs(15));
        assert_eq!(smtp_of(h).count("✅ MiracleMax: example - RESOLVED"), 1);
        let second = smtp_of(h).all("✅ MiracleMax: second - RESOLVED");
        assert_eq!(second.len(), 2, "{second:#?}");
        let carried: Vec<_> = second
            .iter()
            .filter(|m| m.message_id.contains(queued_id.as_str()))
            .collect();
        assert_eq!(carried.len(), 1, "the queued report once: {second:#?}");
        assert!(
            carried[0].body.contains("NOTE: this report is"),
            "late, and says so: {}",
            carried[0].body
        );
        assert!(queued(h).is_empty(), "{:?}", queued(h));
        let state = h.ssh_ok(&["cat", STATE]).unwrap();
        assert!(
            state.contains(&format!("\"format\": {}", miraclemax::formats::CURRENT)),
            "{state}"
        );
    });
}
