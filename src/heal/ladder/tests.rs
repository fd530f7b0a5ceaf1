//! The healing ladder on a fake host: what each strategy does to systemd and the process
//! table, and what the incident (and so the report) says about it.

use super::*;
use crate::daemon::fake::{self, FakeClock, FakeHost, T0, Then};
use crate::heal::cause::Cause;

const CONFIG: &str = "
monitored_services:
  - name: x
    port: 8080
    healing_strategies: [service_restart]
limits:
  settle_time: 0s
  start_timeout: 200ms
  kill_grace: 100ms
protected_processes: [postgres]
";

/// A stray `python3 -m http.server` started by hand in an SSH session.
const SESSION: &str = "/user.slice/user-0.slice/session-1.scope";

struct Rig {
    host: Arc<FakeHost>,
    ctx: Ctx,
    svc: Service,
}

/// The service `x` (port 8080) with these strategies, on a fresh fake host.
fn rig(strategies: &[Strategy]) -> Rig {
    let config = fake::config(CONFIG);
    let host = Arc::new(FakeHost::new());
    host.serves("x.service", 8080);
    let mut svc = config.services[0].clone();
    svc.healing_strategies = strategies.to_vec();
    Rig {
        ctx: fake::ctx(&config, &host, &Arc::new(FakeClock::at(T0))),
        host,
        svc,
    }
}

struct Healed {
    by: Option<Strategy>,
    inc: Incident,
    saves: usize,
}

impl Rig {
    async fn heal(&self) -> Healed {
        let inc = Incident::new(&self.svc, "Detected x was down".into(), Cause::Stopped, T0);
        self.resume(inc).await
    }

    async fn resume(&self, mut inc: Incident) -> Healed {
        let mut saves = 0;
        let by = run(&self.ctx, &self.svc, &mut inc, &mut |_: &Incident| {
            saves += 1
        })
        .await;
        Healed { by, inc, saves }
    }
}

fn attempt(strategy: &str, ok: bool, detail: &str) -> Attempt {
    Attempt {
        strategy: strategy.into(),
        ok,
        detail: detail.into(),
    }
}

const STILL_FAILED: &str = "x.service did not become active: its restart job ended 'failed' \
                            (ActiveState=failed, Result=exit-code, ExecMainStatus=1)";
const START_FAILED: &str = "x.service did not become active: its start job ended 'failed' \
                            (ActiveState=failed, Result=exit-code, ExecMainStatus=1)";

#[tokio::test]
async fn service_restart_heals_a_stopped_unit_and_says_what_it_executed_and_verified() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.stopped("x.service");
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::ServiceRestart));
    assert_eq!(
        h.inc.steps,
        [
            "Executed: systemctl restart x.service -> job done in 0.0 s",
            "Verified: x.service is active, port 8080 is listening"
        ]
    );
    let verified = "x.service is active, port 8080 is listening";
    assert_eq!(h.inc.attempts, [attempt("service_restart", true, verified)]);
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_restart_that_leaves_the_unit_failed_falls_through_every_strategy_and_fails() {
    use Strategy::*;
    let r = rig(&[ServiceRestart, PortConflict, ResetFailed]);
    r.host.crashed("x.service");
    r.host.on_start("x.service", [Then::Failed]);
    let h = r.heal().await;
    assert_eq!(h.by, None);
    assert_eq!(
        h.inc.attempts,
        [
            attempt("service_restart", false, STILL_FAILED),
            attempt(
                "port_conflict",
                false,
                "skipped: port 8080 was not held by another process"
            ),
            attempt("reset_failed", false, START_FAILED),
        ]
    );
    assert_eq!(
        r.host.actions(),
        [
            "restart x.service",
            "reset_failed x.service",
            "start x.service"
        ]
    );
    assert_eq!(
        h.saves, 5,
        "the incident is saved before every job (2) and after every attempt (3)"
    );
}

#[tokio::test]
async fn a_restart_job_still_running_is_verified_once_the_unit_is_active() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.crashed("x.service");
    let starting = ("activating", "start");
    r.host
        .after_start("x.service", &[starting, starting, starting]);
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::ServiceRestart));
    assert_eq!(r.host.count("restart x.service"), 1);
}

