//! One healer's whole run on its own host: for each setting, services up, the healer
//! (re)configured, a settle period, an idle window (CPU and memory from /proc), then the
//! breakage rounds of that size. Returns every figure as a list of measurements.

use super::healers::{Healer, Kind, Setting};
use super::lab;
use super::scenarios::{self, Round};
use std::time::Duration;

pub struct Options {
    pub idle_secs: u64,
    pub settle_secs: u64,
    pub rounds: usize,
    pub clk_tck: f64,
}

/// One figure for one healer; the two healers' lists are joined by `key`.
pub struct Measure {
    pub key: String,
    pub what: String,
    pub services: usize,
    pub setting: String,
    pub unit: &'static str,
    pub values: Vec<f64>,
    pub note: String,
}

pub const PORT_30: &str = "30 s, port probes";
pub const HTTP_10: &str = "10 s (default), port + HTTP probes";
pub const HTTP_10_PROCS: &str = "10 s, port + HTTP probes, 300 extra processes";
pub const HTTP_10_CHANNELS: &str =
    "10 s, port + HTTP probes, 5 report channels besides email and the metrics file";
pub const HTTP_10_RULES: &str =
    "10 s, port + HTTP probes, resource rules on every service (memory, CPU, tasks, open files)";
pub const CHECKS_10: &str = "10 s, port probes, a check command (/bin/true) and resource rules \
                             (memory, CPU, tasks, open files) on every service";

struct Phase {
    setting: Setting,
    label: &'static str,
    /// Add 300 idle processes instead of reconfiguring (the same daemon as the phase before).
    extra_procs: bool,
}

fn phases(kind: Kind) -> Vec<Phase> {
    let p = |services, interval_secs, http_all, label, extra_procs| Phase {
        setting: Setting {
            services,
            interval_secs,
            http_all,
            channels: label == HTTP_10_CHANNELS,
            rules: label == HTTP_10_RULES,
            checks: label == CHECKS_10,
        },
        label,
        extra_procs,
    };
    let mut v = vec![
        p(1, 30, false, PORT_30, false),
        p(50, 30, false, PORT_30, false),
    ];
    if kind == Kind::MiracleMax {
        v.push(p(50, 10, true, HTTP_10, false));
        v.push(p(50, 10, true, HTTP_10_PROCS, true));
        v.push(p(50, 10, true, HTTP_10_CHANNELS, false));
    }
    v.push(p(50, 10, true, HTTP_10_RULES, false));
    v.push(p(50, 10, false, CHECKS_10, false));
    v.push(p(500, 30, false, PORT_30, false));
    v
}

