//! Delivery: one task per report channel (email and each of `notifications.channels`), each
//! draining its own outbox folder, so a channel that is down never delays another, email, or
//! healing. A task costs nothing at rest: it sleeps on its queue event (a report queued) with no
//! timer, and sets a timer only while a report waits, for that report's next try. Reports left
//! by an earlier run are looked for once at start.

use super::Shared;
use crate::config;
use crate::notify::channels::{HttpChannel, Mailer, Sender};
use crate::notify::outbox::Outbox;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// A channel's queue and what wakes its task.
pub struct Route {
    pub target: Target,
    pub outbox: Outbox,
    pub wakeup: Notify,
}

#[derive(Clone)]
pub enum Target {
    Email(config::Email),
    Channel(config::Channel),
}

impl Route {
    /// The queue's name: `email` or the channel's.
    pub fn queue(&self) -> &str {
        match &self.target {
            Target::Email(_) => crate::notify::queues::EMAIL,
            Target::Channel(c) => &c.name,
        }
    }

    /// The supervised task's name: `outbox` for email (as before channels), `outbox-NAME`.
    pub fn task_name(&self) -> String {
        match &self.target {
            Target::Email(_) => "outbox".into(),
            Target::Channel(c) => format!("outbox-{}", c.name),
        }
    }
}

/// Between two tries to set a channel up while it fails: from 5 s, doubling, at most a minute.
const SETUP_RETRY_MIN: Duration = Duration::from_secs(5);
const SETUP_RETRY_MAX: Duration = Duration::from_secs(60);
/// The shortest timer a waiting report sets (a due time in the past is tried at once after it).
const MIN_WAIT: Duration = Duration::from_millis(50);

pub(super) async fn run(sh: Arc<Shared>, index: usize, mut stop: watch::Receiver<bool>) {
    let route = &sh.routes[index];
    // Set up (TLS roots and all) when the first report waits, not at start: a host whose
    // services stay healthy never pays for it. A set-up that fails is retried with backoff,
    // and shown (status, heartbeat, metrics) until one works.
    let mut sender: Option<Sender> = None;
    let mut setup_failures = 0;
    let mut next_setup = tokio::time::Instant::now();
    // Look once at start for reports an earlier run left.
    let mut wait = Some(Duration::ZERO);
    loop {
        match wait {
            Some(d) => tokio::select! {
                _ = stop.changed() => return,
                _ = route.wakeup.notified() => {}
                _ = tokio::time::sleep(d) => {}
            },
            None => tokio::select! {
                _ = stop.changed() => return,
                _ = route.wakeup.notified() => {}
            },
        }
        if route.outbox.next_try().await.is_none() {
            wait = None;
            continue;
        }
        if sender.is_none() {
            let now = tokio::time::Instant::now();
            if now < next_setup {
                wait = Some(next_setup - now);
                continue;
            }
            let (target, host) = (route.target.clone(), sh.host.clone());
            let made = tokio::task::spawn_blocking(move || set_up(&target, &host))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            match made {
                Ok(s) => {
                    sender = Some(s);
                    setup_failures = 0;
                    super::setup_blocked(&sh, route.queue(), None);
                }
                Err(why) => {
                    // For email the daemon's own incident (status, heartbeat) until one works;
                    // for a channel shown the same way, under its name.
                    super::setup_blocked(&sh, route.queue(), Some(why.to_string()));
                    setup_failures += 1;
                    let pause =
                        crate::backoff::doubling(SETUP_RETRY_MIN, setup_failures, SETUP_RETRY_MAX);
                    wait = Some(pause);
                    next_setup = tokio::time::Instant::now() + pause;
                    continue;
                }
            }
        }
        if let Some(s) = &sender
            && route.outbox.deliver_due(s).await > 0
        {
            sh.count_outbox().await;
            sh.metrics_changed();
            // Delivery touched code (TLS, HTTP, SMTP) that rest does not need.
            sh.shed.soon();
        }
        wait = route.outbox.next_try().await.map(|due| {
            Duration::from_millis(due.saturating_sub(sh.ctx.clock.now_ms())).max(MIN_WAIT)
        });
    }
}

fn set_up(target: &Target, host: &str) -> Result<Sender, crate::notify::SetupError> {
    Ok(match target {
        Target::Email(e) => Sender::Email(Mailer::new(e, host)?),
        Target::Channel(c) => Sender::Http(HttpChannel::new(c)?),
    })
}

/// The routes of a configuration: email's queue is the outbox folder itself (where reports
/// queued before channels existed wait), each channel's `outbox/channel-NAME/`.
pub(super) fn routes(
    config: &config::Config,
    email_outbox: &Outbox,
    dir: &std::path::Path,
    clock: Arc<dyn crate::heal::clock::Clock>,
) -> std::io::Result<Vec<Route>> {
    let mut out = Vec::new();
    if let Some(e) = &config.email {
        out.push(Route {
            target: Target::Email(e.clone()),
            outbox: email_outbox.clone(),
            wakeup: Notify::new(),
        });
    }
    for c in &config.channels {
        out.push(Route {
            target: Target::Channel(c.clone()),
            outbox: Outbox::with_clock(
                &crate::notify::queues::channel_dir(dir, &c.name),
                clock.clone(),
            )?,
            wakeup: Notify::new(),
        });
    }
    Ok(out)
}

impl Shared {
    /// Renders a report about no incident (a host check, a certificate) and queues it on every
    /// route. With no route configured nothing is rendered (the journal has it); a report that
    /// cannot be rendered is logged.
    pub(crate) async fn report(
        &self,
        id: &str,
        about: &crate::notify::outbox::About,
        render: impl FnOnce()
            -> Result<crate::notify::report::Email, crate::notify::report::ReportError>,
    ) {
        if self.routes.is_empty() {
            return;
        }
        match render() {
            Ok(email) => self.queue_everywhere(id, &email, about).await,
            Err(e) => tracing::error!("cannot render report {id}: {e}"),
        }
    }

    /// Queues a report on every route and wakes each route's task; a queue that cannot be
    /// written is logged and does not stop the next.
    async fn queue_everywhere(
        &self,
        id: &str,
        email: &crate::notify::report::Email,
        about: &crate::notify::outbox::About,
    ) {
        for route in &self.routes {
            let queued = route
                .outbox
                .queue(id.to_string(), email.clone(), about.clone());
            match queued.await {
                Ok(_) => route.wakeup.notify_one(),
                Err(e) => {
                    tracing::error!("cannot queue report {id} for {}: {e}", route.task_name());
                }
            }
        }
        self.count_outbox().await;
    }
}
