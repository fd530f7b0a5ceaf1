//! One booted test host: an overlay of the golden rootfs, its own network namespace and
//! cgroups, and systemd-nspawn running its systemd. `stop` (also run on drop and for stale
//! slots) removes every trace: processes, cgroups, mount, files, netns and veth.

use super::Release;
use super::cmd::{self, output, quietly, run, shell_quote};
use super::net::Net;
use super::rootfs::{LOGINS, path_str};
use anyhow::{Context, Result, bail};
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Cgroup hierarchies each instance gets its own directory in (the machine mixes v1 and v2).
pub(super) const CGROUP_ROOTS: [&str; 2] = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];

pub struct Host {
    pub name: String,
    /// The Debian release it boots.
    pub release: Release,
    pub net: Net,
    dir: PathBuf,
    key: PathBuf,
    pub(super) nspawn: Option<Child>,
}

impl Host {
    pub(super) fn new(slot: u8, slots_dir: &Path, key: &Path) -> Host {
        Host {
            name: format!("lab{slot}"),
            // Set by `Testbed::start_on`; a host only probed or cleaned boots nothing.
            release: Release::default(),
            net: Net { slot },
            dir: slots_dir.join(slot.to_string()),
            key: key.to_path_buf(),
            nspawn: None,
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        self.net.address()
    }

    /// The host-side address this host reaches the machine on (for test SMTP/HTTP servers).
    pub fn gateway(&self) -> Ipv4Addr {
        self.net.gateway()
    }

    pub(super) fn machine(&self) -> String {
        self.net.netns()
    }

    fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }

    pub(super) fn boot(&mut self, rootfs: &Path, public_key: &str) -> Result<()> {
        for sub in ["upper", "work", "merged"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            path_str(rootfs)?,
            path_str(&self.dir.join("upper"))?,
            path_str(&self.dir.join("work"))?
        );
        run(
            "mount",
            &[
                "-t",
                "overlay",
                "overlay",
                "-o",
                &opts,
                path_str(&self.merged())?,
            ],
        )?;
        self.personalise(public_key)?;
        self.net.create()?;
        for root in CGROUP_ROOTS {
            fs::create_dir_all(Path::new(root).join(self.machine()))?;
        }
        self.spawn_nspawn()?;
        self.wait_until_up()
    }

