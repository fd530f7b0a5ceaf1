//! Release builds of the daemon link the functions it runs at rest side by side, first in its
//! code (link/at-rest.ld, written by `FP_ORDER=1 cargo bench --features plot --bench footprint`): rest then
//! keeps a few of its code pages resident instead of most of them (docs/performance.md,
//! "Pages"). The script only orders sections, so any linker that reads GNU linker scripts
//! (lld, zig's, GNU ld) gives the same program; the other builds are left as they are.

use std::path::Path;

fn main() {
    // Read when the script runs, not built into it: a build script compiled in another checkout
    // sharing this target folder (scripts/build-previous) must not point at that checkout.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it");
    let script = Path::new(&manifest_dir).join("link/at-rest.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if !release || !linux || !script.is_file() {
        return;
    }
    // rustc runs the linker itself (rust-lld, ld.lld, ld) or through a C compiler driver
    // (cc, zig cc), which hands on what follows -Xlinker (zig's takes `-T FILE`, not --script=).
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = Path::new(&linker)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let direct = name.contains("lld") || name == "ld" || name.ends_with("-ld");
    for arg in ["-T", script.to_str().expect("a UTF-8 path")] {
        if !direct {
            println!("cargo:rustc-link-arg-bin=miraclemax-self-heal=-Xlinker");
        }
        println!("cargo:rustc-link-arg-bin=miraclemax-self-heal={arg}");
    }
}
