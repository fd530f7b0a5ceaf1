//! The two healers, configured for the same services: MiracleMax (its YAML `monitored_services`
//! with `port:`, an HTTP `health:` where said) and Monit (a pidfile check per service with
//! `if failed port`, start and stop through systemctl).

use super::lab::{self, port, unit};
use mm_testbed::Host;
use std::time::Duration;

/// Service 1 is the one the hung-process scenario stops: both healers probe it over HTTP with a
/// 2 s timeout in every setting (the only way to tell a stopped process from a live one).
pub const HUNG: usize = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MiracleMax,
    Monit,
}

/// One setting of a healer: how many services, its probe interval, whether every service
/// also gets an HTTP probe, and (MiracleMax) whether reports also go to five channels besides
/// email and it keeps a metrics file, whether every service has resource rules, and (both)
/// whether every service has a check command and resource rules.
pub struct Setting {
    pub services: usize,
    pub interval_secs: u64,
    pub http_all: bool,
    pub channels: bool,
    pub rules: bool,
    pub checks: bool,
}

/// The check command of the checks setting, for both healers: a program that exits 0 at once,
/// so what is measured is the healer's cost of running one, not the program's.
pub const CHECK_PROGRAM: &str = "/bin/true";

/// The resource rules of the rules setting: every rule, none of them near (a look reads every
/// figure and crosses nothing).
pub const RULES: &str = "    limits: {memory: 1GiB, cpu: 90%, tasks: 500, fds: 2000}\n";

/// Where MiracleMax keeps its metrics file in the channels setting: the folder Debian's
/// node_exporter reads, which the daemon's unit may write.
pub const METRICS_FILE: &str = "/var/lib/prometheus/node-exporter/miraclemax.prom";

pub struct Healer<'a> {
    pub kind: Kind,
    pub host: &'a Host,
}

