//! The one Ansible artifact: `scripts/build-collection` packs the miraclemax.stack collection
//! (modules, roles, playbooks, host binaries), `ansible-galaxy collection install` puts it in a
//! fresh folder, and its playbooks, run from there with no repository around them, deploy a
//! Debian 12 and a Debian 13 test host from an inventory written for the earlier roles
//! (healthchecks_* variables) unchanged, on a controller that cannot run any of the project's
//! binaries (as a macOS or aarch64 controller could not): every module runs on the host.

use crate::ansible_deploy::{host_config, recap, smtp_per_host, succeeded, vault};
use crate::support::*;
use mm_testbed::Testbed;
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh folder under the system's temp dir, unique to this test process.
fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An Ansible command run outside the repository (no ansible.cfg of ours), finding collections
/// only in `collections`.
fn outside(tool: &str, collections: &Path, cwd: &Path) -> Command {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(repo.join(".venv/bin").join(tool));
    cmd.current_dir(cwd)
        .env_remove("ANSIBLE_CONFIG")
        .env("ANSIBLE_COLLECTIONS_PATH", collections)
        .env("ANSIBLE_ROLES_PATH", cwd.join("no-roles-here"))
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("PAGER", "cat");
    cmd
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn the_built_collection_installs_and_deploys_an_inventory_written_for_the_earlier_roles() {
    // The tarball, with this build's (debug) binaries as dist/ARCH would hold them: the
    // host binaries and the modules, which run on the host too.
    let dist = fresh("dist");
    std::os::unix::fs::symlink(mm_testbed::dist_dir(), dist.join(std::env::consts::ARCH)).unwrap();
    let out_dir = fresh("collection-out");
    let built = build_collection(&[
        "--out",
        out_dir.to_str().unwrap(),
        "--dist",
        dist.to_str().unwrap(),
    ]);
    assert!(
        built.contains(&format!(
            "host binaries in the collection: {}",
            std::env::consts::ARCH
        )),
        "{built}"
    );
    let tarball = out_dir.join("miraclemax-stack-0.1.0.tar.gz");
    assert!(tarball.is_file(), "{built}");

    let cwd = fresh("collection-cwd");
    let installed = cwd.join("collections");
    let out = outside("ansible-galaxy", &installed, &cwd)
        .args(["collection", "install", tarball.to_str().unwrap(), "-p"])
        .arg(&installed)
        .output()
        .unwrap();
    let text = succeeded(&out);
    assert!(
        text.contains("miraclemax.stack:0.1.0 was installed successfully"),
        "{text}"
    );

    // The roles' argument specs are what ansible-doc shows.
    for (role, option) in [
        ("miraclemax.stack.self_healing", "monitored_services"),
        ("miraclemax.stack.heartbeat", "heartbeat_api_key"),
    ] {
        let doc = outside("ansible-doc", &installed, &cwd)
            .args(["-t", "role", role])
            .output()
            .unwrap();
        let doc = succeeded(&doc);
        assert!(doc.contains("ENTRY POINT: *main*"), "{doc}");
        assert!(doc.contains(option), "{role}: {doc}");
    }

    booby_trap_the_controller(
        &installed.join("ansible_collections/miraclemax/stack"),
        &cwd,
    );

    let tb = Testbed::start_on(&BOTH).unwrap();
    let _smtp = smtp_per_host(&tb);
    let hc = Healthchecks::start(IpAddr::V4(tb.host(0).gateway())).unwrap();
    let inv = cwd.join("inventory");
    let old_vars = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/fixtures/inventory-0.1/group_vars/miraclemax/main.yml");
    mm_testbed::deploy::inventory_with(&old_vars, tb.hosts(), &inv).unwrap();
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    // The earlier role's variable name, as such an inventory would set it.
    let api_url = format!("healthchecks_api_url={}", hc.api_url);

    for playbook in [
        "miraclemax.stack.deploy_self_healing",
        "miraclemax.stack.deploy_healthchecks",
        "miraclemax.stack.deploy_complete_monitoring",
    ] {
        let out = outside("ansible-playbook", &installed, &cwd)
            .args(["-i", inv.to_str().unwrap(), playbook, "-e", &api_url])
            .args(["--vault-password-file", password.to_str().unwrap()])
            .output()
            .unwrap();
        let text = succeeded(&out);
        assert_eq!(
            recap(&out)
                .into_iter()
                .map(|(_, _, failed)| failed)
                .collect::<Vec<_>>(),
            vec![0, 0],
            "{playbook}: {text}"
        );
        assert!(!text.contains(API_KEY), "{playbook} printed the API key");
    }

    // What each host got: the daemon running from the collection's binaries, the heartbeat's
    // fragment with the check's ping URL, and the heartbeat's run received.
    for host in tb.hosts() {
        let at = format!("{} ({})", host.name, host.release);
        assert_eq!(
            is_active(host, "miraclemax-self-heal.service"),
            "active",
            "{at}"
        );
        let server = hc
            .checks()
            .into_iter()
            .find(|c| c.slug == host.name)
            .expect("the server check");
        let heartbeat = host_config(host).heartbeat.expect("the heartbeat section");
        assert!(
            heartbeat
                .ping_url
                .expose()
                .ends_with(&format!("/ping/{}", server.uuid)),
            "{at}"
        );
        assert!(
            hc.pings()
                .iter()
                .any(|p| p.check == server.uuid && p.kind == "success"),
            "{at}: the deploy's heartbeat run reached Healthchecks"
        );
    }
}

/// Makes the installed collection fail if any of its code runs on the controller: its modules
/// (sh dispatchers, which must not be ELF binaries built for one controller) refuse to run where
/// `marker` exists, a file only the controller has, and its ELF files lose their execute bits
/// here (the binaries role copies them to hosts with their own mode).
fn booby_trap_the_controller(collection: &Path, cwd: &Path) {
    let marker = cwd.join("this-is-the-controller");
    std::fs::write(&marker, "").unwrap();
    let guard = format!(
        "if [ -e '{}' ]; then echo '{{\"failed\": true, \"msg\": \"a MiracleMax module ran on the controller\"}}'; exit 1; fi\n",
        marker.display()
    );
    let modules = collection.join("plugins/modules");
    let mut trapped = 0;
    for entry in std::fs::read_dir(&modules).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some() {
            continue; // documentation sidecars
        }
        let text = std::fs::read(&path).unwrap();
        assert!(
            !text.starts_with(b"\x7fELF"),
            "{} is a binary: it could only run on one kind of controller",
            path.display()
        );
        let text = String::from_utf8(text).unwrap();
        let (shebang, rest) = text.split_once('\n').unwrap();
        std::fs::write(&path, format!("{shebang}\n{guard}{rest}")).unwrap();
        trapped += 1;
    }
    assert_eq!(
        trapped, 5,
        "agent_config, healthchecks_check, stack_facts, drill, maintenance"
    );
    // The trap is armed: a module run here fails.
    let out = Command::new("sh")
        .arg(modules.join("agent_config"))
        .arg("/dev/null")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ran on the controller"),
        "{out:?}"
    );

    let mut stripped = 0;
    let mut stack = vec![collection.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).unwrap().starts_with(b"\x7fELF") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
                stripped += 1;
            }
        }
    }
    assert!(
        stripped >= 7,
        "the host binaries and modules are in the collection"
    );
}
