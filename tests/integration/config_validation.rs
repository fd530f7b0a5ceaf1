//! The agent's configuration file: every rejection an operator can hit, with the exact message
//! they will read, and the shipped example parsing into the typed model.

use miraclemax::config::{self, HealthTarget, Strategy, TlsMode};
use std::path::Path;
use std::time::Duration;

const FILE: &str = "/etc/miraclemax/config.yaml";

fn errors(yaml: &str) -> String {
    match config::parse(yaml, Path::new(FILE)) {
        Ok(c) => panic!("expected the config to be rejected, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn one_service(extra: &str) -> String {
    format!("monitored_services:\n  - name: passgo\n    port: 8080\n{extra}")
}

#[test]
fn an_unknown_healing_strategy_is_rejected_with_the_known_ones() {
    let e = errors(&one_service(
        "    healing_strategies: [service_restart, restart_everything]\n",
    ));
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': unknown healing strategy 'restart_…' \
         (known strategies: service_restart, port_conflict, reset_failed, dependency_restart, kill_hung)"
    );
}

#[test]
fn a_misspelt_healing_strategy_gets_a_suggestion() {
    let e = errors(&one_service("    healing_strategies: [port_conflicts]\n"));
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': unknown healing strategy 'port_conflicts' \
         (did you mean 'port_conflict'? known strategies: service_restart, port_conflict, reset_failed, dependency_restart, kill_hung)"
    );
}

#[test]
fn ports_outside_1_to_65535_are_rejected() {
    let e = errors("monitored_services:\n  - name: passgo\n    port: 70000\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': port 70000 is out of range 1-65535"
    );
    let e = errors("monitored_services:\n  - name: passgo\n    port: 0\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': port 0 is out of range 1-65535"
    );
    let e = errors("monitored_services:\n  - name: passgo\n    port: -1\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': port -1 is out of range 1-65535"
    );
}

#[test]
fn a_service_listed_twice_is_rejected() {
    let e = errors("monitored_services:\n  - name: passgo\n  - name: passgo\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': is listed twice; service names must be unique (remove or rename one)"
    );
}

#[test]
fn two_services_on_one_port_are_rejected() {
    let e = errors(
        "monitored_services:\n  - name: passgo\n    port: 8080\n  - name: traefik\n    port: 8080\n",
    );
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'traefik': port 8080 is already used by service 'passgo'; two services cannot listen on one port"
    );
}

#[test]
fn a_unit_name_outside_systemds_characters_never_gets_through() {
    let e = errors("monitored_services:\n  - name: evil\n    unit: 'x; rm -rf /'\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'evil': unit 'x; rm -rf /' is not a valid systemd unit name; \
         use only letters, digits and : _ . - @ (at most 255), e.g. 'passgo.service'"
    );
    let e = errors("monitored_services:\n  - name: 'x; rm -rf /'\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'x; rm -rf /': name 'x; rm -rf /' is not allowed; \
         use up to 64 letters, digits and - _ . @, starting with a letter or digit"
    );
    let e = errors("monitored_services:\n  - name: web\n    depends_on: ['db$(reboot)']\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'web': depends_on: unit 'db$(reboot)' is not a valid systemd unit name; \
         use only letters, digits and : _ . - @ (at most 255), e.g. 'passgo.service'"
    );
    let e = errors("monitored_services:\n  - name: web\n    unit: web\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'web': unit 'web' has no unit type suffix; write it like 'web.service'"
    );
}

#[test]
fn a_typo_in_a_key_is_rejected_with_the_intended_key() {
    let e = errors("monitored_services:\n  - name: passgo\n    prot: 8080\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': unknown key 'prot' (did you mean 'port'?)"
    );
    let e = errors("monitored_service:\n  - name: passgo\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: top level: unknown key 'monitored_service' (did you mean 'monitored_services'?)"
    );
    let e = errors("limits:\n  frobnicate: 3\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: limits: unknown key 'frobnicate' (allowed keys: check_interval, \
         failures_before_action, heal_attempts, heal_window, probe_timeout, start_timeout, settle_time, kill_grace, max_concurrent_heals)"
    );
}

#[test]
fn missing_required_fields_are_named() {
    let e = errors("monitored_services:\n  - name: a\n  - port: 9000\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: monitored_services[1]: missing required key 'name'; every monitored service needs a name"
    );
    let e = errors("notifications:\n  email:\n    from: mm@example.org\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: notifications.email: missing required key 'smtp_host'\n\
         /etc/miraclemax/config.yaml: notifications.email: missing required key 'to' (a list of recipient addresses)"
    );
    let e = errors("heartbeat:\n  services: []\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: heartbeat: missing required key 'ping_url' (the server check's ping URL from Healthchecks)"
    );
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let e = errors(
        "monitored_services:\n  - name: passgo\n    port: 70000\n    healing_strategies: [bogus]\nlimits:\n  heal_attempts: 0\n",
    );
    assert_eq!(
        e.lines().collect::<Vec<_>>(),
        [
            "/etc/miraclemax/config.yaml: limits: heal_attempts 0 must be a whole number of at least 1",
            "/etc/miraclemax/config.yaml: service 'passgo': port 70000 is out of range 1-65535",
            "/etc/miraclemax/config.yaml: service 'passgo': unknown healing strategy 'bogus' (known strategies: \
             service_restart, port_conflict, reset_failed, dependency_restart, kill_hung)",
        ]
    );
}

