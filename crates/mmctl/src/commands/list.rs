//! `mmctl list`: the services each host watches, as a table or JSON.

use crate::services::{self, Source};

pub fn run(
    source: &Source,
    host: Option<&str>,
    limit: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let hosts = services::list(source, host, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hosts)?);
    } else {
        print!("{}", services::table(&hosts));
    }
    Ok(())
}
