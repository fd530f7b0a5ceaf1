//! The golden root filesystems test hosts boot from, one per Debian release: debootstrapped
//! once, customised (sshd for key login, the logins of `LOGINS`, the example service, noisy
//! units masked) and cached under the testbed directory, keyed by the release and a hash of its
//! recipe, so a changed recipe rebuilds that release's tree and the other release's stays.

use super::Release;
use super::cmd::{run, run_with_input};
use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

// monit is there as a peer for the healing benchmark; it stays disabled unless one starts it.
// The same names on Debian 12 and 13.
const PACKAGES: &str = "systemd,systemd-sysv,dbus,openssh-server,python3,iproute2,cron,procps,psmisc,curl,ca-certificates,monit,sudo";
const RECIPE_VERSION: &str = "3";
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
/// The logins every host has besides root, which the harness itself uses. Each gets the
/// testbed's SSH key when a host boots (`authorized_keys`); none can log in with a password.
pub(crate) const LOGINS: [Login; 2] = [
    // As the example inventory logs in: sudo without a password.
    Login {
        name: "deploy",
        uid: 1000,
    },
    // A member of Debian's `sudo` group, whose sudo asks for its password (`SUDO_PASSWORD`).
    Login {
        name: "ops",
        uid: 1001,
    },
];

/// The password `ops` gives sudo; tests keep it in an Ansible vault.
pub const SUDO_PASSWORD: &str = "ops-sudo-7f3a91c2";

const SUDOERS: &str = "# mm-testbed: deploy, the example inventory's login, needs no password for sudo.\n\
                       deploy ALL=(ALL:ALL) NOPASSWD: ALL\n";

pub(crate) struct Login {
    pub name: &'static str,
    pub uid: u32,
}

const TRIM: &[&str] = &[
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
];

/// Returns the release's golden rootfs, building it first if this recipe has not been built
/// yet. Concurrent callers (parallel tests) wait for one build instead of racing.
pub fn ensure(state_dir: &Path, release: Release) -> Result<PathBuf> {
    fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let suite = release.suite();
    let dir = state_dir.join(format!("rootfs-{suite}-{:016x}", recipe_hash(release)));
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
        "testbed: building the {release} rootfs in {} (about 2 minutes, once)",
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
            suite,
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
    remove_older_recipes(state_dir, release, &dir);
    Ok(dir)
}

/// Rootfs trees of the release's earlier recipes are dead weight (about 170 MB each) once a
/// new one exists, as are those from before the suite was in the name (`rootfs-<hash>`, all
/// Debian 12); the other release's tree is left alone.
fn remove_older_recipes(state_dir: &Path, release: Release, keep: &Path) {
    for e in fs::read_dir(state_dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if of_release(&name, release) && p.with_extension("") != keep {
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

/// Whether a file or folder of the state directory (a tree, its `.ok` or `.tmp`) is a rootfs of
/// the release, whatever its recipe.
fn of_release(name: &str, release: Release) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let Some(rest) = stem.strip_prefix("rootfs-") else {
        return false;
    };
    let hash = rest
        .strip_prefix(release.suite())
        .and_then(|h| h.strip_prefix('-'));
    let unnamed = release == Release::Bookworm && rest.len() == 16;
    hash.or(unnamed.then_some(rest))
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
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
    // monit is started at boot by its SysV script's rc links on Debian 12, by its own unit,
    // enabled when it is installed, on Debian 13.
    if root.join("usr/lib/systemd/system/monit.service").exists()
        || root.join("lib/systemd/system/monit.service").exists()
    {
        run("systemctl", &["--root", root_s, "disable", "monit.service"])?;
    }
    for level in 2..=5 {
        let Ok(links) = fs::read_dir(root.join(format!("etc/rc{level}.d"))) else {
            continue;
        };
        for e in links.flatten() {
            if e.file_name().to_string_lossy().ends_with("monit") {
                fs::remove_file(e.path())?;
            }
        }
    }
    add_logins(root)?;
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

/// The users of `LOGINS`, with sudo as each is described there. Their passwords: none for
/// deploy (`*`: no password matches, yet the account is not locked), `SUDO_PASSWORD` for ops;
/// sshd takes keys only (sshd-testbed.conf).
fn add_logins(root: &Path) -> Result<()> {
    let root_s = path_str(root)?;
    for login in LOGINS {
        let uid = login.uid.to_string();
        run(
            "useradd",
            &[
                "--root",
                root_s,
                "--create-home",
                "--uid",
                &uid,
                "--user-group",
                "--shell",
                "/bin/bash",
                login.name,
            ],
        )?;
    }
    run("usermod", &["--root", root_s, "--password", "*", "deploy"])?;
    run(
        "usermod",
        &["--root", root_s, "--append", "--groups", "sudo", "ops"],
    )?;
    run_with_input(
        "chpasswd",
        &["--root", root_s, "--crypt-method", "SHA512"],
        &format!("ops:{SUDO_PASSWORD}\n"),
    )?;
    write(root, "etc/sudoers.d/miraclemax-testbed", SUDOERS, 0o440)?;
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

fn recipe_hash(release: Release) -> u64 {
    let logins: Vec<String> = LOGINS
        .iter()
        .map(|l| format!("{}:{}", l.name, l.uid))
        .collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        RECIPE_VERSION,
        PACKAGES,
        release.suite(),
        EXAMPLE_APP,
        EXAMPLE_UNIT,
        SSHD_CONF,
        SUDOERS,
        SUDO_PASSWORD,
        &logins.join(","),
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

#[cfg(test)]
mod tests {
    use super::{Release, of_release};

    #[test]
    fn a_new_recipe_replaces_only_its_own_releases_trees() {
        let bookworm = "rootfs-bookworm-78c7bb8fa804b709";
        let trixie = "rootfs-trixie-ce2f3f730c5af87a";
        // Before the suite was in the name, every tree was Debian 12's.
        let unnamed = "rootfs-ce2f3f730c5af87a";
        for name in [
            bookworm,
            &format!("{bookworm}.ok"),
            unnamed,
            &format!("{unnamed}.tmp"),
        ] {
            assert!(of_release(name, Release::Bookworm), "{name}");
            assert!(!of_release(name, Release::Trixie), "{name}");
        }
        assert!(of_release(trixie, Release::Trixie));
        assert!(!of_release(trixie, Release::Bookworm));
        for other in ["build.lock", "slots", "id_ed25519", "rootfs-notes"] {
            assert!(!of_release(other, Release::Bookworm), "{other}");
        }
    }
}
