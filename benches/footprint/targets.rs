//! The targets, judged from the figures (medians unless said): each with what was
//! measured, whether it is met, by how much it is missed, and why, as far as the figures
//! themselves say (memory split into own and file-backed pages, CPU per look at a service).

use super::run::{CHECKS_10, HTTP_10, HTTP_10_CHANNELS, HTTP_10_PROCS, HTTP_10_RULES, PORT_30};
use serde_json::{Value, json};

fn find<'a>(figures: &'a [Value], what: &str, n: usize, setting: &str) -> Option<&'a Value> {
    figures
        .iter()
        .find(|f| f["what"] == what && f["services"] == n && f["setting"] == setting)
}

fn median(f: Option<&Value>, who: &str) -> Option<f64> {
    f?[who]["median"].as_f64()
}

fn services(n: usize) -> String {
    if n == 1 {
        "1 service".into()
    } else {
        format!("{n} services")
    }
}

fn target(text: String, measured: String, met: bool, missed_by: String) -> Value {
    json!({"target": text, "measured": measured, "met": met, "missed_by": missed_by, "why": ""})
}

fn with_why(mut t: Value, why: Option<String>) -> Value {
    t["why"] = json!(why.unwrap_or_default());
    t
}

fn spread(f: Option<&Value>, who: &str) -> Option<String> {
    let s = &f?[who];
    Some(format!(
        "{:.0}-{:.0} ms",
        s["min"].as_f64()?,
        s["max"].as_f64()?
    ))
}

/// Why memory is above Monit's: own (anonymous) pages against file-backed ones (code).
fn memory_why(figures: &[Value], n: usize, mm: f64, monit: f64) -> Option<String> {
    let anon = find(figures, "RssAnon at rest", n, PORT_30);
    let (a_mm, a_monit) = (median(anon, "miraclemax")?, median(anon, "monit")?);
    Some(format!(
        "own memory (RssAnon) {a_mm:.1} vs {a_monit:.1} MiB; the rest is file-backed pages, mostly \
         program code mapped from the binary: {:.1} vs {:.1} MiB",
        mm - a_mm,
        monit - a_monit
    ))
}

/// CPU time per look at one service (or per Monit check), at `n` services every `secs`.
fn per_look(pct: f64, n: usize, secs: f64) -> f64 {
    pct / 100.0 * 1000.0 / (n as f64 / secs)
}

/// "at or below Monit's" for a figure at each size.
fn not_above_monit(
    figures: &[Value],
    what: &str,
    unit: &str,
    sizes: &[usize],
    out: &mut Vec<Value>,
) {
    for &n in sizes {
        let f = find(figures, what, n, PORT_30);
        let (Some(mm), Some(monit)) = (median(f, "miraclemax"), median(f, "monit")) else {
            out.push(target(
                format!("{what} at or below Monit's, {}", services(n)),
                "not measured".into(),
                false,
                "-".into(),
            ));
            continue;
        };
        let d = if unit == "MiB" { 1 } else { 3 };
        let why = if unit == "MiB" {
            memory_why(figures, n, mm, monit)
        } else {
            Some(format!(
                "{:.2} ms of CPU per look at a service vs {:.2} ms per Monit check, {:.1} a second",
                per_look(mm, n, 30.0),
                per_look(monit, n, 30.0),
                n as f64 / 30.0
            ))
        };
        out.push(with_why(
            target(
                format!("{what} at or below Monit's, {} ({PORT_30})", services(n)),
                format!("{mm:.d$} vs {monit:.d$} {unit}"),
                mm <= monit,
                if monit > 0.0 {
                    format!("{:+.d$} {unit} ({:.1}x Monit's)", mm - monit, mm / monit)
                } else {
                    format!("{:+.d$} {unit} (Monit's rounds to 0)", mm - monit)
                },
            ),
            why,
        ));
    }
}

