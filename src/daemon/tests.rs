//! The daemon's main loop on a fake host, driven by requests instead of signals: one worker
//! per configured service, a reload that swaps the configuration (or keeps the running one when
//! the new file is invalid), and a clean stop.

use super::fake::{FakeClock, FakeHost, Faulty, T0, TempDir};
use super::look::TRUSTED_LOOKS;
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

fn yaml(services: &[&str]) -> String {
    let mut y =
        String::from("host: testhost\nlimits:\n  check_interval: 20ms\nmonitored_services:\n");
    for s in services {
        y.push_str(&format!("  - name: {s}\n"));
    }
    y
}

pub(super) struct Daemon {
    pub(super) host: Arc<FakeHost>,
    pub(super) clock: Arc<FakeClock>,
    faulty: Arc<Faulty>,
    /// How many times systemd's watchdog was fed.
    fed: Arc<AtomicUsize>,
    /// When it was fed.
    fed_at: Arc<Mutex<Vec<std::time::Instant>>>,
    pub(super) opts: Options,
    requests: mpsc::UnboundedSender<Request>,
    task: JoinHandle<Result<(), DaemonError>>,
    _dir: TempDir,
}

/// The loop running on a fake host whose units are all active, with these services configured.
fn start(services: &[&str]) -> Daemon {
    start_on(&yaml(services), |_, _| {})
}

/// The loop with this configuration, on a fake host whose units a, b and c are active, its
/// systemd reached through `Faulty` (both given to `prepare` before the loop starts).
pub(super) fn start_on(config_yaml: &str, prepare: impl FnOnce(&FakeHost, &Faulty)) -> Daemon {
    let dir = TempDir::new("daemon");
    let opts = Options {
        config_path: dir.path().join("config.yaml"),
        state_dir: dir.path().join("state"),
        template_dir: dir.path().join("templates"),
    };
    std::fs::write(&opts.config_path, config_yaml).unwrap();
    let host = Arc::new(FakeHost::new());
    for unit in ["a.service", "b.service", "c.service"] {
        host.active(unit);
    }
    let faulty = Faulty::new(&host);
    prepare(&host, &faulty);
    let clock = Arc::new(FakeClock::at(T0));
    let system = faulty.system(&clock);
    let dirs = Dirs::new(&opts.state_dir);
    dirs.create().unwrap();
    let config = config::load(&opts.config_path).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let requests = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let task_opts = opts.clone();
    let fed = Arc::new(AtomicUsize::new(0));
    let fed_at = Arc::new(Mutex::new(Vec::new()));
    let hooks = Hooks {
        watchdog: {
            let (fed, fed_at) = (fed.clone(), fed_at.clone());
            Arc::new(move || {
                fed.fetch_add(1, Ordering::SeqCst);
                fed_at.lock().unwrap().push(std::time::Instant::now());
            })
        },
        reconnect: faulty.clone(),
    };
    let task =
        tokio::spawn(async move { serve(&task_opts, config, dirs, system, hooks, requests).await });
    Daemon {
        host,
        clock,
        faulty,
        fed,
        fed_at,
        opts,
        requests: tx,
        task,
        _dir: dir,
    }
}

impl Daemon {
    /// Waits (at most 2 s) until every named service has been looked at and saved.
    pub(super) async fn until_watching(&self, services: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !services.iter().all(|s| self.probed(s)) {
            assert!(Instant::now() < deadline, "not all of {services:?} watched");
            sleep(Duration::from_millis(5)).await;
        }
    }

    fn probed(&self, service: &str) -> bool {
        let st = Dirs::new(&self.opts.state_dir)
            .load_state()
            .unwrap_or_default();
        let looked = st
            .services
            .get(service)
            .is_some_and(|s| s.last_probe.is_some());
        looked && self.host.count(&format!("watch {service}.service")) == 1
    }

    fn saved(&self) -> crate::state::State {
        Dirs::new(&self.opts.state_dir).load_state().unwrap()
    }

