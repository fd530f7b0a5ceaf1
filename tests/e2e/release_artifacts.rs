//! What ships runs on any systemd Linux, old ones included: `scripts/build` (release, what the
//! playbooks deploy) fills `dist/ARCH/`, `scripts/build-collection` packs the tarball, and every
//! host binary in both is static or needs no glibc newer than 2.17, and is built for its
//! folder's architecture. No binary is left for the controller to run.
//!
//! `make test` runs `scripts/build` once in a step of its own before this tier, so here it finds
//! everything up to date. Alone (the release build takes minutes):
//! `cargo test --locked --features e2e --test e2e release_artifacts -- --nocapture`

use mm_testbed::elf::{BinaryNeeds, GlibcVersion, check};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest glibc the host binaries may need (CentOS 7's; RHEL 8 has 2.28).
const FLOOR: &str = "2.17";

/// Every binary a host gets, as `dist/ARCH/` names them.
const HOST_BINARIES: [&str; 8] = [
    "miraclemax-self-heal",
    "miraclemax-status",
    "miraclemax-heartbeat",
    "stack_facts",
    "drill",
    "maintenance",
    "agent_config",
    "healthchecks_check",
];

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

/// A fresh folder under the system's temp dir, unique to this test process.
fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// Checks every file in each `root/ARCH/` folder; returns the architectures found, and adds a
/// line per file to `report` and one per unfit file to `unfit`.
fn check_per_arch(
    root: &Path,
    label: &str,
    report: &mut Vec<String>,
    unfit: &mut Vec<String>,
) -> Vec<String> {
    let floor = GlibcVersion::parse(FLOOR).unwrap();
    let mut archs = Vec::new();
    for dir in sorted_entries(root).into_iter().filter(|p| p.is_dir()) {
        let arch = dir.file_name().unwrap().to_str().unwrap().to_string();
        let files = sorted_entries(&dir);
        let names: Vec<&str> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap())
            .collect();
        for b in HOST_BINARIES {
            if !names.contains(&b) {
                unfit.push(format!("{label}/{arch}: {b} is missing"));
            }
        }
        for file in &files {
            let name = format!("{label}/{arch}/{}", file.file_name().unwrap().display());
            let verdict = BinaryNeeds::read(file)
                .map_err(|e| format!("{e:#}"))
                .and_then(|needs| check(&needs, &arch, &floor).map_err(|e| e.to_string()));
            match verdict {
                Ok(fits) => report.push(format!("{name}: {arch}, {fits}")),
                Err(wrong) => unfit.push(format!("{name}: {wrong}")),
            }
        }
        archs.push(arch);
    }
    archs
}

/// Every file under `dir`, at any depth.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in sorted_entries(dir) {
        if entry.is_dir() {
            walk(&entry, out);
        } else {
            out.push(entry);
        }
    }
}

/// `scripts/build` as a shell runs it. A test inherits the variables cargo sets for its own
/// package (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...); ring's build script watches some of them,
/// so with them cargo would take the release build for a different one and redo it all.
fn scripts_build(repo: &Path) -> Command {
    const PACKAGE_VARS: [&str; 7] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    let mut cmd = Command::new(repo.join("scripts/build"));
    for (name, _) in std::env::vars_os() {
        if PACKAGE_VARS
            .iter()
            .any(|p| name.to_string_lossy().starts_with(p))
        {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn release_artifacts_in_dist_and_the_tarball_are_static_or_need_at_most_glibc_2_17() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let built = run(&mut scripts_build(repo));
    eprintln!("scripts/build took {:.0?}", started.elapsed());
    eprintln!("scripts/build:\n{built}");
    let native = std::env::consts::ARCH;
    assert!(
        built.lines().any(|l| {
            l.starts_with(&format!("dist/{native} (glibc {FLOOR} floor): "))
                || l.starts_with(&format!("dist/{native} (static): "))
        }),
        "scripts/build did not build dist/{native} static or for the glibc {FLOOR} floor: {built}"
    );

    let out = fresh("release-collection");
    run(Command::new(repo.join("scripts/build-collection"))
        .arg("--out")
        .arg(&out));
    let tarball = out.join("miraclemax-stack-0.1.0.tar.gz");
    let unpacked = fresh("release-collection-unpacked");
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpacked));

    let mut report = Vec::new();
    let mut unfit = Vec::new();
    let dist_archs = check_per_arch(&repo.join("dist"), "dist", &mut report, &mut unfit);
    let in_tarball = unpacked.join("roles/binaries/files/dist");
    let tar_archs = check_per_arch(&in_tarball, "tarball", &mut report, &mut unfit);
    eprintln!("{}", report.join("\n"));
    assert!(dist_archs.iter().any(|a| a == native), "{dist_archs:?}");
    assert_eq!(
        tar_archs, dist_archs,
        "the tarball carries every architecture built"
    );

    // Nothing else in the collection is a binary: the controller runs none of ours.
    let mut files = Vec::new();
    walk(&unpacked, &mut files);
    for file in files.iter().filter(|f| !f.starts_with(&in_tarball)) {
        let head = std::fs::read(file).unwrap();
        if head.starts_with(b"\x7fELF") {
            unfit.push(format!(
                "tarball/{}: a binary outside the hosts' builds",
                file.strip_prefix(&unpacked).unwrap().display()
            ));
        }
    }
    assert!(unfit.is_empty(), "unfit:\n{}", unfit.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&unpacked);
}
