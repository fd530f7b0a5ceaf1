//! The shipped binaries, run for real: configuration checks print what a host will act on or
//! every problem with the file named, and nothing that is not built yet pretends to work.

use std::path::Path;
use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/config.example.yaml")
        .display()
        .to_string()
}

fn temp_config(name: &str, yaml: &str) -> String {
    let dir = std::env::temp_dir().join(format!("mm-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, yaml).unwrap();
    p.display().to_string()
}

#[test]
fn a_bad_config_fails_with_one_line_per_problem_naming_the_file() {
    let path = temp_config(
        "bad.yaml",
        "monitored_services:\n  - name: passgo\n    port: 70000\n    prot: 1\n",
    );
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        &["--check-config", "--config", &path],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {path}: service 'passgo': unknown key 'prot' (did you mean 'port'?)\n\
             miraclemax-self-heal: error: {path}: service 'passgo': port 70000 is out of range 1-65535\n"
        )
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-heartbeat"),
        &["--config", "/nonexistent/config.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "miraclemax-heartbeat: error: /nonexistent/config.yaml: cannot read: No such file or directory (os error 2)\n"
    );
}

#[test]
fn the_heartbeat_without_a_heartbeat_section_says_so() {
    let path = temp_config("no-heartbeat.yaml", "monitored_services:\n  - name: web\n");
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-heartbeat"),
        &["--config", &path],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("miraclemax-heartbeat: error: {path}: no 'heartbeat' section: nothing to ping\n")
    );
}

#[test]
fn pausing_an_unknown_service_is_refused_by_name() {
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        &[
            "--config",
            &example(),
            "--state-dir",
            "/nonexistent",
            "pause",
            "nosuch",
            "--for",
            "5m",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {}: no monitored service 'nosuch'\n",
            example()
        )
    );
}

#[test]
fn every_binary_has_real_help() {
    for (bin, says) in [
        (
            env!("CARGO_BIN_EXE_miraclemax-self-heal"),
            "journalctl -t miraclemax-self-heal",
        ),
        (
            env!("CARGO_BIN_EXE_miraclemax-heartbeat"),
            "/var/log/healthcheck-heartbeat.log",
        ),
        (env!("CARGO_BIN_EXE_miraclemax-status"), "--json"),
    ] {
        let out = run(bin, &["--help"]);
        assert!(out.status.success());
        assert!(
            text(&out.stdout).contains(says),
            "{bin} --help lacks {says:?}"
        );
    }
}

#[test]
fn the_daemon_refuses_to_start_on_a_configuration_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "monitored_services:\n  - name: web\n    port: 8080\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let state = dir.path().join("state");
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let c = config.display();
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: refusing to start: files of the configuration are not private\n\
             miraclemax-self-heal: error: {c}: readable or writable by others (mode 0644), and it can hold secrets: chmod 600 {c}\n"
        )
    );
    assert!(!state.exists(), "it did nothing before refusing");
    // Checking a file is not running on it: --check-config still answers for any mode.
    let check = run(
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        &["--check-config", "--config", config.to_str().unwrap()],
    );
    assert!(check.status.success(), "{}", text(&check.stderr));
}

// One refusal after another, each case beside the exact message it must print.
#[allow(clippy::too_many_lines)]
#[test]
fn check_config_refuses_email_the_daemon_could_not_set_up() {
    let email = |extra: &str| {
        format!(
            "monitored_services:\n  - name: passgo\n    port: 8080\nnotifications:\n  email:\n    \
             smtp_host: 127.0.0.1\n    smtp_port: 25\n    tls: none\n{extra}"
        )
    };
    // A password file that cannot be read (missing; a folder).
    let dir = std::env::temp_dir().join(format!("mm-cli-mail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("no-such-password");
    for (name, file, says) in [
        (
            "missing.yaml",
            &missing,
            format!("cannot read password_file {}: ", missing.display()),
        ),
        (
            "folder.yaml",
            &dir,
            format!("password_file {} is not a regular file: ", dir.display()),
        ),
    ] {
        let path = temp_config(
            name,
            &email(&format!(
                "    from: mm@example.org\n    to: [ops@example.org]\n    username: mm\n    password_file: {}\n",
                file.display()
            )),
        );
        let out = run(
            env!("CARGO_BIN_EXE_miraclemax-self-heal"),
            &["--check-config", "--config", &path],
        );
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            text(&out.stderr).starts_with(&format!(
                "miraclemax-self-heal: error: {path}: notifications.email: {says}"
            )),
            "{}",
            text(&out.stderr)
        );
    }
    // A password file that others may read: refused with the fix; the same file made 0600 passes.
    let pass = dir.join("smtp-password");
    std::fs::write(&pass, "s3cret\n").unwrap();
    let path = temp_config(
        "readable.yaml",
        &email(&format!(
            "    from: mm@example.org\n    to: [ops@example.org]\n    username: mm\n    password_file: {}\n",
            pass.display()
        )),
    );
    for (mode, refused) in [(0o644, true), (0o640, true), (0o600, false)] {
        std::fs::set_permissions(&pass, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .unwrap();
        let out = run(
            env!("CARGO_BIN_EXE_miraclemax-self-heal"),
            &["--check-config", "--config", &path],
        );
        if refused {
            assert_eq!(out.status.code(), Some(1), "mode {mode:o}");
            assert_eq!(
                text(&out.stderr),
                format!(
                    "miraclemax-self-heal: error: {path}: notifications.email: password_file {p} may be read by others than its owner (mode {mode:o}): chmod 600 {p}\n",
                    p = pass.display()
                )
            );
        } else {
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    }
    // An address the SMTP client refuses, though it has an @ and a dot.
    let path = temp_config(
        "address.yaml",
        &email("    from: 'mm..x@example.org'\n    to: [ops@example.org]\n"),
    );
    let out = run(
        env!("CARGO_BIN_EXE_miraclemax-self-heal"),
        &["--check-config", "--config", &path],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(&format!(
            "miraclemax-self-heal: error: {path}: notifications.email: 'mm..x@ex…' is not an email address the mailer can use ("
        )),
        "{}",
        text(&out.stderr)
    );
}
