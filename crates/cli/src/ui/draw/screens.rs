//! The cluster screens: overview, brokers, topics, topic detail, groups, group detail,
//! transactions.

use std::collections::HashMap;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::{count, ids, opt, spark, table};
use crate::ui::app::{App, History};
use crate::ui::model::{BrokerView, GroupView, LagView, PartitionView, TopicView, TxnView};

pub(super) fn overview(frame: &mut Frame, area: Rect, app: &App) {
    let [facts, charts] =
        Layout::horizontal([Constraint::Length(44), Constraint::Min(20)]).areas(area);
    let d = &app.data;
    let (up, known) = app.brokers_up();
    let user_topics = d.topics.iter().filter(|t| !t.internal).count();
    let partitions: usize = d.topics.iter().map(|t| t.partitions.len()).sum();
    let urp: usize = d.topics.iter().map(TopicView::under_replicated).sum();
    let offline: usize = d.topics.iter().map(TopicView::offline).sum();
    let sampled = d
        .topics
        .iter()
        .filter(|t| !t.internal && app.rates.get(&t.name).is_some_and(|h| h.latest().is_some()))
        .count();
    let total_lag = app.total_lag.latest();
    let kv =
        |k: &str, v: String| Line::from(vec![Span::raw(format!("{k:<24}")).bold(), Span::raw(v)]);
    let mut lines = vec![
        kv(
            "cluster id",
            d.cluster_id.clone().unwrap_or_else(|| "-".into()),
        ),
        kv("controller", opt(d.controller)),
        kv("brokers", format!("{up} up, {} down", known - up)),
        kv(
            "topics",
            format!("{user_topics} (+{} internal)", d.topics.len() - user_topics),
        ),
        kv("partitions", partitions.to_string()),
        kv("under-replicated", urp.to_string()),
        kv("offline partitions", offline.to_string()),
        kv(
            "consumer groups",
            d.groups
                .as_ref()
                .map_or("-".into(), |g| g.len().to_string()),
        ),
        kv("total lag", opt(total_lag.map(|l| count(l as i64)))),
        kv(
            "open transactions",
            d.transactions.as_ref().map_or("-".into(), |t| {
                t.iter().filter(|t| t.open()).count().to_string()
            }),
        ),
        kv(
            "produce rate",
            format!(
                "{} rec/s",
                opt(app.total_rate.latest().map(|r| count(r as i64)))
            ),
        ),
    ];
    if urp > 0 {
        if let Some(l) = lines.get_mut(5) {
            *l = l.clone().red();
        }
    }
    if offline > 0 {
        if let Some(l) = lines.get_mut(6) {
            *l = l.clone().red().bold();
        }
    }
    if up < known {
        if let Some(l) = lines.get_mut(2) {
            *l = l.clone().red().bold();
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" overview ")),
        facts,
    );
    let [rate, lag] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    sparkline(
        frame,
        rate,
        &app.total_rate,
        format!(
            " produce rate (records/s, high-watermark deltas of {sampled}/{user_topics} topics) "
        ),
    );
    sparkline(
        frame,
        lag,
        &app.total_lag,
        " total consumer lag ".to_string(),
    );
}

fn sparkline(frame: &mut Frame, area: Rect, history: &History, title: String) {
    let width = usize::from(area.width.saturating_sub(2));
    let skip = history.points.len().saturating_sub(width);
    let data: Vec<u64> = history.points.iter().skip(skip).copied().collect();
    let title = format!(
        "{title}now {} ",
        opt(history.latest().map(|v| count(v as i64)))
    );
    frame.render_widget(
        Sparkline::default()
            .data(&data)
            .block(Block::default().borders(Borders::ALL).title(title))
            .green(),
        area,
    );
}

