//! MiracleMax's cost at rest and its behaviour at scale, side by side with Monit, on two
//! testbed hosts at the same time (one healer each, the same services and probe rate).
//!
//! Per size (1, 50, 500 cheap services, `fp@.service` running `mm-listen`): VmRSS and RssAnon at
//! rest, idle CPU over a window, the VmHWM peak after heals. At 1 and 500: `kill -9` and
//! `systemctl stop` of one service (detection, down -> active), and at 500 ten killed at once,
//! a stray process on a port, a hung (SIGSTOPped) process. MiracleMax alone also at 50 services
//! with its default interval and HTTP probes, then with 300 extra processes on the host.
//!
//! Writes results/footprint.{json,md,png} and the README's footprint section.
//! Run as root: `cargo bench --features plot --bench footprint`; FP_IDLE_SECS (120), FP_ROUNDS (3),
//! FP_SETTLE_SECS (15). `FP_REPORT_ONLY=1` boots nothing: it judges the targets again from the
//! figures in results/footprint.json and rewrites the Markdown, the plot and the README section.
//! `FP_HOLD=SERVICES,INTERVAL_SECS[,http][,channels][,rules][,checks]` measures nothing: it boots one host, starts that many
//! services under MiracleMax and holds them until stdin closes, printing the daemon's PID (as the
//! machine sees it) for `perf`, `strace` and /proc/PID/smaps. `FP_ORDER=1` writes link/at-rest.ld,
//! the functions the daemon runs at rest, which the release build puts side by side
//! (benches/footprint/order.rs). `FP_AB=DIR` (another build's `target/release`) or `FP_AB=monit`
//! measures this build's idle CPU beside that one on two hosts over the same windows
//! (`FP_WINDOWS`, 6, of `FP_IDLE_SECS`), in `FP_HOLD`'s setting (`50,10,http,rules` if unset),
//! and prints each window's ratio (benches/footprint/ab.rs); `FP_AB_UNIT` (lines such as
//! `RestrictSUIDSGID=no`) goes in a drop-in of the other side's unit.

#[path = "../tests/e2e/support.rs"]
mod support;

#[path = "footprint/ab.rs"]
mod ab;
#[path = "footprint/healers.rs"]
mod healers;
#[path = "footprint/lab.rs"]
mod lab;
#[path = "footprint/order.rs"]
mod order;
#[path = "footprint/plot.rs"]
mod plot;
#[path = "footprint/report.rs"]
mod report;
#[path = "footprint/run.rs"]
mod run;
#[path = "footprint/scenarios.rs"]
mod scenarios;
#[path = "footprint/targets.rs"]
mod targets;

use healers::{Healer, Kind};
use mm_testbed::{Release, Testbed};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    json!({
        "kernel": sh("uname", &["-r"]),
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "memory_gib": (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
    })
}

