//! Plain-text tables: a header row, then one row per line, columns padded to their widest cell.

pub fn render<const N: usize>(header: [&str; N], rows: Vec<[String; N]>) -> String {
    let mut all: Vec<[String; N]> = vec![header.map(String::from)];
    all.extend(rows);
    let mut widths = [0usize; N];
    for r in &all {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in all {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