    pub(super) fn saved_services(&self) -> Vec<String> {
        let st = Dirs::new(&self.opts.state_dir).load_state().unwrap();
        st.services.keys().cloned().collect()
    }

    /// Waits (at most 2 s) until `what` holds.
    pub(super) async fn until(&self, what: &str, done: impl Fn(&Daemon) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            sleep(Duration::from_millis(5)).await;
        }
    }

    /// When the liveness stamp was last written.
    fn alive_at(&self) -> std::time::SystemTime {
        let alive = self.opts.state_dir.join("alive");
        std::fs::metadata(alive).unwrap().modified().unwrap()
    }

    /// Writes `yaml` as the configuration and asks for a reload, as a deploy does.
    pub(super) fn reload_with(&self, yaml: &str) {
        std::fs::write(&self.opts.config_path, yaml).unwrap();
        self.requests.send(Request::Reload).unwrap();
    }

    pub(super) async fn stop(self) {
        self.requests.send(Request::Stop).unwrap();
        let ended = timeout(Duration::from_secs(1), self.task).await;
        ended
            .expect("the loop stops within a second")
            .unwrap()
            .unwrap();
        // Every worker has ended: nothing looks at systemd any more.
        let calls = self.host.calls().len();
        sleep(Duration::from_millis(60)).await;
        assert_eq!(self.host.calls().len(), calls, "a worker outlived the loop");
    }
}

#[tokio::test]
async fn the_loop_starts_one_worker_per_service_and_stops_cleanly_when_asked() {
    let d = start(&["a", "b"]);
    d.until_watching(&["a", "b"]).await;
    assert_eq!(d.saved_services(), ["a", "b"]);
    assert_eq!(d.host.count("watch c.service"), 0, "c is not configured");
    assert_eq!(
        d.host.actions(),
        Vec::<String>::new(),
        "healthy: nothing done"
    );
    assert!(
        d.opts.state_dir.join("alive").exists(),
        "the liveness stamp"
    );
    d.stop().await;
}

#[tokio::test]
async fn a_reload_replaces_the_workers_and_forgets_services_no_longer_configured() {
    let d = start(&["a", "b"]);
    d.until_watching(&["a", "b"]).await;
    std::fs::write(&d.opts.config_path, yaml(&["b", "c"])).unwrap();
    d.requests.send(Request::Reload).unwrap();
    d.until_watching(&["c"]).await;
    assert_eq!(d.saved_services(), ["b", "c"]);
    assert_eq!(d.host.count("watch b.service"), 2, "b's worker restarted");
    d.stop().await;
}

#[tokio::test]
async fn an_invalid_configuration_on_reload_keeps_the_running_one() {
    let d = start_on(&quick(&["a", "b"]), |_, _| {});
    d.until_watching(&["a", "b"]).await;
    std::fs::write(
        &d.opts.config_path,
        "monitored_services:\n  - port: 99999\n",
    )
    .unwrap();
    d.requests.send(Request::Reload).unwrap();
    sleep(Duration::from_millis(100)).await;
    d.host.crashed("a.service");
    d.until("a is still watched and healed", |d| {
        d.host.actions().iter().any(|a| a.ends_with("a.service"))
    })
    .await;
    assert_eq!(d.host.count("watch a.service"), 1, "by the same worker");
    assert_eq!(d.saved_services(), ["a", "b"]);
    d.stop().await;
}

