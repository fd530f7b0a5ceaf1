//! The coverage matrix, as the fault-injection tests saw it: one row per failure (each row of
//! the user's table, then the rows added), saying how it was injected, what each layer did,
//! what the user received, how long recovery took and which test proved it. Tests `record`
//! their rows; with `MM_WRITE_RESULTS=1` the rows are kept in results/failure-modes/ and
//! docs/failure-modes.md is rendered from them (`render`), so the page never says more than a
//! test saw.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// File name in results/failure-modes/, and the order rows are shown in.
    pub id: String,
    /// The failure, as the user's table names it ("App crash") or as added.
    pub failure: String,
    pub injected: String,
    /// What layer 1, the self-healing daemon, did.
    pub self_healing: String,
    /// What layer 2, the heartbeat and Healthchecks, did.
    pub healthchecks: String,
    /// What the user received: emails, pings, Healthchecks' DOWN/UP.
    pub received: String,
    pub recovery: String,
    /// The test that proved it, as `module::function`.
    pub test: String,
}

/// The user's own table, in its order: each must have a row whose id starts with its key.
pub const USER_ROWS: [(&str, &str); 8] = [
    ("1-app-crash", "App crash"),
    ("2-self-heal-bug", "Self-heal bug"),
    ("3-port-conflict", "Port conflict"),
    ("4-config-error", "Config error"),
    ("5-systemd-hang", "Systemd hang"),
    ("6-server-crash", "Server crash"),
    ("7-power-outage", "Power outage"),
    ("8-network-down", "Network down"),
];

impl Row {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "failure": self.failure, "injected": self.injected,
            "self_healing": self.self_healing, "healthchecks": self.healthchecks,
            "received": self.received, "recovery": self.recovery, "test": self.test,
        })
    }

    fn from_json(v: &Value) -> Option<Row> {
        let f = |k: &str| v[k].as_str().map(str::to_string);
        Some(Row {
            id: f("id")?,
            failure: f("failure")?,
            injected: f("injected")?,
            self_healing: f("self_healing")?,
            healthchecks: f("healthchecks")?,
            received: f("received")?,
            recovery: f("recovery")?,
            test: f("test")?,
        })
    }
}

/// Keeps a proven row when `MM_WRITE_RESULTS=1` (results/failure-modes/ID.json) and renders
/// docs/failure-modes.md again from every kept row. Without it, only prints the row.
pub fn record(repo: &Path, row: &Row) -> Result<()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    eprintln!("failure mode proven: {row:?}");
    if std::env::var("MM_WRITE_RESULTS").as_deref() != Ok("1") {
        return Ok(());
    }
    let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo.join("results/failure-modes");
    std::fs::create_dir_all(&dir)?;
    let text = serde_json::to_string_pretty(&row.to_json())? + "\n";
    std::fs::write(dir.join(format!("{}.json", row.id)), text)?;
    let rows = load(repo)?;
    std::fs::write(repo.join("docs/failure-modes.md"), render(&rows))?;
    Ok(())
}

/// Every kept row, in id order.
pub fn load(repo: &Path) -> Result<Vec<Row>> {
    let dir = repo.join("results/failure-modes");
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        rows.push(
            Row::from_json(&v)
                .with_context(|| format!("{}: a field is missing", path.display()))?,
        );
    }
    rows.sort_by_key(|r| natural(&r.id));
    Ok(rows)
}

/// "4-config-error" before "10-...": the leading number compared as a number.
fn natural(id: &str) -> (u32, String) {
    let n = id
        .split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX);
    (n, id.to_string())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// docs/failure-modes.md: the user's rows, then the added ones, each with its test.
pub fn render(rows: &[Row]) -> String {
    let mut md = String::from(
        "# Failure modes\n\n\
         <!-- Generated from results/failure-modes/*.json by the fault-injection tests; do not edit.\n     \
         To renew: MM_WRITE_RESULTS=1 cargo test --features e2e --test e2e failure_modes -->\n\n\
         What can fail on a watched server, what each layer does about it, and what you receive.\n\
         Every row below was produced on real systemd hosts: the fault was injected, each layer's\n\
         reaction was observed and the row was written by the test named in its last column.\n\
         Layer 1 is the self-healing daemon on the server; layer 2 is the heartbeat (root's crontab)\n\
         and your Healthchecks project, which notices what nothing on the server can report.\n\
         The times are one run's, on a 2-core test machine with a 1-minute heartbeat and a\n\
         Healthchecks check of period 60 s and grace 60 s (the defaults are 5 and 10 minutes).\n\n",
    );
    let header = "| Failure | How it was injected | Self-healing (layer 1) | Healthchecks (layer 2) | What you receive | Time to recovery | Proven by |\n|---|---|---|---|---|---|---|\n";
    let user: Vec<&Row> = rows
        .iter()
        .filter(|r| USER_ROWS.iter().any(|(k, _)| r.id.starts_with(k)))
        .collect();
    let added: Vec<&Row> = rows.iter().filter(|r| !user.contains(r)).collect();
    for (title, part) in [
        ("## The user's coverage matrix\n\n", user),
        ("## Added rows\n\n", added),
    ] {
        if part.is_empty() {
            continue;
        }
        md.push_str(title);
        md.push_str(header);
        for r in part {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | `{}` |\n",
                cell(&r.failure),
                cell(&r.injected),
                cell(&r.self_healing),
                cell(&r.healthchecks),
                cell(&r.received),
                cell(&r.recovery),
                r.test
            ));
        }
        md.push('\n');
    }
    md
}
