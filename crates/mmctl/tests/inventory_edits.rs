//! `mmctl add-service` / `remove-service` on a copy of a commented inventory (comments above,
//! beside and inside the lists; flow and block lists; quoted and plain scalars; lists in
//! group_vars, host_vars and inline in the hosts file), run as the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/commented");
    copy(&src, dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every file under `dir`, path relative to it -> its bytes (as text, for readable diffs).
fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    String::from_utf8(bytes).unwrap(),
                );
            }
        }
    }
    out
}

fn mmctl(inv: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .arg("-i")
        .arg(inv)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn golden(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn add_service_changes_exactly_the_expected_lines_of_the_group_file() {
    let dir = fixture();
    let before = files(dir.path());
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "blog",
            "--port",
            "4000",
            "--domain",
            "blog.example.org",
            "--critical",
            "--strategy",
            "service_restart",
            "--strategy",
            "port_conflict",
            "--health-path",
            "/healthz",
            "--healthcheck",
            "--group",
            "web",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("added service 'blog'"), "{stdout}");
    // web2 keeps its own list (host variables outrank group_vars): only web1 is reached.
    assert!(stdout.contains("(reaches: web1)"), "{stdout}");
    let after = files(dir.path());
    let main = PathBuf::from("group_vars/web/main.yml");
    assert_eq!(after[&main], golden("add-service-web-main.yml"));
    for (p, bytes) in &before {
        if *p != main {
            assert_eq!(&after[p], bytes, "{} changed", p.display());
        }
    }
    assert_eq!(before.len(), after.len(), "no file added");
}

#[test]
fn add_then_remove_leaves_every_file_byte_for_byte() {
    let cases: &[&[&str]] = &[
        &["--group", "web"],
        &["--host", "web2"],
        &["--host", "db1"],
        &["--host", "web1"],
    ];
    for place in cases {
        let dir = fixture();
        let before = files(dir.path());
        let mut add = vec![
            "add-service",
            "blog",
            "--port",
            "4000",
            "--strategy",
            "kill_hung",
            "--healthcheck",
        ];
        add.extend_from_slice(place);
        let out = mmctl(dir.path(), &add);
        assert!(out.status.success(), "{place:?}: {}", text(&out.stderr));
        assert_ne!(files(dir.path()), before, "{place:?}: nothing was added");
        let mut rm = vec!["remove-service", "blog"];
        rm.extend_from_slice(place);
        let out = mmctl(dir.path(), &rm);
        assert!(out.status.success(), "{place:?}: {}", text(&out.stderr));
        assert_eq!(
            files(dir.path()),
            before,
            "{place:?}: not byte-identical after remove"
        );
    }
}

#[test]
fn the_inline_flow_list_of_a_host_is_edited_in_its_own_style() {
    let dir = fixture();
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "api",
            "--port",
            "7000",
            "--host",
            "web2",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        golden("add-service-web2.diff").replace("INV/", &format!("{}/", dir.path().display()))
    );
}

#[test]
#[allow(clippy::too_many_lines)] // the table of refusals, one case per entry
fn each_refusal_says_why_and_leaves_every_byte_untouched() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["add-service", "passgo", "--port", "9999", "--group", "web"],
            "group_vars/web/main.yml:11: host 'web1': service 'passgo': is listed twice; service names must be unique",
        ),
        (
            &["add-service", "books2", "--port", "3000", "--group", "web"],
            "host 'web1': service 'books2': port 3000 is already used by service 'story-stages'",
        ),
        (
            &["add-service", "x", "--port", "70000", "--group", "web"],
            "service 'x': port 70000 is out of range 1-65535",
        ),
        (
            &[
                "add-service",
                "x",
                "--port",
                "1",
                "--strategy",
                "restart_all",
                "--group",
                "web",
            ],
            "unknown healing strategy 'restart_all' (known: service_restart, port_conflict",
        ),
        (
            &["add-service", "bad name", "--port", "1", "--group", "web"],
            "service 'bad name': name 'bad name' is not allowed",
        ),
        (
            &["add-service", "x", "--port", "1", "--host", "nohost"],
            "no host 'nohost' in the inventory (hosts: db1, web1, web2)",
        ),
        (
            &["add-service", "x", "--port", "1"],
            "monitored_services is defined in several files",
        ),
        (
            &[
                "add-service",
                "x",
                "--port",
                "1",
                "--unit",
                "no/slash",
                "--host",
                "db1",
            ],
            "host_vars/db1.yml: host 'db1': service 'x': unit 'no/slash' is not a valid systemd unit name",
        ),
        (
            &[
                "add-service",
                "x",
                "--port",
                "1",
                "--memory-limit",
                "lots",
                "--host",
                "db1",
            ],
            "'lots' is not a size; write it like 512MiB or 1GiB",
        ),
        (
            &[
                "add-service",
                "x",
                "--port",
                "1",
                "--tasks-limit",
                "0",
                "--host",
                "db1",
            ],
            "host 'db1': service 'x': limits.tasks 0 must be at least 1",
        ),
        (
            &["remove-service", "nothing-like-it"],
            "service 'nothing-like-it' is in no monitored_services or healthcheck_services list",
        ),
    ];
    for (args, expected) in cases {
        let dir = fixture();
        let before = files(dir.path());
        let out = mmctl(dir.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with("mmctl: error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in:\n{stderr}"
        );
        assert_eq!(files(dir.path()), before, "{args:?} changed a file");
    }
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let dir = fixture();
    let before = files(dir.path());
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "cache",
            "--port",
            "6379",
            "--host",
            "db1",
            "--healthcheck",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.contains("+- name: cache\n+  port: 6379\n"), "{diff}");
    assert!(diff.contains("+healthcheck_services: [cache]\n"), "{diff}");
    assert_eq!(files(dir.path()), before);
}

