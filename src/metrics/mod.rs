//! Metrics for Prometheus without a new port: a text file for node_exporter's textfile
//! collector (`metrics.textfile` in the configuration; none when it is not set). The daemon
//! keeps its figures in memory (counters and histograms since it started, what the last look
//! at each service found) and renders the file from them and its state only when something
//! happened: a state change (the daemon writes its state file then anyway), a service going up
//! or down, a pause starting or ending, a report leaving the outbox. The text is compared
//! with the last one written and written only when it differs, by the state writer, off the
//! runtime thread (temporary file beside it, rename, mode 0644). No timer, no thread, nothing
//! per metric: a healthy host at rest writes nothing.
//!
//! Probe latency changes at every look, so it is kept in memory and goes out with the next
//! write. Latency alone writes only when a service's look and the look before it both moved a
//! lot from the value in the file (by more than `LATENCY_JUMP_SECS` and half of it); the write
//! then waits one check interval, so that every service has looked once and one write carries
//! all their latencies, and at most one such write goes out per `LATENCY_WRITE_GAP`. A probe
//! that turns slow shows within three looks, at most once a minute; neither the jitter of a
//! healthy probe nor one slow look on a busy host writes. Start-up is the case this is for:
//! every service's first look runs at once, and its latency measures the start, not the
//! service, so the second looks all differ from the file; gathered, they make one write
//! within the first two intervals instead of one a minute after the host came to rest.

pub mod exposition;

