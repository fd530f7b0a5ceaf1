//! The daemon: one task per watched service (so one slow heal never delays another), one
//! delivery task per report channel (`deliver`), and a main loop that supervises them, answers systemd's watchdog,
//! reloads the configuration on SIGHUP (keeping the old one if the new one is invalid) and
//! stops on SIGTERM. It fails loudly: a worker that panics is logged, recorded as the daemon's
//! own event and restarted after a pause, and if the same worker panics `PANICS_BEFORE_EXIT`
//! times within `PANIC_WINDOW` the daemon exits non-zero so systemd restarts it; the watchdog
//! is fed only while every worker shows progress (`progress`).
//! `run` connects to the real host; `serve` is the loop itself, driven by whatever `System` and
//! stream of `Request`s it is given, so tests run it on a fake systemd without signals.

pub(crate) mod bus;
mod cert_watch;
pub mod control;
mod deliver;
mod error;
#[cfg(test)]
pub(crate) mod fake;
mod grid;
mod host_watch;
mod limit_alert;
mod look;
mod persist;
mod progress;
mod shed;
pub use error::DaemonError;
pub use shed::single_heap;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_channels;
mod worker;

use crate::config::{self, Config};
use crate::heal::clock::{Clock, SystemClock};
use crate::heal::ladder::Ctx;
use crate::heal::turns::Turns;
use crate::metrics::Metrics;
use crate::notify::outbox::Outbox;
use crate::probe::procs::{ProcTable, Processes};
use crate::state::{DAEMON_EVENTS, Dirs, Event, ServiceState, State, WorkerPanic};
use crate::systemd::{Systemd, Units};
use bus::{Limited, Rebuild, Reconnect};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use persist::Persist;
use progress::Progress;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

/// A worker that panics this many times within `PANIC_WINDOW` makes the daemon exit non-zero,
/// so systemd restarts it (`Restart=always`) with fresh state; fewer panics restart the worker
/// after a pause of the check interval (at most a second), doubling each time.
pub const PANICS_BEFORE_EXIT: u32 = 3;
pub const PANIC_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The name of the daemon's blocking-pool threads (its one other thread is the runtime's).
pub const BLOCKING_THREADS: &str = "miraclemax-io";
/// At most this many of them at once. Each thread that ever ran leaves its stack in glibc's
/// cache of stacks, about 24 KiB of it resident, for the process's life: with tokio's default
/// (512), start-up's burst of first looks at 500 services left some thirty. Every blocking task
/// is short (a file, a /proc read, a socket query); more wait their turn for a moment.
pub const BLOCKING_THREADS_MAX: usize = 8;

/// Everything the service workers share for one configuration generation.
pub struct Shared {
    pub ctx: Ctx,
    pub config: Config,
    pub dirs: Dirs,
    pub state: Mutex<State>,
    /// Email's queue (also its route's, when email is configured).
    pub outbox: Outbox,
    /// Where reports leave: email, then each channel, each with its own queue and task.
    pub routes: Vec<deliver::Route>,
    pub host: String,
    pub ssh_target: String,
    pub template_dir: PathBuf,
    /// systemd, with at most `bus::IN_FLIGHT` calls in flight (the same as `ctx.units`).
    bus: Arc<Limited>,
    persist: Persist,
    /// A hash of what was last handed to `persist`: a copy of the state to compare against
    /// would double what hundreds of services' entries take.
    saved: Mutex<Option<u64>>,
    progress: Progress,
    rebuild: Rebuild,
    reconnect: Arc<dyn Reconnect>,
    /// Set when the daemon must exit (and be restarted by systemd): why.
    fatal: Mutex<Option<String>>,
    /// The metrics file's figures, when `metrics.textfile` is set (kept across reloads).
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// When to give back the program pages that start-up or the last incident touched.
    shed: shed::Shed,
    /// The operator's control folder (one for every worker), and its requests as last read
    /// (`Job::Requests` reads them once per interval).
    pub(crate) control: control::Control,
    pub(crate) requests: Mutex<control::Requests>,
    /// Where the timers at rest fall, so that looks due together wake the process once.
    grid: grid::Grid,
    /// When the liveness stamp's time was last moved (`stamp_alive`).
    stamped: Mutex<Option<tokio::time::Instant>>,
}

