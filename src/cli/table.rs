//! Plain-text tables for the terminal: a header, a rule, and columns padded to their widest cell.

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Renders `rows` under `header`. Each row has one cell per header column.
pub fn render(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(header)
            .zip(&widths)
            .map(|((cell, (_, align)), width)| match align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|(title, _)| *title).collect());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out += &line(rules.iter().map(String::as_str).collect());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_the_widest_cell_and_aligns() {
        let table = render(
            &[("entry", Align::Left), ("states", Align::Right)],
            &[
                vec!["seed_blind".into(), "7".into()],
                vec!["x".into(), "12345678".into()],
            ],
        );
        assert_eq!(
            table,
            "entry         states\n\
             ----------  --------\n\
             seed_blind         7\n\
             x           12345678\n"
        );
    }
}
