//! Drawing: a pure function of the [`App`] state onto a ratatui frame.
//!
//! ```text
//!  header   cluster id, brokers up, controller, flags (paused, read-only, devcluster)
//!  tabs     top-level screens and the drill-down path
//!  body     the screen (draw/screens.rs, draw/messages.rs)
//!  status   the last outcome or error
//!  footer   the keys that work here (from the keymap), or the line being typed
//! ```
//!
//! Lists draw only the rows on screen, so a frame costs the same with 20 topics or 2,000.

mod messages;
mod screens;

pub(super) use crate::output::timestamp;
use std::collections::VecDeque;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::app::{App, Command, Cursor, Mode, Screen, ScreenKind};
use super::keymap;

/// Draws the whole UI.
pub fn draw(frame: &mut Frame, app: &App) {
    let [header, tabs, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app);
    draw_tabs(frame, tabs, app);
    match &app.screen {
        Screen::Overview => screens::overview(frame, body, app),
        Screen::Brokers => screens::brokers(frame, body, app),
        Screen::Topics => screens::topics(frame, body, app),
        Screen::TopicDetail(t) => screens::topic_detail(frame, body, app, t),
        Screen::Groups => screens::groups(frame, body, app),
        Screen::GroupDetail(g) => screens::group_detail(frame, body, app, g),
        Screen::Transactions => screens::transactions(frame, body, app),
        Screen::Messages(_) => messages::messages(frame, body, app),
    }
    let status_line = app.status.clone().unwrap_or_default();
    frame.render_widget(Paragraph::new(status_line).dim(), status);
    draw_footer(frame, footer, app);
    if app.mode == Mode::Help {
        draw_help(frame, frame.area(), app);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let d = &app.data;
    let (up, known) = app.brokers_up();
    let brokers = Span::raw(format!(" brokers {up}/{known} up "));
    let mut spans = vec![
        Span::raw(" streamctl ").bold(),
        Span::raw(format!(
            " cluster {} ",
            d.cluster_id.as_deref().unwrap_or("-")
        )),
        if up < known {
            brokers.red().bold()
        } else {
            brokers
        },
        Span::raw(format!(" controller {} ", opt(d.controller))),
    ];
    if !app.loaded {
        spans.push(Span::raw(" connecting… ").yellow());
    }
    if app.paused {
        spans.push(Span::raw(" REFRESH PAUSED ").yellow().bold());
    }
    if app.options.read_only {
        spans.push(Span::raw(" read-only ").cyan());
    }
    match d.admin_plane {
        Some(true) => spans.push(Span::raw(" devcluster ").green()),
        Some(false) => spans.push(Span::raw(" devcluster unreachable ").red()),
        None => {}
    }
    spans.push(Span::raw(format!(" {} ", app.options.brokers)).dim());
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let current = app.screen.kind();
    let top = [
        (ScreenKind::Overview, "1 overview"),
        (ScreenKind::Brokers, "2 brokers"),
        (ScreenKind::Topics, "3 topics"),
        (ScreenKind::Groups, "4 groups"),
        (ScreenKind::Transactions, "5 transactions"),
    ];
    let mut spans = Vec::new();
    for (kind, label) in top {
        let on_path = kind == current || app.stack.iter().any(|s| s.kind() == kind);
        let span = Span::raw(format!(" {label} "));
        spans.push(if kind == current {
            span.reversed()
        } else if on_path {
            span.bold()
        } else {
            span.dim()
        });
    }
    let subject = match &app.screen {
        Screen::TopicDetail(t) => Some(format!("topic {t}")),
        Screen::GroupDetail(g) => Some(format!("group {g}")),
        Screen::Messages(t) => Some(format!("messages {t}")),
        _ => None,
    };
    if let Some(s) = subject {
        spans.push(Span::raw(" › "));
        spans.push(Span::raw(format!(" {s} ")).reversed());
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.mode {
        Mode::Filter => {
            let filter = match app.screen.kind() {
                ScreenKind::Topics => &app.topic_filter,
                ScreenKind::Groups => &app.group_filter,
                _ => &app.tail.filter,
            };
            Line::from(vec![
                Span::raw(format!("/{filter}█")).bold(),
                Span::raw("   ⏎ keep  esc clear").dim(),
            ])
        }
        Mode::Jump(line) => Line::from(vec![
            Span::raw(format!(":{line}█")).bold(),
            Span::raw("   topics groups transactions brokers overview | topic NAME | group ID | tail NAME")
                .dim(),
        ]),
        Mode::Seek(line) => Line::from(vec![
            Span::raw(format!("seek {line}█")).bold(),
            Span::raw("   beginning | end | N | -N | -5m | @epoch-ms | 2025-11-22T08:30 (UTC)")
                .dim(),
        ]),
        Mode::Normal | Mode::Help => {
            let mut spans = Vec::new();
            let mut keys: Vec<&keymap::Binding> = keymap::active(
                app.screen.kind(),
                app.options.read_only,
                app.options.devcluster,
            )
            .filter(|b| b.footer)
            .collect();
            // Help and quit first: on a narrow terminal the end of the footer is cut off.
            keys.sort_by_key(|b| !matches!(b.command, Command::Help | Command::Quit));
            for b in keys {
                spans.push(Span::raw(b.label).reversed());
                spans.push(Span::raw(format!(" {}  ", b.help)));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App) {
    let kind = app.screen.kind();
    let mut lines = vec![Line::from(format!("keys on the {} screen", kind.name())).bold()];
    for b in keymap::active(kind, app.options.read_only, app.options.devcluster) {
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<8}", b.label)).bold(),
            Span::raw(b.help),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(
        "jumps: :topics :groups :brokers :overview :topic NAME :group ID :tail NAME :q",
    ));
    lines.push(Line::from(
        "seek (o): beginning, end, N, -N (N before the end), -30s/-5m/-2h/-1d, @epoch-ms, 2025-11-22T08:30 (UTC)",
    ));
    if app.options.read_only {
        lines.push(Line::from("read-only: broker controls are hidden"));
    }
    lines.push(Line::from("any key closes this help").dim());
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, 84, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" help ")),
        popup,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A table of `rows` (all of them; only the visible slice is turned into widgets) with the
/// cursor's row highlighted.
#[allow(clippy::too_many_arguments)] // each argument is one visible part of the table
pub(super) fn table<T>(
    frame: &mut Frame,
    area: Rect,
    title: String,
    header: &[&str],
    widths: &[Constraint],
    rows: &[T],
    cursor: Option<Cursor>,
    row: impl Fn(&T) -> Row<'static>,
) {
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    // The stored offset was fitted to the full-screen height; refit for this area so the
    // selection stays visible even in a half-height table.
    let mut c = cursor.unwrap_or_default();
    c.fit(rows.len(), height);
    let start = if cursor.is_some() { c.offset } else { 0 };
    let visible = rows
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, r)| {
            let line = row(r);
            if cursor.is_some() && i == c.selected {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        });
    let header = Row::new(header.iter().map(|h| (*h).to_string())).bold();
    let table = Table::new(visible, widths.to_vec())
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(table, area);
}

/// A sparkline as text (one block per point, scaled to the largest), for table cells.
pub(super) fn spark(points: &VecDeque<u64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = points.len().saturating_sub(width);
    let max = points.iter().skip(skip).copied().max().unwrap_or(0);
    points
        .iter()
        .skip(skip)
        .map(|&v| {
            let i = v.saturating_mul(7).checked_div(max).unwrap_or(0);
            BARS.get(i as usize).copied().unwrap_or('█')
        })
        .collect()
}

/// An optional number, `-` when absent.
pub(super) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Node ids as `1,2,3`.
pub(super) fn ids(ids: &[i32]) -> String {
    crate::output::ids(ids)
}

/// A count with a thousands separator, e.g. `12,345`.
pub(super) fn count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}
