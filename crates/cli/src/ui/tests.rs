//! Tests of the UI without a terminal or a cluster: fixture state, every screen drawn on
//! ratatui's `TestBackend` and asserted on its text, an `update` test per key (keys.rs), and
//! the draw time with 2,000 topics (printed, not asserted).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod data;
mod keys;
mod tail;

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::app::{Action, App, Command, Mode, Options, Screen, Seek};
use super::draw;
use super::keymap;
use super::model::{
    BrokerView, GroupDetail, GroupView, LagView, MemberView, MessageView, PartitionView, Snapshot,
    TopicView, TxnView,
};

pub(super) fn partition(
    partition: i32,
    leader: Option<i32>,
    isr: &[i32],
    marks: (i64, i64),
) -> PartitionView {
    PartitionView {
        partition,
        leader,
        replicas: vec![1, 2, 3],
        isr: isr.to_vec(),
        offline: if leader.is_none() {
            vec![1, 2, 3]
        } else {
            Vec::new()
        },
        low_watermark: Some(marks.0),
        high_watermark: Some(marks.1),
        last_stable_offset: Some(marks.1),
        dirty_ppm: None,
    }
}

fn topic(name: &str, internal: bool, partitions: Vec<PartitionView>, at: Instant) -> TopicView {
    TopicView {
        name: name.into(),
        internal,
        partitions,
        watermarks_at: Some(at),
    }
}

fn lag(topic: &str, partition: i32, committed: i64, end: i64, member: Option<&str>) -> LagView {
    LagView {
        topic: topic.into(),
        partition,
        committed: Some(committed),
        end_offset: Some(end),
        lag: Some(end - committed),
        member_id: member.map(str::to_string),
    }
}

/// A 3-broker cluster with broker 2 down: `orders` (3 partitions, one under-replicated),
/// `payments` (offline), `__consumer_offsets`; groups `billing` (lagging) and `audit`.
/// `produced` is added to every high watermark of `orders`.
pub(super) fn snapshot(at: Instant, produced: i64) -> Snapshot {
    Snapshot {
        at: Some(at),
        cluster_id: Some("dev-cluster-1".into()),
        controller: Some(1),
        brokers: vec![broker(1, true), broker(2, false), broker(3, true)],
        topics: vec![
            topic(
                "__consumer_offsets",
                true,
                vec![partition(0, Some(1), &[1, 3], (0, 10))],
                at,
            ),
            topic(
                "orders",
                false,
                vec![
                    partition(0, Some(1), &[1, 2, 3], (0, 1000 + produced)),
                    partition(1, Some(3), &[3, 1], (100, 600 + produced)),
                    partition(2, Some(1), &[1, 2, 3], (0, 250 + produced)),
                ],
                at,
            ),
            topic(
                "payments",
                false,
                vec![partition(0, None, &[], (0, 42))],
                at,
            ),
        ],
        groups: Some(vec![
            GroupView {
                group_id: "billing".into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                group_type: Some("consumer".into()),
                members: Some(2),
                lag: Some(vec![
                    lag("orders", 0, 900, 1000 + produced, Some("consumer-1-abc")),
                    lag("orders", 1, 600, 600 + produced, Some("consumer-2-def")),
                    lag("orders", 2, 250, 250 + produced, Some("consumer-1-abc")),
                ]),
            },
            GroupView {
                group_id: "audit".into(),
                state: "Empty".into(),
                protocol_type: "consumer".into(),
                group_type: Some("classic".into()),
                members: Some(0),
                lag: Some(vec![lag("payments", 0, 40, 42, None)]),
            },
        ]),
        group_detail: Some(GroupDetail {
            group_id: "billing".into(),
            state: "Stable".into(),
            protocol: "range".into(),
            epochs: None,
            members: vec![
                MemberView {
                    member_id: "consumer-1-abc".into(),
                    client_id: "billing-app".into(),
                    client_host: "/127.0.0.1".into(),
                    epoch: None,
                    owns: "orders[0,1]".into(),
                    next: String::new(),
                },
                MemberView {
                    member_id: "consumer-2-def".into(),
                    client_id: "billing-app".into(),
                    client_host: "/127.0.0.1".into(),
                    epoch: None,
                    owns: "orders[2]".into(),
                    next: String::new(),
                },
            ],
        }),
        transactions: Some(vec![
            TxnView {
                transactional_id: "billing-tx".into(),
                state: "Ongoing".into(),
                producer_id: 7,
                coordinator: 3,
                started_ms: Some(0),
                timeout_ms: Some(60_000),
                partitions: vec!["orders-0".into(), "orders-2".into()],
            },
            TxnView {
                transactional_id: "audit-tx".into(),
                state: "CompleteCommit".into(),
                producer_id: 8,
                coordinator: 1,
                started_ms: None,
                timeout_ms: None,
                partitions: Vec::new(),
            },
        ]),
        admin_plane: Some(true),
        errors: Vec::new(),
    }
}