use crate::config::Config;
use crate::heal::incident::{Incident, Outcome};
use crate::state::State;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the detection and healing time histograms' buckets.
pub const BUCKETS: [f64; 10] = [0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// How an incident ends, as `miraclemax_heals_total{outcome}` says.
pub const OUTCOMES: [&str; 3] = ["resolved", "failed", "flapping"];
/// A probe latency this far (and half of it) from the written one is worth a write.
pub const LATENCY_JUMP_SECS: f64 = 0.1;
/// At most one write a minute for probe latency alone.
pub const LATENCY_WRITE_GAP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations per bucket of `BUCKETS` (not cumulative; the text makes them so).
    pub counts: [u64; BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|le| secs <= *le) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFigures {
    /// What the last look found (`None` before the first).
    pub up: Option<bool>,
    pub paused: bool,
    /// The last look's duration (in memory; in the file as of the last write).
    pub probe_seconds: Option<f64>,
    /// `probe_seconds` as the file last written says.
    pub probe_written: Option<f64>,
    /// The last look's latency was a jump from `probe_written` (one alone is not written).
    pub jumped: bool,
    /// When (ms) a look first found the service wrong, while it still is.
    pub wrong_since_ms: Option<u64>,
    /// Closed incidents by (outcome, strategy).
    pub heals: BTreeMap<(String, String), u64>,
    /// Strategies run by (strategy, ok).
    pub attempts: BTreeMap<(String, bool), u64>,
    pub detection: Histogram,
    pub healing: Histogram,
}

impl ServiceFigures {
    pub fn heals_of(&self, outcome: &str, strategy: &str) -> u64 {
        self.heals
            .get(&(outcome.to_string(), strategy.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn attempts_of(&self, strategy: &str, ok: bool) -> u64 {
        self.attempts
            .get(&(strategy.to_string(), ok))
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub daemon_up: bool,
    pub watchdog_fed: bool,
    /// Reports in each queue of the outbox (by queue name: `email`, a channel's), once counted.
    pub outbox_depth: Option<BTreeMap<String, usize>>,
    pub services: BTreeMap<String, ServiceFigures>,
}

impl Default for Figures {
    fn default() -> Self {
        Figures {
            daemon_up: true,
            watchdog_fed: true,
            outbox_depth: None,
            services: BTreeMap::new(),
        }
    }
}

impl Figures {
    fn service(&mut self, name: &str) -> &mut ServiceFigures {
        self.services.entry(name.to_string()).or_default()
    }

    /// One look's findings; whether they are worth writing now. `now_ms` is the daemon's clock.
    pub fn look(
        &mut self,
        name: &str,
        up: bool,
        paused: bool,
        took: Duration,
        now_ms: u64,
    ) -> Look {
        let s = self.service(name);
        let changed = s.up != Some(up) || s.paused != paused;
        s.up = Some(up);
        s.paused = paused;
        if up || paused {
            // A failure during a pause is not one the daemon was slow to detect.
            s.wrong_since_ms = None;
        } else {
            s.wrong_since_ms.get_or_insert(now_ms);
        }
        let secs = took.as_secs_f64();
        s.probe_seconds = Some(secs);
        let jumped = s
            .probe_written
            .is_none_or(|w| (secs - w).abs() > LATENCY_JUMP_SECS.max(w / 2.0));
        // Two looks in a row: one slow look alone (the host busy for a moment) is noise.
        let persists = jumped && (s.jumped || s.probe_written.is_none());
        s.jumped = jumped;
        match (changed, persists) {
            (true, _) => Look::Changed,
            (false, true) => Look::LatencyJumped,
            (false, false) => Look::Same,
        }
    }

    /// A closed incident: its outcome, the strategies run, detection and healing times.
    pub fn closed(&mut self, inc: &Incident) {
        let s = self.service(&inc.service);
        let (outcome, strategy) = match &inc.outcome {
            Outcome::Resolved { strategy, .. } => ("resolved", strategy.as_str()),
            Outcome::Failed { .. } => ("failed", "none"),
            Outcome::Flapping { .. } => ("flapping", "none"),
            Outcome::Open => return,
        };
        *s.heals
            .entry((outcome.to_string(), strategy.to_string()))
            .or_default() += 1;
        for a in &inc.attempts {
            *s.attempts.entry((a.strategy.clone(), a.ok)).or_default() += 1;
        }
        if let Some(since) = s.wrong_since_ms.take() {
            let secs = inc.detected_at_ms.saturating_sub(since) as f64 / 1000.0;
            s.detection.observe(secs);
        }
        if let Some(d) = inc.healing_time() {
            s.healing.observe(d.as_secs_f64());
        }
    }
}

/// What a look changed, for the write decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Same,
    LatencyJumped,
    Changed,
}

/// The daemon's metrics file: the figures, and what was last handed to the writer.
pub struct Metrics {
    pub path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    figures: Figures,
    /// A hash of the text last handed to the writer: the text itself would keep a copy of the
    /// whole file (hundreds of KiB on a large host) only to compare against.
    written: Option<u64>,
    /// When (daemon clock, ms) probe latency alone last caused a write.
    latency_written_ms: Option<u64>,
    /// Since when (daemon clock, ms) a latency write has been waiting for the others' looks.
    latency_pending_ms: Option<u64>,
}

impl Metrics {
    pub fn new(path: PathBuf) -> Metrics {
        Metrics {
            path,
            inner: Mutex::default(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the figures; nothing is rendered.
    pub fn with<R>(&self, f: impl FnOnce(&mut Figures) -> R) -> R {
        f(&mut self.inner().figures)
    }

    /// A look's findings: whether the file should be rendered again now. `gather` is the
    /// check interval: how long a latency write waits for the other services' looks.
    pub fn look(
        &self,
        name: &str,
        up: bool,
        paused: bool,
        took: Duration,
        now_ms: u64,
        gather: Duration,
    ) -> bool {
        let mut inner = self.inner();
        match inner.figures.look(name, up, paused, took, now_ms) {
            Look::Changed => return true,
            Look::LatencyJumped => {
                inner.latency_pending_ms.get_or_insert(now_ms);
            }
            Look::Same => {}
        }
        let Some(since) = inner.latency_pending_ms else {
            return false;
        };
        let gathered = now_ms.saturating_sub(since) >= gather.as_millis() as u64;
        let spaced = inner
            .latency_written_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= LATENCY_WRITE_GAP.as_millis() as u64);
        let due = gathered && spaced;
        if due {
            inner.latency_written_ms = Some(now_ms);
        }
        due
    }

    /// The text to write, if it differs from the last one handed out.
    pub fn render(&self, config: &Config, state: &State) -> Option<String> {
        let mut inner = self.inner();
        let text = exposition::render(config, state, &inner.figures);
        // Whatever the write is for, it carries every latency: none is waiting any more.
        inner.latency_pending_ms = None;
        let hash = crate::state::fingerprint(text.as_str());
        if inner.written == Some(hash) {
            return None;
        }
        inner.written = Some(hash);
        for s in inner.figures.services.values_mut() {
            s.probe_written = s.probe_seconds;
        }
        Some(text)
    }
}
