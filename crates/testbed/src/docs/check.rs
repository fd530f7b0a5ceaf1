//! The checks that need no command run: every relative link goes to a file that exists (and to a
//! heading that exists, when it names one), every repository path written in inline code exists,
//! and every email example between golden markers is its file in `tests/golden/`, byte for byte.

use super::Problem;
use super::scan::{anchors, code_spans, links};
use std::path::{Component, Path, PathBuf};

/// Folders made by builds, never committed: a path into them is not checked.
const GENERATED: [&str; 4] = ["target", "dist", ".venv", ".git"];

/// The markers around an email example: `<!-- golden:NAME -->` ... `<!-- /golden -->`.
pub const GOLDEN_OPEN: &str = "<!-- golden:";
pub const GOLDEN_CLOSE: &str = "<!-- /golden -->";

/// All static problems of the document `file` (relative to `root`) whose text is `text`.
pub fn check(root: &Path, file: &Path, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    out.extend(check_links(root, file, text));
    out.extend(check_paths(root, file, text));
    out.extend(check_goldens(root, file, text));
    out
}

fn problem(file: &Path, line: usize, what: String) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        what,
    }
}

/// Relative links: the file exists; a `#anchor` into a Markdown file is one of its headings.
pub fn check_links(root: &Path, file: &Path, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let dir = file.parent().unwrap_or(Path::new(""));
    for link in links(text) {
        let target = link.text.as_str();
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target, None),
        };
        let resolved = if path.is_empty() {
            file.to_path_buf()
        } else {
            normalize(&dir.join(path))
        };
        let full = root.join(&resolved);
        if !full.exists() {
            out.push(problem(
                file,
                link.line,
                format!(
                    "broken link `{target}`: {} does not exist",
                    resolved.display()
                ),
            ));
            continue;
        }
        if let Some(anchor) = anchor
            && resolved.extension().is_some_and(|e| e == "md")
        {
            let headings = anchors(&std::fs::read_to_string(&full).unwrap_or_default());
            if !headings.iter().any(|h| h == anchor) {
                out.push(problem(
                    file,
                    link.line,
                    format!(
                        "broken link `{target}`: {} has no heading #{anchor}",
                        resolved.display()
                    ),
                ));
            }
        }
    }
    out
}

/// Inline code that reads as a repository path (`src/config/`, `tests/golden/*.eml.txt`): its
/// first part is a top-level entry of the repository, and it must exist. A `*` in the last part
/// must match at least one file.
pub fn check_paths(root: &Path, file: &Path, text: &str) -> Vec<Problem> {
    let top: Vec<String> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !GENERATED.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for span in code_spans(text) {
        let path = span.text.trim();
        let looks_like_path = path.contains('/')
            && !path.contains(char::is_whitespace)
            && !path.contains("://")
            && !path.starts_with(['/', '~', '$', '-', '.']);
        let first = path.split('/').next().unwrap_or("");
        if !looks_like_path || !top.iter().any(|t| t == first) {
            continue;
        }
        if !exists(&root.join(path)) {
            out.push(problem(
                file,
                span.line,
                format!("path `{path}` does not exist in the repository"),
            ));
        }
    }
    out
}

fn exists(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((before, after)) = name.split_once('*') else {
        return path.exists();
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.filter_map(|e| e.ok()).any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.len() >= before.len() + after.len() && n.starts_with(before) && n.ends_with(after)
        })
    })
}

/// `a/../b` as `b`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The text between one pair of golden markers for `name`: the file in a ```text fence.
pub fn golden_block(golden: &str) -> String {
    format!("```text\n{golden}```\n")
}

/// Each golden marker's block: (line of the opening marker, file name, what is between the
/// markers, byte range of that text), or a problem for a marker left open.
type Marked = (usize, String, String, std::ops::Range<usize>);

fn marked(file: &Path, text: &str) -> (Vec<Marked>, Vec<Problem>) {
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    let mut open: Option<(usize, String, usize)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix(GOLDEN_OPEN) {
            if let Some((at, _, _)) = &open {
                problems.push(problem(
                    file,
                    *at,
                    "golden marker not closed with <!-- /golden -->".into(),
                ));
            }
            let name = rest.trim_end_matches("-->").trim().to_string();
            open = Some((i + 1, name, offset + line.len()));
        } else if trimmed == GOLDEN_CLOSE {
            match open.take() {
                Some((at, name, start)) => {
                    blocks.push((at, name, text[start..offset].to_string(), start..offset))
                }
                None => problems.push(problem(
                    file,
                    i + 1,
                    "<!-- /golden --> without an opening marker".into(),
                )),
            }
        }
        offset += line.len();
    }
    if let Some((at, _, _)) = open {
        problems.push(problem(
            file,
            at,
            "golden marker not closed with <!-- /golden -->".into(),
        ));
    }
    (blocks, problems)
}

/// Every golden block equals its file in `tests/golden/`.
pub fn check_goldens(root: &Path, file: &Path, text: &str) -> Vec<Problem> {
    let (blocks, mut out) = marked(file, text);
    for (line, name, body, _) in blocks {
        let path = root.join("tests/golden").join(&name);
        match std::fs::read_to_string(&path) {
            Err(_) => out.push(problem(
                file,
                line,
                format!("golden file tests/golden/{name} does not exist"),
            )),
            Ok(golden) if golden_block(&golden) != body => out.push(problem(
                file,
                line,
                format!(
                    "the example differs from tests/golden/{name}; rewrite it with \
                     UPDATE_GOLDEN=1 cargo test --test integration docs"
                ),
            )),
            Ok(_) => {}
        }
    }
    out
}

/// `text` with every golden block replaced by its file's current content (what UPDATE_GOLDEN=1
/// writes). Blocks whose file is missing are left as they are.
pub fn rewrite_goldens(root: &Path, text: &str) -> String {
    let (blocks, _) = marked(Path::new(""), text);
    let mut out = String::new();
    let mut last = 0;
    for (_, name, _, range) in blocks {
        if let Ok(golden) = std::fs::read_to_string(root.join("tests/golden").join(&name)) {
            out.push_str(&text[last..range.start]);
            out.push_str(&golden_block(&golden));
            last = range.end;
        }
    }
    out.push_str(&text[last..]);
    out
}