impl Shared {
    /// The state, even if a worker panicked while holding the lock: what it left is still the
    /// best knowledge there is, and one panic must not take every other worker down with it.
    pub fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state with `f` and, if that changed it, hands it to the writer (which
    /// writes it off the runtime thread; `flush` waits for it). A failed save is logged, never
    /// fatal: healing goes on even on a full disk. Nothing is written while nothing changes.
    pub fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.lock_state();
        let r = f(&mut st);
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        // Compared by hash: no serialisation on a call that changed nothing.
        if *saved != Some(crate::state::fingerprint(&*st)) {
            self.save(&st, &mut saved);
            self.shed.soon();
        }
        r
    }

    /// As `update`, for one service's entry (created if missing): what a look changes. Only
    /// that entry is compared, so a look costs the same however many services there are.
    pub fn update_service<R>(&self, name: &str, f: impl FnOnce(&mut ServiceState) -> R) -> R {
        let mut st = self.lock_state();
        let before = st.services.get(name).cloned();
        let entry = st.services.entry(name.to_string()).or_default();
        let r = f(entry);
        if before.as_ref() != Some(&*entry) {
            let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
            self.save(&st, &mut saved);
        }
        r
    }

    fn save(&self, st: &State, saved: &mut Option<u64>) {
        match serde_json::to_vec_pretty(st) {
            Ok(json) => {
                *saved = Some(crate::state::fingerprint(st));
                self.persist.save_state(json);
            }
            Err(e) => tracing::error!("cannot serialise the state: {e}"),
        }
        self.write_metrics(st);
    }

    /// Hands the metrics text to the writer if it changed (only when a file is configured).
    fn write_metrics(&self, st: &State) {
        if let Some(m) = &self.metrics
            && let Some(text) = m.render(&self.config, st)
        {
            self.persist.save_metrics(m.path.clone(), text.into_bytes());
        }
    }

    /// The metrics figures changed outside the state: the file is rendered again.
    pub(crate) fn metrics_changed(&self) {
        if self.metrics.is_some() {
            let st = self.lock_state();
            self.write_metrics(&st);
        }
    }

    /// Changes the metrics figures, when there is a metrics file; nothing is written.
    pub(crate) fn with_metrics(&self, f: impl FnOnce(&mut crate::metrics::Figures)) {
        if let Some(m) = &self.metrics {
            m.with(f);
        }
    }

    /// Counts the reports in each queue of the outbox (off the runtime thread) for the
    /// metrics file.
    pub(crate) async fn count_outbox(&self) {
        if self.metrics.is_none() {
            return;
        }
        let queues = queue_handles(&self.routes);
        if let Ok(depth) = tokio::task::spawn_blocking(move || outbox_depth(&queues)).await {
            self.with_metrics(|f| f.outbox_depth = Some(depth));
        }
    }

    /// Waits until every change so far is on disk.
    pub(crate) async fn flush(&self) {
        self.persist.flush().await;
    }

    /// Awaits file work worker `name` must wait for (its incident saved before it acts, its
    /// report queued), stamping its progress meanwhile: a slow disk delays the worker, not the
    /// watchdog (for at most `progress::DISK_PATIENCE`; a worker waiting on a disk silent
    /// longer is stuck).
    pub(crate) async fn waiting_on_disk<T>(&self, name: &str, work: impl Future<Output = T>) -> T {
        let every = self
            .config
            .limits
            .check_interval
            .min(Duration::from_secs(1));
        let patience = progress::DISK_PATIENCE;
        self.progress.waiting(name, every, patience, work).await
    }

    /// Appends an event to the events log (off the runtime thread).
    pub(crate) fn append_event(&self, ev: Event) {
        self.persist.append_event(ev);
    }

