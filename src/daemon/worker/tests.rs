//! One service's worker on a fake host: what it does to systemd when the unit goes down or a
//! probe fails, the state machine's phase afterwards, and the report it queues in the outbox
//! (a temporary state directory). Looks are driven one at a time, or by the worker's own loop.

use super::*;
use crate::daemon::fake::FRESH;
use crate::daemon::fake::{self, FakeClock, FakeHost, T0, TempDir, Then};
use crate::daemon::look::Known;
use crate::daemon::{System, build_shared};
use crate::heal::cause::Cause;
use crate::heal::machine::Phase;
use crate::probe::usage::{Lacking, Usage};
use crate::state::{Dirs, ServiceState};
use std::time::Duration;
use tokio::time::{Instant, sleep};

const CONFIG: &str = "
host: testhost
monitored_services:
  - name: x
    port: 8080
notifications:
  email:
    smtp_host: 127.0.0.1
    from: mm@testhost.example.org
    to: [ops@example.org]
limits:
";

/// Limits the tests run with unless they give their own.
const DEFAULT_LIMITS: [(&str, &str); 3] = [
    ("check_interval", "20ms"),
    ("settle_time", "0s"),
    ("start_timeout", "100ms"),
];

struct Rig {
    host: Arc<FakeHost>,
    clock: Arc<FakeClock>,
    sh: Arc<Shared>,
    svc: Service,
    control: Control,
    acting_since: Option<Instant>,
    known: Known,
    _dir: TempDir,
}

/// The service `x` (port 8080) with these `limits:` lines added, on a fresh fake host.
fn rig(limits: &str) -> Rig {
    rig_with(limits, |_| {})
}

/// As `rig`, with the state directory prepared first (as a previous daemon left it).
fn rig_with(limits: &str, prepare: impl FnOnce(&Dirs)) -> Rig {
    rig_from(CONFIG, limits, prepare)
}

/// As `rig`, the service `x` with these resource rules (`{memory: 30MiB, for: 3}`).
fn rig_rules(rules: &str) -> Rig {
    let config = CONFIG.replace(
        "    port: 8080\n",
        &format!("    port: 8080\n    limits: {rules}\n"),
    );
    rig_from(&config, "", |_| {})
}

fn rig_from(config: &str, limits: &str, prepare: impl FnOnce(&Dirs)) -> Rig {
    let dir = TempDir::new("worker");
    let mut yaml = format!("{config}{limits}");
    for (key, value) in DEFAULT_LIMITS {
        if !limits.contains(key) {
            yaml.push_str(&format!("  {key}: {value}\n"));
        }
    }
    let config = fake::config(&yaml);
    let host = Arc::new(FakeHost::new());
    host.serves("x.service", 8080);
    let clock = Arc::new(FakeClock::at(T0));
    let dirs = Dirs::new(&dir.path().join("state"));
    dirs.create().unwrap();
    prepare(&dirs);
    let system: System = fake::system(&host, &clock);
    let templates = dir.path().join("templates");
    let reconnect: Arc<dyn crate::daemon::bus::Reconnect> = Arc::new(crate::daemon::NoReconnect);
    let sh = build_shared(
        config.clone(),
        &system,
        &dirs,
        &templates,
        T0,
        reconnect,
        None,
    )
    .unwrap();
    Rig {
        svc: config.services[0].clone(),
        control: Control::new(&dirs.root),
        sh: Arc::new(sh),
        host,
        clock,
        acting_since: None,
        known: Known::default(),
        _dir: dir,
    }
}

impl Rig {
    /// One look at the service, as on a probe tick.
    async fn look(&mut self) {
        // As without change signals: every look asks systemd (the cheapest question it can).
        look_and_act(
            &self.sh,
            &self.svc,
            &self.control,
            &mut self.acting_since,
            &mut self.known,
            false,
        )
        .await;
    }

    /// How many of the daemon's own events named `event` are in the events log.
    async fn daemon_events(&self, event: &str) -> usize {
        self.sh.flush().await;
        let events = self.sh.dirs.events_since(0).into_iter();
        events
            .filter(|e| e.service == crate::state::DAEMON_EVENTS && e.event == event)
            .count()
    }

    fn state(&self) -> ServiceState {
        self.sh.lock_state().services["x"].clone()
    }

