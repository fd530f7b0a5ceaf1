//! `mmctl test heal`, `test heartbeat`, `mmctl logs` and `mmctl deploy` as the real binary, with
//! stand-ins for `ansible` and `ansible-playbook` in the folder `MMCTL_ANSIBLE_BIN_DIR` names
//! (or on PATH), answering as ansible-core 2.19 does: `ansible` puts the host's result in the
//! `--tree` folder (without the `failed` key, which Ansible strips there) and prints the one-line
//! summary; `ansible-playbook` has the collection's results callback write each host's totals.
//! They record that they ran, so a refusal from the inventory is seen to reach no host. Beside
//! them, in the folder mmctl runs in, a `.venv/` and a `playbooks/` it was not told about are
//! booby-trapped: mmctl must use neither.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STAND_IN: &str = r#"#!/bin/sh
here=$(dirname "$0")
printf '%s\n' "$@" > "$here/ran"
tree=
prev=
for a in "$@"; do
  [ "$prev" = --tree ] && tree=$a
  prev=$a
done
cp "$here/result.json" "$tree/web1"
cat "$here/summary"
exit 2
"#;

const PLAYBOOK_STAND_IN: &str = r#"#!/bin/sh
here=$(dirname "$0")
printf '%s\n' "$@" > "$here/ran-playbook"
printf '%s\n' "$ANSIBLE_CALLBACKS_ENABLED" > "$here/callbacks"
echo "what the user's own stdout callback prints"
printf '{"hosts": {"web1": {"ok": 9, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 1, "rescued": 0, "ignored": 0}}}' > "$MIRACLEMAX_RESULTS_FILE"
"#;

/// What a folder's own `.venv` and `playbooks/` hold here: each marks that it was used.
const TRAP: &str = "#!/bin/sh\ntouch \"$(dirname \"$0\")/../../TRAPPED\"\nexit 99\n";
const TRAP_PLAYBOOK: &str = "- hosts: all\n  tasks:\n    - ansible.builtin.fail: {msg: trapped}\n";

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    /// An inventory where web1 watches `example` and `second`, and the stand-in.
    fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("inventory/group_vars")).unwrap();
        std::fs::write(
            d.join("inventory/hosts.yml"),
            "all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_host: 192.0.2.10\n",
        )
        .unwrap();
        std::fs::write(
            d.join("inventory/group_vars/web.yml"),
            "monitored_services:\n  - name: example\n    port: 8080\n  - name: second\n    port: 8081\n",
        )
        .unwrap();
        let bin = d.join("ansible-bin");
        std::fs::create_dir_all(&bin).unwrap();
        executable(&bin.join("ansible"), STAND_IN);
        executable(&bin.join("ansible-playbook"), PLAYBOOK_STAND_IN);
        let venv = d.join(".venv/bin");
        std::fs::create_dir_all(&venv).unwrap();
        std::fs::create_dir_all(d.join("playbooks")).unwrap();
        for program in ["ansible", "ansible-playbook"] {
            executable(&venv.join(program), TRAP);
        }
        for playbook in [
            "deploy-complete-monitoring.yml",
            "deploy-self-healing.yml",
            "deploy-healthchecks.yml",
            "drill.yml",
        ] {
            std::fs::write(d.join("playbooks").join(playbook), TRAP_PLAYBOOK).unwrap();
        }
        Fleet { dir }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("ansible-bin")
    }

    /// What the host answers: its result as the tree file holds it, and the summary line.
    fn answers(&self, result: &str, summary: &str) {
        std::fs::write(self.bin().join("result.json"), result).unwrap();
        std::fs::write(self.bin().join("summary"), format!("{summary}\n")).unwrap();
    }

    fn ansible_ran(&self) -> bool {
        self.bin().join("ran").exists()
    }

    /// Runs mmctl pointed at the stand-ins by MMCTL_ANSIBLE_BIN_DIR.
    fn mmctl(&self, args: &[&str]) -> Output {
        self.mmctl_with(
            args,
            &[("MMCTL_ANSIBLE_BIN_DIR", self.bin().into_os_string())],
        )
    }

    fn mmctl_with(&self, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
            .current_dir(self.dir.path())
            .arg("-i")
            .arg(Path::new("inventory"))
            .args(args)
            .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
            .env_remove("ANSIBLE_CALLBACKS_ENABLED")
            .env_remove("MMCTL_ANSIBLE_BIN_DIR")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            !self.dir.path().join("TRAPPED").exists(),
            "mmctl ran the folder's own .venv: {out:?}"
        );
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What the drill module answers for a service its host's configuration does not have.
const NOT_WATCHED: &str = "service 'example' is not watched in /etc/miraclemax/config.yaml \
    (watched: other): drill one of those, or add it to monitored_services and deploy first";

