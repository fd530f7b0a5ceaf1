//! The Debian releases test hosts run: Debian 12 (bookworm) and Debian 13 (trixie), each
//! booted from its own golden rootfs (`rootfs.rs`), so the product is tested on both.

use anyhow::{Context, Result};

/// A Debian release the testbed boots: the suite its rootfs is debootstrapped from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Release {
    /// Debian 12, bookworm.
    Bookworm,
    /// Debian 13, trixie: the current stable release, what `Testbed::start` boots.
    #[default]
    Trixie,
}

impl Release {
    pub const ALL: [Release; 2] = [Release::Bookworm, Release::Trixie];

    /// The suite name debootstrap and apt know it by.
    pub fn suite(self) -> &'static str {
        match self {
            Release::Bookworm => "bookworm",
            Release::Trixie => "trixie",
        }
    }

    /// Its number, as `VERSION_ID` in /etc/os-release says it.
    pub fn version(self) -> &'static str {
        match self {
            Release::Bookworm => "12",
            Release::Trixie => "13",
        }
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Debian {} ({})", self.version(), self.suite())
    }
}

impl std::str::FromStr for Release {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Release> {
        Release::ALL
            .into_iter()
            .find(|r| s == r.version() || s == r.suite())
            .with_context(|| {
                format!("'{s}' is not a release the testbed boots: give 12, 13, bookworm or trixie")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Release;

    #[test]
    fn a_release_is_named_by_number_or_suite_and_nothing_else() {
        assert_eq!("12".parse::<Release>().unwrap(), Release::Bookworm);
        assert_eq!("trixie".parse::<Release>().unwrap(), Release::Trixie);
        let err = "11".parse::<Release>().unwrap_err().to_string();
        assert_eq!(
            err,
            "'11' is not a release the testbed boots: give 12, 13, bookworm or trixie"
        );
        assert_eq!(Release::default().to_string(), "Debian 13 (trixie)");
    }
}
