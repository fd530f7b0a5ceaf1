use super::*;
use crate::config::Thresholds;

const T: Thresholds = Thresholds {
    warn: Some(85.0),
    critical: Some(95.0),
};

/// Feeds readings in order, one a minute, and returns each report with the level held after.
fn walk(readings: &[f64]) -> Vec<(f64, Option<Change>, Level)> {
    let mut held: Option<Held> = None;
    let mut out = Vec::new();
    for (i, &p) in readings.iter().enumerate() {
        let v = judge(
            held.as_ref(),
            p,
            &T,
            5.0,
            || format!("{p}"),
            i as u64 * 60_000,
        );
        held = v.next;
        out.push((p, v.report, held.as_ref().map_or(Level::Ok, |h| h.level)));
    }
    out
}

fn reports(readings: &[f64]) -> Vec<(f64, Change)> {
    walk(readings)
        .into_iter()
        .filter_map(|(p, r, _)| r.map(|r| (p, r)))
        .collect()
}

#[test]
fn a_disk_filling_and_freed_is_reported_once_at_each_threshold_and_once_recovered() {
    assert_eq!(
        reports(&[50.0, 80.0, 86.0, 87.0, 88.0, 96.0, 97.0, 96.5, 40.0, 41.0]),
        vec![
            (86.0, Change::Crossed(Level::Warning)),
            (96.0, Change::Crossed(Level::Critical)),
            (40.0, Change::Recovered),
        ]
    );
}

#[test]
fn a_figure_wavering_on_a_threshold_is_not_reported_at_every_look() {
    let r = reports(&[84.9, 85.0, 84.9, 83.5, 85.2, 84.0, 86.0, 82.9, 85.0]);
    assert_eq!(
        r,
        vec![
            (85.0, Change::Crossed(Level::Warning)),
            (82.9, Change::Recovered),
            (85.0, Change::Crossed(Level::Warning)),
        ]
    );
    // Critical is left only 2 points under it; then it is a warning again, said to no one.
    let w = walk(&[96.0, 94.0, 93.5, 92.9, 96.0]);
    let levels: Vec<Level> = w.iter().map(|(_, _, l)| *l).collect();
    assert_eq!(
        levels,
        [
            Level::Critical,
            Level::Critical,
            Level::Critical,
            Level::Warning,
            Level::Critical
        ]
    );
    let said: Vec<Option<Change>> = w.iter().map(|(_, r, _)| *r).collect();
    assert_eq!(
        said,
        [
            Some(Change::Crossed(Level::Critical)),
            None,
            None,
            None,
            Some(Change::Crossed(Level::Critical))
        ]
    );
}

#[test]
fn worsening_by_a_step_past_the_last_report_is_reported_again() {
    assert_eq!(
        reports(&[86.0, 89.0, 90.9, 91.0, 93.0, 95.0, 99.0, 99.9, 100.0]),
        vec![
            (86.0, Change::Crossed(Level::Warning)),
            (91.0, Change::Worse),
            (95.0, Change::Crossed(Level::Critical)),
            (100.0, Change::Worse),
        ]
    );
}

#[test]
fn the_held_entry_keeps_when_it_crossed_and_the_worst_figure() {
    let mut held = None;
    for (i, p) in [90.0, 97.5, 91.0].into_iter().enumerate() {
        held = judge(
            held.as_ref(),
            p,
            &T,
            5.0,
            || format!("{p} %"),
            1000 + i as u64,
        )
        .next;
    }
    let h = held.unwrap();
    assert_eq!((h.since_ms, h.worst, h.reported), (1000, 975, 975));
    assert_eq!(h.level, Level::Warning);
    // The line follows the level: status shows what it is now.
    assert_eq!(h.said, "91 %");
}