fn broker(id: i32, up: bool) -> BrokerView {
    BrokerView {
        id,
        host: "localhost".into(),
        port: 9091 + id,
        rack: None,
        up,
    }
}

pub(super) fn record(partition: i32, offset: i64, key: &str, value: &str) -> MessageView {
    MessageView {
        topic: "orders".into(),
        partition,
        offset,
        timestamp: 1_763_800_000_000 + offset,
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        headers: vec![("source".into(), Some(b"web".to_vec()))],
        decoded: None,
    }
}

/// An app that has seen two polls 2 s apart (so rates and trends exist), on the overview.
pub(super) fn app_with(options: Options) -> App {
    let mut app = App::new(options);
    app.update(Action::Resize(120, 30));
    let t0 = Instant::now();
    app.update(Action::Data(Box::new(snapshot(t0, 0))));
    app.update(Action::Data(Box::new(snapshot(
        t0 + Duration::from_secs(2),
        300,
    ))));
    app
}

pub(super) fn app() -> App {
    app_with(Options {
        read_only: false,
        devcluster: true,
        brokers: "localhost:9092".into(),
    })
}

pub(super) fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(super) fn press(app: &mut App, c: char) -> Vec<super::app::Request> {
    app.update(key(KeyCode::Char(c)))
}

/// The frame as text, one line per row.
pub(super) fn render(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    buffer
        .content()
        .chunks(usize::from(w))
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

#[test]
fn overview_shows_cluster_health_rate_and_lag() {
    let app = app();
    let s = render(&app);
    assert!(s.contains("dev-cluster-1"), "{s}");
    assert!(
        line_with(&s, "brokers     ").contains("2 up, 1 down"),
        "{s}"
    );
    assert!(line_with(&s, "controller   ").contains('1'));
    assert!(line_with(&s, "topics   ").contains("2 (+1 internal)"));
    assert!(line_with(&s, "partitions   ").contains('5'));
    // orders-1 (ISR 3,1) and payments-0 and __consumer_offsets-0 are under-replicated.
    assert!(line_with(&s, "under-replicated   ").contains('3'), "{s}");
    assert!(line_with(&s, "offline partitions").contains('1'));
    assert!(line_with(&s, "consumer groups").contains('2'));
    // 3 partitions × 300 records in 2 s.
    assert!(
        line_with(&s, "produce rate   ").contains("450 rec/s"),
        "{s}"
    );
    // billing: 100+300, 0+300, 0+300; audit: 2.
    assert!(line_with(&s, "total lag   ").contains("1,002"), "{s}");
    assert!(s.contains("high-watermark deltas of 2/2 topics"), "{s}");
    assert!(s.contains("brokers 2/3 up"), "{s}");
}

#[test]
fn brokers_screen_shows_down_broker_and_devcluster_controls() {
    let mut app = app();
    press(&mut app, '2');
    let s = render(&app);
    assert!(line_with(&s, "│2 ").contains("DOWN"), "{s}");
    assert!(line_with(&s, "│1 *").contains("up"), "{s}");
    // Broker 1 leads orders-0, orders-2 and __consumer_offsets-0.
    let b1: Vec<&str> = line_with(&s, "│1 *").split_whitespace().collect();
    assert!(b1.contains(&"3"), "{s}");
    assert!(s.contains("devcluster: broker 1"), "{s}");
    assert!(s.contains("kill (as if the process died)"));
    assert!(line_with(&s, "q quit").contains("kill broker"), "{s}");
    assert!(
        s.lines().last().unwrap().starts_with("? help  q quit"),
        "{s}"
    );
}

#[test]
fn read_only_hides_broker_controls() {
    let mut app = app_with(Options {
        read_only: true,
        devcluster: true,
        brokers: "b:9092".into(),
    });
    press(&mut app, '2');
    let s = render(&app);
    assert!(s.contains("read-only: broker controls hidden"), "{s}");
    assert!(!s.contains("kill broker"), "{s}");
    assert!(s.contains("read-only"));
}

#[test]
fn topics_screen_lists_topics_with_counts_rates_and_lag() {
    let mut app = app();
    press(&mut app, '3');
    let s = render(&app);
    let orders = line_with(&s, "│orders");
    let cols: Vec<&str> = orders.split_whitespace().collect();
    // NAME PARTS RF URP MESSAGES REC/S RATE MAX LAG
    assert_eq!(cols[1], "3", "{orders}");
    assert_eq!(cols[2], "3");
    assert_eq!(cols[3], "1");
    assert_eq!(cols[4], "2,650", "{orders}");
    assert_eq!(cols[5], "450");
    assert!(
        cols[6].starts_with('▁') || cols[6].contains('█'),
        "{orders}"
    );
    assert_eq!(cols[7], "1,000", "{orders}");
    assert!(line_with(&s, "│payments").contains("42"));
    assert!(
        !s.contains("__consumer_offsets"),
        "internal hidden by default"
    );
    assert!(s.contains("topics (2 of 2) sort: name"));
}

#[test]
fn topic_detail_shows_partitions_and_groups() {
    let mut app = app();
    press(&mut app, '3');
    app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::TopicDetail("orders".into()));
    let s = render(&app);
    assert!(
        s.contains("topic orders: 3 partitions, RF 3, 1 under-replicated"),
        "{s}"
    );
    let p1: Vec<&str> = line_with(&s, "│1 ").split_whitespace().collect();
    // PARTITION LEADER REPLICAS ISR OFFLINE LOW HIGH STABLE MESSAGES
    assert_eq!(
        &p1[..9],
        ["│1", "3", "1,2,3", "3,1", "-", "100", "900", "900", "800"],
        "{s}"
    );
    assert!(line_with(&s, "│billing").contains("1,000"), "{s}");
    assert!(s.contains("groups on orders (1)"));
    // An offline partition says so.
    app.update(key(KeyCode::Esc));
    press(&mut app, 'j');
    app.update(key(KeyCode::Enter));
    let s = render(&app);
    assert!(line_with(&s, "│0 ").contains("none"), "{s}");
}

