//! The words systemd describes a unit with (`LoadState`, `ActiveState`, `SubState`, a
//! service's `Result`), parsed once from D-Bus into small Copy values: a worker holds its
//! services' last status for as long as they stay healthy, and compares these on every look.
//! Each shows as systemd's own word (reports, status, the journal). A word this build does not
//! know (a newer systemd's) is `Other`, shown as "unknown": no decision here depends on it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The word shown for a value this build does not know.
const UNKNOWN: &str = "unknown";

/// Declares a closed set of systemd words: the enum, parsing (an unknown word is `Other`), the
/// word back, Display and serde as that word.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A word this build does not know.
            Other,
        }

        impl $name {
            pub fn parse(s: &str) -> $name {
                match s {
                    $($word => $name::$variant,)*
                    _ => $name::Other,
                }
            }

            /// systemd's word ("unknown" for `Other`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                    $name::Other => UNKNOWN,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                Ok($name::parse(&String::deserialize(d)?))
            }
        }
    };
}

/// The sets a status holds default to their empty word (`None`), as in a status not read
/// from systemd.
macro_rules! empty_by_default {
    ($($name:ident),*) => {$(
        impl Default for $name {
            fn default() -> $name {
                $name::None
            }
        }
    )*};
}

empty_by_default!(LoadState, ActiveState, ServiceResult, JobType, SubState);

words! {
    /// Whether systemd has the unit's configuration (`unit_load_state_to_string`).
    LoadState {
        /// The empty word: not read (a status made up, not asked of systemd).
        None = "",
        Stub = "stub",
        Loaded = "loaded",
        NotFound = "not-found",
        BadSetting = "bad-setting",
        Error = "error",
        Merged = "merged",
        Masked = "masked",
    }
}

words! {
    /// A unit's ActiveState (`unit_active_state_to_string`), as its status and its change
    /// signals carry it: one byte where a string would cost an allocation per change and a
    /// queue of strings per watched unit.
    ActiveState {
        /// The empty word: not read (a status made up, not asked of systemd).
        None = "",
        Active = "active",
        Reloading = "reloading",
        Inactive = "inactive",
        Failed = "failed",
        Activating = "activating",
        Deactivating = "deactivating",
        Maintenance = "maintenance",
        Refreshing = "refreshing",
    }
}

impl ActiveState {
    /// Running, or on its way somewhere systemd itself is taking it: nothing to look at yet.
    pub fn is_running_or_moving(self) -> bool {
        matches!(
            self,
            ActiveState::Active
                | ActiveState::Activating
                | ActiveState::Deactivating
                | ActiveState::Reloading
        )
    }
}

words! {
    /// A service's `Result=`: how its last run ended (`service_result_to_string`).
    ServiceResult {
        /// The empty word: not a service, or not read.
        None = "",
        Success = "success",
        Resources = "resources",
        Protocol = "protocol",
        Timeout = "timeout",
        ExitCode = "exit-code",
        Signal = "signal",
        CoreDump = "core-dump",
        Watchdog = "watchdog",
        StartLimitHit = "start-limit-hit",
        OomKill = "oom-kill",
        SkipCondition = "skip-condition",
    }
}

words! {
    /// The type of the job systemd has queued or running for a unit (`job_type_to_string`).
    JobType {
        /// No job.
        None = "",
        Start = "start",
        VerifyActive = "verify-active",
        Stop = "stop",
        Reload = "reload",
        ReloadOrStart = "reload-or-start",
        Restart = "restart",
        TryRestart = "try-restart",
        TryReload = "try-reload",
        Nop = "nop",
    }
}

words! {
    /// How systemd ended a job (`job_result_to_string`), from `Manager.JobRemoved`.
    JobResult {
        Done = "done",
        Canceled = "canceled",
        Timeout = "timeout",
        Failed = "failed",
        Dependency = "dependency",
        Skipped = "skipped",
        Invalid = "invalid",
        Assert = "assert",
        Unsupported = "unsupported",
        Collected = "collected",
        Once = "once",
        Frozen = "frozen",
        Concurrency = "concurrency",
    }
}

words! {
    /// A unit's SubState. Its words depend on the unit type; these are the ones of every type
    /// systemd has (service, socket, target, device, mount, automount, swap, timer, path,
    /// slice, scope), each word once.
    SubState {
        /// The empty word: not read.
        None = "",
        Dead = "dead",
        Condition = "condition",
        StartPre = "start-pre",
        StartChown = "start-chown",
        Start = "start",
        StartPost = "start-post",
        Running = "running",
        Exited = "exited",
        Reload = "reload",
        ReloadSignal = "reload-signal",
        ReloadNotify = "reload-notify",
        ReloadPost = "reload-post",
        Stop = "stop",
        StopWatchdog = "stop-watchdog",
        StopSigterm = "stop-sigterm",
        StopSigkill = "stop-sigkill",
        StopPre = "stop-pre",
        StopPreSigterm = "stop-pre-sigterm",
        StopPreSigkill = "stop-pre-sigkill",
        StopPost = "stop-post",
        FinalWatchdog = "final-watchdog",
        FinalSigterm = "final-sigterm",
        FinalSigkill = "final-sigkill",
        Failed = "failed",
        DeadBeforeAutoRestart = "dead-before-auto-restart",
        FailedBeforeAutoRestart = "failed-before-auto-restart",
        DeadResourcesPinned = "dead-resources-pinned",
        AutoRestart = "auto-restart",
        AutoRestartQueued = "auto-restart-queued",
        Cleaning = "cleaning",
        Listening = "listening",
        Deferred = "deferred",
        Active = "active",
        Tentative = "tentative",
        Plugged = "plugged",
        Mounting = "mounting",
        MountingDone = "mounting-done",
        Mounted = "mounted",
        Remounting = "remounting",
        Unmounting = "unmounting",
        RemountingSigterm = "remounting-sigterm",
        RemountingSigkill = "remounting-sigkill",
        UnmountingSigterm = "unmounting-sigterm",
        UnmountingSigkill = "unmounting-sigkill",
        Waiting = "waiting",
        Activating = "activating",
        ActivatingDone = "activating-done",
        Deactivating = "deactivating",
        DeactivatingSigterm = "deactivating-sigterm",
        DeactivatingSigkill = "deactivating-sigkill",
        Elapsed = "elapsed",
        Abandoned = "abandoned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_as_written_and_an_unknown_one_is_other() {
        for w in ["active", "reloading", "failed", "refreshing", ""] {
            assert_eq!(ActiveState::parse(w).as_str(), w);
        }
        for w in ["auto-restart", "running", "mounted", "waiting", "listening"] {
            assert_eq!(SubState::parse(w).to_string(), w);
        }
        assert_eq!(ServiceResult::parse("oom-kill"), ServiceResult::OomKill);
        assert_eq!(ActiveState::parse("hibernating"), ActiveState::Other);
        assert_eq!(ActiveState::Other.to_string(), "unknown");
        assert_eq!(std::mem::size_of::<SubState>(), 1);
    }

    #[test]
    fn serde_uses_systemds_words() {
        let v = serde_json::to_string(&LoadState::NotFound).unwrap();
        assert_eq!(v, "\"not-found\"");
        let back: LoadState = serde_json::from_str(&v).unwrap();
        assert_eq!(back, LoadState::NotFound);
    }
}
