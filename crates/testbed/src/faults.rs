//! Faults a test injects into a whole host, from outside it, as the world does to a server:
//! the power cut (every process killed at once, disk kept) and back on, the machine frozen and
//! thawed, systemd (PID 1) frozen, the network link cut and restored.

use super::Host;
use super::cmd::{quietly, run};
use super::host::{CGROUP_ROOTS, cgroup_pids};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

impl Host {
    fn unified(&self) -> PathBuf {
        Path::new(CGROUP_ROOTS[1]).join(self.machine())
    }

    /// Every process of the host (systemd-nspawn included), as the machine sees them.
    fn pids(&self) -> Vec<u32> {
        cgroup_pids(&self.unified())
    }

    /// Power cut: every process of the host is killed at the same instant, with no shutdown;
    /// its disk (the overlay) and network are kept for `power_on`.
    pub fn power_cut(&mut self) -> Result<()> {
        self.kill_cgroups()?;
        if let Some(mut child) = self.nspawn.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }

    /// Boots the host again from the disk `power_cut` left, and waits until systemd is up.
    pub fn power_on(&mut self) -> Result<()> {
        for root in CGROUP_ROOTS {
            fs::create_dir_all(Path::new(root).join(self.machine()))?;
        }
        self.spawn_nspawn()?;
        self.wait_until_up()
    }

    /// Freezes every process of the host (a hung kernel, a stuck hypervisor): the cgroup
    /// freezer where the kernel has it, else SIGSTOP to each process.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let knob = self.unified().join("cgroup.freeze");
        if knob.exists() {
            return fs::write(&knob, if frozen { "1" } else { "0" })
                .with_context(|| format!("cannot write {}", knob.display()));
        }
        let signal = if frozen { "-STOP" } else { "-CONT" };
        for pid in self.pids() {
            quietly("kill", &[signal, &pid.to_string()]);
        }
        Ok(())
    }

    /// The host's systemd, PID 1 in its own namespace, as a PID of the machine.
    pub fn pid1(&self) -> Result<u32> {
        for pid in self.pids() {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let ns_pid = status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|l| l.split_whitespace().last());
            if ns_pid == Some("1") {
                return Ok(pid);
            }
        }
        bail!("{}: no process is PID 1 of its namespace", self.name)
    }

    /// Freezes the host's systemd alone (SIGSTOP from outside, which PID 1 cannot refuse):
    /// every other process runs on, but nothing systemd does happens.
    pub fn freeze_systemd(&self) -> Result<()> {
        run("kill", &["-STOP", &self.pid1()?.to_string()]).map(|_| ())
    }

    pub fn thaw_systemd(&self) -> Result<()> {
        run("kill", &["-CONT", &self.pid1()?.to_string()]).map(|_| ())
    }

    /// Cuts the host's network link (the cable pulled on the machine's side).
    pub fn link_down(&self) -> Result<()> {
        run("ip", &["link", "set", &self.net.host_veth(), "down"]).map(|_| ())
    }

    /// Restores the link, with the gateway address the host's routes go through.
    pub fn link_up(&self) -> Result<()> {
        run("ip", &["link", "set", &self.net.host_veth(), "up"]).map(|_| ())
    }

    /// Runs a command inside the host as at its console (in all its namespaces, through
    /// nsenter, not the network): for when SSH cannot reach it. Its standard output.
    pub fn console(&self, args: &[&str]) -> Result<String> {
        let pid = self.pid1()?.to_string();
        let mut argv = vec!["--target", pid.as_str(), "--all", "--"];
        argv.extend_from_slice(args);
        run("nsenter", &argv)
    }
}
