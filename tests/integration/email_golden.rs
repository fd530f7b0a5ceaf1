//! The reports, rendered from fixed incidents and compared with golden files in tests/golden/.
//! Run with UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.

use miraclemax::heal::cause::Cause;
use miraclemax::heal::incident::{Attempt, Incident, Outcome};
use miraclemax::notify::report::{Origin, check_template, render};
use std::path::Path;
use std::time::Duration;

const DETECTED_MS: u64 = 1_795_867_923_000; // 2026-11-28 12:12:03 UTC

fn incident(outcome: Outcome) -> Incident {
    Incident {
        id: format!("story-stages-{DETECTED_MS}"),
        service: "story-stages".into(),
        unit: "story-stages.service".into(),
        domain: Some("books.jbyrd.org".into()),
        port: Some(3000),
        detected_at_ms: DETECTED_MS,
        detected: "Detected story-stages was inactive and its port 3000 was held by PID 812 (python3 -m http.server 3000, user root)".into(),
        cause: Cause::PortConflict { port: 3000, holder: "PID 812 (python3 -m http.server 3000, user root)".into() },
        steps: vec![
            "Executed: systemctl restart story-stages.service -> job failed after 0.6 s".into(),
            "Found port 3000 held by PID 812 (python3 -m http.server 3000, user root) outside story-stages.service".into(),
            "Killed PID 812 (python3) with SIGTERM".into(),
            "Executed: systemctl restart story-stages.service -> job done in 0.4 s".into(),
        ],
        attempts: vec![
            Attempt {
                strategy: "service_restart".into(),
                ok: false,
                detail: "story-stages.service did not become active: its restart job ended 'failed' (ActiveState=failed, Result=exit-code, ExecMainStatus=1)".into(),
            },
        ],
        outcome,
        journal: vec![],
    }
}

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "{name} differs from the golden file");
}

fn origin() -> Origin<'static> {
    Origin {
        host: "miraclemax",
        ssh_target: "admin@miraclemax",
        heal_window: Duration::from_secs(900),
    }
}

fn no_overrides() -> &'static Path {
    Path::new("/nonexistent")
}

#[test]
fn the_resolved_report_matches_its_golden_file() {
    let mut inc = incident(Outcome::Resolved {
        at_ms: DETECTED_MS + 4_300,
        strategy: "port_conflict".into(),
    });
    inc.steps
        .push("Verified: story-stages.service is active, port 3000 is listening".into());
    inc.attempts.push(Attempt {
        strategy: "port_conflict".into(),
        ok: true,
        detail: "story-stages.service is active, port 3000 is listening".into(),
    });
    let email = render(&inc, &origin(), no_overrides()).unwrap();
    check(
        "resolved.eml.txt",
        &format!("Subject: {}\n\n{}", email.subject, email.body),
    );
}

#[test]
fn the_failed_report_matches_its_golden_file() {
    let mut inc = incident(Outcome::Failed {
        at_ms: DETECTED_MS + 21_000,
    });
    // The strategy that would have freed the port refused to kill PID 1: nothing after that.
    inc.steps.truncate(1);
    inc.attempts.push(Attempt {
        strategy: "port_conflict".into(),
        ok: false,
        detail: "port 3000 is held by PID 1 (/sbin/init, user root), which is PID 1; not killed"
            .into(),
    });
    inc.journal = vec![
        "2026-11-28T12:12:01+0000 miraclemax story-stages[901]: Error: listen EADDRINUSE: address already in use :::3000".into(),
        "2026-11-28T12:12:01+0000 miraclemax systemd[1]: story-stages.service: Failed with result 'exit-code'.".into(),
    ];
    let email = render(&inc, &origin(), no_overrides()).unwrap();
    check(
        "failed.eml.txt",
        &format!("Subject: {}\n\n{}", email.subject, email.body),
    );
}

