//! The `metrics` section: where the daemon writes its Prometheus text exposition file for
//! node_exporter's textfile collector (`metrics: {textfile: PATH}`). Off when not set, so a
//! host without node_exporter pays nothing. Kept apart from the other sections so that it
//! reads (and merges) on its own.

use super::raw::Unknown;
use serde::Deserialize;
use std::path::PathBuf;

/// Where Debian's prometheus-node-exporter package reads `*.prom` files (its README.textfile).
pub const DEBIAN_TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

pub const METRICS_KEYS: &[&str] = &["textfile"];

#[derive(Debug, Default, Deserialize)]
pub struct RawMetrics {
    pub textfile: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// An absolute path ending in `.prom` (the collector reads nothing else), e.g.
    /// `/var/lib/prometheus/node-exporter/miraclemax.prom`.
    pub textfile: PathBuf,
}

/// A `textfile` that node_exporter's collector would not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} is not an absolute path of a .prom file; write it like \
     {}/miraclemax.prom (node_exporter's textfile collector reads \
     only *.prom files)",
    super::quote(.0),
    DEBIAN_TEXTFILE_DIR
)]
pub(crate) struct NotAPromFile(String);

/// The section validated: `Ok(None)` when no file is set; otherwise the one thing wrong with
/// `textfile`.
pub(crate) fn check(raw: RawMetrics) -> Result<Option<Metrics>, NotAPromFile> {
    let Some(path) = raw.textfile.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !path.starts_with('/') || !path.ends_with(".prom") || path.ends_with("/.prom") {
        return Err(NotAPromFile(path));
    }
    Ok(Some(Metrics {
        textfile: PathBuf::from(path),
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn a_textfile_path_turns_metrics_on_and_none_or_empty_leaves_them_off() {
        let c = crate::parse(
            "monitored_services: []\nmetrics: {textfile: /var/lib/prometheus/node-exporter/miraclemax.prom}\n",
            Path::new("config.yaml"),
        )
        .unwrap();
        assert_eq!(
            c.metrics.unwrap().textfile,
            Path::new("/var/lib/prometheus/node-exporter/miraclemax.prom")
        );
        for off in ["", "metrics: {}\n", "metrics: {textfile: ''}\n"] {
            let c = crate::parse(&format!("monitored_services: []\n{off}"), Path::new("c"));
            assert_eq!(c.unwrap().metrics, None, "{off:?}");
        }
    }

    #[test]
    fn a_relative_path_a_file_the_collector_skips_and_an_unknown_key_are_refused() {
        for (text, says) in [
            (
                "metrics: {textfile: miraclemax.prom}",
                "not an absolute path of a .prom file",
            ),
            (
                "metrics: {textfile: /var/lib/x/miraclemax.txt}",
                "reads only *.prom files",
            ),
            ("metrics: {text_file: /a.prom}", "did you mean 'textfile'?"),
        ] {
            let e = crate::parse(&format!("monitored_services: []\n{text}\n"), Path::new("c"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains("metrics"), "{text}: {e}");
        }
    }
}
