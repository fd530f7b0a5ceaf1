//! `mmctl`, the real binary: what it prints for the files a user hands it, and its help.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../templates/config.example.yaml")
        .display()
        .to_string()
}

#[test]
fn mmctl_check_config_summarises_a_valid_file_without_secrets() {
    let out = run(&["check-config", &example()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(stdout.contains(
        "passgo (passgo.service) port 8080 domain passgo.jbyrd.org, critical, strategies: service_restart > port_conflict > reset_failed"
    ));
    assert!(stdout.contains("email: to ops@example.org via smtp.example.org:587 (starttls)"));
    assert!(stdout.contains("heartbeat: https://hc-ping.com/<redacted> (+1 service check(s))"));
    assert!(!stdout.contains("0f1e2d3c"), "ping URL leaked: {stdout}");
}

#[test]
fn mmctl_check_config_merges_the_fragments_beside_the_file_and_names_them_in_errors() {
    let dir = std::env::temp_dir().join(format!("mmctl-fragments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config.d")).unwrap();
    let main = dir.join("config.yaml");
    std::fs::write(&main, "monitored_services:\n  - name: web\n").unwrap();
    let fragment = dir.join("config.d/heartbeat.yaml");
    std::fs::write(
        &fragment,
        "heartbeat:\n  ping_url: https://hc-ping.com/mmctl-ping-secret\n",
    )
    .unwrap();
    let main_arg = main.display().to_string();

    let out = run(&["check-config", &main_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("fragments: config.d/heartbeat.yaml\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("heartbeat: https://hc-ping.com/<redacted> (+0 service check(s))"),
        "{stdout}"
    );

    std::fs::write(
        &fragment,
        "heartbeat:\n  ping_url: https://hc-ping.com/mmctl-ping-secret\n  services:\n    - name: nosuch\n      ping_url: https://hc-ping.com/mmctl-ping-secret\n",
    )
    .unwrap();
    let out = run(&["check-config", &main_arg]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mmctl: error: {}: heartbeat: service 'nosuch': is not in monitored_services; add it there or remove its ping URL\n",
            fragment.display()
        )
    );
}

#[test]
fn mmctl_help_lists_its_commands() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("check-config"));
}
