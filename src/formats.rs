//! The format version of what MiracleMax keeps on disk: `state.json` (with each service's open
//! and last incident), every report waiting in the outbox (`outbox/ID.json`,
//! `outbox/channel-NAME/ID.json`) and the heartbeat's `heartbeat.json`. Each carries
//! `"format": N`; a file without it was written before versions were recorded, format 1.
//!
//! A build reads every earlier format and writes its own; when it takes over a file of an
//! earlier one it says so once (the journal), so an upgrade leaves a trace of what it carried
//! over. A file of a later format (a downgrade) is read for what this build knows, and said too:
//! what only the later build knew is lost at this build's next write of it.
//!
//! Formats: 1, the files of the builds before versions were recorded; 2, the same fields with
//! `format` added.

use std::fmt;
use std::path::Path;

/// The format this build writes.
pub const CURRENT: u32 = 2;

/// What a file without a `format` field is: written before versions were recorded.
pub fn unversioned() -> u32 {
    1
}

/// How a file's format relates to this build's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    Current,
    /// Written by an earlier build: read, and written in this build's format from now on.
    Earlier(u32),
    /// Written by a later build: read for what this build knows.
    Later(u32),
}

pub fn age(format: u32) -> Age {
    match format.cmp(&CURRENT) {
        std::cmp::Ordering::Equal => Age::Current,
        std::cmp::Ordering::Less => Age::Earlier(format),
        std::cmp::Ordering::Greater => Age::Later(format),
    }
}

/// What to say about `path` (`what` names it: "the state", "a report waiting for the mail
/// server"), or nothing when it is of this build's format.
pub fn note(path: &Path, what: &str, format: u32) -> Option<Note> {
    match age(format) {
        Age::Current => None,
        Age::Earlier(f) => Some(Note {
            later: false,
            text: format!(
                "{}: {what} written by an earlier MiracleMax (format {f}): read and carried over, \
                 written as format {CURRENT} from now on",
                path.display()
            ),
        }),
        Age::Later(f) => Some(Note {
            later: true,
            text: format!(
                "{}: {what} written by a later MiracleMax (format {f}; this one writes format \
                 {CURRENT}): read for what this build knows, and anything only the later build \
                 knew is lost when this one writes it. Deploy the later build again to keep it",
                path.display()
            ),
        }),
    }
}

/// A file of another format, as the journal is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Of a later build (a warning) rather than an earlier one (information).
    pub later: bool,
    pub text: String,
}

impl Note {
    /// Into the journal: an earlier format as information, a later one as a warning.
    pub fn log(&self) {
        if self.later {
            tracing::warn!(event = "format_later", "{}", self.text);
        } else {
            tracing::info!(event = "format_migrated", "{}", self.text);
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_says_whether_it_is_of_an_earlier_this_or_a_later_build() {
        let path = Path::new("/var/lib/miraclemax/state.json");
        assert_eq!(note(path, "the state", CURRENT), None);
        let earlier = note(path, "the state", unversioned()).unwrap();
        assert!(!earlier.later);
        assert_eq!(
            earlier.text,
            "/var/lib/miraclemax/state.json: the state written by an earlier MiracleMax \
             (format 1): read and carried over, written as format 2 from now on"
        );
        let later = note(path, "the state", CURRENT + 1).unwrap();
        assert!(later.later);
        assert!(
            later
                .text
                .contains("a later MiracleMax (format 3; this one writes format 2)"),
            "{later}"
        );
    }
}
