//! The docs test's checker: the README and the guides in `docs/` are read for what can rot. Every
//! relative link and repository path must exist, every email example between golden markers must
//! be its file in `tests/golden/`, and every command in a runnable block (a fence whose info
//! string is `sh runnable`, or `sh runnable e2e` for the end-to-end tier) must run and succeed;
//! in the fast tier it must also print what the guide shows under it. The tests that use it are
//! `tests/integration/docs.rs` (fast) and `tests/e2e/docs.rs` (a testbed host).

pub mod check;
pub mod run;
pub mod scan;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use run::Session;
pub use scan::{Runnable, Tier};

/// One thing wrong in a document, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.what)
    }
}

/// The documents checked, relative to the repository root: README.md and docs/*.md, sorted.
pub fn documents(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| PathBuf::from("docs").join(e.file_name()))
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect()
        })
        .unwrap_or_default();
    guides.sort();
    out.extend(guides);
    out
}

/// Every static problem of every document (links, paths, golden examples, malformed runnable
/// blocks).
pub fn check_all(root: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    for doc in documents(root) {
        let text = std::fs::read_to_string(root.join(&doc)).unwrap_or_default();
        out.extend(check::check(root, &doc, &text));
        if let Err((line, what)) = scan::runnables(&text) {
            out.push(Problem {
                file: doc.clone(),
                line,
                what,
            });
        }
    }
    out
}

/// Runs the runnable blocks of one document that `select` accepts, in order, in `session`.
/// Stops at the first command that fails (the ones after it build on it). `compare` checks each
/// command's output against the document. `after` is called with each command that succeeded and what it printed.
pub fn run_document(
    session: &Session,
    file: &Path,
    text: &str,
    select: impl Fn(&Runnable) -> bool,
    compare: bool,
    mut after: impl FnMut(&Session, &scan::Cmd, &run::Ran),
) -> Result<usize, Problem> {
    let blocks = scan::runnables(text).map_err(|(line, what)| Problem {
        file: file.to_path_buf(),
        line,
        what,
    })?;
    let mut ran = 0;
    for block in blocks.iter().filter(|b| select(b)) {
        for cmd in &block.commands {
            let ran_cmd = session.check(file, cmd, compare)?;
            after(session, cmd, &ran_cmd);
            ran += 1;
        }
    }
    Ok(ran)
}
