//! The report of a host check that crossed a threshold, worsened or recovered
//! (`templates/email/host_check.txt.j2`, built in), and what it is about for channels.

use super::{Change, Check, Held, Kind, Level};
use crate::notify::outbox::{About, ReportOutcome};
use crate::notify::report::{Email, ReportError, render_builtin, utc};
use minijinja::context;

const TEMPLATE: &str = include_str!("../../templates/email/host_check.txt.j2");
const NAME: &str = "host_check.txt.j2";

/// Everything one report says.
pub struct Said<'a> {
    pub host: &'a str,
    pub ssh_target: &'a str,
    pub check: &'a Check,
    pub change: Change,
    /// The entry as it was before this reading (the crossing's time, the worst figure), and
    /// after it (`None` once recovered).
    pub before: Option<&'a Held>,
    pub after: Option<&'a Held>,
    /// The reading's line (`said`).
    pub now_line: &'a str,
    pub step: f64,
    pub now_ms: u64,
}

impl Said<'_> {
    fn level(&self) -> Level {
        self.after.map_or(Level::Ok, |h| h.level)
    }

    /// `WARNING`, `CRITICAL` or `RECOVERED`.
    pub fn word(&self) -> &'static str {
        match self.change {
            Change::Recovered => "RECOVERED",
            _ => self.level().word(),
        }
    }

    pub fn about(&self) -> About {
        About {
            host: self.host.to_string(),
            service: self.check.name(),
            outcome: match self.change {
                Change::Recovered => ReportOutcome::Recovered,
                _ if self.level() == Level::Critical => ReportOutcome::Critical,
                _ => ReportOutcome::Warning,
            },
        }
    }

    /// The outbox id: one per check, crossing and report, so a report queued twice (a restart
    /// before the state was saved) is sent once.
    pub fn id(&self) -> String {
        let slug: String = self
            .check
            .name()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let since = self
            .before
            .or(self.after)
            .map_or(self.now_ms, |h| h.since_ms);
        let figure = self.after.map_or(0, |h| h.reported);
        format!(
            "host-{slug}-{since}-{}-{figure}",
            self.word().to_lowercase()
        )
    }

    fn headline(&self) -> String {
        let t = &self.check.thresholds;
        let at = |x: Option<f64>| x.map(super::read::number).unwrap_or_default();
        match (self.change, self.level()) {
            (Change::Recovered, _) => "back under its thresholds".into(),
            (Change::Crossed(_), Level::Critical) => {
                format!("past its critical threshold of {} %", at(t.critical))
            }
            (Change::Crossed(_), _) => format!("past its warning threshold of {} %", at(t.warn)),
            (Change::Worse, _) => format!(
                "worse than at the last report ({:.1} %)",
                f64::from(self.before.map_or(0, |h| h.reported)) / 10.0
            ),
        }
    }
}

/// What a human can run about the check.
fn manual(check: &Check, ssh_target: &str) -> Vec<String> {
    let mut steps = vec![format!("SSH to server: ssh {ssh_target}")];
    match &check.kind {
        Kind::Space(p) => {
            let p = p.display();
            steps.push(format!(
                "See what takes the space: du -xh --max-depth=2 {p} | sort -h | tail -20"
            ));
            steps.push("See the journal's share: journalctl --disk-usage".into());
        }
        Kind::Inodes(p) => steps.push(format!(
            "See which folders hold the most files: du -x --inodes --max-depth=2 {} | sort -n | tail -20",
            p.display()
        )),
        Kind::Memory | Kind::Swap | Kind::Pressure => {
            steps.push("See who holds memory: ps -eo pid,rss,comm --sort=-rss | head -15".into());
            steps.push("See it by service: systemd-cgtop -m -n 1".into());
        }
    }
    steps
}

pub fn render(s: &Said) -> Result<Email, ReportError> {
    let since = s.before.or(s.after).map_or(s.now_ms, |h| h.since_ms);
    let worst = s.before.map_or(0, |h| h.worst);
    render_builtin(
        NAME,
        TEMPLATE,
        context! {
            icon => match s.word() {
                "RECOVERED" => "✅",
                "CRITICAL" => "🔴",
                _ => "⚠️",
            },
            word => s.word(),
            host => s.host,
            check => s.check.name(),
            headline => s.headline(),
            said => s.now_line,
            recovered => s.change == Change::Recovered,
            since => utc(since),
            now => utc(s.now_ms),
            worst => format!("{:.1}", f64::from(worst) / 10.0),
            step => super::read::number(s.step),
            manual => manual(s.check, s.ssh_target),
        },
    )
}