impl Healer<'_> {
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::MiracleMax => "MiracleMax",
            Kind::Monit => "Monit",
        }
    }

    /// Writes the configuration for this setting and (re)starts the healer, so its memory
    /// high-water mark starts afresh.
    pub fn configure(&self, s: &Setting) {
        match self.kind {
            Kind::MiracleMax => self.configure_miraclemax(s),
            Kind::Monit => self.configure_monit(s),
        }
    }

    fn configure_miraclemax(&self, s: &Setting) {
        let mut services = String::new();
        for i in 1..=s.services {
            services.push_str(&format!(
                "  - name: fp{i}\n    unit: {}\n    port: {}\n    healing_strategies: [service_restart, port_conflict, kill_hung]\n",
                unit(i),
                port(i)
            ));
            if i == HUNG {
                services.push_str("    health: {path: /, timeout: 2s}\n");
            } else if s.http_all {
                services.push_str("    health: {path: /}\n");
            } else if s.checks {
                services.push_str(&format!("    health: {{command: [{CHECK_PROGRAM}]}}\n"));
            }
            if s.rules || s.checks {
                services.push_str(RULES);
            }
        }
        // The lab's short test limits give way to the defaults, but for the interval and a
        // breaker wide enough for every round.
        let config = crate::support::test_config(self.host, &services);
        let mut config = format!(
            "{}limits:\n  check_interval: {}s\n  heal_attempts: 1000\n",
            &config[..config.find("limits:\n").unwrap()],
            s.interval_secs
        );
        if s.channels {
            // Five channels to stand-ins that are never reached (nothing is reported at rest)
            // and the metrics file: what each adds at rest is what this setting measures.
            let gw = self.host.gateway();
            let channels = format!(
                "  channels:\n\
                 \x20   - {{type: ntfy, url: 'http://{gw}:9', topic: ops, token: t, insecure_http: true}}\n\
                 \x20   - {{type: webhook, url: 'http://{gw}:9/mm', secret: s, insecure_http: true}}\n\
                 \x20   - {{type: slack, url: 'http://{gw}:9/services/x', insecure_http: true}}\n\
                 \x20   - {{type: telegram, token: '1:t', chat_id: 42, api_url: 'http://{gw}:9', insecure_http: true}}\n\
                 \x20   - {{type: gotify, url: 'http://{gw}:9', token: t, insecure_http: true}}\n\
                 metrics: {{textfile: {METRICS_FILE}}}\n"
            );
            config = config.replacen("limits:\n", &format!("{channels}limits:\n"), 1);
            let dir = METRICS_FILE.rsplit_once('/').unwrap().0;
            self.host.ssh_ok(&["mkdir", "-p", dir]).unwrap();
        }
        let running = self
            .host
            .ssh(&["systemctl", "is-active", "miraclemax-self-heal.service"])
            .unwrap()
            .status
            .success();
        if running {
            self.host
                .write("/etc/miraclemax/config.yaml", &config)
                .unwrap();
            self.host
                .ssh_ok(&["systemctl", "restart", "miraclemax-self-heal.service"])
                .unwrap();
        } else {
            crate::support::install_daemon(self.host, &config);
        }
    }

    fn configure_monit(&self, s: &Setting) {
        let mut conf = String::new();
        for i in 1..=s.services {
            let (p, u) = (port(i), unit(i));
            let probe = if i == HUNG || s.http_all {
                format!("if failed port {p} protocol http with timeout 2 seconds then restart")
            } else {
                format!("if failed port {p} then restart")
            };
            conf.push_str(&format!(
                "check process fp{i} with pidfile /run/fp-{i}.pid\n  \
                 start program = \"/usr/bin/systemctl start {u}\"\n  \
                 stop program = \"/usr/bin/systemctl stop {u}\"\n  {probe}\n"
            ));
            if s.rules || s.checks {
                // The same rules as MiracleMax's RULES.
                conf.push_str(
                    "  if totalmem > 1 GB for 3 cycles then restart\n  \
                     if totalcpu > 90% for 3 cycles then restart\n  \
                     if threads > 500 for 3 cycles then restart\n  \
                     if filedescriptors > 2000 for 3 cycles then restart\n",
                );
            }
            if s.checks {
                // The same program, run every cycle.
                conf.push_str(&format!(
                    "check program fp{i}-check with path \"{CHECK_PROGRAM}\"\n  \
                     if status != 0 then exec \"/usr/bin/systemctl restart {u}\"\n"
                ));
            }
        }
        self.host.write("/etc/monit/conf.d/fp", &conf).unwrap();
        self.host
            .ssh_ok(&[
                "sed",
                "-i",
                &format!("s/^set daemon .*/set daemon {}/", s.interval_secs),
                "/etc/monit/monitrc",
            ])
            .unwrap();
        self.host
            .ssh_ok(&["monit", "-t", "-c", "/etc/monit/monitrc"])
            .unwrap();
        self.host
            .ssh_ok(&["systemctl", "restart", "monit.service"])
            .unwrap();
        std::thread::sleep(Duration::from_secs(1));
    }

    pub fn pid(&self) -> u32 {
        match self.kind {
            Kind::MiracleMax => lab::main_pid(self.host, "miraclemax-self-heal.service"),
            Kind::Monit => self
                .host
                .ssh_ok(&["pgrep", "-o", "-x", "monit"])
                .unwrap()
                .trim()
                .parse()
                .unwrap(),
        }
    }

    /// MiracleMax's `detected` event for service `i` at or after `since` (wall ms), as wall ms.
    /// How many of services `services` have a `resolved` event at or after `since` (host ms),
    /// waiting up to `within` for all of them; None for Monit, which writes no events.
    pub fn resolved(&self, services: &[usize], since: f64, within: Duration) -> Option<usize> {
        if self.kind != Kind::MiracleMax {
            return None;
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            let text = self
                .host
                .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
                .unwrap_or_default();
            let names: std::collections::BTreeSet<String> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["event"] == "resolved" && v["time_ms"].as_f64() >= Some(since - 1.0))
                .filter_map(|v| v["service"].as_str().map(str::to_string))
                .filter(|n| services.iter().any(|i| *n == format!("fp{i}")))
                .collect();
            if names.len() == services.len() || std::time::Instant::now() >= deadline {
                return Some(names.len());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    pub fn detected_ms(&self, i: usize, since: f64) -> Option<f64> {
        if self.kind != Kind::MiracleMax {
            return None;
        }
        let text = self
            .host
            .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
            .unwrap_or_default();
        let name = format!("fp{i}");
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "detected" && v["service"] == name.as_str())
            .filter_map(|v| v["time_ms"].as_f64())
            .find(|t| *t >= since - 1.0)
    }
}