    /// The daemon's own event (about no one service): journal and events log.
    pub(crate) fn daemon_event(&self, event: &str, result: &str, message: &str) {
        if result == "ok" {
            tracing::info!(event, result, "{message}");
        } else {
            tracing::error!(event, result, "{message}");
        }
        self.append_event(Event {
            time_ms: self.ctx.clock.now_ms(),
            service: DAEMON_EVENTS.into(),
            event: event.into(),
            incident: String::new(),
            result: result.into(),
            message: message.into(),
        });
    }

    /// The daemon cannot go on: the main loop exits with this error.
    fn fail(&self, why: String) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        fatal.get_or_insert(why);
    }

    fn fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    pub template_dir: PathBuf,
}

/// The host's name as the kernel has it (what `hostname` prints), for reports when the
/// configuration names none; "localhost" only when the kernel has none either.
pub fn hostname() -> String {
    hostname::get()
        .ok()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "(none)")
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

/// How the main loop reaches systemd's service manager besides `Units`: the watchdog it feeds
/// (only while every worker shows progress) and the rebuild of a lost D-Bus connection. The
/// daemon's are `sd_notify` and `SystemdReconnect`; tests count.
#[derive(Clone)]
pub(crate) struct Hooks {
    pub watchdog: Arc<dyn Fn() + Send + Sync>,
    pub reconnect: Arc<dyn Reconnect>,
}

/// The daemon's rebuild: a new D-Bus connection for every later call (`Systemd::reconnect`).
struct SystemdReconnect(Systemd);

impl Reconnect for SystemdReconnect {
    fn reconnect(&self) -> BoxFuture<'_, Result<(), crate::systemd::SystemdError>> {
        Box::pin(self.0.reconnect())
    }
}

/// A rebuild that cannot: `bus::Rebuild` then ends in an exit, after which systemd starts the
/// daemon with a new connection. For tests of that path.
#[cfg(test)]
struct NoReconnect;

#[cfg(test)]
impl Reconnect for NoReconnect {
    fn reconnect(&self) -> BoxFuture<'_, Result<(), crate::systemd::SystemdError>> {
        Box::pin(async {
            Err(crate::systemd::SystemdError::Connect(zbus::Error::Failure(
                "this build cannot rebuild the connection in-process; systemd will restart the \
                 daemon with a new one"
                    .to_string(),
            )))
        })
    }
}

/// What the configuration left out (a stale entry of an installed fragment), in the journal.
fn say_notes(config: &config::Config) {
    for note in &config.notes {
        tracing::warn!("configuration: {note}");
    }
}

pub async fn run(opts: Options) -> Result<(), DaemonError> {
    let config = config::load(&opts.config_path)?;
    say_notes(&config);
    let dirs = Dirs::new(&opts.state_dir);
    dirs.create().map_err(|source| DaemonError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    let systemd = Systemd::connect().await?;
    systemd.subscribe().await?;
    let system = System {
        units: Arc::new(systemd.clone()),
        procs: Arc::new(ProcTable::default()),
        clock: Arc::new(SystemClock),
    };
    let hooks = Hooks {
        watchdog: {
            let notify = Notify::default();
            Arc::new(move || notify.watchdog())
        },
        reconnect: Arc::new(SystemdReconnect(systemd)),
    };
    serve(&opts, config, dirs, system, hooks, signals()?).await
}

/// systemd's notification socket, kept connected for the watchdog's beat (every few seconds,
/// for the daemon's whole life): one `send` per beat instead of a new socket, a send and a
/// close. Non-blocking; a beat it cannot send goes the usual way (`sd_notify`), and the socket
/// is connected afresh at the next.
#[derive(Default)]
struct Notify {
    socket: Mutex<Option<std::os::unix::net::UnixDatagram>>,
}

impl Notify {
    fn watchdog(&self) {
        const BEAT: &[u8] = b"WATCHDOG=1";
        let mut socket = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        if socket.is_none() {
            *socket = std::env::var_os("NOTIFY_SOCKET").and_then(|a| notify_socket(&a));
        }
        if let Some(s) = socket.as_ref()
            && s.send(BEAT).is_ok()
        {
            return;
        }
        *socket = None;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
    }
}

/// A datagram socket connected to `$NOTIFY_SOCKET`'s value: a path, or an abstract name
/// after `@`.
fn notify_socket(path: &std::ffi::OsStr) -> Option<std::os::unix::net::UnixDatagram> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let addr = match path.as_bytes().strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(path),
    }
    .ok()?;
    let socket = UnixDatagram::unbound().ok()?;
    socket.set_nonblocking(true).ok()?;
    socket.connect_addr(&addr).ok()?;
    Some(socket)
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

