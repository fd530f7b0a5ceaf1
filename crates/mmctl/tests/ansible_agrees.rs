//! Which vars files an inventory holds, decided by mmctl and by Ansible itself: each case is an
//! inventory read by `mmctl list --json` (the services each host is given) and by
//! `ansible-inventory --host` (the project's own Ansible, which `make test` installs in .venv),
//! and the two must agree. Each case marks with a service name which file it was read from.
//! An edit then lands where Ansible reads, or is refused naming the file Ansible ignores.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ansible_inventory() -> PathBuf {
    support::ansible_program("ansible-inventory")
}

/// An inventory folder with `web` (web1) in hosts.yml and these files (path, text).
fn inventory(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hosts.yml"),
        "web:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.10\n",
    )
    .unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// web1's monitored_services as Ansible gives them.
fn ansible_says(inv: &Path) -> Value {
    ansible_host(inv, inv, "web1")["monitored_services"].clone()
}

/// Every variable the inventory `source` gives `host`, as `ansible-inventory --host` prints
/// them, run in `dir` with no ansible.cfg of the user's.
fn ansible_host(dir: &Path, source: &Path, host: &str) -> Value {
    let empty = dir.join("empty-ansible.cfg");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(ansible_inventory())
        .arg("-i")
        .arg(source)
        .args(["--host", host])
        .env("ANSIBLE_CONFIG", &empty)
        .env("ANSIBLE_LOCAL_TEMP", dir.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", dir.join(".ansible-home"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same, as `mmctl inventory --host` prints them.
fn mmctl_host(source: &Path, host: &str) -> Value {
    let out = mmctl(source, &["inventory", "--host", host]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// web1's monitored_services as mmctl gives them.
fn mmctl_says(inv: &Path) -> Value {
    let out = mmctl(inv, &["list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let hosts: Value = serde_json::from_slice(&out.stdout).unwrap();
    let web1 = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "web1")
        .unwrap();
    match &web1["services"] {
        Value::Array(a) if a.is_empty() => Value::Null,
        s => s.clone(),
    }
}

fn mmctl(inv: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .arg("-i")
        .arg(inv)
        .args(args)
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .output()
        .unwrap()
}

fn services(names: &str) -> String {
    format!("monitored_services: [{names}]\n")
}

/// What a case is, its files (path, text), and the one service web1 must be given.
type Case = (&'static str, Vec<(&'static str, String)>, &'static str);

#[test]
// A table of cases (each an inventory and the service it must give web1), read as one list.
#[allow(clippy::too_many_lines)]
fn mmctl_reads_the_vars_files_ansible_reads_and_no_other() {
    let s = services;
    let cases: Vec<Case> = vec![
        ("a file", vec![("group_vars/web.yml", s("a"))], "a"),
        ("a folder", vec![("group_vars/web/main.yml", s("b"))], "b"),
        (
            "a file and a folder: only the folder",
            vec![
                ("group_vars/web.yml", s("a")),
                ("group_vars/web/main.yml", s("b")),
            ],
            "b",
        ),
        (
            "no extension before .yml",
            vec![("group_vars/web", s("c")), ("group_vars/web.yml", s("a"))],
            "c",
        ),
        (
            ".yml before .yaml",
            vec![
                ("group_vars/web.yml", s("a")),
                ("group_vars/web.yaml", s("d")),
            ],
            "a",
        ),
        (
            ".yaml before .json",
            vec![
                ("group_vars/web.yaml", s("d")),
                (
                    "group_vars/web.json",
                    r#"{"monitored_services": ["e"]}"#.into(),
                ),
            ],
            "d",
        ),
        (
            "a folder's files in name order",
            vec![
                ("group_vars/web/9.yml", s("nine")),
                ("group_vars/web/10.yml", s("ten")),
            ],
            "nine",
        ),
        (
            "each level sorted: a/ before a.yml",
            vec![
                ("group_vars/web/a/z.yml", s("p")),
                ("group_vars/web/a.yml", s("q")),
            ],
            "q",
        ),
        (
            "a backup is skipped",
            vec![
                ("group_vars/web/main.yml", s("m")),
                ("group_vars/web/main.yml~", s("bak")),
            ],
            "m",
        ),
        (
            "a hidden file is skipped",
            vec![
                ("group_vars/web/main.yml", s("m")),
                ("group_vars/web/.zz.yml", s("h")),
            ],
            "m",
        ),
        (
            "another extension is skipped",
            vec![
                ("group_vars/web/main.yml", s("m")),
                ("group_vars/web/zz.txt", s("t")),
            ],
            "m",
        ),
        (
            "a file without extension is read",
            vec![
                ("group_vars/web/main.yml", s("m")),
                ("group_vars/web/zz", s("z")),
            ],
            "z",
        ),
        (
            "a subfolder with an extension is not read",
            vec![
                ("group_vars/web/main.yml", s("m")),
                ("group_vars/web/zz.d/x.yml", s("sd")),
            ],
            "m",
        ),
        (
            "a folder named web.yml",
            vec![("group_vars/web.yml/main.yml", s("f"))],
            "f",
        ),
        (
            "host_vars: a file and a folder",
            vec![
                ("group_vars/web.yml", s("g")),
                ("host_vars/web1.yml", s("a")),
                ("host_vars/web1/main.yml", s("b")),
            ],
            "b",
        ),
    ];
    std::thread::scope(|scope| {
        for (case, files, read) in &cases {
            scope.spawn(move || {
                let files: Vec<(&str, &str)> =
                    files.iter().map(|(p, t)| (*p, t.as_str())).collect();
                let dir = inventory(&files);
                let ansible = ansible_says(dir.path());
                assert_eq!(ansible, serde_json::json!([read]), "{case}: Ansible");
                assert_eq!(mmctl_says(dir.path()), ansible, "{case}: mmctl");
            });
        }
    });
}

/// The layout `mmctl init` and the guides lead to (a group_vars/GROUP/ folder) beside an older
/// group_vars/GROUP.yml: Ansible reads only the folder, so an edit goes there, `validate` says
/// the file is ignored, and the service is what Ansible then gives the host.
#[test]
fn add_service_beside_a_shadowed_file_lands_where_ansible_reads() {
    let dir = inventory(&[
        ("group_vars/web.yml", &services("{name: old, port: 7000}")),
        (
            "group_vars/web/main.yml",
            "# the group's settings\nself_healing_host_name: web\n",
        ),
    ]);
    let inv = dir.path();
    let out = mmctl(
        inv,
        &["add-service", "blog", "--port", "4000", "--group", "web"],
    );
    assert!(out.status.success(), "{out:?}");
    let main = std::fs::read_to_string(inv.join("group_vars/web/main.yml")).unwrap();
    assert!(main.starts_with("# the group's settings\n"), "{main}");
    assert_eq!(
        std::fs::read_to_string(inv.join("group_vars/web.yml")).unwrap(),
        services("{name: old, port: 7000}")
    );
    let ansible = ansible_says(inv);
    assert_eq!(ansible[0]["name"], "blog", "{ansible}");
    assert_eq!(ansible.as_array().unwrap().len(), 1, "{ansible}");
    assert_eq!(mmctl_says(inv), ansible);
    let validate = mmctl(inv, &["validate"]);
    let stderr = String::from_utf8_lossy(&validate.stderr);
    assert!(
        stderr.contains(&format!(
            "mmctl: note: {}: not read by Ansible, which reads {} instead",
            inv.join("group_vars/web.yml").display(),
            inv.join("group_vars/web").display()
        )),
        "{stderr}"
    );
}

/// An INI hosts file as Ansible's ini plugin reads it: host lines split as shlex splits them
/// (quotes, comments), values tried as Python literals on host lines and in `[group:vars]`
/// alike, a host's `:port`, ranges, children and `[all:vars]`; every host's variables must be
/// what `ansible-inventory --host` says.
#[test]
fn an_ini_inventory_gives_every_host_what_ansible_gives_it() {
    let ini = r#"# the fleet
[web]   # the web side
web1 a=5 b=true c=True d="x y" e='[1, 2]' f=0x10 g=1.5 h="'q'" i=None j=-3 k={'z':1} l=1_000 m=07 n="5" o=yes # trailing
web2:2222 p=a=b q=1e3 r=.5 s=0o17 t=0b11 u='{"a": [1, "b"]}' v=(1,) w=''
; another comment

[web:vars]
s1=5
s2="quoted"
s3 = spaced value
s4=True
s5=[1,2]
s6=5 # a comment Python skips
s7=yes please

[db]
db[1:2] role=primary
db3

[db:vars]
s1=from db

[stack:children]
web
db

[stack:vars]
depth=stack
s1=from stack

[all:vars]
everywhere=1
s1=from all
"#;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("hosts.ini");
    std::fs::write(&source, ini).unwrap();
    let hosts = ["web1", "web2", "db1", "db2", "db3"];
    std::thread::scope(|scope| {
        for host in hosts {
            let (dir, source) = (dir.path(), &source);
            scope.spawn(move || {
                assert_eq!(
                    mmctl_host(source, host),
                    ansible_host(dir, source, host),
                    "{host}"
                );
            });
        }
    });
}

/// YAML as PyYAML types it for Ansible (YAML 1.1): `yes`/`on` booleans but `y` and `tRue` text,
/// `017` octal, `08` and `0o17` text, `1:20` base 60, `1e3` text but `1.0e+3` a float, nulls,
/// anchors, aliases and merge keys, in a hosts file and a group_vars file alike.
#[test]
fn a_yaml_inventory_gives_every_host_what_ansible_gives_it() {
    let scalars = "b1: yes\nb2: No\nb3: on\nb4: OFF\nb5: y\nb6: n\nb7: True\nb8: tRue\n\
                   n1: ~\nn2: null\nn3: Null\nn4:\ni1: 0x1F\ni2: 017\ni3: 0o17\ni4: 1_000\n\
                   i5: +5\ni6: 0b101\ni7: 1:20\ni8: 08\ni9: -0x10\nf1: 1.5\nf2: 1e3\n\
                   f3: 1.0e+3\nf6: 6.8523015e+5\nf7: 1_0.5\nf8: .5\nf9: -1.\ns1: \"yes\"\n\
                   s2: '017'\ns4: 12:30:00\ns5: !!str 5\ns6: \"multi\\tline\"\ns7: |\n  block\n  text\n";
    let hosts = format!(
        "web:\n  hosts:\n    web1:\n{}    web2:\n      own: 1\n  vars:\n    depth: web\n",
        scalars
            .lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    );
    let group_vars = "defaults: &d\n  port: 80\n  tls: on\n  name: base\nextra: &e {tls: off, id: 7}\n\
                      merged:\n  <<: [*d, *e]\n  name: mine\ncopy: *d\nlist: [*e, *e]\n";
    let dir = inventory(&[("hosts.yml", &hosts), ("group_vars/web.yml", group_vars)]);
    std::thread::scope(|scope| {
        for host in ["web1", "web2"] {
            let dir = dir.path();
            scope.spawn(move || {
                assert_eq!(
                    mmctl_host(dir, host),
                    ansible_host(dir, dir, host),
                    "{host}"
                );
            });
        }
    });
}

/// `add-service --host web1` where web1 takes its list from its group: web1 gets a list of its
/// own (the group's entries, then the new one) in host_vars/web1.yml, which Ansible then gives
/// it; the group's file and every other host stay as they were.
#[test]
fn add_service_for_one_host_of_a_group_changes_that_host_alone() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/commented");
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    let copy = Command::new("cp")
        .arg("-r")
        .arg(&fixture)
        .arg(&inv)
        .status()
        .unwrap();
    assert!(copy.success());
    let group_file = inv.join("group_vars/web/main.yml");
    let group_text = std::fs::read_to_string(&group_file).unwrap();
    let others: Vec<Value> = ["web2", "db1"]
        .iter()
        .map(|h| ansible_host(dir.path(), &inv, h))
        .collect();
    let out = mmctl(
        &inv,
        &["add-service", "blog", "--port", "4000", "--host", "web1"],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "host 'web1' now has its own monitored_services in {}: the 3 entries it had from {}",
            inv.join("host_vars/web1.yml").display(),
            group_file.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&group_file).unwrap(), group_text);
    let web1 = ansible_host(dir.path(), &inv, "web1");
    let names: Vec<&str> = web1["monitored_services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["story-stages", "passgo", "traefik", "blog"]);
    assert_eq!(mmctl_host(&inv, "web1"), web1);
    for (h, before) in ["web2", "db1"].iter().zip(&others) {
        assert_eq!(&ansible_host(dir.path(), &inv, h), before, "{h}");
    }
}

/// Host patterns as `--limit` takes them: mmctl's `list --limit` selects the hosts
/// `ansible-inventory --list --limit` selects, for names, groups, globs, `&` and `!`.
#[test]
fn a_limit_pattern_selects_the_hosts_ansible_selects() {
    let dir = inventory(&[
        (
            "hosts.yml",
            "web:\n  hosts:\n    web1:\n    web2:\n    www.example.org:\n\
             db:\n  hosts:\n    db1:\n    db2:\nprod:\n  children:\n    web:\n  hosts:\n    db1:\n",
        ),
        (
            "group_vars/all.yml",
            "monitored_services: [{name: x, port: 80}]\n",
        ),
    ]);
    let inv = dir.path();
    let patterns = [
        "web",
        "web:db",
        "web:!web2",
        "all:!db",
        "db*",
        "web:&prod",
        "*1",
        "web,db1",
        "!web",
        "&prod",
        "prod:!web1:&db",
        "w*.example.org",
        "db?",
        "web1:web1",
    ];
    std::thread::scope(|scope| {
        for pattern in patterns {
            scope.spawn(move || {
                let empty = inv.join(format!("empty-{}.cfg", pattern.len()));
                std::fs::write(&empty, "").unwrap();
                let out = Command::new(ansible_inventory())
                    .args(["-i"])
                    .arg(inv)
                    .args(["--list", "--limit", pattern])
                    .env("ANSIBLE_CONFIG", &empty)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{pattern}: {out:?}");
                let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
                let mut ansible: Vec<String> = listed
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(g, _)| *g != "_meta")
                    .flat_map(|(_, g)| g["hosts"].as_array().cloned().unwrap_or_default())
                    .map(|h| h.as_str().unwrap().to_string())
                    .collect();
                ansible.sort();
                ansible.dedup();
                let out = mmctl(inv, &["list", "--limit", pattern, "--json"]);
                assert!(out.status.success(), "{pattern}: {out:?}");
                let hosts: Value = serde_json::from_slice(&out.stdout).unwrap();
                let mine: Vec<String> = hosts
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["host"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(mine, ansible, "{pattern}");
            });
        }
    });
}

/// mmctl run as a user whose Ansible is the project's own (.venv/bin), with no ansible.cfg of
/// the user's: for inventories that only Ansible can read.
fn mmctl_with_ansible(dir: &Path, inv: &Path, args: &[&str]) -> std::process::Output {
    let empty = dir.join("empty-ansible.cfg");
    std::fs::write(&empty, "").unwrap();
    Command::new(env!("CARGO_BIN_EXE_mmctl"))
        .arg("-i")
        .arg(inv)
        .args(args)
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env(
            "MMCTL_ANSIBLE_BIN_DIR",
            ansible_inventory().parent().unwrap(),
        )
        .env("ANSIBLE_CONFIG", &empty)
        .env("ANSIBLE_LOCAL_TEMP", dir.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", dir.join(".ansible-home"))
        .output()
        .unwrap()
}

/// The hosts and their monitored_services names, as `mmctl list --json` gives them.
fn mmctl_lists(dir: &Path, inv: &Path) -> Vec<(String, Vec<String>)> {
    let out = mmctl_with_ansible(dir, inv, &["list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let hosts: Value = serde_json::from_slice(&out.stdout).unwrap();
    hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                names(&h["services"]),
            )
        })
        .collect()
}

fn names(services: &Value) -> Vec<String> {
    services
        .as_array()
        .map(|a| a.iter().map(|s| s["name"].as_str().unwrap().to_string()))
        .into_iter()
        .flatten()
        .collect()
}

/// Each host's variables as `mmctl inventory --host` gives them, which must be what
/// `ansible-inventory --host` gives; and the note that Ansible was asked.
fn agrees_host_by_host(dir: &Path, inv: &Path, hosts: &[&str], note: &str) {
    for host in hosts {
        let out = mmctl_with_ansible(dir, inv, &["inventory", "--host", host]);
        assert!(out.status.success(), "{host}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(note), "{host}: {stderr}");
        let mine: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(mine, ansible_host(dir, inv, host), "{host}");
    }
    let ansible: Vec<(String, Vec<String>)> = hosts
        .iter()
        .map(|h| {
            let services = &ansible_host(dir, inv, h)["monitored_services"];
            (h.to_string(), names(services))
        })
        .collect();
    let mut listed = mmctl_lists(dir, inv);
    listed.sort();
    let mut ansible = ansible;
    ansible.sort();
    assert_eq!(listed, ansible);
}

/// An inventory script in an inventory folder: Ansible runs it with --list, so mmctl asks
/// ansible-inventory for the whole inventory; the script's groups, children and host variables
/// come through, group_vars/ beside it still count (the script's own host variable beats
/// them), an edit into group_vars/ is made and agreed with, and one that would land in the
/// script's output is refused naming the script.
#[test]
fn an_inventory_script_is_read_through_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv");
    let script = inv.join("fleet.sh");
    std::fs::create_dir_all(inv.join("group_vars")).unwrap();
    std::fs::write(
        &script,
        r#"#!/bin/sh
[ "$1" = "--list" ] || { echo '{}'; exit 0; }
cat <<'JSON'
{"web": {"hosts": ["web1", "web2"], "vars": {"depth": "web", "n": 1.0}, "children": ["edge"]},
 "edge": {"hosts": ["web3"]},
 "_meta": {"hostvars": {"web1": {"ansible_host": "192.0.2.10"},
                        "web3": {"monitored_services": [{"name": "own", "port": 81}], "x": [1, "y"]}}}}
JSON
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        inv.join("group_vars/web.yml"),
        services("{name: shared, port: 80}"),
    )
    .unwrap();
    let note = format!(
        "mmctl: note: {} is an inventory script: read through ansible-inventory",
        script.display()
    );
    let hosts = ["web1", "web2", "web3"];
    agrees_host_by_host(dir.path(), &inv, &hosts, &note);

    let out = mmctl_with_ansible(
        dir.path(),
        &inv,
        &["add-service", "blog", "--port", "4000", "--group", "web"],
    );
    assert!(out.status.success(), "{out:?}");
    let web1 = ansible_host(dir.path(), &inv, "web1");
    assert_eq!(names(&web1["monitored_services"]), ["shared", "blog"]);
    agrees_host_by_host(dir.path(), &inv, &hosts, &note);

    let out = mmctl_with_ansible(
        dir.path(),
        &inv,
        &["add-service", "blog", "--port", "4000", "--host", "web3"],
    );
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: not edited: {} is an inventory script, so this inventory is read through \
             ansible-inventory and mmctl edits only its group_vars/ and host_vars/ files",
            script.display(),
            script.display()
        )),
        "{stderr}"
    );
}

/// `plugin: ansible.builtin.constructed` after a YAML hosts file: its `groups:` make a group
/// (whose group_vars/ file then counts) and its `compose:` sets variables, one of them over a
/// hosts file's value; mmctl gives each host what Ansible gives it.
#[test]
fn a_constructed_plugin_config_is_read_through_ansible() {
    let dir = inventory(&[
        (
            "hosts.yml",
            "web:\n  hosts:\n    web1: {tier: gold, label: plain}\n    web2: {tier: silver}\n\
             \x20 vars: {depth: web}\n",
        ),
        (
            "zz-constructed.yml",
            "plugin: ansible.builtin.constructed\nstrict: true\ncompose:\n\
             \x20 label: tier | upper\n  port_of: \"8000 + (tier | length)\"\n\
             groups:\n  golden: tier == 'gold'\n",
        ),
        (
            "group_vars/golden.yml",
            &services("{name: gold-only, port: 90}"),
        ),
        ("group_vars/web.yml", &services("{name: shared, port: 80}")),
    ]);
    let inv = dir.path();
    let note = format!(
        "mmctl: note: {} is an inventory plugin config (plugin: ansible.builtin.constructed): \
         read through ansible-inventory",
        inv.join("zz-constructed.yml").display()
    );
    agrees_host_by_host(inv, inv, &["web1", "web2"], &note);
}

/// A YAML hosts file with a group called `plugin`: with no value it is a group like any other
/// (Ansible's yaml plugin reads the file, and so does mmctl, without asking Ansible); with
/// hosts under it, Ansible takes the file for a plugin config and reads nothing from it, and
/// mmctl says so and stops rather than give hosts Ansible does not have.
#[test]
fn a_group_called_plugin_is_what_ansible_makes_of_it() {
    let dir = inventory(&[(
        "hosts.yml",
        "plugin:\nweb:\n  hosts:\n    web1: {tier: gold}\n",
    )]);
    let inv = dir.path();
    let out = mmctl_with_ansible(inv, inv, &["inventory", "--host", "web1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let mine: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(mine, ansible_host(inv, inv, "web1"));
    assert_eq!(mmctl_lists(inv, inv), [("web1".to_string(), vec![])]);

    let hosts = inv.join("hosts.yml");
    std::fs::write(
        &hosts,
        "plugin:\n  hosts:\n    db1:\nweb:\n  hosts:\n    web1:\n",
    )
    .unwrap();
    let empty = inv.join("empty-ansible.cfg");
    let ansible = Command::new(ansible_inventory())
        .arg("-i")
        .arg(&hosts)
        .args(["--host", "web1"])
        .env("ANSIBLE_CONFIG", &empty)
        .env("ANSIBLE_LOCAL_TEMP", inv.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", inv.join(".ansible-home"))
        .output()
        .unwrap();
    assert!(!ansible.status.success(), "{ansible:?}");
    for args in [&["inventory", "--host", "web1"][..], &["list"]] {
        let out = mmctl_with_ansible(inv, &hosts, args);
        assert!(!out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!(
            "{} has a top-level 'plugin' key, so Ansible takes it for an inventory plugin config",
            hosts.display()
        );
        assert!(
            stderr.contains(&format!(
                "mmctl: note: {what}: read through ansible-inventory"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("ansible-inventory could not read the inventory")
                && stderr.contains("Plugin configuration YAML file, not YAML inventory"),
            "{stderr}"
        );
    }
}

/// The `bool` filter, for every kind of value, as Ansible 2.19's: one `ansible` run maps the
/// whole table through it, and mmctl's templating of the same inventory variable must give
/// the same list.
#[test]
fn the_bool_filter_agrees_with_ansible() {
    let table = "['yes', 'YES', 'Yes', 'on', 'ON', 'true', 'True', 'TRUE', '1', 'no', 'NO', \
                 'off', 'Off', 'false', 'FALSE', '0', '  yes ', 'y', 'Y', 't', 'n', 'f', '', \
                 '2', '1.0', 'yes please', 0, 1, 2, -1, 1.0, 0.0, 0.5, true, false, yes, \
                 null, [], [1], {}, {a: 1}]";
    let dir = inventory(&[(
        "hosts.yml",
        &format!(
            "web:\n  hosts:\n    web1:\n      table: {table}\n      \
             answers: \"{{{{ table | map('bool') | list }}}}\"\n"
        ),
    )]);
    let inv = dir.path();
    let empty = inv.join("empty-ansible.cfg");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(ansible_inventory().with_file_name("ansible"))
        .args(["web1", "-i"])
        .arg(inv.join("hosts.yml"))
        .args(["-c", "local", "-m", "debug", "-a", "var=answers"])
        .env("ANSIBLE_CONFIG", &empty)
        .env("ANSIBLE_DEPRECATION_WARNINGS", "False")
        .env("ANSIBLE_LOCAL_TEMP", inv.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", inv.join(".ansible-home"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (_, json) = stdout.split_once("=>").expect("web1 | SUCCESS => {...}");
    let ansible: Value = serde_json::from_str(json).unwrap();
    let ansible = &ansible["answers"];
    assert_eq!(ansible.as_array().map(Vec::len), Some(41), "{stdout}");

    use mmctl::inventory::{Inventory, Vault, template::Resolver};
    let inventory = Inventory::load(&[inv.join("hosts.yml")], &Vault::default()).unwrap();
    let vars = inventory.host_vars("web1");
    let mine = Resolver::new(&vars).get("answers").unwrap();
    let table = Resolver::new(&vars).get("table").unwrap();
    for ((input, a), m) in table
        .as_array()
        .unwrap()
        .iter()
        .zip(ansible.as_array().unwrap())
        .zip(mine.as_array().unwrap())
    {
        assert_eq!(m, a, "{input:?} | bool");
    }
    assert_eq!(&mine, ansible);
}

#[test]
fn the_graph_holds_the_groups_and_hosts_ansible_draws() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts.yml");
    std::fs::write(
        &hosts,
        "all:\n  hosts:\n    lone:\n  children:\n    web:\n      hosts:\n        web[1:2]:\n      children:\n        edge:\n          hosts:\n            cdn1:\n    db:\n      hosts:\n        db1:\n      children:\n        edge:\n",
    )
    .unwrap();
    let empty = dir.path().join("empty-ansible.cfg");
    std::fs::write(&empty, "").unwrap();
    for top in ["all", "web"] {
        let out = Command::new(ansible_inventory())
            .arg("-i")
            .arg(&hosts)
            .args(["--graph", top])
            .env("ANSIBLE_CONFIG", &empty)
            .env("ANSIBLE_HOME", dir.path().join(".ansible-home"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let mine = mmctl(&hosts, &["inventory", "--graph", top]);
        assert!(mine.status.success(), "{mine:?}");
        // The same tree; mmctl lists names in name order, Ansible in the order it read them.
        let lines = |b: &[u8]| {
            let mut v: Vec<String> = String::from_utf8_lossy(b)
                .lines()
                .map(str::to_string)
                .collect();
            v.sort();
            v
        };
        assert_eq!(lines(&mine.stdout), lines(&out.stdout), "--graph {top}");
    }
}

/// A check command's arguments that YAML 1.1 would read as something else if written bare
/// (`on`, `yes`, `010`, `~`, `1e3`, `0x1F`, `1_000`, `12:30`), written by add-service and read
/// back by Ansible: each is the same string it was given, so the daemon runs what was asked.
#[test]
fn check_command_arguments_reach_ansible_as_the_strings_given() {
    let dir = inventory(&[]);
    let args = [
        "/usr/local/bin/probe",
        "on",
        "yes",
        "010",
        "~",
        "1e3",
        "0x1F",
        "1_000",
        "12:30",
        "null",
        "-",
        "a b",
        "'quoted'",
        "#hash",
        "x: y",
    ];
    let line = shlex::try_join(args).unwrap();
    let out = mmctl(
        dir.path(),
        &[
            "add-service",
            "probe",
            "--port",
            "4000",
            "--check-command",
            &line,
            "--host",
            "web1",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let ansible = ansible_says(dir.path());
    assert_eq!(
        ansible[0]["health"]["command"],
        serde_json::json!(args),
        "{ansible}"
    );
    assert_eq!(mmctl_says(dir.path()), ansible);
}
