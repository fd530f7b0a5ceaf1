//! `mmctl check-config FILE`: an agent configuration as a host holds it (the main file and the
//! `config.d/*.yaml` fragments beside it, merged), checked as the host programs read it.

use miraclemax_config::summary::config_summary;
use std::path::Path;

pub fn run(file: &Path) -> anyhow::Result<()> {
    let c = miraclemax_config::load(file)?;
    print!(
        "{}: configuration OK\n{}",
        file.display(),
        config_summary(&c)
    );
    Ok(())
}