const METHOD: &str = "Two testbed hosts (systemd-nspawn, Debian 12) run at the same time, one per healer, \
so their idle windows overlap and each latency round of one healer runs alongside a round of the \
other. Services: one template unit fp@.service (Type=notify, no Restart=, StartLimitIntervalSec=0); \
instance i runs mm-listen, a std-only Rust listener answering HTTP 200 on port 20000+i, and writes \
/run/fp-i.pid. MiracleMax watches each with `port:` and healing_strategies [service_restart, \
port_conflict, kill_hung], its other limits at their defaults but check_interval and heal_attempts \
1000; Monit (5.33, Debian's package) has `check process fpI with pidfile /run/fp-I.pid`, start and \
stop through systemctl and `if failed port P then restart`. Service 1 has an HTTP probe with a 2 s \
timeout in both (`health: {path: /, timeout: 2s}`; `if failed port P protocol http with timeout 2 \
seconds then restart`), the only way to see a hung process. Both at the same probe rate: MiracleMax \
check_interval 30s, Monit `set daemon 30`. Each setting restarts the healer, waits the settle period \
(with the metrics file, at least three check intervals and 5 s: its start-up writes, the first looks' and \
the one that corrects their probe latencies, come before rest), \
then reads the CPU time of the healer's unit (usage_usec of its cgroup's cpu.stat: every thread and \
child, in microseconds) and /proc/uptime at the start and end of the idle window: idle CPU = CPU \
time / elapsed, in % of one core (from /proc/PID/stat's utime+stime+cutime+cstime, 10 ms ticks, for \
a healer that is not a unit of its own). VmRSS and RssAnon are read from \
/proc/PID/status at the end of the window, with its threads (/proc/PID/task/*/comm: MiracleMax's \
blocking pool, named miraclemax-io, started on demand and kept a minute after its last task, counted \
apart); what it wrote to files in the window is the difference of write_bytes in /proc/PID/io; \
VmHWM after the heals of that size (one kill -9 at 50). MiracleMax alone also runs 50 services with \
HTTP probes at its default 10 s interval, then the same with 300 idle processes added, then with five \
report channels besides email (ntfy, webhook, slack, telegram, gotify, to an unused port of the \
gateway: nothing is reported at rest) and the metrics file in node_exporter's folder, whose \
modification time is read at both ends of the window, then without those and with resource rules \
on every service (`limits: {memory: 1GiB, cpu: 90%, tasks: 500, fds: 2000}`: every figure read at \
each look, none crossed). \
Only the healer's own process is counted (not systemd, dbus or the services). Breakages use \
systemd's own timestamps: down = InactiveEnterTimestamp (for `systemctl stop`, the host clock as it returns: systemd unloads the stopped instance with its timestamps; for the stray and the hung process, the host clock), back = ActiveEnterTimestamp (the service is \
ready only once its port is bound). Detection: MiracleMax's `detected` event (time_ms in \
/var/lib/miraclemax/events.jsonl) minus the down time; Monit writes no event before acting, so its \
figure is its restart reaching systemd (InactiveExitTimestamp), and for the hung case there is none (its restart stops the unit, and systemd unloads a stopped template instance with its timestamps). \
kill -9 and stop hit service 1 at 1 service and service 250 at 500, in three times as many rounds \
for MiracleMax as for Monit (its detection is a few ms, judged as a ratio of medians, where one \
scheduling delay moves a median of three by half). Ten at once: `systemctl kill -s \
KILL --kill-whom=main` of services 11-20 in one command; spread = last minus first ActiveEnter. Stray \
on the port: service 2 gets an ExecStopPost drop-in that starts a stray mm-listen on its port (a \
transient unit, outside the service's cgroup, ready before the stop completes), then is stopped; time \
from the stop to the service active again (so owning its port); 75 s allowed, and for a healer that \
misses it in a round the later rounds are skipped. Hung: `kill -STOP` of service 1's main PID; time \
to active again (a new process). Each round ends with 4 s for the healer to settle; a service left \
down is started by hand and the round counts as not healed. Figures are the median over rounds, with \
the spread (min-max). Monit's times depend on where in its 30 s cycle a break falls (0-30 s, about 15 s \
on average, plus the restart); the rounds are not aligned with its cycle, but they are evenly spaced, so \
they can fall at similar points of it.";

fn join(mm: Vec<run::Measure>, monit: Vec<run::Measure>) -> Vec<Value> {
    let mut keys: Vec<&run::Measure> = mm.iter().collect();
    keys.extend(monit.iter().filter(|m| !mm.iter().any(|x| x.key == m.key)));
    keys.iter()
        .map(|m| {
            let pick = |list: &[run::Measure]| {
                list.iter()
                    .find(|x| x.key == m.key)
                    .map_or(Value::Null, |x| report::stat(&x.values))
            };
            let notes: Vec<String> = [("MiracleMax", &mm), ("Monit", &monit)]
                .iter()
                .filter_map(|(who, list)| {
                    let x = list.iter().find(|x| x.key == m.key)?;
                    (!x.note.is_empty()).then(|| format!("{who}: {}", x.note))
                })
                .collect();
            json!({
                "what": m.what, "services": m.services, "setting": m.setting, "unit": m.unit,
                "miraclemax": pick(&mm), "monit": pick(&monit), "note": notes.join("; "),
            })
        })
        .collect()
}

/// The setting of `FP_HOLD` and `FP_AB`: `50,30` or `50,10,http,rules`.
fn setting(spec: &str) -> healers::Setting {
    let mut parts = spec.split(',').map(|v| v.trim().parse::<u64>().ok());
    let (Some(Some(services)), Some(Some(interval_secs))) = (parts.next(), parts.next()) else {
        panic!(
            "FP_HOLD={spec}: say SERVICES,INTERVAL_SECS[,http][,channels][,rules][,checks], e.g. 50,10,http"
        );
    };
    healers::Setting {
        services: services as usize,
        interval_secs,
        http_all: spec.contains(",http"),
        channels: spec.contains(",channels"),
        rules: spec.contains(",rules"),
        checks: spec.contains(",checks"),
    }
}

/// `FP_HOLD`: one host, MiracleMax watching the services of `spec`, held for profiling until
/// stdin closes.
fn hold(spec: &str) {
    let setting = setting(spec);
    let (services, interval_secs) = (setting.services, setting.interval_secs);
    let listener = lab::build_listener();
    let tb = Testbed::start_on(&[Release::Bookworm]).expect("the testbed needs root");
    let _smtp = support::Smtp::start(tb.host(0).gateway());
    let h = Healer {
        kind: Kind::MiracleMax,
        host: tb.host(0),
    };
    lab::install_services(h.host, &listener);
    lab::start_services(h.host, services);
    h.configure(&setting);
    let host_pid = h.pid();
    let pid = sh("pgrep", &["-n", "-x", "miraclemax-self"]);
    eprintln!(
        "footprint: holding {services} services at {interval_secs} s; daemon PID {host_pid} on the host, {pid} on this machine; close stdin to end"
    );
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).ok();
}