    /// The queued reports: (id, subject).
    fn reports(&self) -> Vec<(String, String)> {
        let pending = self.sh.outbox.pending().into_iter();
        pending.map(|q| (q.id, q.email.subject)).collect()
    }

    fn report_body(&self, id: &str) -> String {
        let q = self.sh.outbox.pending().into_iter().find(|q| q.id == id);
        q.unwrap_or_else(|| panic!("no report {id}")).email.body
    }

    /// Runs the worker's own loop until `done` holds (at most 2 s), then stops it.
    async fn run_until(&self, what: &str, done: impl Fn(&Rig) -> bool) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(self.sh.clone(), 0, stop_rx));
        let deadline = Instant::now() + Duration::from_secs(2);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            sleep(Duration::from_millis(5)).await;
        }
        // A few more probe ticks, to show nothing else happens.
        sleep(Duration::from_millis(60)).await;
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}

const RESOLVED: &str = "✅ MiracleMax: x - RESOLVED";
const FAILED: &str = "❌ MiracleMax: x - FAILED";

fn report(id_at: u64, kind: &str, subject: &str) -> (String, String) {
    (format!("x-{id_at}-{kind}"), subject.to_string())
}

#[tokio::test]
async fn a_unit_reported_down_is_healed_once_and_a_resolved_report_is_queued() {
    let r = rig("");
    r.host.stopped("x.service");
    r.run_until("a report", |r| !r.reports().is_empty()).await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
    let body = r.report_body(&format!("x-{T0}-resolved"));
    assert!(
        body.contains("Executed: systemctl restart x.service"),
        "{body}"
    );
    let st = r.state();
    assert_eq!(st.machine.phase, Phase::Healthy);
    assert_eq!(st.open, None);
    let last = st.last.expect("the incident is kept as the last one");
    assert_eq!(last.cause, Cause::Stopped);
    let resolved = Outcome::Resolved {
        at_ms: T0,
        strategy: "service_restart".into(),
    };
    assert_eq!(last.outcome, resolved);
}

#[tokio::test]
async fn a_unit_going_down_is_seen_through_systemds_change_signal_between_probes() {
    // Probes an hour apart: only the signal can wake the worker after its first look.
    let r = rig("  check_interval: 1h\n");
    r.host.active("x.service");
    let host = r.host.clone();
    let crash = tokio::spawn(async move {
        sleep(Duration::from_millis(50)).await;
        host.crashed("x.service");
    });
    r.run_until("a report", |r| !r.reports().is_empty()).await;
    crash.await.unwrap();
    assert_eq!(r.host.count("watch x.service"), 1);
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
}

#[tokio::test]
async fn a_failed_probe_acts_only_after_failures_before_action_looks() {
    let mut r = rig("  failures_before_action: 3\n");
    r.host.hung("x.service"); // active, but nothing listens on 8080
    for misses in 1..=2 {
        r.look().await;
        assert_eq!(r.state().machine.phase, Phase::Failing { misses });
        assert_eq!(r.host.actions(), Vec::<String>::new(), "look {misses}");
    }
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    let cause = r.state().last.unwrap().cause;
    assert_eq!(cause, Cause::NotListening { port: 8080 });
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
}

#[tokio::test]
async fn after_heal_attempts_heals_in_the_window_the_breaker_trips_and_reports_flapping() {
    let mut r = rig("  heal_attempts: 2\n  heal_window: 15m\n");
    for _ in 0..2 {
        r.host.crashed("x.service");
        r.look().await;
        r.clock.advance(Duration::from_secs(60));
    }
    r.host.crashed("x.service");
    r.look().await;
    assert_eq!(r.host.count("restart x.service"), 2);
    let tripped = T0 + 120_000;
    assert_eq!(
        r.reports(),
        [
            report(T0, "resolved", RESOLVED),
            report(T0 + 60_000, "resolved", RESOLVED),
            report(tripped, "failed", FAILED),
        ]
    );
    let body = r.report_body(&format!("x-{tripped}-failed"));
    assert!(body.contains("x needed healing 2 times within"), "{body}");
    assert!(body.contains("(the journal of x.service)"), "{body}");
    let until = T0 / 1000 + 15 * 60;
    assert_eq!(r.state().machine.phase, Phase::Failed { until });

    r.clock.advance(Duration::from_secs(60));
    r.look().await;
    assert_eq!(r.host.count("restart x.service"), 2, "left alone");
    assert_eq!(r.reports().len(), 3, "reported once");
}