#[test]
fn a_strategy_that_needs_a_port_or_dependencies_says_so() {
    let e = errors(
        "monitored_services:\n  - name: worker\n    healing_strategies: [port_conflict, dependency_restart]\n",
    );
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'worker': healing strategy 'port_conflict' needs the service's 'port'\n\
         /etc/miraclemax/config.yaml: service 'worker': healing strategy 'dependency_restart' needs 'depends_on' (the units it depends on)"
    );
}

#[test]
fn a_bad_ping_url_is_reported_without_printing_it() {
    let e = errors("heartbeat:\n  ping_url: 'hc-ping.com/secret-uuid-1234'\n");
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: heartbeat: ping_url is not an http(s) URL (its value is not \
         shown); give the check's ping URL from Healthchecks, like https://hc-ping.com/UUID"
    );
    assert!(!e.contains("secret-uuid"));
}

#[test]
fn yaml_syntax_errors_name_the_line_and_do_not_quote_the_file() {
    let e = errors(
        "heartbeat:\n  ping_url: https://hc-ping.com/secret-uuid-1234\n monitored_services: [\n",
    );
    assert!(e.starts_with("/etc/miraclemax/config.yaml: "), "{e}");
    assert!(e.contains("line"), "{e}");
    assert!(!e.contains("secret-uuid"), "{e}");
    let e = errors(&one_service("    port: eighty\n"));
    assert!(e.starts_with("/etc/miraclemax/config.yaml: "), "{e}");
}

#[test]
fn ansibles_yaml_1_1_booleans_are_accepted() {
    let yaml = "monitored_services:\n  - name: a\n    critical: no\n  - name: b\n    critical: yes\n  - name: c\n    critical: 'on'\n  - name: d\n    critical: False\nnotifications:\n  email:\n    enabled: off\n";
    let c = config::parse(yaml, Path::new(FILE)).unwrap();
    let critical: Vec<bool> = c.services.iter().map(|s| s.critical).collect();
    assert_eq!(critical, [false, true, true, false]);
    assert_eq!(c.email, None, "enabled: off turns email off");
}

#[test]
fn defaults_are_filled_in() {
    let c = config::parse("monitored_services:\n  - name: example\n", Path::new(FILE)).unwrap();
    let s = &c.services[0];
    assert_eq!(s.unit.as_str(), "example.service");
    assert!(s.critical);
    assert_eq!(s.healing_strategies, [Strategy::ServiceRestart]);
    assert_eq!(c.limits.check_interval, Duration::from_secs(10));
    assert_eq!(c.limits.failures_before_action.get(), 2);
    assert_eq!(c.limits.heal_attempts.get(), 3);
    assert_eq!(c.limits.heal_window, Duration::from_secs(900));
}

#[test]
fn the_shipped_example_parses_into_the_typed_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/config.example.yaml");
    let c = config::load(&path).unwrap();
    assert_eq!(c.host.as_deref(), Some("miraclemax"));
    let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["story-stages", "passgo", "traefik"]);

    let stages = c.service("story-stages").unwrap();
    assert_eq!(stages.unit.as_str(), "story-stages.service");
    assert_eq!(stages.port.map(|p| p.get()), Some(3000));
    assert_eq!(stages.domain.as_deref(), Some("books.jbyrd.org"));
    assert_eq!(
        stages.healing_strategies,
        [Strategy::ServiceRestart, Strategy::PortConflict]
    );
    let health = stages.health.as_ref().unwrap();
    assert_eq!(health.target, HealthTarget::Path("/health".into()));
    assert_eq!(
        (health.expected_status, health.timeout),
        (200, Duration::from_secs(5))
    );

    let traefik = c.service("traefik").unwrap();
    assert_eq!(traefik.depends_on[0].as_str(), "docker.service");
    assert_eq!(traefik.healing_strategies[2], Strategy::KillHung);
    assert_eq!(
        traefik.health.as_ref().unwrap().timeout,
        Duration::from_secs(5),
        "defaults to probe_timeout"
    );

    let email = c.email.as_ref().unwrap();
    assert_eq!(
        (email.smtp_host.as_str(), email.smtp_port, email.tls),
        ("smtp.example.org", 587, TlsMode::Starttls)
    );
    assert_eq!(email.to, ["ops@example.org"]);
    assert_eq!(
        email.password_file.as_deref(),
        Some(Path::new("/etc/miraclemax/smtp-password"))
    );

    let hb = c.heartbeat.as_ref().unwrap();
    assert_eq!(
        hb.ping_url.expose(),
        "https://hc-ping.com/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    );
    assert_eq!(
        format!("{:?}", hb.ping_url),
        "https://hc-ping.com/<redacted>"
    );
    assert_eq!(hb.services[0].0.as_str(), "story-stages");
    assert_eq!(c.limits.kill_grace, Duration::from_secs(5));
    assert_eq!(c.protected_processes, ["postgres"]);
}