/// One supervised task: a service's worker, or a channel's delivery task (by route index).
#[derive(Clone)]
enum Job {
    /// The service at this index of the generation's configuration (`Shared::config`).
    Worker(usize),
    Deliver(usize, String),
    /// Reads the operator's requests once per check interval.
    Requests,
    /// Reads the host checks once per their interval.
    HostChecks,
    /// Reads the services' certificates when due.
    Certificates,
}

impl Job {
    fn name(&self, sh: &Shared) -> String {
        match self {
            Job::Worker(i) => sh.config.services[*i].name.to_string(),
            Job::Deliver(_, name) => name.clone(),
            Job::Requests => "operator requests".into(),
            Job::HostChecks => "host checks".into(),
            Job::Certificates => "certificates".into(),
        }
    }
}

/// The tasks of one configuration generation, and what each one is.
struct Supervisor {
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    tasks: JoinSet<()>,
    jobs: HashMap<tokio::task::Id, Job>,
    handles: BTreeMap<String, AbortHandle>,
}

impl Supervisor {
    fn new(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Supervisor {
        Supervisor {
            shared,
            stop,
            tasks: JoinSet::new(),
            jobs: HashMap::new(),
            handles: BTreeMap::new(),
        }
    }

    /// Starts `job` after `pause` (unless asked to stop meanwhile).
    fn spawn(&mut self, job: Job, pause: Duration) {
        let (sh, mut stop, what) = (self.shared.clone(), self.stop.clone(), job.clone());
        let handle = self.tasks.spawn(async move {
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => return,
                }
            }
            match what {
                Job::Worker(i) => worker::run(sh, i, stop).await,
                // Boxed: a task is as large as the largest job it may run, and a delivery's
                // future (as the two below) is larger than a worker's.
                Job::Deliver(i, _) => Box::pin(deliver::run(sh, i, stop)).await,
                Job::Requests => read_requests(sh, stop).await,
                Job::HostChecks => Box::pin(host_watch::run(sh, stop)).await,
                // A TLS handshake's state is kilobytes: unboxed, every worker's task would be
                // that large too (500 services: 0.6 MiB more at rest, measured).
                Job::Certificates => Box::pin(cert_watch::run(sh, stop)).await,
            }
        });
        self.handles.insert(job.name(&self.shared), handle.clone());
        self.jobs.insert(handle.id(), job);
    }

    /// A task ended. A panic is logged and recorded as the daemon's own event, and the task
    /// restarted after a pause; the error says the daemon must exit instead.
    fn ended(
        &mut self,
        joined: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
        panics: &mut HashMap<String, Vec<Instant>>,
        restart: bool,
    ) -> Result<(), DaemonError> {
        let (id, panic) = match joined {
            Ok((id, ())) => (id, None),
            Err(e) => {
                let id = e.id();
                (id, e.try_into_panic().ok().map(panic_message))
            }
        };
        let Some(job) = self.jobs.remove(&id) else {
            return Ok(());
        };
        let name = job.name(&self.shared);
        if self.handles.get(&name).is_some_and(|h| h.id() == id) {
            self.handles.remove(&name);
        }
        let Some(message) = panic else {
            return Ok(());
        };
        let now = Instant::now();
        let times = panics.entry(name.clone()).or_default();
        times.retain(|t| now.duration_since(*t) < PANIC_WINDOW);
        times.push(now);
        let recent = times.len() as u32;
        let sh = &self.shared;
        sh.update(|st| {
            st.last_worker_panic = Some(WorkerPanic {
                service: name.clone(),
                at_ms: sh.ctx.clock.now_ms(),
                message: message.clone(),
                recent,
            })
        });
        let window = humantime::format_duration(PANIC_WINDOW);
        if recent >= PANICS_BEFORE_EXIT {
            let why = format!(
                "the worker for {name} panicked {recent} times within {window} (last: \
                 {message}); exiting so systemd restarts the daemon"
            );
            sh.daemon_event("worker_panicked", "failed", &why);
            return Err(DaemonError::MustRestart(why));
        }
        if !restart {
            let why = format!("the worker for {name} panicked while stopping: {message}");
            sh.daemon_event("worker_panicked", "failed", &why);
            return Ok(());
        }
        let base = sh.config.limits.check_interval.min(Duration::from_secs(1));
        let pause = base * 2u32.pow(recent - 1);
        sh.daemon_event(
            "worker_panicked",
            "failed",
            &format!(
                "the worker for {name} panicked ({message}); restarting it in {} \
                 ({recent} of {PANICS_BEFORE_EXIT} panics allowed within {window})",
                humantime::format_duration(pause)
            ),
        );
        self.spawn(job, pause);
        Ok(())
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Feeds systemd's watchdog and the liveness stamp, but only while every worker shows progress.
/// `stalled` remembers that a stall was reported, so it is reported once.
fn beat(sh: &Shared, hooks: &Hooks, bound: Duration, stalled: &mut bool) {
    match sh.progress.stalled(bound) {
        None => {
            if std::mem::take(stalled) {
                sh.daemon_event("progress", "ok", "every worker is looking again");
                sh.with_metrics(|f| f.watchdog_fed = true);
                sh.metrics_changed();
            }
            (hooks.watchdog)();
            sh.stamp_alive();
            if sh.shed.take_due() {
                tokio::task::spawn_blocking(shed::shed);
            }
        }
        Some((worker, age)) if !*stalled => {
            *stalled = true;
            sh.with_metrics(|f| f.watchdog_fed = false);
            sh.metrics_changed();
            sh.daemon_event(
                "stalled",
                "failed",
                &format!(
                    "the worker for {worker} has shown no progress for {} (more than {}): no \
                     longer telling systemd's watchdog that the daemon is alive",
                    humantime::format_duration(Duration::from_millis(age.as_millis() as u64)),
                    humantime::format_duration(bound)
                ),
            );
        }
        Some(_) => {}
    }
}

/// The main loop: workers for one configuration generation until a reload or a stop (or the
/// end of `requests`), then the next generation or the end. `dirs` exists. Returns an error
/// when the daemon must exit to be restarted by systemd (a worker panicking again and again,
/// a D-Bus connection that cannot be rebuilt).
pub(crate) async fn serve(
    opts: &Options,
    mut config: Config,
    dirs: Dirs,
    system: System,
    hooks: Hooks,
    mut requests: impl Stream<Item = Request> + Unpin,
) -> Result<(), DaemonError> {
    let started = system.clock.now_ms();
    let mut first = true;
    let mut panics = HashMap::new();
    let mut metrics: Option<Arc<Metrics>> = None;

    loop {
        metrics = generation_metrics(&config, metrics.take());
        // The configuration is moved into `shared`: one copy, which the workers read too.
        let shared = Arc::new(build_shared(
            config,
            &system,
            &dirs,
            &opts.template_dir,
            started,
            hooks.reconnect.clone(),
            metrics.clone(),
        )?);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut sup = start_generation(&shared, stop_rx, std::mem::replace(&mut first, false));
        let current = &shared.config;
        let bound = progress::bound(current);
        let mut ticker = beat_ticker(&shared);
        let mut stalled = false;
        beat(&shared, &hooks, bound, &mut stalled);
        // The next generation's configuration after a reload, none for a stop.
        let outcome: Result<Option<Config>, DaemonError> = loop {
            tokio::select! {
                _ = ticker.tick() => match shared.fatal() {
                    Some(why) => break Err(DaemonError::MustRestart(why)),
                    None => beat(&shared, &hooks, bound, &mut stalled),
                },
                Some(joined) = sup.tasks.join_next_with_id() => {
                    if let Err(e) = sup.ended(joined, &mut panics, true) {
                        break Err(e);
                    }
                }
                request = requests.next() => match request {
                    Some(Request::Reload) => match config::load(&opts.config_path) {
                        Ok(new) => {
                            say_notes(&new);
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, sd_notify::NotifyState::monotonic_usec_now()?]);
                            break Ok(Some(new));
                        }
                        Err(e) => {
                            for line in e.to_string().lines() {
                                tracing::error!(event = "reload_rejected", "configuration not reloaded, keeping the running one: {line}");
                            }
                        }
                    },
                    Some(Request::Stop) | None => break Ok(None),
                },
            }
        };
        let _ = stop_tx.send(true);
        let next = match outcome {
            Ok(next) => next,
            Err(e) => {
                // Dropping the supervisor aborts the workers; what they saved is kept.
                sup.tasks.abort_all();
                shared.flush().await;
                return Err(e);
            }
        };
        wind_down(&mut sup, &mut ticker, &shared, &hooks, bound, &mut panics).await;
        if next.is_none() {
            shared.with_metrics(|f| f.daemon_up = false);
            shared.metrics_changed();
        }
        shared.flush().await;
        let Some(new) = next else {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            tracing::info!(event = "stopped", "stopped");
            return Ok(());
        };
        config = new;
    }
}

