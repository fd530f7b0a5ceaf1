//! Why a module failed, as the `msg` of its `failed` result. Each kind of failure is its own
//! variant, so a new source of errors has to be given a place (and its message a form) here
//! instead of being turned into text wherever `?` happens to meet it.

use miraclemax::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// Ansible did not run the module as it runs modules (no arguments file, or not JSON).
    #[error("{0}")]
    Invocation(String),
    /// The task's options do not fit the module's documented argument spec; worded as
    /// Ansible's own argument-spec validation words it, so a user reads the same message for
    /// a Rust module as for a Python one.
    #[error("{0}")]
    Options(String),
    /// The module refuses what the task asks, saying why and what to do instead.
    #[error("{0}")]
    Refused(String),
    /// The host's MiracleMax configuration could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Healthchecks refused a request or could not be reached.
    #[error("{0}")]
    Healthchecks(String),
    /// The single-threaded runtime for the module's async work could not start.
    #[error("cannot start the module's async runtime: {0}")]
    Runtime(std::io::Error),
    /// A file the module writes on the host could not be written.
    #[error("cannot write {what}: {source}")]
    Write {
        what: &'static str,
        source: std::io::Error,
    },
    /// A result could not be turned into JSON.
    #[error("cannot encode the result as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

impl ModuleError {
    /// A refusal with its reason and fix.
    pub fn refused(msg: impl Into<String>) -> ModuleError {
        ModuleError::Refused(msg.into())
    }
}
