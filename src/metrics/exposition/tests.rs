//! The exposition text itself: names, labels, HELP/TYPE lines and values as Prometheus' text
//! format and naming conventions want them (the e2e tier runs `promtool check metrics` on a
//! real host's file).

use super::*;
use crate::heal::cause::Cause;
use crate::heal::incident::{Attempt, Incident, Outcome};
use crate::heal::machine::Phase;
use crate::metrics::Figures;
use crate::state::{ServiceState, State};
use std::path::Path;
use std::time::Duration;

fn config() -> Config {
    crate::config::parse(
        "monitored_services:\n  - {name: web, port: 8080, healing_strategies: [service_restart, port_conflict]}\n  - {name: db}\n\
         notifications:\n  email: {smtp_host: localhost, from: a@b.c, to: [d@e.f]}\n  \
         channels:\n    - {type: ntfy, name: phone, url: 'https://ntfy.example', topic: t}\n",
        Path::new("config.yaml"),
    )
    .unwrap()
}

fn incident(service: &str, outcome: Outcome, detected_at_ms: u64) -> Incident {
    Incident {
        id: format!("{service}-1"),
        service: service.into(),
        unit: format!("{service}.service"),
        domain: None,
        port: None,
        detected_at_ms,
        detected: String::new(),
        cause: Cause::Stopped,
        steps: Vec::new(),
        attempts: vec![Attempt {
            strategy: "service_restart".into(),
            ok: matches!(outcome, Outcome::Resolved { .. }),
            detail: String::new(),
        }],
        outcome,
        journal: Vec::new(),
    }
}

/// web healed once (down at 1000 ms, detected at 3500, resolved at 5000), db failed for good.
fn figures_and_state() -> (Figures, State) {
    let mut f = Figures::default();
    f.look("web", false, false, Duration::from_millis(2), 1000);
    let resolved = Outcome::Resolved {
        at_ms: 5000,
        strategy: "service_restart".into(),
    };
    f.closed(&incident("web", resolved, 3500));
    f.look("web", true, false, Duration::from_millis(3), 6000);
    f.look("db", false, false, Duration::from_millis(1), 1000);
    f.closed(&incident("db", Outcome::Failed { at_ms: 9000 }, 2000));
    f.outbox_depth = Some([("email".to_string(), 1)].into());
    let mut st = State {
        daemon_started_ms: 1_700_000_000_000,
        ..State::default()
    };
    let blocked = crate::state::MailBlocked {
        since_ms: 1,
        error: "no TLS roots".into(),
    };
    st.channels_blocked.insert("phone".into(), blocked);
    let mut db = ServiceState::default();
    db.machine.phase = Phase::Failed { until: 99 };
    st.services.insert("db".into(), db);
    (f, st)
}

#[test]
fn each_family_has_help_and_type_before_its_samples_and_follows_the_naming_conventions() {
    let (f, st) = figures_and_state();
    let text = render(&config(), &st, &f);
    let mut family = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            family = rest.split(' ').next().unwrap().to_string();
            assert!(family.starts_with("miraclemax_"), "{line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(name, family, "TYPE right after its HELP");
            assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            name == family
                || [("_bucket"), ("_sum"), ("_count")]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(&family)),
            "{name} under {family}"
        );
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(
        !text.contains("_ms") && !text.contains("millis"),
        "base units"
    );
}

#[test]
fn heals_breaker_state_latency_outbox_and_daemon_health_are_all_there() {
    let (f, st) = figures_and_state();
    let text = render(&config(), &st, &f);
    for line in [
        "miraclemax_daemon_up 1",
        "miraclemax_daemon_start_time_seconds 1700000000",
        "miraclemax_watchdog_fed 1",
        "miraclemax_dbus_connected 1",
        "miraclemax_blind_services 0",
        "miraclemax_reports_blocked{channel=\"email\"} 0",
        "miraclemax_reports_blocked{channel=\"phone\"} 1",
        "miraclemax_outbox_reports{channel=\"email\"} 1",
        "miraclemax_outbox_reports{channel=\"phone\"} 0",
        "miraclemax_service_up{service=\"web\"} 1",
        "miraclemax_service_up{service=\"db\"} 0",
        "miraclemax_service_state{service=\"web\",state=\"healthy\"} 1",
        "miraclemax_service_state{service=\"web\",state=\"failed\"} 0",
        "miraclemax_service_state{service=\"db\",state=\"failed\"} 1",
        "miraclemax_breaker_open{service=\"web\"} 0",
        "miraclemax_breaker_open{service=\"db\"} 1",
        "miraclemax_probe_duration_seconds{service=\"web\"} 0.003",
        "miraclemax_heals_total{service=\"web\",outcome=\"resolved\",strategy=\"service_restart\"} 1",
        "miraclemax_heals_total{service=\"web\",outcome=\"resolved\",strategy=\"port_conflict\"} 0",
        "miraclemax_heals_total{service=\"web\",outcome=\"flapping\",strategy=\"none\"} 0",
        "miraclemax_heals_total{service=\"db\",outcome=\"failed\",strategy=\"none\"} 1",
        "miraclemax_heal_attempts_total{service=\"db\",strategy=\"service_restart\",result=\"failed\"} 1",
        // Detection: 2.5 s (first look wrong at 1000 ms, detected at 3500 ms).
        "miraclemax_detection_duration_seconds_bucket{service=\"web\",le=\"2.0\"} 0",
        "miraclemax_detection_duration_seconds_bucket{service=\"web\",le=\"5.0\"} 1",
        "miraclemax_detection_duration_seconds_sum{service=\"web\"} 2.5",
        // Healing: 1.5 s, resolved incidents only.
        "miraclemax_healing_duration_seconds_bucket{service=\"web\",le=\"1.0\"} 0",
        "miraclemax_healing_duration_seconds_bucket{service=\"web\",le=\"2.0\"} 1",
        "miraclemax_healing_duration_seconds_bucket{service=\"web\",le=\"+Inf\"} 1",
        "miraclemax_healing_duration_seconds_count{service=\"web\"} 1",
        "miraclemax_healing_duration_seconds_count{service=\"db\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in:\n{text}"
        );
    }
}

