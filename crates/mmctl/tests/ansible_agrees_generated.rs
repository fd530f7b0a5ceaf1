//! mmctl reads generated inventories as Ansible does. Each case is an inventory made from a
//! seed: YAML and INI hosts files, one or two sources (a file or a folder of them), nested
//! children, host ranges, `all`, `ansible_group_priority`, `group_vars`/`host_vars` as files,
//! folders, both, JSON and symbolic links, YAML 1.1 and INI values of every kind, inline and
//! whole-file Ansible Vault with vault ids, `-e`, and an ansible.cfg naming the inventory and
//! the vault password file. `mmctl inventory --list` and `ansible-inventory --list` (the
//! project's own Ansible in .venv) must print the same groups and the same variables for
//! every host.
//!
//! Not generated: `.inf` and `.nan`, which JSON cannot hold (ansible-inventory prints a bare
//! `Infinity`, which is no JSON; mmctl keeps such a value as its text).
//!
//! MM_DIFF_CASES=N runs N cases (default 300); MM_DIFF_SEED=S starts at another seed. A case
//! that disagrees is kept on disk and named with the command that shows it.

mod support;

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small, seeded generator (SplitMix64): the same seed gives the same inventory.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const GROUPS: &[&str] = &["web", "db", "app", "edge", "prod", "eu"];
const HOSTS: &[&str] = &[
    "web1",
    "web2",
    "db1",
    "lone",
    "api.example.org",
    "node[1:2]",
];
const VARS: &[&str] = &["v_a", "v_b", "v_c", "port", "monitored_services"];
/// YAML 1.1 scalars and flow collections as PyYAML reads them.
const YAML_VALUES: &[&str] = &[
    "1",
    "-3",
    "+12",
    "0o17",
    "0x1F",
    "017",
    "1_000",
    "190:20:30",
    "1.5",
    "1e3",
    "6.8523015e+5",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "y",
    "~",
    "null",
    "",
    "text",
    "two words",
    "'quoted'",
    "\"dq \\u00e9\"",
    "2001-12-14",
    "'{{ v_a }}'",
    "[1, two, {a: b}]",
    "{k: v, n: 2}",
    "[]",
    "{}",
    "!!str 5",
    "0b101",
    "'0'",
    "'a: b'",
    "!unsafe '{{ v_b }}'",
];
/// INI values as Ansible's INI plugin reads them (Python literals, else text).
const INI_VALUES: &[&str] = &[
    "1",
    "-3",
    "0x1f",
    "007",
    "1.5",
    "1e3",
    "yes",
    "True",
    "false",
    "None",
    "text",
    "'quoted'",
    "\"two words\"",
    "[1, 2]",
    "{'a': 1}",
    "(1, 2)",
    "a=b",
    "1_000",
    "0o17",
    "'{{ v_a }}'",
    "u'x'",
    "b'y'",
    "{'a': [1, {'b': None}]}",
];
/// (vault id, password); None is the default identity.
const SECRETS: &[(Option<&str>, &str)] = &[
    (None, "default-pass"),
    (Some("dev"), "dev-pass"),
    (Some("prod"), "prod-pass"),
];

/// A group and its parents, or a host and its groups.
type Named = (String, Vec<String>);

/// One generated inventory on disk, and how both programs are run on it.
struct Case {
    seed: u64,
    dir: PathBuf,
    /// Arguments for both programs (`-i`, `-e`, `--vault-id`), relative to `dir`.
    args: Vec<String>,
}

struct Gen {
    rng: Rng,
    dir: PathBuf,
    /// The secrets the run is given (index into SECRETS).
    given: Vec<usize>,
}

impl Gen {
    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn put_vars(&mut self, rel: &str) {
        let text = self.yaml_vars(0, false);
        self.write(rel, &text);
    }

    fn secret(&mut self) -> (Option<&'static str>, &'static str) {
        let i = *self.rng.pick(&self.given.clone());
        SECRETS[i]
    }