    fn personalise(&self, public_key: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let m = self.merged();
        fs::write(m.join("etc/hostname"), format!("{}\n", self.name))?;
        fs::write(
            m.join("etc/hosts"),
            format!(
                "127.0.0.1 localhost\n127.0.1.1 {}\n{} {}\n",
                self.name,
                self.gateway(),
                "testbed-gateway"
            ),
        )?;
        let id = fs::read_to_string("/proc/sys/kernel/random/uuid")?
            .trim()
            .replace('-', "");
        fs::write(m.join("etc/machine-id"), format!("{id}\n"))?;
        // Root for the harness; the other logins for Ansible and mmctl (`deploy::Login`).
        let homes = std::iter::once(("root".to_string(), 0))
            .chain(LOGINS.iter().map(|l| (format!("home/{}", l.name), l.uid)));
        for (home, uid) in homes {
            let ssh = m.join(home).join(".ssh");
            let keys = ssh.join("authorized_keys");
            fs::create_dir_all(&ssh)?;
            fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700))?;
            fs::write(&keys, public_key)?;
            fs::set_permissions(&keys, fs::Permissions::from_mode(0o600))?;
            // Each login's user group has its uid as gid (useradd --user-group).
            std::os::unix::fs::chown(&ssh, Some(uid), Some(uid))?;
            std::os::unix::fs::chown(&keys, Some(uid), Some(uid))?;
        }
        Ok(())
    }

    pub(super) fn spawn_nspawn(&mut self) -> Result<()> {
        let log = fs::File::create(self.dir.join("nspawn.log"))?;
        let procs: Vec<String> = CGROUP_ROOTS
            .iter()
            .map(|r| format!("{r}/{}/cgroup.procs", self.machine()))
            .collect();
        let merged = self.merged();
        let netns = format!("--network-namespace-path=/run/netns/{}", self.net.netns());
        // The shell only moves itself into the instance's cgroups and then becomes nspawn;
        // every path and argument reaches it as a positional parameter, never as code.
        let child = Command::new("setsid")
            .args([
                "sh",
                "-c",
                r#"echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@""#,
                "sh",
            ])
            .args(&procs)
            .args([
                "systemd-nspawn",
                "-D",
                path_str(&merged)?,
                "-M",
                &self.machine(),
                "-b",
            ])
            .args([
                "--register=no",
                "--keep-unit",
                "--link-journal=no",
                "--console=read-only",
                &netns,
            ])
            .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start systemd-nspawn")?;
        self.nspawn = Some(child);
        Ok(())
    }

    pub(super) fn wait_until_up(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(child) = self.nspawn.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "{}: systemd-nspawn exited ({status}) while booting; log: {}",
                    self.name,
                    self.log_tail()
                );
            }
            if self
                .ssh(&["true"])
                .map(|o| o.status.success())
                .unwrap_or(false)
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: ssh did not answer within 90 s; log: {}",
                    self.name,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = self.ssh(&["systemctl", "is-system-running", "--wait"])?;
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if state != "running" {
            let failed = self.ssh(&["systemctl", "--failed", "--no-legend", "--plain"])?;
            bail!(
                "{}: systemd is '{state}', not running; failed units: {}",
                self.name,
                String::from_utf8_lossy(&failed.stdout).trim()
            );
        }
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.join("nspawn.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Runs a command on the host over SSH; each argument arrives exactly as given.
    pub fn ssh(&self, args: &[&str]) -> Result<Output> {
        let remote: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        let target = format!("root@{}", self.address());
        let mut argv = self.ssh_options();
        argv.push(target);
        argv.push("--".into());
        argv.push(remote.join(" "));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        output("ssh", &argv)
    }

    /// Like `ssh`, but a non-zero exit is an error naming the command and its stderr.
    pub fn ssh_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.ssh(args)?;
        if !out.status.success() {
            bail!(
                "{}: `{}` failed ({}): {}",
                self.name,
                cmd::argv(args[0], &args[1..]),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies a local file to the host (scp over the same SSH options).
    pub fn copy(&self, local: &Path, remote: &str) -> Result<()> {
        let mut argv = self.ssh_options();
        argv.push("-q".into());
        argv.push(path_str(local)?.to_string());
        argv.push(format!("root@{}:{remote}", self.address()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run("scp", &argv).map(|_| ())
    }

    /// Writes text to a file on the host, creating its directory; a file under /etc/miraclemax/
    /// is made root-only (0600), as the roles write them.
    pub fn write(&self, remote: &str, text: &str) -> Result<()> {
        let tmp = std::env::temp_dir().join(format!(
            "mm-testbed-{}-{}",
            std::process::id(),
            self.net.slot
        ));
        fs::write(&tmp, text)?;
        if let Some(dir) = Path::new(remote).parent() {
            self.ssh_ok(&["mkdir", "-p", path_str(dir)?])?;
        }
        let r = self.copy(&tmp, remote);
        let _ = fs::remove_file(&tmp);
        r?;
        // As the roles write them: the daemon refuses configuration files others can read.
        if remote.starts_with("/etc/miraclemax/") {
            self.ssh_ok(&["chmod", "600", remote])?;
        }
        Ok(())
    }

    /// The ssh client options for reaching this host, for tools (ansible, mmctl) under test.
    pub fn ssh_options(&self) -> Vec<String> {
        [
            "-i",
            self.key.to_str().unwrap_or_default(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Powers the host off and removes everything it had. Safe to call more than once and on
    /// a slot left behind by a process that died.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.nspawn.take() {
            // SIGTERM asks nspawn for an orderly poweroff; SIGKILL would orphan the guest.
            quietly("kill", &["-TERM", &child.id().to_string()]);
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if child.try_wait()?.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // An nspawn whose owner was killed is no child of ours: ask it to power off too.
        let orphans = nspawn_pids(&self.machine());
        for pid in &orphans {
            quietly("kill", &["-TERM", &pid.to_string()]);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while !nspawn_pids(&self.machine()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill_cgroups()?;
        let merged = self.merged();
        if is_mounted(&merged) && !output("umount", &[path_str(&merged)?])?.status.success() {
            quietly("umount", &["-l", path_str(&merged)?]);
        }
        if self.dir.exists() && !is_mounted(&merged) {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        }
        self.net.remove();
        let left = self.leftovers();
        if !left.is_empty() {
            bail!("{}: teardown left behind: {}", self.name, left.join("; "));
        }
        Ok(())
    }

    /// Kills every process in the instance's cgroups (stopping an orphaned guest too) and
    /// removes the cgroup directories, deepest first.
    pub(super) fn kill_cgroups(&self) -> Result<()> {
        for root in CGROUP_ROOTS {
            let top = Path::new(root).join(self.machine());
            if !top.exists() {
                continue;
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let pids = cgroup_pids(&top);
                if pids.is_empty() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "{}: processes {:?} in {} will not die",
                        self.name,
                        pids,
                        top.display()
                    );
                }
                let mut args = vec!["-KILL".to_string()];
                args.extend(pids.iter().map(u32::to_string));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                quietly("kill", &args);
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut dirs = cgroup_dirs(&top);
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                let _ = fs::remove_dir(&d);
            }
        }
        Ok(())
    }

    /// What is still on the machine for this host: processes, cgroups, mount, files, netns,
    /// veth. Empty after a clean teardown.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for root in CGROUP_ROOTS {
            let top = Path::new(root).join(self.machine());
            if top.exists() {
                let pids = cgroup_pids(&top);
                if !pids.is_empty() {
                    left.push(format!("processes {pids:?}"));
                }
                left.push(format!("cgroup {}", top.display()));
            }
        }
        if is_mounted(&self.merged()) {
            left.push(format!("mount {}", self.merged().display()));
        }
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        if self.net.netns_exists() {
            left.push(format!("netns {}", self.net.netns()));
        }
        if self.net.veth_exists() {
            left.push(format!("veth {}", self.net.host_veth()));
        }
        for pid in nspawn_pids(&self.machine()) {
            left.push(format!("systemd-nspawn process {pid}"));
        }
        left
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("testbed: {e:#}");
        }
    }
}

fn cgroup_dirs(top: &Path) -> Vec<PathBuf> {
    let mut out = vec![top.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = fs::read_dir(&out[i]) {
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}

pub(super) fn cgroup_pids(top: &Path) -> Vec<u32> {
    cgroup_dirs(top)
        .iter()
        .filter_map(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

fn is_mounted(p: &Path) -> bool {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let want = p.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(&want))
}

/// Live (not zombie) systemd-nspawn processes running the named machine.
fn nspawn_pids(machine: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            miraclemax::probe::procs::alive(*pid)
                && args.first().is_some_and(|a| a.ends_with(b"systemd-nspawn"))
                && args
                    .windows(2)
                    .any(|w| w[0] == b"-M" && w[1] == machine.as_bytes())
        })
        .collect()
}
