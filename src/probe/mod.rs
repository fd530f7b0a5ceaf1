//! Probes: is a TCP port listening and who holds it, and does an HTTP endpoint answer with the
//! expected status. Each probe has a timeout and reports what it saw, for decisions and reports.

pub mod http;
pub mod port;