#[test]
fn one_threshold_alone_is_enough() {
    let only_critical = Thresholds {
        warn: None,
        critical: Some(90.0),
    };
    let v = judge(None, 89.0, &only_critical, 5.0, String::new, 0);
    assert_eq!(v.report, None);
    let v = judge(None, 91.0, &only_critical, 5.0, String::new, 0);
    assert_eq!(v.report, Some(Change::Crossed(Level::Critical)));
    let v = judge(v.next.as_ref(), 87.0, &only_critical, 5.0, String::new, 0);
    assert_eq!(v.report, Some(Change::Recovered));
}

#[test]
fn a_disk_is_two_checks_and_the_rest_follow_in_order() {
    let cfg = crate::config::parse(
        "monitored_services: []\nhost_checks: {disks: [{path: /}, {path: /var}], swap: {warn: 50%}, memory: {critical: 99%}}\n",
        std::path::Path::new("c"),
    )
    .unwrap()
    .host_checks
    .unwrap();
    let names: Vec<String> = checks(&cfg).iter().map(Check::name).collect();
    assert_eq!(
        names,
        [
            "disk space on /",
            "inodes on /",
            "disk space on /var",
            "inodes on /var",
            "memory",
            "swap"
        ]
    );
}

#[test]
fn the_reports_say_the_figure_the_thresholds_what_to_run_and_when_you_hear_again() {
    use super::report::{Said, render};
    let check = Check {
        kind: Kind::Space("/var".into()),
        thresholds: T,
    };
    let line = "96.0 % used (9.6 GiB used, 0.4 GiB free; warning at 85 %, critical at 95 %)";
    let warned = judge(None, 90.0, &T, 5.0, || "x".into(), 1_000);
    let crossed = judge(verdict_next(&warned), 96.0, &T, 5.0, || line.into(), 61_000);
    let said = Said {
        host: "web1",
        ssh_target: "admin@web1",
        check: &check,
        change: crossed.report.unwrap(),
        before: verdict_next(&warned),
        after: crossed.next.as_ref(),
        now_line: line,
        step: 5.0,
        now_ms: 61_000,
    };
    let e = render(&said).unwrap();
    assert_eq!(
        e.subject,
        "🔴 MiracleMax: web1: disk space on /var - CRITICAL"
    );
    for expected in [
        "Check: disk space on /var\nHost: web1\n🔴 CRITICAL: past its critical threshold of 95 %\n",
        &format!("NOW: {line}\n"),
        "SINCE: 1970-01-01 00:00:01 UTC\n",
        "You hear of this check again when it recovers or worsens by 5 more points.",
        "the heartbeat tells Healthchecks this server is failing (/fail)",
        "1. SSH to server: ssh admin@web1\n2. See what takes the space: du -xh --max-depth=2 /var | sort -h | tail -20\n",
    ] {
        assert!(e.body.contains(expected), "{expected}\n---\n{}", e.body);
    }
    assert_eq!(said.about().outcome.as_str(), "CRITICAL");
    assert_eq!(said.id(), "host-disk-space-on--var-1000-critical-960");

    let back = judge(
        crossed.next.as_ref(),
        40.0,
        &T,
        5.0,
        || "40.0 % used".into(),
        121_000,
    );
    let said = Said {
        change: back.report.unwrap(),
        before: crossed.next.as_ref(),
        after: None,
        now_line: "40.0 % used (...)",
        now_ms: 121_000,
        ..said
    };
    let e = render(&said).unwrap();
    assert_eq!(
        e.subject,
        "✅ MiracleMax: web1: disk space on /var - RECOVERED"
    );
    assert!(
        e.body.contains(
            "It was past a threshold from 1970-01-01 00:00:01 UTC to 1970-01-01 00:02:01 UTC, at most 96.0 %."
        ),
        "{}",
        e.body
    );
    assert!(!e.body.contains("WHAT TO DO"), "{}", e.body);
}

fn verdict_next(v: &Verdict) -> Option<&Held> {
    v.next.as_ref()
}