pub(super) fn brokers(frame: &mut Frame, area: Rect, app: &App) {
    let dev = app.options.devcluster;
    let [list, panel] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if dev { 4 } else { 0 }),
    ])
    .areas(area);
    let controller = app.data.controller;
    // (leaders, replicas, replicas out of the ISR) per broker, in one pass.
    let mut counts: HashMap<i32, (usize, usize, usize)> = HashMap::new();
    for p in app.data.topics.iter().flat_map(|t| &t.partitions) {
        if let Some(l) = p.leader {
            counts.entry(l).or_default().0 += 1;
        }
        for r in &p.replicas {
            let c = counts.entry(*r).or_default();
            c.1 += 1;
            if !p.isr.contains(r) {
                c.2 += 1;
            }
        }
    }
    let row = |b: &BrokerView| {
        let (leaders, replicas, out_of_isr) = counts.get(&b.id).copied().unwrap_or_default();
        let status = if b.up {
            Span::raw("up").green()
        } else {
            Span::raw("DOWN").red().bold()
        };
        Row::new(vec![
            Line::from(format!(
                "{}{}",
                b.id,
                if controller == Some(b.id) { " *" } else { "" }
            )),
            Line::from(status),
            Line::from(b.host.clone()),
            Line::from(b.port.to_string()),
            Line::from(b.rack.clone().unwrap_or_else(|| "-".into())),
            Line::from(leaders.to_string()),
            Line::from(replicas.to_string()),
            Line::from(out_of_isr.to_string()),
        ])
    };
    let (up, known) = app.brokers_up();
    table(
        frame,
        list,
        format!(" brokers ({up}/{known} up, * controller) "),
        &[
            "ID",
            "STATUS",
            "HOST",
            "PORT",
            "RACK",
            "LEADERS",
            "REPLICAS",
            "NOT IN ISR",
        ],
        &[
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Min(12),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(10),
        ],
        &app.data.brokers,
        Some(app.brokers),
        row,
    );
    if dev {
        let reach = match app.data.admin_plane {
            Some(true) => Span::raw("reachable").green(),
            Some(false) => Span::raw("UNREACHABLE").red(),
            None => Span::raw("-"),
        };
        let controls = if app.options.read_only {
            Line::from("read-only: broker controls hidden")
        } else {
            Line::from(vec![
                Span::raw(" S ").reversed(),
                Span::raw(" stop (leaderships move first)  "),
                Span::raw(" K ").reversed(),
                Span::raw(" kill (as if the process died)  "),
                Span::raw(" U ").reversed(),
                Span::raw(" start again"),
            ])
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![Span::raw("admin plane "), reach]),
                controls,
            ])
            .block(Block::default().borders(Borders::ALL).title(format!(
                " devcluster: broker {} ",
                opt(app.data.brokers.get(app.brokers.selected).map(|b| b.id))
            ))),
            panel,
        );
    }
}

pub(super) fn topics(frame: &mut Frame, area: Rect, app: &App) {
    let rows = app.topic_rows();
    let total = app
        .data
        .topics
        .iter()
        .filter(|t| app.show_internal || !t.internal)
        .count();
    let mut title = format!(
        " topics ({} of {total}) sort: {} ",
        rows.len(),
        app.topic_sort.label()
    );
    if !app.topic_filter.is_empty() {
        title.push_str(&format!("filter: {} ", app.topic_filter));
    }
    title.push_str(if app.show_internal {
        "internal: shown "
    } else {
        "internal: hidden "
    });
    let row = |t: &&TopicView| {
        let history = app.rates.get(&t.name);
        let urp = t.under_replicated();
        let urp_cell = if urp > 0 {
            Line::from(urp.to_string()).red()
        } else {
            Line::from("0")
        };
        Row::new(vec![
            Line::from(t.name.clone()),
            Line::from(t.partitions.len().to_string()),
            Line::from(t.replication_factor().to_string()),
            urp_cell,
            Line::from(opt(t.messages().map(count))),
            Line::from(opt(history.and_then(History::latest))),
            Line::from(history.map_or(String::new(), |h| spark(&h.points, 12))).green(),
            Line::from(opt(app.max_lag(&t.name).map(count))),
        ])
    };
    table(
        frame,
        area,
        title,
        &[
            "NAME", "PARTS", "RF", "URP", "MESSAGES", "REC/S", "RATE", "MAX LAG",
        ],
        &[
            Constraint::Min(20),
            Constraint::Length(6),
            Constraint::Length(3),
            Constraint::Length(4),
            Constraint::Length(12),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Length(10),
        ],
        &rows,
        Some(app.topics),
        row,
    );
}

