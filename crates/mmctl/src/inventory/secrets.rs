//! The vault secrets Ansible would use, gathered as ansible-playbook gathers them, so that mmctl
//! opens what Ansible opens: the `vault_identity_list` of ansible.cfg (or
//! ANSIBLE_VAULT_IDENTITY_LIST) first, then each `--vault-id LABEL@SOURCE`, then each
//! `--vault-password-file` and ansible.cfg's `vault_password_file` (or
//! ANSIBLE_VAULT_PASSWORD_FILE) under the default identity, then `--ask-vault-pass`. A source
//! is `prompt`, a file (its text, whitespace trimmed) or a program (what it prints; one named
//! `*-client` is asked with `--vault-id LABEL`). One that cannot be read is a warning while
//! another can be; when none can, the first reason is the error.
//!
//! Vaulted text is tried with the secrets whose label it names first, then the others (only
//! those, with `vault_id_match`), as Ansible tries them.

use super::locate;
use super::vault::{self, VaultError};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a vault password could not be had, or handed on to Ansible.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the vault password from the terminal: {0}")]
    Terminal(std::io::Error),
    #[error("{from}: the vault password is empty")]
    Empty { from: String },
    #[error("the vault password file {} cannot be read: {reason}", file.display())]
    Unreadable {
        file: PathBuf,
        reason: std::io::Error,
    },
    #[error("the vault password file {} is a folder: name a file", file.display())]
    Folder { file: PathBuf },
    #[error("the vault password file {}: {reason}", file.display())]
    Sealed { file: PathBuf, reason: VaultError },
    #[error("cannot run the vault password program {}: {reason}", program.display())]
    CannotRun {
        program: PathBuf,
        reason: std::io::Error,
    },
    #[error("the vault password program {} failed ({status})", program.display())]
    Failed {
        program: PathBuf,
        status: std::process::ExitStatus,
    },
    /// Writing the temporary file that hands a typed password on.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What the command line gave for the vault: as ansible-playbook takes it.
#[derive(Debug, Default, Clone)]
pub struct VaultOptions {
    pub ids: Vec<String>,
    pub password_files: Vec<PathBuf>,
    pub ask: bool,
}

#[derive(Clone)]
struct Secret {
    label: String,
    password: Vec<u8>,
}

/// The vault secrets of a run. Secrets are never printed, `Debug` included.
#[derive(Default, Clone)]
pub struct Vault {
    secrets: Vec<Secret>,
    /// ansible.cfg's `vault_id_match`.
    id_match: bool,
    /// What the command line gave, to hand on to Ansible's programs (they read ansible.cfg
    /// themselves); a typed password is handed on as a temporary file.
    given: Vec<Given>,
}

#[derive(Clone)]
enum Given {
    Id(String),
    File(PathBuf),
    /// A password typed at a prompt: its label and its index in `secrets`.
    Typed(Option<String>, usize),
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let labels: Vec<&str> = self.secrets.iter().map(|s| s.label.as_str()).collect();
        write!(f, "Vault {{ secrets: {labels:?} }}")
    }
}

