//! The user's own repository, as a new user sets it up: a folder outside this checkout with its
//! own ansible.cfg (collections inside it, a stdout callback of its choosing), ansible-core from a
//! virtualenv of its own, the collection installed there from the tarball, and mmctl installed
//! with `cargo install --path crates/mmctl`. Everything runs from that folder with nothing of the
//! repository on PATH or in the environment: `mmctl init --playbooks`, `add-service`, `validate`,
//! `deploy`, `status`, `test heal`, `test heartbeat`, `logs`, then the user guide's
//! `ansible-playbook playbooks/deploy-complete-monitoring.yml` twice, the second changing nothing.
//! Against a Debian 13 and a Debian 12 server, logged into as the sudo user the example
//! inventory names.

use crate::ansible_deploy::{smtp_per_host, sudo_users, vault};
use crate::support::{D12, D13, build_collection};
use mm_testbed::Testbed;
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ANSIBLE_CORE: &str = "ansible-core==2.19.14";

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mm-user-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok(what: &str, out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}: {text}");
    text
}

/// The user's shell in their repository: PATH has their mmctl and their virtualenv, the
/// environment nothing of this project's.
struct Shell {
    root: PathBuf,
    path: std::ffi::OsString,
}

impl Shell {
    fn run(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .current_dir(&self.root)
            .args(args)
            .env("PATH", &self.path)
            .env("HOME", &self.root)
            .env("NO_COLOR", "1")
            .env("ANSIBLE_NOCOLOR", "1")
            .env_remove("MMCTL_ANSIBLE_BIN_DIR")
            .env_remove("ANSIBLE_CONFIG")
            .env_remove("ANSIBLE_COLLECTIONS_PATH")
            .env_remove("ANSIBLE_CALLBACKS_ENABLED")
            .env_remove("ANSIBLE_INVENTORY")
            .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn the_users_own_repository_with_the_installed_collection_and_mmctl_deploys_and_drills() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The release artifacts: the collection tarball (with this build's host binaries as
    // dist/x86_64 would hold them) and mmctl, installed as a user installs it.
    let dist = fresh("dist");
    std::os::unix::fs::symlink(mm_testbed::dist_dir(), dist.join(std::env::consts::ARCH)).unwrap();
    let out_dir = fresh("tarball");
    build_collection(&[
        "--out",
        out_dir.to_str().unwrap(),
        "--dist",
        dist.to_str().unwrap(),
    ]);
    let tarball = out_dir.join("miraclemax-stack-0.1.0.tar.gz");
    let tools = fresh("tools");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let install = Command::new(cargo)
        .args(["install", "--locked", "--offline", "--debug", "--path"])
        .arg(repo.join("crates/mmctl"))
        .arg("--root")
        .arg(tools.join("mmctl"))
        .arg("--target-dir")
        .arg(repo.join("target/mmctl-install"))
        .output()
        .unwrap();
    ok("cargo install --path crates/mmctl", &install);
    let venv = tools.join("venv");
    ok(
        "python3 -m venv",
        &Command::new("/usr/bin/python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .unwrap(),
    );
    ok(
        "pip install ansible-core",
        &Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", ANSIBLE_CORE])
            .output()
            .unwrap(),
    );

    // The user's repository and shell.
    let root = fresh("repository");
    std::fs::write(
        root.join("ansible.cfg"),
        "[defaults]\ninventory = inventory\ncollections_path = ./collections\n\
         stdout_callback = ansible.builtin.minimal\nretry_files_enabled = false\n",
    )
    .unwrap();
    let system_path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        [tools.join("mmctl/bin"), venv.join("bin")]
            .into_iter()
            .chain(std::env::split_paths(&system_path).filter(|p| !p.starts_with(repo))),
    )
    .unwrap();
    let sh = Shell {
        root: root.clone(),
        path,
    };
    let galaxy = sh.run(
        "ansible-galaxy",
        &["collection", "install", tarball.to_str().unwrap()],
    );
    ok("ansible-galaxy collection install", &galaxy);
    assert!(
        root.join("collections/ansible_collections/miraclemax/stack/galaxy.yml")
            .is_file()
            || root
                .join("collections/ansible_collections/miraclemax/stack/MANIFEST.json")
                .is_file(),
        "installed where the user's ansible.cfg says"
    );

    // The first server runs Debian 13, the current stable; a second one, Debian 12, is added
    // to hosts.yml by hand as the file says.
    let tb = Testbed::start_on(&[D13, D12]).unwrap();
    let _smtp = smtp_per_host(&tb);
    let (host, older) = (tb.host(0), tb.host(1));
    assert_eq!(host.release, D13);
    let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
    let address = host.address().to_string();
    let init = sh.run(
        "mmctl",
        &[
            "init",
            "--playbooks",
            "--host",
            &host.name,
            "--address",
            &address,
            "--user",
            "deploy",
        ],
    );
    let said = ok("mmctl init --playbooks", &init);
    assert!(
        said.contains("wrote ./playbooks/deploy-complete-monitoring.yml"),
        "{said}"
    );
    let inv = root.join("inventory");
    let hosts = std::fs::read_to_string(inv.join("hosts.yml"))
        .unwrap()
        .replacen(
            "  vars:\n",
            &format!(
                "    {}:\n      ansible_host: {}\n  vars:\n",
                older.name,
                older.address()
            ),
            1,
        );
    std::fs::write(inv.join("hosts.yml"), hosts).unwrap();
    // The test host's specifics (how it is reached, reports to the test SMTP server, the
    // Healthchecks stand-in), kept beside the user's settings as a site's own file.
    std::fs::write(
        inv.join("group_vars/miraclemax/testbed.yml"),
        mm_testbed::deploy::testbed_vars(Some(&hc.api_url)),
    )
    .unwrap();
    let password = vault(&inv, &format!("vault_healthchecks_api_key: {API_KEY}\n"));
    let pw = password.to_str().unwrap();

    let add = sh.run(
        "mmctl",
        &[
            "add-service",
            "example",
            "--port",
            "8080",
            "--critical",
            "--health-path",
            "/health",
            "--strategy",
            "service_restart",
            "--healthcheck",
        ],
    );
    ok("mmctl add-service", &add);
    let validate = sh.run("mmctl", &["--vault-password-file", pw, "validate"]);
    ok("mmctl validate", &validate);

    let deploy = sh.run("mmctl", &["--vault-password-file", pw, "deploy"]);
    let text = ok("mmctl deploy", &deploy);
    // The user's stdout callback (minimal) prints the play; mmctl adds its line per host.
    assert!(text.contains(&format!("{} | CHANGED", host.name)), "{text}");
    assert!(!text.contains("PLAY RECAP"), "{text}");
    for h in [host, older] {
        assert!(
            text.contains(&format!("mmctl: {}: changed (", h.name)),
            "{text}"
        );
    }
    assert!(!text.contains(API_KEY), "the API key was printed");

    let status = sh.run("mmctl", &["--vault-password-file", pw, "status"]);
    let table = ok("mmctl status", &status);
    for h in [host, older] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(&h.name) && l.contains(" ok ") && l.contains("active")),
            "{table}"
        );
    }
    let drill = sh.run(
        "mmctl",
        &[
            "--vault-password-file",
            pw,
            "test",
            "heal",
            &host.name,
            "example",
        ],
    );
    let report = ok("mmctl test heal", &drill);
    assert!(
        report.contains("stopped example.service; miraclemax-self-heal healed it in"),
        "{report}"
    );
    let beat = sh.run(
        "mmctl",
        &["--vault-password-file", pw, "test", "heartbeat", &host.name],
    );
    let beat = ok("mmctl test heartbeat", &beat);
    assert!(
        beat.contains("checked: healthy") && beat.contains(&format!("| host: {}", host.name)),
        "{beat}"
    );
    let logs = sh.run(
        "mmctl",
        &[
            "--vault-password-file",
            pw,
            "logs",
            &host.name,
            "--service",
            "example",
        ],
    );
    let history = ok("mmctl logs", &logs);
    assert!(history.lines().any(|l| l.contains("example:")), "{history}");

    // The user guide's command, twice: the second run changes nothing.
    for run in ["first", "second"] {
        let play = sh.run(
            "ansible-playbook",
            &[
                "playbooks/deploy-complete-monitoring.yml",
                "--vault-password-file",
                pw,
            ],
        );
        let text = ok(&format!("ansible-playbook, {run} run"), &play);
        for h in [host, older] {
            assert!(text.contains(&format!("{} | SUCCESS", h.name)), "{text}");
        }
        if run == "second" {
            assert!(
                !text.contains("| CHANGED"),
                "the second run changed something: {text}"
            );
        }
    }
    for h in [host, older] {
        assert!(hc.checks().iter().any(|c| c.slug == h.name));
        // Deployed as the example inventory says: the sudo user, not root.
        let sudo = sudo_users(h);
        assert!(
            !sudo.is_empty() && sudo.iter().all(|u| u == "deploy"),
            "{}: {sudo:?}",
            h.name
        );
    }
}
