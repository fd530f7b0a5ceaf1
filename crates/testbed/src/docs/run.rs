//! Running a guide's commands as a reader would type them, one after another in one shell
//! session: each `$ ` command runs in bash (with `pipefail`) in a fresh temporary home folder,
//! and what one command exports or the folder it `cd`s into carries over to the next. Its
//! output (stdout and stderr together, the home folder shown as `~`) can be compared with what
//! the guide shows under it: the same lines, where a line `...` stands for any number of lines.

use super::Problem;
use super::scan::Cmd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A shell session for one guide: its home folder, where it starts, its environment.
pub struct Session {
    root: PathBuf,
    pub home: PathBuf,
    env: Vec<(String, String)>,
    timeout_secs: u32,
}

/// What a command did: its exit code (None when killed by the timeout) and its output.
pub struct Ran {
    pub code: Option<i32>,
    pub output: String,
}

impl Session {
    /// A session in a new temporary folder, starting in the home folder (or `cwd` when given),
    /// with `path` before the inherited PATH and `env` set. Ansible's location variables of the
    /// caller are removed, so only what the guide sets applies.
    pub fn new(
        path: &[PathBuf],
        cwd: Option<&Path>,
        env: &[(&str, &str)],
        timeout_secs: u32,
    ) -> std::io::Result<Session> {
        let root = std::env::temp_dir().join(format!(
            "mm-docs-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(root.join("state"))?;
        let start = cwd.unwrap_or(&home);
        std::fs::write(root.join("state/cwd"), start.as_os_str().as_encoded_bytes())?;
        let mut dirs: Vec<PathBuf> = path.to_vec();
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let joined = std::env::join_paths(dirs).map_err(std::io::Error::other)?;
        let mut all = vec![
            ("HOME".to_string(), home.display().to_string()),
            ("PATH".to_string(), joined.to_string_lossy().into_owned()),
            ("NO_COLOR".to_string(), "1".to_string()),
            ("ANSIBLE_NOCOLOR".to_string(), "1".to_string()),
            ("PAGER".to_string(), "cat".to_string()),
            (
                "MM_DOCS_STATE".to_string(),
                root.join("state").display().to_string(),
            ),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(Session {
            root,
            home,
            env: all,
            timeout_secs,
        })
    }

    /// Runs one command in the session.
    pub fn run(&self, text: &str) -> std::io::Result<Ran> {
        // The previous command's exports and folder, then the command, then this one's saved.
        let script = format!(
            "[ -f \"$MM_DOCS_STATE/env\" ] && . \"$MM_DOCS_STATE/env\"\n\
             cd \"$(cat \"$MM_DOCS_STATE/cwd\")\" || exit 97\n\
             exec 2>&1\n\
             {text}\n\
             __mm_rc=$?\n\
             export -p > \"$MM_DOCS_STATE/env\"; pwd > \"$MM_DOCS_STATE/cwd\"\n\
             exit $__mm_rc\n"
        );
        let mut cmd = Command::new("timeout");
        cmd.arg(self.timeout_secs.to_string())
            .args(["bash", "--noprofile", "--norc", "-o", "pipefail", "-c"])
            .arg(script)
            .stdin(Stdio::null());
        for var in [
            "ANSIBLE_CONFIG",
            "ANSIBLE_INVENTORY",
            "ANSIBLE_VAULT_PASSWORD_FILE",
            "EDITOR",
            "VISUAL",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        let code = match out.status.code() {
            Some(124) => None,
            other => other,
        };
        Ok(Ran {
            code,
            output: self.tidy(&String::from_utf8_lossy(&out.stdout)),
        })
    }

    /// The output as the guides show it: the home folder as `~`, no trailing blanks.
    fn tidy(&self, output: &str) -> String {
        let home = self.home.display().to_string();
        output
            .replace(&home, "~")
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs a guide's command; a problem (with the guide's file and line) when it fails or,
    /// with `compare`, when it prints other than the guide shows.
    pub fn check(&self, file: &Path, cmd: &Cmd, compare: bool) -> Result<Ran, Problem> {
        let fail = |what: String| Problem {
            file: file.to_path_buf(),
            line: cmd.line,
            what,
        };
        let ran = self
            .run(&cmd.text)
            .map_err(|e| fail(format!("`{}` could not be started: {e}", cmd.text)))?;
        match ran.code {
            Some(0) => {}
            Some(code) => {
                return Err(fail(format!(
                    "`{}` exited with {code}; it printed:\n{}",
                    cmd.text, ran.output
                )));
            }
            None => {
                return Err(fail(format!(
                    "`{}` did not finish within {} s; it printed:\n{}",
                    cmd.text, self.timeout_secs, ran.output
                )));
            }
        }
        if compare {
            let actual = without_trailing_blanks(ran.output.lines().collect());
            let shown = without_trailing_blanks(cmd.shown.iter().map(String::as_str).collect());
            if !matches(&shown, &actual) {
                return Err(fail(format!(
                    "`{}` printed other than the guide shows.\nthe guide shows:\n{}\nit printed:\n{}",
                    cmd.text,
                    shown.join("\n"),
                    ran.output
                )));
            }
        }
        Ok(ran)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn without_trailing_blanks(mut lines: Vec<&str>) -> Vec<&str> {
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Whether the lines a guide shows match the lines printed: equal, where a shown `...` matches
/// any run of printed lines (none included).
pub fn matches(shown: &[&str], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((&"...", rest)) => (0..=actual.len()).any(|skip| matches(rest, &actual[skip..])),
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a == first && matches(rest, more)),
    }
}
