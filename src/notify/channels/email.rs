//! Email: the SMTP client built from the validated settings (lettre, rustls), one `Channel`.

use crate::config;
use crate::notify::SendError;
use crate::notify::outbox::{Channel, Outgoing};
use crate::notify::report::Email;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

impl Channel for Mailer {
    fn describe(&self) -> String {
        "the mail server".into()
    }

    fn first_key(&self, id: &str) -> String {
        format!("<{id}@{}>", self.hostname)
    }

    async fn send(&self, out: &Outgoing<'_>) -> Result<String, SendError> {
        Mailer::send(self, out.email, out.key)
            .await
            .map(|()| "accepted".into())
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

    /// Sends `email` with this Message-ID (`<ID@host>`, see [`Channel::first_key`]).
    pub async fn send(&self, email: &Email, message_id: &str) -> Result<(), SendError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(&email.subject)
            .message_id(Some(message_id.to_string()))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            b = b.to(to.clone());
        }
        let msg = b.body(email.body.clone())?;
        self.transport.send(msg).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::outbox::tests::{email, make_due, outbox, run};
    use crate::notify::outbox::{About, Outbox};
    use std::sync::{Arc, Mutex};

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

    #[test]
    fn a_server_answering_garbage_keeps_the_report_for_the_next_try_with_a_short_error() {
        let stub = Stub::start(vec![After::Garbage]);
        let (ob, dir) = outbox("garbage");
        ob.enqueue("inc-1-resolved", &email(), &About::default())
            .unwrap();
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
        ob.enqueue("inc-1-resolved", &email(), &About::default())
            .unwrap();
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
        ob.enqueue("inc-1-failed", &email(), &About::default())
            .unwrap();
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