/// The figures outlive a reload that keeps the file; counters start at 0 with a new one.
fn generation_metrics(config: &Config, old: Option<Arc<Metrics>>) -> Option<Arc<Metrics>> {
    match (&config.metrics, old) {
        (Some(c), Some(m)) if m.path == c.textfile => Some(m),
        (Some(c), _) => Some(Arc::new(Metrics::new(c.textfile.clone()))),
        (None, _) => None,
    }
}

/// Starts a configuration generation's tasks (a worker per service, a delivery task per
/// route, the control folder's reader) and tells systemd and the journal.
fn start_generation(shared: &Arc<Shared>, stop: watch::Receiver<bool>, first: bool) -> Supervisor {
    let mut sup = Supervisor::new(shared.clone(), stop);
    let current = &shared.config;
    for i in 0..current.services.len() {
        sup.spawn(Job::Worker(i), Duration::ZERO);
    }
    for (i, route) in shared.routes.iter().enumerate() {
        sup.spawn(Job::Deliver(i, route.task_name()), Duration::ZERO);
    }
    sup.spawn(Job::Requests, current.limits.check_interval);
    if current.host_checks.is_some() {
        sup.spawn(Job::HostChecks, Duration::ZERO);
    }
    if current.services.iter().any(|s| s.certificate.is_some()) {
        sup.spawn(Job::Certificates, Duration::ZERO);
    }
    let status = format!("watching {} service(s)", current.services.len());
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
    sup
}

