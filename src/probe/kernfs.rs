//! Reading the small files of /proc and /sys/fs/cgroup that a look reads at every service:
//! opened, read once into a buffer on the stack, closed. `std::fs::read_to_string` asks the
//! file's size first and reads again to see its end: two more system calls per file, each
//! passing the daemon's system call filters, at every look at every service.

use std::io::Read as _;
use std::path::Path;

/// The whole text of a small kernel file (`None` if it cannot be read). A file longer than the
/// buffer (a cgroup of many processes) is read on until its end.
pub fn read(path: impl AsRef<Path>) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 1024];
    let n = file.read(&mut buf).ok()?;
    let mut text = buf[..n].to_vec();
    // The kernel hands over a small file whole; a full buffer may mean there is more.
    if n == buf.len() {
        file.read_to_end(&mut text).ok()?;
    }
    String::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_and_long_files_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let long: String = (0..2000).map(|i| format!("{i}\n")).collect();
        for text in ["", "usage_usec 12\n", long.as_str()] {
            let path = dir.path().join("f");
            std::fs::write(&path, text).unwrap();
            assert_eq!(super::read(&path).as_deref(), Some(text));
        }
        assert_eq!(super::read(dir.path().join("missing")), None);
        let stat = super::read("/proc/self/stat").unwrap();
        assert!(
            stat.starts_with(&format!("{} (", std::process::id())),
            "{stat}"
        );
    }
}
