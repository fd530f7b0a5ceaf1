//! The ping body ("Logs in ping"): the reasons for a failure first, then host, uptime, daemon
//! and services (the daemon's view, or the heartbeat's own when the daemon cannot vouch), then
//! the healing events since the last successful ping, newest first, cut to the server's body
//! limit with a note of what was cut. Also the short body of each per-service check.

use super::Record;
use super::health::{Assessment, ServiceHealth};
use super::ping::Signal;
use crate::notify::report::utc;
use crate::state::Event;

/// Healthchecks stores at most this much of a ping body by default.
pub const BODY_LIMIT: usize = 10_000;

pub fn render(
    host: &str,
    a: &Assessment,
    previous: &str,
    events_newest_first: &[Event],
    limit: usize,
) -> String {
    let mut head = String::new();
    for p in &a.problems {
        head.push_str(&format!("FAIL: {p}\n"));
    }
    head.push_str(&format!(
        "host: {host}\nuptime: {}\n",
        in_units(uptime_secs())
    ));
    head.push_str(previous);
    head.push_str(&format!("daemon: {}\n", a.daemon));
    let count = |s: &str| a.services.iter().filter(|x| x.state == s).count();
    if a.vouched {
        let unknown = match count("unknown") {
            0 => String::new(),
            n => format!(", {n} unknown"),
        };
        head.push_str(&format!(
            "services: {} up, {} down, {} paused{unknown}\n",
            count("up"),
            a.services.len() - count("up") - count("paused") - count("unknown"),
            count("paused")
        ));
        if let Some(why) = &a.systemd_error {
            head.push_str(&format!("systemd could not be asked: {why}\n"));
        }
    } else {
        head.push_str(&format!(
            "services (seen by the heartbeat itself; the daemon cannot vouch for them): \
             {} up, {} down, {} unknown, {} paused\n",
            count("up"),
            count("down"),
            count("unknown"),
            count("paused")
        ));
        if let Some(why) = &a.systemd_error {
            head.push_str(&format!("systemd could not be asked: {why}\n"));
        }
    }
    for s in &a.services {
        let crit = if s.critical { "" } else { " (not critical)" };
        // In the daemon's view, a service it is blind to was looked at by the heartbeat.
        let own = if a.vouched && s.own {
            " [seen by the heartbeat itself: the daemon cannot see it]"
        } else {
            ""
        };
        head.push_str(&format!("  {}: {}{crit}{own}\n", s.name, s.shown()));
    }
    if !a.host_checks.is_empty() {
        head.push_str("host checks past a threshold:\n");
        for (name, held) in &a.host_checks {
            head.push_str(&format!("  {name}: {} {}\n", held.level.word(), held.said));
        }
    }
    if events_newest_first.is_empty() {
        head.push_str("healing events since the last successful ping: none\n");
        return cut(head, limit);
    }
    head.push_str("healing events since the last successful ping (newest first):\n");
    let mut body = head;
    for (i, e) in events_newest_first.iter().enumerate() {
        let line = format!(
            "  {} {} {}: {}\n",
            utc(e.time_ms),
            e.service,
            e.event,
            e.message
        );
        let rest = events_newest_first.len() - i;
        let note = format!("[{rest} older event(s) cut to stay under {limit} bytes]\n");
        if body.len() + line.len() + note.len() > limit {
            body.push_str(&note);
            return cut(body, limit);
        }
        body.push_str(&line);
    }
    body
}