/// The healer's event log, one line per event (MiracleMax's; none for Monit).
fn events(h: &Healer) -> Vec<String> {
    if h.kind != Kind::MiracleMax {
        return Vec::new();
    }
    let text = h
        .host
        .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
        .unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

/// What the daemon logged in the idle window, if anything (at rest it logs nothing): the
/// reason for anything written then.
fn what_happened(lines: &[String], before: usize) -> String {
    let new: Vec<String> = lines
        .iter()
        .skip(before)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let message: String = v["message"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            format!(
                "{} {}: {message}",
                v["service"].as_str().unwrap_or("?"),
                v["event"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if new.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = new.iter().take(4).map(String::as_str).collect();
    format!("{} events in the window: {}", new.len(), shown.join("; "))
}

/// When the metrics file was last written (its modification time, as `stat` prints it).
fn metrics_written(h: &Healer) -> String {
    h.host
        .ssh_ok(&["stat", "-c", "%y", super::healers::METRICS_FILE])
        .unwrap_or_default()
}

#[allow(clippy::too_many_lines)] // the benchmark's scenario, its steps in the order they run on the hosts
pub fn run(h: &Healer, o: &Options) -> Vec<Measure> {
    let mut out: Vec<Measure> = Vec::new();
    let mut add = |key: String, what: &str, n: usize, setting: &str, unit, values, note: String| {
        out.push(Measure {
            key,
            what: what.into(),
            services: n,
            setting: setting.into(),
            unit,
            values,
            note,
        })
    };
    for ph in phases(h.kind) {
        let n = ph.setting.services;
        eprintln!("footprint: {}: {n} services, {}", h.name(), ph.label);
        lab::start_services(h.host, n);
        if ph.extra_procs {
            h.host
                .ssh_ok(&[
                    "systemd-run",
                    "--quiet",
                    "--collect",
                    "--unit",
                    "fp-idle",
                    "sh",
                    "-c",
                    "for i in $(seq 300); do sleep infinity & done; wait",
                ])
                .unwrap();
        } else {
            h.configure(&ph.setting);
        }
        // With the metrics file, rest starts once start-up's figures are in it: the first looks
        // write at once, and their probe latencies (slow while everything starts) are corrected
        // by one write an interval after the second looks (docs/metrics.md): three intervals.
        let settle = if ph.setting.channels {
            o.settle_secs.max(3 * ph.setting.interval_secs + 5)
        } else {
            o.settle_secs
        };
        std::thread::sleep(Duration::from_secs(settle));
        let pid = h.pid();
        let key = |what: &str| format!("{what}/{n}/{}", ph.label);
        let channels = ph.setting.channels;
        let written = channels.then(|| metrics_written(h));
        let events_before = events(h).len();
        let a = lab::sample(h.host, pid);
        eprintln!("footprint: {}: idle window of {} s", h.name(), o.idle_secs);
        std::thread::sleep(Duration::from_secs(o.idle_secs));
        let b = lab::sample(h.host, pid);
        if let Some(before) = written {
            let after = metrics_written(h);
            add(
                key("metrics-writes"),
                "metrics file rewritten in the idle window",
                n,
                ph.label,
                "times",
                vec![if !before.is_empty() && before == after {
                    0.0
                } else {
                    1.0
                }],
                format!("modification time {} -> {}", before.trim(), after.trim()),
            );
        }
        let mib = |kib: u64| vec![kib as f64 / 1024.0];
        add(
            key("rss"),
            "VmRSS at rest",
            n,
            ph.label,
            "MiB",
            mib(b.rss_kib),
            String::new(),
        );
        add(
            key("anon"),
            "RssAnon at rest",
            n,
            ph.label,
            "MiB",
            mib(b.anon_kib),
            String::new(),
        );
        add(
            key("cpu"),
            "idle CPU",
            n,
            ph.label,
            "% of a core",
            vec![lab::cpu_pct(&a, &b, o.clk_tck)],
            String::new(),
        );
        add(
            key("threads"),
            "threads at rest, besides the blocking pool's",
            n,
            ph.label,
            "threads",
            vec![(b.threads - b.pool_threads) as f64],
            String::new(),
        );
        if h.kind == Kind::MiracleMax {
            add(
                key("pool"),
                "blocking-pool threads at rest (started on demand, kept a minute after their last task)",
                n,
                ph.label,
                "threads",
                vec![b.pool_threads as f64],
                String::new(),
            );
        }
        add(
            key("written"),
            "written to files in the idle window",
            n,
            ph.label,
            "KiB",
            vec![b.write_bytes.saturating_sub(a.write_bytes) as f64 / 1024.0],
            what_happened(&events(h), events_before),
        );
        if ph.extra_procs {
            let _ = h.host.ssh(&["systemctl", "stop", "fp-idle.service"]);
            continue;
        }
        if ph.label != PORT_30 {
            continue;
        }
        match n {
            1 => breakages(h, o, 1, &mut add),
            500 => {
                breakages(h, o, 250, &mut add);
                scale_rounds(h, o, &mut add);
            }
            _ => {
                // One heal, for the memory peak at this size.
                scenarios::break_one(h, n / 2, "kill");
            }
        }
        let peak = lab::sample(h.host, h.pid());
        add(
            key("peak"),
            "VmHWM (peak, start and heals)",
            n,
            ph.label,
            "MiB",
            mib(peak.hwm_kib),
            String::new(),
        );
    }
    out
}

type Add<'a> = dyn FnMut(String, &str, usize, &str, &'static str, Vec<f64>, String) + 'a;

fn not_healed(rounds: &[Round]) -> String {
    let missed = rounds.iter().filter(|r| r.heal_ms.is_none()).count();
    if missed == 0 {
        String::new()
    } else {
        format!("{missed} of {} rounds not healed", rounds.len())
    }
}

fn record(add: &mut Add, name: &str, what: &str, n: usize, rounds: &[Round]) {
    let heal: Vec<f64> = rounds.iter().filter_map(|r| r.heal_ms).collect();
    let detect: Vec<f64> = rounds.iter().filter_map(|r| r.detect_ms).collect();
    add(
        format!("{name}/detect/{n}"),
        &format!("{what}: detection"),
        n,
        PORT_30,
        "ms",
        detect,
        String::new(),
    );
    add(
        format!("{name}/heal/{n}"),
        &format!("{what}: down -> active"),
        n,
        PORT_30,
        "ms",
        heal,
        not_healed(rounds),
    );
}

/// MiracleMax's kill and stop rounds, as a multiple of the rounds asked for: its detection is a
/// few milliseconds, judged as a ratio of two medians, and one scheduling delay on a shared
/// machine moves a median of three by half. A round costs it about 5 s (Monit up to its cycle).
pub const DETECTION_ROUNDS_FACTOR: usize = 3;

/// `kill -9` and `systemctl stop` of service `i`, rounds interleaved.
fn breakages(h: &Healer, o: &Options, i: usize, add: &mut Add) {
    let n = if i == 1 { 1 } else { 500 };
    let rounds = match h.kind {
        Kind::MiracleMax => o.rounds * DETECTION_ROUNDS_FACTOR,
        Kind::Monit => o.rounds,
    };
    let (mut kills, mut stops) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        eprintln!(
            "footprint: {}: {n} services, round {}: kill -9, stop",
            h.name(),
            r + 1
        );
        kills.push(scenarios::break_one(h, i, "kill"));
        stops.push(scenarios::break_one(h, i, "stop"));
    }
    record(add, "kill", "`kill -9` of one", n, &kills);
    record(add, "stop", "`systemctl stop` of one", n, &stops);
}

/// At 500 services: ten at once, a stray on a port, a hung process.
#[allow(clippy::too_many_lines)] // the benchmark's scenario, its steps in the order they run on the hosts
fn scale_rounds(h: &Healer, o: &Options, add: &mut Add) {
    let (mut healed, mut spread, mut last) = (Vec::new(), Vec::new(), Vec::new());
    let mut resolved = Vec::new();
    let (mut conflicts, mut hangs) = (Vec::new(), Vec::new());
    let mut conflict_note = String::new();
    for r in 0..o.rounds {
        eprintln!(
            "footprint: {}: 500 services, round {}: ten at once, stray, hung",
            h.name(),
            r + 1
        );
        let t = scenarios::ten_at_once(h);
        healed.push(t.healed as f64);
        resolved.extend(t.resolved.map(|n| n as f64));
        spread.extend(t.spread_ms);
        last.extend(t.last_ms);
        if conflict_note.is_empty() {
            let timeout = Duration::from_secs(75);
            let round = scenarios::port_conflict(h, timeout);
            if round.heal_ms.is_none() {
                conflict_note = format!(
                    "not healed within {} s in round {}; the stray {}; later rounds skipped",
                    timeout.as_secs(),
                    r + 1,
                    if round.stray_held {
                        "still held the port"
                    } else {
                        "was gone"
                    }
                );
            }
            conflicts.push(round);
        }
        hangs.push(scenarios::hung(h));
    }
    add(
        "ten/healed".into(),
        "ten `kill -9` at once: healed",
        500,
        PORT_30,
        "of 10",
        healed,
        String::new(),
    );
    add(
        "ten/resolved".into(),
        "ten at once: reported RESOLVED",
        500,
        PORT_30,
        "of 10",
        resolved,
        String::new(),
    );
    add(
        "ten/spread".into(),
        "ten at once: first to last active",
        500,
        PORT_30,
        "ms",
        spread,
        String::new(),
    );
    add(
        "ten/last".into(),
        "ten at once: down -> last active",
        500,
        PORT_30,
        "ms",
        last,
        String::new(),
    );
    let heal: Vec<f64> = conflicts.iter().filter_map(|r| r.heal_ms).collect();
    add(
        "conflict/heal".into(),
        "stray process on the port: until the service owns it again",
        500,
        PORT_30,
        "ms",
        heal,
        conflict_note,
    );
    record(add, "hung", "`kill -STOP` (hung)", 500, &hangs);
}