#[tokio::test]
async fn a_heal_that_fails_queues_a_failed_report_and_leaves_the_service_alone() {
    let mut r = rig("");
    r.host.crashed("x.service");
    r.host.on_start("x.service", [Then::Failed]);
    r.look().await;
    assert_eq!(r.reports(), [report(T0, "failed", FAILED)]);
    assert!(matches!(r.state().machine.phase, Phase::Failed { .. }));
    r.clock.advance(Duration::from_secs(30));
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_paused_service_is_never_restarted_until_the_pause_ends() {
    let mut r = rig("");
    r.control.pause(Some("x"), T0 / 1000 + 600).unwrap();
    r.host.crashed("x.service");
    for _ in 0..3 {
        r.look().await;
        r.clock.advance(Duration::from_secs(60));
    }
    assert_eq!(r.host.actions(), Vec::<String>::new());
    assert_eq!(r.reports(), []);
    let seen = r.state().last_probe.unwrap();
    assert!(seen.starts_with("x.service is failed"), "{seen}");

    r.clock.advance(Duration::from_secs(600));
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_healthy_look_goes_by_the_folder_as_last_read_and_a_reset_is_taken_once() {
    let mut r = rig("");
    let resets = |r: &Rig| {
        let events = r.sh.dirs.events_since(0).into_iter();
        events
            .filter(|e| e.service == "x" && e.event == "reset")
            .count()
    };
    r.host.active("x.service");
    r.control.request_reset("x").unwrap();
    r.look().await;
    r.sh.flush().await;
    assert_eq!(resets(&r), 0, "not read since it was asked");
    assert!(r.control.requests().reset_asked("x"), "left for the daemon");
    // The folder read again (once per check interval): the next look takes the request.
    *r.sh.requests.lock().unwrap() = r.control.requests();
    r.look().await;
    r.sh.flush().await;
    assert_eq!(resets(&r), 1);
    assert!(!r.control.requests().reset_asked("x"), "consumed");
    r.look().await;
    r.sh.flush().await;
    assert_eq!(resets(&r), 1, "once");
}

#[tokio::test]
async fn while_systemd_is_activating_the_unit_the_worker_waits_until_start_timeout() {
    let mut r = rig("  start_timeout: 300ms\n");
    r.host.stopped("x.service");
    r.host.set("x.service", "activating", "start");
    r.look().await;
    sleep(Duration::from_millis(20)).await;
    r.look().await;
    assert_eq!(
        r.host.actions(),
        Vec::<String>::new(),
        "systemd's own start"
    );
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    sleep(Duration::from_millis(300)).await; // start_timeout has passed
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_unit_systemd_restarts_by_itself_is_left_to_systemd() {
    let mut r = rig("");
    r.host.active("x.service");
    r.host
        .script("x.service", &[("activating", "auto-restart")]);
    r.look().await;
    r.look().await;
    assert_eq!(r.host.actions(), Vec::<String>::new());
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    let seen = r.state().last_probe.unwrap();
    assert_eq!(seen, "x.service is active, port 8080 is listening");
}

#[tokio::test]
async fn an_incident_left_open_by_a_killed_daemon_is_resumed_not_started_again() {
    let limits = "monitored_services:\n  - name: x\n    port: 8080\n    healing_strategies: [service_restart, reset_failed]\n";
    let config = fake::config(limits);
    let mut open = Incident::new(
        &config.services[0],
        "Detected x was failed".into(),
        Cause::Stopped,
        T0 - 5_000,
    );
    open.attempts.push(crate::heal::incident::Attempt {
        strategy: "service_restart".into(),
        ok: false,
        detail: "x.service did not become active".into(),
    });
    let mut r = rig_with("", |dirs| {
        let mut st = crate::state::State::default();
        let s = st.services.entry("x".into()).or_default();
        s.machine.phase = Phase::Healing;
        s.open = Some(Box::new(open));
        dirs.save_state(&st).unwrap();
    });
    r.svc = config.services[0].clone();
    Arc::get_mut(&mut r.sh)
        .expect("the rig's only reference")
        .config = config;
    r.host.crashed("x.service");
    r.run_until("a report", |r| !r.reports().is_empty()).await;
    assert_eq!(
        r.host.actions(),
        ["reset_failed x.service", "start x.service"]
    );
    let id = T0 - 5_000;
    assert_eq!(r.reports(), [report(id, "resolved", RESOLVED)]);
    let last = r.state().last.unwrap();
    assert_eq!(last.attempts.len(), 2);
}

#[tokio::test]
async fn a_state_lock_poisoned_by_a_panic_does_not_stop_the_worker() {
    let mut r = rig("");
    let sh = r.sh.clone();
    let poisoner = std::thread::spawn(move || {
        let _held = sh.state.lock();
        panic!("a panic while holding the state lock");
    });
    assert!(poisoner.join().is_err());
    r.host.crashed("x.service");
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

const REFUSED: &str = "org.freedesktop.DBus.Error.LimitsExceeded: The maximum number of pending replies per connection has been reached";

#[tokio::test]
async fn a_service_the_bus_will_not_answer_about_is_never_restarted() {
    let mut r = rig("");
    r.host.active("x.service");
    r.host.bus_refuses("x.service", REFUSED);
    for _ in 0..5 {
        r.look().await;
        r.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(r.host.actions(), Vec::<String>::new());
    assert_eq!(r.reports(), []);
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    // Reported as the daemon's own blindness, not the service's failure.
    let st = r.sh.lock_state().clone();
    assert_eq!(st.blind_services, ["x"]);
    assert_eq!(st.blind_since_ms, Some(T0));
    assert!(st.blind_error.unwrap().contains("LimitsExceeded"));
    let seen = r.state().last_probe.unwrap();
    assert!(seen.starts_with("cannot see x.service: "), "{seen}");
    assert_eq!(r.daemon_events("blind").await, 1, "once per episode");
}

#[tokio::test]
async fn when_the_bus_answers_again_a_healthy_unit_is_left_alone() {
    let mut r = rig("");
    r.host.active("x.service");
    r.host.bus_refuses("x.service", REFUSED);
    for _ in 0..3 {
        r.look().await;
    }
    r.host.bus_answers("x.service");
    r.look().await;
    assert_eq!(r.host.actions(), Vec::<String>::new());
    assert_eq!(r.reports(), []);
    let st = r.sh.lock_state().clone();
    assert_eq!(st.blind_services, Vec::<String>::new());
    assert_eq!(st.blind_since_ms, None);
    assert_eq!(r.daemon_events("blind").await, 1);
    assert_eq!(r.daemon_events("sight_restored").await, 1);
}

#[tokio::test]
async fn a_unit_really_down_once_the_bus_answers_again_is_healed_normally() {
    let mut r = rig("");
    r.host.active("x.service");
    r.host.bus_refuses("x.service", REFUSED);
    for _ in 0..3 {
        r.look().await;
    }
    r.host.bus_answers("x.service");
    r.host.crashed("x.service");
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
}

/// Waits (at most 1 s) until `path` exists.
async fn until_exists(path: &std::path::Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !path.exists() {
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
    true
}

#[tokio::test]
async fn looks_at_a_healthy_unchanged_service_do_not_write_the_state_again() {
    let mut r = rig("");
    r.host.active("x.service");
    r.look().await;
    let state = r.sh.dirs.state();
    assert!(until_exists(&state).await, "the first look is saved");
    sleep(Duration::from_millis(50)).await;
    std::fs::remove_file(&state).unwrap();
    for _ in 0..10 {
        r.look().await;
    }
    sleep(Duration::from_millis(50)).await;
    assert!(
        !state.exists(),
        "state.json was written again, though nothing changed"
    );

    r.host.crashed("x.service");
    r.look().await;
    assert!(until_exists(&state).await, "the heal is saved");
    sleep(Duration::from_millis(50)).await;
    let saved = r.sh.dirs.load_state().unwrap();
    let last = saved.services["x"].last.clone().expect("the incident");
    assert_eq!(last.cause, Cause::Crashed { status: 1 });
}

#[tokio::test]
async fn state_changes_refused_at_first_are_followed_once_the_bus_answers_again() {
    let r = rig("");
    r.host.active("x.service");
    r.host.bus_refuses("x.service", REFUSED);
    let host = r.host.clone();
    let answers = tokio::spawn(async move {
        sleep(Duration::from_millis(100)).await;
        host.bus_answers("x.service");
    });
    r.run_until("the changes are followed again", |r| {
        r.host.count("watch x.service") >= 2
    })
    .await;
    answers.await.unwrap();
    // Asked for once more after the bus answered, then no more: it has them.
    let watches = r
        .host
        .calls()
        .iter()
        .filter(|c| c.starts_with("watch"))
        .count();
    assert!(watches <= 3, "{watches} watch calls");
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

/// A host with hundreds of services has hundreds of workers waiting: each one's task holds its
/// whole future, so what a look or a heal needs is boxed for its moment (it was 6.7 KB).
#[tokio::test]
async fn a_waiting_worker_holds_little_memory() {
    let rig = rig("");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let worker = run(rig.sh.clone(), 0, rx);
    let size = std::mem::size_of_val(&worker);
    assert!(size <= 2048, "a worker's future is {size} bytes");
}

#[tokio::test]
async fn a_heal_waits_for_a_turn_to_act_when_max_concurrent_heals_are_acting_and_stays_alive_meanwhile()
 {
    let r = rig("  max_concurrent_heals: 1\n");
    // Another service's heal holds the only turn.
    let held =
        r.sh.ctx
            .turns
            .take(Duration::from_secs(1), &mut || {})
            .await;
    r.host.stopped("x.service");
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(r.sh.clone(), 0, stop_rx));
    sleep(Duration::from_millis(300)).await;
    assert!(r.host.actions().is_empty(), "{:?}", r.host.actions());
    assert_eq!(r.state().machine.phase, Phase::Healing);
    // Waiting is progress: the watchdog is fed while it waits (stamps every check_interval).
    assert_eq!(r.sh.progress.stalled(Duration::from_millis(150)), None);
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(2);
    while r.reports().is_empty() {
        assert!(Instant::now() < deadline, "no report once the turn came");
        sleep(Duration::from_millis(5)).await;
    }
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(r.host.actions(), ["restart x.service"]);
    let (id, _) = r.reports()[0].clone();
    let body = r.report_body(&id);
    assert!(
        body.contains("2. Waited ")
            && body.contains(
                " ms for a turn to act (limits.max_concurrent_heals: 1 actions at once on the host)"
            ),
        "{body}"
    );
}

/// Memory as the fake cgroup reads it.
fn memory(mib: u64) -> Usage {
    Usage {
        memory: Some(mib << 20),
        ..FRESH
    }
}

#[tokio::test]
async fn a_service_over_its_memory_rule_for_its_looks_is_restarted_once_with_the_figures_reported()
{
    let mut r = rig_rules("{memory: 30MiB, for: 3}");
    r.host.active("x.service");
    r.host.uses("x.service", memory(40));
    for n in 1..=2 {
        r.look().await;
        let seen = r.state().last_probe.unwrap();
        assert!(
            seen.ends_with(&format!(
                "but memory 40 MiB above its limit of 30 MiB ({n} of 3 looks)"
            )),
            "{seen}"
        );
    }
    assert!(
        r.host.actions().is_empty(),
        "two looks over the rule are not three"
    );
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
    let body = r.report_body(&format!("x-{T0}-resolved"));
    for line in [
        "Resource limit: memory 40 MiB above its limit of 30 MiB for 3 checks: a leak?",
        "Detected x was active but over its resource limits: memory 40 MiB above its limit of 30 MiB for 3 checks",
        "After the heal: memory 8 MiB: within its limits",
    ] {
        assert!(body.contains(line), "{line}\n{body}");
    }
    let last = r.state().last.unwrap();
    assert!(
        matches!(last.cause, Cause::OverLimit { .. }),
        "{:?}",
        last.cause
    );
    // The new process is under the rule: nothing more happens.
    for _ in 0..4 {
        r.look().await;
    }
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn rules_with_action_alert_are_reported_over_and_back_within_once_each_and_never_acted_on() {
    let mut r = rig_rules("{memory: 30MiB, for: 2, action: alert}");
    r.host.active("x.service");
    r.host.uses("x.service", memory(40));
    for _ in 0..6 {
        r.look().await;
    }
    assert!(r.host.actions().is_empty(), "{:?}", r.host.actions());
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    let over = format!("x-limits-{T0}-over");
    assert_eq!(
        r.reports(),
        [(
            over.clone(),
            "⚠️ MiracleMax: x - OVER ITS LIMITS".to_string()
        )]
    );
    let body = r.report_body(&over);
    for line in [
        "⚠️ OVER ITS LIMITS: memory 40 MiB above its limit of 30 MiB for 2 checks: a leak?",
        "NOW: memory 40 MiB",
        "nothing was done to the service (its limits say action: alert)",
        "4. Restart it when convenient: systemctl restart x.service",
    ] {
        assert!(body.contains(line), "{line}\n{body}");
    }
    // The state says so; the same words at every look while it stays over.
    let seen = r.state().last_probe.unwrap();
    assert!(
        seen.ends_with("but over its limits (reported; its limits say action: alert)"),
        "{seen}"
    );
    assert_eq!(r.state().over_limits_ms, Some(T0));
    r.host.uses("x.service", memory(10));
    for _ in 0..3 {
        r.look().await;
    }
    let within = format!("x-limits-{T0}-within");
    assert_eq!(r.reports().len(), 2, "{:?}", r.reports());
    assert!(r.reports().contains(&(
        within.clone(),
        "✅ MiracleMax: x - WITHIN ITS LIMITS".to_string()
    )));
    assert!(r.report_body(&within).contains("NOW: memory 10 MiB"));
    assert_eq!(r.state().over_limits_ms, None);
    assert!(r.host.actions().is_empty());
}

#[tokio::test]
async fn a_cgroup_found_without_a_controller_file_is_read_without_it_until_looked_at_anew() {
    let mut r = rig_rules("{memory: 30MiB, tasks: 100}");
    r.host.active("x.service");
    // No memory.current in its cgroup: memory summed from its processes.
    let lacking = Lacking {
        memory: true,
        ..Lacking::NONE
    };
    let summed = Usage {
        summed: true,
        lacking,
        ..memory(10)
    };
    r.host.uses("x.service", summed);
    for _ in 0..62 {
        r.look().await;
    }
    let told = r.host.told_lacking("x.service");
    assert_eq!(told.len(), 62);
    // Looked for at the first reading, trusted for the next 60, looked for again.
    assert_eq!(told[0], Lacking::default());
    assert!(told[1..61].iter().all(|&l| l == lacking), "{told:?}");
    assert_eq!(told[61], Lacking::default());
    // A cgroup with every file but no cgroup below it: that is remembered as well.
    let leaf = Lacking {
        descendants: true,
        ..Lacking::NONE
    };
    let mut r = rig_rules("{memory: 30MiB, fds: 100}");
    r.host.active("x.service");
    r.host.uses(
        "x.service",
        Usage {
            lacking: leaf,
            ..memory(10)
        },
    );
    for _ in 0..3 {
        r.look().await;
    }
    assert_eq!(
        r.host.told_lacking("x.service"),
        [Lacking::NONE, leaf, leaf]
    );
    // A cgroup with every file, or a reading that found no process, is never taken to lack one.
    for usage in [
        FRESH,
        Usage {
            lacking,
            ..Usage::default()
        },
    ] {
        let mut r = rig_rules("{memory: 30MiB}");
        r.host.active("x.service");
        r.host.uses("x.service", usage);
        for _ in 0..3 {
            r.look().await;
        }
        let told = r.host.told_lacking("x.service");
        assert_eq!(told, [Lacking::default(); 3], "{usage:?}");
    }
}

#[tokio::test]
async fn a_look_under_the_rule_starts_the_count_again() {
    let mut r = rig_rules("{memory: 30MiB, tasks: 100, for: 3}");
    r.host.active("x.service");
    for mib in [40, 40, 20, 40, 40] {
        r.host.uses("x.service", memory(mib));
        r.look().await;
    }
    assert!(r.host.actions().is_empty());
    assert_eq!(r.state().machine.phase, Phase::Healthy);
    // Any rule crossed keeps the count: tasks now, memory fine.
    r.host.uses(
        "x.service",
        Usage {
            tasks: Some(150),
            ..memory(20)
        },
    );
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    let cause = r.state().last.unwrap().cause.to_string();
    assert_eq!(
        cause,
        "Resource limit: tasks 150 above its limit of 100 for 3 checks: a process or thread leak?"
    );
}

#[tokio::test]
async fn cpu_is_judged_on_the_time_used_between_two_looks() {
    let mut r = rig_rules("{cpu: 50%, for: 2}");
    r.host.active("x.service");
    // The first reading has nothing to compare with; then a whole core's worth between looks
    // (more CPU time than the real time that passes between two looks here).
    let mut used = 0;
    for _ in 0..2 {
        r.host.uses(
            "x.service",
            Usage {
                cpu_usec: Some(used),
                ..FRESH
            },
        );
        r.look().await;
        used += 60_000_000;
    }
    assert!(
        r.host.actions().is_empty(),
        "one look over the rule is not two"
    );
    r.host.uses(
        "x.service",
        Usage {
            cpu_usec: Some(used),
            ..FRESH
        },
    );
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    let cause = r.state().last.unwrap().cause.to_string();
    assert!(
        cause.contains("CPU") && cause.contains("above its limit of 50 % for 2 checks: spinning?"),
        "{cause}"
    );
}

#[tokio::test]
async fn a_rule_whose_figure_cannot_be_read_is_said_and_never_acted_on() {
    let mut r = rig_rules("{memory: 30MiB, for: 1}");
    r.host.active("x.service");
    r.host.uses(
        "x.service",
        Usage {
            memory: None,
            ..FRESH
        },
    );
    for _ in 0..3 {
        r.look().await;
    }
    assert!(r.host.actions().is_empty());
    let seen = r.state().last_probe.unwrap();
    assert!(
        seen.ends_with(
            "but its limits on memory cannot be judged: it has no process to read them from"
        ),
        "{seen}"
    );
}

/// The service `x` (port 8080) whose health check is this command (a YAML list), acted on
/// at its first failure.
fn rig_command(argv: &str) -> Rig {
    let config = CONFIG.replace(
        "    port: 8080\n",
        &format!("    port: 8080\n    health:\n      command: {argv}\n      timeout: 5s\n"),
    );
    rig_from(&config, "  failures_before_action: 1\n", |_| {})
}

#[tokio::test]
async fn a_failing_check_command_with_the_port_open_is_healed_and_its_exit_and_output_reported() {
    let dir = tempfile::tempdir().unwrap();
    let once = dir.path().join("failed-once");
    // Fails the first time (the service refuses queries), passes from then on.
    let script = format!(
        "test -e {f} || {{ touch {f}; echo 'could not connect: refused' >&2; exit 2; }}",
        f = once.display()
    );
    let mut r = rig_command(&format!("[/bin/sh, -c, {script:?}]"));
    r.host.active("x.service");
    r.look().await;
    assert_eq!(r.host.actions(), ["restart x.service"]);
    assert_eq!(r.reports(), [report(T0, "resolved", RESOLVED)]);
    let body = r.report_body(&format!("x-{T0}-resolved"));
    for line in [
        "Health check failing: running, but its check command /bin/sh exited with status 2: could not connect: refused",
        "Detected x was active but its health check failed: check command /bin/sh exited with status 2: could not connect: refused",
        "check command /bin/sh exited 0",
    ] {
        assert!(body.contains(line), "{line}\n{body}");
    }
    assert!(
        matches!(r.state().last.unwrap().cause, Cause::CheckFailed { .. }),
        "{body}"
    );
    r.look().await;
    let seen = r.state().last_probe.unwrap();
    assert!(
        seen.ends_with("port 8080 is listening, check command /bin/sh exited 0"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_check_command_that_cannot_be_run_is_said_and_never_acted_on() {
    let mut r = rig_command("[/nonexistent/check, --quiet]");
    r.host.active("x.service");
    for _ in 0..3 {
        r.look().await;
    }
    assert!(r.host.actions().is_empty(), "{:?}", r.host.actions());
    assert!(r.reports().is_empty());
    let seen = r.state().last_probe.unwrap();
    assert!(
        seen.ends_with(
            "but its check command cannot be run: /nonexistent/check cannot be started: No such \
             file or directory (os error 2) (install it, or give its path)"
        ),
        "{seen}"
    );
}
