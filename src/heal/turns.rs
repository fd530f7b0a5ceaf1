//! Turns among the actions running at once on the host (`limits.max_concurrent_heals`): a
//! systemd start or restart job to its end, a reset-failed, the signals that end a hung or a
//! stray process. Only an action holds a turn; the verifying and the settle time after it do
//! not, so a storm of failures is acted on in quick waves and verified side by side, instead of
//! each heal keeping a turn through seconds of waiting.

use std::num::NonZeroU32;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub struct Turns {
    slots: Semaphore,
    limit: NonZeroU32,
}

/// A turn, and how long it was waited for (`None`: it was free at once).
pub struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
    pub waited: Option<Duration>,
}

impl Turns {
    pub fn new(limit: NonZeroU32) -> Turns {
        Turns {
            slots: Semaphore::new(limit.get() as usize),
            limit,
        }
    }

    pub fn limit(&self) -> NonZeroU32 {
        self.limit
    }

    /// Waits for a turn (in order of asking), calling `waiting` every `every` meanwhile: the
    /// worker's progress, since a heal in the queue is not a stuck one.
    pub async fn take(&self, every: Duration, waiting: &mut (dyn FnMut() + Send)) -> Turn<'_> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Turn {
                _permit: permit,
                waited: None,
            };
        }
        let started = Instant::now();
        loop {
            waiting();
            if let Ok(permit) = tokio::time::timeout(every, self.slots.acquire()).await {
                return Turn {
                    _permit: permit.expect("the turns are never closed"),
                    waited: Some(started.elapsed()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_free_turn_is_taken_at_once_and_a_busy_one_waited_for_with_progress() {
        let turns = Turns::new(NonZeroU32::new(1).unwrap());
        let first = turns.take(Duration::from_millis(10), &mut || {}).await;
        assert_eq!(first.waited, None);
        let mut calls = 0;
        let second = async {
            let t = turns
                .take(Duration::from_millis(10), &mut || calls += 1)
                .await;
            t.waited
        };
        let release = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            drop(first);
        };
        let (waited, ()) = tokio::join!(second, release);
        let waited = waited.expect("the second waited");
        assert!(waited >= Duration::from_millis(60), "{waited:?}");
        assert!(
            calls >= 3,
            "progress was stamped {calls} times while waiting"
        );
    }
}