#[tokio::test]
async fn a_unit_still_activating_after_start_timeout_fails_the_step() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.stopped("x.service");
    r.host
        .after_start("x.service", &[("activating", "start"); 200]);
    let h = r.heal().await;
    assert_eq!(h.by, None);
    let why = "x.service did not become active: its restart job was still running after 200ms \
               (ActiveState=activating, Result=success)";
    assert_eq!(h.inc.attempts, [attempt("service_restart", false, why)]);
}

#[tokio::test]
async fn a_dbus_error_on_restart_fails_the_step_with_the_error_text() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.crashed("x.service");
    r.host
        .on_start("x.service", [Then::DbusError("Connection timed out")]);
    let h = r.heal().await;
    assert_eq!(h.by, None);
    let why = "D-Bus call RestartUnit for x.service failed: \
               org.freedesktop.DBus.Error.Failed: Connection timed out";
    assert_eq!(h.inc.attempts, [attempt("service_restart", false, why)]);
    assert_eq!(h.inc.steps, ["Executed: systemctl restart x.service"]);
}

#[tokio::test]
async fn port_conflict_kills_the_stray_listener_but_never_the_units_own_process() {
    let r = rig(&[Strategy::PortConflict]);
    r.host.crashed("x.service");
    r.host.listen(8080, 4242, "python3", SESSION);
    // A child the unit left behind: its cgroup is still the unit's.
    r.host
        .listen(8080, 300, "x-worker", "/system.slice/x.service");
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::PortConflict));
    assert_eq!(r.host.signals(), [(4242, "SIGTERM")]);
    assert_eq!(
        h.inc.steps,
        [
            "Found port 8080 held by PID 4242 (python3, user root) outside x.service",
            "Killed PID 4242 (python3) with SIGTERM",
            "Executed: systemctl restart x.service -> job done in 0.0 s",
            "Verified: x.service is active, port 8080 is listening",
        ]
    );
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_stray_that_ignores_sigterm_is_killed_with_sigkill_after_kill_grace() {
    let r = rig(&[Strategy::PortConflict]);
    r.host.crashed("x.service");
    r.host.listen(8080, 4242, "python3", SESSION);
    r.host.ignores_sigterm(4242);
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::PortConflict));
    assert_eq!(r.host.signals(), [(4242, "SIGTERM"), (4242, "SIGKILL")]);
    assert_eq!(
        h.inc.steps[1],
        "Killed PID 4242 (python3) with SIGKILL (still running 100ms after SIGTERM)"
    );
}

#[tokio::test]
async fn port_conflict_never_kills_pid_1_sshd_this_daemon_or_a_protected_process() {
    let me = std::process::id() as i32;
    for (pid, comm, why) in [
        (1, "systemd", "PID 1"),
        (612, "sshd", "sshd"),
        (me, "miraclemax-self", "this daemon"),
        (733, "postgres", "in protected_processes"),
    ] {
        let r = rig(&[Strategy::PortConflict]);
        r.host.crashed("x.service");
        r.host
            .listen(8080, pid, comm, "/system.slice/other.service");
        let h = r.heal().await;
        assert_eq!(h.by, None, "{comm}");
        let detail = format!(
            "port 8080 is held by PID {pid} ({comm}, user root), which is {why}; not killed"
        );
        assert_eq!(h.inc.attempts, [attempt("port_conflict", false, &detail)]);
        assert_eq!(r.host.signals(), [], "no signal to {comm}");
        assert_eq!(r.host.actions(), Vec::<String>::new(), "{comm}");
    }
}

#[tokio::test]
async fn port_conflict_steps_aside_when_the_service_has_no_port_or_the_running_unit_holds_it() {
    let mut r = rig(&[Strategy::PortConflict]);
    r.svc.port = None;
    r.host.crashed("x.service");
    let h = r.heal().await;
    let none = "skipped: the service has no port";
    assert_eq!(h.inc.attempts, [attempt("port_conflict", false, none)]);

    let r = rig(&[Strategy::PortConflict]);
    r.host.active("x.service");
    r.host
        .listen(8080, 300, "x-worker", "/system.slice/x.service");
    let h = r.heal().await;
    let own = "skipped: port 8080 was not held by another process";
    assert_eq!(h.inc.attempts, [attempt("port_conflict", false, own)]);
    assert_eq!(r.host.signals(), []);
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

#[tokio::test]
async fn reset_failed_steps_aside_when_the_unit_is_not_failed() {
    let r = rig(&[Strategy::ResetFailed]);
    r.host.stopped("x.service");
    let h = r.heal().await;
    let why = "skipped: x.service was not in the failed state";
    assert_eq!(h.inc.attempts, [attempt("reset_failed", false, why)]);
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

#[tokio::test]
async fn reset_failed_clears_the_failed_state_and_starts_the_unit() {
    let r = rig(&[Strategy::ResetFailed]);
    r.host.crashed("x.service");
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::ResetFailed));
    assert_eq!(
        h.inc.steps[..2],
        [
            "Executed: systemctl reset-failed x.service",
            "Executed: systemctl start x.service -> job done in 0.0 s"
        ]
    );
    assert_eq!(
        r.host.actions(),
        ["reset_failed x.service", "start x.service"]
    );
}