/// Below this, two detection figures are the same: the daemon's event time is in whole
/// milliseconds, and a stop's down time is the host clock read as `systemctl stop` returns, a
/// moment after the unit went down (the figure can be below zero). A ratio of two such figures
/// near zero says nothing, nor does their difference when both are within this of zero.
const RESOLUTION_MS: f64 = 2.0;

#[allow(clippy::too_many_lines)] // one entry per target of the results table, read as that table
pub fn evaluate(figures: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    not_above_monit(figures, "VmRSS at rest", "MiB", &[1, 50, 500], &mut out);
    not_above_monit(figures, "idle CPU", "%", &[50, 500], &mut out);

    let http = median(find(figures, "idle CPU", 50, HTTP_10), "miraclemax");
    out.push(match http {
        Some(c) => with_why(
            target(
                format!("MiracleMax idle CPU under 0.1 % of a core, 50 services, {HTTP_10}"),
                format!("{c:.3} %"),
                c < 0.1,
                format!("{:+.3} points ({:.1}x the target)", c - 0.1, c / 0.1),
            ),
            Some(format!(
                "{:.2} ms of CPU per look (the port, then an HTTP request) at 5 looks a second",
                per_look(c, 50, 10.0)
            )),
        ),
        None => target(
            "MiracleMax idle CPU under 0.1 %, 50 services, HTTP".into(),
            "not measured".into(),
            false,
            "-".into(),
        ),
    });

    let extra = median(find(figures, "idle CPU", 50, HTTP_10_PROCS), "miraclemax");
    out.push(match (http, extra) {
        (Some(base), Some(more)) => {
            let allowed = (base * 0.2).max(0.02);
            with_why(
                target(
                    "MiracleMax idle CPU does not move with 300 extra processes (within 20 % or 0.02 points)".into(),
                    format!("{base:.3} % -> {more:.3} %"),
                    (more - base).abs() <= allowed,
                    format!("{:+.3} points, {:.3} beyond the allowance", more - base, (more - base).abs() - allowed),
                ),
                Some(
                    "a look reads the unit's own cgroup and asks the kernel for one port's sockets, \
                     never the process table; each figure is one idle window, not repeated"
                        .into(),
                ),
            )
        }
        _ => target("idle CPU with 300 extra processes".into(), "not measured".into(), false, "-".into()),
    });

    out.push(channels_at_rest(figures));
    out.push(rules_at_rest(figures, http));
    out.extend(beside_monit(figures, CHECKS_10));
    out.extend(beside_monit(figures, HTTP_10_RULES));

    for (what, label) in [
        ("`kill -9` of one: detection", "kill -9"),
        ("`systemctl stop` of one: detection", "systemctl stop"),
    ] {
        let one = median(find(figures, what, 1, PORT_30), "miraclemax");
        let many = median(find(figures, what, 500, PORT_30), "miraclemax");
        let spreads = match (
            spread(find(figures, what, 500, PORT_30), "miraclemax"),
            spread(find(figures, what, 1, PORT_30), "miraclemax"),
        ) {
            (Some(m), Some(o)) => Some(format!("rounds at 500 services: {m}; at 1: {o}")),
            _ => None,
        };
        out.push(match (one, many) {
            (Some(a), Some(b)) => with_why(
                target(
                    format!(
                        "MiracleMax detection ({label}) at 500 services within 2x of 1 service \
                         (or within {RESOLUTION_MS} ms of it, or itself within {RESOLUTION_MS} \
                         ms: the figure's resolution)"
                    ),
                    format!("{b:.1} ms vs {a:.1} ms"),
                    b <= 2.0 * a || b <= a + RESOLUTION_MS || b <= RESOLUTION_MS,
                    format!("{:.1}x, {:.1} ms over 2x", b / a, b - 2.0 * a),
                ),
                spreads,
            ),
            _ => target(
                format!("detection ({label}) at 500 within 2x of 1"),
                "not measured".into(),
                false,
                "-".into(),
            ),
        });
    }

    let last = find(figures, "ten at once: down -> last active", 500, PORT_30)
        .and_then(|f| f["miraclemax"]["max"].as_f64());
    let reported = find(figures, "ten at once: reported RESOLVED", 500, PORT_30)
        .and_then(|f| f["miraclemax"]["min"].as_f64());
    out.push(match (last, reported) {
        (Some(l), Some(r)) => target(
            "MiracleMax: ten killed at once, of 500 watched, all active within 1.5 s of the kill and each reported RESOLVED (every round)".into(),
            format!("worst round: last active {l:.0} ms after the kill, {r:.0} of 10 RESOLVED"),
            l <= 1500.0 && r == 10.0,
            format!("{:+.0} ms over 1.5 s, {r:.0} of 10 RESOLVED", l - 1500.0),
        ),
        _ => target(
            "ten at once all active within 1.5 s and reported".into(),
            "not all healed".into(),
            false,
            "not all healed".into(),
        ),
    });
    let healed = find(figures, "ten `kill -9` at once: healed", 500, PORT_30);
    let spread = find(figures, "ten at once: first to last active", 500, PORT_30);
    let all = healed.and_then(|f| f["miraclemax"]["min"].as_f64()) == Some(10.0);
    let worst = spread.and_then(|f| f["miraclemax"]["max"].as_f64());
    out.push(match worst {
        Some(w) => target(
            "MiracleMax: ten killed at once all healed within 1 s of each other (every round)"
                .into(),
            format!(
                "{} of 10 healed in the worst round, worst spread {w:.0} ms",
                healed
                    .and_then(|f| f["miraclemax"]["min"].as_f64())
                    .unwrap_or(0.0)
            ),
            all && w <= 1000.0,
            format!(
                "spread {:+.0} ms over 1 s{}",
                w - 1000.0,
                if all { "" } else { ", not all healed" }
            ),
        ),
        None => target(
            "ten at once all healed within 1 s".into(),
            "not all healed".into(),
            false,
            "not all healed".into(),
        ),
    });
    out
}

