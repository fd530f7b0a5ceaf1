//! The guides' commands against a real server: `docs/quickstart.md` from `mmctl init` to
//! `mmctl test heal`, then the `sh runnable e2e` blocks of the other guides, which start where
//! the quickstart ends, all in one shell session on one testbed host. What stands in for the
//! reader's own server and accounts (described in docs/testbed.md): the host answers to the
//! quickstart's `web1` through `host_vars/web1.yml` (its address) and
//! `group_vars/miraclemax/testbed.yml` (how it is reached, reports to the local SMTP server, the
//! Healthchecks stand-in's API, this build's binaries), written as soon as `mmctl init` has made
//! the inventory; it runs `story-stages.service` on port 3000; `$EDITOR` puts the stand-in's API
//! key where the vault example says "paste-the-key-here". Once on a Debian 12 and once on a
//! Debian 13 host (two tests, run side by side), as a reader's server is either.
//!
//! `cargo build --workspace && cargo test --locked --features e2e --test e2e -- docs`

use crate::support::{D12, D13};
use mm_testbed::docs::{self, Session, Tier};
use mm_testbed::healthchecks::{API_KEY, Healthchecks};
use mm_testbed::{Release, Testbed};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const QUICKSTART: &str = "docs/quickstart.md";

#[test]
fn docs_quickstart_and_guides_commands_run_against_a_debian_12_host() {
    guides_run_against(D12);
}

#[test]
fn docs_quickstart_and_guides_commands_run_against_a_debian_13_host() {
    guides_run_against(D13);
}

#[allow(clippy::too_many_lines)] // one user story on real hosts, told top to bottom in the order it happens
fn guides_run_against(release: Release) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tb = Testbed::start_on(&[release]).unwrap();
    let host = tb.host(0);
    let smtp = crate::support::Smtp::start(host.gateway());
    let hc = Healthchecks::start(IpAddr::V4(host.gateway())).unwrap();
    // The reader's own service: the example app as story-stages.service on port 3000.
    host.write(
        "/etc/systemd/system/story-stages.service",
        "[Service]\nType=notify\nNotifyAccess=main\nExecStart=/usr/bin/python3 /usr/local/bin/mm-example-app 3000\n",
    )
    .unwrap();
    host.ssh_ok(&["systemctl", "daemon-reload"]).unwrap();
    host.ssh_ok(&["systemctl", "start", "story-stages.service"])
        .unwrap();

    let bin_dir = mm_testbed::workspace_bin("mmctl")
        .parent()
        .unwrap()
        .to_path_buf();
    let editor = format!("sed -i s/paste-the-key-here/{API_KEY}/");
    let collections = crate::support::collections();
    let session = Session::new(
        &[bin_dir, root.join(".venv/bin")],
        Some(root),
        &[
            ("EDITOR", &editor),
            ("ANSIBLE_COLLECTIONS_PATH", collections.to_str().unwrap()),
        ],
        600,
    )
    .unwrap();
    let fleet = session.home.join("fleet");
    let mut site_written = false;
    let mut stand_in = |_: &Session, cmd: &docs::scan::Cmd, ran: &docs::run::Ran| {
        // The transcript, for the guides and for whoever reads a failed run's log.
        eprintln!("$ {}\n{}", cmd.text, ran.output);
        if site_written || !fleet.join("hosts.yml").exists() {
            return;
        }
        std::fs::create_dir_all(fleet.join("host_vars")).unwrap();
        std::fs::write(
            fleet.join("host_vars/web1.yml"),
            format!("ansible_host: {}\n", host.address()),
        )
        .unwrap();
        std::fs::write(
            fleet.join("group_vars/miraclemax/testbed.yml"),
            format!(
                "{}self_healing_bin_dir: {}\n",
                mm_testbed::deploy::testbed_vars(Some(&hc.api_url)),
                mm_testbed::dist_dir().display()
            ),
        )
        .unwrap();
        site_written = true;
    };

    let mut ran = 0;
    let mut guides: Vec<PathBuf> = vec![PathBuf::from(QUICKSTART)];
    guides.extend(
        docs::documents(root)
            .into_iter()
            .filter(|d| d != Path::new(QUICKSTART)),
    );
    for doc in &guides {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        // The quickstart whole; of the others, what needs the server it set up.
        let all = doc == Path::new(QUICKSTART);
        let n = docs::run_document(
            &session,
            doc,
            &text,
            |b| all || b.tier == Tier::E2e,
            false,
            &mut stand_in,
        )
        .unwrap_or_else(|p| panic!("\n{p}"));
        eprintln!("{}: {n} command(s) ran", doc.display());
        ran += n;
    }
    assert!(ran > 0);
    // The quickstart's test heal sent its RESOLVED report to the reader's inbox.
    assert!(smtp.count("✅ MiracleMax: story-stages - RESOLVED") >= 1);
    assert_eq!(
        crate::support::is_active(host, "story-stages.service"),
        "active"
    );
}