    /// A YAML value on one line, or an inline vault block indented by `indent`.
    fn yaml_value(&mut self, indent: usize) -> String {
        if !self.given.is_empty() && self.rng.chance(6) {
            let (id, pw) = self.secret();
            let plain = format!("secret-{}", self.rng.below(100));
            let text = encrypt(&plain, id, pw, &mut self.rng);
            let pad = " ".repeat(indent + 2);
            let body: String = text.lines().map(|l| format!("\n{pad}{l}")).collect();
            return format!("!vault |{body}");
        }
        self.rng.pick(YAML_VALUES).to_string()
    }

    /// One to three (name, value) pairs; a group's may set its priority.
    fn pairs(
        &mut self,
        priority: bool,
        value: impl Fn(&mut Gen) -> String,
    ) -> Vec<(String, String)> {
        (0..1 + self.rng.below(3))
            .map(|_| {
                if priority && self.rng.chance(25) {
                    (
                        "ansible_group_priority".into(),
                        self.rng.below(5).to_string(),
                    )
                } else {
                    (self.rng.pick(VARS).to_string(), value(self))
                }
            })
            .collect()
    }

    /// `name: value` lines at `indent`.
    fn yaml_vars(&mut self, indent: usize, priority: bool) -> String {
        let pad = " ".repeat(indent);
        self.pairs(priority, |g| g.yaml_value(indent))
            .iter()
            .map(|(k, v)| format!("{pad}{k}: {v}\n"))
            .collect()
    }

    fn ini_vars(&mut self, sep: &str, priority: bool) -> String {
        self.pairs(priority, |g| g.rng.pick(INI_VALUES).to_string())
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// `key=value` words of a host line: a value with a blank is quoted, as a shell would.
    fn ini_host_vars(&mut self) -> String {
        let mut out = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let name = self.rng.pick(VARS);
            let v = self.rng.pick(INI_VALUES);
            let v = if v.contains(' ') && !v.starts_with(['"', '\'']) {
                format!("\"{v}\"")
            } else {
                v.to_string()
            };
            out.push(format!("{name}={v}"));
        }
        out.join(" ")
    }

    /// Groups (with their parents among earlier groups) and hosts (with their groups).
    fn shape(&mut self) -> (Vec<Named>, Vec<Named>) {
        let n = 1 + self.rng.below(GROUPS.len());
        let mut groups: Vec<Named> = Vec::new();
        for g in &GROUPS[..n] {
            let parents = groups
                .iter()
                .filter(|_| self.rng.chance(30))
                .map(|(p, _)| p.clone())
                .collect();
            groups.push((g.to_string(), parents));
        }
        let mut hosts = Vec::new();
        for h in HOSTS {
            if !self.rng.chance(60) {
                continue;
            }
            let member: Vec<String> = groups
                .iter()
                .filter(|_| self.rng.chance(35))
                .map(|(g, _)| g.clone())
                .collect();
            hosts.push((h.to_string(), member));
        }
        (groups, hosts)
    }

    fn yaml_hosts_file(&mut self) -> String {
        let (groups, hosts) = self.shape();
        let mut out = String::from("all:\n");
        if self.rng.chance(40) {
            out += "  vars:\n";
            out += &self.yaml_vars(4, false);
        }
        let lone: Vec<&Named> = hosts.iter().filter(|(_, g)| g.is_empty()).collect();
        if !lone.is_empty() {
            out += "  hosts:\n";
            for (h, _) in lone {
                let _ = writeln!(out, "    {h}:");
                if self.rng.chance(50) {
                    out += &self.yaml_vars(6, false);
                }
            }
        }
        out += "  children:\n";
        // A group with parents is defined under all, or under its parents (named again
        // there with its hosts and variables).
        let nested: Vec<String> = groups
            .iter()
            .filter(|(_, ps)| !ps.is_empty() && self.rng.chance(40))
            .map(|(g, _)| g.clone())
            .collect();
        for (g, _) in &groups {
            if !nested.contains(g) {
                out += &self.yaml_group(g, 4, &groups, &hosts, &nested);
            }
        }
        out
    }

