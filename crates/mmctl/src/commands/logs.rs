//! `mmctl logs HOST`: the healing history from the host's journal; a `--service` the host does
//! not watch is refused from the inventory before the host is asked.

use super::on_host;
use crate::ops;
use crate::services::Source;
use crate::watched;

pub fn run(
    source: &Source,
    host: &str,
    service: Option<&str>,
    lines: u32,
    follow: bool,
) -> anyhow::Result<()> {
    if let Some(s) = service {
        let inv = source.load()?;
        watched::require(
            &inv,
            host,
            s,
            "ask for one of those (or leave out --service for every service's history)",
        )?;
    }
    on_host(source, host, |t| {
        ops::logs(t, service, lines, follow, |l| println!("{l}"))
    })
}
