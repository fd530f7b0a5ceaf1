//! The README's footprint section is exactly the Markdown the footprint benchmark renders from
//! the committed `results/footprint.json` (`cargo bench --features plot --bench footprint` rewrites both), so the
//! figures a reader sees cannot drift from the results file.

#[allow(dead_code)]
#[path = "../../benches/footprint/report.rs"]
mod report;

use std::path::Path;

#[test]
fn readme_footprint_section_is_the_table_rendered_from_results_footprint_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(root.join("results/footprint.json"))
        .expect("results/footprint.json is committed");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = report::section_of(&readme).unwrap_or_else(|| {
        panic!(
            "README.md has no section between {} and {}",
            report::BEGIN,
            report::END
        )
    });
    assert_eq!(
        section,
        report::readme_section(&doc),
        "README.md's footprint section differs from results/footprint.json: \
         run `cargo bench --features plot --bench footprint`, or copy the section from a fresh rendering"
    );
}