/// Half systemd's watchdog period (10 s without one), at most the check interval: how often
/// the beat must come at the latest.
fn beat_period(config: &Config) -> Duration {
    sd_notify::watchdog_enabled()
        .map(|d| d / 2)
        .unwrap_or(Duration::from_secs(10))
        .min(config.limits.check_interval)
}

/// The watchdog's beat: half systemd's watchdog period, at most the check interval, and on
/// the grid too: a beat shares its wake-up with the looks of that slot (the first one at
/// once, the next on the grid's points).
fn beat_ticker(shared: &Shared) -> tokio::time::Interval {
    let beat_every = shared.grid.snap(beat_period(&shared.config));
    tokio::time::interval_at(shared.grid.first(Duration::ZERO, beat_every), beat_every)
}

/// The end of a generation: a heal in progress finishes first; systemd's watchdog keeps
/// hearing from us meanwhile, unless a worker is stuck: that one is abandoned.
async fn wind_down(
    sup: &mut Supervisor,
    ticker: &mut tokio::time::Interval,
    shared: &Shared,
    hooks: &Hooks,
    bound: Duration,
    panics: &mut HashMap<String, Vec<Instant>>,
) {
    loop {
        tokio::select! {
            joined = sup.tasks.join_next_with_id() => match joined {
                Some(joined) => {
                    let _ = sup.ended(joined, panics, false);
                }
                None => break,
            },
            _ = ticker.tick() => match shared.progress.stalled(bound) {
                Some((worker, _)) => {
                    if let Some(h) = sup.handles.remove(&worker) {
                        tracing::error!(event = "stalled", "the worker for {worker} is stuck; abandoning it to stop");
                        h.abort();
                    }
                    shared.progress.leave(&worker);
                }
                None => {
                    (hooks.watchdog)();
                    shared.stamp_alive();
                }
            },
        }
    }
}

