//! `FP_ORDER=1`: which functions of the daemon run at rest, found exactly (an uprobe on the
//! entry of every function of the binary the host runs, counted by the kernel), written as the
//! linker script link/at-rest.ld that puts them side by side at the start of the code.
//!
//! Why: each first touch of a code page maps the 64 KiB around it (the kernel's fault-around),
//! so a few hundred small functions spread over a 4 MB text keep most of it resident. Sampling
//! (`perf record`) misses the functions that run a few times a minute; an entry probe does not.
//!
//! The script names input sections (`.text.SYMBOL`, one per function) with the symbol's hash
//! and crate disambiguators as wildcards: they differ between builds for another target (the
//! deployed binaries are built with `--target`), while the paths stay. So a pattern can also
//! take in other instances of a generic function, and a function renamed since the script was
//! written just stays where the linker puts it: the script only makes things closer, never
//! wrong.

use crate::healers::{Healer, Kind, Setting};
use crate::lab;
use mm_testbed::{Release, Testbed};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const TRACEFS: &str = "/sys/kernel/tracing";
const GROUP: &str = "mmatrest";

/// One function of the binary: where its code starts in the file, and its symbol.
struct Function {
    offset: u64,
    symbol: String,
}

pub fn write_script(repo: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"));
    let functions = functions(bin);
    assert!(
        functions.len() > 1000,
        "{}: {} functions; the binary needs its symbols (not stripped)",
        bin.display(),
        functions.len()
    );
    let listener = lab::build_listener();
    let tb = Testbed::start_on(&[Release::Bookworm]).expect("the testbed needs root");
    let _smtp = crate::support::Smtp::start(tb.host(0).gateway());
    let h = Healer {
        kind: Kind::MiracleMax,
        host: tb.host(0),
    };
    lab::install_services(h.host, &listener);
    lab::start_services(h.host, 500);
    mount_tracefs();
    // One setting that runs every kind of work rest has: port probes on 500 services, an HTTP
    // probe (service 1), five report channels and the metrics file. One daemon, probed once
    // it is at rest: a restart under 12,000 probes would count its start-up too, and taking
    // the probes out again takes the kernel minutes.
    // Each probe hit costs the daemon a trap: a look at 500 services then takes longer than the
    // unit's 8 s watchdog allows, so the watchdog is widened (the beat still runs, every 2 min).
    let dropin = "/etc/systemd/system/miraclemax-self-heal.service.d/order.conf";
    h.host
        .write(dropin, "[Service]\nWatchdogSec=240\n")
        .unwrap();
    let (interval_secs, window) = (30, 180);
    h.configure(&Setting {
        services: 500,
        interval_secs,
        http_all: false,
        channels: true,
        // Rules on every service: the same path as without, and the cgroup reads besides.
        rules: true,
        checks: false,
    });
    // Past the start-up, the first looks and the shed that follows them.
    std::thread::sleep(Duration::from_secs(interval_secs * 2 + 5));
    let pid = crate::sh("pgrep", &["-n", "-x", "miraclemax-self"]);
    let probes = Probes::register(
        &format!("/proc/{pid}/root/usr/local/bin/miraclemax-self-heal"),
        &functions,
    );
    let before = probes.counts();
    eprintln!("footprint: 500 services at {interval_secs} s: counting calls for {window} s");
    std::thread::sleep(Duration::from_secs(window));
    let mut hits: BTreeMap<usize, u64> = BTreeMap::new();
    for (i, n) in probes.counts() {
        let new = n.saturating_sub(before.get(&i).copied().unwrap_or(0));
        if new > 0 {
            hits.insert(i, new);
        }
    }
    let still = crate::sh("pgrep", &["-n", "-x", "miraclemax-self"]);
    assert_eq!(
        still, pid,
        "the daemon restarted while its calls were counted"
    );
    eprintln!("footprint: removing the probes (a few minutes)");
    drop(probes);
    drop(tb);
    let mut hot: Vec<(u64, &str)> = hits
        .iter()
        .map(|(&i, &n)| (n, functions[i].symbol.as_str()))
        .collect();
    hot.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let path = repo.join("link/at-rest.ld");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, script(&hot)).unwrap();
    eprintln!(
        "footprint: {} functions ran at rest; wrote {}",
        hot.len(),
        path.display()
    );
}

/// The binary's functions (`nm`), with their file offsets (from its program headers).
fn functions(bin: &Path) -> Vec<Function> {
    let headers = crate::sh("readelf", &["-lW", bin.to_str().unwrap()]);
    // LOAD  offset  vaddr  paddr  filesz ...
    let loads: Vec<(u64, u64, u64)> = headers
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first() != Some(&"LOAD") {
                return None;
            }
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            Some((hex(f[1])?, hex(f[2])?, hex(f[4])?))
        })
        .collect();
    let symbols = crate::sh("nm", &["--defined-only", "-S", bin.to_str().unwrap()]);
    let mut seen = std::collections::HashSet::new();
    symbols
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [addr, size, kind, symbol] = f[..] else {
                return None;
            };
            if !matches!(kind, "t" | "T" | "w" | "W") || size.trim_start_matches('0').is_empty() {
                return None;
            }
            let addr = u64::from_str_radix(addr, 16).ok()?;
            let (off, vaddr, _) = loads
                .iter()
                .find(|(_, v, len)| (*v..v + len).contains(&addr))?;
            seen.insert(addr).then(|| Function {
                offset: addr - vaddr + off,
                symbol: symbol.to_string(),
            })
        })
        .collect()
}