pub(super) fn topic_detail(frame: &mut Frame, area: Rect, app: &App, name: &str) {
    let Some(topic) = app.topic(name) else {
        frame.render_widget(
            Paragraph::new(format!("topic {name} not found (yet)")).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(" topic {name} ")),
            ),
            area,
        );
        return;
    };
    let groups: Vec<(&GroupView, i64)> = app
        .data
        .groups
        .iter()
        .flatten()
        .filter_map(|g| Some((g, g.lag_on(name)?)))
        .collect();
    let group_rows = u16::try_from(groups.len()).unwrap_or(u16::MAX).clamp(1, 8) + 3;
    let [parts, groups_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(group_rows)]).areas(area);
    let title = format!(
        " topic {name}: {} partitions, RF {}, {} under-replicated, {} offline, {} records, {} rec/s ",
        topic.partitions.len(),
        topic.replication_factor(),
        topic.under_replicated(),
        topic.offline(),
        opt(topic.messages().map(count)),
        opt(app.rates.get(name).and_then(History::latest)),
    );
    let row = |p: &PartitionView| {
        let isr = if p.under_replicated() {
            Line::from(ids(&p.isr)).red()
        } else {
            Line::from(ids(&p.isr))
        };
        let leader = match p.leader {
            Some(l) => Line::from(l.to_string()),
            None => Line::from("none").red().bold(),
        };
        Row::new(vec![
            Line::from(p.partition.to_string()),
            leader,
            Line::from(ids(&p.replicas)),
            isr,
            Line::from(if p.offline.is_empty() {
                "-".to_string()
            } else {
                ids(&p.offline)
            }),
            Line::from(opt(p.low_watermark)),
            Line::from(opt(p.high_watermark)),
            // Below the high watermark: an open transaction holds read_committed readers back.
            if p.unstable().is_some_and(|n| n > 0) {
                Line::from(opt(p.last_stable_offset)).yellow()
            } else {
                Line::from(opt(p.last_stable_offset))
            },
            Line::from(opt(p.messages().map(count))),
            Line::from(p.dirty_ppm.map_or("-".to_string(), |ppm| {
                format!("{:.2}", f64::from(ppm) / 1_000_000.0)
            })),
        ])
    };
    table(
        frame,
        parts,
        title,
        &[
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "OFFLINE",
            "LOW",
            "HIGH",
            "STABLE",
            "MESSAGES",
            "DIRTY",
        ],
        &[
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Min(6),
        ],
        &topic.partitions,
        Some(app.partitions),
        row,
    );
    table(
        frame,
        groups_area,
        format!(" groups on {name} ({}) ", groups.len()),
        &["GROUP", "STATE", "LAG"],
        &[
            Constraint::Min(20),
            Constraint::Length(20),
            Constraint::Length(12),
        ],
        &groups,
        None,
        |(g, lag)| Row::new(vec![g.group_id.clone(), g.state.clone(), count(*lag)]),
    );
}

pub(super) fn groups(frame: &mut Frame, area: Rect, app: &App) {
    let rows = app.group_rows();
    let mut title = match &app.data.groups {
        Some(all) => format!(" groups ({} of {}) ", rows.len(), all.len()),
        None => " groups (not listed yet) ".to_string(),
    };
    if !app.group_filter.is_empty() {
        title.push_str(&format!("filter: {} ", app.group_filter));
    }
    let row = |g: &&GroupView| {
        let trend = app.lag.get(&g.group_id);
        Row::new(vec![
            Line::from(g.group_id.clone()),
            Line::from(g.state.clone()),
            Line::from(g.group_type.clone().unwrap_or_else(|| "-".into())),
            Line::from(opt(g.members)),
            Line::from(opt(g.total_lag().map(count))),
            Line::from(trend.map_or(String::new(), |h| spark(&h.points, 16))).yellow(),
        ])
    };
    table(
        frame,
        area,
        title,
        &["GROUP", "STATE", "TYPE", "MEMBERS", "LAG", "LAG TREND"],
        &[
            Constraint::Min(20),
            Constraint::Length(20),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(16),
        ],
        &rows,
        Some(app.groups),
        row,
    );
}

