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
    // An installed fragment's entry for a service the main file no longer has: stale (the
    // heartbeat's next deploy rewrites it), left out and said, never quoting its URL.
    let out = run(&["check-config", &main_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "note: {}: heartbeat: service 'nosuch': not in monitored_services, so left out",
            fragment.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("(+0 service check(s))"), "{stdout}");
    assert!(!stdout.contains("mmctl-ping-secret"), "{stdout}");

    // The same entry in the main file is the mistake being made: refused, naming the file.
    std::fs::remove_file(&fragment).unwrap();
    std::fs::write(
        &main,
        "monitored_services:\n  - name: web\nheartbeat:\n  ping_url: https://hc-ping.com/mmctl-ping-secret\n  services:\n    - name: nosuch\n      ping_url: https://hc-ping.com/mmctl-ping-secret\n",
    )
    .unwrap();
    let out = run(&["check-config", &main_arg]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mmctl: error: {}: heartbeat: service 'nosuch': is not in monitored_services; add it there or remove its ping URL\n",
            main.display()
        )
    );
}

/// Every command a user can type, as `mmctl --help` lists them.
const COMMANDS: &[&str] = &[
    "init",
    "add-service",
    "remove-service",
    "list",
    "validate",
    "render",
    "deploy",
    "uninstall",
    "status",
    "test",
    "logs",
    "pause",
    "resume",
    "completions",
    "man",
    "check-config",
];

#[test]
fn mmctl_help_lists_every_command_and_each_command_shows_an_example() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for c in COMMANDS {
        assert!(
            help.contains(&format!("  {c} ")),
            "{c} missing from:\n{help}"
        );
    }
    assert!(
        help.contains("Exit codes: 0 done, 1 refused or failed"),
        "{help}"
    );
    let leaves: Vec<Vec<&str>> = COMMANDS
        .iter()
        .filter(|c| **c != "test")
        .map(|c| vec![*c])
        .chain([vec!["test", "heal"], vec!["test", "heartbeat"]])
        .collect();
    for c in leaves {
        let mut args = c.clone();
        args.push("--help");
        let out = run(&args);
        assert!(out.status.success(), "{c:?}");
        assert!(
            text(&out.stdout).contains("\nExample"),
            "{c:?} --help has no example:\n{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn completions_and_man_pages_are_generated_for_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completions lack {c}");
        }
    }
    let page = text(&run(&["man"]).stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "roff: {}",
        &page[..40.min(page.len())]
    );
    for c in COMMANDS {
        assert!(
            page.contains(&format!("mmctl\\-{}(1)", c.replace('-', "\\-"))),
            "man page lacks {c}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    for c in COMMANDS {
        assert!(
            dir.path().join(format!("mmctl-{c}.1")).is_file(),
            "no page for {c}"
        );
    }
}

/// `mmctl man | head -1`: the reader has gone (here before the first byte is written, so the
/// pipe's buffer cannot hide it), and mmctl ends quietly with 0 (not "Broken pipe" and 1, nor
/// a panic), whether it writes through print, a writer of its own or a library's.
#[test]
fn a_reader_that_has_gone_ends_the_output_quietly() {
    for args in [&["man"][..], &["completions", "bash"][..], &["--help"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(text(&out.stderr), "", "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}
