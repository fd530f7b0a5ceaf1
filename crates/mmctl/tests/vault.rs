//! Inventories with Ansible Vault: whole encrypted files and inline `!vault` values, opened with
//! a password file, a password program or ANSIBLE_VAULT_PASSWORD_FILE; secrets stay redacted.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const INLINE: &str = "!vault |\n    $ANSIBLE_VAULT;1.1;AES256\n    65663337336531333336616437336434313838393034326465623763633762333139333236303839\n    3538303363626462363234613832313661303130636561380a616632323962646438306433326636\n    39373735653461363032643336343937396361363362323035326665383432343664393861373836\n    3633353962663265390a653834653738333564393337643736376338366139663264623361653734\n    3164\n";

fn inventory(dir: &Path) {
    std::fs::create_dir_all(dir.join("group_vars/all")).unwrap();
    std::fs::write(dir.join("hosts.yml"), "web:\n  hosts:\n    web1:\n").unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vault/vault.yml"),
        dir.join("group_vars/all/vault.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("group_vars/all/main.yml"),
        format!(
            "monitored_services:\n  - name: passgo\n    port: 8080\n\
             self_healing_smtp_password: \"{{{{ vault_smtp_password | default('') }}}}\"\n\
             heartbeat_ping_url: \"https://hc.example.org/ping/{{{{ vault_healthchecks_api_key | default('none') }}}}\"\n\
             self_healing_ssh_target: {INLINE}"
        ),
    )
    .unwrap();
}