#[tokio::test]
async fn dependency_restart_starts_the_inactive_dependency_before_the_service() {
    let mut r = rig(&[Strategy::DependencyRestart]);
    r.svc.depends_on = ["db.service", "cache.service"]
        .map(|u| crate::config::UnitName::parse(u).unwrap())
        .to_vec();
    r.host.stopped("db.service");
    r.host.active("cache.service");
    r.host.crashed("x.service");
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::DependencyRestart));
    assert_eq!(r.host.actions(), ["start db.service", "restart x.service"]);
    assert_eq!(
        h.inc.steps[0],
        "Found dependency db.service inactive; executed: systemctl start db.service \
         -> job done in 0.0 s"
    );
}

#[tokio::test]
async fn a_dbus_error_reading_a_dependency_fails_the_step_and_restarts_nothing() {
    let mut r = rig(&[Strategy::DependencyRestart]);
    r.svc.depends_on = vec![crate::config::UnitName::parse("db.service").unwrap()];
    r.host.crashed("x.service");
    r.host.bus_refuses("db.service", "Connection is closed");
    let h = r.heal().await;
    assert_eq!(h.by, None);
    let why = "D-Bus call LoadUnit for db.service failed: \
               org.freedesktop.DBus.Error.Failed: Connection is closed";
    assert_eq!(h.inc.attempts, [attempt("dependency_restart", false, why)]);
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

#[tokio::test]
async fn dependency_restart_steps_aside_when_every_dependency_is_active() {
    let mut r = rig(&[Strategy::DependencyRestart]);
    r.svc.depends_on = vec![crate::config::UnitName::parse("db.service").unwrap()];
    r.host.active("db.service");
    r.host.crashed("x.service");
    let h = r.heal().await;
    let why = "skipped: every dependency was already active";
    assert_eq!(h.inc.attempts, [attempt("dependency_restart", false, why)]);
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

#[tokio::test]
async fn kill_hung_kills_the_main_process_then_restarts_the_unit() {
    let r = rig(&[Strategy::KillHung]);
    r.host.hung("x.service");
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::KillHung));
    assert_eq!(
        r.host.actions(),
        ["kill_main x.service 9", "restart x.service"]
    );
    assert_eq!(
        h.inc.steps[0],
        "Killed hung main process PID 1001 of x.service with SIGKILL"
    );
}

#[tokio::test]
async fn a_resumed_incident_does_not_repeat_the_strategies_it_already_tried() {
    let r = rig(&[Strategy::ServiceRestart, Strategy::ResetFailed]);
    r.host.crashed("x.service");
    let mut inc = Incident::new(&r.svc, "Detected x was failed".into(), Cause::Stopped, T0);
    inc.attempts
        .push(attempt("service_restart", false, STILL_FAILED));
    let h = r.resume(inc).await;
    assert_eq!(h.by, Some(Strategy::ResetFailed));
    assert_eq!(
        r.host.actions(),
        ["reset_failed x.service", "start x.service"]
    );
    assert_eq!(h.inc.attempts.len(), 2);
}

#[tokio::test]
async fn a_restart_systemd_already_queued_is_judged_by_its_job_not_by_the_state_the_crash_left() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.crashed("x.service");
    // Right after RestartUnit the reads still see what the crash left, then the start job.
    r.host.after_start(
        "x.service",
        &[("failed", "failed"), ("activating", "start")],
    );
    let h = r.heal().await;
    let verified = "x.service is active, port 8080 is listening";
    assert_eq!(h.inc.attempts, [attempt("service_restart", true, verified)]);
    assert_eq!(h.by, Some(Strategy::ServiceRestart));
    let executed = &h.inc.steps[0];
    assert!(
        executed.starts_with("Executed: systemctl restart x.service -> job done in "),
        "{executed}"
    );
    assert_eq!(r.host.actions(), ["restart x.service"]);
}

