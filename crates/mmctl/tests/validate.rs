//! `mmctl validate` on inventories with a problem: the problem names the file, line, host and
//! key, and a value shows only its start (a secret where it does not belong; a ping URL not at
//! all).

use std::path::Path;
use std::process::Command;

const SECRET: &str = "Zx9-hunter2-c0rrect-h0rse-b4ttery";
const UUID: &str = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab";

/// `mmctl validate` of an inventory whose group `web` (host web1) has these variables.
fn validate(vars: &str) -> (Option<i32>, String) {
    validate_with(vars, &[])
}

/// The same, with these options of validate's; what it printed, stdout first.
fn validate_with(vars: &str, options: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("group_vars")).unwrap();
    std::fs::write(
        d.join("hosts.yml"),
        "all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_host: 192.0.2.10\n",
    )
    .unwrap();
    std::fs::write(d.join("group_vars/web.yml"), vars).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .current_dir(d)
        .arg("-i")
        .arg(Path::new("."))
        .arg("validate")
        .args(options)
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), all)
}

#[test]
fn validate_never_prints_a_secret_put_under_the_wrong_key_or_a_malformed_ping_url() {
    let services = "monitored_services:\n  - name: example\n    port: 8080\n";
    let ping = format!("heartbeat_ping_url: https://hc-ping.com/{UUID}\n");
    for (vars, says) in [
        (
            format!("{services}    critical: \"{SECRET}\"\n{ping}"),
            "group_vars/web.yml:2: host 'web1': service 'example': 'Zx9-hunt…' is not a boolean",
        ),
        (
            format!("{services}self_healing_limits:\n  check_interval: \"{SECRET}\"\n{ping}"),
            "group_vars/web.yml:5: host 'web1': self_healing_limits: 'Zx9-hunt…' is not a duration",
        ),
        (
            format!("{services}heartbeat_ping_url: \"https:// {UUID}\"\n"),
            "group_vars/web.yml:4: host 'web1': heartbeat: ping_url is not an http(s) URL (its value is not shown)",
        ),
    ] {
        let (code, all) = validate(&vars);
        assert_eq!(code, Some(1), "{all}");
        assert!(all.contains(says), "{says:?} not in: {all}");
        for part in [SECRET, "hunter2", UUID, "0f1e2d3c"] {
            assert!(!all.contains(part), "{part} leaked: {all}");
        }
    }
}

#[test]
fn validate_refuses_an_address_the_mailer_refuses_and_a_login_without_a_password() {
    let head = "monitored_services:\n  - name: example\n    port: 8080\n\
                heartbeat_ping_url: https://hc.example.org/ping/x\nself_healing_email:\n  \
                smtp_host: smtp.example.org\n  smtp_port: 587\n  tls: starttls\n";
    for (vars, says) in [
        // An @ and a dot, yet not an address the SMTP client can send to.
        (
            format!("{head}  from: 'mm..x@example.org'\n  to: [ops@example.org]\n"),
            "group_vars/web.yml:9: host 'web1': notifications.email: 'mm..x@ex…' is not an email address the mailer can use (",
        ),
        (
            format!("{head}  from: mm@example.org\n  to: ['Ops Team ops@example.org']\n"),
            "group_vars/web.yml:10: host 'web1': notifications.email: 'Ops Team…' is not an email address the mailer can use (",
        ),
        (
            format!("{head}  from: mm@example.org\n  to: [ops@example.org]\n  username: mm\n"),
            "group_vars/web.yml:11: host 'web1': self_healing_email: username 'mm' is set but there is no password: put self_healing_smtp_password in Ansible Vault",
        ),
    ] {
        let (code, all) = validate(&vars);
        assert_eq!(code, Some(1), "{all}");
        assert!(all.contains(says), "{says:?} not in: {all}");
    }
    // The same login with its password (or a file named on the host) is valid; so are an
    // address with a display name and one at a host without a dot, which the mailer takes.
    for login in [
        "  username: mm\nself_healing_smtp_password: s3cret\n",
        "  username: mm\n  password_file: /etc/mail/pass\n",
    ] {
        let vars =
            format!("{head}  from: 'MiracleMax <mm@example.org>'\n  to: [root@localhost]\n{login}");
        let (code, all) = validate(&vars);
        assert_eq!(code, Some(0), "{all}");
    }
}

#[test]
fn validate_refuses_a_health_url_the_probe_could_not_use_at_the_services_line() {
    let ping = "heartbeat_ping_url: https://hc.example.org/ping/x\n";
    for (url, says) in [
        ("http://127.0.0.1:99999/health", "port"),
        ("http://user:pw@127.0.0.1:8080/health", "credentials"),
    ] {
        let vars = format!(
            "{ping}monitored_services:\n  - name: db\n    port: 5432\n  - name: api\n    port: 8080\n    health:\n      url: {url}\n"
        );
        let (code, all) = validate(&vars);
        assert_eq!(code, Some(1), "{all}");
        assert!(
            all.contains("group_vars/web.yml:5: host 'web1': service 'api': "),
            "{all}"
        );
        assert!(all.contains(says), "{says} not in {all}");
        assert!(!all.contains(":pw@"), "{all}");
    }
}

/// A setup without Healthchecks, on purpose: `validate --only self-healing` judges what
/// `deploy --only self-healing` deploys, and passes; plain `validate` still names the missing
/// check.
#[test]
fn a_self_healing_only_setup_passes_validate_only_self_healing() {
    let vars = "monitored_services:\n  - name: example\n    port: 8080\n";
    let (code, all) = validate(vars);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("no Healthchecks check to ping"), "{all}");
    let (code, all) = validate_with(vars, &["--only", "self-healing"]);
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(
        all,
        "inventory OK: 1 host(s), each configuration valid for the self-healing layer\n"
    );
}

#[test]
fn validate_checks_self_healing_notify_with_the_daemons_rules_and_render_hides_its_credentials() {
    let services = "monitored_services:\n  - name: example\n    port: 8080\n";
    let ping = format!("heartbeat_ping_url: https://hc-ping.com/{UUID}\n");
    let bad = format!(
        "{services}{ping}self_healing_notify:\n  - type: slack\n    url: \"http://192.0.2.5/hooks/{SECRET}\"\n  - type: ntfy\n    url: https://ntfy.sh\n"
    );
    let (code, all) = validate(&bad);
    assert_eq!(code, Some(1), "{all}");
    for says in [
        "host 'web1': notifications.channels[0] (slack): url is plain http to 192.0.2.5",
        "host 'web1': notifications.channels[1] (ntfy): missing required key 'topic'",
    ] {
        assert!(all.contains(says), "{says:?} not in:\n{all}");
    }
    assert!(
        all.contains("self_healing_notify") || all.contains("group_vars/web.yml"),
        "{all}"
    );
    assert!(!all.contains(SECRET), "{all}");

    let good = format!(
        "{services}{ping}self_healing_notify:\n  - type: telegram\n    token: \"{SECRET}\"\n    chat_id: -100123\n"
    );
    let (code, all) = validate(&good);
    assert_eq!(code, Some(0), "{all}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("group_vars")).unwrap();
    std::fs::write(
        d.join("hosts.yml"),
        "all:\n  children:\n    web:\n      hosts:\n        web1:\n",
    )
    .unwrap();
    std::fs::write(d.join("group_vars/web.yml"), &good).unwrap();
    let render = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
            .current_dir(d)
            .args(["-i", ".", "render", "web1"])
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = render(&[]);
    assert!(shown.contains("\"type\":\"telegram\""), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(render(&["--show-secrets"]).contains(SECRET));
}