/// `FP_AB`: this build beside `other` (a build's folder, or `monit`) in `FP_HOLD`'s setting.
fn compare(other: &str, o: &run::Options) {
    let spec = std::env::var("FP_HOLD").unwrap_or_else(|_| "50,10,http,rules".into());
    let unit_settings = std::env::var("FP_AB_UNIT").unwrap_or_default();
    let windows = env_or("FP_WINDOWS", 6) as usize;
    ab::compare(
        &ab::Other::parse(other),
        &unit_settings,
        &setting(&spec),
        windows,
        o,
    );
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("FP_REPORT_ONLY").is_some() {
        let path = repo.join("results/footprint.json");
        let text = std::fs::read_to_string(&path).expect("results/footprint.json from a full run");
        let mut doc: Value = serde_json::from_str(&text).expect("results/footprint.json");
        let figures = doc["figures"].as_array().cloned().unwrap_or_default();
        doc["targets"] = json!(targets::evaluate(&figures));
        write_all(repo, &doc);
        return;
    }
    let options = || run::Options {
        idle_secs: env_or("FP_IDLE_SECS", 120),
        settle_secs: env_or("FP_SETTLE_SECS", 15),
        rounds: env_or("FP_ROUNDS", 3) as usize,
        clk_tck: sh("getconf", &["CLK_TCK"]).parse().unwrap_or(100.0),
    };
    if let Ok(other) = std::env::var("FP_AB") {
        return compare(&other, &options());
    }
    if let Ok(spec) = std::env::var("FP_HOLD") {
        return hold(&spec);
    }
    if std::env::var_os("FP_ORDER").is_some() {
        return order::write_script(repo);
    }
    let started = Instant::now();
    let o = options();
    let listener = lab::build_listener();
    eprintln!("footprint: booting two testbed hosts");
    // Debian 12, as the recorded results and the method (Monit 5.33) say.
    let tb = Testbed::start_on(&[Release::Bookworm; 2]).expect("the testbed needs root");
    let _smtp = support::Smtp::start(tb.host(0).gateway());
    let healers = [
        Healer {
            kind: Kind::MiracleMax,
            host: tb.host(0),
        },
        Healer {
            kind: Kind::Monit,
            host: tb.host(1),
        },
    ];
    let results: Vec<Vec<run::Measure>> = std::thread::scope(|s| {
        let handles: Vec<_> = healers
            .iter()
            .map(|h| {
                let (o, listener) = (&o, &listener);
                s.spawn(move || {
                    lab::install_services(h.host, listener);
                    run::run(h, o)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    drop(tb);
    let [mm, monit]: [Vec<run::Measure>; 2] = results.try_into().ok().unwrap();
    let figures = join(mm, monit);
    let doc = json!({
        "date": sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        "command": "cargo bench --features plot --bench footprint",
        "machine": machine(),
        "settings": {"idle_secs": o.idle_secs, "settle_secs": o.settle_secs, "rounds": o.rounds},
        "settings_text": format!(
            "idle window {} s after {} s to settle, {} rounds per breakage ({} for MiracleMax's kill -9 and stop)",
            o.idle_secs,
            o.settle_secs,
            o.rounds,
            o.rounds * run::DETECTION_ROUNDS_FACTOR
        ),
        "wall_secs": started.elapsed().as_secs(),
        "method": METHOD,
        "targets": targets::evaluate(&figures),
        "figures": figures,
    });

    write_all(repo, &doc);
    eprintln!(
        "footprint: wrote results/footprint.{{json,md,png}} and the README section in {} s",
        started.elapsed().as_secs()
    );
}

/// results/footprint.{json,md,png} and the README's section, all from `doc`.
fn write_all(repo: &Path, doc: &Value) {
    let dir = repo.join("results");
    std::fs::create_dir_all(&dir).unwrap();
    let json_text = serde_json::to_string_pretty(doc).unwrap() + "\n";
    std::fs::write(dir.join("footprint.json"), json_text).unwrap();
    let mut markdown = report::results_markdown(doc);
    if let Some(before) = std::fs::read_to_string(dir.join("before/footprint.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    {
        markdown.push_str(&report::before_after(&before, doc));
    }
    std::fs::write(dir.join("footprint.md"), markdown).unwrap();
    if let Err(e) = plot::draw(
        doc["figures"].as_array().unwrap(),
        &dir.join("footprint.png"),
    ) {
        eprintln!("footprint: cannot draw the plot: {e}");
    }
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let section = report::readme_section(doc);
    let readme = report::with_section(&readme, &section);
    assert_eq!(report::section_of(&readme), Some(section.as_str()));
    std::fs::write(repo.join("README.md"), readme).unwrap();
    println!("{}", report::results_markdown(doc));
}