/// Five report channels and the metrics file cost nothing at rest: against the same 50
/// services with HTTP probes without them, idle CPU within 20 % or 0.02 points (the allowance
/// of the 300-processes target), no thread of their own, no more written to files than the
/// settings without them wrote in the same run (their noise), and the metrics file not
/// rewritten.
fn channels_at_rest(figures: &[Value]) -> Value {
    let mm = |what: &str, setting: &str| median(find(figures, what, 50, setting), "miraclemax");
    let text = format!(
        "MiracleMax: five channels and the metrics file add nothing at rest (no timer, thread or \
         write while nothing happens): idle CPU within 20 % or 0.02 points, no more threads, bytes \
         written within what the settings without them wrote, 50 services, {HTTP_10}"
    );
    const THREADS: &str = "threads at rest, besides the blocking pool's";
    const WRITTEN: &str = "written to files in the idle window";
    let (Some(cpu0), Some(cpu1), Some(t0), Some(t1), Some(w0), Some(w1), Some(rewritten)) = (
        mm("idle CPU", HTTP_10),
        mm("idle CPU", HTTP_10_CHANNELS),
        mm(THREADS, HTTP_10),
        mm(THREADS, HTTP_10_CHANNELS),
        mm(WRITTEN, HTTP_10),
        mm(WRITTEN, HTTP_10_CHANNELS),
        mm(
            "metrics file rewritten in the idle window",
            HTTP_10_CHANNELS,
        ),
    ) else {
        return target(text, "not measured".into(), false, "-".into());
    };
    let cpu_ok = (cpu1 - cpu0).abs() <= (cpu0 * 0.2).max(0.02);
    // What the settings without channels wrote (MiracleMax's, this run): the noise band.
    let band: Vec<f64> = figures
        .iter()
        .filter(|f| f["what"] == WRITTEN && f["setting"] != HTTP_10_CHANNELS)
        .filter_map(|f| f["miraclemax"]["median"].as_f64())
        .collect();
    let (lo, hi) = band
        .iter()
        .fold((w0, w0), |(lo, hi), w| (lo.min(*w), hi.max(*w)));
    let written_ok = w1 <= hi;
    let met = cpu_ok && t1 <= t0 && written_ok && rewritten == 0.0;
    let mut missed = Vec::new();
    if !cpu_ok {
        missed.push(format!("CPU {:+.3} points", cpu1 - cpu0));
    }
    if t1 > t0 {
        missed.push(format!("{:+.0} threads", t1 - t0));
    }
    if !written_ok {
        missed.push(format!("{:+.0} KiB written beyond the noise", w1 - hi));
    }
    if rewritten != 0.0 {
        missed.push("the metrics file was rewritten".into());
    }
    with_why(
        target(
            text,
            format!(
                "idle CPU {cpu0:.3} -> {cpu1:.3} %, threads besides the blocking pool {t0:.0} -> \
                 {t1:.0}, written {w0:.0} -> {w1:.0} KiB (settings without channels: \
                 {lo:.0}-{hi:.0} KiB), metrics file rewritten: {}",
                if rewritten == 0.0 { "no" } else { "yes" }
            ),
            met,
            if missed.is_empty() {
                "-".into()
            } else {
                missed.join(", ")
            },
        ),
        Some(
            "a channel's delivery task sleeps on its queue with no timer until a report waits; \
             the metrics file is rendered only when a figure changes"
                .into(),
        ),
    )
}

