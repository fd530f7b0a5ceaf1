//! The module run as Ansible runs it (its options as JSON), on a configuration and a state
//! directory of its own: what it writes, what it reports as changed, check mode and diff.

use super::*;
use crate::Args;
use std::path::PathBuf;

struct Host {
    root: PathBuf,
}

impl Host {
    fn new(tag: &str) -> Host {
        let root = std::env::temp_dir().join(format!("mm-maint-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("state")).unwrap();
        std::fs::write(
            root.join("config.yaml"),
            "host: web1\nmonitored_services:\n  - {name: web, port: 8080}\n  - {name: db}\n",
        )
        .unwrap();
        Host { root }
    }

    fn run(&self, options: Value) -> Result<Map<String, Value>, ModuleError> {
        let mut o = options.as_object().unwrap().clone();
        o.insert("config".into(), json!(self.root.join("config.yaml")));
        o.insert("state_dir".into(), json!(self.root.join("state")));
        run(&Args::from_json(&Value::Object(o).to_string()).unwrap())
    }

    fn control(&self) -> Control {
        Control::new(&self.root.join("state"))
    }

    fn now() -> u64 {
        miraclemax::heal::incident::now_ms() / 1000
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn pausing_writes_the_daemons_pause_file_ending_after_for_and_a_second_run_with_an_earlier_end_changes_nothing()
 {
    let h = Host::new("pause");
    let out = h
        .run(json!({"state": "paused", "services": ["web"], "for": "15m"}))
        .unwrap();
    assert_eq!(out["changed"], json!(true));
    let end = h.control().pause_end(Some("web")).unwrap();
    assert!(
        (Host::now() + 895..=Host::now() + 900).contains(&end),
        "{end}"
    );
    assert_eq!(out["paused_until_epoch"], json!(end));
    assert!(h.control().paused_until("web", Host::now()).is_some());
    assert_eq!(h.control().paused_until("db", Host::now()), None);
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains("healing of web paused until")
    );

    let again = h
        .run(json!({"state": "paused", "services": ["web"], "for": "5m"}))
        .unwrap();
    assert_eq!(again["changed"], json!(false), "{again:?}");
    assert_eq!(
        h.control().pause_end(Some("web")),
        Some(end),
        "a shorter pause never cuts a longer one"
    );
}

#[test]
fn re_pausing_with_a_later_end_is_a_change_and_moves_the_end() {
    let h = Host::new("later");
    h.run(json!({"state": "paused", "services": "web", "for": "1m"}))
        .unwrap();
    let first = h.control().pause_end(Some("web")).unwrap();
    let out = h
        .run(json!({"state": "paused", "services": "web", "for": "1h"}))
        .unwrap();
    assert_eq!(out["changed"], json!(true));
    assert!(h.control().pause_end(Some("web")).unwrap() >= first + 3500);
}

#[test]
fn without_services_the_global_pause_is_written_for_the_default_30_minutes() {
    let h = Host::new("all");
    let out = h.run(json!({"state": "paused"})).unwrap();
    assert_eq!(out["changed"], json!(true));
    let end = h.control().pause_end(None).unwrap();
    assert!((Host::now() + 1795..=Host::now() + 1800).contains(&end));
    assert!(h.control().paused_until("db", Host::now()).is_some());
    assert_eq!(out["services"], json!([]));
}

#[test]
fn resuming_removes_the_pause_and_resuming_again_is_no_change() {
    let h = Host::new("resume");
    h.run(json!({"state": "paused", "services": ["web", "db"]}))
        .unwrap();
    let out = h
        .run(json!({"state": "resumed", "services": ["web"]}))
        .unwrap();
    assert_eq!(out["changed"], json!(true));
    assert_eq!(out["msg"], json!("healing of web resumed"));
    assert_eq!(h.control().pause_end(Some("web")), None);
    assert!(
        h.control().pause_end(Some("db")).is_some(),
        "db still paused"
    );
    let again = h
        .run(json!({"state": "resumed", "services": ["web"]}))
        .unwrap();
    assert_eq!(again["changed"], json!(false));
    assert_eq!(
        again["msg"],
        json!("healing was not paused; nothing changed")
    );
}

#[test]
fn resuming_without_services_ends_the_global_pause_and_every_services_own() {
    let h = Host::new("resume-all");
    h.run(json!({"state": "paused"})).unwrap();
    h.run(json!({"state": "paused", "services": ["db"]}))
        .unwrap();
    let out = h.run(json!({"state": "resumed"})).unwrap();
    assert_eq!(out["changed"], json!(true));
    assert_eq!(h.control().pause_end(None), None);
    assert_eq!(h.control().pause_end(Some("db")), None);
    assert_eq!(h.control().paused_until("web", Host::now()), None);
}

#[test]
fn an_expired_pause_is_not_in_force_so_resuming_it_is_no_change_but_removes_the_file() {
    let h = Host::new("expired");
    h.control().pause(Some("web"), Host::now() - 10).unwrap();
    let out = h
        .run(json!({"state": "resumed", "services": ["web"]}))
        .unwrap();
    assert_eq!(out["changed"], json!(false));
    assert_eq!(h.control().pause_end(Some("web")), None);
}

#[test]
fn resuming_one_service_under_a_global_pause_warns_that_it_stays_paused() {
    let h = Host::new("warn");
    h.run(json!({"state": "paused"})).unwrap();
    let out = h
        .run(json!({"state": "resumed", "services": ["web"]}))
        .unwrap();
    let w = out["warnings"][0].as_str().unwrap();
    assert!(w.contains("stay paused"), "{w}");
}

#[test]
fn check_mode_reports_the_change_and_writes_nothing_and_diff_shows_before_and_after() {
    let h = Host::new("check");
    let out = h
        .run(json!({"state": "paused", "services": ["db"], "for": "20s",
            "_ansible_check_mode": true, "_ansible_diff": true}))
        .unwrap();
    assert_eq!(out["changed"], json!(true));
    assert_eq!(h.control().pause_end(Some("db")), None, "nothing written");
    assert_eq!(out["diff"]["before"], json!("db: not paused\n"));
    let after = out["diff"]["after"].as_str().unwrap();
    assert!(
        after.starts_with("db: paused until ") && after.ends_with("(20s from now)\n"),
        "{after}"
    );
}

#[test]
fn unknown_services_are_refused_naming_the_watched_ones() {
    let h = Host::new("unknown");
    let e = h
        .run(json!({"state": "paused", "services": ["web", "wbe"]}))
        .unwrap_err();
    assert!(
        e.to_string().contains("service(s) wbe not watched")
            && e.to_string().contains("(watched: web, db)"),
        "{e}"
    );
    assert_eq!(h.control().pause_end(Some("web")), None, "nothing paused");
}

#[test]
fn a_pause_is_never_for_ever_and_for_goes_with_paused_only() {
    let h = Host::new("bounds");
    for (options, says) in [
        (json!({"state": "paused", "for": "25h"}), "at most 24h"),
        (json!({"state": "paused", "for": "0s"}), "more than 0 s"),
        (
            json!({"state": "paused", "for": "soon"}),
            "is not a duration",
        ),
        (
            json!({"state": "resumed", "for": "10m"}),
            "for applies to state: paused only",
        ),
        (
            json!({"state": "stopped"}),
            "value of state must be one of: paused, resumed, got: stopped",
        ),
        (json!({}), "missing required arguments: state"),
        (
            json!({"state": "paused", "services": []}),
            "services is empty",
        ),
        (
            json!({"state": "paused", "until": "1h"}),
            "Unsupported parameters for (maintenance) module: until. Supported parameters \
             include: config, for, services, state, state_dir.",
        ),
    ] {
        let e = h.run(options.clone()).unwrap_err();
        assert!(e.to_string().contains(says), "{options}: {e}");
    }
    assert!(h.run(json!({"state": "paused", "for": "24h"})).is_ok());
    assert!(
        h.run(json!({"state": "paused", "for": 90})).is_ok(),
        "seconds"
    );
}
