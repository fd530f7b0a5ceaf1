//! Merging configuration files: the main file first, then each `config.d` fragment over it.
//! Mappings (`limits`, `heartbeat`, `notifications.email`, ...) merge key by key; a list or a
//! scalar in a later file replaces the earlier value whole. A key left empty (`limits:` or
//! `null`) sets nothing. The merge works on the raw structs each file was parsed into on its
//! own (so a type error still names its file and line) and records which file last set each
//! key, so a validation problem can name the file that holds the offending key.

use super::host_checks::RawHostChecks;
use super::metrics::RawMetrics;
use super::raw::*;
use std::collections::BTreeMap;

/// Which file (an index into the list of files merged, the main file being 0) last set each
/// key, by dotted path from the top: `limits`, `limits.heal_attempts`, `heartbeat.services`.
#[derive(Debug, Default)]
pub struct Origins(BTreeMap<String, usize>);

impl Origins {
    /// Records that `file` set `key` inside `at`; returns the key's dotted path.
    fn set(&mut self, at: &str, key: &str, file: usize) -> String {
        let path = if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        };
        self.0.insert(path.clone(), file);
        path
    }

    /// The file that last set `key` or, when no file set that key itself (a required key that
    /// is missing), the mapping around it: the deepest recorded prefix. The main file when
    /// nothing matches.
    pub fn file_of(&self, key: &str) -> usize {
        let mut path = key;
        loop {
            if let Some(&file) = self.0.get(path) {
                return file;
            }
            match path.rsplit_once('.') {
                Some((parent, _)) => path = parent,
                None => return 0,
            }
        }
    }
}

/// A raw mapping that a later file can merge into.
pub trait Merge {
    /// Merges `later` (from file number `file`) over `self`, which sits at dotted path `at`.
    fn merge(&mut self, later: Self, at: &str, file: usize, origins: &mut Origins);
}

/// Implements `Merge` for a raw mapping: `leaves` are scalars and lists (replaced whole),
/// `maps` are nested mappings (merged key by key), unknown keys are kept for validation to
/// report. The struct is destructured field by field, so a key added to `raw.rs` and not
/// listed here does not compile.
macro_rules! merge_by_key {
    ($ty:ident { leaves: [$($leaf:ident),*], maps: [$($map:ident),*] }) => {
        impl Merge for $ty {
            fn merge(&mut self, later: Self, at: &str, file: usize, origins: &mut Origins) {
                let $ty { $($leaf,)* $($map,)* unknown } = later;
                $(
                    if let Some(v) = $leaf {
                        origins.set(at, stringify!($leaf), file);
                        self.$leaf = Some(v);
                    }
                )*
                $(
                    if let Some(v) = $map {
                        let path = origins.set(at, stringify!($map), file);
                        self.$map
                            .get_or_insert_with(Default::default)
                            .merge(v, &path, file, origins);
                    }
                )*
                for (key, v) in unknown {
                    origins.set(at, &key, file);
                    self.unknown.insert(key, v);
                }
            }
        }
    };
}

merge_by_key!(RawConfig {
    leaves: [host, ssh_target, monitored_services, protected_processes],
    maps: [notifications, heartbeat, limits, metrics, host_checks]
});
merge_by_key!(RawHostChecks {
    leaves: [interval, step, disks, memory, swap, pressure],
    maps: []
});
merge_by_key!(RawMetrics {
    leaves: [textfile],
    maps: []
});
merge_by_key!(RawNotifications {
    leaves: [channels],
    maps: [email]
});
merge_by_key!(RawEmail {
    leaves: [
        enabled,
        smtp_host,
        smtp_port,
        tls,
        username,
        password_file,
        from,
        to
    ],
    maps: []
});
merge_by_key!(RawHeartbeat {
    leaves: [ping_url, services, timeout, deadline],
    maps: []
});
merge_by_key!(RawLimits {
    leaves: [
        check_interval,
        failures_before_action,
        heal_attempts,
        heal_window,
        probe_timeout,
        start_timeout,
        settle_time,
        kill_grace,
        max_concurrent_heals
    ],
    maps: []
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;
    use std::time::Duration;

    fn raw(yaml: &str) -> RawConfig {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn merged(files: &[&str]) -> (RawConfig, Origins) {
        let mut out = RawConfig::default();
        let mut origins = Origins::default();
        for (i, yaml) in files.iter().enumerate() {
            out.merge(raw(yaml), "", i, &mut origins);
        }
        (out, origins)
    }

    #[test]
    fn a_later_mapping_overrides_one_key_and_keeps_the_others() {
        let (c, o) = merged(&[
            "limits:\n  check_interval: 10s\n  heal_attempts: 3\n",
            "limits:\n  heal_attempts: 5\n",
        ]);
        let l = c.limits.unwrap();
        assert_eq!(l.check_interval, Some(Span(Duration::from_secs(10))));
        assert_eq!(l.heal_attempts, Some(5));
        assert_eq!(o.file_of("limits.check_interval"), 0);
        assert_eq!(o.file_of("limits.heal_attempts"), 1);
        assert_eq!(o.file_of("limits"), 1, "the last file that set the section");
    }

    #[test]
    fn a_later_list_replaces_the_earlier_one_whole() {
        let (c, o) = merged(&[
            "protected_processes: [postgres, redis]\n",
            "protected_processes: [mysqld]\n",
        ]);
        assert_eq!(c.protected_processes.unwrap(), ["mysqld"]);
        assert_eq!(o.file_of("protected_processes"), 1);
    }

    #[test]
    fn an_empty_key_in_a_later_file_changes_nothing() {
        let (c, o) = merged(&["host: a\nlimits:\n  heal_attempts: 3\n", "host:\nlimits:\n"]);
        assert_eq!(c.host.as_deref(), Some("a"));
        assert_eq!(c.limits.unwrap().heal_attempts, Some(3));
        assert_eq!(o.file_of("host"), 0);
    }

    #[test]
    fn nested_mappings_merge_and_remember_who_set_each_key() {
        let (c, o) = merged(&[
            "notifications:\n  email:\n    smtp_host: a.example.org\n    to: [x@example.org]\n",
            "notifications:\n  email:\n    to: [y@example.org]\n    tpyo: 1\n",
        ]);
        let e = c.notifications.unwrap().email.unwrap();
        assert_eq!(e.smtp_host.as_deref(), Some("a.example.org"));
        assert_eq!(e.to.unwrap(), ["y@example.org"]);
        assert!(e.unknown.contains_key("tpyo"));
        assert_eq!(o.file_of("notifications.email.smtp_host"), 0);
        assert_eq!(o.file_of("notifications.email.to"), 1);
        assert_eq!(o.file_of("notifications.email.tpyo"), 1);
        assert_eq!(
            o.file_of("notifications.email.from"),
            1,
            "a missing key belongs to the last file that set its mapping"
        );
    }

    #[test]
    fn keys_no_file_set_belong_to_the_main_file() {
        let (_, o) = merged(&["host: a\n", "limits:\n  heal_attempts: 3\n"]);
        assert_eq!(o.file_of("heartbeat"), 0);
        assert_eq!(o.file_of("heartbeat.ping_url"), 0);
    }
}