#[test]
fn groups_screen_shows_state_members_lag_and_trend() {
    let mut app = app();
    press(&mut app, '4');
    let s = render(&app);
    let billing: Vec<&str> = line_with(&s, "│billing").split_whitespace().collect();
    assert_eq!(
        &billing[..5],
        ["│billing", "Stable", "consumer", "2", "1,000"],
        "{s}"
    );
    // Lag went 100 → 1,000: the trend rises.
    assert!(
        billing[5].starts_with('▁') && billing[5].ends_with('█'),
        "{s}"
    );
    assert!(line_with(&s, "│audit").contains("Empty"));
    assert!(s.contains("groups (2 of 2)"));
}

#[test]
fn transactions_screen_shows_open_transactions_first_class() {
    let mut app = app();
    press(&mut app, '5');
    assert_eq!(app.screen, Screen::Transactions);
    let s = render(&app);
    assert!(s.contains("transactions (2 ids, 1 open)"), "{s}");
    let open: Vec<&str> = line_with(&s, "│billing-tx").split_whitespace().collect();
    // TRANSACTIONAL ID, STATE, PRODUCER ID, RUNNING (started at the epoch: long past half
    // its timeout), TIMEOUT MS, COORDINATOR, PARTITIONS
    assert_eq!(&open[..3], ["│billing-tx", "Ongoing", "7"], "{s}");
    assert!(open.contains(&"60000") && open.contains(&"orders-0"), "{s}");
    let done: Vec<&str> = line_with(&s, "│audit-tx").split_whitespace().collect();
    assert_eq!(&done[..4], ["│audit-tx", "CompleteCommit", "8", "-"], "{s}");
    // The overview counts open transactions; `:txns` jumps here too.
    press(&mut app, '1');
    assert!(line_with(&render(&app), "open transactions").contains('1'));
    press(&mut app, ':');
    for c in "txns".chars() {
        press(&mut app, c);
    }
    app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Transactions);
}

