//! Figures of the host itself for `host_checks`: a file system's space and inodes in use (as
//! `df` and `df -i` show them), memory and swap in use (as `free` shows them) and memory
//! pressure (the kernel's PSI). Blocking reads of the kernel's own figures: run them off the
//! runtime thread.
//!
//! A disk is measured as the host's service manager sees it, through `/proc/1/root`: the
//! daemon's own sandbox hides the home folders and gives it a private /tmp, and a check of
//! `/home` must measure the host's /home, not the empty folder the sandbox puts there.

use std::io;
use std::path::{Path, PathBuf};

/// How much of a file system is in use, in bytes and in inodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskUse {
    /// Bytes used, and the bytes an unprivileged user could still write (df's Used and Avail).
    pub used: u64,
    pub available: u64,
    /// Inodes used and in all; `None` where the file system counts none (btrfs, some FUSE).
    pub inodes: Option<(u64, u64)>,
}

impl DiskUse {
    /// Space in use in percent, as df's Use% computes it: used of used plus available (the
    /// blocks kept for root do not count as free).
    pub fn space_percent(&self) -> f64 {
        percent(self.used, self.used + self.available)
    }

    pub fn inodes_percent(&self) -> Option<f64> {
        self.inodes.map(|(used, total)| percent(used, total))
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Where `path` of the host is seen from inside the daemon's sandbox.
pub fn host_path(path: &Path) -> PathBuf {
    let mut seen = PathBuf::from("/proc/1/root");
    seen.push(path.strip_prefix("/").unwrap_or(path));
    seen
}

/// The use of the file system that holds `path` (given as the host sees it).
pub fn disk(path: &Path) -> io::Result<DiskUse> {
    disk_at(&host_path(path))
}

/// As [`disk`], for a path as this process sees it.
pub fn disk_at(seen: &Path) -> io::Result<DiskUse> {
    let st = rustix::fs::statvfs(seen)?;
    let block = st.f_frsize.max(1);
    let used = st.f_blocks.saturating_sub(st.f_bfree) * block;
    let available = st.f_bavail * block;
    let inodes = (st.f_files > 0).then(|| (st.f_files.saturating_sub(st.f_ffree), st.f_files));
    Ok(DiskUse {
        used,
        available,
        inodes,
    })
}

/// Memory and swap, from /proc/meminfo, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryUse {
    pub total: u64,
    /// What the kernel says could be given to a new program without swapping (`MemAvailable`).
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl MemoryUse {
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }

    pub fn percent(&self) -> f64 {
        percent(self.used(), self.total)
    }

    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }

    /// `None` on a host without swap.
    pub fn swap_percent(&self) -> Option<f64> {
        (self.swap_total > 0).then(|| percent(self.swap_used(), self.swap_total))
    }
}

pub fn memory() -> io::Result<MemoryUse> {
    let text = super::kernfs::read("/proc/meminfo")
        .ok_or_else(|| io::Error::other("cannot read /proc/meminfo"))?;
    parse_meminfo(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/meminfo has no MemTotal or MemAvailable",
        )
    })
}

fn parse_meminfo(text: &str) -> Option<MemoryUse> {
    let kib = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    Some(MemoryUse {
        total: kib("MemTotal")?,
        available: kib("MemAvailable")?,
        swap_total: kib("SwapTotal").unwrap_or(0),
        swap_free: kib("SwapFree").unwrap_or(0),
    })
}

/// Where the kernel says how long tasks waited for memory (PSI, Linux 4.20 and later, when
/// built in and not turned off with `psi=0`).
pub const PRESSURE_FILE: &str = "/proc/pressure/memory";

/// PSI's `some avg60` for memory: the share of the last minute, in percent, in which some
/// task waited for memory. `Ok(None)` when the kernel keeps no such figure.
pub fn pressure() -> io::Result<Option<f64>> {
    match std::fs::read_to_string(PRESSURE_FILE) {
        Ok(text) => parse_pressure(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{PRESSURE_FILE} has no 'some avg60=' figure"),
            )
        }),
        // Not built in, or off (`psi=0`: the file is there and refuses to be read).
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || e.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn parse_pressure(text: &str) -> Option<f64> {
    let some = text.lines().find(|l| l.starts_with("some "))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("avg60="))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_reads_as_df_shows_it() {
        let d = DiskUse {
            used: 900,
            available: 100,
            inodes: Some((5, 20)),
        };
        assert_eq!(d.space_percent(), 90.0);
        assert_eq!(d.inodes_percent(), Some(25.0));
        let here = disk_at(Path::new("/")).unwrap();
        assert!(here.used + here.available > 0, "{here:?}");
        assert!((0.0..=100.0).contains(&here.space_percent()));
        assert!(disk_at(Path::new("/no/such/path")).is_err());
    }

    #[test]
    fn a_host_path_is_seen_through_the_service_managers_root() {
        assert_eq!(host_path(Path::new("/")), Path::new("/proc/1/root"));
        assert_eq!(
            host_path(Path::new("/var/lib/pg")),
            Path::new("/proc/1/root/var/lib/pg")
        );
    }

    #[test]
    fn meminfo_gives_memory_and_swap_in_use() {
        let m = parse_meminfo(
            "MemTotal:        1000 kB\nMemFree:  100 kB\nMemAvailable:     250 kB\nSwapTotal:  0 kB\nSwapFree: 0 kB\n",
        )
        .unwrap();
        assert_eq!(m.used(), 750 * 1024);
        assert_eq!(m.percent(), 75.0);
        assert_eq!(m.swap_percent(), None);
        let m = parse_meminfo(
            "MemTotal: 8 kB\nMemAvailable: 8 kB\nSwapTotal: 400 kB\nSwapFree: 100 kB\n",
        )
        .unwrap();
        assert_eq!(m.swap_percent(), Some(75.0));
        assert_eq!(parse_meminfo("MemTotal: 8 kB\n"), None);
        let real = memory().unwrap();
        assert!(real.total > 0 && real.percent() <= 100.0, "{real:?}");
    }

    #[test]
    fn pressure_is_some_avg60() {
        let text = "some avg10=1.50 avg60=12.25 avg300=3.00 total=123\nfull avg10=0.00 avg60=40.00 avg300=0.00 total=0\n";
        assert_eq!(parse_pressure(text), Some(12.25));
        assert_eq!(parse_pressure("full avg60=3.0\n"), None);
        // This machine's kernel: a figure, or none when PSI is off; never an error.
        let real = pressure().unwrap();
        assert!(real.is_none_or(|p| (0.0..=100.0).contains(&p)), "{real:?}");
    }
}
