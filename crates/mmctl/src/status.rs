//! `mmctl status`: every host's `stack_facts` (what `miraclemax-status --json` shows), asked in
//! parallel through Ansible, as one fleet table: the daemon, the services, open incidents and
//! the last heartbeat. A host that cannot be reached is a row that says so.

use crate::remote::{self, Answer};
use serde_json::{Value, json};
use std::path::PathBuf;

/// One row of the fleet table, also its `--json` form.
#[derive(Debug, serde::Serialize)]
pub struct Row {
    pub host: String,
    /// `ok`, `problem`, `not installed`, `unreachable` or `error`.
    pub state: String,
    pub daemon: Option<String>,
    pub services_active: Option<usize>,
    pub services: Option<usize>,
    /// Services not healthy: `name (healing)`, `name (failed)`, ...
    pub incidents: Vec<String>,
    pub last_heartbeat: Option<String>,
    pub error: Option<String>,
    /// The host's whole report (`--json` only).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub report: Value,
}

pub fn gather(
    inventory: &[PathBuf],
    hosts: &[String],
    vault: &[std::ffi::OsString],
) -> Result<Vec<Row>, remote::RemoteError> {
    let pattern = if hosts.is_empty() {
        "all".to_string()
    } else {
        hosts.join(":")
    };
    let answers = remote::run(&remote::Run {
        inventory,
        pattern: &pattern,
        module: "miraclemax.stack.stack_facts",
        args: Value::Null,
        vault,
        become_root: false,
    })?;
    Ok(answers.into_iter().map(|(h, a)| row(h, a)).collect())
}

/// The services not healthy: `name (healing)`, `name (paused until ...)`.
fn service_incidents(services: &[Value]) -> Vec<String> {
    services
        .iter()
        .filter(|s| s["healing"] != json!("healthy"))
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("?");
            match (s["healing"].as_str(), s["paused_until"].as_str()) {
                // A deploy window says when healing comes back by itself.
                (Some("paused"), Some(until)) => format!("{name} (paused until {until})"),
                (healing, _) => format!("{name} ({})", healing.unwrap_or("?")),
            }
        })
        .collect()
}

/// The daemon's own incidents, which no service's state shows, listed before the services':
/// reports it cannot send, then its blindness.
fn daemon_incidents(own: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if own["mail_blocked"].is_object() {
        out.push("reports blocked".to_string());
    }
    // Queues whose channel cannot be set up (email's is `mail_blocked`, as before channels).
    let blocked_channels: Vec<&str> = own["outbox"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|q| q["blocked"].is_object() && q["channel"] != json!("email"))
        .filter_map(|q| q["channel"].as_str())
        .collect();
    if !blocked_channels.is_empty() {
        let names = blocked_channels.join(", ");
        out.push(format!("reports blocked ({names})"));
    }
    if own["blind"].is_object() {
        out.push("daemon blind".into());
    }
    out
}

fn row(host: String, a: Answer) -> Row {
    let mut r = Row {
        host,
        state: String::new(),
        daemon: None,
        services_active: None,
        services: None,
        incidents: Vec::new(),
        last_heartbeat: None,
        error: None,
        report: Value::Null,
    };
    let m = match a {
        Answer::Unreachable(msg) => {
            r.state = "unreachable".into();
            r.error = Some(msg);
            return r;
        }
        Answer::Failed(msg, _) => {
            r.state = "error".into();
            r.error = Some(msg);
            return r;
        }
        Answer::Ok(v) => v["ansible_facts"]["miraclemax"].clone(),
    };
    if m["installed"] != json!(true) {
        r.state = "not installed".into();
        return r;
    }
    let services = m["services"].as_array().cloned().unwrap_or_default();
    r.daemon = m["daemon"]["active_state"].as_str().map(String::from);
    r.services = Some(services.len());
    r.services_active = Some(
        services
            .iter()
            .filter(|s| s["active_state"] == json!("active"))
            .count(),
    );
    let own = &m["daemon"];
    let daemon_incidents = daemon_incidents(own);
    r.incidents = daemon_incidents.clone();
    r.incidents.extend(service_incidents(&services));
    r.last_heartbeat = m["heartbeat"].as_object().map(|h| {
        let at = h.get("last_run").and_then(Value::as_str).unwrap_or("?");
        let signal = h.get("last_signal").and_then(Value::as_str).unwrap_or("?");
        let delivered = if h.get("delivered") == Some(&json!(true)) {
            ""
        } else {
            ", NOT delivered"
        };
        format!("{at} {signal}{delivered}")
    });
    r.state = if m["ok"] == json!(true)
        && r.daemon.as_deref() == Some("active")
        && daemon_incidents.is_empty()
    {
        "ok".into()
    } else {
        "problem".into()
    };
    r.report = m;
    r
}

