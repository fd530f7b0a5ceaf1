//! The agent's configuration: `/etc/miraclemax/config.yaml` on a host, rendered by Ansible from
//! the inventory, plus the fragments in `/etc/miraclemax/config.d/` beside it (every `*.yaml`
//! there, in byte order of their names), so that each Ansible role owns its own part: the
//! self_healing role writes `config.yaml`, the heartbeat role `config.d/50-heartbeat.yaml`.
//!
//! Merge rule: each file is parsed on its own (a syntax or type error names that file, line and
//! column), then merged over the files before it: mappings merge key by key, recursively;
//! lists and scalars in a later file replace the earlier value whole; a key left empty sets
//! nothing. The result is validated once, and every problem names the file that last set the
//! key it is about (see `merge::Origins`). `load` reads and validates in one step and fails
//! whole on any bad file, so nothing acts on a configuration that has not passed validation
//! and a typo can never reach systemd or a shell.

pub mod certificate;
pub mod channels;
mod fragments;
pub mod host_checks;
mod merge;
mod metrics;
mod model;
mod private;
mod probe_url;
mod quote;
mod raw;
pub mod render;
pub mod resources;
mod scalar;
pub mod summary;
pub mod table;
mod validate;

pub use certificate::CertificateCheck;
pub use channels::{Channel, ChannelKind, ChatFlavor};
pub use fragments::{BadFragment, Fragment};
pub use host_checks::{Disk, HostChecks, Thresholds};
pub use metrics::{DEBIAN_TEXTFILE_DIR, Metrics};
pub use model::*;
pub use private::not_private;
pub use probe_url::{ProbeUrl, ProbeUrlError};
pub use quote::quote;
pub use resources::{ResourceRules, human_bytes};
pub use scalar::{Flag, Secret, Span, SpanError, parse_flag, parse_span};
pub use validate::Problem;

use merge::{Merge, Origins};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the daemon, heartbeat and status read their configuration by default.
pub const DEFAULT_PATH: &str = "/etc/miraclemax/config.yaml";

/// Why a configuration was refused. Displays one line per problem, each naming its file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file, or the `config.d` folder, could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// `path` is the main file read (the new one, for `load_with_main`); each problem comes
    /// with the file that set the key it is about.
    #[error("{}", Invalid(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<(PathBuf, Problem)>,
    },
    #[error("fragment '{name}' is given twice; give each config.d name once")]
    DuplicateFragment { name: String },
}

struct Invalid<'a>(&'a [(PathBuf, Problem)]);

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, (file, p)) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}: {}", file.display(), p.object, p.message)?;
        }
        Ok(())
    }
}

/// Reads the configuration file at `path` and its `config.d` fragments, merges and validates them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &[])
}

/// As `load`, with each of `extra` read as if it were installed as `config.d/<name>`
/// (replacing an installed fragment of that name): the configuration a host will have.
pub fn load_with(path: &Path, extra: &[Fragment]) -> Result<Config, ConfigError> {
    load_from(path, path, extra)
}

/// As `load_with`, with the file `main` read in place of the main file at `path`: the
/// configuration a host will have once `main` replaces `path` (and `extra` is installed). The
/// fragments are those in the `config.d` beside `path`, not beside `main`; `path` itself is not
/// read and need not exist. Problems in the main file's keys name `main`, the file their line
/// numbers point to; problems from a fragment name the fragment.
pub fn load_with_main(path: &Path, main: &Path, extra: &[Fragment]) -> Result<Config, ConfigError> {
    load_from(path, main, extra)
}

/// Reads `main` as the main file and merges the fragments that belong to the main file at
/// `path` (with `extra`) over it.
fn load_from(path: &Path, main: &Path, extra: &[Fragment]) -> Result<Config, ConfigError> {
    let mut main_text = Some(read(main)?);
    let mut sources = vec![fragments::Source {
        name: None,
        file: main.to_path_buf(),
        installed: false,
    }];
    sources.extend(fragments::list(path, extra)?);
    let mut raw = raw::RawConfig::default();
    let mut origins = Origins::default();
    for (i, source) in sources.iter().enumerate() {
        let text = match main_text.take() {
            Some(text) => text,
            None => read(&source.file)?,
        };
        raw.merge(parse_raw(&text, &source.file)?, "", i, &mut origins);
    }
    finish(raw, &origins, &sources)
}

/// When the configuration cannot be loaded: the host name and heartbeat section of the files
/// that still parse (the main file and its fragments, merged as usual, the broken ones left
/// out), so the heartbeat can still tell Healthchecks why. None when no usable `heartbeat`
/// section remains.
pub fn rescue_heartbeat(path: &Path) -> Option<(Option<String>, Heartbeat)> {
    let mut sources = vec![path.to_path_buf()];
    sources.extend(fragments::list(path, &[]).ok()?.into_iter().map(|s| s.file));
    let mut raw = raw::RawConfig::default();
    let mut origins = Origins::default();
    for (i, file) in sources.iter().enumerate() {
        if let Ok(part) = read(file).and_then(|text| parse_raw(&text, file)) {
            raw.merge(part, "", i, &mut origins);
        }
    }
    let host = raw.host.clone();
    validate::heartbeat_only(raw).map(|hb| (host, hb))
}

/// Validates configuration text alone, without fragments; `path` is only used to name the
/// file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let sources = [fragments::Source {
        name: None,
        file: path.to_path_buf(),
        installed: false,
    }];
    finish(parse_raw(text, path)?, &Origins::default(), &sources)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_raw(text: &str, path: &Path) -> Result<raw::RawConfig, ConfigError> {
    if text.trim().is_empty() {
        return Ok(raw::RawConfig::default());
    }
    serde_saphyr::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        // Never quote the file back: it can hold ping URLs and addresses.
        message: syntax_message(e.without_snippet()),
    })
}

/// Validates the merged files; `sources[0]` is the main file. A stale entry (a heartbeat ping
/// URL of a service no longer monitored) is left out with a note when it comes from a fragment
/// an earlier deploy installed: the main file was just changed without it (`mmctl
/// remove-service`, a deploy of the self-healing layer), and the heartbeat's own deploy rewrites
/// that fragment and pauses the check. In the main file or a fragment about to be installed it
/// is the mistake being made, and an error.
fn finish(
    raw: raw::RawConfig,
    origins: &Origins,
    sources: &[fragments::Source],
) -> Result<Config, ConfigError> {
    let source = |p: &Problem| &sources[origins.file_of(&p.key)];
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        path: sources[0].file.clone(),
        problems: problems
            .into_iter()
            .map(|p| (source(&p).file.clone(), p))
            .collect(),
    };
    let validate::Checked {
        config,
        problems,
        stale,
    } = validate::validate(raw);
    let (left_out, wrong): (Vec<Problem>, Vec<Problem>) =
        stale.into_iter().partition(|p| source(p).installed);
    let problems = [problems, wrong].concat();
    let Some(mut config) = config.filter(|_| problems.is_empty()) else {
        return Err(invalid(problems));
    };
    config.fragments = sources.iter().filter_map(|s| s.name.clone()).collect();
    config.notes = left_out
        .iter()
        .map(|p| {
            format!(
                "{}: {}: not in monitored_services, so left out (its check is no longer pinged; \
                 the heartbeat's next deploy pauses it)",
                source(p).file.display(),
                p.object
            )
        })
        .collect();
    Ok(config)
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
