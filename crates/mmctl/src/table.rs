//! Plain-text tables: the one renderer, shared with the host's `miraclemax-status`.

pub use miraclemax_config::table::render;
