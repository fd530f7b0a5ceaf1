//! The daemon's wake-up grid. Every timer at rest (each service's look, the watchdog's beat)
//! falls on a point of one grid, a `SLOT` apart from the start of the configuration
//! generation, so the looks that fall in the same slot share one wake-up of the process
//! instead of one each: at 500 services and a 30 s interval, about one wake-up a second for
//! seventeen looks. The services stay spread over the interval (one slot's worth at a time), so
//! probes never bunch more than the slot allows.

use std::time::Duration;
use tokio::time::Instant;

/// The grid's step: at most the check interval (the tests' intervals are milliseconds).
const SLOT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct Grid {
    epoch: Instant,
    slot: Duration,
}

impl Grid {
    pub fn new(check_interval: Duration) -> Grid {
        Grid {
            epoch: Instant::now(),
            slot: SLOT.min(check_interval).max(Duration::from_millis(1)),
        }
    }

    /// `d` rounded down to whole slots (at least one).
    pub fn snap(&self, d: Duration) -> Duration {
        let slots = (d.as_nanos() / self.slot.as_nanos()).max(1);
        self.slot * u32::try_from(slots).unwrap_or(u32::MAX)
    }

    /// The first point after now of the series `offset`, `offset + every`, ... from the
    /// grid's start, `offset` rounded down to the grid (`every` should be a whole number of
    /// slots: check intervals and the beat are).
    pub fn first(&self, offset: Duration, every: Duration) -> Instant {
        let start = self.epoch + (self.slot * (offset.as_nanos() / self.slot.as_nanos()) as u32);
        let now = Instant::now();
        if start > now {
            return start;
        }
        let every_ns = every.as_nanos().max(1);
        let behind = (now - start).as_nanos() / every_ns + 1;
        start + Duration::from_nanos((behind * every_ns).min(u64::MAX as u128) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_fall_on_the_grid_after_now_and_spread_offsets_keep_their_slot() {
        let g = Grid::new(Duration::from_secs(30));
        let every = Duration::from_secs(30);
        // Two services whose places in the interval fall in the same slot share its point.
        let a = g.first(Duration::from_millis(12_300), every);
        assert_eq!(a, g.first(Duration::from_millis(12_900), every));
        assert_eq!(a - g.epoch, Duration::from_secs(12));
        let c = g.first(Duration::from_millis(13_100), every);
        assert_eq!(c - g.epoch, Duration::from_secs(13));
        // 50 s into the generation: the next point of the series, still on the grid.
        let later = Grid {
            epoch: Instant::now() - Duration::from_secs(50),
            ..g
        };
        let next = later.first(Duration::from_millis(12_300), every);
        assert_eq!(next - later.epoch, Duration::from_secs(72));
        assert_eq!(g.snap(Duration::from_millis(4_700)), Duration::from_secs(4));
        assert_eq!(g.snap(Duration::from_millis(300)), Duration::from_secs(1));
        // A check interval shorter than a second is its own slot.
        let fast = Grid::new(Duration::from_millis(20));
        assert_eq!(
            fast.snap(Duration::from_millis(45)),
            Duration::from_millis(40)
        );
    }
}
