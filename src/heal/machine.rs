//! The per-service state machine and its circuit breaker. Pure: it takes what the probes saw
//! and the time, and says what to do, so every transition is unit-tested and a restart loop is
//! impossible by construction (at most `heal_attempts` heals per `heal_window`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Healthy,
    /// Probes failed this many times in a row (not yet enough to act).
    Failing {
        misses: u32,
    },
    Healing,
    /// Left alone until `until` (unix seconds), or until it recovers or an operator resets it.
    Failed {
        until: u64,
    },
    /// An operator paused healing until `until` (unix seconds).
    Paused {
        until: u64,
    },
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Failing { .. } => "failing",
            Phase::Healing => "healing",
            Phase::Failed { .. } => "failed",
            Phase::Paused { .. } => "paused",
        }
    }
}

/// What one look at the service found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Ok,
    /// The unit is not active: systemd's word is final, act now.
    UnitDown,
    /// A probe failed; act after `failures_before_action` in a row.
    ProbeFailed,
    /// systemd is itself starting or auto-restarting the unit: let it.
    SystemdActing,
    /// Over a resource rule for the rule's own `for` looks in a row: act now (the rule has
    /// counted its looks).
    RuleCrossed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Nothing,
    Heal,
    /// Too many heals in the window: the breaker tripped; report FAILED (flapping).
    TripBreaker,
    /// It was FAILED and is healthy again without us.
    Recovered,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub failures_before_action: u32,
    pub heal_attempts: u32,
    pub heal_window_secs: u64,
}

/// The persisted part of one service's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Machine {
    pub phase: Phase,
    /// Start times (unix seconds) of recent heals, for the breaker.
    pub heals: Vec<u64>,
}

impl Machine {
    fn heals_in_window(&self, now: u64, p: &Policy) -> Vec<u64> {
        self.heals
            .iter()
            .copied()
            .filter(|t| now.saturating_sub(*t) < p.heal_window_secs)
            .collect()
    }

    pub fn observe(&mut self, seen: Seen, now: u64, p: &Policy) -> Action {
        match self.phase {
            Phase::Paused { until } if now < until => return Action::Nothing,
            Phase::Failed { until } if now < until => {
                if seen == Seen::Ok {
                    self.phase = Phase::Healthy;
                    return Action::Recovered;
                }
                return Action::Nothing;
            }
            // A heal in progress owns the service; observations wait for its verdict.
            Phase::Healing => return Action::Nothing,
            Phase::Paused { .. } | Phase::Failed { .. } => self.phase = Phase::Healthy,
            Phase::Healthy | Phase::Failing { .. } => {}
        }
        match seen {
            Seen::Ok => {
                self.phase = Phase::Healthy;
                Action::Nothing
            }
            Seen::SystemdActing => Action::Nothing,
            Seen::ProbeFailed => {
                let misses = match self.phase {
                    Phase::Failing { misses } => misses + 1,
                    _ => 1,
                };
                if misses >= p.failures_before_action {
                    self.start_heal(now, p)
                } else {
                    self.phase = Phase::Failing { misses };
                    Action::Nothing
                }
            }
            Seen::UnitDown | Seen::RuleCrossed => self.start_heal(now, p),
        }
    }

    fn start_heal(&mut self, now: u64, p: &Policy) -> Action {
        let recent = self.heals_in_window(now, p);
        if recent.len() as u32 >= p.heal_attempts {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            self.phase = Phase::Failed {
                until: oldest + p.heal_window_secs,
            };
            self.heals = recent;
            return Action::TripBreaker;
        }
        self.heals = recent;
        self.heals.push(now);
        self.phase = Phase::Healing;
        Action::Heal
    }

    /// The heal ended: verified healthy, or every strategy failed (the breaker trips for a
    /// whole window so a broken unit is not restarted again and again).
    pub fn finish_heal(&mut self, healed: bool, now: u64, p: &Policy) {
        self.phase = if healed {
            Phase::Healthy
        } else {
            Phase::Failed {
                until: now + p.heal_window_secs,
            }
        };
    }

    pub fn pause(&mut self, until: u64) {
        self.phase = Phase::Paused { until };
    }

    /// An operator ended a pause early.
    pub fn resume(&mut self) {
        if let Phase::Paused { .. } = self.phase {
            self.phase = Phase::Healthy;
        }
    }

