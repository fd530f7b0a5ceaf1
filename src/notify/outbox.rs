//! The outbox: every report is written to disk first and deleted only once the SMTP server has
//! accepted it, so a mail server that is down for a minute (or a daemon restart) loses nothing.
//! Delivery is retried with exponential backoff; a late report says how late it is. A `sent/`
//! marker per report id keeps a report from being queued and sent twice.
//!
//! SMTP cannot say whether a message the server stored was acknowledged: if the daemon dies
//! (or the connection breaks) after the server has the message and before its `250` is read,
//! the report is sent again. So before the first attempt a `sending/` marker records the
//! report's Message-ID (`<ID@host>`), and every attempt, after any restart, uses that same
//! Message-ID: the possible duplicate is one mail clients and list servers recognise as the
//! same message. Exactly once is not possible without the server's help.
//!
//! The daemon's side (`queue`, `deliver_due`) does its file work (reads, writes, fsyncs,
//! removals) on the blocking pool, never on the runtime's one thread: a slow or failing disk
//! delays reports, not the workers' looks or the watchdog.

use super::report::Email;
use crate::config;
use crate::heal::clock::{Clock, SystemClock};
use crate::heal::incident::human;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Reports later than this get a note saying how late they are.
const LATE_AFTER: Duration = Duration::from_secs(60);
/// Never longer between tries than this, so a report arrives within a minute of the mail
/// server's return however long it was down.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const SENT_MARKERS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

