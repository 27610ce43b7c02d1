//! Admin output: aligned columns for people, one JSON document for scripts (`--format json`).
//!
//! Everything goes through a caller-supplied writer (stdout, locked) and returns its
//! `io::Error`, so a closed pipe ends the command quietly (see `main`) instead of panicking
//! as `println!` would.

use std::io::{self, Write};

/// Writes `rows` under `headers`, each column padded to its widest cell, two spaces apart.
/// The last column is not padded, so lines carry no trailing spaces.
pub fn table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes one JSON document (pretty-printed) and a newline.
pub fn json(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// A list of node ids as `1,2,3` (`-` when empty, so columns stay aligned).
pub fn ids(ids: &[i32]) -> String {
    if ids.is_empty() {
        return "-".to_string();
    }
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_without_trailing_spaces() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["0".to_string(), "12345".to_string(), "x".to_string()],
            vec!["10".to_string(), "1".to_string(), "-".to_string()],
        ];
        table(&mut out, &["P", "LEADER", "ISR"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "P   LEADER  ISR\n0   12345   x\n10  1       -\n"
        );
        assert_eq!(ids(&[]), "-");
        assert_eq!(ids(&[1, 2]), "1,2");
    }
}
