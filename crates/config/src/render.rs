//! The agent configuration a host receives (`/etc/miraclemax/config.yaml`), written from the
//! inventory's variables: one function, so that everything that shows or checks a host's
//! configuration from the controller (`mmctl validate`, `mmctl render`) works on the same text.
//! Each entry is written as JSON (valid YAML), so every key reaches the daemon's own
//! validation as the user wrote it.

use serde_json::Value;

/// The self_healing role's variables, templated.
#[derive(Debug, Clone, Default)]
pub struct AgentVars {
    pub host: String,
    pub ssh_target: String,
    pub monitored_services: Vec<Value>,
    /// `self_healing_email`: empty means no email.
    pub email: Value,
    /// `self_healing_notify`: report channels besides email (`notifications.channels`).
    pub notify: Vec<Value>,
    pub limits: Value,
    pub protected_processes: Vec<Value>,
    /// `self_healing_smtp_password` is set: the role installs it as `SMTP_PASSWORD_FILE`.
    pub smtp_password: bool,
    /// `self_healing_metrics_textfile`: empty means no metrics file.
    pub metrics_textfile: String,
    /// `self_healing_host_checks`: empty means none.
    pub host_checks: Value,
}

/// Where the self_healing role installs `self_healing_smtp_password` (root-only).
pub const SMTP_PASSWORD_FILE: &str = "/etc/miraclemax/smtp-password";

pub fn agent_config(v: &AgentVars) -> String {
    let j = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let mut out = String::from(
        "# /etc/miraclemax/config.yaml, managed by Ansible (MiracleMax, role self_healing): edit the\n\
         # inventory, not this file. The heartbeat role's part is in config.d/50-heartbeat.yaml.\n",
    );
    out.push_str(&format!("host: {}\n", j(&Value::String(v.host.clone()))));
    if !v.ssh_target.is_empty() {
        out.push_str(&format!(
            "ssh_target: {}\n",
            j(&Value::String(v.ssh_target.clone()))
        ));
    }
    out.push_str("monitored_services:\n");
    for s in &v.monitored_services {
        out.push_str(&format!("  - {}\n", j(s)));
    }
    if !empty(&v.email) || !v.notify.is_empty() {
        out.push_str("notifications:\n");
    }
    if !empty(&v.email) {
        let mut email = v.email.clone();
        // The password the role installs is the one the login uses, unless the user named
        // another file themselves.
        if v.smtp_password
            && let Value::Object(m) = &mut email
        {
            m.entry("password_file")
                .or_insert_with(|| Value::String(SMTP_PASSWORD_FILE.into()));
        }
        out.push_str(&format!("  email: {}\n", j(&email)));
    }
    if !v.notify.is_empty() {
        out.push_str("  channels:\n");
        for c in &v.notify {
            out.push_str(&format!("    - {}\n", j(c)));
        }
    }
    if !empty(&v.limits) {
        out.push_str(&format!("limits: {}\n", j(&v.limits)));
    }
    if !v.protected_processes.is_empty() {
        out.push_str(&format!(
            "protected_processes: {}\n",
            j(&Value::Array(v.protected_processes.clone()))
        ));
    }
    if !v.metrics_textfile.is_empty() {
        out.push_str(&format!(
            "metrics: {{\"textfile\":{}}}\n",
            j(&Value::String(v.metrics_textfile.clone()))
        ));
    }
    if !empty(&v.host_checks) {
        out.push_str(&format!("host_checks: {}\n", j(&v.host_checks)));
    }
    out
}

/// The heartbeat role's fragment (`/etc/miraclemax/config.d/50-heartbeat.yaml`): its
/// `heartbeat` section (ping_url, deadline, services), merged over the main file on the host.
pub fn heartbeat_fragment(section: &Value) -> String {
    format!(
        "# /etc/miraclemax/config.d/50-heartbeat.yaml, managed by Ansible (MiracleMax, role heartbeat): edit\n\
         # the inventory, not this file. Merged over /etc/miraclemax/config.yaml; see docs/configuration.md.\n\
         heartbeat: {}\n",
        serde_json::to_string(section).unwrap_or_default()
    )
}

/// The keys of a `self_healing_notify` entry that hold credentials: what `mmctl render` hides
/// unless asked to show secrets. Every URL but ntfy's and Gotify's server address is one (a chat
/// webhook's URL is the credential itself; a generic webhook's may carry one in its query).
pub fn redact_channel(entry: &Value) -> Value {
    let mut e = entry.clone();
    let kind = e
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Value::Object(m) = &mut e else {
        return e;
    };
    let hide = |v: &mut Value| {
        if let Value::String(s) = v
            && !s.is_empty()
        {
            *s = crate::Secret::new(s.clone()).redacted();
        }
    };
    for (key, v) in m.iter_mut() {
        match key.as_str() {
            "token" | "secret" => hide(v),
            "url" if !matches!(kind.as_str(), "ntfy" | "gotify") => hide(v),
            "headers" => {
                if let Value::Object(h) = v {
                    h.values_mut().for_each(hide);
                }
            }
            _ => {}
        }
    }
    e
}

