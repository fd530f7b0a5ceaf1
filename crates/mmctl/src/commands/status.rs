//! `mmctl status`: the fleet at a glance, asked of every host in parallel through Ansible;
//! exit 1 when any host is not well (unreachable, daemon down, open incidents).

use crate::services::Source;
use std::process::ExitCode;

/// 0 when every row is `ok`, 1 otherwise.
pub fn exit_code(rows: &[crate::status::Row]) -> ExitCode {
    if rows.iter().any(|r| r.state != "ok") {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub fn run(source: &Source, hosts: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let vault = source.vault.for_ansible()?;
    let rows = crate::status::gather(&source.paths, hosts, &vault.args)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", crate::status::table(&rows));
    }
    Ok(exit_code(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Row;

    fn row(host: &str, state: &str) -> Row {
        Row {
            host: host.into(),
            state: state.into(),
            daemon: None,
            services_active: None,
            services: None,
            incidents: Vec::new(),
            last_heartbeat: None,
            error: None,
            report: serde_json::Value::Null,
        }
    }

    #[test]
    fn one_host_not_ok_fails_the_fleet() {
        assert_eq!(
            exit_code(&[row("web1", "ok"), row("web2", "ok")]),
            ExitCode::SUCCESS
        );
        assert_eq!(
            exit_code(&[row("web1", "ok"), row("web2", "unreachable")]),
            ExitCode::FAILURE
        );
        assert_eq!(exit_code(&[]), ExitCode::SUCCESS);
    }
}