    fn yaml_group(
        &mut self,
        g: &str,
        indent: usize,
        groups: &[Named],
        hosts: &[Named],
        nested: &[String],
    ) -> String {
        let pad = " ".repeat(indent);
        let mut out = format!("{pad}{g}:\n");
        if self.rng.chance(50) {
            let _ = writeln!(out, "{pad}  vars:");
            out += &self.yaml_vars(indent + 4, true);
        }
        let members: Vec<&String> = hosts
            .iter()
            .filter(|(_, gs)| gs.iter().any(|x| x == g))
            .map(|(h, _)| h)
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "{pad}  hosts:");
            for h in members {
                let _ = writeln!(out, "{pad}    {h}:");
                if self.rng.chance(50) {
                    out += &self.yaml_vars(indent + 6, false);
                }
            }
        }
        let kids: Vec<&String> = groups
            .iter()
            .filter(|(_, ps)| ps.iter().any(|p| p == g))
            .map(|(k, _)| k)
            .collect();
        if !kids.is_empty() {
            let _ = writeln!(out, "{pad}  children:");
            for k in kids {
                if nested.contains(k) {
                    out += &self.yaml_group(k, indent + 4, groups, hosts, nested);
                } else {
                    let _ = writeln!(out, "{pad}    {k}:");
                }
            }
        }
        out
    }

    fn ini_hosts_file(&mut self) -> String {
        let (groups, hosts) = self.shape();
        let mut out = String::from("# generated\n");
        for (h, gs) in &hosts {
            if gs.is_empty() {
                let vars = if self.rng.chance(50) {
                    format!(" {}", self.ini_host_vars())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "{h}{vars}");
            }
        }
        for (g, parents) in &groups {
            let _ = writeln!(out, "\n[{g}]");
            for (h, gs) in &hosts {
                if gs.contains(g) {
                    let vars = if self.rng.chance(40) {
                        format!(" {}", self.ini_host_vars())
                    } else {
                        String::new()
                    };
                    let _ = writeln!(out, "{h}{vars}");
                }
            }
            if self.rng.chance(50) {
                let _ = writeln!(out, "\n[{g}:vars]\n{}", self.ini_vars("\n", true));
            }
            for p in parents {
                let _ = writeln!(out, "\n[{p}:children]\n{g}");
            }
        }
        if self.rng.chance(30) {
            let _ = writeln!(out, "\n[all:vars]\n{}", self.ini_vars("\n", false));
        }
        out
    }

    /// `group_vars/NAME` or `host_vars/NAME` under `base`, in one of the forms Ansible reads.
    fn vars_for(&mut self, base: &str, kind: &str, name: &str) {
        let form = self.rng.below(8);
        let at = format!("{base}/{kind}/{name}");
        match form {
            0 => self.put_vars(&format!("{at}.yml")),
            1 => self.put_vars(&at),
            2 => self.put_vars(&format!("{at}.yaml")),
            3 => {
                let json = format!(r#"{{"v_a": {}, "v_c": "json"}}"#, self.rng.below(9));
                self.write(&format!("{at}.json"), &json);
            }
            4 => {
                self.put_vars(&format!("{at}/main.yml"));
                self.put_vars(&format!("{at}/20-more.yml"));
                self.put_vars(&format!("{at}/sub/x.yml"));
            }
            5 => {
                // A file and a folder: Ansible reads only the folder.
                self.put_vars(&format!("{at}.yml"));
                self.put_vars(&format!("{at}/main.yml"));
            }
            6 if !self.given.is_empty() => {
                let (id, pw) = self.secret();
                let text = self.yaml_vars(0, false);
                let sealed = encrypt(&text, id, pw, &mut self.rng);
                self.write(&format!("{at}.yml"), &sealed);
            }
            _ => {
                let target = format!("elsewhere/{kind}-{name}.yml");
                self.put_vars(&target);
                let link = self.dir.join(format!("{at}.yml"));
                std::fs::create_dir_all(link.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(self.dir.join(&target), link).unwrap();
            }
        }
    }
}

fn generate(seed: u64, root: &Path) -> Case {
    let dir = root.join(format!("case-{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = Gen {
        rng: Rng(seed),
        dir: dir.clone(),
        given: Vec::new(),
    };
    let mut args = Vec::new();
    let mut cfg = String::from("[defaults]\n");
    let mut cfg_ids = Vec::new();
    // The secrets: some on the command line, some in ansible.cfg.
    for (i, (id, pw)) in SECRETS.iter().enumerate() {
        if !g.rng.chance(45) {
            continue;
        }
        let file = format!("pass-{i}");
        g.write(&file, &format!("{pw}\n"));
        g.given.push(i);
        match (id, g.rng.chance(50)) {
            (None, true) => cfg += &format!("vault_password_file = {file}\n"),
            (None, false) => args.extend(["--vault-password-file".into(), file]),
            (Some(id), true) => args.extend(["--vault-id".into(), format!("{id}@{file}")]),
            (Some(id), false) => cfg_ids.push(format!("{id}@{file}")),
        }
    }
    if !cfg_ids.is_empty() {
        cfg += &format!("vault_identity_list = {}\n", cfg_ids.join(", "));
    }
    let mut sources = Vec::new();
    for s in 0..1 + g.rng.below(2) {
        let base = format!("src{s}");
        let source = match g.rng.below(3) {
            0 => {
                let f = format!("{base}/hosts.yml");
                let text = g.yaml_hosts_file();
                g.write(&f, &text);
                f
            }
            1 => {
                let f = format!("{base}/hosts");
                let text = g.ini_hosts_file();
                g.write(&f, &text);
                f
            }
            _ => {
                let (a, b) = (g.yaml_hosts_file(), g.ini_hosts_file());
                g.write(&format!("{base}/10-hosts.yml"), &a);
                g.write(&format!("{base}/20-hosts.ini"), &b);
                base.clone()
            }
        };
        for name in ["all", "web", "db", "prod", "app"] {
            if g.rng.chance(35) {
                g.vars_for(&base, "group_vars", name);
            }
        }
        for name in ["web1", "db1", "lone", "node1", "placeholder-db"] {
            if g.rng.chance(20) {
                g.vars_for(&base, "host_vars", name);
            }
        }
        sources.push(source);
    }
    if g.rng.chance(25) {
        cfg += &format!("inventory = {}\n", sources.join(","));
    } else {
        for s in &sources {
            args.extend(["-i".into(), s.clone()]);
        }
    }
    if g.rng.chance(20) {
        args.extend(["-e".into(), "v_a=from-cli port=22".into()]);
    }
    if g.rng.chance(10) {
        args.extend(["-e".into(), r#"{"v_b": [1, "two"], "v_a": null}"#.into()]);
    }
    g.write("ansible.cfg", &cfg);
    Case { seed, dir, args }
}

/// Ansible Vault text of `plain`, as ansible-vault encrypt writes it (format 1.2 with an id).
fn encrypt(plain: &str, id: Option<&str>, password: &str, rng: &mut Rng) -> String {
    use aes::cipher::{KeyIvInit, StreamCipher};
    use hmac::Mac;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let salt: Vec<u8> = (0..32).map(|_| rng.next() as u8).collect();
    let mut derived = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, 10_000, &mut derived);
    let (key, rest) = derived.split_at(32);
    let (mac_key, iv) = rest.split_at(32);
    let mut data = plain.as_bytes().to_vec();
    let pad = 16 - data.len() % 16;
    data.extend(std::iter::repeat_n(pad as u8, pad));
    ctr::Ctr128BE::<aes::Aes256>::new(key.into(), iv.into()).apply_keystream(&mut data);
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(mac_key).unwrap();
    mac.update(&data);
    let inner = format!(
        "{}\n{}\n{}",
        hex(&salt),
        hex(&mac.finalize().into_bytes()),
        hex(&data)
    );
    let body = hex(inner.as_bytes());
    let header = match id {
        Some(id) => format!("$ANSIBLE_VAULT;1.2;AES256;{id}"),
        None => "$ANSIBLE_VAULT;1.1;AES256".to_string(),
    };
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(80)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{header}\n{}\n", lines.join("\n"))
}

fn run(program: &Path, case: &Case, first: &[&str]) -> Result<Value, String> {
    let out = Command::new(program)
        .args(first)
        .args(&case.args)
        .arg("--list")
        .current_dir(&case.dir)
        .env("ANSIBLE_CONFIG", case.dir.join("ansible.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", case.dir.join(".ansible-tmp"))
        .env("ANSIBLE_HOME", case.dir.join(".ansible-home"))
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env_remove("ANSIBLE_VAULT_IDENTITY_LIST")
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} failed: {stderr}", program.display()));
    }
    if stderr.contains("Unable to parse") || stderr.contains("[WARNING]: Skipping") {
        return Err(format!("{} skipped a source: {stderr}", program.display()));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Groups with their hosts and children as sets, `_meta.profile` left out.
fn normal(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("_meta").and_then(Value::as_object_mut) {
        meta.remove("profile");
    }
    if let Some(m) = v.as_object_mut() {
        for (k, g) in m.iter_mut() {
            if k == "_meta" {
                continue;
            }
            for list in ["hosts", "children"] {
                if let Some(Value::Array(a)) = g.get_mut(list) {
                    a.sort_by_key(|x| x.to_string());
                }
            }
        }
    }
    v
}

fn ansible_inventory() -> PathBuf {
    support::ansible_program("ansible-inventory")
}

/// What differs between the two, said briefly: groups, then each host's variables.
fn difference(ansible: &Value, mmctl: &Value) -> String {
    let mut out = String::new();
    let empty = serde_json::Map::new();
    let objects = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let (a, m) = (objects(ansible), objects(mmctl));
    let keys = |x: &serde_json::Map<String, Value>, y: &serde_json::Map<String, Value>| {
        x.keys()
            .chain(y.keys())
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    for k in keys(&a, &m) {
        let k = &k;
        if k != "_meta" && a.get(k) != m.get(k) {
            let _ = writeln!(
                out,
                "  group {k}: ansible {:?} mmctl {:?}",
                a.get(k),
                m.get(k)
            );
        }
    }
    let hv = |v: &Value| {
        v["_meta"]["hostvars"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let (ah, mh) = (hv(ansible), hv(mmctl));
    for h in keys(&ah, &mh) {
        let h = &h;
        let av = ah.get(h).and_then(Value::as_object).unwrap_or(&empty);
        let mv = mh.get(h).and_then(Value::as_object).unwrap_or(&empty);
        for k in keys(av, mv) {
            let k = &k;
            if av.get(k) != mv.get(k) {
                let _ = writeln!(
                    out,
                    "  host {h} var {k}: ansible {} mmctl {}",
                    av.get(k).map_or("(none)".into(), Value::to_string),
                    mv.get(k).map_or("(none)".into(), Value::to_string)
                );
            }
        }
    }
    out
}

#[test]
fn generated_inventories_give_every_host_what_ansible_gives_it() {
    let cases: u64 = std::env::var("MM_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let start: u64 = std::env::var("MM_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let root = tempfile::tempdir().unwrap();
    let ansible = ansible_inventory();
    let mmctl = PathBuf::from(env!("CARGO_BIN_EXE_mmctl"));
    let seeds: Vec<u64> = (start..start + cases).collect();
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let case = generate(seed, root.path());
                    let a = run(&ansible, &case, &[]).map(normal);
                    let m = run(&mmctl, &case, &["inventory"]).map(normal);
                    let verdict = match (&a, &m) {
                        (Ok(a), Ok(m)) if a == m => None,
                        (Ok(a), Ok(m)) => Some(difference(a, m)),
                        (a, m) => Some(format!(
                            "  ansible: {:?}\n  mmctl: {:?}",
                            a.as_ref().err(),
                            m.as_ref().err()
                        )),
                    };
                    match verdict {
                        None => {
                            let _ = std::fs::remove_dir_all(&case.dir);
                        }
                        Some(d) => failures.lock().unwrap().push((case, d)),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    if failures.is_empty() {
        return;
    }
    let kept = root.keep();
    let mut report = format!(
        "{} of {cases} generated inventories disagree with ansible-inventory (kept in {}):\n",
        failures.len(),
        kept.display()
    );
    for (case, d) in failures.iter().take(8) {
        let _ = writeln!(
            report,
            "seed {} (MM_DIFF_SEED={} MM_DIFF_CASES=1; cd {} && mmctl inventory {}):\n{d}",
            case.seed,
            case.seed,
            case.dir.display(),
            case.args.join(" ")
        );
    }
    panic!("{report}");
}
