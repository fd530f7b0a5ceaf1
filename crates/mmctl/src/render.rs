//! `mmctl render HOST`: every file the roles put on the host from the inventory, as the host
//! will receive it. The agent configuration and the heartbeat fragment come from
//! `miraclemax_config::render`, the code the roles' `agent_config` module runs, and the unit
//! is the role's own file, built in; so for what does not depend on Healthchecks the output is
//! byte for byte what a deploy writes. Secrets (the SMTP password, ping URLs, channel tokens
//! and webhook URLs) are redacted
//! unless asked for; ping URLs of checks the heartbeat role creates exist only after a deploy.

use crate::edit;
use crate::fleet::{self, Issue};
use crate::inventory::{Inventory, template::Resolver};
use miraclemax_config::Secret;
use miraclemax_config::render::heartbeat_fragment;
use serde_json::{Value, json};

pub const CONFIG: &str = "/etc/miraclemax/config.yaml";
pub const HEARTBEAT: &str = "/etc/miraclemax/config.d/50-heartbeat.yaml";
pub const SMTP_PASSWORD: &str = miraclemax_config::render::SMTP_PASSWORD_FILE;
pub const UNIT: &str = "/etc/systemd/system/miraclemax-self-heal.service";
pub const CRONTAB: &str = "crontab of root";

const UNIT_TEXT: &str = include_str!("../../../templates/miraclemax-self-heal.service");

/// One file a host receives: where, and its text.
pub struct File {
    pub path: &'static str,
    pub text: String,
}

/// Why what `files` shows for `host` may not be what a deploy writes: values it needs sit in
/// Ansible Vault that was not opened (the heartbeat's files are then left out, or a default
/// stands in for a vaulted value). None when `files` is the whole truth.
pub fn incomplete(inv: &Inventory, host: &str) -> Option<String> {
    let hv = inv.host_vars(host);
    let r = Resolver::new(&hv);
    for name in [
        "heartbeat_api_key",
        "heartbeat_ping_url",
        "self_healing_smtp_password",
    ] {
        if let Err(crate::inventory::Unresolved::Vaulted { place, .. }) = r.get(name) {
            return Some(format!(
                "{name} ({}) is encrypted with Ansible Vault and was not opened, so what depends on it is not shown",
                place.file.display()
            ));
        }
    }
    if hv.sealed.is_empty() {
        return None;
    }
    let files: Vec<String> = hv.sealed.iter().map(|f| f.display().to_string()).collect();
    Some(format!(
        "the variables in {} (encrypted with Ansible Vault, not opened) are left out of what is shown",
        files.join(", ")
    ))
}

pub fn files(inv: &Inventory, host: &str, show_secrets: bool) -> Result<Vec<File>, Vec<Issue>> {
    let hv = inv.host_vars(host);
    let r = Resolver::new(&hv);
    let mut vars = fleet::agent_vars(&hv, &r)?;
    if !show_secrets {
        vars.notify = vars
            .notify
            .iter()
            .map(miraclemax_config::render::redact_channel)
            .collect();
    }
    let config = miraclemax_config::render::agent_config(&vars);
    let text = |name: &str| match r.get(name) {
        Ok(Value::String(s)) => s,
        Ok(Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    };
    let secret = |s: String| {
        if show_secrets || s.is_empty() {
            s
        } else {
            Secret::new(s).redacted()
        }
    };
    let mut out = vec![File {
        path: CONFIG,
        text: config,
    }];
    let password = text("self_healing_smtp_password");
    if !password.is_empty() {
        out.push(File {
            path: SMTP_PASSWORD,
            text: secret(password),
        });
    }
    out.push(File {
        path: UNIT,
        text: UNIT_TEXT.to_string(),
    });
    let api_key = !text("heartbeat_api_key").is_empty();
    let from_healthchecks =
        |slug: String| format!("<ping URL of check '{slug}', from Healthchecks at deploy>");
    let server_slug = text("heartbeat_server_check_slug");
    let ping_url = if api_key {
        from_healthchecks(server_slug.clone())
    } else {
        secret(text("heartbeat_ping_url"))
    };
    let checks = match r.get("healthcheck_services") {
        Ok(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let services: Vec<Value> = checks
        .iter()
        .filter_map(|c| {
            let name = edit::entry_name(c)?;
            let url = match c.get("ping_url").and_then(Value::as_str) {
                Some(u) => secret(u.to_string()),
                None if api_key => from_healthchecks(format!("{server_slug}-{name}")),
                None => return None,
            };
            Some(json!({ "name": name, "ping_url": url }))
        })
        .collect();
    let deadline = r.get("heartbeat_deadline").unwrap_or(Value::Null);
    if api_key || !text("heartbeat_ping_url").is_empty() {
        let section = json!({ "ping_url": ping_url, "deadline": deadline, "services": services });
        out.push(File {
            path: HEARTBEAT,
            text: heartbeat_fragment(&section),
        });
        out.push(File {
            path: CRONTAB,
            text: format!(
                "#Ansible: miraclemax-heartbeat\n{} * * * * /usr/local/bin/miraclemax-heartbeat --quiet\n",
                text("heartbeat_cron_minute")
            ),
        });
    }
    Ok(out)
}

/// All files, each under a `==> PATH <==` header (as `tail` shows several files).
pub fn show(files: &[File]) -> String {
    let mut out = String::new();
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("==> {} <==\n{}", f.path, f.text));
        if !f.text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
