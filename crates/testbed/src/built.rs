//! Finding the workspace's own binaries from a test. Cargo hands a test the paths of its own
//! package's binaries only; the end-to-end tier also runs those of the other crates (the Ansible
//! modules, `mmctl`, `mm-testbed`), which `cargo build --workspace` puts beside the test's
//! `deps/` folder.

use std::path::PathBuf;

/// The path of workspace binary `name` in the same profile folder as the running executable.
/// Panics with the fix when it is not built (a test with a missing binary cannot go on).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test>-<hash>, or target/<profile>/<bin> for a binary.
    let mut dir = exe
        .parent()
        .expect("an executable has a folder")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` first (make test does)",
        path.display()
    );
    path
}

/// The host binaries and the Ansible modules under the names a host gets them by, laid out as
/// `scripts/build` lays out `dist/ARCH` (for `self_healing_bin_dir`), made from this build once
/// per process. Hard links in the profile folder: no copies of large debug binaries.
pub fn dist_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace_bin("miraclemax-self-heal")
            .with_file_name(format!("dist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the profile folder is writable");
        for (installed, built) in [
            ("miraclemax-self-heal", "miraclemax-self-heal"),
            ("miraclemax-status", "miraclemax-status"),
            ("miraclemax-heartbeat", "miraclemax-heartbeat"),
            ("stack_facts", "miraclemax-module-stack-facts"),
            ("drill", "miraclemax-module-drill"),
            ("maintenance", "miraclemax-module-maintenance"),
            ("agent_config", "miraclemax-module-agent-config"),
            ("healthchecks_check", "miraclemax-module-healthchecks-check"),
        ] {
            let to = dir.join(installed);
            let from = workspace_bin(built);
            let _ = std::fs::remove_file(&to);
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).expect("the profile folder is writable");
            }
        }
        dir
    })
    .clone()
}

/// The project's ansible-core (`scripts/install-deps` puts it in `.venv`): where tests, benches
/// and the demo point mmctl (`MMCTL_ANSIBLE_BIN_DIR`), which runs only the Ansible it is told of.
pub fn ansible_bin_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin")
}

/// This build's mmctl, pointed at the project's ansible-core.
pub fn mmctl() -> std::process::Command {
    let mut cmd = std::process::Command::new(workspace_bin("mmctl"));
    cmd.env("MMCTL_ANSIBLE_BIN_DIR", ansible_bin_dir());
    cmd
}
