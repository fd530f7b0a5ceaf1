//! Reports: incidents rendered into emails from templates, and the outbox that delivers them
//! over SMTP and keeps every one on disk until it is sent.

pub(crate) mod outbox;
pub mod report;
