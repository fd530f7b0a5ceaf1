//! The outbox: one queue folder per channel (email's is `outbox/`, each other channel's
//! `outbox/channel-NAME/`). Every report is written to disk first and deleted only once its
//! channel accepted it, so a server that is down for a minute (or a daemon restart) loses
//! nothing. Delivery is retried with exponential backoff; a late report says how late it is. A
//! `sent/` marker per report id keeps a report from being queued and sent twice. What a channel
//! is (SMTP, an HTTP service) is behind the `Channel` trait; the queue is the same for all.
//!
//! No protocol here can say whether a message the server stored was acknowledged: if the
//! daemon dies (or the connection breaks) after the server has it and before its answer is
//! read, the report is sent again. So before the first attempt a `sending/` marker records the
//! report's delivery key (email's Message-ID `<ID@host>`; the report id for HTTP channels, sent
//! as a header), and every attempt, after any restart, uses that same key: the possible
//! duplicate is one the receiver can recognise as the same message. Exactly once is not
//! possible without the server's help.
//!
//! The daemon's side (`queue`, `deliver_due`) does its file work (reads, writes, fsyncs,
//! removals) on the blocking pool, never on the runtime's one thread: a slow or failing disk
//! delays reports, not the workers' looks or the watchdog.

use super::report::Email;
use crate::heal::clock::{Clock, SystemClock};
use crate::heal::incident::human;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Reports later than this get a note saying how late they are.
const LATE_AFTER: Duration = Duration::from_secs(60);
/// Never longer between tries than this, so a report arrives within a minute of the
/// server's return however long it was down.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const SENT_MARKERS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

#[cfg(test)]
pub(crate) mod slow_disk;

/// What a report is about, for channels that carry more than its text (the webhook's JSON).
/// Empty in reports queued before channels existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    pub host: String,
    pub service: String,
    /// `RESOLVED` or `FAILED`; a host check's `WARNING`, `CRITICAL` or `RECOVERED` (its
    /// `service` is then the check's name, `disk space on /var`).
    pub outcome: ReportOutcome,
}

/// A report's outcome as its queue file and the webhook's JSON spell it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ReportOutcome {
    /// Not recorded (a report queued before channels existed): its subject says.
    #[default]
    None,
    Resolved,
    Failed,
    /// `test-notify`'s message.
    Test,
    /// A host check past its warning threshold, past its critical one, or back under both.
    Warning,
    Critical,
    Recovered,
}

impl ReportOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportOutcome::None => "",
            ReportOutcome::Resolved => "RESOLVED",
            ReportOutcome::Failed => "FAILED",
            ReportOutcome::Test => "TEST",
            ReportOutcome::Warning => "WARNING",
            ReportOutcome::Critical => "CRITICAL",
            ReportOutcome::Recovered => "RECOVERED",
        }
    }

    /// A word no version wrote reads as not recorded.
    pub fn parse(s: &str) -> ReportOutcome {
        match s {
            "RESOLVED" => ReportOutcome::Resolved,
            "FAILED" => ReportOutcome::Failed,
            "TEST" => ReportOutcome::Test,
            "WARNING" => ReportOutcome::Warning,
            "CRITICAL" => ReportOutcome::Critical,
            "RECOVERED" => ReportOutcome::Recovered,
            _ => ReportOutcome::None,
        }
    }
}

impl From<&str> for ReportOutcome {
    fn from(s: &str) -> ReportOutcome {
        ReportOutcome::parse(s)
    }
}

impl std::fmt::Display for ReportOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReportOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReportOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ReportOutcome, D::Error> {
        Ok(ReportOutcome::parse(&String::deserialize(d)?))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    /// The file's format (see `crate::formats`); written as this build's.
    #[serde(default = "crate::formats::unversioned")]
    pub format: u32,
    pub id: String,
    pub email: Email,
    #[serde(default)]
    pub about: About,
    pub created_ms: u64,
    pub attempts: u32,
    pub next_try_ms: u64,
    pub last_error: Option<String>,
}

#[derive(Clone)]
pub struct Outbox {
    dir: PathBuf,
    /// Queue times, backoff and lateness are read from it (the daemon's clock, a test's fake).
    clock: Arc<dyn Clock>,
}

impl Outbox {
    pub fn open(dir: &Path) -> io::Result<Outbox> {
        Outbox::with_clock(dir, Arc::new(SystemClock))
    }

