//! The checker fails when a documented command, path or link breaks: a deliberately broken guide
//! in a scratch repository, each fault reported with its file and line.

use super::*;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("mm-docs-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("tests/golden")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/real.rs"), "").unwrap();
    std::fs::write(root.join("tests/golden/mail.txt"), "Subject: hi\n\nbody\n").unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Project\n\nSee [the guide](docs/guide.md).\n",
    )
    .unwrap();
    root
}

const BROKEN: &str = "# Guide

## Install
Read [the other guide](other.md) and [this part](#nowhere), [install](#install) and
[the readme](../README.md#project); the code is in `src/real.rs` and `src/gone.rs`,
the examples in `tests/golden/*.txt` and `tests/golden/*.eml`.

```sh runnable
$ echo hello
hello
$ nosuchcommand-mm --version
```

```sh runnable
$ printf 'one\\ntwo\\n'
one
three
```

<!-- golden:mail.txt -->
```text
Subject: hi

a different body
```
<!-- /golden -->
";

#[test]
fn a_broken_guide_reports_each_bad_link_path_golden_and_command_with_its_file_and_line() {
    let root = scratch("broken");
    let file = Path::new("docs/guide.md");
    std::fs::write(root.join(file), BROKEN).unwrap();

    let found: Vec<String> = check_all(&root).iter().map(|p| p.to_string()).collect();
    assert_eq!(
        found,
        [
            "docs/guide.md:4: broken link `other.md`: docs/other.md does not exist",
            "docs/guide.md:4: broken link `#nowhere`: docs/guide.md has no heading #nowhere",
            "docs/guide.md:5: path `src/gone.rs` does not exist in the repository",
            "docs/guide.md:6: path `tests/golden/*.eml` does not exist in the repository",
            "docs/guide.md:20: the example differs from tests/golden/mail.txt; rewrite it with \
             UPDATE_GOLDEN=1 cargo test --test integration docs",
        ],
    );

    // The commands: the first block stops at the command that fails, with its line.
    let session = Session::new(&[], None, &[], 20).unwrap();
    let err = run_document(&session, file, BROKEN, |b| b.line == 8, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("docs/guide.md:11: `nosuchcommand-mm --version` exited with 127"),
        "{err}"
    );
    // Output other than the guide shows, with both.
    let err = run_document(&session, file, BROKEN, |b| b.line == 14, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "docs/guide.md:15: `printf 'one\\ntwo\\n'` printed other than the guide shows.\n\
         the guide shows:\none\nthree\nit printed:\none\ntwo"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_sound_guide_passes_and_a_golden_block_is_rewritten_from_its_file() {
    let root = scratch("sound");
    let text = BROKEN
        .replace("[the other guide](other.md)", "[the readme](../README.md)")
        .replace("(#nowhere)", "(#install)")
        .replace("`src/gone.rs`", "`src/`")
        .replace("`tests/golden/*.eml`", "`tests/golden/mail.txt`")
        .replace(
            "$ nosuchcommand-mm --version\n",
            "$ cd /tmp && export MM_X=kept\n",
        )
        .replace("three\n", "two\n$ echo \"$MM_X in $PWD\"\nkept in /tmp\n");
    let file = Path::new("docs/guide.md");
    std::fs::write(root.join(file), check::rewrite_goldens(&root, &text)).unwrap();
    assert_eq!(check_all(&root), []);
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    assert!(text.contains("```text\nSubject: hi\n\nbody\n```\n<!-- /golden -->"));

    let session = Session::new(&[], None, &[], 20).unwrap();
    let ran = run_document(&session, file, &text, |_| true, true, |_, _, _| {}).unwrap();
    assert_eq!(ran, 4, "each command ran; exports and cd carry over");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn runnable_blocks_split_into_commands_continuations_here_documents_and_shown_output() {
    let text = "```sh runnable e2e\n$ cat > f <<'EOF'\na: 1\nEOF\n$ mmctl add x \\\n    --port 1\nadded\n...\n```\n\n```sh\n$ not runnable\n```\n";
    let blocks = scan::runnables(text).unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].tier, Tier::E2e);
    let cmds = &blocks[0].commands;
    assert_eq!(cmds[0].text, "cat > f <<'EOF'\na: 1\nEOF");
    assert_eq!(
        (cmds[1].line, cmds[1].text.as_str()),
        (5, "mmctl add x \\\n    --port 1")
    );
    assert_eq!(cmds[1].shown, ["added", "..."]);
    assert_eq!(
        scan::runnables("```sh runnable\nno prompt\n```\n").unwrap_err(),
        (
            2,
            "a runnable block must start with a `$ ` command line".into()
        )
    );
}

#[test]
fn shown_output_matches_with_dots_for_any_lines() {
    use run::matches;
    assert!(matches(&["a", "...", "d"], &["a", "b", "c", "d"]));
    assert!(matches(&["a", "...", "b"], &["a", "b"]));
    assert!(matches(&["..."], &[]));
    assert!(!matches(&["a"], &["a", "b"]));
    assert!(!matches(&[], &["a"]));
}

#[test]
fn anchors_are_the_ones_github_makes() {
    let text = "# Layer 1: self-healing (`miraclemax-self-heal`)\n## Tune it\n## Tune it\n```sh\n# not a heading\n```\n";
    assert_eq!(
        scan::anchors(text),
        [
            "layer-1-self-healing-miraclemax-self-heal",
            "tune-it",
            "tune-it-1"
        ]
    );
}
