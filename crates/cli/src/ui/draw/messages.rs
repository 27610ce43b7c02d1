//! The messages screen: the live tail, newest first, with a detail pane.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Wrap};
use ratatui::Frame;

use super::{opt, table, timestamp};
use crate::ui::app::App;
use crate::ui::model::{lossy, MessageView};

/// Characters of a key or value shown in the list.
const PREVIEW: usize = 200;

pub(super) fn messages(frame: &mut Frame, area: Rect, app: &App) {
    let tail = &app.tail;
    let (list, detail) = if tail.detail {
        let [l, d] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(area);
        (l, Some(d))
    } else {
        (area, None)
    };
    let rows: Vec<&MessageView> = tail.visible().collect();
    let mut title = String::from(" ");
    if tail.paused {
        title.push_str(&format!("PAUSED, {} held | ", tail.held.len()));
    }
    title.push_str(&format!(
        "{} partition {} {} ({} records",
        tail.topic,
        opt(tail.partition).replace('-', "all"),
        tail.from.map(|s| s.label()).unwrap_or_default(),
        rows.len(),
    ));
    if !tail.filter.is_empty() {
        title.push_str(&format!(" matching {:?}", tail.filter));
    }
    title.push_str(") ");
    table(
        frame,
        list,
        title,
        &["PART", "OFFSET", "TIMESTAMP (UTC)", "KEY", "VALUE"],
        &[
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(23),
            Constraint::Length(14),
            Constraint::Min(10),
        ],
        &rows,
        Some(tail.cursor),
        |m| {
            Row::new(vec![
                m.partition.to_string(),
                m.offset.to_string(),
                timestamp(m.timestamp),
                preview(m.key.as_deref()),
                match &m.decoded {
                    Some(d) => preview(Some(d.json.as_bytes())),
                    None => preview(m.value.as_deref()),
                },
            ])
        },
    );
    if let Some(area) = detail {
        let text = match rows.get(tail.cursor.selected) {
            Some(m) => detail_lines(m),
            None => vec![Line::from("no record selected")],
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" record ")),
            area,
        );
    }
}

fn preview(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "null".to_string(),
        Some(b) => {
            let s = lossy(b);
            let one_line: String = s
                .chars()
                .take(PREVIEW)
                .map(|c| if c.is_control() { '·' } else { c })
                .collect();
            one_line
        }
    }
}

fn detail_lines(m: &MessageView) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(format!("{}-{} @ {}", m.topic, m.partition, m.offset)).bold(),
        Line::from(format!(
            "timestamp  {} ({})",
            timestamp(m.timestamp),
            m.timestamp
        )),
        Line::from(format!(
            "key        {}",
            m.key.as_deref().map_or("null".into(), lossy)
        )),
        Line::from("headers").bold(),
    ];
    if m.headers.is_empty() {
        lines.push(Line::from("  (none)"));
    }
    for (k, v) in &m.headers {
        lines.push(Line::from(format!(
            "  {k} = {}",
            v.as_deref().map_or("null".into(), lossy)
        )));
    }
    let value = match &m.decoded {
        Some(d) => {
            lines.push(Line::from(format!("value      schema {}", d.schema)).bold());
            d.json.clone()
        }
        None => {
            lines.push(Line::from("value").bold());
            m.value.as_deref().map_or("null".into(), lossy)
        }
    };
    // A JSON value is shown pretty-printed; anything else as it is.
    let pretty = serde_json::from_str::<serde_json::Value>(&value)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(value);
    lines.extend(pretty.lines().map(|l| Line::from(l.to_string())));
    lines
}