#[test]
fn group_detail_shows_members_and_partition_lag() {
    let mut app = app();
    press(&mut app, '4');
    press(&mut app, 'j');
    app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::GroupDetail("billing".into()));
    let s = render(&app);
    assert!(
        s.contains("group billing: Stable, assignor range, 2 members"),
        "{s}"
    );
    assert!(line_with(&s, "│consumer-2-def").contains("billing-app"));
    assert!(line_with(&s, "│consumer-2-def").contains("orders[2]"));
    // A consumer-protocol group (KIP-848) shows its epochs and what a member is about to own.
    if let Some(d) = app.data.group_detail.as_mut() {
        d.epochs = Some((7, 7));
        d.members[1].epoch = Some(6);
        d.members[1].next = "orders[3]".into();
    }
    let s = render(&app);
    assert!(
        s.contains("consumer protocol, epoch 7, target epoch 7"),
        "{s}"
    );
    let row: Vec<&str> = line_with(&s, "│consumer-2-def")
        .split_whitespace()
        .collect();
    assert!(row.contains(&"6") && row.contains(&"orders[3]"), "{s}");
    let row: Vec<&str> = line_with(&s, "│orders   ").split_whitespace().collect();
    assert_eq!(
        &row[..6],
        ["│orders", "0", "900", "1300", "400", "consumer-1-abc"],
        "{s}"
    );
    assert!(s.contains("lag: total 1,000"), "{s}");
}

#[test]
fn messages_screen_tails_newest_first_with_detail_pane() {
    let mut app = app();
    press(&mut app, '3');
    press(&mut app, 'm');
    app.update(Action::TailStarted {
        topic: "orders".into(),
        partitions: vec![0, 1, 2],
    });
    app.update(Action::Records(vec![
        record(0, 1, "k1", "first"),
        record(1, 2, "k2", "{\"amount\":12}"),
    ]));
    app.update(Action::Records(vec![record(2, 3, "k3", "third")]));
    let s = render(&app);
    let first = s.lines().position(|l| l.contains("first")).unwrap();
    let third = s.lines().position(|l| l.contains("third")).unwrap();
    assert!(third < first, "newest first:\n{s}");
    assert!(
        s.contains("orders partition all last 50 per partition (3 records)"),
        "{s}"
    );
    assert!(
        line_with(&s, "third").contains("2025-11-22 08:26:40.003"),
        "{s}"
    );
    // The detail pane of the second record pretty-prints its JSON value.
    press(&mut app, 'j');
    app.update(key(KeyCode::Enter));
    let s = render(&app);
    assert!(s.contains("orders-1 @ 2"), "{s}");
    assert!(s.contains("source = web"), "{s}");
    assert!(s.contains("\"amount\": 12"), "{s}");
    // Paused: new records are held, and the title says how many.
    press(&mut app, 'p');
    app.update(Action::Records(vec![record(0, 4, "k4", "held back")]));
    let s = render(&app);
    assert!(s.contains("PAUSED, 1 held | orders"), "{s}");
    assert!(!s.contains("held back"));
}

#[test]
fn a_decoded_value_is_listed_and_detailed_as_json_with_its_schema() {
    let mut app = app();
    press(&mut app, '3');
    press(&mut app, 'm');
    app.update(Action::TailStarted {
        topic: "orders".into(),
        partitions: vec![0],
    });
    let mut encoded = record(0, 1, "k1", "\u{0}\u{0}\u{0}\u{0}\u{7}binary");
    encoded.decoded = Some(super::model::DecodedValue {
        json: "{\"amount\":12}".into(),
        schema: "orders-value v3 (id 7)".into(),
    });
    app.update(Action::Records(vec![encoded]));
    let s = render(&app);
    assert!(line_with(&s, "k1").contains("{\"amount\":12}"), "{s}");
    app.update(key(KeyCode::Enter));
    let s = render(&app);
    assert!(s.contains("schema orders-value v3 (id 7)"), "{s}");
    assert!(s.contains("\"amount\": 12"), "{s}");
}

#[test]
fn help_lists_every_active_binding_from_the_keymap() {
    for screen_key in ['1', '2', '3', '4'] {
        let mut app = app();
        press(&mut app, screen_key);
        press(&mut app, '?');
        let s = render(&app);
        let kind = app.screen.kind();
        assert!(
            s.contains(&format!("keys on the {} screen", kind.name())),
            "{s}"
        );
        for b in keymap::active(kind, false, true) {
            assert!(
                s.contains(b.help),
                "help misses {:?} on {kind:?}:\n{s}",
                b.help
            );
        }
    }
}

#[test]
fn footer_lists_the_keys_of_the_current_screen_only() {
    let mut app = app();
    let s = render(&app);
    let footer = s.lines().last().unwrap();
    assert!(
        footer.contains("quit") && footer.contains("help"),
        "{footer}"
    );
    assert!(!footer.contains("sort"), "{footer}");
    press(&mut app, '3');
    let s = render(&app);
    let footer = s.lines().last().unwrap();
    assert!(footer.contains("sort") && footer.contains("filter") && footer.contains("tail"));
    assert!(!footer.contains("kill broker"));
}

