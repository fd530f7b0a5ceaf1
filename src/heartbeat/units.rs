//! The heartbeat's own look at systemd, for the services the self-healing daemon cannot vouch
//! for (it is dead, wedged, its state unreadable, or it is blind to them): the daemon's saved
//! view is then stale, but the heartbeat is a separate process and can ask systemd itself. It
//! runs `systemctl show` once for all those units, with an argument vector and a timeout,
//! killing the child if it overruns. Why not D-Bus: a cron job that lives a few seconds needs
//! no connection of its own, run as root `systemctl` talks to systemd over its private socket
//! (so it still answers when the system bus is what the daemon is blind through), and what it
//! reads is exactly what an operator's `systemctl status` would show. Behind a small trait so
//! the mapping from unit states to pings is tested without systemd.

use super::health::ServiceHealth;
use crate::systemd::{ActiveState, LoadState, SubState};
use std::process::Stdio;
use std::time::Duration;

/// What systemd says about one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitState {
    /// `loaded`, `not-found`, `masked`...
    pub load: LoadState,
    /// `active`, `reloading`, `inactive`, `failed`, `activating`, `deactivating`.
    pub active: ActiveState,
    /// `running`, `exited`, `dead`, `auto-restart`...
    pub sub: SubState,
}

impl UnitState {
    /// Serving as far as systemd can tell.
    pub fn is_up(&self) -> bool {
        matches!(self.active, ActiveState::Active | ActiveState::Reloading)
    }
}

/// Where the heartbeat reads unit states from: systemd here, a table in tests.
pub trait UnitStates {
    /// The states of `units`, in the same order; Err(why) when systemd could not be asked.
    fn states(
        &self,
        units: &[String],
    ) -> impl Future<Output = Result<Vec<UnitState>, SystemctlError>>;
}

/// Why `systemctl show` told nothing; `command` is its argument vector, as shown to a human.
#[derive(Debug, thiserror::Error)]
pub enum SystemctlError {
    #[error("`{command}` did not answer within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// `message` is the first line of its stderr.
    #[error("`{command}` failed ({status}): {message}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        message: String,
    },
    #[error("`{command}` described {described} unit(s) for {asked} asked")]
    Miscounted {
        command: String,
        described: usize,
        asked: usize,
    },
}

/// `systemctl show --property=LoadState,ActiveState,SubState -- UNIT...`.
pub struct Systemctl {
    pub timeout: Duration,
}

const PROPERTIES: &str = "--property=LoadState,ActiveState,SubState";

impl UnitStates for Systemctl {
    async fn states(&self, units: &[String]) -> Result<Vec<UnitState>, SystemctlError> {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        let command = || format!("systemctl show {PROPERTIES} -- {}", units.join(" "));
        let child = tokio::process::Command::new("systemctl")
            .args(["show", PROPERTIES, "--"])
            .args(units)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = match tokio::time::timeout(self.timeout, child).await {
            Err(_) => {
                return Err(SystemctlError::Timeout {
                    command: command(),
                    timeout: self.timeout,
                });
            }
            Ok(Err(source)) => {
                return Err(SystemctlError::Spawn {
                    command: command(),
                    source,
                });
            }
            Ok(Ok(out)) => out,
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(SystemctlError::Failed {
                command: command(),
                status: out.status,
                message: stderr
                    .lines()
                    .next()
                    .unwrap_or("no message")
                    .trim()
                    .to_string(),
            });
        }
        let parsed = parse(&String::from_utf8_lossy(&out.stdout));
        if parsed.len() != units.len() {
            return Err(SystemctlError::Miscounted {
                command: command(),
                described: parsed.len(),
                asked: units.len(),
            });
        }
        Ok(parsed)
    }
}

/// A watched service as the heartbeat's own view needs it.
pub(super) struct Watched {
    pub name: String,
    pub critical: bool,
    pub paused: bool,
}

