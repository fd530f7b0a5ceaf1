//! The reader on binaries made here: a static and a dynamic one built by rustc for this machine,
//! and this machine's own /bin/ls, cross-checked against `objdump -T`. Both dynamic ones were
//! linked against this machine's glibc (2.36 on Debian 12), newer than the floor: the check
//! must fail them.

use super::*;
use std::path::PathBuf;
use std::process::Command;

const ARCH: &str = std::env::consts::ARCH;

fn floor() -> GlibcVersion {
    GlibcVersion::parse("2.17").unwrap()
}

/// `fn main() {}` built by this toolchain's rustc, statically or not, in a folder of its own
/// that goes when this does.
struct Built {
    dir: PathBuf,
    path: PathBuf,
}

impl Drop for Built {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn built(kind: &str, test: &str) -> Built {
    let dir = std::env::temp_dir().join(format!("mm-elf-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.rs"), "fn main() {}\n").unwrap();
    let path = dir.join(kind);
    let built = Built { dir, path };
    let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
    let mut cmd = Command::new(rustc);
    if kind == "static" {
        // glibc's static libraries (libc6-dev, which the linker gcc brings) link it in.
        cmd.args(["-C", "target-feature=+crt-static"]);
    }
    let status = cmd
        .arg(built.dir.join("main.rs"))
        .arg("-o")
        .arg(&built.path)
        .status()
        .unwrap();
    assert!(status.success(), "rustc could not build the {kind} binary");
    built
}

/// The GLIBC_ versions `objdump -T` names for a binary's dynamic symbols.
fn objdump_glibc(path: &Path) -> Vec<GlibcVersion> {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut versions: Vec<GlibcVersion> = String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(GlibcVersion::parse)
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The binary's bytes with another `e_machine` (offset 18, little-endian on both hosts).
fn with_machine(path: &Path, machine: u16) -> Vec<u8> {
    let mut data = std::fs::read(path).unwrap();
    data[18..20].copy_from_slice(&machine.to_le_bytes());
    data
}

#[test]
fn a_static_binary_fits_any_glibc() {
    let needs = BinaryNeeds::read(&built("static", "static").path).unwrap();
    assert!(needs.is_static(), "{needs:?}");
    assert_eq!(needs.interpreter, None);
    assert!(needs.libraries.is_empty());
    assert_eq!(needs.machine, machine_of(ARCH).unwrap());
    assert_eq!(check(&needs, ARCH, &floor()), Ok("static".to_string()));
}

#[test]
fn a_binary_linked_against_this_machines_glibc_fails_the_floor() {
    let dynamic = built("dynamic", "dynamic");
    let path = &dynamic.path;
    let needs = BinaryNeeds::read(path).unwrap();
    assert!(!needs.is_static());
    assert!(needs.interpreter.as_deref().unwrap().contains("ld-linux"));
    assert!(
        needs.libraries.iter().any(|l| l == "libc.so.6"),
        "{needs:?}"
    );
    assert_eq!(needs.glibc, objdump_glibc(path));
    let newest = needs.newest_glibc().unwrap();
    assert!(*newest > floor(), "{newest}");
    let wrong = check(&needs, ARCH, &floor()).unwrap_err().to_string();
    assert!(
        wrong.contains(&format!("needs GLIBC_{newest}, newer than the 2.17 floor")),
        "{wrong}"
    );
    // Against a floor as new as what it needs, glibc is no longer the complaint (what is left,
    // if anything, is libgcc_s, Rust's unwinder here, which zig's builds carry inside).
    if let Err(wrong) = check(&needs, ARCH, newest) {
        assert!(!wrong.to_string().contains("GLIBC_"), "{wrong}");
    }
}

#[test]
fn the_reader_agrees_with_objdump_on_this_machines_ls() {
    let ls = Path::new("/bin/ls");
    let needs = BinaryNeeds::read(ls).unwrap();
    assert!(!needs.glibc.is_empty());
    assert_eq!(needs.glibc, objdump_glibc(ls));
    assert!(check(&needs, ARCH, &floor()).is_err());
}

#[test]
fn the_elf_machine_must_be_the_folders_architecture() {
    let other = if ARCH == "x86_64" {
        "aarch64"
    } else {
        "x86_64"
    };
    let other_machine = machine_of(other).unwrap();
    let static_one = built("static", "machine");
    let foreign = BinaryNeeds::parse(&with_machine(&static_one.path, other_machine)).unwrap();
    assert_eq!(foreign.machine, other_machine);
    assert_eq!(check(&foreign, other, &floor()), Ok("static".to_string()));
    let wrong = check(&foreign, ARCH, &floor()).unwrap_err();
    assert_eq!(
        wrong.to_string(),
        format!(
            "ELF machine {other_machine} where {ARCH} is {}",
            machine_of(ARCH).unwrap()
        )
    );
    assert!(check(&foreign, "riscv64", &floor()).is_err());
    assert_eq!(machine_of("x86_64"), Some(62));
    assert_eq!(machine_of("aarch64"), Some(183));
}

#[test]
fn what_no_glibc_floor_covers_fails() {
    let needs = BinaryNeeds {
        machine: machine_of(ARCH).unwrap(),
        interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
        libraries: vec!["libc.so.6".into(), "libgcc_s.so.1".into()],
        glibc: vec![GlibcVersion::parse("2.2.5").unwrap()],
        other_versions: vec!["GCC_3.0".into(), "GLIBC_PRIVATE".into()],
    };
    let wrong = check(&needs, ARCH, &floor()).unwrap_err().to_string();
    assert!(
        wrong.contains("loads libraries outside glibc: libgcc_s.so.1"),
        "{wrong}"
    );
    assert!(wrong.contains("GCC_3.0, GLIBC_PRIVATE"), "{wrong}");
    let fine = BinaryNeeds {
        libraries: vec!["libc.so.6".into(), "libm.so.6".into()],
        other_versions: vec![],
        ..needs
    };
    assert_eq!(check(&fine, ARCH, &floor()), Ok("glibc 2.2.5".to_string()));
}

#[test]
fn glibc_versions_order_as_glibc_numbers_them() {
    let v = |s| GlibcVersion::parse(s).unwrap();
    assert!(v("2.2.5") < v("2.3"));
    assert!(v("2.3") < v("2.17"));
    assert!(v("2.17") < v("2.34"));
    assert_eq!(v("2.17"), v("2.17"));
    assert_eq!(v("2.2.5").to_string(), "2.2.5");
    assert_eq!(GlibcVersion::parse("PRIVATE"), None);
    assert_eq!(GlibcVersion::parse(""), None);
}

#[test]
fn a_file_that_is_not_elf_is_an_error() {
    assert!(BinaryNeeds::parse(b"#!/bin/sh\nexit 0\n").is_err());
    assert!(BinaryNeeds::parse(&[]).is_err());
}
