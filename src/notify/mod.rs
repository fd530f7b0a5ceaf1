//! Reports: incidents rendered into emails from templates, the outbox that keeps every one on
//! disk until its channel accepted it, and the channels (SMTP and HTTP services) they leave by.

pub mod channels;
mod error;
pub mod outbox;
pub mod queues;
pub mod report;
pub mod test_notify;

pub use error::{ChannelSetupError, EmailCheckError, SendError, SetupError};

/// Email as the daemon will set it up (addresses as the SMTP client parses them, the password
/// file read), without sending anything: `--check-config` refuses a report path that could
/// never deliver, so a deploy stops before it installs one. It also refuses a password file
/// that others than its owner may read (the role writes it 0600); the running daemon still
/// sends with one, since a report that leaves is worth more than the refusal.
pub fn check_email(cfg: &crate::config::Email, host: &str) -> Result<(), EmailCheckError> {
    if let Some(file) = &cfg.password_file {
        check_password_file(file)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(EmailCheckError::Runtime)?;
    rt.block_on(async { channels::Mailer::new(cfg, host).map(drop) })?;
    Ok(())
}

/// The SMTP password file is a regular file that only its owner, the user who runs the check
/// (root, as the daemon and the role's validation run), may read.
fn check_password_file(file: &std::path::Path) -> Result<(), EmailCheckError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file)
        .map_err(|e| channels::MailerError::Password(file.to_path_buf(), e))?;
    if !meta.is_file() {
        return Err(EmailCheckError::NotAFile(file.to_path_buf()));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(EmailCheckError::Owner {
            file: file.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    if meta.mode() & 0o077 != 0 {
        return Err(EmailCheckError::Readable {
            file: file.to_path_buf(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}