pub fn table(rows: &[Row]) -> String {
    let cells = rows
        .iter()
        .map(|r| {
            let services = match (r.services_active, r.services) {
                (Some(a), Some(n)) => format!("{a}/{n} active"),
                _ => "-".into(),
            };
            let incidents = if r.incidents.is_empty() {
                "-".into()
            } else {
                r.incidents.join(", ")
            };
            let last = match (&r.last_heartbeat, &r.error) {
                (_, Some(e)) => e.clone(),
                (Some(h), None) => h.clone(),
                (None, None) => "-".into(),
            };
            [
                r.host.clone(),
                r.state.clone(),
                r.daemon.clone().unwrap_or_else(|| "-".into()),
                services,
                incidents,
                last,
            ]
        })
        .collect();
    crate::table::render(
        [
            "HOST",
            "STATE",
            "DAEMON",
            "SERVICES",
            "INCIDENTS",
            "LAST HEARTBEAT",
        ],
        cells,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(daemon: Value) -> Answer {
        Answer::Ok(json!({"ansible_facts": {"miraclemax": {
            "installed": true,
            "ok": true,
            "daemon": daemon,
            "services": [{"name": "web", "active_state": "active", "healing": "healthy"}],
        }}}))
    }

    #[test]
    fn reports_that_cannot_leave_the_host_make_it_a_problem_row() {
        let fine = row("web1".into(), facts(json!({"active_state": "active"})));
        assert_eq!((fine.state.as_str(), fine.incidents.len()), ("ok", 0));
        let blocked = row(
            "web1".into(),
            facts(json!({"active_state": "active", "mail_blocked": {
                "since": "2026-12-06 01:00:00 UTC", "error": "cannot read password_file", "waiting": 2,
            }})),
        );
        assert_eq!(blocked.state, "problem");
        assert_eq!(blocked.incidents, ["reports blocked"]);
    }

    #[test]
    fn a_channel_that_cannot_be_set_up_makes_it_a_problem_row_naming_the_channel() {
        let blocked = row(
            "web1".into(),
            facts(json!({"active_state": "active", "outbox": [
                {"channel": "email", "waiting": 1, "blocked": null},
                {"channel": "phone", "waiting": 2, "blocked": {"since": "x", "error": "no TLS roots"}},
            ]})),
        );
        assert_eq!(blocked.state, "problem");
        assert_eq!(blocked.incidents, ["reports blocked (phone)"]);
    }

    #[test]
    fn the_daemons_own_incidents_come_first_mail_then_channels_then_blindness() {
        let r = row(
            "web1".into(),
            Answer::Ok(json!({"ansible_facts": {"miraclemax": {
                "installed": true, "ok": true,
                "daemon": {"active_state": "active", "blind": {"since": "x"},
                    "mail_blocked": {"since": "x"},
                    "outbox": [{"channel": "phone", "blocked": {"since": "x"}}]},
                "services": [{"name": "web", "active_state": "failed", "healing": "failed"}],
            }}})),
        );
        assert_eq!(r.state, "problem");
        assert_eq!(
            r.incidents,
            [
                "reports blocked",
                "reports blocked (phone)",
                "daemon blind",
                "web (failed)"
            ]
        );
    }

    #[test]
    fn a_paused_service_is_listed_with_the_end_of_its_pause() {
        let r = row(
            "web1".into(),
            Answer::Ok(json!({"ansible_facts": {"miraclemax": {
                "installed": true, "ok": true, "daemon": {"active_state": "active"},
                "services": [{"name": "web", "active_state": "inactive", "healing": "paused",
                    "paused_until": "2026-12-06 07:30:00 UTC"}],
            }}})),
        );
        assert_eq!(r.incidents, ["web (paused until 2026-12-06 07:30:00 UTC)"]);
        assert_eq!(r.state, "ok", "a deploy window is no problem");
    }
}
