//! Healing: root-cause classification, the per-service state machine with its circuit breaker,
//! incidents, and the ladder of strategies that acts on systemd.

pub mod cause;
pub(crate) mod clock;
pub mod incident;
pub(crate) mod ladder;
pub mod machine;
pub(crate) mod rules;
pub(crate) mod turns;
