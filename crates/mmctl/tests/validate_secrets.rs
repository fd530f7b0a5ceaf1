//! `mmctl validate` on an inventory with a secret where it does not belong: the problem names
//! the file, line, host and key, and the value shows only its start (a ping URL not at all).

use std::path::Path;
use std::process::Command;

const SECRET: &str = "Zx9-hunter2-c0rrect-h0rse-b4ttery";
const UUID: &str = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab";

/// `mmctl validate` of an inventory whose group `web` (host web1) has these variables.
fn validate(vars: &str) -> (Option<i32>, String) {
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