#[test]
fn a_health_url_the_probe_could_not_use_is_a_configuration_error_not_a_failed_probe() {
    let e = errors(&one_service(
        "    health: {url: 'http://127.0.0.1:80800/health'}\n",
    ));
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': health: url cannot be probed: the port \
         \"80800\" is not a number 1-65535"
    );
    let e = errors(&one_service(
        "    health: {url: 'https://admin:hunter2@127.0.0.1:8443/health'}\n",
    ));
    assert!(
        e.starts_with(
            "/etc/miraclemax/config.yaml: service 'passgo': health: url cannot be probed: \
             credentials (user:password@) in a health URL are not supported"
        ),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let e = errors(&one_service(
        "    health: {url: 'http://127.0.0.1:8080/health check'}\n",
    ));
    assert!(e.contains("space or control character"), "{e}");
}

#[test]
fn a_local_https_endpoint_trusts_its_ca_file_against_the_services_domain_or_says_unverified() {
    let https = |extra: &str| {
        format!(
            "monitored_services:\n  - name: passgo\n    port: 8443\n    domain: passgo.example.org\n    \
             health:\n      url: https://127.0.0.1:8443/health\n{extra}"
        )
    };
    let c = config::parse(
        &https("      ca_file: /etc/passgo/ca.pem\n"),
        Path::new(FILE),
    )
    .unwrap();
    let h = c.service("passgo").unwrap().health.clone().unwrap();
    assert_eq!(h.tls, config::TlsTrust::CaFile("/etc/passgo/ca.pem".into()));
    assert_eq!(h.server_name.as_deref(), Some("passgo.example.org"));
    let c = config::parse(&https("      tls_verify: false\n"), Path::new(FILE)).unwrap();
    let h = c.service("passgo").unwrap().health.clone().unwrap();
    assert_eq!(h.tls, config::TlsTrust::Unverified);

    for (extra, why) in [
        (
            "      ca_file: ca.pem\n",
            "ca_file 'ca.pem' must be an absolute path",
        ),
        (
            "      ca_file: /etc/ca.pem\n      tls_verify: false\n",
            "give either 'ca_file' or 'tls_verify: false', not both",
        ),
    ] {
        let e = errors(&https(extra));
        assert_eq!(
            e,
            format!("/etc/miraclemax/config.yaml: service 'passgo': health: {why}")
        );
    }
    let e = errors(&one_service(
        "    health: {path: /health, ca_file: /etc/ca.pem}\n",
    ));
    assert_eq!(
        e,
        "/etc/miraclemax/config.yaml: service 'passgo': health: 'ca_file' and 'tls_verify' are \
         for an https:// url; this probe does not use TLS"
    );
}

#[test]
fn a_check_command_is_an_argv_list_with_an_absolute_program_and_nothing_http() {
    let c = config::parse(
        &one_service(
            "    health:\n      command: [/usr/bin/pg_isready, -q, -t, 3]\n      user: postgres\n      timeout: 10s\n",
        ),
        Path::new(FILE),
    )
    .unwrap();
    let h = c.services[0].health.as_ref().unwrap();
    let HealthTarget::Command(check) = &h.target else {
        panic!("{h:?}");
    };
    assert_eq!(check.argv, ["/usr/bin/pg_isready", "-q", "-t", "3"]);
    assert_eq!(check.user.as_deref(), Some("postgres"));
    assert_eq!(h.timeout, Duration::from_secs(10));
    for (health, message) in [
        (
            "    health:\n      command: /usr/bin/pg_isready -q\n",
            "is one string; give a list, the program and each argument apart, e.g. \
             [/usr/bin/pg_isready, -q]: it runs with no shell",
        ),
        (
            "    health:\n      command: [pg_isready, -q]\n",
            "service 'passgo': health: command's program 'pg_isready' must be an absolute path \
             (e.g. /usr/bin/pg_isready): no PATH is searched",
        ),
        (
            "    health:\n      command: []\n",
            "service 'passgo': health: command is empty; give the program and its arguments, \
             e.g. [/usr/bin/pg_isready, -q]",
        ),
        (
            "    health:\n      command: [/bin/true]\n      url: http://127.0.0.1:8080/\n",
            "service 'passgo': health: give one of 'url', 'path' or 'command', not more",
        ),
        (
            "    health:\n      command: [/bin/true]\n      expected_status: 204\n",
            "service 'passgo': health: 'expected_status' is for an HTTP probe (url or path), not \
             a command",
        ),
        (
            "    health:\n      path: /health\n      user: postgres\n",
            "service 'passgo': health: 'user' is whom a 'command' runs as; this health check has \
             no command",
        ),
        (
            "    health:\n      command: [/bin/true]\n      user: 'a b'\n",
            "service 'passgo': health: user 'a b' is not a user name",
        ),
        (
            "    health:\n      comand: [/bin/true]\n",
            "did you mean 'command'?",
        ),
    ] {
        let e = errors(&one_service(health));
        assert!(e.contains(message), "{health}\n{e}");
        assert!(e.starts_with(FILE), "{e}");
    }
}
