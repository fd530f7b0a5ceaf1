//! The secret sweep over the whole run: each host's journal, logs, state files, status and
//! heartbeat printouts, every email as received, every ping body, the deploy's output with its
//! module results (-v), and mmctl's status, validate, list, render and logs. The SMTP password,
//! the API key and each check's ping key (the UUID in its ping URL) must appear in none.

use super::SMTP_PASSWORD;
use super::lab::Lab;
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use std::path::Path;

/// `(where, text)` of everything a user or an onlooker could read.
#[allow(clippy::too_many_lines)] // every place a secret could show, listed in one place so none is missed
fn outputs(
    labs: &[Lab],
    hc: &Healthchecks,
    inv: &Path,
    vault_password: &Path,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lab in labs {
        let name = lab.name();
        for (what, cmd) in [
            ("journal", &["journalctl", "--no-pager", "-o", "json"][..]),
            (
                "heartbeat log",
                &["cat", "/var/log/healthcheck-heartbeat.log"][..],
            ),
            (
                "state files",
                &[
                    "find",
                    "/var/lib/miraclemax",
                    "-type",
                    "f",
                    "-exec",
                    "cat",
                    "{}",
                    "+",
                ][..],
            ),
            ("miraclemax-status", &["miraclemax-status"][..]),
            (
                "miraclemax-status --json",
                &["miraclemax-status", "--json"][..],
            ),
            ("miraclemax-heartbeat", &["miraclemax-heartbeat"][..]),
            ("crontab", &["crontab", "-l"][..]),
            ("process list", &["ps", "-eo", "args"][..]),
        ] {
            let text = match lab.host.ssh(cmd) {
                Ok(o) => format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("{e:#}"),
            };
            out.push((format!("{name}: {what}"), text));
        }
        for dir in ["new", "cur"] {
            for entry in std::fs::read_dir(lab.smtp.maildir.join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                let raw = std::fs::read(entry.path()).unwrap_or_default();
                out.push((
                    format!("{name}: email {}", entry.path().display()),
                    String::from_utf8_lossy(&raw).into_owned(),
                ));
            }
        }
    }
    for p in hc.pings() {
        out.push((
            format!("ping body to {}", &p.check[..8.min(p.check.len())]),
            p.body,
        ));
    }
    let host = labs[0].name();
    for args in [
        vec!["status"],
        vec!["validate"],
        vec!["list"],
        vec!["render", host.as_str()],
        vec!["logs", host.as_str(), "-n", "200"],
    ] {
        let o = mm_testbed::mmctl()
            .arg("-i")
            .arg(inv)
            .arg("--vault-password-file")
            .arg(vault_password)
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ANSIBLE_COLLECTIONS_PATH", crate::support::collections())
            .output();
        let text = match o {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => e.to_string(),
        };
        out.push((format!("mmctl {}", args.join(" ")), text));
    }
    out
}

/// Every place a secret appeared, as `secret-name in where`; empty when none did.
pub fn sweep(
    labs: &[Lab],
    hc: &Healthchecks,
    inv: &Path,
    vault_password: &Path,
    deploy: &str,
) -> Vec<String> {
    let mut secrets: Vec<(String, String)> = vec![
        ("the SMTP password".into(), SMTP_PASSWORD.into()),
        ("the API key".into(), API_KEY.into()),
    ];
    for c in hc.checks() {
        secrets.push((format!("the ping key of check '{}'", c.slug), c.uuid));
    }
    let mut texts = outputs(labs, hc, inv, vault_password);
    texts.push(("the deploy's output (-v)".into(), deploy.to_string()));
    // The sweep must have something to search: a run that printed nothing proves nothing.
    let searched: usize = texts.iter().map(|(_, t)| t.len()).sum();
    assert!(searched > 100_000, "only {searched} bytes searched");
    let emails = texts.iter().filter(|(w, _)| w.contains(": email ")).count();
    assert!(emails >= labs.len(), "only {emails} emails searched");
    let mut found = Vec::new();
    for (what, secret) in &secrets {
        for (place, text) in &texts {
            if text.contains(secret.as_str()) {
                found.push(format!("{what} in {place}"));
            }
        }
    }
    found
}
