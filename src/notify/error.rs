//! Why a report did not leave, or why a way of sending could not be set up. The words go to
//! the journal, the outbox's `last_error`, status and `test-notify`: they name the cause and
//! never a channel's URL (it may hold a credential).

use super::channels::MailerError;
use std::path::PathBuf;

/// Why a channel did not accept one report (the outbox tries again later).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The service answered outside 2xx; `answer` is the start of its body.
    #[error("HTTP {status}: {answer}")]
    Refused { status: u16, answer: String },
    /// Telegram answered 2xx without `"ok": true`.
    #[error("HTTP {status} but not accepted: {why}")]
    NotAccepted { status: u16, why: String },
    /// The request or its answer; built without the URL.
    #[error("{0}")]
    Http(reqwest::Error),
    /// The report could not be made into a message (an address, a header).
    #[error("{0}")]
    Message(#[from] lettre::error::Error),
    #[error("{0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// A stand-in channel's refusal, in tests.
    #[cfg(test)]
    #[error("{0}")]
    Test(&'static str),
}

impl From<reqwest::Error> for SendError {
    fn from(e: reqwest::Error) -> SendError {
        // reqwest's errors name the URL, which may hold the credential: never shown.
        SendError::Http(e.without_url())
    }
}

/// An HTTP channel whose client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("channel '{name}': cannot set up HTTP: {source}")]
pub struct ChannelSetupError {
    pub name: String,
    pub source: reqwest::Error,
}

/// Why a channel (email or HTTP) could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Email(#[from] MailerError),
    #[error(transparent)]
    Channel(#[from] ChannelSetupError),
}

/// Why `--check-config` refuses the email settings.
#[derive(Debug, thiserror::Error)]
pub enum EmailCheckError {
    #[error(
        "notifications.email: password_file {} is not a regular file: name the file that holds the SMTP password",
        .0.display()
    )]
    NotAFile(PathBuf),
    #[error(
        "notifications.email: password_file {} is owned by uid {owner}, not by uid {me} who runs the daemon: chown {me} {}",
        file.display(),
        file.display()
    )]
    Owner { file: PathBuf, owner: u32, me: u32 },
    #[error(
        "notifications.email: password_file {} may be read by others than its owner (mode {mode:o}): chmod 600 {}",
        file.display(),
        file.display()
    )]
    Readable { file: PathBuf, mode: u32 },
    /// The runtime the SMTP client is built in.
    #[error("{0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Mailer(#[from] MailerError),
}
