//! Deploy windows and the metrics file on the fake host: a pause keeps the healer off a service
//! an operator stopped, and its end is what turns healing back on (no request needed); the
//! metrics file is written when something happens and never at rest.

use super::*;
use crate::daemon::control::Control;

fn with_metrics(services: &[&str], dir: &std::path::Path) -> String {
    format!(
        "{}metrics: {{textfile: {}}}\n",
        quick(services),
        dir.join("node-exporter/miraclemax.prom").display()
    )
}

#[tokio::test]
async fn a_paused_service_stopped_is_left_alone_and_if_still_down_when_the_pause_ends_it_is_healed()
{
    let d = start_on(&quick(&["a", "b"]), |_, _| {});
    d.until_watching(&["a", "b"]).await;
    Control::new(&d.opts.state_dir)
        .pause(Some("a"), T0 / 1000 + 60)
        .unwrap();
    d.host.crashed("a.service");
    // 50 s of the daemon's clock, many looks and the crash's own signal: no heal.
    for _ in 0..10 {
        sleep(Duration::from_millis(30)).await;
        d.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(
        d.host.count("restart a.service"),
        0,
        "paused: {:?}",
        d.host.actions()
    );
    assert!(
        !events(&d).iter().any(|e| e.starts_with("a ")),
        "{:?}",
        events(&d)
    );
    // The pause ends by itself: the next look sees a down service and heals it.
    d.clock.advance(Duration::from_secs(15));
    d.until("a.service is restarted after the pause", |d| {
        d.host.count("restart a.service") == 1
    })
    .await;
    d.until("the incident is resolved and recorded", |d| {
        events(d).contains(&"a resolved".to_string())
    })
    .await;
    assert_eq!(d.host.count("restart b.service"), 0);
    d.stop().await;
}

#[tokio::test]
async fn the_metrics_file_is_written_at_start_after_a_heal_and_at_stop_but_not_at_rest() {
    let out = crate::daemon::fake::TempDir::new("metrics");
    let d = start_on(&with_metrics(&["a"], out.path()), |_, _| {});
    d.until_watching(&["a"]).await;
    let file = out.path().join("node-exporter/miraclemax.prom");
    let read = || std::fs::read_to_string(&file).unwrap_or_default();
    d.until("the file says a is up", |_| {
        read().contains("miraclemax_service_up{service=\"a\"} 1\n")
    })
    .await;
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o644,
        "node_exporter reads it"
    );
    let at_rest = read();
    assert!(at_rest.contains("miraclemax_daemon_up 1\n"), "{at_rest}");
    let written = meta.modified().unwrap();
    for _ in 0..25 {
        sleep(Duration::from_millis(20)).await;
        d.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written,
        "25 looks at a healthy service write nothing"
    );
    assert_eq!(read(), at_rest);

    d.host.crashed("a.service");
    let resolved = "miraclemax_heals_total{service=\"a\",outcome=\"resolved\",strategy=\"service_restart\"} 1\n";
    d.until("the heal is counted", |_| read().contains(resolved))
        .await;
    let text = read();
    for line in [
        "miraclemax_heal_attempts_total{service=\"a\",strategy=\"service_restart\",result=\"ok\"} 1\n",
        "miraclemax_healing_duration_seconds_count{service=\"a\"} 1\n",
        "miraclemax_detection_duration_seconds_count{service=\"a\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    d.until("a is up again in the file", |_| {
        read().contains("miraclemax_service_up{service=\"a\"} 1\n")
    })
    .await;
    d.stop().await;
    assert!(read().contains("miraclemax_daemon_up 0\n"), "{}", read());
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["miraclemax.prom"], "no temporary file left");
}
