//! `mmctl inventory`: the inventory as mmctl reads it, in ansible-inventory's shapes (`--list`,
//! `--host`, `--graph`), to set beside what ansible-inventory prints.

use super::scope;
use crate::host_view;
use crate::services::Source;

/// Which of ansible-inventory's views to print.
pub enum View<'a> {
    /// The groups under this one and their hosts, as a tree.
    Graph(&'a str),
    /// One host's variables.
    Host(&'a str),
    /// Every group and the variables of the hosts the limit selects.
    List { limit: Option<&'a str> },
}

impl<'a> View<'a> {
    /// What `--graph [GROUP]`, `--host H` and `--limit` ask for, as ansible-inventory reads
    /// them: the graph first, then the host, else the list.
    pub fn asked(
        graph: Option<&'a str>,
        host: Option<&'a str>,
        limit: Option<&'a str>,
    ) -> View<'a> {
        match (graph, host) {
            (Some(top), _) => View::Graph(top),
            (None, Some(h)) => View::Host(h),
            (None, None) => View::List { limit },
        }
    }
}

pub fn run(source: &Source, view: View, extra_vars: &[String]) -> anyhow::Result<()> {
    let mut inv = source.load()?;
    inv.extra = crate::inventory::parse_extra_vars(extra_vars)?;
    let out = match view {
        View::Graph(top) => {
            print!("{}", host_view::graph(&inv, top)?);
            return Ok(());
        }
        View::Host(h) => host_view::host(&inv, h)?,
        View::List { limit } => host_view::list(&inv, &scope::hosts(&inv, limit)?),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
