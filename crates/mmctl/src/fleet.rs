//! What each host will be given, worked out from the inventory: its agent configuration
//! (through the same `render::agent_config` as everything else that shows one) and the
//! daemon's own validation of it. A problem is reported with the inventory file and line that
//! set the value, the host and the service, so the fix goes where the value was written.

use crate::edit;
use crate::inventory::{HostVars, Inventory, Unresolved, template::Resolver};
use miraclemax_config::render::{AgentVars, agent_config};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with what a host would receive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Issue {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub host: String,
    pub object: String,
    pub message: String,
}

impl Issue {
    /// About the heartbeat layer (its variables or the heartbeat section).
    pub fn is_heartbeat(&self) -> bool {
        self.object.starts_with("heartbeat") || self.object.starts_with("healthcheck_services")
    }
}

impl Issue {
    /// The issue as said once for several hosts that share it (`hosts 'web1', 'web2', 'web3'
    /// and 97 more`), at its file and line.
    pub fn shown_for(&self, hosts: &[String]) -> String {
        let mut out = String::new();
        if let Some(file) = &self.file {
            out.push_str(&file.display().to_string());
            if let Some(line) = self.line {
                out.push_str(&format!(":{line}"));
            }
            out.push_str(": ");
        }
        const NAMED: usize = 3;
        let named: Vec<String> = hosts.iter().take(NAMED).map(|h| format!("'{h}'")).collect();
        match hosts.len() {
            1 => out.push_str(&format!("host {}", named[0])),
            n if n <= NAMED => out.push_str(&format!("hosts {}", named.join(", "))),
            n => out.push_str(&format!(
                "hosts {} and {} more",
                named.join(", "),
                n - NAMED
            )),
        }
        out.push_str(&format!(": {}: {}", self.object, self.message));
        out
    }
}

/// Issues said once each: those that differ only by host become one line naming the hosts
/// (`hosts 'web1', 'web2'`), in the order first found.
pub fn said_once(issues: &[Issue]) -> Vec<String> {
    let mut groups: Vec<(Issue, Vec<String>)> = Vec::new();
    for i in issues {
        let key = Issue {
            host: String::new(),
            ..i.clone()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, hosts)) => hosts.push(i.host.clone()),
            None => groups.push((key, vec![i.host.clone()])),
        }
    }
    groups.iter().map(|(i, hosts)| i.shown_for(hosts)).collect()
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.shown_for(std::slice::from_ref(&self.host)))
    }
}

/// Where each of the agent's settings comes from in the inventory.
const VARS: &[(&str, &str)] = &[
    ("monitored_services", "monitored_services"),
    ("host", "self_healing_host_name"),
    ("ssh_target", "self_healing_ssh_target"),
    ("notifications", "self_healing_email"),
    ("notifications.channels", "self_healing_notify"),
    ("limits", "self_healing_limits"),
    ("protected_processes", "self_healing_protected_processes"),
    ("metrics", "self_healing_metrics_textfile"),
    ("host_checks", "self_healing_host_checks"),
];

/// The host's agent configuration text (`/etc/miraclemax/config.yaml`), or why it cannot be
/// written.
pub fn agent_text(hv: &HostVars, r: &Resolver) -> Result<String, Vec<Issue>> {
    agent_vars(hv, r).map(|v| agent_config(&v))
}

/// The self_healing role's variables for the host, as its `agent_config` task passes them.
pub fn agent_vars(hv: &HostVars, r: &Resolver) -> Result<AgentVars, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut get = |name: &str| -> Value {
        match r.get(name) {
            Ok(v) => v,
            Err(e) => {
                issues.push(unresolved(hv, name, &e));
                Value::Null
            }
        }
    };
    let list = |v: Value| match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    let text = |v: Value| match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let vars = AgentVars {
        host: text(get("self_healing_host_name")),
        ssh_target: text(get("self_healing_ssh_target")),
        monitored_services: list(get("monitored_services")),
        email: get("self_healing_email"),
        notify: list(get("self_healing_notify")),
        limits: get("self_healing_limits"),
        protected_processes: list(get("self_healing_protected_processes")),
        smtp_password: !text(get("self_healing_smtp_password")).is_empty(),
        // Newer than most inventories: left out, no metrics file.
        metrics_textfile: r
            .get("self_healing_metrics_textfile")
            .map(text)
            .unwrap_or_default(),
        host_checks: r.get("self_healing_host_checks").unwrap_or(Value::Null),
    };
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(vars)
}