#[test]
fn a_paused_service_and_a_blind_one_say_so_and_no_look_yet_means_no_up_sample() {
    let mut f = Figures::default();
    f.look("web", false, true, Duration::from_millis(1), 0);
    let st = State {
        blind_services: vec!["db".into()],
        ..State::default()
    };
    let text = render(&config(), &st, &f);
    assert!(text.contains("miraclemax_service_state{service=\"web\",state=\"paused\"} 1\n"));
    assert!(text.contains("miraclemax_service_state{service=\"db\",state=\"blind\"} 1\n"));
    assert!(text.contains("miraclemax_blind_services 1\n"));
    assert!(
        !text.contains("miraclemax_service_up{service=\"db\"}"),
        "{text}"
    );
    // A failure during a pause is not one the daemon was slow to detect.
    assert_eq!(f.services["web"].wrong_since_ms, None);
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

#[test]
fn probe_latency_alone_is_written_only_when_it_jumps_and_at_most_once_a_minute() {
    let m = crate::metrics::Metrics::new("/nonexistent/m.prom".into());
    let (c, st) = (config(), State::default());
    let ms = Duration::from_millis;
    let every = Duration::from_secs(10);
    let look = |name: &str, took: u64, at: u64| m.look(name, true, false, ms(took), at, every);
    assert!(look("web", 2, 0), "first look");
    assert!(look("db", 2, 0), "first look");
    assert!(m.render(&c, &st).is_some());
    assert!(!look("web", 40, 10_000), "jitter");
    assert!(!look("web", 900, 20_000), "one slow look");
    assert!(!look("web", 3, 30_000), "fast again: it was noise");
    assert!(!look("web", 900, 40_000), "slow once more");
    assert!(
        !look("web", 950, 50_000),
        "slow twice: waits for the others' looks"
    );
    assert!(!look("db", 2, 55_000), "half an interval later");
    assert!(look("web", 950, 60_000), "an interval later: written");
    assert!(m.render(&c, &st).is_some());
    assert!(!look("web", 20, 70_000), "fast again");
    assert!(
        !look("web", 20, 80_000),
        "fast again, an interval later, within the minute"
    );
    assert!(look("web", 20, 120_000), "a minute after that write");
    assert!(m.render(&c, &st).is_some());
    assert!(
        m.look("web", false, false, ms(20), 121_000, every),
        "down is a change at once"
    );
}

#[test]
fn start_up_latencies_are_corrected_by_one_write_and_then_a_healthy_host_writes_nothing() {
    // Every service's first look runs at once at start-up and is slow; the second looks, spread
    // over the interval, are fast: all of them go out in one write, and nothing after that.
    let m = crate::metrics::Metrics::new("/nonexistent/m.prom".into());
    let names: Vec<String> = (1..=50).map(|i| format!("fp{i}")).collect();
    let yaml: String = names
        .iter()
        .map(|n| format!("  - {{name: {n}}}\n"))
        .collect();
    let c = crate::config::parse(
        &format!("monitored_services:\n{yaml}"),
        Path::new("config.yaml"),
    )
    .unwrap();
    let st = State::default();
    let every = Duration::from_secs(10);
    for n in &names {
        if m.look(n, true, false, Duration::from_millis(150), 0, every) {
            m.render(&c, &st);
        }
    }
    let mut writes = Vec::new();
    for round in 1..=20u64 {
        for (i, n) in names.iter().enumerate() {
            let at = (round - 1) * 10_000 + (i as u64 + 1) * 200;
            let took = Duration::from_micros(1500 + (i as u64 * 37 + round * 11) % 400);
            if m.look(n, true, false, took, at, every) && m.render(&c, &st).is_some() {
                writes.push(at);
            }
        }
    }
    assert_eq!(
        writes,
        vec![10_200],
        "one write, an interval after the first second look"
    );
}

#[test]
fn the_metrics_guide_lists_exactly_the_families_the_file_holds() {
    let (f, st) = figures_and_state();
    let text = render(&config(), &st, &f);
    let written: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(String::from)
        .collect();
    let documented: std::collections::BTreeSet<String> = include_str!("../../../docs/metrics.md")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.starts_with("miraclemax_"))
        .map(String::from)
        .collect();
    assert_eq!(written, documented);
}
