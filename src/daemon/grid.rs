//! The daemon's wake-up grid. Every timer at rest (each service's look, the watchdog's beat)
//! falls on a point of one grid, a slot apart from the start of the configuration generation,
//! so the looks that fall in the same slot share one wake-up of the process instead of one
//! each. A slot is a tenth of the check interval and at least a second (3 s at a 30 s
//! interval, 1 s at the default 10 s): at 50 services and 30 s, ten wake-ups an interval for
//! five looks each instead of thirty; at 500, fifty looks a wake-up. The services stay spread
//! over the interval in those ten groups, so probes never bunch more than a slot allows.

use std::time::Duration;
use tokio::time::Instant;

/// The grid's points in one check interval.
const SLOTS_PER_INTERVAL: u32 = 10;
/// The least slot (unless the check interval itself is shorter: the tests' are milliseconds).
const SLOT_MIN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct Grid {
    epoch: Instant,
    slot: Duration,
}

impl Grid {
    pub fn new(check_interval: Duration) -> Grid {
        Grid {
            epoch: Instant::now(),
            slot: (check_interval / SLOTS_PER_INTERVAL)
                .max(SLOT_MIN)
                .min(check_interval)
                .max(Duration::from_millis(1)),
        }
    }

    /// `d` rounded down to whole slots; a `d` shorter than a slot is kept as it is: it is a
    /// deadline (the watchdog's beat) that cannot wait for the grid.
    pub fn snap(&self, d: Duration) -> Duration {
        let slots = d.as_nanos() / self.slot.as_nanos();
        if slots == 0 {
            return d;
        }
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
        let c = g.first(Duration::from_millis(15_100), every);
        assert_eq!(c - g.epoch, Duration::from_secs(15));
        // 50 s into the generation: the next point of the series, still on the grid.
        let later = Grid {
            epoch: Instant::now() - Duration::from_secs(50),
            ..g
        };
        let next = later.first(Duration::from_millis(12_300), every);
        assert_eq!(next - later.epoch, Duration::from_secs(72));
        // A tenth of the interval: 3 s at 30 s.
        assert_eq!(g.snap(Duration::from_millis(4_700)), Duration::from_secs(3));
        assert_eq!(g.snap(Duration::from_millis(6_100)), Duration::from_secs(6));
        // Shorter than a slot (a watchdog of 2 s at a 30 s interval): kept, never lengthened.
        assert_eq!(g.snap(Duration::from_millis(1_000)), Duration::from_secs(1));
        // At least a second: at the default 10 s and below.
        let default = Grid::new(Duration::from_secs(10));
        assert_eq!(
            default.snap(Duration::from_millis(4_700)),
            Duration::from_secs(4)
        );
        let five = Grid::new(Duration::from_secs(5));
        assert_eq!(
            five.snap(Duration::from_millis(2_500)),
            Duration::from_secs(2)
        );
        // A check interval shorter than a second is its own slot.
        let fast = Grid::new(Duration::from_millis(20));
        assert_eq!(
            fast.snap(Duration::from_millis(45)),
            Duration::from_millis(40)
        );
    }
}