#[test]
fn a_file_changed_between_read_and_write_is_detected_and_kept() {
    let dir = fixture();
    let src = mmctl::services::Source {
        paths: vec![dir.path().to_path_buf()],
        vault: Default::default(),
    };
    let svc = mmctl::services::NewService {
        name: "blog".into(),
        port: 4000,
        ..Default::default()
    };
    let plan =
        mmctl::services::add(&src, &svc, &mmctl::services::Target::Group("web".into())).unwrap();
    let main = dir.path().join("group_vars/web/main.yml");
    let theirs = format!(
        "{}# someone else's edit\n",
        std::fs::read_to_string(&main).unwrap()
    );
    std::fs::write(&main, &theirs).unwrap();
    let err = plan.write().unwrap_err().to_string();
    assert!(
        err.contains("changed since mmctl read it; nothing was written"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), theirs);
}

#[test]
fn validate_names_file_line_host_and_service_and_exits_1() {
    let dir = fixture();
    let main = dir.path().join("group_vars/web/main.yml");
    let t = std::fs::read_to_string(&main)
        .unwrap()
        .replace("port: 443", "port: 3000");
    std::fs::write(&main, t).unwrap();
    let out = mmctl(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("group_vars/web/main.yml:18: host 'web1': service 'traefik': port 3000 is already used by service 'story-stages'"),
        "{stderr}"
    );
    let json = mmctl(dir.path(), &["validate", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let issues: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(issues[0]["host"], "web1", "{issues}");
    assert_eq!(issues[0]["line"], 18, "{issues}");
    assert_eq!(issues[0]["object"], "service 'traefik'", "{issues}");
    let ok = mmctl(fixture().path(), &["validate"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(
        text(&ok.stdout),
        "inventory OK: 3 host(s), each configuration valid\n"
    );
}

/// Opens the FIFO for writing once a reader has it open or is opening it (or fails after 20 s).
fn open_when_read(fifo: &Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO with no reader fails (ENXIO) instead of waiting for one.
    const O_NONBLOCK: i32 = 0o4000;
    let mut file = None;
    wait_until("mmctl reads the FIFO", || {
        file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(fifo)
            .ok();
        file.is_some()
    });
    file.unwrap()
}

/// Whether process `pid` has `file` open (from /proc: what its descriptors point to).
fn has_open(pid: u32, file: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == file))
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn the_binary_refuses_to_write_a_file_changed_while_it_checked_the_edit() {
    use std::io::Write;
    let dir = fixture();
    // A vars file that is a FIFO (web1's own, which Ansible reads whatever it is, where a
    // folder's listing keeps regular files only): mmctl reads the inventory once before it
    // takes the file it edits, and again (to check the edit) before it writes; the second read
    // is our moment.
    let fifo = dir.path().join("host_vars/web1.yml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let child = Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .arg("-i")
        .arg(dir.path())
        .args(["add-service", "blog", "--port", "4000", "--group", "web"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // First read: answered at once. (A reader opening a FIFO waits for a writer, and a writer
    // opening it without blocking succeeds only once a reader is there.)
    let mut first = open_when_read(&fifo);
    wait_until("mmctl has the FIFO open", || has_open(pid, &fifo));
    first.write_all(b"{}\n").unwrap();
    drop(first);
    wait_until("mmctl is done with it", || !has_open(pid, &fifo));
    // Second read: mmctl has taken main.yml and is checking its edit. Someone edits main.yml.
    let mut second = open_when_read(&fifo);
    let main = dir.path().join("group_vars/web/main.yml");
    let theirs = format!(
        "{}# someone else's edit\n",
        std::fs::read_to_string(&main).unwrap()
    );
    std::fs::write(&main, &theirs).unwrap();
    second.write_all(b"{}\n").unwrap();
    drop(second);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr)
            .contains("group_vars/web/main.yml: changed since mmctl read it; nothing was written"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), theirs);
}

/// A problem every host already had (here: no Healthchecks check configured) is said once for
/// all of them by an edit, not once per host.
#[test]
fn an_edit_says_a_problem_the_hosts_already_had_once_for_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let hosts: String = (1..=5)
        .map(|i| format!("        web{i}:\n          ansible_host: 192.0.2.{i}\n"))
        .collect();
    std::fs::write(
        dir.path().join("hosts.yml"),
        format!("web:\n  hosts:\n{hosts}"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("group_vars")).unwrap();
    std::fs::write(
        dir.path().join("group_vars/web.yml"),
        "monitored_services:\n  - name: example\n    port: 8080\n",
    )
    .unwrap();
    let out = mmctl(dir.path(), &["add-service", "blog", "--port", "4000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("mmctl: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with(
            "mmctl: warning: already wrong before this edit: hosts 'web1', 'web2', 'web3' and 2 more: heartbeat: no Healthchecks check to ping"
        ),
        "{stderr}"
    );
}

/// The lines of `after` that `before` does not have, trimmed: what an edit added.
fn added<'a>(before: &str, after: &'a str) -> Vec<&'a str> {
    after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .map(str::trim)
        .collect()
}

#[test]
fn resource_limits_are_written_as_the_services_limits_mapping() {
    let dir = fixture();
    let before = files(dir.path());
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "api",
            "--port",
            "8088",
            "--memory-limit",
            "1GiB",
            "--cpu-limit",
            "90%",
            "--limit-for",
            "5",
            "--limit-action",
            "alert",
            "--host",
            "db1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = files(dir.path());
    let file = PathBuf::from("host_vars/db1.yml");
    assert_eq!(
        added(&before[&file], &after[&file]),
        [
            "- name: api",
            "port: 8088",
            "limits:",
            "action: alert",
            "cpu: '90%'",
            "for: 5",
            "memory: 1GiB",
        ],
        "{}",
        after[&file]
    );
    // A rule count without a rule says nothing: refused before anything is read.
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "x",
            "--port",
            "1",
            "--limit-for",
            "3",
            "--host",
            "db1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--limit-for"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(dir.path()), after);
}

#[test]
fn certificate_flags_are_written_as_the_services_certificate_key() {
    let dir = fixture();
    let before = files(dir.path());
    let add = |args: &[&str]| {
        let mut all = vec!["add-service"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--host", "db1"]);
        mmctl(dir.path(), &all)
    };
    let out = add(&[
        "shop",
        "--port",
        "8088",
        "--domain",
        "shop.example.org",
        "--certificate-port",
        "8443",
        "--certificate-warn-days",
        "21",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = add(&[
        "intranet",
        "--port",
        "8089",
        "--domain",
        "wiki.lan.example.org",
        "--no-certificate",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = files(dir.path());
    let file = PathBuf::from("host_vars/db1.yml");
    assert_eq!(
        added(&before[&file], &after[&file]),
        [
            "- name: shop",
            "port: 8088",
            "domain: shop.example.org",
            "certificate:",
            "port: 8443",
            "warn_days: 21",
            "- name: intranet",
            "port: 8089",
            "domain: wiki.lan.example.org",
            "certificate: false",
        ],
        "{}",
        after[&file]
    );
    // A certificate needs the domain it is for: refused before anything is read.
    let out = add(&["x", "--port", "1", "--certificate-port", "8443"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--domain"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(dir.path()), after);
}

#[test]
fn a_check_command_is_written_as_an_argv_list_split_like_shell_words_and_checked() {
    let dir = fixture();
    let before = files(dir.path());
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "pg",
            "--port",
            "5532",
            "--check-command",
            "/usr/bin/pg_isready --quiet --dbname 'app db'",
            "--check-user",
            "postgres",
            "--host",
            "db1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = files(dir.path());
    let file = PathBuf::from("host_vars/db1.yml");
    assert_eq!(
        added(&before[&file], &after[&file]),
        [
            "- name: pg",
            "port: 5532",
            "health:",
            "command: [/usr/bin/pg_isready, '--quiet', '--dbname', app db]",
            "user: postgres",
        ],
        "{}",
        after[&file]
    );
    // What the daemon refuses is refused here, and nothing is written.
    for (command, said) in [
        ("pg_isready -q", "must be an absolute path"),
        ("/usr/bin/pg_isready 'unclosed", "a quote is not closed"),
    ] {
        let out = mmctl(
            dir.path(),
            &[
                "add-service",
                "pg2",
                "--port",
                "5533",
                "--check-command",
                command,
                "--host",
                "db1",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(said), "{}", text(&out.stderr));
        assert_eq!(files(dir.path()), after);
    }
}
