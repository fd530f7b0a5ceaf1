//! The ping body ("Logs in ping"): the reasons for a failure first, then host, uptime, daemon
//! and services, then the healing events since the last successful ping, newest first, cut to
//! the server's body limit with a note of what was cut.

use super::health::Assessment;
use crate::notify::report::utc;
use crate::state::Event;

/// Healthchecks stores at most this much of a ping body by default.
pub const BODY_LIMIT: usize = 10_000;

pub fn render(host: &str, a: &Assessment, events_newest_first: &[Event], limit: usize) -> String {
    let mut head = String::new();
    for p in &a.problems {
        head.push_str(&format!("FAIL: {p}\n"));
    }
    head.push_str(&format!(
        "host: {host}\nuptime: {}\ndaemon: {}\n",
        uptime(),
        a.daemon
    ));
    let count = |s: &str| a.services.iter().filter(|x| x.state == s).count();
    head.push_str(&format!(
        "services: {} up, {} down, {} paused\n",
        count("up"),
        a.services.len() - count("up") - count("paused"),
        count("paused")
    ));
    for s in &a.services {
        let crit = if s.critical { "" } else { " (not critical)" };
        head.push_str(&format!(
            "  {}: {}{crit}\n",
            s.name,
            s.reason.as_deref().unwrap_or(&s.state)
        ));
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

fn uptime() -> String {
    let secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0) as u64;
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} days {h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::health::ServiceHealth;

    fn assessment(problems: Vec<String>) -> Assessment {
        Assessment {
            daemon_ok: problems.is_empty(),
            problems,
            daemon: "miraclemax-self-heal running (pid 9, last check 2.0 seconds ago)".into(),
            services: vec![
                ServiceHealth {
                    name: "web".into(),
                    state: "up".into(),
                    critical: true,
                    reason: None,
                },
                ServiceHealth {
                    name: "db".into(),
                    state: "FAILED".into(),
                    critical: true,
                    reason: Some("db is FAILED: Service crashed".into()),
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
        let b = render("lab1", &assessment(vec![]), &events, 2_000);
        assert!(b.len() <= 2_000, "{}", b.len());
        assert!(b.contains("  2026-11-28 12:12:03 UTC web resolved: healed by service_restart in 1.2s (0)\n  2026-11-28 12:12:02 UTC web resolved"), "{b}");
        let note = b.lines().last().unwrap();
        assert!(
            note.starts_with('[') && note.ends_with("older event(s) cut to stay under 2000 bytes]"),
            "{note}"
        );
    }
}
