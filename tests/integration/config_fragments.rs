//! Configuration fragments: `config.yaml` plus every `config.d/*.yaml` beside it, merged in name
//! order, so each Ansible role owns its own file. What the merged configuration holds, which
//! file every error names, and `--check-config --with-fragment` / `--with-main`, the checks
//! Ansible's `template: validate:` runs before it installs a fragment or a new main file.

use miraclemax::config::{self, Fragment};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const PING: &str = "https://hc-ping.com/5ec12e7-0000-4b5a-aaaa-ping-secret";
const WEB_PING: &str = "https://hc-ping.com/5ec12e7-1111-4b5a-bbbb-web-secret";

/// A host's /etc/miraclemax in a temporary folder, removed when the test ends.
struct Etc(PathBuf);

impl Etc {
    /// With a main file watching `web` and `db`, and an empty config.d.
    fn new(test: &str) -> Etc {
        let dir = std::env::temp_dir().join(format!("mm-fragments-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("config.d")).unwrap();
        let etc = Etc(dir);
        etc.write(
            "config.yaml",
            "monitored_services:\n  - name: web\n    port: 8080\n  - name: db\n    port: 5432\n\
             limits:\n  check_interval: 10s\n  heal_attempts: 3\n",
        );
        etc
    }

    fn write(&self, name: &str, yaml: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, yaml).unwrap();
        path.display().to_string()
    }

    fn main(&self) -> PathBuf {
        self.0.join("config.yaml")
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn load(&self) -> Result<config::Config, config::ConfigError> {
        config::load(&self.main())
    }

    fn check(&self, args: &[&str]) -> Output {
        let main = self.main().display().to_string();
        Command::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
            .args(["--check-config", "--config", &main])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Etc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn heartbeat(services: &str) -> String {
    format!("heartbeat:\n  ping_url: {PING}\n  timeout: 5s\n  services:\n{services}")
}

fn web_ping() -> String {
    format!("    - name: web\n      ping_url: {WEB_PING}\n")
}

#[test]
fn a_heartbeat_fragment_merges_into_the_main_file() {
    let etc = Etc::new("heartbeat");
    etc.write("config.d/heartbeat.yaml", &heartbeat(&web_ping()));
    let c = etc.load().unwrap();
    let hb = c.heartbeat.unwrap();
    assert_eq!(hb.ping_url.expose(), PING);
    assert_eq!(hb.timeout, Duration::from_secs(5));
    assert_eq!(hb.services.len(), 1);
    assert_eq!(
        (hb.services[0].0.as_str(), hb.services[0].1.expose()),
        ("web", WEB_PING)
    );
    assert_eq!(c.services.len(), 2, "the main file's services stay");
    assert_eq!(c.fragments, ["config.d/heartbeat.yaml"]);
}

#[test]
fn a_later_fragment_replaces_a_list_and_merges_a_mapping() {
    let etc = Etc::new("merge");
    etc.write(
        "config.d/90-local.yaml",
        "monitored_services:\n  - name: cache\n    port: 6379\nlimits:\n  heal_attempts: 5\n  settle_time: yes\n",
    );
    // `yes` is no duration: a type error in the fragment, named with its line.
    assert_eq!(
        etc.load().unwrap_err().to_string(),
        format!(
            "{}: invalid type: boolean `true`, expected a duration such as 10s, 15m or 1h, or a number of seconds at line 6, column 3",
            etc.path("config.d/90-local.yaml")
        )
    );
    etc.write(
        "config.d/90-local.yaml",
        "monitored_services:\n  - name: cache\n    port: 6379\n    critical: no\nlimits:\n  heal_attempts: 5\n  settle_time: 30s\n",
    );
    let c = etc.load().unwrap();
    let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["cache"], "a list is replaced whole");
    assert!(
        !c.services[0].critical,
        "Ansible's `no` still reads as false"
    );
    assert_eq!(c.limits.heal_attempts.get(), 5, "the overridden key");
    assert_eq!(c.limits.settle_time, Duration::from_secs(30));
    assert_eq!(
        c.limits.check_interval,
        Duration::from_secs(10),
        "the main file's other key stays"
    );
}

#[test]
fn fragments_apply_in_name_order() {
    let etc = Etc::new("order");
    etc.write(
        "config.d/20-b.yaml",
        "host: from-b\nlimits:\n  heal_attempts: 7\n",
    );
    etc.write(
        "config.d/10-a.yaml",
        "host: from-a\nlimits:\n  heal_attempts: 4\n  kill_grace: 9s\n",
    );
    let c = etc.load().unwrap();
    assert_eq!(c.host.as_deref(), Some("from-b"));
    assert_eq!(c.limits.heal_attempts.get(), 7);
    assert_eq!(c.limits.kill_grace, Duration::from_secs(9));
    assert_eq!(c.fragments, ["config.d/10-a.yaml", "config.d/20-b.yaml"]);
}

#[test]
fn files_in_config_d_that_are_not_yaml_fragments_are_ignored() {
    let etc = Etc::new("ignored");
    etc.write("config.d/heartbeat.yaml.bak", "this: [is not read\n");
    etc.write("config.d/README", "not yaml at all: [\n");
    etc.write(
        "config.d/.ansible_tmp1234heartbeat.yaml",
        "host: half-written\n",
    );
    etc.write("config.d/heartbeat.yml", "host: wrong-suffix\n");
    let c = etc.load().unwrap();
    assert_eq!(c.host, None);
    assert!(c.fragments.is_empty());
}

#[test]
fn a_missing_config_d_means_no_fragments_and_an_unreadable_one_is_named() {
    let etc = Etc::new("no-dir");
    std::fs::remove_dir(etc.0.join("config.d")).unwrap();
    assert!(etc.load().unwrap().fragments.is_empty());
    etc.write("config.d", "a file where the folder should be\n");
    assert_eq!(
        etc.load().unwrap_err().to_string(),
        format!("{}: cannot read", etc.path("config.d"))
    );
}

#[test]
fn a_syntax_error_in_a_fragment_names_the_fragment_and_its_line_and_fails_the_whole_load() {
    let etc = Etc::new("syntax");
    etc.write("config.d/10-good.yaml", "limits:\n  heal_attempts: 5\n");
    etc.write(
        "config.d/heartbeat.yaml",
        &format!("heartbeat:\n  ping_url: {PING}\n  services: [\n"),
    );
    let e = etc.load().unwrap_err().to_string();
    let file = etc.path("config.d/heartbeat.yaml");
    assert_eq!(
        e,
        format!("{file}: unclosed bracket '[' at line 3, column 13")
    );
    assert!(!e.contains("ping-secret"), "{e}");
}

#[test]
fn a_validation_problem_names_the_file_that_set_the_key() {
    let etc = Etc::new("problems");
    etc.write(
        "config.yaml",
        "monitored_services:\n  - name: web\n    port: 70000\nlimits:\n  heal_attempts: 0\n",
    );
    etc.write(
        "config.d/90-local.yaml",
        "heartbeet: {}\nlimits:\n  check_interval: 0s\n  frobnicate: 1\n",
    );
    let (main, local) = (etc.path("config.yaml"), etc.path("config.d/90-local.yaml"));
    assert_eq!(
        etc.load()
            .unwrap_err()
            .to_string()
            .lines()
            .collect::<Vec<_>>(),
        [
            format!("{local}: top level: unknown key 'heartbeet' (did you mean 'heartbeat'?)"),
            format!(
                "{local}: limits: unknown key 'frobnicate' (allowed keys: check_interval, failures_before_action, heal_attempts, heal_window, probe_timeout, start_timeout, settle_time, kill_grace, max_concurrent_heals)"
            ),
            format!("{local}: limits: check_interval must be longer than 0s"),
            format!("{main}: limits: heal_attempts 0 must be a whole number of at least 1"),
            format!("{main}: service 'web': port 70000 is out of range 1-65535"),
        ]
    );
}

#[test]
fn an_installed_heartbeat_fragment_naming_a_service_not_monitored_is_left_out_with_a_note() {
    let etc = Etc::new("unknown-service");
    etc.write(
        "config.d/heartbeat.yaml",
        &heartbeat(&format!(
            "{}    - name: nosuch\n      ping_url: {WEB_PING}\n",
            web_ping()
        )),
    );
    // Written by an earlier deploy, before the service left monitored_services: stale, so
    // left out (its check no longer pinged), said, and everything else loads.
    let config = etc.load().unwrap();
    let pinged: Vec<&str> = config
        .heartbeat
        .as_ref()
        .unwrap()
        .services
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(pinged, ["web"]);
    assert_eq!(
        config.notes,
        [format!(
            "{}: heartbeat: service 'nosuch': not in monitored_services, so left out (its check \
             is no longer pinged; the heartbeat's next deploy pauses it)",
            etc.path("config.d/heartbeat.yaml")
        )]
    );
    // The same entry in the main file is a mistake being made: refused, naming the file.
    let main = format!(
        "{}{}",
        std::fs::read_to_string(etc.main()).unwrap(),
        heartbeat(&format!("    - name: nosuch\n      ping_url: {WEB_PING}\n"))
    );
    std::fs::remove_file(etc.path("config.d/heartbeat.yaml")).unwrap();
    std::fs::write(etc.main(), main).unwrap();
    let e = etc.load().unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: heartbeat: service 'nosuch': is not in monitored_services; add it there or remove its ping URL",
            etc.main().display()
        )
    );
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn a_required_key_missing_from_a_merged_section_names_the_last_file_that_set_it() {
    let etc = Etc::new("missing");
    etc.write("config.d/heartbeat.yaml", "heartbeat:\n  timeout: 5s\n");
    assert_eq!(
        etc.load().unwrap_err().to_string(),
        format!(
            "{}: heartbeat: missing required key 'ping_url' (the server check's ping URL from Healthchecks)",
            etc.path("config.d/heartbeat.yaml")
        )
    );
}

#[test]
fn check_config_with_fragment_checks_the_file_as_installed_in_place_of_the_old_one() {
    let etc = Etc::new("with-fragment");
    // The installed heartbeat fragment is broken; the new one Ansible is about to install is not.
    etc.write("config.d/heartbeat.yaml", "heartbeat: [\n");
    etc.write("config.d/90-local.yaml", "limits:\n  heal_attempts: 5\n");
    let new = etc.write("new-heartbeat.tmp", &heartbeat(&web_ping()));
    let mid = etc.write("new-mid.tmp", "limits:\n  heal_attempts: 4\n");
    let out = etc.check(&[
        "--with-fragment",
        &format!("heartbeat.yaml={new}"),
        "--with-fragment",
        &format!("50-mid.yaml={mid}"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().take(2).collect::<Vec<_>>(),
        [
            format!("{}: configuration OK", etc.path("config.yaml")),
            "fragments: config.d/50-mid.yaml, config.d/90-local.yaml, config.d/heartbeat.yaml"
                .to_string(),
        ]
    );
    assert!(
        stdout.contains("heartbeat: https://hc-ping.com/<redacted> (+1 service check(s))"),
        "{stdout}"
    );
    assert!(
        stdout.contains("at most 5 heals per"),
        "90-local.yaml still applies, after 50-mid.yaml: {stdout}"
    );
    assert!(!stdout.contains("secret"), "ping URL leaked: {stdout}");

    // Names sort byte by byte, so zz-extra.yaml comes after heartbeat.yaml and its heartbeat
    // section wins; its problems name the file checked.
    let bad = etc.write(
        "new-00.tmp",
        &heartbeat(&format!("    - name: nosuch\n      ping_url: {WEB_PING}\n")),
    );
    let out = etc.check(&[
        "--with-fragment",
        &format!("heartbeat.yaml={new}"),
        "--with-fragment",
        &format!("zz-extra.yaml={bad}"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {bad}: heartbeat: service 'nosuch': is not in monitored_services; add it there or remove its ping URL\n"
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_config_refuses_a_fragment_name_that_config_d_would_not_read() {
    let etc = Etc::new("bad-name");
    let new = etc.write("new.tmp", &heartbeat(""));
    for (name, why) in [
        (
            "heartbeat",
            "must end in .yaml: only *.yaml files in config.d are read",
        ),
        (
            "heartbeat.yml",
            "must end in .yaml: only *.yaml files in config.d are read",
        ),
        (
            "../heartbeat.yaml",
            "must be a file name in config.d, without '/' (e.g. heartbeat.yaml)",
        ),
        (
            "heart beat.yaml",
            "may use only letters, digits and . _ - (e.g. 90-local.yaml)",
        ),
        (
            ".heartbeat.yaml",
            "must not start with '.': hidden files in config.d are not read",
        ),
    ] {
        let out = etc.check(&["--with-fragment", &format!("{name}={new}")]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert_eq!(
            text(&out.stderr),
            format!("miraclemax-self-heal: error: --with-fragment: fragment name '{name}' {why}\n")
        );
    }
    let out = etc.check(&["--with-fragment", &new]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: --with-fragment: '{new}' is not NAME=FILE; write it like heartbeat.yaml=/tmp/new-heartbeat.yaml\n"
        )
    );
    let twice = format!("heartbeat.yaml={new}");
    let out = etc.check(&["--with-fragment", &twice, "--with-fragment", &twice]);
    assert_eq!(
        text(&out.stderr),
        "miraclemax-self-heal: error: fragment 'heartbeat.yaml' is given twice; give each config.d name once\n"
    );
}

#[test]
fn check_config_of_a_lone_file_merges_nothing_and_says_so() {
    let etc = Etc::new("lone");
    std::fs::remove_dir(etc.0.join("config.d")).unwrap();
    let out = etc.check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().take(3).collect::<Vec<_>>(),
        [
            format!("{}: configuration OK", etc.path("config.yaml")),
            "fragments: none".to_string(),
            "2 monitored service(s):".to_string(),
        ]
    );
}

#[test]
fn the_ping_url_never_appears_in_any_error_or_output() {
    let etc = Etc::new("redaction");
    let cases = [
        heartbeat(&web_ping()),
        heartbeat(&format!("    - name: nosuch\n      ping_url: {WEB_PING}\n")),
        format!("heartbeat:\n  ping_url: '{PING} x'\n"),
        format!("heartbeat:\n  ping_url: {PING}\n  services: {WEB_PING}\n"),
        format!("heartbeat:\n  ping_url: [{PING}]\n"),
        format!("heartbeat:\n  ping_url: {PING}\n  deadline: 10m\n  tiemout: 5s\n"),
        format!("heartbeat:\n  ping_url: {PING}\n  services: [\n"),
    ];
    for yaml in cases {
        let new = etc.write("new.tmp", &yaml);
        let out = etc.check(&["--with-fragment", &format!("heartbeat.yaml={new}")]);
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(
            !all.contains("secret"),
            "ping URL leaked for {yaml:?}: {all}"
        );
        etc.write("config.d/heartbeat.yaml", &yaml);
        if let Err(e) = etc.load() {
            assert!(
                !e.to_string().contains("secret"),
                "ping URL leaked for {yaml:?}: {e}"
            );
        }
    }
}

#[test]
fn load_with_reads_a_file_as_the_fragment_it_will_become() {
    let etc = Etc::new("library");
    let new = etc.write("new.tmp", &heartbeat(&web_ping()));
    let extra = [Fragment::parse(&format!("heartbeat.yaml={new}")).unwrap()];
    let c = config::load_with(Path::new(&etc.main()), &extra).unwrap();
    assert_eq!(c.fragments, ["config.d/heartbeat.yaml"]);
    assert_eq!(c.heartbeat.unwrap().services[0].1.expose(), WEB_PING);
}

/// A main file watching only `web`: the new config.yaml of a host that no longer runs `db`.
const WEB_ONLY: &str = "monitored_services:\n  - name: web\n    port: 8080\n";

fn db_ping() -> String {
    format!("    - name: db\n      ping_url: {WEB_PING}\n")
}

#[test]
fn check_config_with_main_passes_a_new_main_file_that_drops_a_service_an_installed_fragment_pings()
{
    // `mmctl remove-service` and a deploy: the self-healing layer's new main file no longer
    // has `db`, which the heartbeat's fragment from the last deploy still pings. That
    // fragment is rewritten by the heartbeat's own deploy, later in the same run (or never, with
    // --only self-healing): the new main file is valid, and the stale entry said.
    let etc = Etc::new("with-main-drops");
    etc.write("config.d/50-heartbeat.yaml", &heartbeat(&db_ping()));
    assert!(etc.load().is_ok(), "the installed configuration is valid");
    std::fs::create_dir(etc.0.join("tmp")).unwrap();
    let new = etc.write("tmp/new-config.yaml", WEB_ONLY);
    let out = etc.check(&["--with-main", &new]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "note: {}: heartbeat: service 'db': not in monitored_services, so left out",
            etc.path("config.d/50-heartbeat.yaml")
        )),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_config_with_main_passes_a_valid_new_main_file_and_lists_the_installed_fragments() {
    let etc = Etc::new("with-main-ok");
    etc.write("config.d/50-heartbeat.yaml", &heartbeat(&web_ping()));
    etc.write("config.d/90-local.yaml", "limits:\n  heal_attempts: 5\n");
    // The installed main file is broken: --with-main reads FILE in its place, not it.
    etc.write("config.yaml", "monitored_services: [\n");
    let new = etc.write(
        "new-config.tmp",
        &format!("{WEB_ONLY}  - name: cache\n    port: 6379\nlimits:\n  heal_attempts: 2\n"),
    );
    let out = etc.check(&["--with-main", &new]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().take(4).collect::<Vec<_>>(),
        [
            format!("{}: configuration OK", etc.path("config.yaml")),
            "fragments: config.d/50-heartbeat.yaml, config.d/90-local.yaml".to_string(),
            "2 monitored service(s):".to_string(),
            "  web (web.service) port 8080, critical, strategies: service_restart".to_string(),
        ]
    );
    assert!(
        stdout.contains("  cache (cache.service) port 6379"),
        "{stdout}"
    );
    assert!(
        stdout.contains("heartbeat: https://hc-ping.com/<redacted> (+1 service check(s))"),
        "{stdout}"
    );
    assert!(
        stdout.contains("at most 5 heals per"),
        "90-local.yaml still applies over the new main file: {stdout}"
    );
    assert!(!stdout.contains("secret"), "ping URL leaked: {stdout}");

    // A first deploy: no config.yaml and no config.d yet, so nothing to merge.
    std::fs::remove_dir_all(etc.0.join("config.d")).unwrap();
    std::fs::remove_file(etc.main()).unwrap();
    let out = etc.check(&["--with-main", &new]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().nth(1),
        Some("fragments: none"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_config_with_main_names_the_new_file_for_its_own_problems_and_combines_with_with_fragment()
{
    let etc = Etc::new("with-main-names");
    etc.write("config.d/50-heartbeat.yaml", &heartbeat(&web_ping()));
    let bad = etc.write(
        "bad-config.tmp",
        "monitored_services:\n  - name: web\n    port: 70000\n",
    );
    let out = etc.check(&["--with-main", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {bad}: service 'web': port 70000 is out of range 1-65535\n"
        )
    );
    let broken = etc.write("broken-config.tmp", "monitored_services: [\n");
    let out = etc.check(&["--with-main", &broken]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {broken}: unclosed bracket '[' at line 1, column 21\n"
        )
    );

    // A new main file that adds `cache` and a new heartbeat fragment that pings it: valid only
    // together.
    let new_main = etc.write(
        "new-config.tmp",
        &format!("{WEB_ONLY}  - name: cache\n    port: 6379\n"),
    );
    let new_hb = etc.write(
        "new-heartbeat.tmp",
        &heartbeat(&format!("    - name: cache\n      ping_url: {WEB_PING}\n")),
    );
    let hb_arg = format!("50-heartbeat.yaml={new_hb}");
    let out = etc.check(&["--with-fragment", &hb_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "miraclemax-self-heal: error: {new_hb}: heartbeat: service 'cache': is not in monitored_services; add it there or remove its ping URL\n"
        )
    );
    let out = etc.check(&["--with-main", &new_main, "--with-fragment", &hb_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().take(2).collect::<Vec<_>>(),
        [
            format!("{}: configuration OK", etc.path("config.yaml")),
            "fragments: config.d/50-heartbeat.yaml".to_string(),
        ]
    );
}

#[test]
fn with_main_without_check_config_is_refused() {
    let etc = Etc::new("with-main-alone");
    let new = etc.write("new-config.tmp", WEB_ONLY);
    // A --config that does not exist: even were the flag ignored, no daemon could start.
    let missing = etc.path("missing/config.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_miraclemax-self-heal"))
        .args(["--config", &missing, "--with-main", &new])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "error: the following required arguments were not provided:\n  --check-config\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Usage: miraclemax-self-heal --check-config --config <FILE> --with-main <FILE>"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn load_with_main_reads_a_file_as_the_main_file_it_will_become() {
    let etc = Etc::new("library-main");
    etc.write("config.d/50-heartbeat.yaml", &heartbeat(&web_ping()));
    let new = etc.write("new.tmp", WEB_ONLY);
    let c = config::load_with_main(&etc.main(), Path::new(&new), &[]).unwrap();
    assert_eq!(c.fragments, ["config.d/50-heartbeat.yaml"]);
    assert_eq!(c.services.len(), 1);
    let e =
        config::load_with_main(&etc.main(), Path::new(&etc.path("nosuch.tmp")), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: cannot read", etc.path("nosuch.tmp"))
    );
}
