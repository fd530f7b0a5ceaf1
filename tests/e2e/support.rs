//! What the end-to-end tests share, on top of `mm_testbed` (hosts, the SMTP server,
//! installing the daemon): thin wrappers that fail the test with a clear message.
#![allow(dead_code, unused_imports)]

pub use mm_testbed::deploy::EXAMPLE_SERVICE as EXAMPLE;
pub use mm_testbed::smtp::{Mail, Smtp as RealSmtp};
use mm_testbed::{Host, Release, Testbed};
use std::path::Path;
use std::time::{Duration, Instant};

// Every suite (file) of this tier boots hosts of both releases at least once; which test runs
// where is in docs/testbed.md ("Debian 12 and 13"), and
// `testbed::every_suite_boots_hosts_of_both_releases` holds the files to it.
pub const D12: Release = Release::Bookworm;
pub const D13: Release = Release::Trixie;
/// One host of each release: a mixed fleet, as during an upgrade.
pub const BOTH: [Release; 2] = Release::ALL;

/// Runs `body` on every host at the same time, one thread each (named after the host and its
/// release, so a failure says where); the test fails if it failed on any host.
pub fn on_each_host(tb: &Testbed, body: impl Fn(&Host) + Sync) {
    let failed: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = tb
            .hosts()
            .iter()
            .map(|h| {
                let name = format!("{} ({})", h.name, h.release);
                let body = &body;
                let t = std::thread::Builder::new()
                    .name(name.clone())
                    .spawn_scoped(s, move || body(h))
                    .unwrap();
                (name, t)
            })
            .collect();
        threads
            .into_iter()
            .filter_map(|(name, t)| t.join().is_err().then_some(name))
            .collect()
    });
    assert!(failed.is_empty(), "failed on {}", failed.join(", "));
}

/// The SMTP server with test-friendly (panicking) calls.
pub struct Smtp(pub RealSmtp);

impl Smtp {
    pub fn start(ip: std::net::Ipv4Addr) -> Smtp {
        Smtp(RealSmtp::start(ip).unwrap())
    }
    pub fn pause(&mut self) {
        self.0.pause()
    }
    pub fn resume(&mut self) {
        self.0.resume().unwrap()
    }
    pub fn wait_for(&self, subject: &str, timeout: Duration) -> Mail {
        self.0.wait_for(subject, timeout).unwrap()
    }
    pub fn count(&self, subject: &str) -> usize {
        self.0.count(subject)
    }
    pub fn freeze(&self) {
        self.0.freeze()
    }
    pub fn thaw(&self) {
        self.0.thaw()
    }
    /// Every message with this subject.
    pub fn all(&self, subject: &str) -> Vec<Mail> {
        self.0
            .messages()
            .into_iter()
            .filter(|m| m.subject == subject)
            .collect()
    }
}

/// Checks made on the Healthchecks stand-in through the Management API, as the heartbeat role
/// makes them (period and grace an hour), so that the stand-in flips each DOWN on /fail and UP
/// on success as Healthchecks does; their ping URLs, in the order of `slugs`.
pub fn api_checks<const N: usize>(
    hc: &mm_testbed::healthchecks::Healthchecks,
    slugs: [&str; N],
) -> [String; N] {
    let api = miraclemax::heartbeat::api::Api::new(&hc.api_url, mm_testbed::healthchecks::API_KEY);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    slugs.map(|slug| {
        let check = rt
            .block_on(api.upsert(&serde_json::json!({
                "name": slug, "slug": slug, "timeout": 3600, "grace": 3600,
            })))
            .unwrap();
        check["ping_url"].as_str().unwrap().to_string()
    })
}

pub fn test_config(host: &Host, services: &str) -> String {
    mm_testbed::deploy::lab_config(host, services)
}

/// Installs the binaries this test run built.
pub fn install_daemon(host: &Host, config: &str) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
        .parent()
        .unwrap();
    mm_testbed::deploy::install_daemon(host, bin_dir, config).unwrap();
}

pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn is_active(host: &Host, unit: &str) -> String {
    let out = host.ssh(&["systemctl", "is-active", unit]).unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The daemon's events for a service, as `event` names, from the host's events log.
pub fn events(host: &Host, service: &str) -> Vec<String> {
    let text = host
        .ssh_ok(&["cat", "/var/lib/miraclemax/events.jsonl"])
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["service"] == service)
        .map(|v| v["event"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `kill -9` of a unit's main process, as an operator (or the OOM killer) would.
pub fn kill_9(host: &Host, unit: &str) {
    host.ssh_ok(&["systemctl", "kill", "-s", "KILL", "--kill-whom=main", unit])
        .unwrap();
}

/// The seconds in a report's `HEALING TIME: 1.2 seconds` line.
pub fn healing_secs(body: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix("HEALING TIME: "))
        .and_then(|t| t.strip_suffix(" seconds"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no HEALING TIME in {body}"))
}

/// A unit's MainPID on the host.
pub fn main_pid(host: &Host, unit: &str) -> String {
    host.ssh_ok(&["systemctl", "show", "-P", "MainPID", unit])
        .unwrap()
        .trim()
        .to_string()
}

/// A small `Type=notify` service's unit file, with these extra `[Unit]` and `[Service]`
/// lines: its main process itself says READY=1 (python3 -S starts in milliseconds), so
/// systemd never has to match a notification from a process that already exited.
pub fn notify_unit(unit: &str, service: &str) -> String {
    format!(
        "[Unit]\n{unit}[Service]\nType=notify\nNotifyAccess=main\n{service}ExecStart=/usr/bin/python3 -S -c \"\
         import os, socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); \
         a = os.environ['NOTIFY_SOCKET']; s.connect('\\\\0' + a[1:] if a[0] == '@' else a); \
         s.send(b'READY=1'); time.sleep(1e9)\"\n"
    )
}

/// A second copy of the example app as `second.service` (port 8081), started.
pub fn start_second_service(host: &Host) {
    host.write(
        "/etc/systemd/system/second.service",
        "[Service]\nType=notify\nNotifyAccess=main\nExecStart=/usr/bin/python3 /usr/local/bin/mm-example-app 8081\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", "second.service"])
        .unwrap();
}

/// The miraclemax.stack modules of this build: each module's name and its binary.
pub fn modules() -> [(&'static str, std::path::PathBuf); 5] {
    [
        (
            "agent_config",
            mm_testbed::workspace_bin("miraclemax-module-agent-config"),
        ),
        (
            "healthchecks_check",
            mm_testbed::workspace_bin("miraclemax-module-healthchecks-check"),
        ),
        (
            "stack_facts",
            mm_testbed::workspace_bin("miraclemax-module-stack-facts"),
        ),
        (
            "drill",
            mm_testbed::workspace_bin("miraclemax-module-drill"),
        ),
        (
            "maintenance",
            mm_testbed::workspace_bin("miraclemax-module-maintenance"),
        ),
    ]
}

/// A collections root holding the miraclemax.stack collection as `scripts/build-collection`
/// stages it (roles and playbooks copied in, no host binaries), for
/// ANSIBLE_COLLECTIONS_PATH. Made once per test process, never rewritten while a play may be
/// running a module from it. Host binaries come from `self_healing_bin_dir` in each play.
pub fn collections() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("mm-collections-{}", std::process::id()));
        build_collection(&["--stage", root.to_str().unwrap(), "--dist", "/nonexistent"]);
        root
    })
    .clone()
}

/// Runs `scripts/build-collection` with these arguments.
pub fn build_collection(args: &[&str]) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(repo.join("scripts/build-collection"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/build-collection failed: {text}"
    );
    text
}

/// A command from the project venv (ansible-playbook, ansible-doc, ansible-lint) run as the
/// README says: from the repository root, whose ansible.cfg finds inventory, roles and
/// collections; only the collection is this build's.
pub fn ansible(tool: &str) -> std::process::Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = std::process::Command::new(root.join(".venv/bin").join(tool));
    cmd.current_dir(root)
        .env_remove("ANSIBLE_CONFIG")
        .env("ANSIBLE_COLLECTIONS_PATH", collections())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("PAGER", "cat");
    cmd
}
