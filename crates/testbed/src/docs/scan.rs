//! Reading a Markdown guide the way the docs test needs it: its fenced blocks (with the line each
//! starts on), the runnable ones split into commands and the output shown under each, and, outside
//! code, its links, inline code spans and headings. A small scanner, not a Markdown parser: the
//! guides use fences, ATX headings, `[text](target)` links and single-backtick code spans.

/// A fenced code block: the info string after the opening fence, the line of that fence (1-based)
/// and its body lines.
#[derive(Debug, Clone)]
pub struct Fence {
    pub info: String,
    pub line: usize,
    pub body: Vec<String>,
}

/// Which tier runs a block: `sh runnable` in the fast one (`cargo test`), `sh runnable e2e` in
/// the end-to-end one (against a testbed host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Fast,
    E2e,
}

/// One `$ ` command of a runnable block: the line it starts on, its text (continuation and
/// here-document lines included) and the output the guide shows under it.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub line: usize,
    pub text: String,
    pub shown: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Runnable {
    pub line: usize,
    pub tier: Tier,
    pub commands: Vec<Cmd>,
}

/// Every fenced block of `text`, in order. An unclosed fence runs to the end of the text.
pub fn fences(text: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(String, Fence)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let marker: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        let is_fence = indent <= 3
            && marker.len() >= 3
            && marker
                .chars()
                .all(|c| c == marker.chars().next().unwrap_or('`'));
        match &mut open {
            Some((opener, fence)) => {
                let closes = is_fence
                    && marker.starts_with(opener.as_str())
                    && trimmed[marker.len()..].trim().is_empty();
                if closes {
                    let (_, done) = open.take().expect("a fence is open");
                    out.push(done);
                } else {
                    fence.body.push(line.to_string());
                }
            }
            None if is_fence => {
                open = Some((
                    marker.clone(),
                    Fence {
                        info: trimmed[marker.len()..].trim().to_string(),
                        line: i + 1,
                        body: Vec::new(),
                    },
                ));
            }
            None => {}
        }
    }
    out.extend(open.map(|(_, f)| f));
    out
}

/// The tier a fence's info string asks for, if it is runnable (`sh runnable`, `sh runnable e2e`).
pub fn tier(info: &str) -> Option<Tier> {
    let words: Vec<&str> = info.split_whitespace().collect();
    if !words.contains(&"runnable") {
        return None;
    }
    Some(if words.contains(&"e2e") {
        Tier::E2e
    } else {
        Tier::Fast
    })
}

/// The runnable blocks of `text`, each split into commands. A line starting `$ ` is a command; a
/// line ending in `\` continues it, and a here-document (`<<'EOF'`) runs to its end marker;
/// every other line is output the guide shows under the command before it. Lines before the
/// first command are an error (with its line).
pub fn runnables(text: &str) -> Result<Vec<Runnable>, (usize, String)> {
    let mut out = Vec::new();
    for fence in fences(text) {
        let Some(tier) = tier(&fence.info) else {
            continue;
        };
        let mut commands: Vec<Cmd> = Vec::new();
        let mut lines = fence.body.iter().enumerate();
        while let Some((i, line)) = lines.next() {
            let at = fence.line + 1 + i;
            if let Some(first) = line.strip_prefix("$ ") {
                let mut cmd = first.to_string();
                let heredoc = heredoc_end(first);
                let mut continued = first.ends_with('\\');
                while continued {
                    let Some((_, next)) = lines.next() else { break };
                    cmd.push('\n');
                    cmd.push_str(next);
                    continued = next.ends_with('\\');
                }
                if let Some((end, dash)) = heredoc {
                    for (_, next) in lines.by_ref() {
                        cmd.push('\n');
                        cmd.push_str(next);
                        let candidate = if dash { next.trim_start() } else { next };
                        if candidate == end {
                            break;
                        }
                    }
                }
                commands.push(Cmd {
                    line: at,
                    text: cmd,
                    shown: Vec::new(),
                });
            } else if let Some(cmd) = commands.last_mut() {
                cmd.shown.push(line.trim_end().to_string());
            } else {
                return Err((
                    at,
                    "a runnable block must start with a `$ ` command line".into(),
                ));
            }
        }
        if commands.is_empty() {
            return Err((fence.line, "a runnable block holds no `$ ` command".into()));
        }
        out.push(Runnable {
            line: fence.line,
            tier,
            commands,
        });
    }
    Ok(out)
}

/// The end marker of a here-document started on this line (`<<EOF`, `<<'EOF'`, `<<-"EOF"`), and
/// whether it may be indented (`<<-`).
fn heredoc_end(line: &str) -> Option<(String, bool)> {
    let at = line.find("<<")?;
    let rest = &line[at + 2..];
    if rest.starts_with('<') {
        return None; // a here-string
    }
    let (dash, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let word: String = rest
        .trim_start()
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some((word, dash))
}

/// A piece of prose (outside code blocks) with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    pub line: usize,
    pub text: String,
}

/// The lines of `text` outside fenced and indented code blocks, with their numbers.
pub fn prose(text: &str) -> Vec<Spot> {
    let fenced: Vec<(usize, usize)> = fences(text)
        .iter()
        .map(|f| (f.line, f.line + f.body.len() + 1))
        .collect();
    let mut out = Vec::new();
    let mut previous_blank = true;
    let mut in_indented = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if fenced.iter().any(|(a, b)| (*a..=*b).contains(&n)) {
            previous_blank = false;
            in_indented = false;
            continue;
        }
        let blank = line.trim().is_empty();
        let indented = line.starts_with("    ") || line.starts_with('\t');
        in_indented = indented && (in_indented || previous_blank);
        if !in_indented && !blank {
            out.push(Spot {
                line: n,
                text: line.to_string(),
            });
        }
        previous_blank = blank;
    }
    out
}

/// The targets of `[text](target)` links in the prose, with their lines.
pub fn links(text: &str) -> Vec<Spot> {
    let mut out = Vec::new();
    for spot in prose(text) {
        let line = without_code_spans(&spot.text);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push(Spot {
                line: spot.line,
                text: target.to_string(),
            });
            rest = &after[end..];
        }
    }
    out
}

/// The single-backtick code spans in the prose, with their lines.
pub fn code_spans(text: &str) -> Vec<Spot> {
    let mut out = Vec::new();
    for spot in prose(text) {
        let parts: Vec<&str> = spot.text.split('`').collect();
        // Odd pieces are inside backticks; an unpaired last backtick opens nothing.
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 1 && i + 1 < parts.len() {
                out.push(Spot {
                    line: spot.line,
                    text: part.to_string(),
                });
            }
        }
    }
    out
}

fn without_code_spans(line: &str) -> String {
    line.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, p)| p)
        .collect::<Vec<_>>()
        .join("")
}

/// The anchors GitHub gives the headings of `text`: lower case, punctuation dropped, spaces as
/// `-`, a repeated one suffixed `-1`, `-2`, ...
pub fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for spot in prose(text) {
        let trimmed = spot.text.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !trimmed[hashes..].starts_with(' ') {
            continue;
        }
        let title = trimmed[hashes..].trim().trim_end_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while out.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        out.push(unique);
    }
    out
}
