//! One incident: from detection to a verified fix or to giving up. It records what was actually
//! done, step by step, so the report says exactly that; it is persisted as it grows, so a daemon
//! killed mid-heal resumes it instead of losing or repeating it.

use super::cause::Cause;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attempt {
    pub strategy: String,
    pub ok: bool,
    /// What happened, e.g. "unit did not become active (Result=exit-code, status 203)".
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Open,
    Resolved {
        at_ms: u64,
        strategy: String,
    },
    Failed {
        at_ms: u64,
    },
    /// The breaker tripped before any strategy ran: too many heals in the window.
    Flapping {
        at_ms: u64,
        recent_heals: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub service: String,
    pub unit: String,
    pub domain: Option<String>,
    pub port: Option<u16>,
    pub detected_at_ms: u64,
    /// What detection saw, phrased as the first step: "Detected example was inactive".
    pub detected: String,
    pub cause: Cause,
    pub steps: Vec<String>,
    pub attempts: Vec<Attempt>,
    pub outcome: Outcome,
    /// The unit's last journal lines, captured when healing failed.
    pub journal: Vec<String>,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Incident {
    pub fn new(
        service: &crate::config::Service,
        detected: String,
        cause: Cause,
        at_ms: u64,
    ) -> Incident {
        Incident {
            id: format!("{}-{}", service.name, at_ms),
            service: service.name.to_string(),
            unit: service.unit.to_string(),
            domain: service.domain.clone(),
            port: service.port.map(|p| p.get()),
            detected_at_ms: at_ms,
            detected,
            cause,
            steps: Vec::new(),
            attempts: Vec::new(),
            outcome: Outcome::Open,
            journal: Vec::new(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.outcome == Outcome::Open
    }

    /// Detection to verified fix, for RESOLVED incidents.
    pub fn healing_time(&self) -> Option<Duration> {
        match self.outcome {
            Outcome::Resolved { at_ms, .. } => Some(Duration::from_millis(
                at_ms.saturating_sub(self.detected_at_ms),
            )),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.outcome {
            Outcome::Open => "open",
            Outcome::Resolved { .. } => "resolved",
            Outcome::Failed { .. } => "failed",
            Outcome::Flapping { .. } => "failed",
        }
    }
}

/// "2.4 seconds", "1 minute 5 seconds": how the reports spell a duration.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} seconds")
    } else {
        let s = d.as_secs();
        let (m, s) = (s / 60, s % 60);
        let unit = if m == 1 { "minute" } else { "minutes" };
        format!("{m} {unit} {s} seconds")
    }
}
