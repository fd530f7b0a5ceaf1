//! The daemon's wake-up grid. Every timer at rest (each service's look, the watchdog's beat)
//! falls on a point of one grid, a slot apart from the start of the configuration generation,
//! so the looks that fall in the same slot share one wake-up of the process instead of one
//! each. A slot is the longest whole fraction of the check interval that is no longer than the
//! watchdog's beat (half systemd's watchdog period: 4 s for the daemon's unit), and at least a
//! second: the beat then falls on the grid too, and each slot's wake-up serves its looks and
//! the beat. At the default 10 s, four slots of 2.5 s (a tenth of the interval, as before,
//! woke the process ten times an interval and fed the watchdog on its own points besides:
//! `FP_AB` in the footprint benchmark measures the difference); at 30 s, eight of 3.75 s. The
//! services stay spread over the interval in those groups, so probes never bunch more than a
//! slot allows.

use std::time::Duration;
use tokio::time::Instant;

/// The least slot (unless the check interval itself is shorter: the tests' are milliseconds).
const SLOT_MIN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct Grid {
    epoch: Instant,
    slot: Duration,
}

impl Grid {
    /// The grid of a generation whose looks come every `check_interval` and whose watchdog
    /// beat comes every `beat`.
    pub fn new(check_interval: Duration, beat: Duration) -> Grid {
        Grid {
            epoch: Instant::now(),
            slot: slot(check_interval, beat),
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

/// The longest slot that divides `interval` into whole slots (so every look of a service stays
/// on the grid) and is no longer than `beat` (so the beat, rounded down to whole slots, is
/// not lengthened past it), at least `SLOT_MIN`. An interval that no such slot divides (a
/// prime number of nanoseconds) gets the slot nearest below the beat; its looks then leave the
/// grid by a nanosecond an interval: only their wake-ups stop being shared, months later.
fn slot(interval: Duration, beat: Duration) -> Duration {
    if interval <= SLOT_MIN {
        return interval.max(Duration::from_millis(1));
    }
    let (i, b) = (interval.as_nanos(), beat.as_nanos().max(1));
    let most = (i / SLOT_MIN.as_nanos()).max(1);
    let fewest = i.div_ceil(b).clamp(1, most);
    let n = (fewest..=most).find(|n| i % n == 0).unwrap_or(fewest);
    Duration::from_nanos(u64::try_from(i / n).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_fall_on_the_grid_after_now_and_spread_offsets_keep_their_slot() {
        let beat = Duration::from_secs(4);
        let g = Grid::new(Duration::from_secs(30), beat);
        let every = Duration::from_secs(30);
        // Eight slots of 3.75 s at 30 s.
        assert_eq!(g.slot, Duration::from_millis(3_750));
        // Two services whose places in the interval fall in the same slot share its point.
        let a = g.first(Duration::from_millis(11_300), every);
        assert_eq!(a, g.first(Duration::from_millis(14_900), every));
        assert_eq!(a - g.epoch, Duration::from_millis(11_250));
        let c = g.first(Duration::from_millis(15_100), every);
        assert_eq!(c - g.epoch, Duration::from_secs(15));
        // 50 s into the generation: the next point of the series, still on the grid.
        let later = Grid {
            epoch: Instant::now() - Duration::from_secs(50),
            ..g
        };
        let next = later.first(Duration::from_millis(12_300), every);
        assert_eq!(next - later.epoch, Duration::from_millis(71_250));
        assert_eq!(
            g.snap(Duration::from_millis(4_700)),
            Duration::from_millis(3_750)
        );
        assert_eq!(
            g.snap(Duration::from_millis(8_100)),
            Duration::from_millis(7_500)
        );
        // Shorter than a slot (a watchdog of 2 s at a 30 s interval): kept, never lengthened.
        assert_eq!(g.snap(Duration::from_millis(1_000)), Duration::from_secs(1));
        // A check interval shorter than a second is its own slot.
        let fast = Grid::new(Duration::from_millis(20), beat);
        assert_eq!(
            fast.snap(Duration::from_millis(45)),
            Duration::from_millis(40)
        );
    }

    #[test]
    fn a_slot_divides_the_interval_and_is_no_longer_than_the_beat() {
        let secs = Duration::from_secs;
        let ms = Duration::from_millis;
        let beat = secs(4);
        for (interval, want) in [
            // The default: four wake-ups an interval, the beat on every one.
            (secs(10), ms(2_500)),
            (secs(30), ms(3_750)),
            (secs(60), secs(4)),
            (secs(5), ms(2_500)),
            (secs(3), secs(3)),
            (secs(1), secs(1)),
            (ms(1_500), ms(1_500)),
            (secs(7), ms(3_500)),
            (secs(11), ms(2_750)),
            (secs(3_600), secs(4)),
        ] {
            let slot = slot(interval, beat);
            assert_eq!(slot, want, "{interval:?}");
            assert!(slot <= beat.max(interval.min(beat)), "{interval:?}");
            assert_eq!(interval.as_nanos() % slot.as_nanos(), 0, "{interval:?}");
            assert!(slot >= SLOT_MIN.min(interval), "{interval:?}");
        }
        // Without a watchdog the beat is the interval (at most 10 s): one slot an interval.
        assert_eq!(slot(secs(10), secs(10)), secs(10));
        // A beat shorter than a second: slots of a second, the beat off the grid.
        assert_eq!(slot(secs(10), ms(500)), secs(1));
        // No slot of at least a second divides a prime number of nanoseconds: the one nearest
        // below the beat.
        let prime = Duration::from_nanos(10_000_000_019);
        assert_eq!(slot(prime, beat), Duration::from_nanos(10_000_000_019 / 3));
    }
}