    pub fn with_clock(dir: &Path, clock: Arc<dyn Clock>) -> io::Result<Outbox> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("sent"))?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("sending"))?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
            clock,
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Queues a report. Returns false when a report with this id is already queued or sent.
    pub fn enqueue(&self, id: &str, email: &Email, about: &About) -> io::Result<bool> {
        if self.path(id).exists() || self.dir.join("sent").join(id).exists() {
            return Ok(false);
        }
        let q = Queued {
            format: crate::formats::CURRENT,
            id: id.into(),
            email: email.clone(),
            about: about.clone(),
            created_ms: self.clock.now_ms(),
            attempts: 0,
            next_try_ms: 0,
            last_error: None,
        };
        self.write(&q)?;
        Ok(true)
    }

    /// [`Outbox::enqueue`] on the blocking pool.
    pub async fn queue(&self, id: String, email: Email, about: About) -> io::Result<bool> {
        self.on_disk(move |ob| ob.enqueue(&id, &email, &about))
            .await
    }

    /// When the earliest waiting report is due (ms since the epoch); None when none waits.
    /// Read only after a queue event or a due time: nothing reads the folder at rest.
    pub async fn next_try(&self) -> Option<u64> {
        self.on_disk(|ob| ob.pending().iter().map(|q| q.next_try_ms).min())
            .await
    }

    /// Runs file work on the blocking pool (a panic there is this task's panic).
    async fn on_disk<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Outbox) -> T + Send + 'static,
    ) -> T {
        let ob = self.clone();
        match tokio::task::spawn_blocking(move || work(&ob)).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Writes a report's file, in this build's format whatever it was read in.
    fn write(&self, q: &Queued) -> io::Result<()> {
        #[cfg(test)]
        let _slowed = slow_disk::writing(&self.dir, &q.id);
        let q = Queued {
            format: crate::formats::CURRENT,
            ..q.clone()
        };
        crate::state::write_atomic(&self.path(&q.id), &serde_json::to_vec_pretty(&q)?)
    }

    /// Reports not yet delivered, oldest first.
    /// True when a report waits in the queue (one directory read; nothing parsed).
    pub fn has_pending(&self) -> bool {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    }

    pub fn pending(&self) -> Vec<Queued> {
        waiting(&self.dir)
    }

    /// The delivery key (email's Message-ID) every attempt to send report `id` uses: the one
    /// recorded before its first attempt (whatever the host is called now), else `first`,
    /// recorded now.
    fn message_id(&self, id: &str, first: String) -> io::Result<(String, bool)> {
        let marker = self.dir.join("sending").join(id);
        if let Ok(recorded) = fs::read_to_string(&marker)
            && !recorded.trim().is_empty()
        {
            return Ok((recorded.trim().to_string(), true));
        }
        crate::state::write_atomic(&marker, first.as_bytes())?;
        Ok((first, false))
    }

    /// Tries every report that is due. Returns how many were delivered.
    pub async fn deliver_due(&self, channel: &impl Channel) -> usize {
        let mut sent = 0;
        for mut q in self.on_disk(|ob| ob.pending()).await {
            let now = self.clock.now_ms();
            if q.next_try_ms > now {
                continue;
            }
            let late = Duration::from_millis(now.saturating_sub(q.created_ms));
            let late_by = (late >= LATE_AFTER).then_some(late);
            let mut email = q.email.clone();
            if let Some(late) = late_by {
                email.body = format!(
                    "NOTE: this report is {} late: {} could not be reached when it was written.\n\n{}",
                    human(late),
                    channel.describe(),
                    email.body
                );
            }
            let (id, first) = (q.id.clone(), channel.first_key(&q.id));
            let Some(key) = self.on_disk(move |ob| ob.prepare(&id, first)).await else {
                continue;
            };
            let out = Outgoing {
                id: &q.id,
                key: &key,
                email: &email,
                about: &q.about,
                created_ms: q.created_ms,
                late_by,
            };
            match channel.send(&out).await {
                Ok(answer) => {
                    let id = q.id.clone();
                    self.on_disk(move |ob| ob.mark_sent(&id)).await;
                    tracing::info!(
                        report = q.id.as_str(),
                        attempts = q.attempts + 1,
                        "report {} sent to {} ({answer}): {}",
                        q.id,
                        channel.describe(),
                        email.subject
                    );
                    sent += 1;
                }
                Err(e) => {
                    q.attempts += 1;
                    let backoff = crate::backoff::doubling(FIRST_BACKOFF, q.attempts, MAX_BACKOFF);
                    q.next_try_ms = now + backoff.as_millis() as u64;
                    tracing::warn!(
                        report = q.id.as_str(),
                        "report {} not sent to {} (attempt {}), retrying in {:?}: {e}",
                        q.id,
                        channel.describe(),
                        q.attempts,
                        backoff
                    );
                    q.last_error = Some(e.to_string());
                    self.on_disk(move |ob| {
                        let _ = ob.write(&q);
                    })
                    .await;
                }
            }
        }
        self.on_disk(|ob| ob.prune_sent_markers()).await;
        sent
    }

    /// Before report `id` is sent: the delivery key to send it with, or None when it must not
    /// be sent now (sent before, its queue file not removed then; or its key cannot be
    /// recorded, without which a copy sent after a crash could not be recognised as the same
    /// message: better to wait and retry).
    fn prepare(&self, id: &str, first: String) -> Option<String> {
        if self.dir.join("sent").join(id).exists() {
            let _ = fs::remove_file(self.path(id));
            return None;
        }
        match self.message_id(id, first) {
            Ok((m, again)) => {
                if again {
                    tracing::info!(
                        report = id,
                        "report {id} is tried again under its first attempt's key {m}, so \
                         a copy an earlier attempt may have delivered is known as the same message"
                    );
                }
                Some(m)
            }
            Err(e) => {
                tracing::warn!(
                    report = id,
                    "report {id} not sent: cannot record its delivery key in {}: {e}",
                    self.dir.join("sending").display()
                );
                None
            }
        }
    }

    /// After the server accepted report `id`: never again, and its files go.
    fn mark_sent(&self, id: &str) {
        let _ = fs::write(self.dir.join("sent").join(id), b"");
        let _ = fs::remove_file(self.path(id));
        let _ = fs::remove_file(self.dir.join("sending").join(id));
    }

    fn prune_sent_markers(&self) {
        // A `sending/` marker outlives its report only if the daemon stopped right after the
        // report was marked sent.
        for e in fs::read_dir(self.dir.join("sending"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if self.dir.join("sent").join(e.file_name()).exists() {
                let _ = fs::remove_file(e.path());
            }
        }
        for e in fs::read_dir(self.dir.join("sent"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > SENT_MARKERS_KEPT);
            if old {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// The reports waiting in the outbox folder `dir`, oldest first: for readers (the heartbeat,
/// status), which must not create the folder.
pub fn waiting(dir: &Path) -> Vec<Queued> {
    let mut out: Vec<Queued> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&fs::read(e.path()).ok()?).ok())
        .collect();
    out.sort_by_key(|q| q.created_ms);
    out
}

/// At the daemon's start (and each reload), for queue folder `dir` (`describe` names its
/// channel): each waiting report of an earlier build's format is rewritten in this build's, and
/// said; one of a later build's is said and left as it is until its next attempt; one that
/// cannot be read at all is said (an error: this build will not deliver it) and left in place
/// for a person, never deleted. Returns what was said.
pub fn carry_over(dir: &Path, describe: &str) -> Vec<String> {
    let mut said = Vec::new();
    let files = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"));
    for path in files {
        let Ok(bytes) = fs::read(&path) else { continue };
        let q: Queued = match serde_json::from_slice(&bytes) {
            Ok(q) => q,
            Err(e) => {
                let text = format!(
                    "{}: a report waiting for {describe} cannot be read ({e}): left in place, \
                     and not delivered by this build",
                    path.display()
                );
                tracing::error!(event = "outbox_unreadable", "{text}");
                said.push(text);
                continue;
            }
        };
        let what = format!("a report waiting for {describe} ({})", q.id);
        let Some(note) = crate::formats::note(&path, &what, q.format) else {
            continue;
        };
        if !note.later {
            let rewritten = Queued {
                format: crate::formats::CURRENT,
                ..q
            };
            let json = serde_json::to_vec_pretty(&rewritten).map_err(io::Error::from);
            if let Err(e) = json.and_then(|j| crate::state::write_atomic(&path, &j)) {
                // Still readable as it is: delivered all the same, rewritten at its attempt.
                tracing::warn!(
                    "{}: cannot rewrite it in format {}: {e}",
                    path.display(),
                    crate::formats::CURRENT
                );
            }
        }
        note.log();
        said.push(note.text);
    }
    said
}

/// One report on its way out: its text (with a late note when it is late), what it is about,
/// and the key every attempt of it uses.
pub struct Outgoing<'a> {
    pub id: &'a str,
    pub key: &'a str,
    pub email: &'a Email,
    pub about: &'a About,
    pub created_ms: u64,
    pub late_by: Option<Duration>,
}

/// Something that delivers a rendered report: SMTP, an HTTP service (tests use a recorder).
pub trait Channel: Send + Sync {
    /// How reports and logs name it: "the mail server", "channel 'phone' (ntfy)".
    fn describe(&self) -> String;
    /// The delivery key report `id` gets when it is first sent (email's Message-ID).
    fn first_key(&self, id: &str) -> String;
    /// Delivers the report; Ok with what the server answered once it accepted it.
    fn send(
        &self,
        out: &Outgoing<'_>,
    ) -> impl Future<Output = Result<String, super::SendError>> + Send;
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Refuses the first `down` sends, as an unreachable server would, then records them.
    struct Recorder {
        down: Mutex<u32>,
        sent: Mutex<Vec<Email>>,
    }

    impl Channel for Recorder {
        fn describe(&self) -> String {
            "the mail server".into()
        }

        fn first_key(&self, id: &str) -> String {
            format!("<{id}@test>")
        }

        async fn send(&self, out: &Outgoing<'_>) -> Result<String, crate::notify::SendError> {
            let mut down = self.down.lock().unwrap();
            if *down > 0 {
                *down -= 1;
                return Err(crate::notify::SendError::Test("connection refused"));
            }
            self.sent.lock().unwrap().push(out.email.clone());
            Ok("250".into())
        }
    }

    pub(crate) fn email() -> Email {
        Email {
            subject: "✅ MiracleMax: example - RESOLVED".into(),
            body: "Service: example\n".into(),
        }
    }

    pub(crate) fn outbox(name: &str) -> (Outbox, PathBuf) {
        let dir = std::env::temp_dir().join(format!("mm-outbox-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        (Outbox::open(&dir).unwrap(), dir)
    }

    pub(crate) fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_failed_send_is_kept_and_retried_with_backoff_then_sent_once() {
        let (ob, dir) = outbox("retry");
        let r = Recorder {
            down: Mutex::new(1),
            sent: Mutex::new(vec![]),
        };
        assert!(
            ob.enqueue("inc-1-resolved", &email(), &About::default())
                .unwrap()
        );
        assert_eq!(run(ob.deliver_due(&r)), 0);
        let q = &ob.pending()[0];
        assert_eq!(
            (q.attempts, q.last_error.as_deref()),
            (1, Some("connection refused"))
        );
        assert!(
            q.next_try_ms >= crate::heal::incident::now_ms() + 4_000,
            "next try backs off about 5 s"
        );
        assert_eq!(run(ob.deliver_due(&r)), 0, "not due yet: no new attempt");
        assert_eq!(*r.down.lock().unwrap(), 0);

        // Make it due, as if the backoff had passed.
        let mut q = ob.pending().remove(0);
        q.next_try_ms = 0;
        ob.write(&q).unwrap();
        assert_eq!(run(ob.deliver_due(&r)), 1);
        assert!(ob.pending().is_empty());
        assert!(
            !ob.enqueue("inc-1-resolved", &email(), &About::default())
                .unwrap(),
            "a sent report is never queued again"
        );
        assert_eq!(r.sent.lock().unwrap().len(), 1);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_late_report_says_how_late_it_is() {
        let (ob, dir) = outbox("late");
        let r = Recorder {
            down: Mutex::new(0),
            sent: Mutex::new(vec![]),
        };
        ob.enqueue("inc-2-failed", &email(), &About::default())
            .unwrap();
        let mut q = ob.pending().remove(0);
        q.created_ms -= 185_000;
        ob.write(&q).unwrap();
        run(ob.deliver_due(&r));
        let body = r.sent.lock().unwrap()[0].body.clone();
        assert!(
            body.starts_with("NOTE: this report is 3 minutes 5 seconds late: the mail server could not be reached when it was written.\n\nService: example\n"),
            "{body}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_reports_outcome_is_written_and_read_as_before_an_empty_one_included() {
        for (word, outcome) in [
            ("RESOLVED", ReportOutcome::Resolved),
            ("FAILED", ReportOutcome::Failed),
            ("TEST", ReportOutcome::Test),
            ("", ReportOutcome::None),
        ] {
            let json = format!(r#"{{"host":"h","service":"s","outcome":"{word}"}}"#);
            let about: About = serde_json::from_str(&json).unwrap();
            assert_eq!(about.outcome, outcome);
            assert_eq!(serde_json::to_string(&about).unwrap(), json);
        }
        let old: About =
            serde_json::from_str(r#"{"host":"","service":"","outcome":"OPEN"}"#).unwrap();
        assert_eq!(old.outcome, ReportOutcome::None);
    }

    pub(crate) fn make_due(ob: &Outbox) {
        for mut q in ob.pending() {
            q.next_try_ms = 0;
            ob.write(&q).unwrap();
        }
    }
}