#[tokio::test]
async fn at_rest_looks_trust_the_change_signals_and_write_nothing() {
    let d = start_on(&quick(&["a"]), |_, _| {});
    d.until_watching(&["a"]).await;
    let state = std::fs::read(d.opts.state_dir.join("state.json")).unwrap();
    let asked = d.host.count("status a.service");
    // 25 check intervals of a healthy service, over two minutes of the daemon's clock.
    for _ in 0..25 {
        sleep(Duration::from_millis(20)).await;
        d.clock.advance(Duration::from_secs(5));
    }
    let asked = d.host.count("status a.service") - asked;
    assert!(
        (1..=25 / TRUSTED_LOOKS as usize + 1).contains(&asked),
        "systemd asked {asked} times in 25 looks: only every {TRUSTED_LOOKS} looks, in case a \
         signal was lost"
    );
    assert_eq!(
        std::fs::read(d.opts.state_dir.join("state.json")).unwrap(),
        state,
        "nothing changed, nothing written"
    );
    assert_eq!(d.host.actions(), Vec::<String>::new());
    d.stop().await;
}

#[tokio::test]
async fn a_failure_whose_signal_was_lost_is_still_seen_and_healed() {
    let d = start_on(&quick(&["a"]), |h, _| h.loses_signals("a.service"));
    d.until_watching(&["a"]).await;
    d.host.crashed("a.service");
    d.until("a.service is restarted", |d| {
        d.host.count("restart a.service") == 1
    })
    .await;
    d.stop().await;
}

/// Limits small enough that a stalled worker is noticed within a fraction of a second.
pub(super) const QUICK_LIMITS: &str = "limits:
  check_interval: 20ms
  probe_timeout: 50ms
  start_timeout: 50ms
  settle_time: 0s
  kill_grace: 10ms
";

fn quick(services: &[&str]) -> String {
    let mut y = format!("host: testhost\n{QUICK_LIMITS}monitored_services:\n");
    for s in services {
        y.push_str(&format!("  - name: {s}\n"));
    }
    y
}

#[tokio::test]
async fn a_worker_that_panics_is_restarted_and_heals_its_service_again() {
    let d = start_on(&quick(&["a", "b"]), |_, f| f.status_panics("a.service", 1));
    d.until_watching(&["b"]).await;
    d.host.crashed("a.service");
    d.until("a.service is restarted", |d| {
        d.host.count("restart a.service") == 1
    })
    .await;
    d.until("the panic is saved", |d| {
        d.saved().last_worker_panic.is_some()
    })
    .await;
    let panic = d.saved().last_worker_panic.unwrap();
    assert_eq!(panic.service, "a");
    assert_eq!(
        panic.message,
        "injected panic in a status call about a.service"
    );
    assert_eq!(panic.recent, 1);
    let events = Dirs::new(&d.opts.state_dir).events_since(0);
    let ev = events
        .iter()
        .find(|e| e.event == "worker_panicked")
        .unwrap();
    assert_eq!(ev.service, crate::state::DAEMON_EVENTS);
    assert!(
        ev.message.starts_with("the worker for a panicked"),
        "{}",
        ev.message
    );
    d.stop().await;
}

#[tokio::test]
async fn a_worker_that_keeps_panicking_makes_the_daemon_exit_with_an_error() {
    let d = start_on(&quick(&["a", "b"]), |_, f| {
        f.status_panics("a.service", 1000)
    });
    let ended = timeout(Duration::from_secs(2), d.task).await;
    let result = ended.expect("the daemon exits by itself").unwrap();
    let e = result.expect_err("with an error, so systemd restarts it");
    assert!(e.to_string().contains("worker for a panicked"), "{e}");
}

#[tokio::test]
async fn while_a_worker_is_stuck_the_watchdog_is_not_fed_and_the_liveness_stamp_not_refreshed() {
    let d = start_on(&quick(&["a", "b"]), |_, f| f.actions_hang("a.service"));
    d.until_watching(&["a", "b"]).await;
    let fed = d.fed.load(Ordering::SeqCst);
    sleep(Duration::from_millis(100)).await;
    assert!(
        d.fed.load(Ordering::SeqCst) > fed,
        "fed while every worker looks"
    );
    d.host.crashed("a.service"); // its heal's restart never returns
    // Longer than any look or healing step may take with these limits.
    sleep(Duration::from_millis(800)).await;
    let (stamped, fed) = (d.alive_at(), d.fed.load(Ordering::SeqCst));
    sleep(Duration::from_millis(200)).await;
    assert_eq!(
        d.alive_at(),
        stamped,
        "the stamp was refreshed while a was stuck"
    );
    assert_eq!(
        d.fed.load(Ordering::SeqCst),
        fed,
        "the watchdog was fed while a was stuck"
    );
    d.stop().await;
}