fn mmctl(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .arg("-i")
        .arg(dir)
        .args(args)
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn vaulted_values_open_with_a_password_file_and_stay_redacted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    inventory(&inv);
    let pw = dir.path().join("pass");
    std::fs::write(&pw, "secret-pass\n").unwrap();
    let pw_arg = pw.to_str().unwrap();

    let out = mmctl(
        &inv,
        &["--vault-password-file", pw_arg, "render", "web1"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("ssh_target: \"inline-secret\""), "{shown}");
    assert!(
        shown.contains("==> /etc/miraclemax/smtp-password <==\n<redacted>\n"),
        "{shown}"
    );
    assert!(
        shown.contains("\"ping_url\":\"https://hc.example.org/<redacted>\""),
        "{shown}"
    );
    assert!(
        !shown.contains("s3cr3t-smtp") && !shown.contains("k3y-abc"),
        "{shown}"
    );

    let out = mmctl(
        &inv,
        &[
            "--vault-password-file",
            pw_arg,
            "render",
            "web1",
            "--show-secrets",
        ],
        &[],
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("==> /etc/miraclemax/smtp-password <==\ns3cr3t-smtp\n"),
        "{shown}"
    );
    assert!(
        shown.contains("https://hc.example.org/ping/k3y-abc"),
        "{shown}"
    );

    // The same password from a program, named by the environment.
    let program = dir.path().join("pass.sh");
    std::fs::write(&program, "#!/bin/sh\necho secret-pass\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = mmctl(
        &inv,
        &["validate"],
        &[("ANSIBLE_VAULT_PASSWORD_FILE", program.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn without_the_password_the_vault_is_named_and_a_wrong_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    inventory(&inv);
    let out = mmctl(&inv, &["validate"], &[]);
    let err = text(&out.stderr);
    assert!(
        err.contains("group_vars/all/vault.yml: encrypted with Ansible Vault and not opened"),
        "{err}"
    );
    assert!(
        err.contains("self_healing_ssh_target: is encrypted with Ansible Vault; give its password (--vault-password-file, --vault-id or --ask-vault-pass)"),
        "{err}"
    );
    // render says what it could not show, never leaves it out silently.
    let out = mmctl(&inv, &["render", "web1"], &[]);
    let err = text(&out.stderr);
    assert!(
        err.contains("mmctl: note: web1: the variables in ")
            && err.contains("group_vars/all/vault.yml (encrypted with Ansible Vault, not opened) are left out of what is shown; give its password"),
        "{err}"
    );
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "nope\n").unwrap();
    let out = mmctl(
        &inv,
        &["--vault-password-file", wrong.to_str().unwrap(), "validate"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("vault.yml: the vault password does not open it"),
        "{err}"
    );
}

/// A vaulted value validation did not need is still not checked: without the password,
/// validate finds no problem but says so, names each vaulted file and inline value, and
/// exits 2 (never "valid"); with it, the same inventory is OK (exit 0).
#[test]
fn without_the_password_what_the_vault_holds_is_not_checked_never_valid() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    std::fs::create_dir_all(inv.join("group_vars")).unwrap();
    std::fs::write(inv.join("hosts.yml"), "web:\n  hosts:\n    web1:\n").unwrap();
    std::fs::write(
        inv.join("group_vars/web.yml"),
        format!(
            "monitored_services:\n  - name: passgo\n    port: 8080\n\
             heartbeat_ping_url: https://hc.example.org/ping/x\nsome_secret: {INLINE}"
        ),
    )
    .unwrap();
    let out = mmctl(&inv, &["validate"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "inventory NOT CHECKED whole: 1 host(s), no problem found in what could be read; what Ansible Vault holds was not opened\n"
    );
    assert!(
        text(&out.stderr).contains(&format!(
            "mmctl: note: {}: some_secret: encrypted with Ansible Vault and not opened",
            inv.join("group_vars/web.yml").display()
        )),
        "{}",
        text(&out.stderr)
    );
    let pw = dir.path().join("pass");
    std::fs::write(&pw, "secret-pass\n").unwrap();
    let out = mmctl(
        &inv,
        &["--vault-password-file", pw.to_str().unwrap(), "validate"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "inventory OK: 1 host(s), each configuration valid\n"
    );
}

/// `ansible-vault encrypt_string` of the project's own Ansible, as an inline `!vault` value
/// with this vault id.
fn encrypt_string(dir: &Path, plain: &str, id: &str, password: &str) -> String {
    let file = dir.join(format!("{id}-pass"));
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let out =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/ansible-vault"))
            .args(["encrypt_string", "--encrypt-vault-id", id, "--vault-id"])
            .arg(format!("{id}@{}", file.display()))
            .arg(plain)
            .env("ANSIBLE_CONFIG", dir.join("none.cfg"))
            .env("ANSIBLE_HOME", dir.join(".ansible-home"))
            .output()
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
// One story over the same inventory and vault files: labels from ansible.cfg and the command
// line, validate without prod's password, then ansible.cfg's vault_password_file.
#[allow(clippy::too_many_lines)]
fn vault_ids_from_ansible_cfg_and_the_command_line_open_the_values_of_each_label() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    std::fs::create_dir_all(inv.join("group_vars")).unwrap();
    std::fs::write(
        inv.join("hosts.yml"),
        "web:\n  hosts:\n    web1:\n    web2:\n",
    )
    .unwrap();
    let dev = encrypt_string(dir.path(), "dev-target", "dev", "dev-pass");
    let prod = encrypt_string(
        dir.path(),
        "https://hc.example.org/ping/prod-key",
        "prod",
        "prod-pass",
    );
    let indent = |s: &str| s.replace("\n  ", "\n    ");
    std::fs::write(
        inv.join("group_vars/web.yml"),
        format!(
            "monitored_services:\n  - name: passgo\n    port: 8080\nself_healing_ssh_target: {}heartbeat_ping_url: {}",
            indent(&dev),
            indent(&prod)
        ),
    )
    .unwrap();
    // dev's password from ansible.cfg's vault_identity_list (relative to the working folder,
    // as Ansible takes it), prod's on the command line.
    std::fs::write(
        dir.path().join("ansible.cfg"),
        "[defaults]\nvault_identity_list = dev@dev-pass\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mmctl"))
            .arg("-i")
            .arg(&inv)
            .args(args)
            .current_dir(dir.path())
            .env("ANSIBLE_CONFIG", dir.path().join("ansible.cfg"))
            .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
            .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
            .output()
            .unwrap()
    };
    let out = run(&[
        "--vault-id",
        "prod@prod-pass",
        "render",
        "web*",
        "--show-secrets",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    // Both hosts, one after the other, each with both labels' values opened.
    assert!(shown.starts_with("==> web1 <==\n"), "{shown}");
    assert!(shown.contains("\n==> web2 <==\n"), "{shown}");
    assert_eq!(
        shown.matches("ssh_target: \"dev-target\"").count(),
        2,
        "{shown}"
    );
    assert_eq!(shown.matches("ping/prod-key").count(), 2, "{shown}");
    // Without prod's password its value is not opened, and validate says it did not check it.
    let out = run(&["validate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Said once: for both hosts, and the variable and its file are the problem's own.
    let vars = std::fs::read_to_string(inv.join("group_vars/web.yml")).unwrap();
    let line = 1 + vars
        .lines()
        .position(|l| l.starts_with("heartbeat_ping_url:"))
        .unwrap();
    assert!(
        err.contains(&format!(
            "group_vars/web.yml:{line}: hosts 'web1', 'web2': heartbeat_ping_url: the vault password does not open it"
        )),
        "{err}"
    );
    assert!(err.contains("mmctl: 1 problem(s) in 2 host(s)"), "{err}");
    assert!(!err.contains("variable 'heartbeat_ping_url'"), "{err}");

    // ansible.cfg's vault_password_file, relative to the file's folder (run from another
    // folder): its secret has the default label and opens prod's value all the same, as in
    // Ansible, which tries every secret after those of the label.
    std::fs::write(
        dir.path().join("ansible.cfg"),
        format!(
            "[defaults]\nvault_identity_list = dev@{}\nvault_password_file = prod-pass\n",
            dir.path().join("dev-pass").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .args(["-i", "."])
        .args(["render", "web1", "--show-secrets"])
        .current_dir(&inv)
        .env("ANSIBLE_CONFIG", dir.path().join("ansible.cfg"))
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("ssh_target: \"dev-target\""), "{shown}");
    assert!(shown.contains("ping/prod-key"), "{shown}");
}
