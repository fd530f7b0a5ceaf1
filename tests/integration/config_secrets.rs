//! Any value in the configuration may be a secret put under the wrong key (an SMTP password, a
//! Healthchecks API key, a ping URL): an error names the file, the object and the key and says
//! how to fix it, but never quotes a secret's key at all and only the start of a long value.

use miraclemax::config;
use std::path::Path;

const FILE: &str = "/etc/miraclemax/config.yaml";
/// What an SMTP password or an API key looks like.
const SECRET: &str = "Zx9-hunter2-c0rrect-h0rse-b4ttery";

fn errors(yaml: &str) -> String {
    match config::parse(yaml, Path::new(FILE)) {
        Ok(c) => panic!("expected the config to be rejected, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn service(extra: &str) -> String {
    format!("monitored_services:\n  - name: passgo\n    port: 8080\n{extra}")
}

#[test]
fn a_secret_in_a_wrong_typed_key_is_never_quoted_whole() {
    let email = "notifications:\n  email:\n    smtp_host: smtp.example.org\n    from: a@example.org\n    to: [b@example.org]\n";
    for (yaml, says) in [
        (
            format!("limits:\n  check_interval: '{SECRET}'\n"),
            "'Zx9-hunt…' is not a duration (expected a number at 0); write it like 10s, 15m or 1h",
        ),
        (
            format!("limits:\n  kill_grace: '5{SECRET}'\n"),
            "is not a duration (unknown time unit at 1)",
        ),
        (
            service(&format!("    critical: '{SECRET}'\n")),
            "'Zx9-hunt…' is not a boolean; use true or false",
        ),
        (
            format!("{email}    tls: '{SECRET}'\n"),
            "notifications.email: tls 'Zx9-hunt…' is not one of none, starttls, tls",
        ),
        (
            format!("{email}    password_file: '{SECRET}'\n"),
            "notifications.email: password_file 'Zx9-hunt…' must be an absolute path",
        ),
        (
            service(&format!("    domain: '{SECRET}!'\n")),
            "service 'passgo': domain 'Zx9-hunt…' is not a host name",
        ),
        (
            service(&format!("    health: {{url: 'ftp://{SECRET}'}}\n")),
            "service 'passgo': health: url cannot be probed: it must start with http:// or https://",
        ),
        (
            format!("ssh_target: '-{SECRET}'\n"),
            "ssh_target: '-Zx9-hun…' is not an ssh destination",
        ),
    ] {
        let e = errors(&yaml);
        assert!(e.starts_with(&format!("{FILE}: ")), "{e}");
        assert!(e.contains(says), "{says:?} not in: {e}");
        assert!(!e.contains(SECRET), "the value leaked: {e}");
        assert!(!e.contains("hunter2"), "the value leaked: {e}");
    }
}

#[test]
fn a_malformed_ping_url_is_never_quoted_at_all() {
    let uuid = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab";
    for url in [
        format!("https:// {uuid}"),
        format!("hc-ping.com/{uuid}"),
        format!("https://user:{SECRET}@ /{uuid}"),
        format!("https://hc-ping.com/{uuid} {SECRET}"),
    ] {
        let services = format!(
            "heartbeat:\n  ping_url: '{url}'\n  services:\n    - name: passgo\n      ping_url: '{url}'\n"
        );
        let e = errors(&format!("{}{services}", service("")));
        assert_eq!(
            e,
            format!(
                "{FILE}: heartbeat: ping_url is not an http(s) URL (its value is not shown); give the check's ping URL from Healthchecks, like https://hc-ping.com/UUID\n\
                 {FILE}: heartbeat: service 'passgo': ping_url is not an http(s) URL (its value is not shown); give the check's ping URL from Healthchecks, like https://hc-ping.com/UUID"
            )
        );
        for part in [uuid, SECRET, "hunter2", "0f1e2d3c"] {
            assert!(!e.contains(part), "{part} leaked: {e}");
        }
    }
}