/// Empty the way Jinja's `if` sees it: no value, `{}`, `[]` or `""`.
fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn the_rendered_configuration_is_what_the_daemon_validates() {
        let v = AgentVars {
            host: "web1".into(),
            monitored_services: vec![json!({"name": "passgo", "port": 8080, "critical": "yes"})],
            email: json!({"smtp_host": "smtp.example.org", "to": ["ops@example.org"], "from": "mm@example.org"}),
            limits: json!({"check_interval": "5s"}),
            ..AgentVars::default()
        };
        let text = agent_config(&v);
        assert!(
            text.contains("  - {\"critical\":\"yes\",\"name\":\"passgo\",\"port\":8080}\n"),
            "{text}"
        );
        let c = crate::parse(&text, Path::new("config.yaml")).unwrap();
        assert_eq!(c.services[0].port.map(|p| p.get()), Some(8080));
        assert!(!agent_config(&AgentVars::default()).contains("notifications"));
    }

    #[test]
    fn channels_render_under_notifications_and_their_credentials_can_be_hidden() {
        let ntfy = json!({"type": "ntfy", "url": "https://ntfy.example.org", "topic": "ops", "token": "tk_hunter2"});
        let slack =
            json!({"type": "slack", "url": "https://hooks.slack.example/services/T0/B0/hunter2"});
        let v = AgentVars {
            host: "web1".into(),
            notify: vec![ntfy.clone(), slack.clone()],
            ..AgentVars::default()
        };
        let text = agent_config(&v);
        assert!(
            text.contains("notifications:\n  channels:\n    - {"),
            "{text}"
        );
        let c = crate::parse(&text, Path::new("config.yaml")).unwrap();
        assert_eq!(c.channels.len(), 2);
        assert_eq!(
            (c.channels[0].name.as_str(), c.channels[1].name.as_str()),
            ("ntfy", "slack")
        );
        let hidden =
            serde_json::to_string(&[redact_channel(&ntfy), redact_channel(&slack)]).unwrap();
        assert!(!hidden.contains("hunter2"), "{hidden}");
        assert!(hidden.contains("https://ntfy.example.org"), "{hidden}");
        assert!(
            hidden.contains("https://hooks.slack.example/<redacted>"),
            "{hidden}"
        );
    }

    #[test]
    fn the_installed_smtp_password_is_the_logins_unless_another_file_is_named() {
        let email = json!({"smtp_host": "smtp.example.org", "to": ["ops@example.org"],
            "from": "mm@example.org", "username": "alerts@example.org"});
        let mut v = AgentVars {
            host: "web1".into(),
            email: email.clone(),
            smtp_password: true,
            ..AgentVars::default()
        };
        let c = crate::parse(&agent_config(&v), Path::new("config.yaml")).unwrap();
        let e = c.email.unwrap();
        assert_eq!(e.username.as_deref(), Some("alerts@example.org"));
        assert_eq!(
            e.password_file.as_deref(),
            Some(Path::new(SMTP_PASSWORD_FILE))
        );
        let mut own = email.clone();
        own["password_file"] = json!("/root/smtp.pass");
        v.email = own;
        let c = crate::parse(&agent_config(&v), Path::new("config.yaml")).unwrap();
        assert_eq!(
            c.email.unwrap().password_file.as_deref(),
            Some(Path::new("/root/smtp.pass"))
        );
        v.email = email;
        v.smtp_password = false;
        assert!(!agent_config(&v).contains("password_file"));
    }

    #[test]
    fn the_metrics_textfile_is_written_only_when_set_and_the_daemon_reads_it() {
        let mut v = AgentVars {
            host: "web1".into(),
            ..AgentVars::default()
        };
        assert!(!agent_config(&v).contains("metrics"));
        v.metrics_textfile = "/var/lib/prometheus/node-exporter/miraclemax.prom".into();
        let text = agent_config(&v);
        assert!(
            text.ends_with(
                "metrics: {\"textfile\":\"/var/lib/prometheus/node-exporter/miraclemax.prom\"}\n"
            ),
            "{text}"
        );
        let c = crate::parse(&text, Path::new("config.yaml")).unwrap();
        assert_eq!(
            c.metrics.unwrap().textfile,
            Path::new("/var/lib/prometheus/node-exporter/miraclemax.prom")
        );
    }

    #[test]
    fn host_checks_are_written_only_when_set_and_the_daemon_reads_them() {
        let mut v = AgentVars {
            host: "web1".into(),
            host_checks: serde_json::json!({}),
            ..AgentVars::default()
        };
        assert!(!agent_config(&v).contains("host_checks"));
        v.host_checks = serde_json::json!({"disks": [{"path": "/"}], "memory": {"warn": "90%"}});
        let text = agent_config(&v);
        let c = crate::parse(&text, Path::new("config.yaml")).unwrap();
        let h = c.host_checks.unwrap();
        assert_eq!(h.disks[0].path, Path::new("/"));
        assert_eq!(h.memory.unwrap().warn, Some(90.0));
    }
}