#[tokio::test]
async fn with_many_services_looking_at_once_no_more_than_32_status_calls_are_in_flight() {
    let names: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
    let services: Vec<&str> = names.iter().map(String::as_str).collect();
    // A bus slow to answer (within the probe timeout) while every worker looks at once.
    let config = quick(&services).replace("probe_timeout: 50ms", "probe_timeout: 5s");
    let d = start_on(&config, |host, f| {
        for s in &names {
            host.active(&format!("{s}.service"));
        }
        f.hold_status();
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.faulty.max_in_flight() < 32 {
        assert!(Instant::now() < deadline, "the workers never asked");
        sleep(Duration::from_millis(5)).await;
    }
    sleep(Duration::from_millis(300)).await; // the other workers have asked too
    let in_flight = d.faulty.max_in_flight();
    assert_eq!(in_flight, 32, "status calls in flight at once");
    d.faulty.release_status();
    d.until_watching(&services).await;
    assert_eq!(
        d.host.actions(),
        Vec::<String>::new(),
        "all healthy: nothing done"
    );
    d.stop().await;
}

#[tokio::test]
async fn while_the_bus_refuses_every_call_the_connection_is_rebuilt_then_the_daemon_exits() {
    let d = start_on(&quick(&["a", "b"]), |host, _| {
        host.bus_refuses(
            "a.service",
            "org.freedesktop.DBus.Error.NoReply: the bus went away",
        );
        host.bus_refuses(
            "b.service",
            "org.freedesktop.DBus.Error.NoReply: the bus went away",
        );
    });
    let ended = timeout(Duration::from_secs(4), d.task).await;
    let result = ended.expect("the daemon exits by itself").unwrap();
    let e = result.expect_err("with an error, so systemd restarts it");
    assert!(
        e.to_string().contains("6 rebuilds of the connection"),
        "{e}"
    );
    assert_eq!(d.faulty.reconnects(), 6, "spaced out, not one per look");
    assert_eq!(
        d.host.actions(),
        Vec::<String>::new(),
        "nothing it cannot see is healed"
    );
    let st = Dirs::new(&d.opts.state_dir).load_state().unwrap();
    assert_eq!(st.blind_services, ["a", "b"]);
}

#[tokio::test]
async fn a_status_call_that_never_returns_leaves_the_service_unseen_not_down_nor_stuck() {
    let d = start_on(&quick(&["a", "b"]), |_, f| f.status_hangs("a.service"));
    d.until("a is reported unseen", |d| {
        Dirs::new(&d.opts.state_dir)
            .load_state()
            .is_ok_and(|st| st.blind_services == ["a"])
    })
    .await;
    sleep(Duration::from_millis(700)).await; // past the progress bound
    let fed = d.fed.load(Ordering::SeqCst);
    sleep(Duration::from_millis(100)).await;
    assert!(d.fed.load(Ordering::SeqCst) > fed, "a keeps looking: fed");
    assert_eq!(d.host.actions(), Vec::<String>::new());
    let seen = d.saved().services["a"].last_probe.clone().unwrap();
    assert_eq!(
        seen,
        "cannot see a.service: systemd did not answer about a.service within 50ms"
    );
    d.stop().await;
}

/// The cap on heals at once limits the actions (the restart jobs), not the verifying after
/// them: ten services down at once are all restarted before the first has finished its settle
/// time, though only four may act at a time.
#[tokio::test]
async fn ten_services_down_at_once_are_all_restarted_before_any_heal_has_settled() {
    let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let mut y = String::from(
        "host: testhost\nlimits:\n  check_interval: 20ms\n  settle_time: 1s\n  max_concurrent_heals: 4\nmonitored_services:\n",
    );
    for n in &names {
        y.push_str(&format!("  - name: {n}\n"));
    }
    let d = start_on(&y, |h, _| {
        for n in &names {
            h.active(&format!("{n}.service"));
        }
    });
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    d.until_watching(&all).await;
    for n in &names {
        d.host.crashed(&format!("{n}.service"));
    }
    let resolved = |d: &Daemon| {
        Dirs::new(&d.opts.state_dir)
            .events_since(0)
            .iter()
            .filter(|e| e.event == "resolved")
            .count()
    };
    d.until("every service is restarted", |d| {
        names
            .iter()
            .all(|n| d.host.count(&format!("restart {n}.service")) == 1)
    })
    .await;
    assert_eq!(resolved(&d), 0, "a heal finished before the last restart");
    d.until("every heal is verified", |d| resolved(d) == 10)
        .await;
    d.stop().await;
}

/// Every event of the daemon's record, as `service event` lines.
fn events(d: &Daemon) -> Vec<String> {
    Dirs::new(&d.opts.state_dir)
        .events_since(0)
        .iter()
        .map(|e| format!("{} {}", e.service, e.event))
        .collect()
}

/// B requires A, both watched, and B's ladder begins by starting what it depends on. A stopped
/// takes B down with it: A's own heal and B's dependency_restart both start A, and systemd
/// merges the two into one job that both follow to its end. Neither is a failure.
#[tokio::test]
async fn two_heals_that_start_one_unit_share_its_job_and_both_resolve() {
    let y = "host: testhost\nlimits:\n  check_interval: 20ms\n  settle_time: 0s\nmonitored_services:\n  \
             - name: a\n  - name: b\n    depends_on: [a.service]\n    \
             healing_strategies: [dependency_restart, service_restart]\n";
    let d = start_on(y, |h, _| {
        // A takes a moment to start, as a real service does: the two heals overlap.
        h.after_start("a.service", &[("activating", "start"); 10]);
    });
    d.until_watching(&["a", "b"]).await;
    d.host.stopped("a.service");
    d.host.stopped("b.service");
    d.until("both are resolved", |d| {
        let ev = events(d);
        ev.iter().any(|e| e == "a resolved") && ev.iter().any(|e| e == "b resolved")
    })
    .await;
    let ev = events(&d);
    assert!(!ev.iter().any(|e| e.ends_with(" failed")), "{ev:?}");
    let starts = d.host.count("restart a.service") + d.host.count("start a.service");
    assert!((1..=2).contains(&starts), "{:?}", d.host.actions());
    let a = crate::config::UnitName::parse("a.service").unwrap();
    let st = d.host.status(&a).await.unwrap();
    assert_eq!(st.active_state, crate::systemd::ActiveState::Active);
    d.stop().await;
}

/// An operator's (or a deploy's) `systemctl restart`: between its stop and its start the unit
/// is inactive, with the restart, now a start job, still queued. That is systemd acting, not an
/// incident; the same unit left failed when the job is gone is one.
#[tokio::test]
async fn the_stop_half_of_someone_elses_restart_is_no_incident_but_a_failed_one_is() {
    // A restart job gets a moment longer than the test holds one (start_timeout).
    let y = quick(&["a"]).replace("start_timeout: 50ms", "start_timeout: 2s");
    let d = start_on(&y, |_, _| {});
    d.until_watching(&["a"]).await;
    for _ in 0..20 {
        d.host.job_queued("a.service", "start");
        d.host.stopped("a.service");
        sleep(Duration::from_millis(30)).await;
        d.host.active("a.service");
        d.host.job_ended("a.service");
        sleep(Duration::from_millis(30)).await;
    }
    sleep(Duration::from_millis(60)).await;
    assert_eq!(d.host.actions(), Vec::<String>::new());
    assert!(
        !events(&d).iter().any(|e| e == "a detected"),
        "{:?}",
        events(&d)
    );
    // This time the start fails: systemd's job is gone and the unit is failed.
    d.host.job_queued("a.service", "start");
    d.host.stopped("a.service");
    sleep(Duration::from_millis(30)).await;
    d.host.job_ended("a.service");
    d.host.crashed("a.service");
    d.until("the failed restart is healed", |d| {
        d.host.count("restart a.service") == 1
    })
    .await;
    d.stop().await;
}

/// A probe that fails while systemd restarts the unit (its job queued, the old process on
/// its way out) is the restart, not a failure; the same probe failing with no job in sight is.
#[tokio::test]
async fn a_probe_failing_while_a_restart_job_is_queued_is_not_counted_against_the_service() {
    // A restart job gets a moment longer than the test holds one (start_timeout).
    let y = format!("{}    port: 8080\n", quick(&["a"]))
        .replace("start_timeout: 50ms", "start_timeout: 2s");
    let d = start_on(&y, |h, _| {
        h.serves("a.service", 8080);
        h.active("a.service");
    });
    d.until_watching(&["a"]).await;
    // Still active, no longer listening: its restart job is queued, and done a moment later
    // (within start_timeout) with a new process on the port.
    for _ in 0..5 {
        d.host.job_queued("a.service", "restart");
        d.host.hung("a.service");
        sleep(Duration::from_millis(30)).await;
        d.host.active("a.service");
        d.host.job_ended("a.service");
        sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(d.host.actions(), Vec::<String>::new());
    assert!(
        !events(&d).iter().any(|e| e == "a detected"),
        "{:?}",
        events(&d)
    );
    // No job: a port that stays closed is a failure.
    d.host.hung("a.service");
    d.until("the closed port is healed", |d| {
        d.host.count("restart a.service") == 1
    })
    .await;
    d.stop().await;
}

/// A port on 127.0.0.1 nothing listens on: a mail server that refuses connections.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Every write of a report to the outbox takes 3 s (a slow disk). While a's report is being
/// written, b is killed: b is seen and restarted as fast as on a fast disk, the watchdog is fed
/// all along, and both reports end up queued. The outbox's file work is on the blocking pool:
/// on the runtime's one thread, it would stop every worker and the watchdog for the 3 s.
// One scenario followed step by step against a slow disk; split, its timeline would be harder to read.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn while_each_report_write_takes_3_s_a_killed_service_is_healed_at_once_and_the_watchdog_fed()
{
    const WRITE: Duration = Duration::from_secs(3);
    let config = format!(
        "{}notifications:\n  email:\n    smtp_host: 127.0.0.1\n    smtp_port: {}\n    \
         tls: none\n    from: mm@testhost.example.org\n    to: [ops@example.org]\n",
        quick(&["a", "b"]),
        refused_port()
    );
    let d = start_on(&config, |_, _| {});
    // A worker silent longer than this stops the watchdog: much less than one write.
    let bound = progress::bound(&config::load(&d.opts.config_path).unwrap());
    assert!(bound <= Duration::from_millis(500), "{bound:?}");
    let outbox = Dirs::new(&d.opts.state_dir).outbox();
    let disk = Arc::new(crate::notify::outbox::slow_disk::slow(&outbox, WRITE));
    d.until_watching(&["a", "b"]).await;

    // b is killed by another thread as soon as a's report starts being written, whatever the
    // runtime's thread is doing then.
    let killer = tokio::task::spawn_blocking({
        let (host, disk) = (d.host.clone(), disk.clone());
        move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while disk.started().is_empty() {
                assert!(std::time::Instant::now() < deadline, "no report written");
                std::thread::sleep(Duration::from_millis(1));
            }
            host.killed("b.service", 9);
            std::time::Instant::now()
        }
    });
    d.host.crashed("a.service");
    let killed_at = killer.await.unwrap();
    let (a_report, b_report) = (format!("a-{T0}-resolved"), format!("b-{T0}-resolved"));
    assert_eq!(
        disk.started(),
        [a_report.as_str()],
        "a healed, its report being written"
    );

    d.until("b is restarted", |d| d.host.count("restart b.service") == 1)
        .await;
    let restarted_after = killed_at.elapsed();
    assert!(
        restarted_after < Duration::from_secs(1),
        "b was seen restarted {restarted_after:?} after it was killed"
    );
    assert_eq!(
        disk.done(),
        Vec::<String>::new(),
        "b was restarted while a's report was still being written"
    );
    assert_eq!(d.host.actions(), ["restart a.service", "restart b.service"]);

    // Both reports are queued once their writes end; none is lost.
    let deadline = Instant::now() + WRITE * 2;
    loop {
        let done = disk.done();
        if done.contains(&a_report) && done.contains(&b_report) {
            break;
        }
        assert!(Instant::now() < deadline, "writes done: {done:?}");
        sleep(Duration::from_millis(5)).await;
    }
    let written_at = std::time::Instant::now();
    let mut queued: Vec<String> = crate::notify::outbox::waiting(&outbox)
        .into_iter()
        .map(|q| q.id)
        .collect();
    queued.sort();
    assert_eq!(queued, [a_report.as_str(), b_report.as_str()]);
    assert!(
        written_at - killed_at >= WRITE - Duration::from_millis(50),
        "the disk was slow"
    );

    // The watchdog was fed all along: never more than a few beats apart while the reports were
    // written (systemd's watchdog is fed only while no worker has been silent over `bound`).
    let fed: Vec<_> = d.fed_at.lock().unwrap().clone();
    let mut at: Vec<_> = fed
        .into_iter()
        .filter(|t| *t > killed_at && *t < written_at)
        .collect();
    at.insert(0, killed_at);
    at.push(written_at);
    let longest = at.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest < Duration::from_millis(250),
        "the watchdog went {longest:?} unfed while the reports were written"
    );

    d.until("both incidents are closed and saved", |d| {
        let st = d.saved();
        ["a", "b"].iter().all(|s| st.services[*s].last.is_some())
    })
    .await;
    let st = d.saved();
    let cause = |s: &str| st.services[s].last.as_ref().map(|i| i.cause.clone());
    assert_eq!(
        cause("a"),
        Some(crate::heal::cause::Cause::Crashed { status: 1 })
    );
    assert_eq!(
        cause("b"),
        Some(crate::heal::cause::Cause::Killed { signal: 9 })
    );
    drop(disk); // the disk is fast again: the mail task's retries are not held up
    let dirs = Dirs::new(&d.opts.state_dir);
    d.stop().await;
    let stalls = dirs
        .events_since(0)
        .into_iter()
        .filter(|e| e.event == "stalled");
    assert_eq!(stalls.count(), 0, "no worker was ever seen stalled");
}

mod windows;

/// The watchdog's beat reaches systemd's notification socket, given as a path or as an abstract
/// name, through one socket kept connected (beat after beat); no socket where none listens.
#[test]
fn the_watchdog_beat_goes_through_one_connected_socket_to_a_path_or_an_abstract_name() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let dir = TempDir::new("notify");
    let path = dir.path().join("notify");
    let by_path = UnixDatagram::bind(&path).unwrap();
    let name = format!("mm-notify-test-{}", std::process::id());
    let by_name = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
    for (address, receiver) in [
        (path.clone().into_os_string(), &by_path),
        (format!("@{name}").into(), &by_name),
    ] {
        let notify = Notify::default();
        *notify.socket.lock().unwrap() = super::notify_socket(&address);
        notify.watchdog();
        notify.watchdog();
        let mut buf = [0u8; 64];
        for _ in 0..2 {
            let n = receiver.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"WATCHDOG=1", "to {address:?}");
        }
    }
    assert!(super::notify_socket("/nonexistent/notify".as_ref()).is_none());
}
