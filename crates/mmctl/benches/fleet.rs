//! mmctl on a big fleet: validate, render and add-service on an inventory of 100 hosts with 50
//! services each, next to `ansible-inventory --list` reading the same inventory (the least any
//! Ansible run does before it starts). Wall time of the real binaries, median of 5 runs, spread
//! in brackets. Needs the project's .venv (scripts/install-deps). Writes results/mmctl-fleet.md.
//!
//!   cargo bench -p mmctl --bench fleet

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const HOSTS: usize = 100;
const SERVICES: usize = 50;
const RUNS: usize = 5;

/// Four groups of 25 hosts; each host its own list of 50 services in host_vars, a comment per
/// entry, as a real inventory of that size would be kept.
fn write_inventory(dir: &Path) {
    std::fs::create_dir_all(dir.join("host_vars")).unwrap();
    std::fs::create_dir_all(dir.join("group_vars")).unwrap();
    let mut hosts = String::from("---\n# A large fleet.\nall:\n  children:\n");
    for g in 0..4 {
        hosts.push_str(&format!("    site{g}:\n      hosts:\n"));
        for h in (g * HOSTS / 4)..((g + 1) * HOSTS / 4) {
            hosts.push_str(&format!(
                "        host{h:03}:\n          ansible_host: 10.{g}.0.{h}\n"
            ));
        }
    }
    std::fs::write(dir.join("hosts.yml"), hosts).unwrap();
    std::fs::write(
        dir.join("group_vars/all.yml"),
        "heartbeat_ping_url: https://hc.example.org/ping/fleet\nself_healing_limits: {check_interval: 10s}\n",
    )
    .unwrap();
    for h in 0..HOSTS {
        let mut vars = String::from("monitored_services:\n");
        for s in 0..SERVICES {
            vars.push_str(&format!(
                "  # service {s} of host {h}\n  - name: app{s}\n    port: {}\n    domain: app{s}.host{h:03}.example.org\n    \
                 critical: true\n    healing_strategies: [service_restart, port_conflict]\n",
                3000 + s
            ));
        }
        vars.push_str("healthcheck_services: [app0, app1]\n");
        std::fs::write(dir.join(format!("host_vars/host{h:03}.yml")), vars).unwrap();
    }
}

fn time(mut cmd: Command) -> Vec<f64> {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let out = cmd.output().expect("runs");
            assert!(
                out.status.success(),
                "{:?}: {}",
                cmd,
                String::from_utf8_lossy(&out.stderr)
            );
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The most of ansible-inventory --list's time an mmctl command may take.
const TARGET: f64 = 0.2;

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "mmctl"])
        .current_dir(&repo)
        .status()
        .unwrap();
    assert!(status.success());
    let mmctl = repo.join("target/release/mmctl");
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory");
    write_inventory(&inv);
    let i = inv.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::new(&mmctl);
        c.arg("-i").arg(i).args(args);
        c
    };
    let mut ansible = Command::new(repo.join(".venv/bin/ansible-inventory"));
    ansible
        .args(["-i", i, "--list"])
        .env("ANSIBLE_NOCOLOR", "1");
    let rows = [
        (
            "mmctl validate (every host's configuration checked)",
            time(run(&["validate"])),
        ),
        ("mmctl render host050", time(run(&["render", "host050"]))),
        (
            "mmctl add-service --host host050 --dry-run",
            time(run(&[
                "add-service",
                "new",
                "--port",
                "9999",
                "--host",
                "host050",
                "--dry-run",
            ])),
        ),
        ("mmctl list --json", time(run(&["list", "--json"]))),
        ("ansible-inventory --list", time(ansible)),
    ];
    let base = median(rows[4].1.clone()).0;
    let mut md = format!(
        "# mmctl on a fleet of {HOSTS} hosts x {SERVICES} services\n\n\
         `cargo bench -p mmctl --bench fleet`, {} UTC. Wall time of the release binary, median of \
         {RUNS} runs (spread in brackets); ansible-inventory (ansible-core from the project's .venv) \
         reads the same inventory, the least an Ansible run does before its first task.\n\n\
         | command | median | spread | / ansible-inventory --list |\n|---|---|---|---|\n",
        String::from_utf8_lossy(
            &Command::new("date")
                .args(["-u", "+%Y-%m-%d %H:%M"])
                .output()
                .unwrap()
                .stdout
        )
        .trim()
    );
    let mut missed = Vec::new();
    for (what, times) in rows {
        let (m, lo, hi) = median(times);
        md.push_str(&format!(
            "| {what} | {m:.0} ms | {lo:.0}-{hi:.0} ms | {:.2} |\n",
            m / base
        ));
        if what.starts_with("mmctl") && m / base > TARGET {
            missed.push(what);
        }
    }
    md.push_str(&format!(
        "\nTarget: each mmctl command at most {TARGET} of ansible-inventory --list (5x faster): {}.\n",
        if missed.is_empty() {
            "met".to_string()
        } else {
            format!("MISSED by {}", missed.join(", "))
        }
    ));
    print!("{md}");
    std::fs::create_dir_all(repo.join("results")).unwrap();
    std::fs::write(repo.join("results/mmctl-fleet.md"), md).unwrap();
}
