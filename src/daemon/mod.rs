//! The daemon: one task per watched service (so one slow heal never delays another), a mail
//! task draining the outbox, and a main loop that answers systemd's watchdog, reloads the
//! configuration on SIGHUP (keeping the old one if the new one is invalid) and stops on SIGTERM.
//! `run` connects to the real host; `serve` is the loop itself, driven by whatever `System` and
//! stream of `Request`s it is given, so tests run it on a fake systemd without signals.

pub mod control;
#[cfg(test)]
pub(crate) mod fake;
mod look;
#[cfg(test)]
mod tests;
mod worker;

use crate::config::{self, Config};
use crate::heal::clock::{Clock, SystemClock};
use crate::heal::ladder::Ctx;
use crate::notify::outbox::{Mailer, Outbox};
use crate::probe::procs::{ProcTable, Processes};
use crate::state::Dirs;
use crate::systemd::{Systemd, Units};
use anyhow::{Context, Result};
use futures_util::{Stream, StreamExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};

/// Everything the service workers share for one configuration generation.
pub struct Shared {
    pub ctx: Ctx,
    pub config: Config,
    pub dirs: Dirs,
    pub state: Mutex<crate::state::State>,
    pub outbox: Outbox,
    pub mail_wakeup: Notify,
    pub host: String,
    pub ssh_target: String,
    pub template_dir: PathBuf,
}

impl Shared {
    /// Saves the state after `f` changed it. A failed save is logged, never fatal: healing
    /// goes on even on a full disk.
    pub fn update<R>(&self, f: impl FnOnce(&mut crate::state::State) -> R) -> R {
        let mut st = self.state.lock().expect("state lock poisoned");
        let r = f(&mut st);
        if let Err(e) = self.dirs.save_state(&st) {
            tracing::error!("cannot save {}: {e}", self.dirs.state().display());
        }
        r
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    pub template_dir: PathBuf,
}

pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The host the daemon acts on, as the three seams it reaches it through.
#[derive(Clone)]
pub(crate) struct System {
    pub units: Arc<dyn Units>,
    pub procs: Arc<dyn Processes>,
    pub clock: Arc<dyn Clock>,
}

/// What the main loop is asked to do (SIGHUP, SIGTERM/SIGINT in the daemon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Reload,
    Stop,
}

pub async fn run(opts: Options) -> Result<()> {
    let config = config::load(&opts.config_path)?;
    let dirs = Dirs::new(&opts.state_dir);
    dirs.create()
        .with_context(|| format!("cannot create {}", opts.state_dir.display()))?;
    let systemd = Systemd::connect().await?;
    systemd.subscribe().await?;
    let system = System {
        units: Arc::new(systemd),
        procs: Arc::new(ProcTable),
        clock: Arc::new(SystemClock),
    };
    serve(&opts, config, dirs, system, signals()?).await
}

/// SIGHUP asks for a reload; SIGTERM and SIGINT for a stop.
fn signals() -> std::io::Result<impl Stream<Item = Request> + Unpin> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(futures_util::stream::poll_fn(move |cx| {
        if hup.poll_recv(cx).is_ready() {
            return Poll::Ready(Some(Request::Reload));
        }
        if term.poll_recv(cx).is_ready() || int.poll_recv(cx).is_ready() {
            return Poll::Ready(Some(Request::Stop));
        }
        Poll::Pending
    }))
}

