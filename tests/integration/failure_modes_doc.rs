//! docs/failure-modes.md is what the fault-injection tests saw: rendered from the rows they
//! kept in results/failure-modes/, with every row of the user's coverage matrix, each naming a
//! test that exists. Renew both with
//! `MM_WRITE_RESULTS=1 cargo test --features e2e --test e2e failure_modes`.

use mm_testbed::matrix::{self, USER_ROWS};
use std::path::Path;

#[test]
fn the_failure_modes_page_is_rendered_from_the_rows_the_tests_kept() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows = matrix::load(repo).unwrap();
    let page = std::fs::read_to_string(repo.join("docs/failure-modes.md")).unwrap();
    assert!(
        page == matrix::render(&rows),
        "docs/failure-modes.md is not the rendering of results/failure-modes/*.json: renew both \
         with MM_WRITE_RESULTS=1 cargo test --features e2e --test e2e failure_modes"
    );
    for (key, failure) in USER_ROWS {
        let row = rows
            .iter()
            .find(|r| r.id == key)
            .unwrap_or_else(|| panic!("no row for the user's '{failure}'"));
        assert_eq!(row.failure, failure);
    }
    assert!(rows.len() > USER_ROWS.len(), "the added rows are there too");
    let e2e: String = ["tests/e2e", "tests/e2e/failure_modes"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo.join(d)).unwrap().flatten())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    for row in &rows {
        let function = row.test.rsplit("::").next().unwrap();
        assert!(
            e2e.contains(&format!("fn {function}(")),
            "{}: its test {} does not exist",
            row.id,
            row.test
        );
        for cell in [
            &row.injected,
            &row.self_healing,
            &row.healthchecks,
            &row.received,
            &row.recovery,
        ] {
            assert!(
                !cell.trim().is_empty() && !cell.contains("NaN"),
                "{}: {cell:?}",
                row.id
            );
        }
    }
}
