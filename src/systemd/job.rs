//! A start or restart job as systemd ran it: `RestartUnit`/`StartUnit` return the job's object
//! path, and `Manager.JobRemoved` says how it ended. A heal is judged by that, not by a state
//! sampled right after the call, which may still be the one the crash left (a restart systemd
//! had already queued looks `failed` for a moment).

use super::JobResult;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// systemd's result when it removed the job: `done`, `canceled`, `timeout`, `failed`,
    /// `dependency` or `skipped`; `None` while it was still running at the deadline.
    pub result: Option<JobResult>,
    /// From the call to the job's removal (or to the deadline).
    pub took: Duration,
}

impl Job {
    /// systemd finished the job and it succeeded.
    pub fn is_done(&self) -> bool {
        self.result == Some(JobResult::Done)
    }

    /// How the job ended, for a step: `job done in 0.4 s`, `job failed after 1.2 s`.
    pub fn describe(&self) -> String {
        let secs = self.took.as_secs_f64();
        match self.result {
            Some(JobResult::Done) => format!("job done in {secs:.1} s"),
            Some(result) => format!("job {result} after {secs:.1} s"),
            None => format!("job still running after {secs:.1} s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_says_how_it_ended_and_how_long_it_took() {
        let job = |result: Option<&str>, ms| Job {
            result: result.map(JobResult::parse),
            took: Duration::from_millis(ms),
        };
        assert_eq!(job(Some("done"), 400).describe(), "job done in 0.4 s");
        assert!(job(Some("done"), 400).is_done());
        assert_eq!(
            job(Some("failed"), 1240).describe(),
            "job failed after 1.2 s"
        );
        assert!(!job(Some("timeout"), 90_000).is_done());
        assert_eq!(job(None, 5000).describe(), "job still running after 5.0 s");
        assert!(!job(None, 5000).is_done());
    }
}
