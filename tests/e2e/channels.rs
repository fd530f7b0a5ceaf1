//! Reports through channels besides email on real hosts (Debian 12 and 13 at once): an
//! incident reaches ntfy-, webhook-, Slack- and Telegram-compatible stand-ins on the host's
//! gateway with the report's text, and a receiver that is down for 5 minutes gets its report
//! late, exactly once, while the others and the email are on time.

use crate::support::*;
use mm_testbed::Testbed;
use mm_testbed::receiver::Receiver;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const RESOLVED: &str = "✅ MiracleMax: example - RESOLVED";

fn with_channels(host: &mm_testbed::Host, r: &[Receiver; 4]) -> String {
    let channels = format!(
        "  channels:\n\
         \x20   - {{type: ntfy, url: '{}', topic: ops, token: tk_lab, insecure_http: true}}\n\
         \x20   - {{type: webhook, url: '{}/mm', secret: shh}}\n\
         \x20   - {{type: slack, url: '{}/services/T0/B0/x', insecure_http: true}}\n\
         \x20   - {{type: telegram, token: '1:lab', chat_id: 42, api_url: '{}', insecure_http: true}}\n",
        r[0].origin, r[1].origin, r[2].origin, r[3].origin
    );
    test_config(host, EXAMPLE).replacen("limits:\n", &format!("{channels}limits:\n"), 1)
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn an_incident_reaches_every_channel_and_one_down_for_5_minutes_gets_it_late_exactly_once() {
    let tb = Testbed::start_on(&BOTH).unwrap();
    on_each_host(&tb, |host| {
        let gw = IpAddr::V4(host.gateway());
        let smtp = Smtp::start(host.gateway());
        let r: [Receiver; 4] = std::array::from_fn(|_| Receiver::start(gw).unwrap());
        let [ntfy, hook, slack, tg] = &r;
        hook.down();
        install_daemon(host, &with_channels(host, &r));

        host.ssh_ok(&["systemctl", "stop", "example.service"])
            .unwrap();
        let stopped = Instant::now();
        let mail = smtp.wait_for(RESOLVED, Duration::from_secs(30));
        let on_time = Duration::from_secs(30);
        for rec in [ntfy, slack, tg] {
            let got = rec.wait_for(1, on_time);
            assert_eq!(got.len(), 1, "{} got the report on time", rec.origin);
            assert!(
                got[0].body.contains("MiracleMax: example - RESOLVED"),
                "{}",
                got[0].body
            );
            assert!(
                got[0].body.contains("Service: example (example.lab.test)"),
                "{}",
                got[0].body
            );
        }
        let n: serde_json::Value = serde_json::from_str(&ntfy.received()[0].body).unwrap();
        assert_eq!(
            (n["title"].as_str(), n["topic"].as_str()),
            (Some(RESOLVED), Some("ops"))
        );
        assert!(
            n["message"]
                .as_str()
                .unwrap()
                .starts_with("Service: example (example.lab.test)\nHost: ")
        );
        assert_eq!(
            ntfy.received()[0].header("authorization"),
            Some("Bearer tk_lab")
        );
        assert!(tg.received()[0].target.ends_with("/bot1:lab/sendMessage"));
        assert!(
            !hook.refused().is_empty(),
            "the webhook was tried while down"
        );
        assert!(hook.received().is_empty());

        // The webhook receiver is down for 5 minutes from the incident.
        std::thread::sleep(Duration::from_secs(300).saturating_sub(stopped.elapsed()));
        hook.up();
        let back = Instant::now();
        let got = hook.wait_for(1, Duration::from_secs(90));
        assert_eq!(
            got.len(),
            1,
            "the late report arrived within the backoff cap of the return"
        );
        assert!(
            back.elapsed() <= Duration::from_secs(65),
            "{:?}",
            back.elapsed()
        );
        let w: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(
            (w["service"].as_str(), w["outcome"].as_str()),
            (Some("example"), Some("RESOLVED"))
        );
        assert!(w["late_by"].as_u64().unwrap() >= 295, "{w}");
        assert!(
            w["body"]
                .as_str()
                .unwrap()
                .starts_with("NOTE: this report is 5 minutes"),
            "{w}"
        );

        // Exactly once everywhere, email included, after one more backoff period.
        std::thread::sleep(Duration::from_secs(10));
        for rec in [ntfy, hook, slack, tg] {
            assert_eq!(rec.received().len(), 1, "one report at {}", rec.origin);
        }
        assert_eq!(smtp.count(RESOLVED), 1);
        assert!(!mail.body.starts_with("NOTE:"), "the email was on time");
    });
}

/// The inventory's route: `self_healing_notify` with its credentials from the vault, deployed
/// through the role, then `mmctl test notify HOST` through every channel of each host.
#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn channels_from_the_vault_deploy_through_the_role_and_mmctl_test_notify_reaches_each() {
    use crate::ansible_deploy::{inventory, playbook, smtp_per_host, succeeded, vault};
    const TOKEN: &str = "tk_vaulted_7Qx2";
    const HOOK_SECRET: &str = "hs_vaulted_9Zp4";
    let tb = Testbed::start_on(&BOTH).unwrap();
    let smtp = smtp_per_host(&tb);
    let inv = inventory(tb.hosts());
    let password = vault(
        &inv,
        &format!("vault_ntfy_token: {TOKEN}\nvault_hook_secret: {HOOK_SECRET}\n"),
    );
    // Each host reports to stand-ins on its own gateway.
    let receivers: Vec<[Receiver; 2]> = tb
        .hosts()
        .iter()
        .map(|h| std::array::from_fn(|_| Receiver::start(IpAddr::V4(h.gateway())).unwrap()))
        .collect();
    std::fs::create_dir_all(inv.join("host_vars")).unwrap();
    for (h, [ntfy, hook]) in tb.hosts().iter().zip(&receivers) {
        std::fs::write(
            inv.join(format!("host_vars/{}.yml", h.name)),
            format!(
                "self_healing_notify:\n  \
                 - {{type: ntfy, name: phone, url: '{}', topic: ops, token: '{{{{ vault_ntfy_token }}}}', insecure_http: true}}\n  \
                 - {{type: webhook, url: '{}/mm', secret: '{{{{ vault_hook_secret }}}}', insecure_http: true}}\n",
                ntfy.origin, hook.origin
            ),
        )
        .unwrap();
    }
    let pw = ["--vault-password-file", password.to_str().unwrap()];
    let out = succeeded(&playbook(&inv, "deploy-self-healing.yml", &pw));
    assert!(
        !out.contains(TOKEN) && !out.contains(HOOK_SECRET),
        "the credentials stay out of the play's output:\n{out}"
    );

    for (h, [ntfy, hook]) in tb.hosts().iter().zip(&receivers) {
        let config = h
            .ssh_ok(&["stat", "-c", "%a %U", "/etc/miraclemax/config.yaml"])
            .unwrap();
        assert_eq!(config.trim(), "600 root", "{}", h.name);
        let out = mm_testbed::mmctl()
            .args(["-i", inv.to_str().unwrap()])
            .args(pw)
            .args(["test", "notify", &h.name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ANSIBLE_COLLECTIONS_PATH", collections())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{}: {said}", h.name);
        for channel in [
            "the mail server",
            "channel 'phone' (ntfy)",
            "channel 'webhook' (webhook)",
        ] {
            assert!(said.contains(channel), "{}: {channel} in:\n{said}", h.name);
        }
        assert!(
            !said.contains(TOKEN) && !said.contains(HOOK_SECRET),
            "{said}"
        );
        let n = ntfy.wait_for(1, Duration::from_secs(10));
        assert_eq!(n.len(), 1, "{}: the test message reached ntfy", h.name);
        assert_eq!(
            n[0].header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let body: serde_json::Value = serde_json::from_str(&n[0].body).unwrap();
        assert_eq!(
            body["title"].as_str(),
            Some(format!("🔔 MiracleMax: {} - TEST", h.name).as_str()),
            "{body}"
        );
        let w = hook.wait_for(1, Duration::from_secs(10));
        assert_eq!(
            w.len(),
            1,
            "{}: the test message reached the webhook",
            h.name
        );
        let signed = miraclemax::notify::channels::webhook_signature(
            &miraclemax::config::Secret::new(HOOK_SECRET),
            &w[0].body,
        );
        assert_eq!(w[0].header("x-miraclemax-signature"), Some(signed.as_str()));
    }
    for (h, s) in tb.hosts().iter().zip(&smtp) {
        let subject = format!("🔔 MiracleMax: {} - TEST", h.name);
        assert_eq!(s.count(&subject), 1, "one test email to {}", h.name);
    }

    // And an incident goes out through the deployed channels, as it does by email.
    let h = tb.host(0);
    let [ntfy, hook] = &receivers[0];
    h.ssh_ok(&["systemctl", "stop", "example.service"]).unwrap();
    let n = ntfy.wait_for(2, Duration::from_secs(30));
    assert_eq!(n.len(), 2, "the RESOLVED report reached ntfy");
    let body: serde_json::Value = serde_json::from_str(&n[1].body).unwrap();
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .ends_with("MiracleMax: example - RESOLVED"),
        "{body}"
    );
    assert_eq!(hook.wait_for(2, Duration::from_secs(30)).len(), 2);
}
