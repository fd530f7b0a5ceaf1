//! Reports: incidents rendered into emails from templates, and the outbox that delivers them
//! over SMTP and keeps every one on disk until it is sent.

pub(crate) mod outbox;
pub mod report;

/// Email as the daemon will set it up (addresses as the SMTP client parses them, the password
/// file read), without sending anything: `--check-config` refuses a report path that could
/// never deliver, so a deploy stops before it installs one.
pub fn check_email(cfg: &crate::config::Email, host: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async { outbox::Mailer::new(cfg, host).map(drop) })
        .map_err(|e| e.to_string())
}
