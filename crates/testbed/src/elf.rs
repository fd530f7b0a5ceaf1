//! What a built binary asks of the system that runs it, read from its ELF headers: the machine
//! it is for, whether it is static, the shared libraries it loads, and the glibc symbol
//! versions it needs (`.gnu.version_r`, what `objdump -T` shows as `GLIBC_2.17`). The release
//! artifacts' end-to-end test checks every host binary in `dist/` and in the collection with it.

use anyhow::{Context, Result};
use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use std::fmt;
use std::path::Path;

/// A numbered glibc release as its symbol versions name it (`GLIBC_2.2.5`, `GLIBC_2.17`),
/// ordered as glibc numbers them: 2.2.5 < 2.17 < 2.34.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(Vec<u32>);

impl GlibcVersion {
    /// `"2.17"` -> 2.17; None unless dot-separated numbers.
    pub fn parse(text: &str) -> Option<GlibcVersion> {
        text.split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<Vec<u32>>>()
            .map(GlibcVersion)
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// What one binary needs, as its headers say.
#[derive(Debug, Clone)]
pub struct BinaryNeeds {
    /// `e_machine`: 62 for x86_64 (`EM_X86_64`), 183 for aarch64 (`EM_AARCH64`).
    pub machine: u16,
    /// The dynamic loader it names (`PT_INTERP`), if any.
    pub interpreter: Option<String>,
    /// The shared libraries it loads (`DT_NEEDED`).
    pub libraries: Vec<String>,
    /// Every numbered `GLIBC_` version it needs, oldest first.
    pub glibc: Vec<GlibcVersion>,
    /// Other versions it needs from any library (`GLIBC_PRIVATE`, `GCC_3.0`, ...): no glibc
    /// floor promises those.
    pub other_versions: Vec<String>,
}

impl BinaryNeeds {
    pub fn read(path: &Path) -> Result<BinaryNeeds> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        BinaryNeeds::parse(&data).with_context(|| format!("{} as an ELF binary", path.display()))
    }

    /// Reads a 64-bit ELF file (the only kind x86_64 and aarch64 hosts run).
    pub fn parse(data: &[u8]) -> Result<BinaryNeeds> {
        let header =
            elf::FileHeader64::<Endianness>::parse(data).context("not a 64-bit ELF file")?;
        let endian = header.endian()?;
        let mut interpreter = None;
        for segment in header.program_headers(endian, data)? {
            if let Some(path) = segment.interpreter(endian, data)? {
                interpreter = Some(String::from_utf8_lossy(path).into_owned());
            }
        }
        let sections = header.sections(endian, data)?;
        let dynamic = sections.dynamic_table(endian, data)?;
        let mut libraries = Vec::new();
        for entry in &dynamic {
            if entry.tag == elf::DT_NEEDED {
                libraries.push(String::from_utf8_lossy(dynamic.string(entry)?).into_owned());
            }
        }
        let mut glibc = Vec::new();
        let mut other_versions = Vec::new();
        if let Some((needs, strings_at)) = sections.gnu_verneed(endian, data)? {
            let strings = sections.strings(endian, data, strings_at)?;
            for need in needs {
                let (_library, versions) = need?;
                for version in versions {
                    let name = String::from_utf8_lossy(version?.name(endian, strings)?);
                    match name.strip_prefix("GLIBC_").and_then(GlibcVersion::parse) {
                        Some(v) => glibc.push(v),
                        None => other_versions.push(name.into_owned()),
                    }
                }
            }
        }
        glibc.sort();
        glibc.dedup();
        other_versions.sort();
        other_versions.dedup();
        Ok(BinaryNeeds {
            machine: header.e_machine(endian).0,
            interpreter,
            libraries,
            glibc,
            other_versions,
        })
    }

    /// Static: no dynamic loader and no shared library, so it runs whatever the host's libc.
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.libraries.is_empty()
    }

    /// The newest glibc it needs: the oldest glibc it runs on.
    pub fn newest_glibc(&self) -> Option<&GlibcVersion> {
        self.glibc.last()
    }
}

/// The ELF machine of an architecture as `uname -m` (and `dist/ARCH`) names it.
pub fn machine_of(arch: &str) -> Option<u16> {
    let machine = match arch {
        "x86_64" => elf::EM_X86_64,
        "aarch64" => elf::EM_AARCH64,
        _ => return None,
    };
    Some(machine.0)
}

/// glibc's own libraries and loaders: what a glibc floor covers.
fn is_glibc_library(name: &str) -> bool {
    const LIBRARIES: [&str; 8] = [
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libnsl.so.1",
    ];
    LIBRARIES.contains(&name) || name.starts_with("ld-linux")
}

/// Every reason a binary does not run on the hosts it is built for.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct Unfit(pub Vec<String>);

/// Whether a binary with these needs runs on every `arch` host whose glibc is `floor` or newer:
/// Ok with what it needs ("static", "glibc 2.17"), or Err with every reason it does not.
pub fn check(needs: &BinaryNeeds, arch: &str, floor: &GlibcVersion) -> Result<String, Unfit> {
    let mut wrong = Vec::new();
    match machine_of(arch) {
        Some(m) if m == needs.machine => {}
        Some(m) => wrong.push(format!("ELF machine {} where {arch} is {m}", needs.machine)),
        None => wrong.push(format!(
            "{arch} is not an architecture hosts run (x86_64, aarch64)"
        )),
    }
    let fits = if needs.is_static() {
        "static".to_string()
    } else {
        if let Some(newest) = needs.newest_glibc().filter(|v| *v > floor) {
            wrong.push(format!(
                "needs GLIBC_{newest}, newer than the {floor} floor"
            ));
        }
        let foreign: Vec<&str> = needs
            .libraries
            .iter()
            .map(String::as_str)
            .filter(|l| !is_glibc_library(l))
            .collect();
        if !foreign.is_empty() {
            wrong.push(format!(
                "loads libraries outside glibc: {}",
                foreign.join(", ")
            ));
        }
        if !needs.other_versions.is_empty() {
            wrong.push(format!(
                "needs symbol versions no glibc floor covers: {}",
                needs.other_versions.join(", ")
            ));
        }
        match needs.newest_glibc() {
            Some(v) => format!("glibc {v}"),
            None => "dynamic, no glibc version".to_string(),
        }
    };
    if wrong.is_empty() {
        Ok(fits)
    } else {
        Err(Unfit(wrong))
    }
}

#[cfg(test)]
mod tests;