/// Everything wrong with what `host` would receive.
pub fn check(inv: &Inventory, host: &str) -> Vec<Issue> {
    let hv = inv.host_vars(host);
    let r = Resolver::new(&hv);
    let text = match agent_text(&hv, &r) {
        Ok(t) => t,
        Err(issues) => return issues,
    };
    let mut issues = check_heartbeat_vars(&hv, &r);
    issues.extend(check_smtp_login(&hv, &r));
    // The heartbeat role's fragment, checked with the rest as the daemon merges it; the ping
    // URLs of checks the role creates are only known at deploy, so a placeholder stands in.
    let names: Vec<Value> = match r.get("healthcheck_services") {
        Ok(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let pings: Vec<Value> = names
        .iter()
        .filter_map(|i| {
            let name = edit::entry_name(i)?;
            let url = i
                .get("ping_url")
                .cloned()
                .unwrap_or_else(|| PLACEHOLDER.into());
            Some(serde_json::json!({ "name": name, "ping_url": url }))
        })
        .collect();
    let ping_url = match r.get("heartbeat_ping_url") {
        Ok(Value::String(u)) if !u.is_empty() => u,
        _ => PLACEHOLDER.to_string(),
    };
    let mut heartbeat = serde_json::json!({ "ping_url": ping_url, "services": pings });
    if let Ok(d) = r.get("heartbeat_deadline") {
        heartbeat["deadline"] = d;
    }
    let text = format!("{text}heartbeat: {heartbeat}\n");
    let path = Path::new(miraclemax_config::DEFAULT_PATH);
    let parsed = miraclemax_config::parse(&text, path);
    if let Err(miraclemax_config::ConfigError::Syntax { message, .. }) = &parsed {
        issues.push(syntax_issue(&hv, &text, message));
    }
    if let Err(miraclemax_config::ConfigError::Invalid { problems, .. }) = parsed {
        for (_, p) in problems {
            let top = p.key.split('.').next().unwrap_or_default();
            let var = VARS
                .iter()
                .find(|(k, _)| *k == top)
                .map(|(_, v)| *v)
                .unwrap_or("monitored_services");
            let var = match p.key.as_str() {
                k if k.starts_with("notifications.channels") => "self_healing_notify",
                k if k.starts_with("heartbeat.services") => "healthcheck_services",
                "heartbeat.deadline" => "heartbeat_deadline",
                k if k.starts_with("heartbeat") => "heartbeat_ping_url",
                _ => var,
            };
            let service = p
                .object
                .trim_start_matches("heartbeat: ")
                .strip_prefix("service '")
                .and_then(|s| s.split_once('\''))
                .map(|(name, _)| name);
            // A key inside a mapping variable is named at its own line (`from:` of
            // self_healing_email).
            let inner = match var {
                "self_healing_email" => p.key.strip_prefix("notifications.email."),
                "self_healing_limits" => p.key.strip_prefix("limits."),
                _ => None,
            };
            issues.push(match inner {
                Some(key) => at_key(&hv, var, key, &p.object, &p.message),
                None => at(&hv, var, service, &p.object, &p.message),
            });
        }
    }
    issues.sort();
    issues.dedup();
    issues
}

/// An SMTP login has a password: `self_healing_smtp_password` (which the role installs as the
/// login's password file) or a `password_file` the user manages on the host. Without one the
/// mailer would try every report unauthenticated and the relay refuse it, hour after hour.
fn check_smtp_login(hv: &HostVars, r: &Resolver) -> Option<Issue> {
    let email = r.get("self_healing_email").ok()?;
    let user = email.get("username").filter(|u| !u.is_null())?;
    let password =
        matches!(r.get("self_healing_smtp_password"), Ok(Value::String(s)) if !s.is_empty());
    // Unless the password may be in a vaulted file that was not opened (validate names those).
    if password || email.get("password_file").is_some_and(|f| !f.is_null()) || !hv.sealed.is_empty()
    {
        return None;
    }
    Some(at_key(
        hv,
        "self_healing_email",
        "username",
        "self_healing_email",
        &format!(
            "username {} is set but there is no password: put self_healing_smtp_password in Ansible Vault (see vault.yml.example beside the inventory's main.yml), or name a file on the host with password_file",
            miraclemax_config::quote(
                &user
                    .as_str()
                    .map_or_else(|| user.to_string(), str::to_string)
            )
        ),
    ))
}

/// Stands in for a ping URL that Healthchecks gives at deploy.
const PLACEHOLDER: &str = "https://example.invalid/ping/placeholder";

/// `healthcheck_services`: each entry a service name or a mapping with `name:`, and a place
/// for the heartbeat to report to.
fn check_heartbeat_vars(hv: &HostVars, r: &Resolver) -> Vec<Issue> {
    let mut issues = Vec::new();
    match r.get("healthcheck_services") {
        Ok(Value::Array(items)) => {
            for item in items {
                if edit::entry_name(&item).is_none_or(str::is_empty) {
                    issues.push(at(
                        hv,
                        "healthcheck_services",
                        None,
                        "healthcheck_services",
                        "each entry is a service name (- passgo) or a mapping with name: (- name: passgo)",
                    ));
                }
            }
        }
        Ok(Value::Null) => {}
        Ok(_) => issues.push(at(
            hv,
            "healthcheck_services",
            None,
            "healthcheck_services",
            "is a list of service names",
        )),
        Err(e) => issues.push(unresolved(hv, "healthcheck_services", &e)),
    }
    let key = r.get("heartbeat_api_key");
    let url = r.get("heartbeat_ping_url");
    // A value that is there but cannot be worked out (a vault password that does not open
    // it, a template that fails) is a problem, never a silent placeholder.
    for (name, v) in [("heartbeat_api_key", &key), ("heartbeat_ping_url", &url)] {
        if let Err(e @ Unresolved::Template { .. }) = v {
            issues.push(unresolved(hv, name, e));
        }
    }
    let blank = |v: &Result<Value, Unresolved>| matches!(v, Ok(Value::String(s)) if s.is_empty());
    // Unless the values may be in a vaulted file that was not opened (validate names those).
    if blank(&key) && blank(&url) && hv.sealed.is_empty() {
        issues.push(Issue {
            file: None,
            line: None,
            host: hv.host.clone(),
            object: "heartbeat".into(),
            message: "no Healthchecks check to ping: set heartbeat_api_key (the checks are then created for you) or heartbeat_ping_url, from Ansible Vault (see vault.yml.example beside the inventory's main.yml) (no Healthchecks yet? deploy the self-healing layer alone: mmctl deploy --only self-healing)".into(),
        });
    }
    // The example vault's placeholder, copied but never replaced: named where it was written
    // (the vault, if its value came from there). Only this known text is ever quoted.
    if matches!(&key, Ok(Value::String(s)) if s == EXAMPLE_KEY) {
        let var = hv
            .defs
            .iter()
            .find(|(_, d)| d.value.as_str() == Some(EXAMPLE_KEY))
            .map_or("heartbeat_api_key", |(name, _)| name.as_str());
        issues.push(at(
            hv,
            var,
            None,
            "heartbeat",
            &format!(
                "heartbeat_api_key is still the example's placeholder '{EXAMPLE_KEY}': paste your project's API key from Healthchecks (Settings > API Access), or remove the line to deploy without the heartbeat"
            ),
        ));
    }
    issues
}

/// The API key in `vault.yml.example`, which is no key.
const EXAMPLE_KEY: &str = "paste-the-key-here";

/// A value of the wrong type (`critical: maybe`): the parser names a line of the rendered
/// text, which says whose value it is (each service is one line).
fn syntax_issue(hv: &HostVars, text: &str, message: &str) -> Issue {
    let at_line = message.find("line ");
    let line: Option<usize> = at_line.and_then(|i| {
        let digits: String = message[i + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    });
    // The rendered text's position means nothing to the user: keep the reason only.
    let detail = match message.strip_prefix("line ") {
        Some(_) => message.split_once(": ").map_or(message, |(_, d)| d),
        None => at_line.map_or(message, |i| {
            message[..i]
                .trim_end_matches([' ', ','])
                .trim_end_matches(" at")
        }),
    };
    let rendered = line
        .and_then(|n| text.lines().nth(n.saturating_sub(1)))
        .unwrap_or("");
    let key = rendered.split(':').next().unwrap_or("").trim();
    if let Some(entry) = rendered.strip_prefix("  - ") {
        let name = serde_json::from_str::<Value>(entry)
            .ok()
            .and_then(|v| edit::entry_name(&v).map(String::from));
        let object = match &name {
            Some(n) => format!("service '{n}'"),
            None => "monitored_services".into(),
        };
        return at(hv, "monitored_services", name.as_deref(), &object, detail);
    }
    let var = match key {
        "notifications" | "email" => "self_healing_email",
        "channels" => "self_healing_notify",
        "limits" => "self_healing_limits",
        "protected_processes" => "self_healing_protected_processes",
        "metrics" => "self_healing_metrics_textfile",
        "host_checks" => "self_healing_host_checks",
        "heartbeat" => "healthcheck_services",
        "host" => "self_healing_host_name",
        _ => "monitored_services",
    };
    at(hv, var, None, var, detail)
}

/// An issue for a value that could not be worked out, said once: the variable and its file
/// are the issue's own, so only another variable's are named in the message.
fn unresolved(hv: &HostVars, var: &str, e: &Unresolved) -> Issue {
    let message = match e {
        Unresolved::Template { name, message, .. } if name == var => message.clone(),
        Unresolved::Vaulted { name, .. } if name == var => VAULTED.to_string(),
        Unresolved::Undefined(name) if name == var => "is not defined".to_string(),
        other => other.to_string(),
    };
    at(hv, var, None, var, &message)
}

const VAULTED: &str = "is encrypted with Ansible Vault; give its password (--vault-password-file, --vault-id or --ask-vault-pass)";

/// An issue about `key` in the mapping `var` holds, at its line (or the variable's, if the
/// key is not written there).
fn at_key(hv: &HostVars, var: &str, key: &str, object: &str, message: &str) -> Issue {
    let mut issue = at(hv, var, None, object, message);
    if let Some(place) = hv.defs.get(var).map(|d| &d.at)
        && let Some(line) = std::fs::read_to_string(&place.file)
            .ok()
            .and_then(|text| edit::line_of_key(&text, place, var, key))
    {
        issue.line = Some(line);
    }
    issue
}

/// An issue about `var` (and the entry `service` in it), at the place that defines it.
fn at(hv: &HostVars, var: &str, service: Option<&str>, object: &str, message: &str) -> Issue {
    let place = hv.defs.get(var).map(|d| d.at.clone());
    let line = place.as_ref().and_then(|p| {
        let text = std::fs::read_to_string(&p.file).ok()?;
        edit::line_of(&text, p, var, service)
    });
    Issue {
        file: place.map(|p| p.file),
        line,
        host: hv.host.clone(),
        object: object.to_string(),
        message: message.to_string(),
    }
}
