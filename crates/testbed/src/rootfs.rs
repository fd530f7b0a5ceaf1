//! The golden Debian 12 root filesystem every test host boots from: debootstrapped once,
//! customised (sshd for key login, the example service, noisy units masked) and cached under
//! the testbed directory, keyed by a hash of its recipe so a changed recipe rebuilds it.

use super::cmd::run;
use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

// monit is there as a peer for the healing benchmark; it stays disabled unless one starts it.
const PACKAGES: &str = "systemd,systemd-sysv,dbus,openssh-server,python3,iproute2,cron,procps,psmisc,curl,ca-certificates,monit";
const SUITE: &str = "bookworm";
const RECIPE_VERSION: &str = "2";
const EXAMPLE_APP: &str = include_str!("files/mm-example-app");
const EXAMPLE_UNIT: &str = include_str!("files/example.service");
const SSHD_CONF: &str = include_str!("files/sshd-testbed.conf");
const MASKED: &[&str] = &[
    "console-getty.service",
    "getty@tty1.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "systemd-pstore.service",
];
const TRIM: &[&str] = &[
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
];

/// Returns the golden rootfs, building it first if this recipe has not been built yet.
/// Concurrent callers (parallel tests) wait for one build instead of racing.
pub fn ensure(state_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let dir = state_dir.join(format!("rootfs-{:016x}", recipe_hash()));
    let done = dir.with_extension("ok");
    if done.exists() {
        return Ok(dir);
    }
    let lock = File::create(state_dir.join("build.lock"))?;
    lock.lock().context("cannot lock the rootfs build")?;
    if done.exists() {
        return Ok(dir);
    }
    eprintln!(
        "testbed: building the Debian {SUITE} rootfs in {} (about 2 minutes, once)",
        dir.display()
    );
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            SUITE,
            path_str(&tmp)?,
            &mirror()?,
        ],
    )?;
    customise(&tmp)?;
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::rename(&tmp, &dir)?;
    File::create(&done)?;
    remove_older_recipes(state_dir, &dir);
    Ok(dir)
}

/// Rootfs trees of earlier recipes are dead weight (about 170 MB each) once a new one exists.
fn remove_older_recipes(state_dir: &Path, keep: &Path) {
    for e in fs::read_dir(state_dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("rootfs-") && p.with_extension("") != keep {
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

fn customise(root: &Path) -> Result<()> {
    let root_s = path_str(root)?;
    write(root, "usr/local/bin/mm-example-app", EXAMPLE_APP, 0o755)?;
    write(
        root,
        "etc/systemd/system/example.service",
        EXAMPLE_UNIT,
        0o644,
    )?;
    write(
        root,
        "etc/ssh/sshd_config.d/miraclemax-testbed.conf",
        SSHD_CONF,
        0o644,
    )?;
    let mut mask = vec!["--root", root_s, "mask"];
    mask.extend_from_slice(MASKED);
    run("systemctl", &mask)?;
    run(
        "systemctl",
        &[
            "--root",
            root_s,
            "enable",
            "example.service",
            "ssh.service",
            "cron.service",
        ],
    )?;
    // monit comes as a SysV script: its rc links, not a unit, start it at boot.
    for level in 2..=5 {
        for e in fs::read_dir(root.join(format!("etc/rc{level}.d")))?.flatten() {
            if e.file_name().to_string_lossy().ends_with("monit") {
                fs::remove_file(e.path())?;
            }
        }
    }
    // Each instance writes its own machine-id; an empty file here keeps systemd from
    // treating every boot as a first boot.
    fs::write(root.join("etc/machine-id"), "")?;
    for t in TRIM {
        let p = root.join(t);
        if p.exists() {
            fs::remove_dir_all(&p)?;
            fs::create_dir_all(&p)?;
        }
    }
    Ok(())
}

fn write(root: &Path, rel: &str, text: &str, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("relative path has a parent"))?;
    fs::write(&p, text)?;
    fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// The Debian mirror apt already uses here; nothing else is reachable.
fn mirror() -> Result<String> {
    let sources = "/etc/apt/sources.list.d/debian.sources";
    if let Ok(text) = fs::read_to_string(sources)
        && let Some(uri) = text
            .lines()
            .find_map(|l| l.strip_prefix("URIs:"))
            .and_then(|v| v.split_whitespace().next())
    {
        return Ok(uri.to_string());
    }
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list")
        && let Some(uri) = text
            .lines()
            .filter(|l| l.starts_with("deb "))
            .find_map(|l| l.split_whitespace().find(|w| w.starts_with("http")))
    {
        return Ok(uri.to_string());
    }
    bail!(
        "no Debian mirror found in {sources} or /etc/apt/sources.list; the testbed needs one to debootstrap"
    )
}

fn recipe_hash() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        RECIPE_VERSION,
        PACKAGES,
        SUITE,
        EXAMPLE_APP,
        EXAMPLE_UNIT,
        SSHD_CONF,
        &MASKED.join(","),
    ] {
        for b in part.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

pub fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}