pub(super) fn group_detail(frame: &mut Frame, area: Rect, app: &App, id: &str) {
    let group = app.group(id);
    let detail = app.data.group_detail.as_ref().filter(|d| d.group_id == id);
    let members = detail.map_or(0, |d| d.members.len());
    let member_rows = u16::try_from(members).unwrap_or(u16::MAX).min(6) + 3;
    let [info, lag_area] =
        Layout::vertical([Constraint::Length(member_rows), Constraint::Min(4)]).areas(area);
    let state = detail
        .map(|d| d.state.clone())
        .or_else(|| group.map(|g| g.state.clone()))
        .unwrap_or_else(|| "-".into());
    let protocol = detail.map_or("-".to_string(), |d| d.protocol.clone());
    // A consumer-protocol group (KIP-848) also shows its epochs and, per member, what it is
    // about to own once other members release it.
    let epochs = detail
        .and_then(|d| d.epochs)
        .map_or(String::new(), |(g, t)| {
            format!(", consumer protocol, epoch {g}, target epoch {t}")
        });
    table(
        frame,
        info,
        format!(" group {id}: {state}, assignor {protocol}, {members} members{epochs} "),
        &["MEMBER", "CLIENT ID", "HOST", "EPOCH", "OWNS", "NEXT"],
        &[
            Constraint::Min(24),
            Constraint::Length(18),
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Min(16),
            Constraint::Min(10),
        ],
        detail.map_or(&[][..], |d| &d.members[..]),
        None,
        |m| {
            Row::new(vec![
                m.member_id.clone(),
                m.client_id.clone(),
                m.client_host.clone(),
                m.epoch.map_or("-".to_string(), |e| e.to_string()),
                if m.owns.is_empty() {
                    "-".to_string()
                } else {
                    m.owns.clone()
                },
                if m.next.is_empty() {
                    "-".to_string()
                } else {
                    m.next.clone()
                },
            ])
        },
    );
    let lag: &[LagView] = group.and_then(|g| g.lag.as_deref()).unwrap_or(&[]);
    let total = group.and_then(GroupView::total_lag);
    let trend = app
        .lag
        .get(id)
        .map_or(String::new(), |h| spark(&h.points, 30));
    table(
        frame,
        lag_area,
        format!(" lag: total {} {trend} ", opt(total.map(count))),
        &["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"],
        &[
            Constraint::Min(16),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Min(20),
        ],
        lag,
        Some(app.group_rows),
        |l| {
            Row::new(vec![
                l.topic.clone(),
                l.partition.to_string(),
                opt(l.committed),
                opt(l.end_offset),
                opt(l.lag.map(count)),
                l.member_id.clone().unwrap_or_else(|| "-".into()),
            ])
        },
    );
}

pub(super) fn transactions(frame: &mut Frame, area: Rect, app: &App) {
    let all: &[TxnView] = app.data.transactions.as_deref().unwrap_or(&[]);
    let open = all.iter().filter(|t| t.open()).count();
    let title = match &app.data.transactions {
        Some(all) => format!(" transactions ({} ids, {open} open) ", all.len()),
        None => " transactions (not listed yet) ".to_string(),
    };
    let now = crate::output::now_ms();
    let row = |t: &TxnView| {
        let running = t.started_ms.filter(|_| t.open()).map(|s| (now - s).max(0));
        // Past half its timeout a transaction is about to be aborted by the coordinator.
        let late = running
            .zip(t.timeout_ms)
            .is_some_and(|(r, timeout)| r > i64::from(timeout) / 2);
        let running_cell = Line::from(running.map_or("-".to_string(), |ms| format!("{ms} ms")));
        let state = Line::from(t.state.clone());
        Row::new(vec![
            Line::from(t.transactional_id.clone()),
            if t.open() { state.yellow() } else { state },
            Line::from(t.producer_id.to_string()),
            if late {
                running_cell.red()
            } else {
                running_cell
            },
            Line::from(opt(t.timeout_ms)),
            Line::from(t.coordinator.to_string()),
            Line::from(if t.partitions.is_empty() {
                "-".to_string()
            } else {
                t.partitions.join(" ")
            }),
        ])
    };
    table(
        frame,
        area,
        title,
        &[
            "TRANSACTIONAL ID",
            "STATE",
            "PRODUCER ID",
            "RUNNING",
            "TIMEOUT MS",
            "COORDINATOR",
            "PARTITIONS",
        ],
        &[
            Constraint::Min(20),
            Constraint::Length(17),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(11),
            Constraint::Length(11),
            Constraint::Min(20),
        ],
        all,
        Some(app.txns),
        row,
    );
}
