//! `miraclemax-heartbeat` (the real binary) against a local server that answers as Healthchecks
//! does: what it sends when the host is healthy or not, and how it handles every reply.

use miraclemax::heal::machine::Phase;
use miraclemax::state::{Dirs, Event, ServiceState, State};
use mm_testbed::healthchecks::{Forced, Healthchecks, Ping};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Host {
    dir: PathBuf,
    hc: Healthchecks,
    server_url: String,
    web_url: String,
}

impl Host {
    /// A host whose daemon is alive (this test process stands in for its PID) with one
    /// critical service `web` that has its own check.
    fn new(name: &str, extra_heartbeat: &str) -> Host {
        let dir = std::env::temp_dir().join(format!("mm-hb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let hc = Healthchecks::start("127.0.0.1".parse().unwrap()).unwrap();
        let (server_url, web_url) = (hc.add_check(), hc.add_check());
        let h = Host {
            dir,
            hc,
            server_url,
            web_url,
        };
        h.config(&h.server_url.clone(), extra_heartbeat);
        std::fs::write(h.dirs().alive(), format!("{} 0\n", std::process::id())).unwrap();
        h
    }

    fn config(&self, ping_url: &str, extra: &str) {
        let yaml = format!(
            "host: lab-test\nmonitored_services:\n  - name: web\n    port: 8080\n\
             heartbeat:\n  ping_url: {ping_url}\n  services:\n    - name: web\n      ping_url: {}\n{extra}",
            self.web_url
        );
        std::fs::write(self.dir.join("config.yaml"), yaml).unwrap();
    }

    fn dirs(&self) -> Dirs {
        Dirs::new(&self.dir.join("state"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("heartbeat.log")).unwrap_or_default()
    }

    fn run(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_miraclemax-heartbeat"))
            .arg("--config")
            .arg(self.dir.join("config.yaml"))
            .arg("--state-dir")
            .arg(self.dir.join("state"))
            .arg("--log-file")
            .arg(self.dir.join("heartbeat.log"))
            .output()
            .unwrap()
    }

    /// The pings the check at `url` received; a run's pings arrive in any order.
    fn pings_of(&self, url: &str) -> Vec<Ping> {
        let check = uuid_of(url);
        self.hc
            .pings()
            .into_iter()
            .filter(|p| p.check == check)
            .collect()
    }

    /// The one ping the check at `url` received.
    fn ping_of(&self, url: &str) -> Ping {
        let pings = self.pings_of(url);
        assert_eq!(pings.len(), 1, "one ping for {url}: {:?}", self.hc.pings());
        pings[0].clone()
    }

    fn set_web_phase(&self, phase: Phase) {
        let mut st = State::default();
        let mut s = ServiceState::default();
        s.machine.phase = phase;
        st.services.insert("web".into(), s);
        self.dirs().save_state(&st).unwrap();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn uuid_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

#[test]
fn a_healthy_host_pings_success_with_a_summary_and_a_run_id() {
    let h = Host::new("ok", "");
    let ev = |t, msg: &str| Event {
        time_ms: t,
        service: "web".into(),
        event: "resolved".into(),
        incident: "web-1".into(),
        result: "ok".into(),
        message: msg.into(),
    };
    h.dirs()
        .append_event(&ev(
            1_795_867_000_000,
            "healed by service_restart in 1.1s (older)",
        ))
        .unwrap();
    h.dirs()
        .append_event(&ev(
            1_795_867_900_000,
            "healed by service_restart in 1.3s (newer)",
        ))
        .unwrap();

    let out = h.run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pings = h.hc.pings();
    assert_eq!(pings.len(), 2, "{pings:?}");
    let (server, web) = (&h.ping_of(&h.server_url), &h.ping_of(&h.web_url));
    assert_eq!(
        (server.check.as_str(), server.kind.as_str()),
        (uuid_of(&h.server_url).as_str(), "success")
    );
    assert_eq!(
        (web.check.as_str(), web.kind.as_str()),
        (uuid_of(&h.web_url).as_str(), "success")
    );
    let rid = server.rid.clone().expect("a run id");
    assert_eq!(
        web.rid.as_ref(),
        Some(&rid),
        "one run id pairs the run's pings"
    );

    let body = &server.body;
    assert!(body.starts_with("host: lab-test\nuptime: "), "{body}");
    assert!(
        body.contains("\ndaemon: miraclemax-self-heal running (pid "),
        "{body}"
    );
    assert!(
        body.contains("services: 1 up, 0 down, 0 paused\n  web: up\n"),
        "{body}"
    );
    let newer = body.find("(newer)").unwrap();
    let older = body.find("(older)").unwrap();
    assert!(newer < older, "newest first: {body}");

    let log = h.log();
    assert!(log.contains(" server=ok delivered latency="), "{log}");
    assert!(log.contains(" web=ok delivered "), "{log}");
    assert!(
        !log.contains(&uuid_of(&h.server_url)),
        "the ping URL is redacted: {log}"
    );
    assert!(log.contains("url=http://127.0.0.1:"), "{log}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("checked: healthy\nsent to http://127.0.0.1:"),
        "{stdout}"
    );

    // The next run only carries events since this successful ping.
    h.run();
    let again = &h.pings_of(&h.server_url)[1].body;
    assert!(
        again.contains("healing events since the last successful ping: none"),
        "{again}"
    );
}

#[test]
fn a_dead_daemon_turns_the_ping_into_fail_with_the_reason_first() {
    let h = Host::new("dead", "");
    std::fs::write(h.dirs().alive(), "999999999 0\n").unwrap();
    let out = h.run();
    assert!(
        out.status.success(),
        "the /fail was delivered: {}",
        text(&out.stderr)
    );
    let server = &h.ping_of(&h.server_url);
    assert_eq!(server.kind, "fail");
    assert!(
        server
            .body
            .starts_with("FAIL: miraclemax-self-heal is not running (last sign of life "),
        "{}",
        server.body
    );
    assert!(h.log().contains("server=fail delivered"), "{}", h.log());
}

#[test]
fn an_unreadable_state_file_fails_the_check_instead_of_passing_it() {
    let h = Host::new("corrupt", "");
    std::fs::write(h.dirs().state(), "{ not json").unwrap();
    h.run();
    let server = &h.ping_of(&h.server_url);
    assert_eq!(server.kind, "fail");
    assert!(
        server
            .body
            .starts_with("FAIL: cannot read the daemon's state: "),
        "{}",
        server.body
    );
}

#[test]
fn a_wedged_daemon_with_a_stale_stamp_is_reported() {
    let h = Host::new("wedged", "");
    let stamp = std::fs::File::options()
        .write(true)
        .open(h.dirs().alive())
        .unwrap();
    stamp
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    h.run();
    let server = &h.ping_of(&h.server_url);
    assert_eq!(server.kind, "fail");
    assert!(
        server.body.starts_with(&format!(
            "FAIL: miraclemax-self-heal is wedged: pid {} has not checked anything for 10 minutes",
            std::process::id()
        )),
        "{}",
        server.body
    );
}

#[test]
fn a_failed_critical_service_fails_the_server_check_and_its_own() {
    let h = Host::new("failed", "");
    h.set_web_phase(Phase::Failed {
        until: u64::MAX / 2,
    });
    let out = h.run();
    assert!(out.status.success());
    let pings = [h.ping_of(&h.server_url), h.ping_of(&h.web_url)];
    assert_eq!(pings[0].kind, "fail");
    assert!(
        pings[0]
            .body
            .starts_with("FAIL: critical service web is FAILED: healing failed\n"),
        "{}",
        pings[0].body
    );
    assert_eq!(pings[1].kind, "fail", "web's own check shows it FAILED");
    assert!(
        pings[1].body.starts_with("FAIL: web is FAILED"),
        "{}",
        pings[1].body
    );
}

#[test]
fn a_200_that_is_not_ok_is_a_failed_ping_and_not_retried() {
    let h = Host::new("not-ok", "");
    h.hc.force_on(&h.server_url, Forced::Status(200, "rate limited"));
    let out = h.run();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        "miraclemax-heartbeat: error: server check: success NOT delivered after 1 attempt(s): HTTP 200 \"rate limited\""
    );
    assert!(
        h.log()
            .contains("server=ok NOT DELIVERED (HTTP 200 \"rate limited\")"),
        "{}",
        h.log()
    );
}

#[test]
fn a_huge_or_garbage_reply_is_a_failed_ping_quoted_in_a_few_words() {
    let h = Host::new("huge", "");
    let page = format!("<html>{}</html>", "\u{fffd}garbage ".repeat(2_000_000));
    h.hc.force_on(
        &h.server_url,
        Forced::Reply {
            status: 200,
            content_type: "text/html",
            body: page,
        },
    );
    let out = h.run();
    assert_eq!(out.status.code(), Some(1));
    let first = text(&out.stderr).lines().next().unwrap().to_string();
    assert!(
        first.starts_with(
            "miraclemax-heartbeat: error: server check: success NOT delivered after 1 attempt(s): HTTP 200 \"<html>"
        ) && first.len() < 300,
        "{first}"
    );
}

#[test]
fn an_unknown_check_is_a_404_and_not_retried() {
    let h = Host::new("unknown", "");
    h.config(&h.hc.unknown_check(), "");
    let out = h.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "server check: success NOT delivered after 1 attempt(s): HTTP 404 \"not found\""
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rate_limits_and_server_errors_are_retried_until_delivered() {
    let h = Host::new("retry", "");
    h.hc.force_on(&h.server_url, Forced::Status(429, "rate limited"));
    h.hc.force_on(&h.server_url, Forced::Status(503, "unavailable"));
    let out = h.run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(h.ping_of(&h.server_url).kind, "success");
    assert!(
        h.log().contains("server=ok delivered") && h.log().contains("retries=2"),
        "{}",
        h.log()
    );
}

#[test]
fn the_deadline_holds_when_the_server_hangs() {
    let h = Host::new("hang", "  timeout: 2s\n  deadline: 3s\n");
    for _ in 0..10 {
        h.hc.force(Forced::Hang);
    }
    let started = Instant::now();
    let out = h.run();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        took < Duration::from_secs(20),
        "a hung server holds the run only until the deadline, took {took:?}"
    );
    assert!(
        text(&out.stderr).contains("gave up at the deadline"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn two_runs_at_once_do_not_both_ping() {
    let h = Host::new("lock", "  timeout: 2s\n  deadline: 4s\n");
    h.hc.force(Forced::Hang);
    let first = Command::new(env!("CARGO_BIN_EXE_miraclemax-heartbeat"))
        .args(["--config", h.dir.join("config.yaml").to_str().unwrap()])
        .args(["--state-dir", h.dir.join("state").to_str().unwrap()])
        .args(["--log-file", h.dir.join("heartbeat.log").to_str().unwrap()])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.hc.requests() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = h.run();
    assert!(second.status.success());
    assert_eq!(
        text(&second.stdout),
        "another miraclemax-heartbeat run is in progress; this one sent nothing\n"
    );
    let mut first = first;
    first.wait().unwrap();
    assert_eq!(
        h.log().lines().count(),
        1,
        "only the first run pinged and logged"
    );
}

#[test]
fn slug_urls_with_create_count_201_as_delivered() {
    let h = Host::new("slug", "");
    h.config(
        &format!(
            "{}?create=1",
            h.hc.slug_url("pingkey0123456789", "lab-test")
        ),
        "",
    );
    let out = h.run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ping =
        h.hc.pings()
            .into_iter()
            .find(|p| p.check == "pingkey0123456789/lab-test")
            .expect("the slug check was created and pinged");
    assert_eq!(ping.kind, "success");
}

fn stderr_line_for(out: &Output, check: &str) -> String {
    text(&out.stderr)
        .lines()
        .find(|l| l.starts_with(&format!("miraclemax-heartbeat: error: {check} check: ")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_redirected_ping_is_refused_not_followed_and_reported_as_not_delivered() {
    let h = Host::new("redirect", "");
    h.set_web_phase(Phase::Failed {
        until: u64::MAX / 2,
    });
    // An http->https proxy: 301 to the same path on another origin (here, this server again,
    // so a client that follows it would get an "OK" for a GET without the /fail's reason).
    h.hc.force_on(&h.server_url, Forced::Redirect(h.hc.origin()));
    let out = h.run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let origin = h.hc.origin();
    assert_eq!(
        stderr_line_for(&out, "server"),
        format!(
            "miraclemax-heartbeat: error: server check: /fail NOT delivered after 1 attempt(s): \
             HTTP 301 redirect to {origin}/<redacted> refused (a redirected ping can lose its body): \
             set the ping URL to the address it redirects to"
        )
    );
    let server_requests: Vec<_> =
        h.hc.received()
            .into_iter()
            .filter(|r| r.target.contains(&uuid_of(&h.server_url)))
            .collect();
    assert_eq!(
        server_requests.len(),
        1,
        "not followed: {server_requests:?}"
    );
    assert_eq!(server_requests[0].method, "POST");
    assert!(
        h.hc.pings()
            .iter()
            .all(|p| p.check != uuid_of(&h.server_url)),
        "no ping recorded for the server check: {:?}",
        h.hc.pings()
    );
    let log = h.log();
    assert!(
        log.contains(&format!(
            " server=fail NOT DELIVERED (HTTP 301 redirect to {origin}/<redacted> refused"
        )),
        "{log}"
    );
    assert!(!log.contains("server=fail delivered"), "{log}");
}

#[test]
fn with_the_daemon_dead_the_body_says_what_the_heartbeat_saw_itself_not_the_saved_states() {
    let h = Host::new("stale", "");
    h.set_web_phase(Phase::Healthy);
    std::fs::write(h.dirs().alive(), "999999999 0\n").unwrap();
    let out = h.run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pings = h.hc.pings();
    let server = pings
        .iter()
        .find(|p| p.check == uuid_of(&h.server_url))
        .expect("the server check was pinged");
    assert_eq!(server.kind, "fail");
    let body = &server.body;
    assert!(
        !body.contains("web: up") && !body.contains(" 1 up"),
        "the saved state is not shown as current: {body}"
    );
    assert!(
        body.contains("services (seen by the heartbeat itself; the daemon cannot vouch for them):"),
        "{body}"
    );
    // This machine has no running systemd: nobody can tell whether web is up.
    if !std::path::Path::new("/run/systemd/system").exists() {
        assert!(
            body.contains(
                "0 up, 0 down, 1 unknown, 0 paused\nsystemd could not be asked: `systemctl show "
            ) && body.contains("\n  web: unknown\n"),
            "{body}"
        );
        let web = pings
            .iter()
            .find(|p| p.check == uuid_of(&h.web_url))
            .expect("web's check is not left silent");
        assert_eq!(web.kind, "fail");
        assert!(
            web.body
                .starts_with("FAIL: web: state unknown: the self-healing daemon cannot vouch for it and systemd could not be asked: "),
            "{}",
            web.body
        );
    }
}

#[test]
fn a_hung_server_check_does_not_keep_the_service_checks_from_being_pinged() {
    let h = Host::new("starve", "  timeout: 2s\n  deadline: 5s\n");
    for _ in 0..10 {
        h.hc.force_on(&h.server_url, Forced::Hang);
    }
    let started = Instant::now();
    let out = h.run();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let web: Vec<_> =
        h.hc.pings()
            .into_iter()
            .filter(|p| p.check == uuid_of(&h.web_url))
            .collect();
    assert_eq!(web.len(), 1, "web's check was pinged once: {web:?}");
    assert_eq!(web[0].kind, "success");
    assert!(h.log().contains(" web=ok delivered "), "{}", h.log());
    assert!(
        stderr_line_for(&out, "server").contains("gave up at the deadline"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(stderr_line_for(&out, "web"), "", "{}", text(&out.stderr));
}

/// `5 min`, `1 h 0 min`, `3 days, 4 h 12 min`: what the body's uptime line should say.
fn uptime_in_units(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        (1, _) => format!("1 day, {h} h {m} min"),
        _ => format!("{d} days, {h} h {m} min"),
    }
}

fn uptime_secs() -> u64 {
    let t = std::fs::read_to_string("/proc/uptime").unwrap();
    t.split_whitespace().next().unwrap().parse::<f64>().unwrap() as u64
}

#[test]
fn pings_carry_a_user_agent_and_the_uptime_in_units() {
    let h = Host::new("ua", "");
    let before = uptime_in_units(uptime_secs());
    let out = h.run();
    let after = uptime_in_units(uptime_secs());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let received = h.hc.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let agent = format!("miraclemax-heartbeat/{}", env!("CARGO_PKG_VERSION"));
    for r in &received {
        assert_eq!(r.header("User-Agent"), Some(agent.as_str()), "{r:?}");
    }
    let server =
        h.hc.pings()
            .into_iter()
            .find(|p| p.check == uuid_of(&h.server_url))
            .unwrap();
    let line = server
        .body
        .lines()
        .find(|l| l.starts_with("uptime: "))
        .unwrap()
        .to_string();
    assert!(
        line == format!("uptime: {before}") || line == format!("uptime: {after}"),
        "{line:?}, expected \"uptime: {before}\""
    );
}

#[test]
fn a_blind_daemon_fails_the_server_check_and_does_not_vouch_for_what_it_cannot_see() {
    let h = Host::new("blind", "");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut st = State {
        blind_since_ms: Some(now - 125_000),
        blind_services: vec!["web".into()],
        blind_error: Some("org.freedesktop.DBus.Error.LimitsExceeded: too many replies".into()),
        ..Default::default()
    };
    st.services.insert("web".into(), ServiceState::default());
    h.dirs().save_state(&st).unwrap();
    let out = h.run();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let server = h.ping_of(&h.server_url);
    assert_eq!(server.kind, "fail");
    assert!(
        server.body.starts_with(
            "FAIL: miraclemax-self-heal is blind: systemd has not answered about web for 2 minutes \
             5 seconds (org.freedesktop.DBus.Error.LimitsExceeded: too many replies)\n"
        ),
        "{}",
        server.body
    );
    assert!(!server.body.contains("web: up\n"), "{}", server.body);
    let web = h.ping_of(&h.web_url);
    if !std::path::Path::new("/run/systemd/system").exists() {
        assert_eq!(web.kind, "fail", "{}", web.body);
        assert!(
            web.body.starts_with("FAIL: web: state unknown: "),
            "{}",
            web.body
        );
    }
}

#[test]
fn a_configuration_that_no_longer_loads_is_reported_as_fail_through_its_heartbeat_fragment() {
    let h = Host::new("broken", "");
    // As the roles install it: the heartbeat section in its own fragment beside config.yaml.
    let fragment = format!("heartbeat:\n  ping_url: {}\n", h.server_url);
    std::fs::create_dir_all(h.dir.join("config.d")).unwrap();
    std::fs::write(h.dir.join("config.d/50-heartbeat.yaml"), fragment).unwrap();
    std::fs::write(
        h.dir.join("config.yaml"),
        "host: lab-test\nmonitored_services:\n  - name: web\n    port: [not a port\n",
    )
    .unwrap();

    let out = h.run();
    assert!(!out.status.success(), "still an error for cron to mail");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("sent /fail to http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("config.yaml"), "{stderr}");
    let ping = h.ping_of(&h.server_url);
    assert_eq!(ping.kind, "fail");
    assert!(
        ping.body.starts_with(
            "FAIL: the configuration cannot be loaded, so miraclemax-self-heal cannot (re)start with it: "
        ),
        "{}",
        ping.body
    );
    assert!(ping.body.contains("config.yaml"), "{}", ping.body);
    // The host name was in the broken file: the machine's own name stands in.
    assert!(ping.body.contains("\nhost: "), "{}", ping.body);
    assert!(h.log().contains("server=fail delivered"), "{}", h.log());
    assert!(
        h.pings_of(&h.web_url).is_empty(),
        "per-service checks are left alone"
    );

    // With no heartbeat section left anywhere there is nothing to ping: the error alone.
    std::fs::remove_file(h.dir.join("config.d/50-heartbeat.yaml")).unwrap();
    let out = h.run();
    assert!(!out.status.success());
    assert!(
        !text(&out.stderr).contains("sent /fail"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(h.hc.pings().len(), 1);
}
