//! The metrics file for node_exporter's textfile collector on real hosts: after a heal it
//! parses with Prometheus' own `promtool check metrics` (from Debian's prometheus package, which
//! scripts/install-deps installs), lint included; at rest it is not written; after a heal
//! the heal counters moved.

use crate::support::*;
use mm_testbed::Testbed;
use std::time::Duration;

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";
const FILE: &str = "/var/lib/prometheus/node-exporter/miraclemax.prom";

fn promtool_check(text: &str) -> String {
    use std::io::Write;
    let promtool = concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/promtool");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect(
            "scripts/install-deps puts promtool (from Debian's prometheus package) into .tools/bin",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{text}");
    said
}

#[test]
fn after_a_heal_the_metrics_file_passes_promtool_and_its_heal_counters_moved() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |h| {
        let smtp = Smtp::start(h.gateway());
        let config = format!("{}metrics: {{textfile: {FILE}}}\n", test_config(h, EXAMPLE));
        // The folder Debian's prometheus-node-exporter makes (the unit may write there).
        h.ssh_ok(&["mkdir", "-p", "/var/lib/prometheus/node-exporter"])
            .unwrap();
        install_daemon(h, &config);
        let read = || h.ssh_ok(&["cat", FILE]).unwrap_or_default();
        wait_until(Duration::from_secs(20), "the metrics file", || {
            read().contains("miraclemax_service_up{service=\"example\"} 1\n")
        });
        let before = read();
        assert_eq!(promtool_check(&before), "");
        let resolved = "miraclemax_heals_total{service=\"example\",outcome=\"resolved\",\
                        strategy=\"service_restart\"}";
        assert!(before.contains(&format!("{resolved} 0\n")), "{before}");
        let mode = h.ssh_ok(&["stat", "-c", "%a %U", FILE]).unwrap();
        assert_eq!(mode.trim(), "644 root");
        // At rest (a healthy service, ten looks a second apart) the file is not written.
        let written = h.ssh_ok(&["stat", "-c", "%y", FILE]).unwrap();
        std::thread::sleep(Duration::from_secs(10));
        assert_eq!(h.ssh_ok(&["stat", "-c", "%y", FILE]).unwrap(), written);
        assert_eq!(read(), before);

        kill_9(h, "example.service");
        smtp.wait_for(RESOLVED, Duration::from_secs(30));
        wait_until(Duration::from_secs(10), "the heal in the file", || {
            read().contains(&format!("{resolved} 1\n"))
        });
        let after = read();
        assert_eq!(promtool_check(&after), "");
        for line in [
            "miraclemax_heal_attempts_total{service=\"example\",strategy=\"service_restart\",result=\"ok\"} 1\n",
            "miraclemax_healing_duration_seconds_count{service=\"example\"} 1\n",
            "miraclemax_detection_duration_seconds_count{service=\"example\"} 1\n",
            "miraclemax_daemon_up 1\n",
            "miraclemax_dbus_connected 1\n",
        ] {
            assert!(after.contains(line), "{line} in:\n{after}");
        }
        // Only the .prom file: the temporary one is renamed over it.
        let listing = h
            .ssh_ok(&["ls", "/var/lib/prometheus/node-exporter"])
            .unwrap();
        assert_eq!(listing.trim(), "miraclemax.prom");
    });
}
