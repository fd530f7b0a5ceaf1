//! `mm-testbed`'s help works without root, so a newcomer can read what it does first.

#[test]
fn mm_testbed_help_says_what_it_boots() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mm-testbed"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("systemd-nspawn"), "{text}");
}