/// Reads the control folder into `Shared::requests` once per check interval, off the runtime
/// thread, until asked to stop.
async fn read_requests(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let c = sh.control.clone();
        if let Ok(now) = tokio::task::spawn_blocking(move || c.requests()).await {
            *sh.requests.lock().unwrap_or_else(|e| e.into_inner()) = now;
        }
        tokio::select! {
            _ = tokio::time::sleep(sh.config.limits.check_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often, at most, the liveness stamp's time moves: the heartbeat calls a daemon wedged only
/// past three check intervals and never under a minute, so a stamp at most this old is always
/// fresh to it, and a beat (every few seconds for systemd's watchdog) need not wake a thread.
pub(crate) const STAMP_EVERY: Duration = Duration::from_secs(10);

impl Shared {
    /// Moves the liveness stamp's time if it is `STAMP_EVERY` old (the first beat always).
    fn stamp_alive(&self) {
        let mut at = self.stamped.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        if at.is_none_or(|t| now.duration_since(t) >= STAMP_EVERY) {
            *at = Some(now);
            touch_alive(&self.dirs);
        }
    }
}

/// Tells the heartbeat (through the liveness stamp) that we are looping; written off the
/// runtime thread (the first time of a process it is fsynced).
fn touch_alive(dirs: &Dirs) {
    let dirs = dirs.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = dirs.touch_alive() {
            tracing::error!("cannot write {}: {e}", dirs.alive().display());
        }
    });
}

/// What the state holds of things no longer configured leaves it: services, channels, host
/// checks. The others keep their history.
fn prune(state: &mut State, config: &Config) {
    state
        .services
        .retain(|name, _| config.service(name).is_some());
    state
        .blind_services
        .retain(|name| config.service(name).is_some());
    if state.blind_services.is_empty() {
        (state.blind_since_ms, state.blind_error) = (None, None);
    }
    state
        .channels_blocked
        .retain(|name, _| config.channels.iter().any(|c| &c.name == name));
    // A host check taken out of the configuration is no longer past anything.
    let kept: Vec<String> = config
        .host_checks
        .as_ref()
        .map(|h| {
            crate::host_checks::checks(h)
                .iter()
                .map(|c| c.name())
                .collect()
        })
        .unwrap_or_default();
    state.host_checks.retain(|name, _| kept.contains(name));
}

fn build_shared(
    config: Config,
    system: &System,
    dirs: &Dirs,
    template_dir: &Path,
    started: u64,
    reconnect: Arc<dyn Reconnect>,
    metrics: Option<Arc<Metrics>>,
) -> Result<Shared, DaemonError> {
    let mut state = match dirs.read_state() {
        Ok((s, note)) => {
            if let Some(n) = note {
                n.log();
            }
            s
        }
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
            State::default()
        }
    };
    state.daemon_pid = std::process::id();
    state.daemon_started_ms = started;
    prune(&mut state, &config);
    let host = config.host.clone().unwrap_or_else(hostname);
    let outbox = Outbox::with_clock(&dirs.outbox(), system.clock.clone())?;
    for queue in crate::notify::queues::of(&config, &dirs.outbox()) {
        crate::notify::outbox::carry_over(&queue.dir, &queue.describe);
    }
    let bus = Arc::new(Limited::new(system.units.clone(), bus::IN_FLIGHT));
    let control = control::Control::new(&dirs.root);
    let shared = Shared {
        ctx: Ctx {
            units: bus.clone(),
            procs: system.procs.clone(),
            clock: system.clock.clone(),
            http: crate::probe::http::client(),
            limits: config.limits.clone(),
            protected: config.protected_processes.clone(),
            turns: Turns::new(config.limits.max_concurrent_heals),
        },
        outbox: outbox.clone(),
        routes: deliver::routes(&config, &outbox, &dirs.outbox(), system.clock.clone())?,
        dirs: dirs.clone(),
        state: Mutex::new(state),
        ssh_target: config
            .ssh_target
            .clone()
            .unwrap_or_else(|| format!("root@{host}")),
        host,
        template_dir: template_dir.to_path_buf(),
        bus,
        persist: Persist::new(dirs),
        saved: Mutex::new(None),
        progress: Progress::default(),
        rebuild: Rebuild::new(config.limits.check_interval),
        reconnect,
        fatal: Mutex::new(None),
        metrics,
        // Every service has had its first look by then.
        shed: shed::Shed::new(config.limits.check_interval + Duration::from_secs(2)),
        requests: Mutex::new(control.requests()),
        control,
        grid: grid::Grid::new(config.limits.check_interval, beat_period(&config)),
        stamped: Mutex::new(None),
        config,
    };
    // At start only: how many reports wait in the outbox (later counted off the runtime).
    let depth = shared
        .metrics
        .as_ref()
        .map(|_| outbox_depth(&queue_handles(&shared.routes)));
    shared.with_metrics(|f| {
        f.daemon_up = true;
        f.outbox_depth = depth;
    });
    shared.update(|_| ());
    shared.metrics_changed();
    Ok(shared)
}

