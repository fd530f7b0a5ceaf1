//! Healing: root-cause classification, the per-service state machine with its circuit breaker,
//! incidents, and the ladder of strategies that acts on systemd.

pub mod cause;
pub mod incident;
pub mod ladder;
pub mod machine;
