//! Admin output: aligned columns for people, one JSON or YAML document for scripts
//! (`--format json|yaml`).
//!
//! Column headers are bold when stdout is a terminal and `NO_COLOR` is not set; piped output
//! carries no escape codes.
//!
//! Everything goes through a caller-supplied writer (stdout, locked) and returns its
//! `io::Error`, so a closed pipe ends the command quietly (see `main`) instead of panicking
//! as `println!` would.

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

use crate::cli::Format;

/// Whether stdout gets ANSI styling: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub fn styled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

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
    let bold = styled();
    for (n, row) in std::iter::once(&header).chain(rows).enumerate() {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        if n == 0 && bold {
            writeln!(out, "\x1b[1m{}\x1b[0m", line.trim_end())?;
        } else {
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

/// Asks `question` on the terminal (stderr) and reads y/N from stdin. Without a terminal
/// nobody can answer, so it refuses with an error telling how to `action` anyway (`--yes`).
pub async fn confirm(question: &str, action: &str) -> anyhow::Result<bool> {
    use anyhow::Context;
    if !io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to {action} without confirmation: stdin is not a terminal \
             (pass --yes to do it anyway)"
        );
    }
    eprint!("{question} [y/N] ");
    io::stderr().flush().ok();
    // Reading the terminal blocks; keep it off the async workers.
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .context("reading the answer")?
    .context("reading the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Writes a list to stdout: `value` as a JSON or YAML document, or for `Text` the same rows
/// as an aligned table under `headers`.
pub fn listing(
    format: Format,
    value: &Value,
    headers: &[&str],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        Format::Json | Format::Yaml => document(&mut out, format, value),
        Format::Text => table(&mut out, headers, rows),
    }
}

/// Writes `value` as the document `format` asks for (JSON or YAML); `Text` is the caller's
/// job, so it falls back to JSON here.
pub fn document(out: &mut impl Write, format: Format, value: &Value) -> io::Result<()> {
    match format {
        Format::Yaml => yaml(out, value),
        Format::Json | Format::Text => json(out, value),
    }
}

/// Writes `value` as a YAML document (block style; strings quoted whenever YAML could read
/// them as something else).
pub fn yaml(out: &mut impl Write, value: &Value) -> io::Result<()> {
    let mut text = String::new();
    yaml_node(&mut text, value, 0, false);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    out.write_all(text.as_bytes())
}

fn yaml_node(text: &mut String, value: &Value, indent: usize, in_list: bool) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if !(in_list && i == 0) {
                    text.push_str(&pad);
                }
                text.push_str(&yaml_scalar_str(k));
                text.push(':');
                yaml_child(text, v, indent);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                if !(in_list && i == 0) {
                    text.push_str(&pad);
                }
                text.push_str("- ");
                match v {
                    Value::Object(m) if !m.is_empty() => yaml_node(text, v, indent + 2, true),
                    Value::Array(a) if !a.is_empty() => yaml_node(text, v, indent + 2, true),
                    _ => {
                        text.push_str(&yaml_scalar(v));
                        text.push('\n');
                    }
                }
            }
        }
        _ => {
            text.push_str(&yaml_scalar(value));
            text.push('\n');
        }
    }
}

/// After `key:`, a scalar on the same line or a nested block below.
fn yaml_child(text: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            text.push('\n');
            yaml_node(text, value, indent + 2, false);
        }
        Value::Array(a) if !a.is_empty() => {
            text.push('\n');
            yaml_node(text, value, indent + 2, false);
        }
        _ => {
            text.push(' ');
            text.push_str(&yaml_scalar(value));
            text.push('\n');
        }
    }
}

fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar_str(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// A string as a YAML scalar: plain when it cannot be mistaken for anything else, otherwise
/// double-quoted with JSON escapes (which YAML's double-quoted style accepts).
fn yaml_scalar_str(s: &str) -> String {
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    let numeric = s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o");
    let plain = !reserved
        && !numeric
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-@".contains(c))
        && !s.starts_with(['-', '@', '.']);
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
    }
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

/// A byte count for people: `512 B`, `1.5 KiB`, `10.3 MiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).unwrap_or(&"TiB"))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A timestamp (ms since the epoch) as `YYYY-MM-DD HH:MM:SS.mmm` UTC.
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents_nest_and_quote_what_is_ambiguous() {
        let value = serde_json::json!({
            "name": "orders",
            "partitions": [
                {"partition": 0, "isr": [1, 2], "leader": null},
                {"partition": 1, "isr": [], "leader": 2},
            ],
            "configs": {"retention.ms": "3600000", "note": "a: b", "flag": "yes"},
            "empty": {},
        });
        let mut out = Vec::new();
        yaml(&mut out, &value).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "configs:\n  flag: \"yes\"\n  note: \"a: b\"\n  retention.ms: \"3600000\"\n\
             empty: {}\nname: orders\npartitions:\n  - isr:\n      - 1\n      - 2\n    \
             leader: null\n    partition: 0\n  - isr: []\n    leader: 2\n    partition: 1\n"
        );
    }

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