/// The main loop: workers for one configuration generation until a reload or a stop (or the
/// end of `requests`), then the next generation or the end. `dirs` exists.
pub(crate) async fn serve(
    opts: &Options,
    mut config: Config,
    dirs: Dirs,
    system: System,
    mut requests: impl Stream<Item = Request> + Unpin,
) -> Result<()> {
    let started = system.clock.now_ms();
    let mut first = true;

    loop {
        let shared = Arc::new(build_shared(
            &config,
            &system,
            &dirs,
            &opts.template_dir,
            started,
        )?);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for svc in &config.services {
            tasks.push(tokio::spawn(worker::run(
                shared.clone(),
                svc.clone(),
                stop_rx.clone(),
            )));
        }
        tasks.push(tokio::spawn(mail_loop(shared.clone(), stop_rx.clone())));
        let status = format!("watching {} service(s)", config.services.len());
        let _ = sd_notify::notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&status),
        ]);
        tracing::info!(
            event = "started",
            "{} {status}",
            if first {
                "started,"
            } else {
                "configuration reloaded,"
            }
        );
        first = false;

        let beat = sd_notify::watchdog_enabled()
            .map(|d| d / 2)
            .unwrap_or(Duration::from_secs(10))
            .min(config.limits.check_interval);
        let mut ticker = tokio::time::interval(beat);
        let reload = loop {
            tokio::select! {
                _ = ticker.tick() => alive(&dirs),
                request = requests.next() => match request {
                    Some(Request::Reload) => match config::load(&opts.config_path) {
                        Ok(new) => {
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, sd_notify::NotifyState::monotonic_usec_now()?]);
                            config = new;
                            break true;
                        }
                        Err(e) => {
                            for line in e.to_string().lines() {
                                tracing::error!(event = "reload_rejected", "configuration not reloaded, keeping the running one: {line}");
                            }
                        }
                    },
                    Some(Request::Stop) | None => break false,
                },
            }
        };
        let _ = stop_tx.send(true);
        // A heal in progress finishes first; systemd's watchdog keeps hearing from us meanwhile.
        let mut all = std::pin::pin!(futures_util::future::join_all(tasks));
        loop {
            tokio::select! {
                _ = &mut all => break,
                _ = ticker.tick() => alive(&dirs),
            }
        }
        if !reload {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            tracing::info!(event = "stopped", "stopped");
            return Ok(());
        }
    }
}

/// Tells systemd's watchdog and the heartbeat (through the liveness stamp) that we are looping.
fn alive(dirs: &Dirs) {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
    if let Err(e) = dirs.touch_alive() {
        tracing::error!("cannot write {}: {e}", dirs.alive().display());
    }
}

fn build_shared(
    config: &Config,
    system: &System,
    dirs: &Dirs,
    template_dir: &Path,
    started: u64,
) -> Result<Shared> {
    let mut state = match dirs.load_state() {
        Ok(s) => s,
        Err(e) => {
            // A damaged state file must not keep the healer down: keep it aside and start fresh.
            let aside = dirs
                .state()
                .with_extension(format!("damaged.{}", system.clock.now_ms()));
            let _ = std::fs::rename(dirs.state(), &aside);
            tracing::error!(
                event = "state_reset",
                "{e}; moved to {} and starting with a fresh state",
                aside.display()
            );
            crate::state::State::default()
        }
    };
    state.daemon_pid = std::process::id();
    state.daemon_started_ms = started;
    // Services no longer configured leave the state; the others keep their history.
    state
        .services
        .retain(|name, _| config.service(name).is_some());
    let host = config.host.clone().unwrap_or_else(hostname);
    let shared = Shared {
        ctx: Ctx {
            units: system.units.clone(),
            procs: system.procs.clone(),
            clock: system.clock.clone(),
            http: crate::probe::http::client(),
            limits: config.limits.clone(),
            protected: config.protected_processes.clone(),
        },
        config: config.clone(),
        outbox: Outbox::with_clock(&dirs.outbox(), system.clock.clone())?,
        dirs: dirs.clone(),
        state: Mutex::new(state),
        mail_wakeup: Notify::new(),
        ssh_target: config
            .ssh_target
            .clone()
            .unwrap_or_else(|| format!("root@{host}")),
        host,
        template_dir: template_dir.to_path_buf(),
    };
    shared.update(|_| ());
    Ok(shared)
}

async fn mail_loop(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let Some(email) = &sh.config.email else {
        return;
    };
    let mailer = match Mailer::new(email, &sh.host) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(
                event = "mail_setup_failed",
                "reports stay in the outbox: {e}"
            );
            return;
        }
    };
    loop {
        sh.outbox.deliver_due(&mailer).await;
        tokio::select! {
            _ = stop.changed() => return,
            _ = sh.mail_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
