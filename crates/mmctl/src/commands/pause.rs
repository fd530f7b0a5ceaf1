//! `mmctl pause` and `mmctl resume`: maintenance pauses of a service's (or every service's)
//! healing on a host; a pause ends by itself after its duration.

use super::on_host;
use crate::ops;
use crate::services::Source;

/// Pauses `service`, or every service when None.
pub fn pause(
    source: &Source,
    host: &str,
    service: Option<&str>,
    duration: &str,
) -> anyhow::Result<()> {
    let said = on_host(source, host, |t| ops::pause(t, service, duration))?;
    println!("{said}");
    Ok(())
}

/// Ends the pause of `service`, or of every service when None.
pub fn resume(source: &Source, host: &str, service: Option<&str>) -> anyhow::Result<()> {
    let said = on_host(source, host, |t| ops::resume(t, service))?;
    println!("{said}");
    Ok(())
}