#[test]
fn test_heal_of_a_service_the_host_does_not_watch_is_refused_from_the_inventory() {
    let f = Fleet::new();
    let tree = format!(r#"{{"changed": false, "msg": "{NOT_WATCHED}"}}"#);
    f.answers(&tree, &format!("web1 | FAILED! => {tree}"));
    let out = f.mmctl(&["test", "heal", "web1", "nope"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout, "", "nothing is reported as healed");
    for said in [
        "web1 does not watch service 'nope'",
        "example, second",
        "group_vars/web.yml",
        "mmctl add-service nope --port PORT --host web1",
    ] {
        assert!(stderr.contains(said), "{said:?} not in: {stderr}");
    }
    assert!(!f.ansible_ran(), "the host was contacted: {stderr}");
}

#[test]
fn a_drill_the_host_refuses_or_answers_without_a_heal_is_an_error() {
    let f = Fleet::new();
    // The inventory lists the service but the host was not deployed since: the module refuses.
    let tree = format!(r#"{{"changed": false, "msg": "{NOT_WATCHED}"}}"#);
    f.answers(&tree, &format!("web1 | FAILED! => {tree}"));
    let out = f.mmctl(&["test", "heal", "web1", "example"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!("mmctl: error: web1: {NOT_WATCHED}")),
        "{stderr}"
    );
    assert!(f.ansible_ran());

    // A result with no heal in it, even one Ansible calls a success, is never printed as one.
    f.answers(
        r#"{"changed": true, "unit": "example.service"}"#,
        "web1 | CHANGED => {}",
    );
    let out = f.mmctl(&["test", "heal", "web1", "example"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        !stdout.contains('?') && !stdout.contains("null"),
        "{stdout}"
    );
    assert!(
        stderr.contains("web1: the drill reported no heal"),
        "{stderr}"
    );
}

/// ansible.builtin.command's result for a program (journalctl) with this exit code and stderr.
fn journalctl(rc: i32, stderr: &str) -> (String, String) {
    let tree = format!(
        r#"{{"changed": true, "msg": "non-zero return code", "rc": {rc}, "stdout": "", "stderr": "{stderr}"}}"#
    );
    (tree.clone(), format!("web1 | FAILED! => {tree}"))
}

#[test]
fn logs_of_a_service_with_no_history_say_so_and_a_real_failure_says_why() {
    let f = Fleet::new();
    // journalctl --show-cursor exits 1 and says nothing when no entry matches (systemd 252).
    let (tree, summary) = journalctl(1, "");
    f.answers(&tree, &summary);
    let out = f.mmctl(&["logs", "web1", "--service", "example"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("no entries for example on web1"),
        "{stdout}"
    );

    let (tree, summary) = journalctl(1, "Failed to add match 'SERVICE=example': Invalid argument");
    f.answers(&tree, &summary);
    let out = f.mmctl(&["logs", "web1", "--service", "example"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "web1: journalctl exited with 1: Failed to add match 'SERVICE=example': Invalid argument"
        ),
        "{stderr}"
    );
}

#[test]
fn logs_of_a_service_the_host_does_not_watch_are_refused_from_the_inventory() {
    let f = Fleet::new();
    let (tree, summary) = journalctl(1, "");
    f.answers(&tree, &summary);
    let out = f.mmctl(&["logs", "web1", "--service", "nope"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("web1 does not watch service 'nope' (its monitored_services in "),
        "{stderr}"
    );
    assert!(stderr.contains("leave out --service"), "{stderr}");
    assert!(!f.ansible_ran());
}

#[test]
fn test_heartbeat_where_the_heartbeat_is_not_deployed_says_why_and_how_to_deploy_it() {
    let f = Fleet::new();
    // No program: ansible.builtin.command cannot start it (2.19's result: rc is the errno).
    let tree = r#"{"changed": false, "cmd": "/usr/local/bin/miraclemax-heartbeat", "msg": "Error executing command.", "rc": 2, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}"#;
    f.answers(
        tree,
        &format!("web1 | FAILED | rc=2 | (stdout) \nweb1 | FAILED! => {tree}"),
    );
    let out = f.mmctl(&["test", "heartbeat", "web1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for said in [
        "mmctl: error: web1: no /usr/local/bin/miraclemax-heartbeat there (Ansible: Error executing command. rc 2)",
        "the heartbeat is not deployed there",
        "mmctl deploy --only healthchecks",
    ] {
        assert!(stderr.contains(said), "{said:?} not in: {stderr}");
    }

    // The program, but a configuration without its section: its own error, and the same hint.
    let (tree, summary) = journalctl(
        1,
        "miraclemax-heartbeat: error: /etc/miraclemax/config.yaml: no 'heartbeat' section: nothing to ping",
    );
    f.answers(&tree, &summary);
    let out = f.mmctl(&["test", "heartbeat", "web1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "mmctl: error: web1: miraclemax-heartbeat exited with 1: /etc/miraclemax/config.yaml: \
             no 'heartbeat' section: nothing to ping; the heartbeat is not deployed there"
        ),
        "{stderr}"
    );

    // Any other failure: what the program said, without a deploy hint.
    let (tree, summary) = journalctl(1, "miraclemax-heartbeat: error: cannot record the run");
    f.answers(&tree, &summary);
    let stderr = text(&f.mmctl(&["test", "heartbeat", "web1"]).stderr);
    assert!(
        stderr.contains("web1: miraclemax-heartbeat exited with 1: cannot record the run"),
        "{stderr}"
    );
    assert!(!stderr.contains("not deployed"), "{stderr}");
}

#[test]
fn deploy_runs_the_collections_playbook_with_the_ansible_it_was_pointed_at_never_the_folders_own() {
    let f = Fleet::new();
    let out = f.mmctl(&["deploy", "--no-validate"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    // The play's own output passes through untouched; mmctl's line comes from the results file.
    assert!(
        stdout.contains("what the user's own stdout callback prints"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mmctl: web1: changed (9 ok, 2 changed, 0 failed)"),
        "{stdout}"
    );
    let argv = std::fs::read_to_string(f.bin().join("ran-playbook")).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    assert_eq!(
        argv,
        [
            "-i",
            "inventory",
            "miraclemax.stack.deploy_complete_monitoring"
        ]
    );
    let callbacks = std::fs::read_to_string(f.bin().join("callbacks")).unwrap();
    assert_eq!(callbacks.trim(), "miraclemax.stack.mmctl_results");
}

#[test]
fn uninstall_runs_remove_monitoring_on_the_hosts_named_and_a_group_needs_yes() {
    let f = Fleet::new();
    // `web` is a group: it reaches web1 without naming it.
    let out = f.mmctl(&["uninstall", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "mmctl: error: 'web' reaches 1 host(s) it does not name: web1; nothing was removed. \
         Name the hosts one by one (mmctl uninstall web1), or add --yes to take MiracleMax off \
         all of them\n"
    );
    assert!(!f.bin().join("ran-playbook").exists(), "no play ran");

    let out = f.mmctl(&["uninstall", "web1", "--check", "--delete-checks"]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("mmctl: taking MiracleMax off web1\n"));
    let argv = std::fs::read_to_string(f.bin().join("ran-playbook")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "-i",
            "inventory",
            "miraclemax.stack.remove_monitoring",
            "--check",
            "--extra-vars",
            r#"{"heartbeat_removed_checks":"absent","miraclemax_hosts":"web1","self_healing_remove_state":false}"#,
        ]
    );
    let out = f.mmctl(&["uninstall", "web", "--yes", "--remove-state"]);
    assert!(out.status.success(), "{out:?}");
    let argv = std::fs::read_to_string(f.bin().join("ran-playbook")).unwrap();
    assert!(
        argv.contains(r#"{"heartbeat_removed_checks":"paused","miraclemax_hosts":"web","self_healing_remove_state":true}"#),
        "{argv}"
    );
}

#[test]
// One list of command lines over the same fake fleet, each beside the ansible-playbook argv
// it must become; split, a case would no longer be read beside those it differs from.
#[allow(clippy::too_many_lines)]
fn deploy_hands_ansible_playbooks_own_options_on_short_forms_and_all_and_what_follows_two_dashes() {
    let f = Fleet::new();
    let vars = f.dir.path().join("inventory/group_vars/web.yml");
    let text = std::fs::read_to_string(&vars).unwrap();
    std::fs::write(
        &vars,
        format!("{text}heartbeat_ping_url: https://hc.example.org/ping/x\n"),
    )
    .unwrap();
    let argv = |args: &[&str]| {
        let out = f.mmctl(args);
        assert!(out.status.success(), "{out:?}");
        let ran = std::fs::read_to_string(f.bin().join("ran-playbook")).unwrap();
        ran.lines().map(str::to_string).collect::<Vec<_>>()
    };
    let head = [
        "-i",
        "inventory",
        "miraclemax.stack.deploy_complete_monitoring",
    ];
    let pass = f.dir.path().join("prod-pass");
    std::fs::write(&pass, "prod-secret\n").unwrap();
    let prod = format!("prod@{}", pass.display());
    assert_eq!(
        argv(&[
            "deploy",
            "-t",
            "heartbeat",
            "-l",
            "web1",
            "-C",
            "-D",
            "-v",
            "--",
            "--forks",
            "3"
        ]),
        [
            &head[..],
            &[
                "--check",
                "--diff",
                "-v",
                "--limit",
                "web1",
                "--tags",
                "heartbeat",
                "--forks",
                "3"
            ]
        ]
        .concat()
    );
    assert_eq!(
        argv(&[
            "deploy",
            "--skip-tags",
            "binaries",
            "-vvv",
            "-f",
            "5",
            "-u",
            "ops",
            "-K",
            "--start-at-task",
            "Install the unit",
            "--vault-id",
            &prod,
            "-e",
            "a=1",
            "--list-hosts",
            "--syntax-check",
            "--",
            "--timeout",
            "30",
            "-e",
            "@more.yml",
        ]),
        [
            &head[..],
            &["--vault-id", &prod],
            &[
                "--ask-become-pass",
                "--list-hosts",
                "--syntax-check",
                "-vvv",
                "--forks",
                "5",
                "--user",
                "ops",
                "--start-at-task",
                "Install the unit",
                "--skip-tags",
                "binaries",
                "--extra-vars",
                "a=1",
                "--timeout",
                "30",
                "-e",
                "@more.yml",
            ]
        ]
        .concat()
    );
    // A host pattern limits what validation judges, long form or short.
    assert_eq!(
        argv(&["deploy", "--limit", "web1", "--check"]),
        [&head[..], &["--check", "--limit", "web1"]].concat()
    );
}

#[test]
fn deploy_keeps_the_callbacks_the_users_settings_enable_and_finds_ansible_on_path() {
    let f = Fleet::new();
    std::fs::write(
        f.dir.path().join("ansible.cfg"),
        "[defaults]\nstdout_callback = ansible.builtin.minimal\ncallbacks_enabled = ansible.builtin.junit, profile_tasks\n",
    )
    .unwrap();
    let path = std::env::join_paths(std::iter::once(f.bin()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = f.mmctl_with(
        &["deploy", "--no-validate", "--only", "self-healing"],
        &[("PATH", path)],
    );
    assert!(out.status.success(), "{out:?}");
    let argv = std::fs::read_to_string(f.bin().join("ran-playbook")).unwrap();
    assert!(
        argv.lines()
            .any(|a| a == "miraclemax.stack.deploy_self_healing"),
        "{argv}"
    );
    let callbacks = std::fs::read_to_string(f.bin().join("callbacks")).unwrap();
    assert_eq!(
        callbacks.trim(),
        "ansible.builtin.junit,profile_tasks,miraclemax.stack.mmctl_results"
    );
}

#[test]
fn without_ansible_on_path_or_named_mmctl_says_how_to_point_it_at_one() {
    let f = Fleet::new();
    let out = f.mmctl_with(
        &["deploy", "--no-validate"],
        &[("PATH", f.dir.path().join("empty").into_os_string())],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("mmctl: error: cannot run ansible-playbook:")
            && stderr.contains("MMCTL_ANSIBLE_BIN_DIR"),
        "{stderr}"
    );
}
