//! Reports through channels besides email, end to end inside the daemon (fake systemd, real
//! HTTP receivers on loopback): each channel gets the report's text from its own queue and
//! task, and one that refuses for a while gets it late, once, without delaying the others.

use super::tests::{QUICK_LIMITS, start_on};
use super::*;
use mm_testbed::receiver::Receiver;
use std::net::{IpAddr, Ipv4Addr};
use tokio::time::sleep;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn channels_yaml(ntfy: &str, hook: &str, slack: &str, telegram: &str) -> String {
    format!(
        "host: testhost\n{QUICK_LIMITS}notifications:\n  channels:\n\
         \x20   - {{type: ntfy, url: '{ntfy}', topic: ops}}\n\
         \x20   - {{type: webhook, url: '{hook}/mm', secret: shh}}\n\
         \x20   - {{type: slack, name: team, url: '{slack}/services/T0/B0/x'}}\n\
         \x20   - {{type: telegram, token: '1:t', chat_id: 42, api_url: '{telegram}'}}\n\
         monitored_services:\n  - name: a\n"
    )
}

/// Polls the receiver without blocking the runtime the daemon runs on.
async fn accepted(
    r: &Receiver,
    n: usize,
    within: Duration,
) -> Vec<mm_testbed::healthchecks::Request> {
    let end = Instant::now() + within;
    while r.received().len() < n && Instant::now() < end {
        sleep(Duration::from_millis(20)).await;
    }
    r.received()
}

#[tokio::test]
async fn every_channel_gets_the_report_and_one_that_refuses_gets_it_late_once_without_delaying_the_others()
 {
    let [ntfy, hook, slack, tg] = [(); 4].map(|_| Receiver::start(LOOPBACK).unwrap());
    slack.down();
    let yaml = channels_yaml(&ntfy.origin, &hook.origin, &slack.origin, &tg.origin);
    let d = start_on(&yaml, |_, _| {});
    d.until_watching(&["a"]).await;
    d.host.crashed("a.service");

    let within = Duration::from_secs(3);
    let n = accepted(&ntfy, 1, within).await;
    let h = accepted(&hook, 1, within).await;
    let t = accepted(&tg, 1, within).await;
    let subject = "MiracleMax: a - RESOLVED";
    let body: serde_json::Value = serde_json::from_str(&n[0].body).unwrap();
    assert_eq!(body["topic"], "ops");
    assert!(body["title"].as_str().unwrap().ends_with(subject), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Service: a"),
        "{body}"
    );
    assert_eq!(body["priority"], 3);
    let body: serde_json::Value = serde_json::from_str(&h[0].body).unwrap();
    assert_eq!(
        (body["service"].as_str(), body["outcome"].as_str()),
        (Some("a"), Some("RESOLVED"))
    );
    assert_eq!(body["host"], "testhost");
    assert_eq!(body["late_by"], serde_json::Value::Null);
    let signed =
        crate::notify::channels::webhook_signature(&crate::config::Secret::new("shh"), &h[0].body);
    assert_eq!(h[0].header("x-miraclemax-signature"), Some(signed.as_str()));
    assert!(
        t[0].target.ends_with("/bot1:t/sendMessage"),
        "{}",
        t[0].target
    );
    let body: serde_json::Value = serde_json::from_str(&t[0].body).unwrap();
    assert_eq!(body["chat_id"], 42);
    assert!(body["text"].as_str().unwrap().contains(subject), "{body}");

    // The slack stand-in refused; the others were not held up by it.
    assert!(!slack.refused().is_empty());
    assert!(slack.received().is_empty());
    // Two minutes pass (on the daemon's clock) before it is back.
    d.clock.advance(Duration::from_secs(120));
    slack.up();
    let s = accepted(&slack, 1, Duration::from_secs(8)).await;
    assert_eq!(s.len(), 1, "the report reached the returning receiver");
    let body: serde_json::Value = serde_json::from_str(&s[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains(subject)
            && text.contains("NOTE: this report is 2 minutes")
            && text.contains("channel 'team' (slack) could not be reached when it was written"),
        "{text}"
    );
    sleep(Duration::from_millis(300)).await;
    for r in [&ntfy, &hook, &slack, &tg] {
        assert_eq!(r.received().len(), 1, "exactly one report at {}", r.origin);
    }
    // Each channel's queue is empty, its report marked sent in its own folder.
    let outbox = Dirs::new(&d.opts.state_dir).outbox();
    for name in ["ntfy", "webhook", "team", "telegram"] {
        let dir = outbox.join(format!("channel-{name}"));
        assert!(crate::notify::outbox::waiting(&dir).is_empty(), "{name}");
        assert_eq!(
            std::fs::read_dir(dir.join("sent")).unwrap().count(),
            1,
            "{name}"
        );
    }
    d.stop().await;
}

#[tokio::test]
async fn with_nothing_queued_the_delivery_tasks_set_no_timer_and_touch_no_file() {
    let [ntfy, hook, slack, tg] = [(); 4].map(|_| Receiver::start(LOOPBACK).unwrap());
    let yaml = channels_yaml(&ntfy.origin, &hook.origin, &slack.origin, &tg.origin);
    let d = start_on(&yaml, |_, _| {});
    d.until_watching(&["a"]).await;
    let outbox = Dirs::new(&d.opts.state_dir).outbox();
    let stamp = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let dirs: Vec<_> = ["ntfy", "webhook", "team", "telegram"]
        .iter()
        .map(|n| outbox.join(format!("channel-{n}")))
        .collect();
    let before: Vec<_> = dirs.iter().map(|p| stamp(p)).collect();
    sleep(Duration::from_millis(500)).await;
    assert_eq!(dirs.iter().map(|p| stamp(p)).collect::<Vec<_>>(), before);
    for r in [&ntfy, &hook, &slack, &tg] {
        assert!(r.received().is_empty() && r.refused().is_empty());
    }
    d.stop().await;
}

/// A service taken out of the configuration (a removal deployed) while its report waits: the
/// report is still delivered, once, after the reload; the outbox is the channel's, not the
/// service's.
#[tokio::test]
async fn a_report_waiting_for_a_service_removed_by_a_reload_is_still_delivered_once() {
    let hook = Receiver::start(LOOPBACK).unwrap();
    hook.down();
    let yaml = |services: &str| {
        format!(
            "host: testhost\n{QUICK_LIMITS}notifications:\n  channels:\n\
             \x20   - {{type: webhook, url: '{}/mm'}}\nmonitored_services:\n{services}",
            hook.origin
        )
    };
    let d = start_on(&yaml("  - name: a\n  - name: b\n"), |_, _| {});
    d.until_watching(&["a", "b"]).await;
    d.host.crashed("b.service");
    let queue = crate::notify::queues::channel_dir(&d.opts.state_dir.join("outbox"), "webhook");
    d.until("b's report queued", |_| {
        !crate::notify::outbox::waiting(&queue).is_empty()
    })
    .await;

    d.reload_with(&yaml("  - name: a\n"));
    d.until("b forgotten", |d| {
        !d.saved_services().contains(&"b".to_string())
    })
    .await;
    d.clock.advance(Duration::from_secs(120));
    hook.up();
    let got = accepted(&hook, 1, Duration::from_secs(8)).await;
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(
        (body["service"].as_str(), body["outcome"].as_str()),
        (Some("b"), Some("RESOLVED"))
    );
    sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), 1, "once");
    assert!(crate::notify::outbox::waiting(&queue).is_empty());
    d.stop().await;
}
