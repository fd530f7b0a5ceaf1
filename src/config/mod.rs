//! The agent's configuration: `/etc/miraclemax/config.yaml` on a host, rendered by Ansible from
//! the inventory. `load` reads and validates it in one step; nothing acts on a file that has
//! not passed validation, so a typo can never reach systemd or a shell.

mod model;
mod raw;
mod scalar;
mod validate;

pub use model::*;
pub use scalar::{Flag, Secret, Span, parse_flag, parse_span};
pub use validate::Problem;

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the daemon, heartbeat and status read their configuration by default.
pub const DEFAULT_PATH: &str = "/etc/miraclemax/config.yaml";

/// Why a configuration file was refused. Displays one line per problem, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}", Invalid(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

struct Invalid<'a>(&'a Path, &'a [Problem]);

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, p) in self.1.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}: {}", self.0.display(), p.object, p.message)?;
        }
        Ok(())
    }
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates configuration text; `path` is only used to name the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = if text.trim().is_empty() {
        raw::RawConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            // Never quote the file back: it can hold ping URLs and addresses.
            message: syntax_message(e.without_snippet()),
        })?
    };
    validate::validate(raw).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })
}

fn syntax_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let text = text.lines().next().unwrap_or("").trim().to_string();
    match e.location() {
        Some(l) if !text.contains("line") => {
            format!("line {} column {}: {text}", l.line(), l.column())
        }
        _ => text,
    }
}