/// The services as systemd shows them (in config order), and the problems that adds for the
/// server check: a critical service that systemd shows down. Unknown adds none: the daemon's
/// own problem already fails the server check and says why.
pub(super) fn own_view(
    services: &[Watched],
    states: Result<Vec<UnitState>, impl std::fmt::Display>,
) -> (Vec<ServiceHealth>, Vec<String>) {
    let mut problems = Vec::new();
    let seen = services
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (state, reason, detail) = match (&states, w.paused) {
                (_, true) => ("paused", None, None),
                (Err(why), false) => (
                    "unknown",
                    Some(format!(
                        "{}: state unknown: the self-healing daemon cannot vouch for it and \
                         systemd could not be asked: {why}",
                        w.name
                    )),
                    None,
                ),
                (Ok(states), false) => {
                    let u = &states[i];
                    let said = if u.load == LoadState::Loaded {
                        format!("ActiveState={}, SubState={}", u.active, u.sub)
                    } else {
                        format!("LoadState={}, ActiveState={}", u.load, u.active)
                    };
                    if u.is_up() && u.load == LoadState::Loaded {
                        ("up", None, Some(said))
                    } else {
                        let reason = format!(
                            "{} is down as the heartbeat sees it ({said}), and the self-healing \
                             daemon cannot vouch for it",
                            w.name
                        );
                        if w.critical {
                            problems.push(format!("critical service {} is down ({said})", w.name));
                        }
                        ("down", Some(reason), Some(said))
                    }
                }
            };
            ServiceHealth {
                name: w.name.clone(),
                state: state.into(),
                critical: w.critical,
                reason,
                detail,
                own: true,
            }
        })
        .collect();
    (seen, problems)
}

/// `systemctl show` prints one block of `Key=value` lines per unit, in the order asked,
/// separated by blank lines.
fn parse(out: &str) -> Vec<UnitState> {
    out.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let get = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or("")
            };
            UnitState {
                load: LoadState::parse(get("LoadState")),
                active: ActiveState::parse(get("ActiveState")),
                sub: SubState::parse(get("SubState")),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn watched() -> Vec<Watched> {
        ["web", "db", "cache"]
            .iter()
            .map(|n| Watched {
                name: n.to_string(),
                critical: *n != "cache",
                paused: false,
            })
            .collect()
    }

    pub(crate) fn unit(load: &str, active: &str, sub: &str) -> UnitState {
        UnitState {
            load: load.into(),
            active: active.into(),
            sub: sub.into(),
        }
    }

    #[test]
    fn without_the_daemon_systemd_states_decide_each_service_check() {
        let (seen, problems) = own_view(
            &watched(),
            Ok::<_, &str>(vec![
                unit("loaded", "active", "running"),
                unit("loaded", "failed", "failed"),
                unit("not-found", "inactive", "dead"),
            ]),
        );
        let shown: Vec<(String, String, Option<String>)> = seen
            .iter()
            .map(|s| (s.name.clone(), s.shown(), s.reason.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "web".into(),
                    "up (ActiveState=active, SubState=running)".into(),
                    None
                ),
                (
                    "db".into(),
                    "down (ActiveState=failed, SubState=failed)".into(),
                    Some(
                        "db is down as the heartbeat sees it (ActiveState=failed, \
                         SubState=failed), and the self-healing daemon cannot vouch for it"
                            .into()
                    )
                ),
                (
                    "cache".into(),
                    "down (LoadState=not-found, ActiveState=inactive)".into(),
                    Some(
                        "cache is down as the heartbeat sees it (LoadState=not-found, \
                         ActiveState=inactive), and the self-healing daemon cannot vouch for it"
                            .into()
                    )
                ),
            ]
        );
        assert_eq!(
            problems,
            vec!["critical service db is down (ActiveState=failed, SubState=failed)"],
            "only critical services add to the server check's reasons"
        );
    }

    #[test]
    fn when_systemd_cannot_be_asked_every_service_is_unknown_and_a_paused_one_stays_paused() {
        let mut w = watched();
        w[2].paused = true;
        let (seen, problems) = own_view(&w, Err::<Vec<UnitState>, _>("no bus"));
        assert_eq!(seen[0].shown(), "unknown");
        assert_eq!(
            seen[1].reason.as_deref(),
            Some(
                "db: state unknown: the self-healing daemon cannot vouch for it and systemd \
                 could not be asked: no bus"
            )
        );
        assert_eq!(
            (seen[2].shown(), seen[2].reason.clone()),
            ("paused".into(), None)
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn systemctl_show_blocks_are_read_in_the_order_asked_whatever_the_key_order() {
        let out = "ActiveState=active\nSubState=running\nLoadState=loaded\n\n\
                   LoadState=not-found\nActiveState=inactive\nSubState=dead\n\n\
                   LoadState=loaded\nActiveState=failed\nSubState=failed\n";
        let states = parse(out);
        assert_eq!(
            states,
            vec![
                UnitState {
                    load: "loaded".into(),
                    active: "active".into(),
                    sub: "running".into()
                },
                UnitState {
                    load: "not-found".into(),
                    active: "inactive".into(),
                    sub: "dead".into()
                },
                UnitState {
                    load: "loaded".into(),
                    active: "failed".into(),
                    sub: "failed".into()
                },
            ]
        );
        assert!(states[0].is_up() && !states[1].is_up() && !states[2].is_up());
    }
}