#[test]
fn input_lines_replace_the_footer() {
    let mut app = app();
    press(&mut app, '3');
    press(&mut app, '/');
    press(&mut app, 'o');
    let s = render(&app);
    assert!(s.lines().last().unwrap().starts_with("/o█"), "{s}");
    app.update(key(KeyCode::Enter));
    press(&mut app, ':');
    press(&mut app, 'g');
    let s = render(&app);
    assert!(s.lines().last().unwrap().starts_with(":g█"), "{s}");
}

#[test]
fn small_terminals_draw_without_panicking() {
    let mut app = app();
    for (w, h) in [(20, 5), (1, 1), (40, 10), (200, 60)] {
        app.update(Action::Resize(w, h));
        for c in ['1', '2', '3', '4'] {
            press(&mut app, c);
            render(&app);
        }
        app.command(Command::Help);
        render(&app);
        app.mode = Mode::Normal;
    }
}

#[test]
fn seek_targets_parse() {
    assert_eq!(Seek::parse("beginning"), Ok(Seek::Beginning));
    assert_eq!(Seek::parse("e"), Ok(Seek::End));
    assert_eq!(Seek::parse("1234"), Ok(Seek::Offset(1234)));
    assert_eq!(Seek::parse("-10"), Ok(Seek::FromEnd(10)));
    assert_eq!(Seek::parse("-5m"), Ok(Seek::Ago(Duration::from_secs(300))));
    assert_eq!(Seek::parse("-2h"), Ok(Seek::Ago(Duration::from_secs(7200))));
    assert_eq!(
        Seek::parse("@1700000000000"),
        Ok(Seek::Timestamp(1_700_000_000_000))
    );
    for bad in ["", "soon", "-5x", "@x", "-"] {
        assert!(Seek::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn refresh_intervals_parse() {
    assert_eq!(super::parse_refresh("2"), Ok(Duration::from_secs(2)));
    assert_eq!(super::parse_refresh("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(super::parse_refresh("0.5"), Ok(Duration::from_millis(500)));
    assert_eq!(
        super::parse_refresh("250ms"),
        Ok(Duration::from_millis(250))
    );
    for bad in ["0", "-1", "10ms", "fast", "NaN", "inf"] {
        assert!(super::parse_refresh(bad).is_err(), "{bad}");
    }
}

#[test]
fn timestamps_and_counts_format() {
    assert_eq!(draw::timestamp(0), "1970-01-01 00:00:00.000");
    assert_eq!(draw::timestamp(951_782_400_123), "2000-02-29 00:00:00.123");
    assert_eq!(draw::timestamp(-1), "1969-12-31 23:59:59.999");
    assert_eq!(draw::count(1_234_567), "1,234,567");
    assert_eq!(draw::count(-1000), "-1,000");
    assert_eq!(draw::count(999), "999");
}

/// The scale figure of the issue: drawing a frame with 2,000 topics. Printed, never asserted
/// (`cargo test -p streamctl --release draw_time -- --nocapture` for the optimised number).
#[test]
fn draw_time_with_2000_topics() {
    let mut app = app();
    let t0 = Instant::now();
    let many = |at: Instant, produced: i64| {
        let mut s = snapshot(at, produced);
        for i in 0..2000 {
            s.topics.push(topic(
                &format!("topic-{i:04}"),
                false,
                (0..6)
                    .map(|p| {
                        partition(
                            p,
                            Some(p % 3 + 1),
                            &[1, 2, 3],
                            (0, 1000 * i64::from(p) + produced),
                        )
                    })
                    .collect(),
                at,
            ));
        }
        s
    };
    app.update(Action::Data(Box::new(many(t0, 0))));
    app.update(Action::Data(Box::new(many(
        t0 + Duration::from_secs(2),
        50,
    ))));
    app.update(Action::Resize(200, 50));
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    for (label, screen_key) in [("overview", '1'), ("brokers", '2'), ("topics", '3')] {
        press(&mut app, screen_key);
        if screen_key == '3' {
            press(&mut app, 's'); // sort by partitions: a full sort every frame
        }
        let frames = 50u32;
        let start = Instant::now();
        for _ in 0..frames {
            terminal.draw(|f| draw::draw(f, &app)).unwrap();
        }
        let per_frame = start.elapsed() / frames;
        println!(
            "draw {label} with 2,002 topics (12,005 partitions), 200x50, {profile} build: {per_frame:?} per frame (mean of {frames})"
        );
    }
    assert!(render(&app).contains("topics (2002 of 2002)"));
}
