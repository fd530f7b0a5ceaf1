//! Wall time and peak memory of one `miraclemax-heartbeat` run against a local
//! Healthchecks-contract server, next to `curl -fsS -m 10 --retry 5` sending the same ping
//! with a body of the same size. Wall time from spawn to exit, peak RSS from GNU time's `%M`;
//! medians of ROUNDS runs
//! (default 25). The heartbeat does more per run (reads state, events, builds the summary,
//! writes its log and record): the ratio says what that costs.

use mm_testbed::healthchecks::Healthchecks;
use std::path::Path;
use std::process::Command;

/// (wall ms, peak RSS KiB): wall time from spawn to exit, memory from GNU time's `%M`.
fn measure(argv: &[&str]) -> (f64, f64) {
    let started = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .args(argv)
        .output()
        .expect("GNU time is installed by scripts/install-deps");
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "{argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default().to_string();
    (wall, last.trim().parse::<f64>().unwrap())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[allow(clippy::too_many_lines)] // the benchmark's scenario, its steps in the order they run
fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(25);
    let hc = Healthchecks::start("127.0.0.1".parse().unwrap()).unwrap();
    let url = hc.add_check();
    let dir = std::env::temp_dir().join(format!("mm-hb-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!("host: bench\nmonitored_services:\n  - name: web\n    port: 8080\n  - name: db\n    port: 5432\nheartbeat:\n  ping_url: {url}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("state/alive"),
        format!("{} 0\n", std::process::id()),
    )
    .unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let heartbeat = Path::new(env!("CARGO_BIN_EXE_miraclemax-heartbeat"))
        .to_str()
        .unwrap()
        .to_string();
    let hb_argv = [
        heartbeat.as_str(),
        "--quiet",
        "--config",
        &p("config.yaml"),
        "--state-dir",
        &p("state"),
        "--log-file",
        &p("hb.log"),
    ];
    // curl sends a body as large as the heartbeat's summary.
    measure(&hb_argv);
    let body_len = hc.pings().last().map_or(300, |p| p.body.len());
    std::fs::write(dir.join("body.txt"), "x".repeat(body_len)).unwrap();
    let body_arg = format!("@{}", p("body.txt"));
    let curl_argv = [
        "curl",
        "-fsS",
        "-m",
        "10",
        "--retry",
        "5",
        "-o",
        "/dev/null",
        "--data-binary",
        &body_arg,
        &url,
    ];

    let (mut hb_t, mut hb_m, mut c_t, mut c_m) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let (t, m) = measure(&hb_argv);
        hb_t.push(t);
        hb_m.push(m);
        let (t, m) = measure(&curl_argv);
        c_t.push(t);
        c_m.push(m);
    }
    let delivered = hc.pings().len();
    assert_eq!(
        delivered,
        2 * rounds + 1,
        "every run's ping was counted by the server"
    );
    let (ht, hm, ct, cm) = (median(hb_t), median(hb_m), median(c_t), median(c_m));
    println!(
        "\nOne heartbeat ping against a local Healthchecks-contract server, median of {rounds} runs ({body_len}-byte body)\n"
    );
    println!("{:<34} {:>12} {:>16}", "", "wall time", "peak RSS");
    println!(
        "{:<34} {:>9.0} ms {:>12.0} KiB",
        "miraclemax-heartbeat", ht, hm
    );
    println!(
        "{:<34} {:>9.0} ms {:>12.0} KiB",
        "curl -fsS -m 10 --retry 5", ct, cm
    );
    println!(
        "{:<34} {:>11.2}x {:>15.2}x",
        "ratio (heartbeat / curl)",
        ht / ct,
        hm / cm
    );
    let _ = std::fs::remove_dir_all(dir);
}
