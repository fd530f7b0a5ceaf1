//! `mmctl init`: a first inventory, the repository's own example, ready for add-service.

use std::path::Path;
use std::process::{Command, Output};

fn mmctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn init_writes_the_repositorys_example_inventory_and_the_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("fleet");
    let out = mmctl(&["init", inv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("Next steps:"), "{said}");
    assert!(
        said.contains(&format!(
            "mmctl -i {} add-service NAME --port PORT",
            inv.display()
        )),
        "{said}"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../inventory");
    for f in [
        "hosts.yml",
        "group_vars/miraclemax/main.yml",
        "group_vars/miraclemax/vault.yml.example",
    ] {
        assert_eq!(
            std::fs::read(inv.join(f)).unwrap(),
            std::fs::read(repo.join(f)).unwrap(),
            "{f} differs from the repository's example"
        );
    }
    // Nothing of the test hosts in what a user starts from.
    let all = std::fs::read_to_string(inv.join("hosts.yml")).unwrap()
        + &std::fs::read_to_string(inv.join("group_vars/miraclemax/main.yml")).unwrap();
    for testbed in [
        "StrictHostKeyChecking",
        "UserKnownHostsFile",
        "miraclemax-testbed",
        "10.77.",
    ] {
        assert!(!all.contains(testbed), "{testbed} in the example inventory");
    }
    let again = mmctl(&["init", inv.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn init_with_a_first_server_then_add_service_gives_a_valid_inventory_but_for_the_heartbeat_secret()
{
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    let i = inv.to_str().unwrap();
    let out = mmctl(&[
        "init",
        i,
        "--host",
        "web1",
        "--address",
        "203.0.113.10",
        "--user",
        "admin",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hosts = std::fs::read_to_string(inv.join("hosts.yml")).unwrap();
    assert!(
        hosts.contains("    web1:\n      ansible_host: 203.0.113.10\n"),
        "{hosts}"
    );
    assert!(hosts.contains("ansible_user: admin\n"), "{hosts}");
    let add = mmctl(&[
        "-i",
        i,
        "add-service",
        "story-stages",
        "--port",
        "3000",
        "--healthcheck",
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let list = text(&mmctl(&["-i", i, "list"]).stdout);
    assert!(list.contains("web1  story-stages  3000"), "{list}");
    let v = mmctl(&["-i", i, "validate"]);
    assert_eq!(v.status.code(), Some(1));
    let err = text(&v.stderr);
    assert!(
        err.contains("host 'web1': heartbeat: no Healthchecks check to ping"),
        "{err}"
    );
    assert!(
        err.contains("(no Healthchecks yet? deploy the self-healing layer alone: mmctl deploy --only self-healing)"),
        "{err}"
    );
    assert_eq!(err.matches("mmctl: error:").count(), 1, "{err}");
    let bad = mmctl(&[
        "init",
        dir.path().join("x").to_str().unwrap(),
        "--host",
        "web 1",
    ]);
    assert!(
        text(&bad.stderr).contains("--host 'web 1' may hold only"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn the_example_vaults_placeholder_key_is_reported_where_it_was_written_and_a_real_key_never_shown()
{
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("fleet");
    let i = inv.to_str().unwrap();
    assert!(mmctl(&["init", i, "--host", "web1"]).status.success());
    let add = mmctl(&["-i", i, "add-service", "story-stages", "--port", "3000"]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    // The example copied as it is (not yet encrypted, so mmctl reads it without a password).
    let vars = inv.join("group_vars/miraclemax");
    let example = std::fs::read_to_string(vars.join("vault.yml.example")).unwrap();
    std::fs::write(vars.join("vault.yml"), &example).unwrap();
    let v = mmctl(&["-i", i, "validate"]);
    let err = text(&v.stderr);
    assert_eq!(v.status.code(), Some(1), "{err}");
    let line = example
        .lines()
        .position(|l| l.starts_with("vault_healthchecks_api_key:"))
        .unwrap()
        + 1;
    let says = format!(
        "{}:{line}: host 'web1': heartbeat: heartbeat_api_key is still the example's placeholder \
         'paste-the-key-here': paste your project's API key from Healthchecks (Settings > API \
         Access), or remove the line to deploy without the heartbeat",
        vars.join("vault.yml").display()
    );
    assert!(err.contains(&says), "{says:?} not in: {err}");
    assert_eq!(err.matches("mmctl: error:").count(), 1, "{err}");

    // The heartbeat's (what `deploy --only self-healing` leaves aside).
    let json = mmctl(&["-i", i, "validate", "--json"]);
    let issues: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(issues[0]["object"], "heartbeat", "{issues}");
    assert_eq!(issues.as_array().map(Vec::len), Some(1), "{issues}");

    // A real key: valid, and never printed.
    let key = "Zx9-hunter2-c0rrect-h0rse-b4ttery";
    std::fs::write(
        vars.join("vault.yml"),
        example.replace("paste-the-key-here", key),
    )
    .unwrap();
    let v = mmctl(&["-i", i, "validate"]);
    let all = text(&v.stdout) + &text(&v.stderr);
    assert_eq!(v.status.code(), Some(0), "{all}");
    assert!(!all.contains("hunter2"), "the key leaked: {all}");
}

#[test]
fn init_with_playbooks_writes_the_user_guides_three_playbooks_and_an_ansible_cfg_naming_the_inventory()
 {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmctl"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["init", "--playbooks"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("wrote ./playbooks/deploy-complete-monitoring.yml"),
        "{said}"
    );
    for (file, fqcn) in [
        (
            "deploy-complete-monitoring.yml",
            "deploy_complete_monitoring",
        ),
        ("deploy-self-healing.yml", "deploy_self_healing"),
        ("deploy-healthchecks.yml", "deploy_healthchecks"),
    ] {
        let play = std::fs::read_to_string(dir.path().join("playbooks").join(file)).unwrap();
        assert!(
            play.ends_with(&format!(
                "  ansible.builtin.import_playbook: miraclemax.stack.{fqcn}\n"
            )),
            "{play}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ansible.cfg")).unwrap(),
        "# Ansible's settings for this folder (mmctl reads them too).\n[defaults]\ninventory = inventory\n"
    );
    // mmctl finds that inventory through the ansible.cfg, as ansible-playbook will.
    let list = run(&["list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        text(&list.stdout).contains("server1"),
        "{}",
        text(&list.stdout)
    );

    // Again: the playbooks exist, so nothing at all is written (not even a new inventory).
    let again = run(&["init", "second", "--playbooks"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("playbooks/deploy-complete-monitoring.yml: already exists"),
        "{}",
        text(&again.stderr)
    );
    assert!(!dir.path().join("second").exists());
}

#[test]
fn init_with_playbooks_leaves_an_existing_ansible_cfg_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mine = "[defaults]\ninventory = hosts\nstdout_callback = yaml\n";
    std::fs::write(dir.path().join("ansible.cfg"), mine).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .current_dir(dir.path())
        .args(["init", "fleet", "--playbooks"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ansible.cfg")).unwrap(),
        mine
    );
    assert!(!text(&out.stdout).contains("ansible.cfg"));
}

/// `-i FOLDER` names the folder `init` writes, as it names the inventory for every other
/// command; two different folders are refused, nothing written.
#[test]
fn init_writes_the_folder_dash_i_names_and_refuses_two() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("fleet");
    let out = mmctl(&["-i", inv.to_str().unwrap(), "init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(inv.join("hosts.yml").is_file());
    let other = dir.path().join("other");
    let out = mmctl(&["-i", inv.to_str().unwrap(), "init", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "mmctl: error: init was given two folders, {} and -i {}: give one\n",
            other.display(),
            inv.display()
        )
    );
    assert!(!other.exists());
}