impl Vault {
    /// The secrets Ansible would gather from these options and its configuration. Prompts read
    /// the terminal with echo off.
    pub fn new(o: &VaultOptions) -> Result<Vault, PasswordError> {
        let default = setting("ANSIBLE_VAULT_IDENTITY", "vault_identity")
            .map(|s| s.value)
            .unwrap_or_else(|| "default".into());
        let mut v = Vault {
            id_match: setting("ANSIBLE_VAULT_ID_MATCH", "vault_id_match")
                .is_some_and(|s| is_true(&s.value)),
            ..Vault::default()
        };
        let slugs = sources(o, &default);
        let mut first_error = None;
        for (label, source, given) in slugs {
            let read = match source.as_str() {
                "prompt" | "prompt_ask_vault_pass" => {
                    let prompt = match (&label, source.as_str()) {
                        (Some(l), "prompt") => format!("Vault password ({l}): "),
                        _ => "Vault password: ".to_string(),
                    };
                    rpassword::prompt_password(prompt)
                        .map(String::into_bytes)
                        .map_err(PasswordError::Terminal)
                }
                path => v.read_password(Path::new(path), label.as_deref()),
            };
            let password = match read {
                Ok(p) if p.is_empty() => Err(PasswordError::Empty {
                    from: source.clone(),
                }),
                other => other,
            };
            let password = match password {
                Ok(p) => p,
                // A prompt the user could not answer stops the run, as in Ansible.
                Err(e) if source.starts_with("prompt") => return Err(e),
                Err(e) => {
                    eprintln!(
                        "mmctl: warning: vault id {}: {e:#}",
                        label.as_deref().unwrap_or(&default)
                    );
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let typed = source.starts_with("prompt");
            v.secrets.push(Secret {
                label: label.clone().unwrap_or_else(|| default.clone()),
                password,
            });
            match given {
                Some(Given::Id(_)) if typed => {
                    v.given.push(Given::Typed(label, v.secrets.len() - 1));
                }
                Some(g) => v.given.push(g),
                None if typed => v.given.push(Given::Typed(None, v.secrets.len() - 1)),
                None => {}
            }
        }
        match first_error {
            Some(e) if v.secrets.is_empty() => Err(e),
            _ => Ok(v),
        }
    }

    /// A vault made of these passwords (label, password), for tests and tools.
    pub fn with_passwords(secrets: &[(&str, &[u8])]) -> Vault {
        Vault {
            secrets: secrets
                .iter()
                .map(|(l, p)| Secret {
                    label: l.to_string(),
                    password: p.to_vec(),
                })
                .collect(),
            ..Vault::default()
        }
    }

    /// Whether any secret was given, from anywhere.
    pub fn has_secrets(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// Opens vaulted text: with the secrets of the label it names first, then the others.
    pub fn open(&self, text: &str) -> Result<String, VaultError> {
        if self.secrets.is_empty() {
            return Err(VaultError::NoSecret);
        }
        let named = vault::label(text);
        let order = self
            .secrets
            .iter()
            .filter(|s| Some(s.label.as_str()) == named.as_deref())
            .chain(
                self.secrets
                    .iter()
                    .filter(|s| !self.id_match && Some(s.label.as_str()) != named.as_deref()),
            );
        let mut tried = false;
        for s in order {
            tried = true;
            match vault::decrypt(text, &s.password) {
                Err(VaultError::WrongPassword) => continue,
                other => return other,
            }
        }
        Err(if tried {
            VaultError::WrongPassword
        } else {
            VaultError::NoSecret
        })
    }

    /// The options that give Ansible's programs the secrets the command line gave (they read
    /// ansible.cfg and the environment themselves); a typed password goes in a temporary file
    /// only its owner reads, removed when the returned value is dropped.
    pub fn for_ansible(&self) -> Result<AnsibleVault, PasswordError> {
        use std::io::Write;
        let mut out = AnsibleVault::default();
        for g in &self.given {
            match g {
                Given::Id(id) => out.args.extend(["--vault-id".into(), id.into()]),
                Given::File(f) => {
                    out.args
                        .extend(["--vault-password-file".into(), f.clone().into()]);
                }
                Given::Typed(label, i) => {
                    // Readable by its owner alone, whoever runs mmctl (tempfile creates it
                    // with mode 0600 in the temporary folder); removed when `out` is dropped.
                    let mut file = tempfile::NamedTempFile::new()?;
                    file.write_all(&self.secrets[*i].password)?;
                    file.flush()?;
                    let path = file.path().to_string_lossy().into_owned();
                    match label {
                        Some(l) => out
                            .args
                            .extend(["--vault-id".into(), format!("{l}@{path}").into()]),
                        None => out
                            .args
                            .extend(["--vault-password-file".into(), path.into()]),
                    }
                    out.files.push(file);
                }
            }
        }
        Ok(out)
    }

    /// A password file's text, whitespace trimmed (itself vaulted, opened with the secrets
    /// read before it), or what a password program prints, line ends trimmed.
    fn read_password(&self, file: &Path, label: Option<&str>) -> Result<Vec<u8>, PasswordError> {
        use std::os::unix::fs::PermissionsExt;
        let unreadable = |reason| PasswordError::Unreadable {
            file: file.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(file).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(PasswordError::Folder {
                file: file.to_path_buf(),
            });
        }
        if meta.permissions().mode() & 0o111 == 0 {
            let bytes = std::fs::read(file).map_err(unreadable)?;
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim();
            if vault::is_vault(text) {
                return self
                    .open(text)
                    .map(|t| trim_line_ends(t.as_bytes()).to_vec())
                    .map_err(|reason| PasswordError::Sealed {
                        file: file.to_path_buf(),
                        reason,
                    });
            }
            return Ok(text.as_bytes().to_vec());
        }
        let mut cmd = Command::new(file);
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        if stem.ends_with("-client")
            && let Some(l) = label
        {
            cmd.args(["--vault-id", l]);
        }
        let out = cmd
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|reason| PasswordError::CannotRun {
                program: file.to_path_buf(),
                reason,
            })?;
        if !out.status.success() {
            return Err(PasswordError::Failed {
                program: file.to_path_buf(),
                status: out.status,
            });
        }
        Ok(trim_line_ends(&out.stdout).to_vec())
    }
}

/// The options that hand the vault secrets on to an Ansible program.
#[derive(Default)]
pub struct AnsibleVault {
    pub args: Vec<OsString>,
    files: Vec<tempfile::NamedTempFile>,
}

fn trim_line_ends(b: &[u8]) -> &[u8] {
    let is_end = |c: &u8| *c == b'\r' || *c == b'\n';
    let start = b.iter().position(|c| !is_end(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_end(c)).map_or(start, |i| i + 1);
    &b[start..end]
}

/// `LABEL@SOURCE`, or a bare source (no label).
fn split_id(id: &str) -> (Option<String>, String) {
    match id.split_once('@') {
        Some((l, s)) => (Some(l.to_string()), s.to_string()),
        None => (None, id.to_string()),
    }
}

/// Ansible's booleans in its configuration.
fn is_true(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "1" | "y" | "yes" | "on" | "true" | "t"
    )
}

/// A setting of Ansible's: its environment variable, else `[defaults] key` of the first
/// configuration file Ansible finds.
struct Setting {
    value: String,
    /// What a relative path in it is relative to: the configuration file's folder, or the
    /// working folder for the environment.
    base: PathBuf,
}

impl Setting {
    /// The value as a path (`~` expanded), as Ansible resolves a `path` setting.
    fn path(&self) -> PathBuf {
        let v = self.value.as_str();
        let p = match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => Path::new(&home).join(rest),
            _ => PathBuf::from(v),
        };
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }
}

/// Where each password comes from, in the order Ansible tries them: (label, source, handed on
/// to Ansible's programs as given). ansible.cfg's identities first, then `--vault-id`, the
/// password files, and the prompt of `--ask-vault-pass`.
fn sources(o: &VaultOptions, default: &str) -> Vec<(Option<String>, String, Option<Given>)> {
    let mut slugs: Vec<(Option<String>, String, Option<Given>)> = Vec::new();
    if let Some(list) = setting("ANSIBLE_VAULT_IDENTITY_LIST", "vault_identity_list") {
        for id in list
            .value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (label, source) = split_id(id);
            slugs.push((label, source, None));
        }
    }
    for id in &o.ids {
        let (label, source) = split_id(id);
        slugs.push((label, source, Some(Given::Id(id.clone()))));
    }
    let mut files: Vec<(PathBuf, Option<Given>)> = o
        .password_files
        .iter()
        .map(|f| (f.clone(), Some(Given::File(f.clone()))))
        .collect();
    if let Some(s) = setting("ANSIBLE_VAULT_PASSWORD_FILE", "vault_password_file") {
        files.push((s.path(), None));
    }
    for (f, given) in files {
        let source = f.to_string_lossy().into_owned();
        slugs.push((Some(default.to_string()), source, given));
    }
    if o.ask {
        slugs.push((
            Some(default.to_string()),
            "prompt_ask_vault_pass".into(),
            None,
        ));
    }
    slugs
}

fn setting(env: &str, key: &str) -> Option<Setting> {
    if let Some(v) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        return Some(Setting {
            value: v.to_string_lossy().into_owned(),
            base: PathBuf::from("."),
        });
    }
    let (cfg, text) = locate::config_file()?;
    let value = locate::setting(&text, "defaults", key).filter(|v| !v.is_empty())?;
    Some(Setting {
        value,
        base: cfg.parent().unwrap_or(Path::new(".")).to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_line_ends_are_trimmed_from_what_a_program_prints() {
        assert_eq!(trim_line_ends(b"\r\n pass word \n"), b" pass word ");
        assert_eq!(trim_line_ends(b"\n\n"), b"");
    }

    #[test]
    fn vault_ids_split_at_the_first_at_sign() {
        assert_eq!(split_id("dev@a@b"), (Some("dev".into()), "a@b".into()));
        assert_eq!(split_id("/p"), (None, "/p".into()));
    }
}
