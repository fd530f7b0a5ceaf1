//! Giving back the program pages that start-up, a heal or a report touched: code the daemon
//! maps from its binary and libraries stays resident once touched (it counts in VmRSS), though
//! at rest only the look loop runs. Once things are quiet again the daemon asks the kernel to
//! reclaim its file-backed, never-written mappings (`MADV_PAGEOUT`), then to drop its own
//! references to what is left of them (`MADV_DONTNEED`: the pages of shared libraries that
//! other processes also map stay in the page cache for them, but no longer count as this
//! process's). The pages a look needs come back on their next use from the page cache or the
//! disk, the rest stay out. Memory the daemon wrote (its heap, relocated data) is never
//! touched: only private mappings of a file, not writable, with no private (copied) page. A
//! kernel without `MADV_PAGEOUT` (before 5.4) keeps everything as before.

use std::time::Duration;
use tokio::time::Instant;

/// When to shed: one quiet period after something happened (start, a reload, an incident's
/// end, a report leaving), checked at the main loop's beat, so no timer of its own.
pub struct Shed {
    due: std::sync::Mutex<Option<Instant>>,
    quiet: Duration,
}

impl Shed {
    pub fn new(quiet: Duration) -> Shed {
        Shed {
            due: std::sync::Mutex::new(Some(Instant::now() + quiet)),
            quiet,
        }
    }

    /// Something touched code that rest does not need: shed once it has been quiet again.
    pub fn soon(&self) {
        *self.lock() = Some(Instant::now() + self.quiet);
    }

    /// Whether the pages are due to be shed now (then not again until the next `soon`).
    pub fn take_due(&self) -> bool {
        let mut due = self.lock();
        match *due {
            Some(at) if at <= Instant::now() => {
                *due = None;
                true
            }
            _ => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One mapping of /proc/self/smaps that may be shed.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
}

/// The mappings worth shedding: backed by a file (a path), not writable, resident, and
/// without private (copied-on-write) pages, whose content exists only in this process.
fn sheddable(smaps: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    let mut current: Option<(Mapping, bool)> = None;
    let mut rss = 0u64;
    let mut private_copied = false;
    let mut flush = |m: Option<(Mapping, bool)>, rss: u64, copied: bool| {
        if let Some((m, file)) = m
            && file
            && rss > 0
            && !copied
        {
            out.push(m);
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            flush(current.take(), rss, private_copied);
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            let file = path.starts_with('/') && !perms.contains('w') && !perms.contains('s');
            current = Some((Mapping { start, end }, file));
            rss = 0;
            private_copied = false;
            continue;
        }
        let kib = || fields.clone().next().and_then(|v| v.parse::<u64>().ok());
        match first {
            "Rss:" => rss = kib().unwrap_or(0),
            // Pages this process wrote to (relocations): their content lives only here. Not
            // `Private_Dirty:`, which also counts the file's own pages while the page cache
            // has not yet written them back: right after a deploy installs the binary, every
            // page of it (the daemon's first shed would then give back nothing).
            "Anonymous:" | "Swap:" if kib().unwrap_or(0) > 0 => private_copied = true,
            _ => {}
        }
    }
    flush(current.take(), rss, private_copied);
    out
}

/// Sheds what can be shed; how many mappings were advised (0 where the kernel lacks
/// `MADV_PAGEOUT`). Blocking (reads /proc/self/smaps): run it off the runtime thread.
pub fn shed() -> usize {
    give_back_free_heap();
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut advised = 0;
    for m in sheddable(&smaps) {
        // SAFETY: the range is one of this process's own private, read-only mappings of a
        // file with no private page: reclaiming its pages, or dropping this process's
        // references to them, loses nothing: they are read again from the file on their next
        // use. The range is not unmapped or changed otherwise.
        let advise = |advice| unsafe {
            rustix::mm::madvise(m.start as *mut std::ffi::c_void, m.end - m.start, advice)
        };
        match advise(rustix::mm::Advice::LinuxPageOut) {
            Ok(()) => {
                advised += 1;
                let _ = advise(rustix::mm::Advice::LinuxDontNeed);
            }
            Err(rustix::io::Errno::INVAL) => return advised, // no MADV_PAGEOUT here
            Err(_) => {}
        }
    }
    advised
}

/// Keeps every thread's allocations in one heap. glibc gives threads that allocate at the same
/// moment heaps (arenas) of their own, up to eight per core, and never gives an arena back: the
/// start-up's burst of file and /proc work on the blocking pool left about fifteen, 24-164 KiB
/// resident each, with 500 services (`cargo bench --features plot --bench footprint`). The daemon's threads
/// allocate little and seldom at once, so one heap should cost little waiting (not measured
/// apart). Call it before the runtime starts its threads.
pub fn single_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_ARENA_MAX: std::ffi::c_int = -8;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt takes no pointer; M_ARENA_MAX only bounds the arenas made from now on.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
        }
    }
}

/// Returns the heap's free pages to the kernel: what start-up or an incident allocated and
/// freed stays resident otherwise, in holes below the top of the heap that `free` alone never
/// gives back (glibc's `malloc_trim`, which also trims every thread's arena).
fn give_back_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointer and only releases pages that no allocation uses.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0100000 r--p 00000000 08:01 123  /usr/local/bin/miraclemax-self-heal
Rss:                 400 kB
Anonymous:             0 kB
Private_Dirty:         0 kB
55d0a0100000-55d0a0500000 r-xp 00100000 08:01 123  /usr/local/bin/miraclemax-self-heal
Rss:                3000 kB
Private_Dirty:      3000 kB
Anonymous:             0 kB
55d0a0500000-55d0a0540000 r--p 00500000 08:01 123  /usr/local/bin/miraclemax-self-heal
Rss:                 256 kB
Private_Dirty:       256 kB
Anonymous:           256 kB
55d0a0540000-55d0a0550000 rw-p 00540000 08:01 123  /usr/local/bin/miraclemax-self-heal
Rss:                  64 kB
55d0a1000000-55d0a1100000 rw-p 00000000 00:00 0    [heap]
Rss:                 900 kB
7f0000000000-7f0000010000 r-xp 00000000 08:01 99   /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                   0 kB
7f0000100000-7f0000110000 r--s 00000000 08:01 77   /var/lib/shared.db
Rss:                  64 kB
7f0000200000-7f0000300000 r-xp 00000000 00:00 0
Rss:                  64 kB
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0    [stack]
Rss:                  20 kB
";

    #[test]
    fn only_resident_read_only_file_mappings_without_copied_pages_are_shed() {
        assert_eq!(
            sheddable(SMAPS),
            [
                Mapping {
                    start: 0x55d0a0000000,
                    end: 0x55d0a0100000
                },
                Mapping {
                    start: 0x55d0a0100000,
                    end: 0x55d0a0500000
                },
            ]
        );
    }

    #[test]
    fn shedding_our_own_pages_loses_nothing() {
        // A real /proc/self/smaps of this test process: the code keeps running afterwards and
        // a constant read from the binary is the same.
        static TEXT: &str = "read-only data that must survive";
        let before = TEXT.to_string();
        let _ = shed();
        assert_eq!(TEXT, before);
        assert!(!sheddable(&std::fs::read_to_string("/proc/self/smaps").unwrap()).is_empty());
    }
}
