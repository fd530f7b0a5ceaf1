//! mmctl is a controller tool: it must build wherever Ansible's controller runs (Linux and
//! macOS, x86_64 and aarch64). It depends on the portable configuration crate, never on the
//! host core, whose Linux-only and runtime crates would come along with it. Cargo itself is
//! asked, so a dependency added anywhere below mmctl is caught.

use std::collections::BTreeSet;
use std::process::Command;

/// The crates of the host core that mmctl must not pull in: D-Bus, /proc, SMTP and HTTP (and
/// the sockets and TLS under them) and the async runtime. lettre itself may come, for its
/// address parser alone: its transports would bring sockets or the runtime.
const HOST_ONLY: &[&str] = &[
    "zbus",
    "procfs",
    "reqwest",
    "tokio",
    "socket2",
    "rustls",
    "miraclemax",
];

/// The names of every package in mmctl's normal (non-dev, non-build) dependency tree for
/// `target` (None: this machine's), as `cargo tree` resolves it from Cargo.lock.
fn normal_dependencies(target: Option<&str>) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "tree",
        "--locked",
        "--offline",
        "-p",
        "mmctl",
        "-e",
        "normal",
    ])
    .args(["--prefix", "none", "--format", "{p}"])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree for {target:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn mmctl_depends_on_none_of_the_host_cores_linux_or_runtime_crates() {
    let deps = normal_dependencies(None);
    assert!(deps.contains("miraclemax-config"), "{deps:?}");
    let found: Vec<_> = HOST_ONLY.iter().filter(|c| deps.contains(**c)).collect();
    assert!(found.is_empty(), "mmctl depends on {found:?}");
}

#[test]
fn mmctl_dependencies_resolve_for_macos_and_aarch64_controllers() {
    for target in [
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "aarch64-unknown-linux-gnu",
    ] {
        let deps = normal_dependencies(Some(target));
        assert!(
            deps.contains("mmctl") && deps.contains("miraclemax-config"),
            "{target}: {deps:?}"
        );
        let found: Vec<_> = HOST_ONLY.iter().filter(|c| deps.contains(**c)).collect();
        assert!(found.is_empty(), "{target}: mmctl depends on {found:?}");
    }
}
