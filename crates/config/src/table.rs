//! Plain-text tables: a header row, then one row per line, columns padded to their widest cell
//! (in characters), two spaces apart, no trailing blanks. The one renderer of every table the
//! project prints: `miraclemax-status` on a host, `mmctl status` and `mmctl list-services`.

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

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_padded_to_their_widest_cell_in_characters_and_lines_end_without_blanks() {
        let t = super::render(
            ["NAME", "STATE", "NOTE"],
            vec![
                ["café".into(), "active".into(), "".into()],
                ["db".into(), "failed".into(), "restarted twice".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME  STATE   NOTE\n\
             café  active\n\
             db    failed  restarted twice\n"
        );
    }
}