/// Resource rules on every service: the benchmark's own target for 50 services at the default
/// interval (under 0.1 % of a core) holds with them, and what reading each unit's figures at
/// each look adds is said.
fn rules_at_rest(figures: &[Value], http: Option<f64>) -> Value {
    let text = format!(
        "MiracleMax idle CPU under 0.1 % of a core with resource rules on all 50 services, \
         {HTTP_10}"
    );
    let rules = median(find(figures, "idle CPU", 50, HTTP_10_RULES), "miraclemax");
    let (Some(base), Some(with)) = (http, rules) else {
        return target(text, "not measured".into(), false, "-".into());
    };
    with_why(
        target(
            text,
            format!("{with:.3} % ({base:.3} % without the rules)"),
            with < 0.1,
            format!("{:+.3} points ({:.1}x the target)", with - 0.1, with / 0.1),
        ),
        Some(format!(
            "{:.2} ms of CPU per look with the rules (each figure a rule judges, from the unit's \
             cgroup or its processes, and its fd tables) against {:.2} ms without",
            per_look(with, 50, 10.0),
            per_look(base, 50, 10.0)
        )),
    )
}

/// Resource rules on every service (`label`: with a check command too, or with HTTP probes),
/// side by side with Monit doing the same (`totalmem`, `totalcpu`, `threads` and
/// `filedescriptors` rules, and `check program` with the same program or `protocol http`):
/// MiracleMax's idle CPU and memory not above Monit's.
fn beside_monit(figures: &[Value], label: &str) -> Vec<Value> {
    let what_runs = if label == CHECKS_10 {
        "the check command run and reaped, the rules' figures read"
    } else {
        "the HTTP probe, the rules' figures read"
    };
    [("idle CPU", "%"), ("VmRSS at rest", "MiB")]
        .into_iter()
        .map(|(what, unit)| {
            let text = format!("MiracleMax {what} not above Monit's, 50 services, {label}");
            let f = find(figures, what, 50, label);
            match (median(f, "miraclemax"), median(f, "monit")) {
                (Some(mm), Some(monit)) => with_why(
                    target(
                        text,
                        format!("{mm:.3} vs {monit:.3} {unit} ({:.2}x)", mm / monit),
                        mm <= monit,
                        format!("{:.2}x", mm / monit),
                    ),
                    (what == "idle CPU").then(|| {
                        format!(
                            "{:.2} ms of CPU per look ({what_runs}) against Monit's {:.2} ms \
                             per check",
                            per_look(mm, 50, 10.0),
                            per_look(monit, 50, 10.0)
                        )
                    }),
                ),
                _ => target(text, "not measured".into(), false, "-".into()),
            }
        })
        .collect()
}
