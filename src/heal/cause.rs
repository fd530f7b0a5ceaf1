//! Root cause, classified from systemd's own record of the last run (Result=, ExecMainCode=,
//! ExecMainStatus=) and from what the probes saw. Pure, so it is tested on captured
//! `systemctl show` output. `refine` says which cause a FAILED report names once the restarts
//! failed too.

use crate::probe::port::Listener;
use crate::systemd::{ExecCode, ServiceResult, UnitStatus};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a probe found wrong while the unit itself looked active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Finding {
    /// The unit is not active: systemd's data says why.
    UnitDown,
    /// Active, but nothing listens on its port.
    PortNotListening(u16),
    /// Its port is held by a process outside the unit.
    PortHeld { port: u16, holder: Listener },
    /// Active, but the HTTP probe failed.
    HttpFailed(String),
    /// Active, but its check command failed or hung: why ("check command /usr/bin/pg_isready
    /// exited with status 2: no response").
    CheckFailed(String),
    /// Active and answering, but over its resource rules for their `for` looks in a row: each
    /// rule crossed, said whole ("memory 1.3 GiB above its limit of 1 GiB for 3 checks: a
    /// leak?").
    OverLimit(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cause {
    Stopped,
    Crashed {
        status: i32,
    },
    Killed {
        signal: i32,
    },
    CoreDump {
        signal: i32,
    },
    OutOfMemory,
    Timeout,
    /// Started too often (by hand, a timer, a dependency) and systemd refuses more starts.
    StartLimit,
    /// The unit's own `Restart=` restarted it until it hit its start limit: it fails at every
    /// start. `last` is how its main process last ended, e.g. "exited with status 1".
    RestartLoop {
        restarts: u32,
        last: String,
    },
    ConfigError {
        status: i32,
    },
    /// Every start the healer made ended with the main process exiting with this status: it
    /// cannot start (whatever stopped it first).
    FailsAtStart {
        status: i32,
    },
    PortConflict {
        port: u16,
        holder: String,
    },
    NotListening {
        port: u16,
    },
    Hung {
        why: String,
    },
    DependencyDown {
        units: Vec<String>,
    },
    /// Running, but its check command fails or hangs: why.
    CheckFailed {
        why: String,
    },
    /// Over its resource rules: each rule crossed, said whole.
    OverLimit {
        crossed: Vec<String>,
    },
    Other {
        result: String,
    },
}

/// Exit statuses systemd itself uses when it cannot even run the command (systemd.exec(5),
/// "Process Exit Codes"): a configuration problem, not a crash.
fn systemd_exec_status(status: i32) -> Option<&'static str> {
    Some(match status {
        200 => "CHDIR",
        203 => "EXEC",
        205 => "LIMITS",
        206 => "OOM_ADJUST",
        207 => "SIGNAL_MASK",
        208 => "STDIN",
        209 => "STDOUT",
        214 => "SETSCHEDULER",
        216 => "GROUP",
        217 => "USER",
        218 => "CAPABILITIES",
        219 => "CGROUP",
        220 => "SETSID",
        225 => "KEYRING",
        226 => "NAMESPACE",
        227 => "NO_NEW_PRIVILEGES",
        228 => "SECCOMP",
        231 => "APPARMOR",
        233 => "RUNTIME_DIRECTORY",
        236 => "SMACK_PROCESS_LABEL",
        237 => "KEYRING",
        238 => "STATE_DIRECTORY",
        239 => "CACHE_DIRECTORY",
        240 => "LOGS_DIRECTORY",
        241 => "CONFIGURATION_DIRECTORY",
        242 => "NUMA_POLICY",
        243 => "CREDENTIALS",
        _ => return None,
    })
}

/// sysexits.h: "configuration error", the exit status of a daemon refusing its own config.
const EX_CONFIG: i32 = 78;

pub fn classify(st: &UnitStatus, finding: &Finding) -> Cause {
    match finding {
        Finding::PortHeld { port, holder } => {
            return Cause::PortConflict {
                port: *port,
                holder: holder.describe(),
            };
        }
        Finding::PortNotListening(port) if st.is_active() => {
            return Cause::NotListening { port: *port };
        }
        Finding::HttpFailed(why) if st.is_active() => return Cause::Hung { why: why.clone() },
        Finding::CheckFailed(why) if st.is_active() => {
            return Cause::CheckFailed { why: why.clone() };
        }
        Finding::OverLimit(crossed) if st.is_active() => {
            return Cause::OverLimit {
                crossed: crossed.clone(),
            };
        }
        _ => {}
    }
    match st.result {
        ServiceResult::StartLimitHit if st.n_restarts > 0 => Cause::RestartLoop {
            restarts: st.n_restarts,
            last: last_exit(st),
        },
        ServiceResult::StartLimitHit => Cause::StartLimit,
        ServiceResult::OomKill => Cause::OutOfMemory,
        ServiceResult::Timeout => Cause::Timeout,
        ServiceResult::CoreDump => Cause::CoreDump {
            signal: st.exec_main_status,
        },
        ServiceResult::Signal => Cause::Killed {
            signal: st.exec_main_status,
        },
        ServiceResult::ExitCode
            if systemd_exec_status(st.exec_main_status).is_some()
                || st.exec_main_status == EX_CONFIG =>
        {
            Cause::ConfigError {
                status: st.exec_main_status,
            }
        }
        ServiceResult::ExitCode => Cause::Crashed {
            status: st.exec_main_status,
        },
        // systemd counts an exit on SIGTERM, SIGINT, SIGHUP or SIGPIPE as success: that is how
        // `systemctl stop` ends most services, so it is a stop, not a kill.
        ServiceResult::Success | ServiceResult::None => Cause::Stopped,
        other => Cause::Other {
            result: other.to_string(),
        },
    }
}

/// How the main process last ended, for a cause: "exited with status 1".
fn last_exit(st: &UnitStatus) -> String {
    match st.exec_main_code {
        ExecCode::Exited => format!("exited with status {}", st.exec_main_status),
        ExecCode::Killed => format!("was killed by {}", signal_name(st.exec_main_status)),
        ExecCode::Dumped => format!("dumped core ({})", signal_name(st.exec_main_status)),
        ExecCode::None => String::new(),
    }
}

/// The root cause for a FAILED report, once every strategy failed: `original` is what detection
/// saw, `after` systemd's record of the last (failed) start. What ended the service stays the
/// root cause (a SIGKILL is not turned into the "status 1" of the restarts that followed);
/// systemd's record replaces it only when detection saw no failure (a stop, an unknown result)
/// or when the service cannot even be started (its command or settings are wrong, or systemd
/// gave up starting it), which is what a human must fix first.
pub fn refine(original: &Cause, after: &UnitStatus) -> Cause {
    if after.is_active() || matches!(after.result, ServiceResult::Success | ServiceResult::None) {
        return original.clone();
    }
    let now = match classify(after, &Finding::UnitDown) {
        // After the healer's own starts: it exits at each one.
        Cause::Crashed { status } => Cause::FailsAtStart { status },
        now => now,
    };
    let detection_saw_no_failure = matches!(original, Cause::Stopped | Cause::Other { .. });
    let cannot_start = matches!(
        now,
        Cause::ConfigError { .. }
            | Cause::FailsAtStart { .. }
            | Cause::StartLimit
            | Cause::RestartLoop { .. }
    );
    if detection_saw_no_failure || cannot_start {
        now
    } else {
        original.clone()
    }
}

pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    format!("signal {sig} ({name})")
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Cause::Stopped => write!(
                f,
                "Service was stopped (systemctl stop, or its main process exited cleanly or on SIGTERM)"
            ),
            Cause::Crashed { status } => write!(
                f,
                "Service crashed: main process exited with status {status}"
            ),
            Cause::Killed { signal } => write!(
                f,
                "Service was killed: main process killed by {}",
                signal_name(*signal)
            ),
            Cause::CoreDump { signal } => {
                write!(
                    f,
                    "Service crashed: main process dumped core ({})",
                    signal_name(*signal)
                )
            }
            Cause::OutOfMemory => write!(f, "Service was killed by the out-of-memory killer"),
            Cause::Timeout => write!(f, "Service timed out starting or stopping"),
            Cause::StartLimit => write!(
                f,
                "systemd gave up: the unit hit its start limit (StartLimitBurst)"
            ),
            Cause::RestartLoop { restarts, last } => {
                write!(
                    f,
                    "Restart loop: systemd restarted the service {restarts} times on its own \
                     (Restart=) and then gave up at its start limit (StartLimitBurst)"
                )?;
                if !last.is_empty() {
                    write!(f, "; its main process last {last}")?;
                }
                Ok(())
            }
            Cause::ConfigError { status } if *status == EX_CONFIG => write!(
                f,
                "Configuration error: the service fails at start (status {status}/EX_CONFIG: it \
                 says its configuration is wrong)"
            ),
            Cause::FailsAtStart { status } => write!(
                f,
                "Fails at start: its main process exited with status {status} at each start \
                 (its own log lines below say why)"
            ),
            Cause::ConfigError { status } => match systemd_exec_status(*status) {
                Some(name) => write!(
                    f,
                    "Configuration error: the service fails at start (status {status}/{name})"
                ),
                None => write!(
                    f,
                    "Configuration error: the service fails at start (status {status})"
                ),
            },
            Cause::PortConflict { port, holder } => {
                write!(
                    f,
                    "Port conflict: port {port} was held by {holder}, outside the service"
                )
            }
            Cause::NotListening { port } => {
                write!(f, "Service was running but not listening on port {port}")
            }
            Cause::Hung { why } => write!(f, "Service hung: running but not answering ({why})"),
            Cause::DependencyDown { units } => write!(f, "Dependency down: {}", units.join(", ")),
            Cause::CheckFailed { why } => write!(f, "Health check failing: running, but its {why}"),
            Cause::OverLimit { crossed } => write!(f, "Resource limit: {}", crossed.join("; ")),
            Cause::Other { result } => write!(f, "Service failed (systemd Result={result})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> UnitStatus {
        UnitStatus::from_show(text)
    }

    // Captured with `systemctl show example.service` on a testbed host after each event.
    const STOPPED: &str = "LoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success\nMainPID=0\nExecMainCode=1\nExecMainStatus=0\nNRestarts=0\nControlGroup=\n";
    const KILLED_9: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=signal\nMainPID=0\nExecMainCode=2\nExecMainStatus=9\nNRestarts=0\nControlGroup=\n";
    const EXEC_MISSING: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nMainPID=0\nExecMainCode=1\nExecMainStatus=203\nNRestarts=0\nControlGroup=\n";
    const EXIT_1: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nMainPID=0\nExecMainCode=1\nExecMainStatus=1\n";
    const START_LIMIT: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=start-limit-hit\nExecMainCode=1\nExecMainStatus=1\n";
    const OOM: &str =
        "ActiveState=failed\nSubState=failed\nResult=oom-kill\nExecMainCode=2\nExecMainStatus=9\n";
    const SEGV: &str = "ActiveState=failed\nSubState=failed\nResult=core-dump\nExecMainCode=3\nExecMainStatus=11\n";
    const ACTIVE: &str = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=412\nExecMainCode=0\nExecMainStatus=0\nControlGroup=/system.slice/example.service\n";

    // `systemctl stop` of a process that does not catch SIGTERM.
    const STOPPED_BY_SIGTERM: &str = "LoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success\nMainPID=0\nExecMainCode=2\nExecMainStatus=15\n";

    #[test]
    fn a_clean_stop_is_a_stop() {
        assert_eq!(classify(&show(STOPPED), &Finding::UnitDown), Cause::Stopped);
        assert_eq!(
            classify(&show(STOPPED_BY_SIGTERM), &Finding::UnitDown),
            Cause::Stopped
        );
    }

    #[test]
    fn kill_dash_nine_is_killed_by_signal_9() {
        let c = classify(&show(KILLED_9), &Finding::UnitDown);
        assert_eq!(c, Cause::Killed { signal: 9 });
        assert_eq!(
            c.to_string(),
            "Service was killed: main process killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn a_missing_binary_is_a_configuration_error() {
        let c = classify(&show(EXEC_MISSING), &Finding::UnitDown);
        assert_eq!(
            c.to_string(),
            "Configuration error: the service fails at start (status 203/EXEC)"
        );
    }

    #[test]
    fn other_results_map_to_their_causes() {
        assert_eq!(
            classify(&show(EXIT_1), &Finding::UnitDown),
            Cause::Crashed { status: 1 }
        );
        assert_eq!(
            classify(&show(START_LIMIT), &Finding::UnitDown),
            Cause::StartLimit
        );
        assert_eq!(classify(&show(OOM), &Finding::UnitDown), Cause::OutOfMemory);
        assert_eq!(
            classify(&show(SEGV), &Finding::UnitDown).to_string(),
            "Service crashed: main process dumped core (signal 11 (SIGSEGV))"
        );
    }

    // A unit whose own `Restart=on-failure` restarted it until StartLimitBurst.
    const RESTART_LOOP: &str = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=start-limit-hit\nMainPID=0\nExecMainCode=1\nExecMainStatus=1\nNRestarts=5\n";

    #[test]
    fn a_unit_that_hit_its_start_limit_through_its_own_restarts_is_named_a_restart_loop() {
        let c = classify(&show(RESTART_LOOP), &Finding::UnitDown);
        assert_eq!(
            c.to_string(),
            "Restart loop: systemd restarted the service 5 times on its own (Restart=) and then \
             gave up at its start limit (StartLimitBurst); its main process last exited with status 1"
        );
        assert_eq!(
            classify(&show(START_LIMIT), &Finding::UnitDown).to_string(),
            "systemd gave up: the unit hit its start limit (StartLimitBurst)",
            "started too often by hand or by a timer, not by its own Restart="
        );
    }

    #[test]
    fn when_the_restarts_fail_the_start_is_what_keeps_it_down_whatever_ended_it() {
        // The kill or crash that ended it is in the report's first line; the root cause is
        // what stops it from coming back.
        for first in [Cause::Killed { signal: 9 }, Cause::Crashed { status: 1 }] {
            assert_eq!(
                refine(&first, &show(EXIT_1)),
                Cause::FailsAtStart { status: 1 }
            );
        }
        // Killed again at start (say, by the OOM killer): the kill it is.
        let killed = Cause::Killed { signal: 9 };
        assert_eq!(refine(&killed, &show(KILLED_9)), killed);
    }

    #[test]
    fn a_stop_is_refined_by_how_the_restarts_failed() {
        assert_eq!(
            refine(&Cause::Stopped, &show(EXEC_MISSING)),
            Cause::ConfigError { status: 203 }
        );
        assert_eq!(
            refine(&Cause::Stopped, &show(EXIT_1)),
            Cause::FailsAtStart { status: 1 }
        );
        // A binary gone missing is what to fix, whatever ended the last run.
        assert_eq!(
            refine(&Cause::Killed { signal: 9 }, &show(EXEC_MISSING)),
            Cause::ConfigError { status: 203 }
        );
        // Nothing new: an active unit, or one that stopped cleanly.
        assert_eq!(refine(&Cause::Stopped, &show(ACTIVE)), Cause::Stopped);
        assert_eq!(refine(&Cause::Stopped, &show(STOPPED)), Cause::Stopped);
    }

    #[test]
    fn probe_findings_on_an_active_unit_name_the_probe() {
        let st = show(ACTIVE);
        assert_eq!(
            classify(&st, &Finding::PortNotListening(8080)),
            Cause::NotListening { port: 8080 }
        );
        assert_eq!(
            classify(&st, &Finding::HttpFailed("no answer within 2s".into())).to_string(),
            "Service hung: running but not answering (no answer within 2s)"
        );
        let holder = Listener {
            pid: 77,
            comm: "python3".into(),
            cmdline: "python3 -m http.server 8080".into(),
            uid: 0,
            user: "root".into(),
            cgroup: "/system.slice/ssh.service".into(),
            start_time: 0,
        };
        assert_eq!(
            classify(&show(STOPPED), &Finding::PortHeld { port: 8080, holder }).to_string(),
            "Port conflict: port 8080 was held by PID 77 (python3 -m http.server 8080, user root), outside the service"
        );
    }

    #[test]
    fn a_service_killed_that_then_fails_at_every_start_is_blamed_on_its_start() {
        let killed = classify(&show(KILLED_9), &Finding::UnitDown);
        let ex_config = EXIT_1.replace("ExecMainStatus=1", "ExecMainStatus=78");
        let cause = refine(&killed, &show(&ex_config));
        assert_eq!(cause, Cause::ConfigError { status: 78 });
        assert_eq!(
            cause.to_string(),
            "Configuration error: the service fails at start (status 78/EX_CONFIG: it says its configuration is wrong)"
        );
        let cause = refine(&killed, &show(EXIT_1));
        assert_eq!(cause, Cause::FailsAtStart { status: 1 });
        assert!(
            cause
                .to_string()
                .starts_with("Fails at start: its main process exited with status 1 at each start")
        );
        // Detection alone (no heal tried yet): an exit 1 is a crash.
        assert_eq!(
            classify(&show(EXIT_1), &Finding::UnitDown),
            Cause::Crashed { status: 1 }
        );
    }
}