fn mount_tracefs() {
    if !Path::new(TRACEFS).join("uprobe_events").exists() {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tracefs", "nodev", TRACEFS])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "cannot mount tracefs on {TRACEFS}: FP_ORDER needs uprobes"
        );
    }
}

/// An entry uprobe on every function, counted by the kernel (uprobe_profile); nothing is
/// traced (tracing_on is left as it was, the events only count their hits).
struct Probes {
    /// Probes f0 .. f{count - 1}, one per function in the list given to `register`.
    count: usize,
}

impl Probes {
    fn register(path: &str, functions: &[Function]) -> Probes {
        let events = Path::new(TRACEFS).join("uprobe_events");
        let mut lines = String::new();
        for (i, f) in functions.iter().enumerate() {
            lines.push_str(&format!("p:{GROUP}/f{i} {path}:0x{:x}\n", f.offset));
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&events)
            .unwrap();
        std::io::Write::write_all(&mut file, lines.as_bytes()).unwrap();
        // A few entries cannot take a probe (the kernel says ENOTSUPP): they are left out.
        let _ = std::fs::write(
            Path::new(TRACEFS).join("events").join(GROUP).join("enable"),
            "1",
        );
        Probes {
            count: functions.len(),
        }
    }

    /// Calls so far per function (its index in the list given to `register`).
    fn counts(&self) -> BTreeMap<usize, u64> {
        let profile = std::fs::read_to_string(Path::new(TRACEFS).join("uprobe_profile")).unwrap();
        profile
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let [_, name, hits, ..] = f[..] else {
                    return None;
                };
                let i: usize = name.strip_prefix('f')?.parse().ok()?;
                Some((i, hits.parse().ok()?))
            })
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        let _ = std::fs::write(
            Path::new(TRACEFS).join("events").join(GROUP).join("enable"),
            "0",
        );
        let removal: String = (0..self.count)
            .map(|i| format!("-:{GROUP}/f{i}\n"))
            .collect();
        let events = Path::new(TRACEFS).join("uprobe_events");
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(events) {
            let _ = std::io::Write::write_all(&mut file, removal.as_bytes());
        }
    }
}

/// The linker script: the functions in `hot` (most called first) as input-section patterns.
fn script(hot: &[(u64, &str)]) -> String {
    let mut out = String::from(
        "/* Generated by `FP_ORDER=1 cargo bench --features plot --bench footprint` (benches/footprint/order.rs):\n   \
         the functions miraclemax-self-heal ran at rest on a test host, most called first, put\n   \
         side by side before the rest of the code so that rest keeps few code pages resident.\n   \
         build.rs hands it to the linker for release builds of the daemon. Regenerate it when\n   \
         the daemon's code at rest changes; a stale one only makes the layout less tight. */\n\
         SECTIONS {\n  .text.at_rest : {\n",
    );
    let mut seen = std::collections::HashSet::new();
    for (_, symbol) in hot {
        for pattern in patterns(symbol) {
            if seen.insert(pattern.clone()) {
                out.push_str(&format!("    *({pattern})\n"));
            }
        }
    }
    out.push_str("  }\n} INSERT BEFORE .text;\n");
    out
}

/// The input sections that hold `symbol` in any build: `.text.` and the symbol, with what
/// changes between builds (hashes, crate disambiguators, LTO's numeric suffixes) as `*`.
fn patterns(symbol: &str) -> Vec<String> {
    let base = strip_numeric_suffix(symbol);
    if let Some(path) = base.strip_prefix("_ZN") {
        // Legacy mangling: ..17h<16 hex digits>E, the hash last.
        let path = match path.rfind("17h") {
            Some(at) if path.len() == at + 3 + 16 + 1 && path.ends_with('E') => &path[..at + 3],
            _ => path,
        };
        vec![format!(".text._ZN{path}*")]
    } else if base.starts_with("_R") {
        // v0 mangling: each crate root is C, s<base62>_ (its disambiguator), then its name.
        let mut p = String::new();
        let mut rest = base;
        while let Some(at) = rest.find("Cs") {
            p.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            match rest.find('_') {
                Some(end) if rest[..end].chars().all(|c| c.is_ascii_alphanumeric()) => {
                    p.push_str("*_");
                    rest = &rest[end + 1..];
                }
                _ => {}
            }
        }
        p.push_str(rest);
        vec![format!(".text.{p}*")]
    } else {
        vec![format!(".text.{base}"), format!(".text.{base}.*")]
    }
}

/// `name.1234` and `name.llvm.1234` (names LTO gives local copies) as `name`.
fn strip_numeric_suffix(symbol: &str) -> &str {
    let mut s = symbol;
    loop {
        match s.rsplit_once('.') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                s = head.strip_suffix(".llvm").unwrap_or(head);
            }
            _ => return s,
        }
    }
}