#[cfg(test)]
pub(crate) mod slow_disk;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    pub id: String,
    pub email: Email,
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
    pub fn enqueue(&self, id: &str, email: &Email) -> io::Result<bool> {
        if self.path(id).exists() || self.dir.join("sent").join(id).exists() {
            return Ok(false);
        }
        let q = Queued {
            id: id.into(),
            email: email.clone(),
            created_ms: self.clock.now_ms(),
            attempts: 0,
            next_try_ms: 0,
            last_error: None,
        };
        self.write(&q)?;
        Ok(true)
    }

    /// [`Outbox::enqueue`] on the blocking pool.
    pub async fn queue(&self, id: String, email: Email) -> io::Result<bool> {
        self.on_disk(move |ob| ob.enqueue(&id, &email)).await
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

    fn write(&self, q: &Queued) -> io::Result<()> {
        #[cfg(test)]
        let _slowed = slow_disk::writing(&self.dir, &q.id);
        crate::state::write_atomic(&self.path(&q.id), &serde_json::to_vec_pretty(q)?)
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

    /// The Message-ID every attempt to send report `id` uses: the one recorded before its
    /// first attempt (whatever the host is called now), else `first`, recorded now.
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
    pub async fn deliver_due(&self, mailer: &impl Deliver) -> usize {
        let mut sent = 0;
        for mut q in self.on_disk(|ob| ob.pending()).await {
            let now = self.clock.now_ms();
            if q.next_try_ms > now {
                continue;
            }
            let late = Duration::from_millis(now.saturating_sub(q.created_ms));
            let mut email = q.email.clone();
            if late >= LATE_AFTER {
                email.body = format!(
                    "NOTE: this report is {} late: the mail server could not be reached when it was written.\n\n{}",
                    human(late),
                    email.body
                );
            }
            let (id, first) = (q.id.clone(), mailer.message_id(&q.id));
            let Some(message_id) = self.on_disk(move |ob| ob.prepare(&id, first)).await else {
                continue;
            };
            match mailer.send(&email, &message_id).await {
                Ok(()) => {
                    let id = q.id.clone();
                    self.on_disk(move |ob| ob.mark_sent(&id)).await;
                    tracing::info!(
                        report = q.id.as_str(),
                        attempts = q.attempts + 1,
                        "report {} sent: {}",
                        q.id,
                        email.subject
                    );
                    sent += 1;
                }
                Err(e) => {
                    q.attempts += 1;
                    let backoff = Duration::from_secs(5 * 2u64.pow((q.attempts - 1).min(10)))
                        .min(MAX_BACKOFF);
                    q.next_try_ms = now + backoff.as_millis() as u64;
                    tracing::warn!(
                        report = q.id.as_str(),
                        "report {} not sent (attempt {}), retrying in {:?}: {e}",
                        q.id,
                        q.attempts,
                        backoff
                    );
                    q.last_error = Some(e);
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

    /// Before report `id` is sent: the Message-ID to send it with, or None when it must not be
    /// sent now (sent before, its queue file not removed then; or its Message-ID cannot be
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
                        "report {id} is sent again with its first attempt's Message-ID {m} \
                         (an earlier attempt may have reached the mail server)"
                    );
                }
                Some(m)
            }
            Err(e) => {
                tracing::warn!(
                    report = id,
                    "report {id} not sent: cannot record its Message-ID in {}: {e}",
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

/// Something that delivers a rendered report (the SMTP client; tests use a recorder).
pub trait Deliver {
    /// The Message-ID report `id` gets when it is first sent.
    fn message_id(&self, id: &str) -> String;
    fn send(
        &self,
        email: &Email,
        message_id: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

impl Deliver for Mailer {
    fn message_id(&self, id: &str) -> String {
        format!("<{id}@{}>", self.hostname)
    }

    async fn send(&self, email: &Email, message_id: &str) -> Result<(), String> {
        Mailer::send(self, email, message_id).await
    }
}

/// An SMTP client built from the validated email settings.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    hostname: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("notifications.email: address '{0}' cannot be used: {1}")]
    Address(String, String),
    #[error("notifications.email: cannot read password_file {0}: {1}")]
    Password(PathBuf, io::Error),
    #[error("notifications.email: SMTP setup for {0} failed: {1}")]
    Smtp(String, String),
}

impl Mailer {
    pub fn new(cfg: &config::Email, hostname: &str) -> Result<Mailer, MailerError> {
        let mailbox = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| MailerError::Address(a.into(), e.to_string()))
        };
        let smtp_err = |e: lettre::transport::smtp::Error| {
            MailerError::Smtp(cfg.smtp_host.clone(), e.to_string())
        };
        let builder = match cfg.tls {
            config::TlsMode::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host)
            }
            config::TlsMode::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.smtp_host)
                    .map_err(smtp_err)?
            }
            config::TlsMode::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.smtp_host).map_err(smtp_err)?
            }
        };
        let mut builder = builder
            .port(cfg.smtp_port)
            .timeout(Some(Duration::from_secs(15)));
        if let (Some(user), Some(file)) = (&cfg.username, &cfg.password_file) {
            let password =
                fs::read_to_string(file).map_err(|e| MailerError::Password(file.clone(), e))?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.trim_end_matches(['\r', '\n']).to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: mailbox(&cfg.from)?,
            to: cfg
                .to
                .iter()
                .map(|a| mailbox(a))
                .collect::<Result<_, _>>()?,
            hostname: hostname.to_string(),
        })
    }

    /// Sends `email` with this Message-ID (`<ID@host>`, see [`Deliver::message_id`]).
    pub async fn send(&self, email: &Email, message_id: &str) -> Result<(), String> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(&email.subject)
            .message_id(Some(message_id.to_string()))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            b = b.to(to.clone());
        }
        let msg = b.body(email.body.clone()).map_err(|e| e.to_string())?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Refuses the first `down` sends, as an unreachable server would, then records them.
    struct Recorder {
        down: Mutex<u32>,
        sent: Mutex<Vec<Email>>,
    }

    impl Deliver for Recorder {
        fn message_id(&self, id: &str) -> String {
            format!("<{id}@test>")
        }

        async fn send(&self, email: &Email, _message_id: &str) -> Result<(), String> {
            let mut down = self.down.lock().unwrap();
            if *down > 0 {
                *down -= 1;
                return Err("connection refused".into());
            }
            self.sent.lock().unwrap().push(email.clone());
            Ok(())
        }
    }

    fn email() -> Email {
        Email {
            subject: "✅ MiracleMax: example - RESOLVED".into(),
            body: "Service: example\n".into(),
        }
    }

    fn outbox(name: &str) -> (Outbox, PathBuf) {
        let dir = std::env::temp_dir().join(format!("mm-outbox-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        (Outbox::open(&dir).unwrap(), dir)
    }

    fn run<F: Future>(f: F) -> F::Output {
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
        assert!(ob.enqueue("inc-1-resolved", &email()).unwrap());
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
            !ob.enqueue("inc-1-resolved", &email()).unwrap(),
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
        ob.enqueue("inc-2-failed", &email()).unwrap();
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

    /// What the stub SMTP server does with one connection once it has the whole message.
    #[derive(Clone, Copy, Debug)]
    enum After {
        /// 250, then 221 to QUIT.
        Reply,
        /// Stores it and never answers, as a server does while the daemon is killed mid-exchange.
        Hang,
        /// 250, then closes without answering QUIT.
        DropAtQuit,
        /// Answers EHLO with a megabyte of bytes that are not SMTP, then closes.
        Garbage,
    }

    /// An SMTP server on 127.0.0.1 that stores every message whose DATA it received (before it
    /// answers), each connection behaving as the next scripted `After` says (then `Reply`).
    struct Stub {
        port: u16,
        stored: Arc<Mutex<Vec<String>>>,
    }

    impl Stub {
        fn start(script: Vec<After>) -> Stub {
            use std::io::{BufRead, BufReader, Write};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let stored = Arc::new(Mutex::new(Vec::new()));
            let (store, script) = (stored.clone(), Arc::new(Mutex::new(script)));
            std::thread::spawn(move || {
                for conn in listener.incoming().flatten() {
                    let after = {
                        let mut s = script.lock().unwrap();
                        if s.is_empty() {
                            After::Reply
                        } else {
                            s.remove(0)
                        }
                    };
                    let store = store.clone();
                    std::thread::spawn(move || {
                        let mut w = conn.try_clone().unwrap();
                        let mut r = BufReader::new(conn);
                        let _ = w.write_all(b"220 stub ESMTP\r\n");
                        let mut line = String::new();
                        while r.read_line(&mut line).unwrap_or(0) > 0 {
                            let cmd = line.to_ascii_uppercase();
                            line.clear();
                            let reply: &[u8] = if cmd.starts_with("EHLO")
                                && let After::Garbage = after
                            {
                                let junk = [0xff_u8, b'?', 0, b'\r', b'\n', b'x'].repeat(180_000);
                                let _ = w.write_all(&junk);
                                return;
                            } else if cmd.starts_with("EHLO") {
                                b"250-stub\r\n250 8BITMIME\r\n"
                            } else if cmd.starts_with("DATA") {
                                let _ = w.write_all(b"354 go on\r\n");
                                let mut msg = String::new();
                                while r.read_line(&mut line).unwrap_or(0) > 0 && line != ".\r\n" {
                                    msg.push_str(&line);
                                    line.clear();
                                }
                                line.clear();
                                store.lock().unwrap().push(msg);
                                match after {
                                    After::Hang => {
                                        std::thread::sleep(Duration::from_secs(30));
                                        return;
                                    }
                                    After::Reply | After::DropAtQuit | After::Garbage => {
                                        b"250 queued\r\n"
                                    }
                                }
                            } else if cmd.starts_with("QUIT") {
                                if let After::DropAtQuit = after {
                                    return;
                                }
                                let _ = w.write_all(b"221 bye\r\n");
                                return;
                            } else {
                                b"250 ok\r\n"
                            };
                            let _ = w.write_all(reply);
                        }
                    });
                }
            });
            Stub { port, stored }
        }

        fn message_ids(&self) -> Vec<String> {
            self.stored
                .lock()
                .unwrap()
                .iter()
                .map(|m| {
                    m.lines()
                        .find_map(|l| l.strip_prefix("Message-ID: "))
                        .unwrap_or("(none)")
                        .to_string()
                })
                .collect()
        }
    }

    fn mailer(port: u16, host: &str) -> Mailer {
        let cfg = config::Email {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            tls: config::TlsMode::None,
            username: None,
            password_file: None,
            from: "miraclemax@lab1.example.org".into(),
            to: vec!["ops@example.org".into()],
        };
        Mailer::new(&cfg, host).unwrap()
    }

    fn make_due(ob: &Outbox) {
        for mut q in ob.pending() {
            q.next_try_ms = 0;
            ob.write(&q).unwrap();
        }
    }

    #[test]
    fn a_server_answering_garbage_keeps_the_report_for_the_next_try_with_a_short_error() {
        let stub = Stub::start(vec![After::Garbage]);
        let (ob, dir) = outbox("garbage");
        ob.enqueue("inc-1-resolved", &email()).unwrap();
        let m = mailer(stub.port, "lab1");
        assert_eq!(run(ob.deliver_due(&m)), 0);
        let q = &ob.pending()[0];
        let error = q.last_error.clone().unwrap_or_default();
        assert_eq!(q.attempts, 1);
        assert!(!error.is_empty() && error.len() < 300, "{error}");
        make_due(&ob);
        assert_eq!(
            run(ob.deliver_due(&m)),
            1,
            "the next try, to a sane server, sends it"
        );
        assert_eq!(stub.message_ids(), ["<inc-1-resolved@lab1>"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_report_the_server_accepted_is_sent_once_even_if_the_connection_drops_at_quit() {
        let stub = Stub::start(vec![After::DropAtQuit]);
        let (ob, dir) = outbox("quit");
        ob.enqueue("inc-1-resolved", &email()).unwrap();
        let m = mailer(stub.port, "lab1");
        assert_eq!(
            run(ob.deliver_due(&m)),
            1,
            "the server said 250 to the message"
        );
        make_due(&ob);
        run(ob.deliver_due(&m));
        assert_eq!(stub.message_ids(), ["<inc-1-resolved@lab1>"]);
        assert!(dir.join("sent").join("inc-1-resolved").exists());
        assert!(ob.pending().is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_report_cut_off_by_a_crash_inside_the_smtp_exchange_is_resent_once_with_the_same_message_id()
     {
        let stub = Stub::start(vec![After::Hang]);
        let (ob, dir) = outbox("crash");
        ob.enqueue("inc-1-failed", &email()).unwrap();
        // The daemon dies while the server holds the message and has not answered yet.
        let crashed = run(async {
            tokio::time::timeout(
                Duration::from_millis(1500),
                ob.deliver_due(&mailer(stub.port, "lab1")),
            )
            .await
        });
        assert!(crashed.is_err(), "the exchange was cut off");
        assert_eq!(stub.message_ids().len(), 1, "the server stored it anyway");

        // systemd restarts it, after a reboot that renamed the host.
        let ob = Outbox::open(&dir).unwrap();
        let m = mailer(stub.port, "lab1.example.org");
        assert_eq!(run(ob.deliver_due(&m)), 1);
        make_due(&ob);
        run(ob.deliver_due(&m));
        assert_eq!(
            stub.message_ids(),
            ["<inc-1-failed@lab1>", "<inc-1-failed@lab1>"],
            "at most one duplicate, with the same Message-ID, so a mail client shows one"
        );
        assert!(dir.join("sent").join("inc-1-failed").exists());
        assert!(!dir.join("sending").join("inc-1-failed").exists());
        assert!(ob.pending().is_empty());
        fs::remove_dir_all(dir).unwrap();
    }
}