/// Each route's queue name and outbox, to count off the runtime thread.
fn queue_handles(routes: &[deliver::Route]) -> Vec<(String, Outbox)> {
    routes
        .iter()
        .map(|r| (r.queue().to_string(), r.outbox.clone()))
        .collect()
}

/// How many reports wait in each queue, by queue name.
fn outbox_depth(queues: &[(String, Outbox)]) -> BTreeMap<String, usize> {
    queues
        .iter()
        .map(|(name, o)| (name.clone(), o.pending().len()))
        .collect()
}

/// Records whether a queue's channel (email's or another) can be set up (`Some(why)`: it
/// cannot), logging each change once.
fn setup_blocked(sh: &Shared, queue: &str, why: Option<String>) {
    let now = crate::heal::incident::now_ms();
    let email = queue == crate::notify::queues::EMAIL;
    sh.update(|st| {
        let mut blocked = if email {
            st.mail_blocked.take()
        } else {
            st.channels_blocked.remove(queue)
        };
        match (&blocked, why) {
            (None, None) => {}
            (Some(_), None) => {
                blocked = None;
                if email {
                    tracing::info!(
                        event = "mail_setup_ok",
                        "email is set up again: queued reports are being delivered"
                    );
                } else {
                    tracing::info!(
                        event = "channel_setup_ok",
                        "channel '{queue}' is set up again: its queued reports are being delivered"
                    );
                }
            }
            (Some(b), Some(why)) if b.error == why => {}
            (_, Some(why)) => {
                if email {
                    tracing::error!(
                        event = "mail_setup_failed",
                        "reports cannot leave this host and stay in the outbox (retried with backoff): {why}"
                    );
                } else {
                    tracing::error!(
                        event = "channel_setup_failed",
                        "{why}; its reports stay in its outbox (retried with backoff)"
                    );
                }
                let since_ms = blocked.as_ref().map_or(now, |b| b.since_ms);
                blocked = Some(crate::state::MailBlocked {
                    since_ms,
                    error: why,
                });
            }
        }
        if email {
            st.mail_blocked = blocked;
        } else if let Some(b) = blocked {
            st.channels_blocked.insert(queue.to_string(), b);
        }
    });
}