    /// Operator reset: forget the breaker and watch afresh.
    pub fn reset(&mut self) {
        self.phase = Phase::Healthy;
        self.heals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        failures_before_action: 2,
        heal_attempts: 3,
        heal_window_secs: 900,
    };

    #[test]
    fn a_unit_going_down_is_healed_at_once() {
        let mut m = Machine::default();
        assert_eq!(m.observe(Seen::UnitDown, 100, &P), Action::Heal);
        assert_eq!(m.phase, Phase::Healing);
        m.finish_heal(true, 103, &P);
        assert_eq!(m.phase, Phase::Healthy);
    }

    #[test]
    fn one_slow_probe_does_not_trigger_a_heal() {
        let mut m = Machine::default();
        assert_eq!(m.observe(Seen::ProbeFailed, 100, &P), Action::Nothing);
        assert_eq!(m.phase, Phase::Failing { misses: 1 });
        assert_eq!(m.observe(Seen::Ok, 110, &P), Action::Nothing);
        assert_eq!(m.observe(Seen::ProbeFailed, 120, &P), Action::Nothing);
        assert_eq!(m.observe(Seen::ProbeFailed, 130, &P), Action::Heal);
    }

    #[test]
    fn systemds_own_restart_is_not_fought() {
        let mut m = Machine::default();
        assert_eq!(m.observe(Seen::SystemdActing, 100, &P), Action::Nothing);
        assert_eq!(m.phase, Phase::Healthy);
    }

    #[test]
    fn observations_during_a_heal_wait_for_its_verdict() {
        let mut m = Machine::default();
        m.observe(Seen::UnitDown, 100, &P);
        assert_eq!(m.observe(Seen::UnitDown, 101, &P), Action::Nothing);
        assert_eq!(m.heals.len(), 1);
    }

    #[test]
    fn a_failed_ladder_trips_the_breaker_for_the_window() {
        let mut m = Machine::default();
        m.observe(Seen::UnitDown, 100, &P);
        m.finish_heal(false, 130, &P);
        assert_eq!(m.phase, Phase::Failed { until: 1030 });
        for t in [140, 500, 1029] {
            assert_eq!(
                m.observe(Seen::UnitDown, t, &P),
                Action::Nothing,
                "no attempt at {t}"
            );
        }
        assert_eq!(
            m.observe(Seen::UnitDown, 1030, &P),
            Action::Heal,
            "the window has passed"
        );
    }

    #[test]
    fn a_flapping_service_trips_the_breaker_after_the_allowed_heals() {
        let mut m = Machine::default();
        for t in [0, 60, 120] {
            assert_eq!(m.observe(Seen::UnitDown, t, &P), Action::Heal);
            m.finish_heal(true, t + 5, &P);
        }
        assert_eq!(m.observe(Seen::UnitDown, 180, &P), Action::TripBreaker);
        assert_eq!(m.phase, Phase::Failed { until: 900 });
        assert_eq!(m.observe(Seen::UnitDown, 899, &P), Action::Nothing);
        // At 900 the first heal has left the window: one more attempt is allowed.
        assert_eq!(m.observe(Seen::UnitDown, 900, &P), Action::Heal);
    }

    #[test]
    fn a_failed_service_that_comes_back_by_itself_is_recovered() {
        let mut m = Machine::default();
        m.observe(Seen::UnitDown, 0, &P);
        m.finish_heal(false, 10, &P);
        assert_eq!(m.observe(Seen::Ok, 20, &P), Action::Recovered);
        assert_eq!(m.phase, Phase::Healthy);
    }

    #[test]
    fn a_pause_holds_until_it_expires() {
        let mut m = Machine::default();
        m.pause(600);
        assert_eq!(m.observe(Seen::UnitDown, 599, &P), Action::Nothing);
        assert_eq!(m.observe(Seen::UnitDown, 600, &P), Action::Heal);
    }

    #[test]
    fn an_operator_reset_clears_the_breaker() {
        let mut m = Machine::default();
        m.observe(Seen::UnitDown, 0, &P);
        m.finish_heal(false, 10, &P);
        m.reset();
        assert_eq!(m.observe(Seen::UnitDown, 20, &P), Action::Heal);
    }
}