#[test]
fn the_resolved_report_of_a_plain_restart_keeps_the_users_lines_and_each_steps_outcome() {
    let mut inc = incident(Outcome::Resolved {
        at_ms: DETECTED_MS + 2_400,
        strategy: "service_restart".into(),
    });
    inc.detected = "Detected story-stages was inactive".into();
    inc.cause = Cause::Killed { signal: 9 };
    inc.steps = vec![
        "Executed: systemctl restart story-stages.service -> job done in 0.4 s".into(),
        "Verified: story-stages.service is active, port 3000 is listening, http://127.0.0.1:3000/ answered 200".into(),
    ];
    inc.attempts = vec![Attempt {
        strategy: "service_restart".into(),
        ok: true,
        detail: "story-stages.service is active, port 3000 is listening, http://127.0.0.1:3000/ answered 200".into(),
    }];
    let email = render(&inc, &origin(), no_overrides()).unwrap();
    let text = format!("Subject: {}\n\n{}", email.subject, email.body);
    for line in [
        "HOW IT WAS FIXED:",
        "1. Detected story-stages was inactive",
        "2. Executed: systemctl restart story-stages.service -> job done in 0.4 s",
        "3. Verified: story-stages.service is active",
        "ROOT CAUSE: Service was killed: main process killed by signal 9 (SIGKILL)",
        "HEALING TIME: 2.4 seconds",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    check("resolved-restart.eml.txt", &text);
}

#[test]
fn the_failed_report_of_a_port_held_by_the_units_own_leftover_says_so_and_what_to_run() {
    let mut inc = incident(Outcome::Failed {
        at_ms: DETECTED_MS + 9_000,
    });
    inc.detected = "Detected story-stages was failed".into();
    inc.cause = Cause::RestartLoop {
        restarts: 5,
        last: "exited with status 1".into(),
    };
    inc.steps.truncate(1);
    inc.attempts.push(Attempt {
        strategy: "port_conflict".into(),
        ok: false,
        detail: "port 3000 is held by PID 901 (node worker.js, user story), a leftover process of \
                 story-stages.service's own cgroup, so story-stages.service cannot bind it; not \
                 killed by this strategy: run systemctl kill story-stages.service (or systemctl \
                 stop story-stages.service), then systemctl start story-stages.service"
            .into(),
    });
    let email = render(&inc, &origin(), no_overrides()).unwrap();
    let text = format!("Subject: {}\n\n{}", email.subject, email.body);
    assert!(
        text.contains("a leftover process of story-stages.service's own cgroup"),
        "{text}"
    );
    assert!(
        text.contains("ROOT CAUSE: Restart loop: systemd restarted the service 5 times"),
        "{text}"
    );
    check("failed-leftover.eml.txt", &text);
}

#[test]
fn the_breaker_report_says_how_often_it_healed() {
    let mut inc = incident(Outcome::Flapping {
        at_ms: DETECTED_MS,
        recent_heals: 3,
    });
    inc.steps = vec![
        "Healed 3 times before, at 2026-11-28 12:00:01 UTC, 2026-11-28 12:04:10 UTC, 2026-11-28 12:08:30 UTC; \
         not healing again until the window passes"
            .into(),
    ];
    inc.attempts.clear();
    let email = render(&inc, &origin(), no_overrides()).unwrap();
    check(
        "flapping.eml.txt",
        &format!("Subject: {}\n\n{}", email.subject, email.body),
    );
}

#[test]
fn a_template_on_the_host_overrides_the_built_in_one() {
    let dir = std::env::temp_dir().join(format!("mm-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("resolved.txt.j2"),
        "Subject: fixed {{ service }}\n\n{{ cause }} in {{ healing_time }}\n",
    )
    .unwrap();
    let inc = incident(Outcome::Resolved {
        at_ms: DETECTED_MS + 2_000,
        strategy: "service_restart".into(),
    });
    let email = render(&inc, &origin(), &dir).unwrap();
    assert_eq!(email.subject, "fixed story-stages");
    assert_eq!(
        email.body,
        "Port conflict: port 3000 was held by PID 812 (python3 -m http.server 3000, user root), outside the service in 2.0 seconds\n"
    );
    assert!(check_template(&dir.join("resolved.txt.j2")).is_ok());

    // A broken one never costs the report: the built-in one is sent instead.
    std::fs::write(dir.join("resolved.txt.j2"), "{{ nosuchvariable }}").unwrap();
    let email = render(&inc, &origin(), &dir).unwrap();
    let builtin = render(&inc, &origin(), no_overrides()).unwrap();
    assert_eq!((email.subject, email.body), (builtin.subject, builtin.body));
    // The deploy's check refuses it first, naming the file and the fault.
    let err = check_template(&dir.join("resolved.txt.j2"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "email template {0}: undefined value: `nosuchvariable` is undefined (in {0}:1)",
            dir.join("resolved.txt.j2").display()
        )
    );
    std::fs::write(dir.join("failed.txt.j2"), "no subject\n").unwrap();
    let err = check_template(&dir.join("failed.txt.j2"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("the first line must be 'Subject: ...' followed by a blank line"),
        "{err}"
    );
    for shipped in ["resolved.txt.j2", "failed.txt.j2"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates/email")
            .join(shipped);
        assert!(check_template(&path).is_ok(), "{shipped}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_host_check_reports_match_their_golden_files() {
    use miraclemax::config::Thresholds;
    use miraclemax::host_checks::report::{Said, render};
    use miraclemax::host_checks::{Check, Kind, judge};
    let t = Thresholds {
        warn: Some(85.0),
        critical: Some(95.0),
    };
    let check = Check {
        kind: Kind::Space("/var".into()),
        thresholds: t,
    };
    let line = "96.4 % used (38.6 GiB used, 1.4 GiB free; warning at 85 %, critical at 95 %)";
    let warned = judge(None, 88.0, &t, 5.0, || "88.0 % used".into(), DETECTED_MS).next;
    let crossed = judge(
        warned.as_ref(),
        96.4,
        &t,
        5.0,
        || line.into(),
        DETECTED_MS + 600_000,
    );
    let said = Said {
        host: "miraclemax",
        ssh_target: "admin@miraclemax",
        check: &check,
        change: crossed.report.unwrap(),
        before: warned.as_ref(),
        after: crossed.next.as_ref(),
        now_line: line,
        step: 5.0,
        now_ms: DETECTED_MS + 600_000,
    };
    let email = render(&said).unwrap();
    check_golden("host-critical.eml.txt", &email);
    let back_line = "41.0 % used (16.4 GiB used, 23.6 GiB free; warning at 85 %, critical at 95 %)";
    let back = judge(
        crossed.next.as_ref(),
        41.0,
        &t,
        5.0,
        || back_line.into(),
        DETECTED_MS + 3_600_000,
    );
    let said = Said {
        change: back.report.unwrap(),
        before: crossed.next.as_ref(),
        after: None,
        now_line: back_line,
        now_ms: DETECTED_MS + 3_600_000,
        ..said
    };
    check_golden("host-recovered.eml.txt", &render(&said).unwrap());
}

#[test]
fn the_certificate_report_matches_its_golden_file() {
    use miraclemax::certificates::judge;
    use miraclemax::certificates::report::{Said, render};
    use miraclemax::probe::certificate::Served;
    let config = miraclemax::config::parse(
        "monitored_services:\n  - {name: story-stages, port: 3000, domain: books.jbyrd.org}\n",
        Path::new("config.yaml"),
    )
    .unwrap();
    let svc = &config.services[0];
    let served = Served {
        serial: "04A1B2C3D4E5F60718293A4B5C6D7E8F9A0B".into(),
        not_before_ms: DETECTED_MS - 80 * 86_400_000,
        not_after_ms: DETECTED_MS + 10 * 86_400_000 + 3_600_000,
        issuer: "R11".into(),
    };
    let (seen, notice) = judge(None, &served, 14, DETECTED_MS);
    let said = Said {
        host: "miraclemax",
        ssh_target: "admin@miraclemax",
        service: svc,
        check: svc.certificate.as_ref().unwrap(),
        seen: &seen,
        notice: notice.unwrap(),
    };
    check_golden("certificate-expiring.eml.txt", &render(&said).unwrap());
}

fn check_golden(name: &str, email: &miraclemax::notify::report::Email) {
    check(
        name,
        &format!("Subject: {}\n\n{}", email.subject, email.body),
    );
}
