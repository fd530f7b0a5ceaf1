//! `FP_AB=DIR|monit` with `FP_HOLD`'s setting: this build's idle CPU beside another build's
//! (the daemon in DIR, e.g. another checkout's `target/release`) or beside Monit, on two hosts
//! at the same time, window by window. On this shared machine a figure taken at one moment is
//! not comparable with one taken an hour later; two healers measured over the same windows are.
//! Halfway through, the two MiracleMax builds swap hosts, so neither keeps a host's bias.

use super::healers::{Healer, Kind, Setting};
use super::lab;
use super::run::Options;
use mm_testbed::{Host, Release, Testbed};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What runs beside this build.
pub enum Other {
    Build(PathBuf),
    Monit,
}

impl Other {
    pub fn parse(value: &str) -> Other {
        if value == "monit" {
            return Other::Monit;
        }
        let dir = PathBuf::from(value);
        assert!(
            dir.join("miraclemax-self-heal").is_file(),
            "FP_AB={value}: no miraclemax-self-heal there; give a build's folder (target/release) or monit"
        );
        Other::Build(dir)
    }

    fn name(&self) -> String {
        match self {
            Other::Build(dir) => format!("the build in {}", dir.display()),
            Other::Monit => "Monit".into(),
        }
    }
}

fn this_build() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
        .parent()
        .unwrap()
        .to_path_buf()
}

const UNIT: &str = "miraclemax-self-heal.service";

/// Where `FP_AB_UNIT`'s settings go on the other side's host.
const DROP_IN: &str = "/etc/systemd/system/miraclemax-self-heal.service.d/ab.conf";

/// Puts the daemon of `dir` on `host` in place of the running one (a running program's file
/// cannot be written over), with `unit_settings` in a drop-in of its unit (none if empty), and
/// starts it.
fn put_daemon(host: &Host, dir: &Path, unit_settings: &str) {
    host.ssh_ok(&["systemctl", "stop", UNIT]).unwrap();
    host.copy(
        &dir.join("miraclemax-self-heal"),
        "/usr/local/bin/miraclemax-self-heal",
    )
    .unwrap();
    if unit_settings.is_empty() {
        host.ssh_ok(&["rm", "-f", DROP_IN]).unwrap();
    } else {
        host.write(DROP_IN, &format!("[Service]\n{unit_settings}\n"))
            .unwrap();
    }
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", UNIT]).unwrap();
}

/// Idle CPU (% of a core) of each healer over the same window.
fn window(healers: &[Healer; 2], o: &Options) -> [f64; 2] {
    let pids = healers.each_ref().map(Healer::pid);
    let a = [0, 1].map(|i| lab::sample(healers[i].host, pids[i]));
    std::thread::sleep(Duration::from_secs(o.idle_secs));
    let b = [0, 1].map(|i| lab::sample(healers[i].host, pids[i]));
    [0, 1].map(|i| lab::cpu_pct(&a[i], &b[i], o.clk_tck))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `unit_settings`: lines for the other side's unit (`FP_AB_UNIT`, e.g. `RestrictSUIDSGID=no`),
/// to measure what a setting of the unit costs; with `FP_AB` this build's own folder, the same
/// daemon runs on both sides.
pub fn compare(other: &Other, unit_settings: &str, setting: &Setting, windows: usize, o: &Options) {
    let listener = lab::build_listener();
    let tb = Testbed::start_on(&[Release::Bookworm; 2]).expect("the testbed needs root");
    let _smtp = crate::support::Smtp::start(tb.host(0).gateway());
    let kind_b = match other {
        Other::Build(_) => Kind::MiracleMax,
        Other::Monit => Kind::Monit,
    };
    let healers = [
        Healer {
            kind: Kind::MiracleMax,
            host: tb.host(0),
        },
        Healer {
            kind: kind_b,
            host: tb.host(1),
        },
    ];
    for h in &healers {
        lab::install_services(h.host, &listener);
        lab::start_services(h.host, setting.services);
        h.configure(setting);
    }
    let mine = this_build();
    // builds[i]: which build runs on host i (0 this one, 1 the other).
    let mut builds = [0, 1];
    if let Other::Build(dir) = other {
        put_daemon(healers[1].host, dir, unit_settings);
    }
    eprintln!(
        "footprint: this build beside {}{}; {windows} windows of {} s after {} s to settle",
        other.name(),
        if unit_settings.is_empty() {
            String::new()
        } else {
            format!(" with {unit_settings:?} in its unit")
        },
        o.idle_secs,
        o.settle_secs
    );
    std::thread::sleep(Duration::from_secs(o.settle_secs));
    let mut rows: Vec<[f64; 2]> = Vec::new();
    for w in 0..windows {
        if let Other::Build(dir) = other
            && w == windows / 2
            && w > 0
        {
            builds = [1, 0];
            put_daemon(healers[0].host, dir, unit_settings);
            put_daemon(healers[1].host, &mine, "");
            eprintln!("footprint: the builds swap hosts");
            std::thread::sleep(Duration::from_secs(o.settle_secs));
        }
        let by_host = window(&healers, o);
        let mut row = [0.0; 2];
        for host in 0..2 {
            row[builds[host]] = by_host[host];
        }
        eprintln!(
            "footprint: window {}: this build {:.3} %, other {:.3} % (host {} has this build)",
            w + 1,
            row[0],
            row[1],
            builds.iter().position(|b| *b == 0).unwrap()
        );
        rows.push(row);
    }
    let a = median(rows.iter().map(|r| r[0]).collect());
    let b = median(rows.iter().map(|r| r[1]).collect());
    let ratios = median(rows.iter().map(|r| r[0] / r[1]).collect());
    println!("| window | this build | {} | ratio |", other.name());
    println!("|---|---|---|---|");
    for (i, r) in rows.iter().enumerate() {
        println!(
            "| {} | {:.3} % | {:.3} % | {:.2}x |",
            i + 1,
            r[0],
            r[1],
            r[0] / r[1]
        );
    }
    println!("| median | {a:.3} % | {b:.3} % | {ratios:.2}x |");
}
