//! `miraclemax-self-heal test-notify`, run for real against local HTTP receivers: every channel
//! gets the test message in its own service's form, the answers are printed one per line, and
//! a channel that refuses is named with its reason (never its credential) and fails the run.
//! `--check-config` lists the channels with their credentials redacted.

use mm_testbed::receiver::Receiver;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn config(yaml: &str) -> tempfile::TempPath {
    let f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(f.path(), yaml).unwrap();
    f.into_temp_path()
}

fn self_heal(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn yaml(r: &[&Receiver; 6]) -> String {
    format!(
        "host: web1\nmonitored_services: []\nnotifications:\n  channels:\n\
         \x20   - {{type: ntfy, name: phone, url: '{}', topic: ops, token: tk_hunter2}}\n\
         \x20   - {{type: webhook, url: '{}/in', secret: hunter2}}\n\
         \x20   - {{type: slack, url: '{}/services/T/B/hunter2'}}\n\
         \x20   - {{type: discord, url: '{}/api/webhooks/1/hunter2'}}\n\
         \x20   - {{type: telegram, token: '1:hunter2', chat_id: '@ops', api_url: '{}'}}\n\
         \x20   - {{type: gotify, url: '{}', token: hunter2}}\n",
        r[0].origin, r[1].origin, r[2].origin, r[3].origin, r[4].origin, r[5].origin
    )
}

#[test]
fn test_notify_reaches_every_channel_and_prints_what_each_answered() {
    let rs: [Receiver; 6] = std::array::from_fn(|_| Receiver::start(LOOPBACK).unwrap());
    let path = config(&yaml(&rs.each_ref()));
    let (code, stdout, stderr) = self_heal(&path, &["test-notify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for line in [
        "channel 'phone' (ntfy): accepted (HTTP 200)",
        "channel 'webhook' (webhook): accepted (HTTP 200)",
        "channel 'slack' (slack): accepted (HTTP 200)",
        "channel 'discord' (discord): accepted (HTTP 200)",
        "channel 'telegram' (telegram): accepted (HTTP 200, message 1)",
        "channel 'gotify' (gotify): accepted (HTTP 200)",
    ] {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
    let got: Vec<String> = rs.iter().map(|r| r.received()[0].body.clone()).collect();
    assert!(
        got.iter().all(|b| b.contains("MiracleMax: web1 - TEST")),
        "{got:?}"
    );
    let req = |i: usize| rs[i].received()[0].clone();
    assert_eq!(req(0).header("authorization"), Some("Bearer tk_hunter2"));
    assert_eq!(req(1).target, "/in");
    assert!(req(2).body.starts_with("{\"text\":"), "{}", req(2).body);
    assert!(req(3).body.starts_with("{\"content\":"), "{}", req(3).body);
    assert_eq!(req(4).target, "/bot1:hunter2/sendMessage");
    assert_eq!(
        (req(5).target.as_str(), req(5).header("x-gotify-key")),
        ("/message", Some("hunter2"))
    );
}

#[test]
fn a_refusing_channel_is_named_with_its_reason_and_fails_the_run_without_showing_its_credential() {
    let rs: [Receiver; 6] = std::array::from_fn(|_| Receiver::start(LOOPBACK).unwrap());
    rs[2].down();
    let path = config(&yaml(&rs.each_ref()));
    let (code, stdout, stderr) = self_heal(&path, &["test-notify"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("channel 'slack' (slack): NOT accepted: HTTP 500: down"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 of 6 channel(s) did not accept the test message"),
        "{stderr}"
    );
    assert_eq!(
        rs[0].received().len(),
        1,
        "the others were sent to all the same"
    );
    assert!(!format!("{stdout}{stderr}").contains("hunter2"));
}

#[test]
fn check_config_lists_the_channels_with_credentials_redacted() {
    let rs: [Receiver; 6] = std::array::from_fn(|_| Receiver::start(LOOPBACK).unwrap());
    let path = config(&yaml(&rs.each_ref()));
    let (code, stdout, stderr) = self_heal(&path, &["--check-config"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("channel phone: ntfy to {}/ops", rs[0].origin)),
        "{stdout}"
    );
    assert!(
        stdout.contains("channel slack: slack to http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
}
