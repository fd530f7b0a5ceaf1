//! `mmctl render HOST`: what a host (or each host a pattern selects) will receive from a
//! deploy, or with `--file` one of those files byte for byte, for one host only.

use super::NAME;
use crate::fleet;
use crate::inventory::{Inventory, NotInInventory, PatternError};
use crate::render::{self, File};
use crate::services::Source;

/// Why a render prints nothing for what was asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A pattern that selects no host (a host name among them).
    #[error(transparent)]
    NoHost(NotInInventory),
    #[error(
        "--file prints one host's file, and '{pattern}' selects {} hosts ({}): name one",
        hosts.len(),
        hosts.join(", ")
    )]
    FileOfSeveral { pattern: String, hosts: Vec<String> },
    #[error("host '{host}' receives no file {path} (it receives: {})", known.join(", "))]
    NoSuchFile {
        host: String,
        path: String,
        known: Vec<&'static str>,
    },
}

/// The hosts `pattern` names, refused when it names none, or several with `--file`.
pub fn select(
    inv: &Inventory,
    pattern: &str,
    file: Option<&str>,
) -> Result<Vec<String>, RenderError> {
    let hosts = inv.matching(pattern)?;
    if hosts.is_empty() {
        return Err(RenderError::NoHost(NotInInventory::Host {
            name: pattern.into(),
            known: inv.hosts.keys().cloned().collect(),
        }));
    }
    if file.is_some() && hosts.len() > 1 {
        return Err(RenderError::FileOfSeveral {
            pattern: pattern.into(),
            hosts,
        });
    }
    Ok(hosts)
}

/// The text to print for `host`, the `i`-th of `count` hosts: the one file `--file` names,
/// every file, or every file under the host's own header when there are several hosts.
pub fn text(
    files: &[File],
    host: &str,
    file: Option<&str>,
    i: usize,
    count: usize,
) -> Result<String, RenderError> {
    match file {
        Some(path) => match files.iter().find(|f| f.path == path) {
            Some(f) => Ok(f.text.clone()),
            None => Err(RenderError::NoSuchFile {
                host: host.into(),
                path: path.into(),
                known: files.iter().map(|f| f.path).collect(),
            }),
        },
        None if count == 1 => Ok(render::show(files)),
        None => {
            let gap = if i == 0 { "" } else { "\n" };
            Ok(format!("{gap}==> {host} <==\n{}", render::show(files)))
        }
    }
}

pub fn run(
    source: &Source,
    pattern: &str,
    file: Option<&str>,
    show_secrets: bool,
) -> anyhow::Result<()> {
    let inv = source.load()?;
    let hosts = select(&inv, pattern, file)?;
    for (i, h) in hosts.iter().enumerate() {
        if let Some(why) = render::incomplete(&inv, h) {
            eprintln!(
                "{NAME}: note: {h}: {why}; give its password (--vault-password-file, --vault-id or --ask-vault-pass)"
            );
        }
        let files = match render::files(&inv, h, show_secrets) {
            Ok(f) => f,
            Err(issues) => {
                let lines = fleet::said_once(&issues);
                anyhow::bail!("cannot render host '{h}':\n{}", lines.join("\n"));
            }
        };
        print!("{}", text(&files, h, file, i, hosts.len())?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::scope::tests::fleet;

    fn files() -> Vec<File> {
        vec![
            File {
                path: render::CONFIG,
                text: "host: web1\n".into(),
            },
            File {
                path: render::CRONTAB,
                text: "*/5 * * * * heartbeat\n".into(),
            },
        ]
    }

    #[test]
    fn a_pattern_that_selects_no_host_names_the_hosts_there_are() {
        let e = select(&fleet(), "web9", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no host 'web9' in the inventory (hosts: db1, web1, web2)"
        );
    }

    #[test]
    fn file_with_a_pattern_of_several_hosts_asks_for_one() {
        let e = select(&fleet(), "web", Some(render::CONFIG)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--file prints one host's file, and 'web' selects 2 hosts (web1, web2): name one"
        );
        assert_eq!(select(&fleet(), "web", None).unwrap(), ["web1", "web2"]);
        assert_eq!(
            select(&fleet(), "web2", Some(render::CONFIG)).unwrap(),
            ["web2"]
        );
    }

    #[test]
    fn file_prints_that_file_byte_for_byte() {
        assert_eq!(
            text(&files(), "web1", Some(render::CONFIG), 0, 1).unwrap(),
            "host: web1\n"
        );
    }

    #[test]
    fn a_file_the_host_does_not_receive_names_those_it_does() {
        let e = text(&files(), "web1", Some("/etc/passwd"), 0, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "host 'web1' receives no file /etc/passwd (it receives: /etc/miraclemax/config.yaml, crontab of root)"
        );
    }

    #[test]
    fn several_hosts_each_get_a_header_the_later_ones_after_a_blank_line() {
        let first = text(&files(), "web1", None, 0, 2).unwrap();
        let second = text(&files(), "web2", None, 1, 2).unwrap();
        assert!(first.starts_with("==> web1 <==\n==> /etc/miraclemax/config.yaml <==\n"));
        assert!(second.starts_with("\n==> web2 <==\n"));
        assert_eq!(
            text(&files(), "web1", None, 0, 1).unwrap(),
            render::show(&files())
        );
    }
}