/// Never more than `limit` bytes, cut on a character boundary.
fn cut(mut s: String, limit: usize) -> String {
    if s.len() > limit {
        let mut end = limit;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The body of one per-service check: `/fail` with the reason first when it has one.
pub fn service_ping(host: &str, s: &ServiceHealth) -> (Signal, String) {
    match &s.reason {
        Some(reason) => (Signal::Fail, format!("FAIL: {reason}\nhost: {host}\n")),
        None if !s.own => (
            Signal::Success,
            format!("{}: {}\nhost: {host}\n", s.name, s.shown()),
        ),
        None => (
            Signal::Success,
            format!(
                "{}: {}, seen by the heartbeat itself (the self-healing daemon cannot vouch for it)\nhost: {host}\n",
                s.name,
                s.shown()
            ),
        ),
    }
}

/// Seconds since the host booted, counted from its PID 1's start: in a container that is the
/// container's boot (the kernel's own uptime is the machine's), on a machine a second or so
/// after the kernel's.
pub(super) fn uptime_secs() -> u64 {
    let machine = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    // Field 22 of /proc/1/stat, the start time in clock ticks after the kernel's boot; the
    // command before it (in parentheses) may hold spaces.
    let init = std::fs::read_to_string("/proc/1/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace().nth(19)?.parse::<u64>().ok()
        })
        .map_or(0.0, |ticks| {
            ticks as f64 / rustix::param::clock_ticks_per_second() as f64
        });
    (machine - init).max(0.0) as u64
}

/// What the previous run did and how long ago, so a ping after a gap says so: the host was
/// off or frozen (a long time ago), restarted since (booted after it), or could not reach
/// Healthchecks (not delivered, and why). Empty on the first run.
pub fn previous(record: &Record, now_ms: u64, booted_ms: u64) -> String {
    if record.last_run_ms == 0 {
        return String::new();
    }
    let ago = in_units(now_ms.saturating_sub(record.last_run_ms) / 1000);
    let delivered = if record.last_delivered {
        "delivered".to_string()
    } else {
        format!(
            "not delivered: {}",
            record.last_error.as_deref().unwrap_or("no reply")
        )
    };
    let mut s = format!(
        "previous heartbeat: {}, {ago} ago ({}, {delivered})\n",
        utc(record.last_run_ms),
        record.last_signal
    );
    if booted_ms > record.last_run_ms {
        s.push_str(&format!(
            "the host restarted since the previous heartbeat (booted {})\n",
            utc(booted_ms)
        ));
    }
    s
}

/// `5 min`, `1 h 0 min`, `1 day, 0 h 5 min`, `3 days, 4 h 12 min`: never a bare `04:12`.
pub(super) fn in_units(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let days = match d {
        0 => String::new(),
        1 => "1 day, ".into(),
        _ => format!("{d} days, "),
    };
    if d == 0 && h == 0 {
        format!("{m} min")
    } else {
        format!("{days}{h} h {m} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::health::ServiceHealth;

    #[test]
    fn uptime_says_its_units() {
        assert_eq!(in_units(59), "0 min");
        assert_eq!(in_units(300), "5 min");
        assert_eq!(in_units(3600), "1 h 0 min");
        assert_eq!(in_units(86_400 + 300), "1 day, 0 h 5 min");
        assert_eq!(
            in_units(3 * 86_400 + 4 * 3600 + 12 * 60 + 59),
            "3 days, 4 h 12 min"
        );
    }

    fn assessment(problems: Vec<String>) -> Assessment {
        Assessment {
            systemd_error: None,
            unseen: vec![],
            host_checks: vec![],
            vouched: true,
            daemon_ok: problems.is_empty(),
            problems,
            daemon: "miraclemax-self-heal running (pid 9, last check 2.0 seconds ago)".into(),
            services: vec![
                ServiceHealth {
                    name: "web".into(),
                    state: "up".into(),
                    critical: true,
                    reason: None,
                    detail: None,
                    own: false,
                },
                ServiceHealth {
                    name: "db".into(),
                    state: "FAILED".into(),
                    critical: true,
                    reason: Some("db is FAILED: Service crashed".into()),
                    detail: None,
                    own: false,
                },
            ],
        }
    }

    fn event(i: u64) -> Event {
        Event {
            time_ms: 1_795_867_923_000 - i * 1000,
            service: "web".into(),
            event: "resolved".into(),
            incident: format!("web-{i}"),
            result: "ok".into(),
            message: format!("healed by service_restart in 1.2s ({i})"),
        }
    }

    #[test]
    fn the_reason_comes_first_and_services_are_counted() {
        let b = render(
            "lab1",
            &assessment(vec![
                "critical service db is FAILED: Service crashed".into(),
            ]),
            "",
            &[],
            BODY_LIMIT,
        );
        assert!(
            b.starts_with(
                "FAIL: critical service db is FAILED: Service crashed\nhost: lab1\nuptime: "
            ),
            "{b}"
        );
        assert!(
            b.contains(
                "services: 1 up, 1 down, 0 paused\n  web: up\n  db: db is FAILED: Service crashed\n"
            ),
            "{b}"
        );
        assert!(
            b.ends_with("healing events since the last successful ping: none\n"),
            "{b}"
        );
    }

    #[test]
    fn events_are_newest_first_and_cut_to_the_limit_with_a_note() {
        let events: Vec<Event> = (0..500).map(event).collect();
        let b = render("lab1", &assessment(vec![]), "", &events, 2_000);
        assert!(b.len() <= 2_000, "{}", b.len());
        assert!(b.contains("  2026-11-28 12:12:03 UTC web resolved: healed by service_restart in 1.2s (0)\n  2026-11-28 12:12:02 UTC web resolved"), "{b}");
        let note = b.lines().last().unwrap();
        assert!(
            note.starts_with('[') && note.ends_with("older event(s) cut to stay under 2000 bytes]"),
            "{note}"
        );
    }

    #[test]
    fn a_ping_after_a_gap_says_when_the_previous_ran_and_whether_the_host_restarted() {
        let t = 1_795_867_923_000;
        let mut r = Record {
            format: crate::formats::CURRENT,
            last_run_ms: t,
            last_success_ms: t,
            last_signal: "ok".into(),
            last_delivered: true,
            last_error: None,
        };
        assert_eq!(
            previous(&r, t + 7 * 60_000, t - 3_600_000),
            format!(
                "previous heartbeat: {}, 7 min ago (ok, delivered)\n",
                utc(t)
            )
        );
        // Booted after the previous run: off, or crashed, in between.
        assert_eq!(
            previous(&r, t + 7 * 60_000, t + 6 * 60_000),
            format!(
                "previous heartbeat: {}, 7 min ago (ok, delivered)\n\
                 the host restarted since the previous heartbeat (booted {})\n",
                utc(t),
                utc(t + 6 * 60_000)
            )
        );
        r.last_delivered = false;
        r.last_error = Some("Connection refused (os error 111)".into());
        assert!(
            previous(&r, t + 60_000, 0)
                .ends_with("1 min ago (ok, not delivered: Connection refused (os error 111))\n")
        );
        assert_eq!(previous(&Record::default(), t, 0), "");
        let b = render(
            "lab1",
            &assessment(vec![]),
            &previous(&r, t + 60_000, 0),
            &[],
            2_000,
        );
        assert!(
            b.contains("uptime: ") && b.contains("\nprevious heartbeat: "),
            "{b}"
        );
    }
}
