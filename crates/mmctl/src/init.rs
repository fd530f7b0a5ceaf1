//! `mmctl init [DIR]`: a new inventory for a first server, the repository's own example
//! (`inventory/`, built in, so the two cannot drift): the hosts file, group variables with
//! every setting commented, a vault example; then the next steps. With `--playbooks`, also the
//! user guide's three playbooks in `playbooks/` of the current folder, each importing the
//! installed collection's, and an `ansible.cfg` naming the inventory when the folder has none,
//! so `ansible-playbook playbooks/deploy-complete-monitoring.yml` works there as the guide says.

use std::path::{Path, PathBuf};

/// Why `mmctl init` writes nothing, or stopped writing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{}: not empty; give a new folder (mmctl init DIR), or edit the inventory there with mmctl add-service",
        dir.display()
    )]
    NotEmpty { dir: PathBuf },
    #[error("{what} '{value}' may hold only letters, digits and {allowed}")]
    BadWord {
        what: &'static str,
        value: String,
        /// The other characters allowed, quoted: `'-' '_' '.'`.
        allowed: String,
    },
    #[error(
        "{}: already exists; mmctl init --playbooks writes only new files (move it away, or leave out --playbooks)",
        path.display()
    )]
    PlaybookExists { path: PathBuf },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const FILES: &[(&str, &str)] = &[
    ("hosts.yml", include_str!("../../../inventory/hosts.yml")),
    (
        "group_vars/miraclemax/main.yml",
        include_str!("../../../inventory/group_vars/miraclemax/main.yml"),
    ),
    (
        "group_vars/miraclemax/vault.yml.example",
        include_str!("../../../inventory/group_vars/miraclemax/vault.yml.example"),
    ),
];

/// The first server, as `--host`, `--address` and `--user` give it.
pub struct First {
    pub name: Option<String>,
    pub address: Option<String>,
    pub user: Option<String>,
}

/// Writes the inventory into `dir` (which must be new or empty); the files written.
pub fn init(dir: &Path, first: &First) -> Result<Vec<PathBuf>, InitError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(InitError::NotEmpty {
            dir: dir.to_path_buf(),
        });
    }
    let word = |what: &'static str, v: &str, extra: &[char]| {
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
            && v.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(())
        } else {
            Err(InitError::BadWord {
                what,
                value: v.into(),
                allowed: extra
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(" "),
            })
        }
    };
    let mut hosts = FILES[0].1.to_string();
    if let Some(n) = &first.name {
        word("--host", n, &['-', '_', '.'])?;
        hosts = hosts.replacen("    server1:\n", &format!("    {n}:\n"), 1);
    }
    if let Some(a) = &first.address {
        word("--address", a, &['-', '_', '.', ':'])?;
        hosts = hosts.replacen(
            "ansible_host: server1.example.org",
            &format!("ansible_host: {a}"),
            1,
        );
    }
    if let Some(u) = &first.user {
        word("--user", u, &['-', '_', '.'])?;
        hosts = hosts.replacen("ansible_user: deploy", &format!("ansible_user: {u}"), 1);
    }
    let mut written = Vec::new();
    for (i, (name, text)) in FILES.iter().enumerate() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        std::fs::write(&path, if i == 0 { hosts.as_str() } else { text })?;
        written.push(path);
    }
    Ok(written)
}

/// What to do next, with the commands as the user will type them.
pub fn next_steps(dir: &Path, host: &str) -> String {
    let d = dir.display();
    let i = if dir == Path::new("inventory") {
        String::new()
    } else {
        format!("-i {d} ")
    };
    format!(
        "\nNext steps:\n\
         \x20 1. Check {d}/hosts.yml: the server's address and the account Ansible logs in as.\n\
         \x20 2. Add what it runs:\n\
         \x20      mmctl {i}add-service NAME --port PORT --domain DOMAIN --critical \\\n\
         \x20          --strategy service_restart --strategy port_conflict --healthcheck\n\
         \x20 3. Secrets (Healthchecks API key, SMTP password):\n\
         \x20      cp {d}/group_vars/miraclemax/vault.yml.example {d}/group_vars/miraclemax/vault.yml\n\
         \x20      $EDITOR {d}/group_vars/miraclemax/vault.yml && ansible-vault encrypt {d}/group_vars/miraclemax/vault.yml\n\
         \x20     and set self_healing_email in {d}/group_vars/miraclemax/main.yml.\n\
         \x20 4. mmctl {i}validate\n\
         \x20 5. mmctl {i}deploy --ask-vault-pass\n\
         \x20 6. mmctl {i}test heal {host} NAME\n"
    )
}

/// The user guide's playbook names and the collection playbook each one runs.
const PLAYBOOKS: &[(&str, &str, &str)] = &[
    (
        "deploy-complete-monitoring.yml",
        "deploy_complete_monitoring",
        "Both layers: self-healing on every server, then the external heartbeat.",
    ),
    (
        "deploy-self-healing.yml",
        "deploy_self_healing",
        "Layer 1: the self-healing daemon on every server.",
    ),
    (
        "deploy-healthchecks.yml",
        "deploy_healthchecks",
        "Layer 2: the Healthchecks checks and the cron heartbeat.",
    ),
];

/// The files `--playbooks` writes in `root`, with their text: the three playbooks, and an
/// ansible.cfg naming `inventory` when `root` has no ansible.cfg of its own.
fn playbook_files(root: &Path, inventory: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = PLAYBOOKS
        .iter()
        .map(|(file, fqcn, what)| {
            (
                root.join("playbooks").join(file),
                format!(
                    "---\n# {what} The play is the miraclemax.stack collection's (installed with\n\
                     # ansible-galaxy collection install), so upgrading the collection upgrades it.\n\
                     - name: MiracleMax, {fqcn}\n  ansible.builtin.import_playbook: miraclemax.stack.{fqcn}\n"
                ),
            )
        })
        .collect();
    let cfg = root.join("ansible.cfg");
    if !cfg.exists() {
        let inv = inventory.strip_prefix(root).unwrap_or(inventory);
        files.push((
            cfg,
            format!(
                "# Ansible's settings for this folder (mmctl reads them too).\n[defaults]\ninventory = {}\n",
                inv.display()
            ),
        ));
    }
    files
}

/// Refuses, before anything is written, when a playbook `--playbooks` would write exists.
pub fn check_playbooks(root: &Path) -> Result<(), InitError> {
    for (file, _, _) in PLAYBOOKS {
        let path = root.join("playbooks").join(file);
        if path.exists() {
            return Err(InitError::PlaybookExists { path });
        }
    }
    Ok(())
}

/// Writes the playbooks (and ansible.cfg when missing) into `root`; the files written.
pub fn playbooks(root: &Path, inventory: &Path) -> Result<Vec<PathBuf>, InitError> {
    check_playbooks(root)?;
    let mut written = Vec::new();
    for (path, text) in playbook_files(root, inventory) {
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