#[tokio::test]
async fn a_resolved_heal_lists_each_step_with_its_outcome() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.stopped("x.service");
    let h = r.heal().await;
    assert_eq!(
        h.inc.steps,
        [
            "Executed: systemctl restart x.service -> job done in 0.0 s",
            "Verified: x.service is active, port 8080 is listening"
        ]
    );
}

#[tokio::test]
async fn a_pid_reused_between_finding_the_stray_and_killing_it_is_never_signalled() {
    let r = rig(&[Strategy::PortConflict]);
    r.host.crashed("x.service");
    r.host.listen(8080, 4242, "python3", SESSION);
    r.host.pid_reused_after_lookup(4242, "bash", SESSION);
    let h = r.heal().await;
    assert_eq!(
        r.host.signals(),
        [],
        "the new process with PID 4242 is left alone"
    );
    assert_eq!(
        h.inc.steps[..2],
        [
            "Found port 8080 held by PID 4242 (python3, user root) outside x.service",
            "Did not signal PID 4242: python3 had exited and the PID now belongs to \
             another process (bash)",
        ]
    );
}

#[tokio::test]
async fn a_port_held_by_the_units_own_leftover_child_is_named_in_the_failed_step() {
    use Strategy::*;
    let r = rig(&[ServiceRestart, PortConflict]);
    r.host.crashed("x.service");
    r.host.on_start("x.service", [Then::Failed]);
    r.host
        .listen(8080, 300, "x-worker", "/system.slice/x.service");
    let h = r.heal().await;
    assert_eq!(h.by, None);
    let why = "port 8080 is held by PID 300 (x-worker, user root), a leftover process of \
               x.service's own cgroup, so x.service cannot bind it; not killed by this \
               strategy: run systemctl kill x.service (or systemctl stop x.service), then \
               systemctl start x.service";
    assert_eq!(h.inc.attempts[1], attempt("port_conflict", false, why));
    assert_eq!(r.host.signals(), []);
}

#[tokio::test]
async fn a_stray_found_in_the_units_own_cgroup_at_kill_time_is_not_killed() {
    let r = rig(&[Strategy::PortConflict]);
    r.host.crashed("x.service");
    r.host.listen(8080, 4242, "python3", SESSION);
    r.host.moved_after_lookup(4242, "/system.slice/x.service");
    let h = r.heal().await;
    assert_eq!(r.host.signals(), []);
    let why = "PID 4242 (python3) is now in x.service's own cgroup; not killed";
    assert_eq!(h.inc.attempts, [attempt("port_conflict", false, why)]);
    assert_eq!(r.host.actions(), Vec::<String>::new());
}

#[tokio::test]
async fn a_dependency_whose_start_job_fails_is_named_with_the_jobs_result() {
    let mut r = rig(&[Strategy::DependencyRestart]);
    r.svc.depends_on = vec![crate::config::UnitName::parse("db.service").unwrap()];
    r.host.stopped("db.service");
    r.host.on_start("db.service", [Then::Failed]);
    r.host.crashed("x.service");
    let h = r.heal().await;
    assert_eq!(h.by, None);
    let why = "db.service did not become active: its start job ended 'failed' \
               (ActiveState=failed, Result=exit-code, ExecMainStatus=1)";
    assert_eq!(h.inc.attempts, [attempt("dependency_restart", false, why)]);
    assert_eq!(r.host.actions(), ["start db.service"]);
}

#[tokio::test]
async fn a_restart_job_replaced_by_a_newer_one_is_judged_by_the_units_state() {
    let r = rig(&[Strategy::ServiceRestart]);
    r.host.crashed("x.service");
    r.host.on_start("x.service", [Then::Canceled]);
    let h = r.heal().await;
    assert_eq!(h.by, Some(Strategy::ServiceRestart));
    assert_eq!(
        h.inc.steps,
        [
            "Executed: systemctl restart x.service -> job canceled after 0.0 s",
            "Verified: x.service is active, port 8080 is listening"
        ]
    );
}
