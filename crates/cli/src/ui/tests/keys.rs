//! One `update` test per key of the keymap (and the input modes).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{app as fixture, app_with, key, press, record};
use crate::ui::app::{
    Action, App, BrokerOp, Command, Mode, Options, Request, Screen, Seek, TailRequest, TopicSort,
    TAIL_START,
};
use crate::ui::keymap::BINDINGS;

fn topics() -> App {
    let mut app = fixture();
    press(&mut app, '3');
    app
}

fn tailing() -> App {
    let mut app = topics();
    press(&mut app, 'm');
    app.update(Action::TailStarted {
        topic: "orders".into(),
        partitions: vec![0, 1, 2],
    });
    app.update(Action::Records(vec![
        record(0, 1, "k1", "one"),
        record(1, 2, "k2", "two"),
        record(2, 3, "k3", "three"),
    ]));
    app
}

fn tail_request(app: &App) -> TailRequest {
    TailRequest {
        topic: "orders".into(),
        partition: app.tail.partition,
        from: app.tail.from.unwrap(),
    }
}

#[test]
fn every_binding_has_an_update_test_below() {
    // A new binding must come with a test here: this list names the commands tested.
    let tested = [
        Command::Down,
        Command::Up,
        Command::Top,
        Command::Bottom,
        Command::PageDown,
        Command::PageUp,
        Command::Enter,
        Command::Back,
        Command::StartFilter,
        Command::Sort,
        Command::ToggleInternal,
        Command::Tail,
        Command::Pause,
        Command::SeekBeginning,
        Command::SeekEnd,
        Command::StartSeek,
        Command::NextPartition,
        Command::PrevPartition,
        Command::Copy,
        Command::BrokerStop,
        Command::BrokerKill,
        Command::BrokerStart,
        Command::Goto(crate::ui::app::ScreenKind::Overview),
        Command::Goto(crate::ui::app::ScreenKind::Brokers),
        Command::Goto(crate::ui::app::ScreenKind::Topics),
        Command::Goto(crate::ui::app::ScreenKind::Groups),
        Command::Goto(crate::ui::app::ScreenKind::Transactions),
        Command::StartJump,
        Command::Refresh,
        Command::Help,
        Command::Quit,
    ];
    for b in BINDINGS {
        assert!(
            tested.contains(&b.command),
            "untested binding {:?}",
            b.label
        );
    }
}

#[test]
fn j_and_down_move_down_and_stop_at_the_end() {
    let mut app = topics();
    press(&mut app, 'j');
    assert_eq!(app.topics.selected, 1);
    app.update(key(KeyCode::Down));
    assert_eq!(app.topics.selected, 1, "two topics: stays on the last");
}

#[test]
fn k_and_up_move_up_and_stop_at_the_top() {
    let mut app = topics();
    press(&mut app, 'j');
    press(&mut app, 'k');
    assert_eq!(app.topics.selected, 0);
    app.update(key(KeyCode::Up));
    assert_eq!(app.topics.selected, 0);
}

#[test]
fn g_and_capital_g_jump_to_first_and_last() {
    let mut app = topics();
    press(&mut app, 'i'); // three topics with the internal one
    press(&mut app, 'G');
    assert_eq!(app.topics.selected, 2);
    press(&mut app, 'g');
    assert_eq!(app.topics.selected, 0);
    app.update(key(KeyCode::End));
    assert_eq!(app.topics.selected, 2);
    app.update(key(KeyCode::Home));
    assert_eq!(app.topics.selected, 0);
}

#[test]
fn page_keys_move_by_a_screen() {
    let mut app = tailing();
    app.update(Action::Records(
        (10..200).map(|o| record(0, o, "k", "v")).collect(),
    ));
    let height = app.list_height();
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.tail.cursor.selected, height);
    assert!(app.tail.cursor.offset > 0, "the selection stays visible");
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.tail.cursor.selected, 0);
    assert_eq!(app.tail.cursor.offset, 0);
}

#[test]
fn enter_drills_in_on_each_screen() {
    let mut app = topics();
    press(&mut app, 'j');
    let r = app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::TopicDetail("payments".into()));
    assert!(r.contains(&Request::Refresh));
    assert_eq!(app.watch().topics, vec!["payments".to_string()]);

    let mut app = fixture();
    press(&mut app, '4');
    app.update(key(KeyCode::Enter));
    assert_eq!(
        app.screen,
        Screen::GroupDetail("audit".into()),
        "groups sort as listed"
    );
    assert_eq!(app.watch().group.as_deref(), Some("audit"));
    // A group's lag row opens its topic.
    app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::TopicDetail("payments".into()));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::GroupDetail("audit".into()));

    // Enter on a partition tails that partition.
    let mut app = topics();
    app.update(key(KeyCode::Enter));
    press(&mut app, 'j');
    let r = app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Messages("orders".into()));
    assert_eq!(
        r.last(),
        Some(&Request::Tail(TailRequest {
            topic: "orders".into(),
            partition: Some(1),
            from: Seek::FromEnd(TAIL_START),
        }))
    );

    // On the messages screen Enter toggles the detail pane.
    let mut app = tailing();
    app.update(key(KeyCode::Enter));
    assert!(app.tail.detail);
    app.update(key(KeyCode::Enter));
    assert!(!app.tail.detail);
}

#[test]
fn esc_clears_the_filter_then_closes_the_pane_then_goes_back() {
    let mut app = tailing();
    press(&mut app, '/');
    press(&mut app, 't');
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Enter)); // detail pane
    assert_eq!(app.tail.filter, "t");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.tail.filter, "");
    assert!(app.tail.detail);
    app.update(key(KeyCode::Esc));
    assert!(!app.tail.detail);
    let r = app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Topics);
    assert!(r.contains(&Request::StopTail), "leaving the tail stops it");
    app.update(key(KeyCode::Backspace));
    assert_eq!(app.screen, Screen::Overview);
    let r = app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Overview, "nothing behind the overview");
    assert!(r.is_empty());
}

#[test]
fn slash_filters_as_typed() {
    let mut app = topics();
    press(&mut app, '/');
    assert_eq!(app.mode, Mode::Filter);
    for c in "PAY".chars() {
        press(&mut app, c);
    }
    assert_eq!(app.topic_rows().len(), 1, "case-insensitive");
    assert_eq!(app.topic_rows()[0].name, "payments");
    app.update(key(KeyCode::Backspace));
    assert_eq!(app.topic_filter, "PA");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.topic_filter, "PA", "Enter keeps the filter");
    press(&mut app, '/');
    app.update(key(KeyCode::Esc));
    assert_eq!(app.topic_filter, "", "Esc while typing clears it");

    // Groups and the tail filter too; the tail matches keys and values.
    let mut app = tailing();
    press(&mut app, '/');
    for c in "thr".chars() {
        press(&mut app, c);
    }
    assert_eq!(app.tail.visible().count(), 1);
    let mut app = fixture();
    press(&mut app, '4');
    press(&mut app, '/');
    press(&mut app, 'b');
    assert_eq!(app.group_rows().len(), 1);
}

#[test]
fn s_cycles_the_topic_sort() {
    let mut app = topics();
    assert_eq!(app.topic_sort, TopicSort::Name);
    press(&mut app, 's');
    assert_eq!(app.topic_sort, TopicSort::Partitions);
    assert_eq!(app.topic_rows()[0].name, "orders");
    for _ in 0..5 {
        press(&mut app, 's');
    }
    assert_eq!(app.topic_sort, TopicSort::Name);
    // Messages: orders 2,650 before payments 42; lag: orders (1,000) first too.
    press(&mut app, 's');
    press(&mut app, 's');
    assert_eq!(app.topic_sort, TopicSort::Messages);
    assert_eq!(app.topic_rows()[0].name, "orders");
}

#[test]
fn i_toggles_internal_topics() {
    let mut app = topics();
    assert_eq!(app.topic_rows().len(), 2);
    press(&mut app, 'i');
    assert_eq!(app.topic_rows().len(), 3);
    assert_eq!(app.topic_rows()[0].name, "__consumer_offsets");
    press(&mut app, 'i');
    assert_eq!(app.topic_rows().len(), 2);
}

#[test]
fn m_tails_the_selected_topic_from_the_last_records() {
    let mut app = topics();
    let r = press(&mut app, 'm');
    assert_eq!(app.screen, Screen::Messages("orders".into()));
    assert_eq!(
        r.last(),
        Some(&Request::Tail(TailRequest {
            topic: "orders".into(),
            partition: None,
            from: Seek::FromEnd(TAIL_START),
        }))
    );
    assert_eq!(app.tail.partitions, vec![0, 1, 2]);
    assert!(!r.contains(&Request::StopTail));
}

#[test]
fn p_pauses_the_tail_on_messages_and_the_refresh_elsewhere() {
    let mut app = tailing();
    let r = press(&mut app, 'p');
    assert_eq!(r, vec![Request::PauseTail(true)]);
    app.update(Action::Records(vec![record(0, 9, "k", "late")]));
    assert_eq!(app.tail.records.len(), 3, "held while paused");
    let r = press(&mut app, 'p');
    assert_eq!(r, vec![Request::PauseTail(false)]);
    assert_eq!(app.tail.records.len(), 4);
    assert_eq!(
        app.tail.records[0].offset, 9,
        "held records shown on resume, newest first"
    );

    let mut app = topics();
    press(&mut app, 'p');
    assert!(app.paused);
    assert!(app.watch().paused);
    press(&mut app, 'p');
    assert!(!app.paused);
}

#[test]
fn b_and_e_seek_the_tail_to_beginning_and_end() {
    let mut app = tailing();
    let r = press(&mut app, 'b');
    assert_eq!(app.tail.from, Some(Seek::Beginning));
    assert_eq!(r, vec![Request::Tail(tail_request(&app))]);
    assert!(app.tail.records.is_empty(), "a seek starts the view afresh");
    let r = press(&mut app, 'e');
    assert_eq!(app.tail.from, Some(Seek::End));
    assert_eq!(r, vec![Request::Tail(tail_request(&app))]);
}

#[test]
fn o_reads_a_seek_target() {
    let mut app = tailing();
    press(&mut app, 'o');
    assert_eq!(app.mode, Mode::Seek(String::new()));
    for c in "-5m".chars() {
        press(&mut app, c);
    }
    let r = app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.tail.from,
        Some(Seek::Ago(std::time::Duration::from_secs(300)))
    );
    assert_eq!(r, vec![Request::Tail(tail_request(&app))]);
    press(&mut app, 'o');
    for c in "42".chars() {
        press(&mut app, c);
    }
    app.update(key(KeyCode::Enter));
    assert_eq!(app.tail.from, Some(Seek::Offset(42)));
    // A bad target says why and changes nothing.
    press(&mut app, 'o');
    press(&mut app, 'x');
    let r = app.update(key(KeyCode::Enter));
    assert!(r.is_empty());
    assert!(app.status.as_deref().unwrap().contains("expected"));
    assert_eq!(app.tail.from, Some(Seek::Offset(42)));
    // Esc abandons.
    press(&mut app, 'o');
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn brackets_choose_the_partition() {
    let mut app = tailing();
    let r = press(&mut app, ']');
    assert_eq!(app.tail.partition, Some(0));
    assert_eq!(
        r,
        vec![Request::Tail(TailRequest {
            topic: "orders".into(),
            partition: Some(0),
            from: Seek::FromEnd(TAIL_START),
        })]
    );
    app.update(key(KeyCode::Right));
    press(&mut app, ']');
    assert_eq!(app.tail.partition, Some(2));
    press(&mut app, ']');
    assert_eq!(app.tail.partition, None, "after the last: all partitions");
    press(&mut app, '[');
    assert_eq!(app.tail.partition, Some(2));
    app.update(key(KeyCode::Left));
    assert_eq!(app.tail.partition, Some(1));
}

#[test]
fn c_copies_the_selected_record_as_json() {
    let mut app = tailing();
    press(&mut app, 'j');
    let r = press(&mut app, 'c');
    let [Request::Copy(json)] = &r[..] else {
        panic!("{r:?}");
    };
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["offset"], 2);
    assert_eq!(v["partition"], 1);
    assert_eq!(v["key"], "k2");
    assert_eq!(v["value"], "two");
    assert_eq!(v["headers"][0]["key"], "source");
    assert_eq!(v["headers"][0]["value"], "web");
    // The `consume -J` shape: `produce --input jsonl` reads it back.
    let back = crate::jsonl::parse_line(json).unwrap();
    assert_eq!(back.key.as_deref(), Some(&b"k2"[..]));
    assert_eq!(back.partition, Some(1));
    assert!(app
        .status
        .as_deref()
        .unwrap()
        .starts_with("copied orders-1@2"));
}

#[test]
fn capital_s_k_u_stop_kill_start_the_selected_broker() {
    for (c, op) in [
        ('S', BrokerOp::Stop),
        ('K', BrokerOp::Kill),
        ('U', BrokerOp::Start),
    ] {
        let mut app = fixture();
        press(&mut app, '2');
        press(&mut app, 'j');
        let r = press(&mut app, c);
        assert_eq!(r, vec![Request::Broker { id: 2, op }], "{c}");
        // Shift may be reported as a modifier too.
        let r = app.update(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::SHIFT,
        )));
        assert_eq!(r, vec![Request::Broker { id: 2, op }]);
    }
}

#[test]
fn broker_keys_do_nothing_read_only_or_without_a_devcluster() {
    for options in [
        Options {
            read_only: true,
            devcluster: true,
            brokers: String::new(),
        },
        Options {
            read_only: false,
            devcluster: false,
            brokers: String::new(),
        },
    ] {
        let mut app = app_with(options);
        press(&mut app, '2');
        for c in ['S', 'K', 'U'] {
            assert!(press(&mut app, c).is_empty());
            assert!(app.command(Command::BrokerKill).is_empty());
        }
    }
}

#[test]
fn digits_go_to_the_top_level_screens() {
    let mut app = fixture();
    for (c, screen) in [
        ('2', Screen::Brokers),
        ('3', Screen::Topics),
        ('4', Screen::Groups),
        ('5', Screen::Transactions),
        ('1', Screen::Overview),
    ] {
        press(&mut app, c);
        assert_eq!(app.screen, screen);
    }
    press(&mut app, '3');
    app.update(key(KeyCode::Esc));
    assert_eq!(
        app.screen,
        Screen::Overview,
        "top-level screens go back to the overview"
    );
}

#[test]
fn colon_jumps_by_name_and_prefix() {
    let jump = |line: &str| {
        let mut app = fixture();
        press(&mut app, ':');
        for c in line.chars() {
            press(&mut app, c);
        }
        let r = app.update(key(KeyCode::Enter));
        (app, r)
    };
    assert_eq!(jump("topics").0.screen, Screen::Topics);
    assert_eq!(jump("g").0.screen, Screen::Groups);
    assert_eq!(jump("brokers").0.screen, Screen::Brokers);
    assert_eq!(jump("o").0.screen, Screen::Overview);
    assert_eq!(
        jump("topic orders").0.screen,
        Screen::TopicDetail("orders".into())
    );
    assert_eq!(
        jump("group billing").0.screen,
        Screen::GroupDetail("billing".into())
    );
    let (app, r) = jump("tail payments");
    assert_eq!(app.screen, Screen::Messages("payments".into()));
    assert!(matches!(r.last(), Some(Request::Tail(t)) if t.topic == "payments"));
    assert!(jump("q").0.quit);
    let (app, _) = jump("nonsense");
    assert_eq!(app.screen, Screen::Overview);
    assert!(app.status.unwrap().contains("unknown jump"));
    // Esc abandons the jump.
    let mut app = fixture();
    press(&mut app, ':');
    press(&mut app, 't');
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.screen, Screen::Overview);
}

#[test]
fn r_refreshes_now() {
    let mut app = fixture();
    assert_eq!(press(&mut app, 'r'), vec![Request::Refresh]);
}

#[test]
fn question_mark_opens_help_and_any_key_closes_it() {
    let mut app = fixture();
    press(&mut app, '?');
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, 'q');
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.quit, "q closes the help first");
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = tailing();
    let r = press(&mut app, 'q');
    assert!(app.quit);
    assert_eq!(r, vec![Request::StopTail]);
    let mut app = fixture();
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit);
}

#[test]
fn keys_of_other_screens_do_nothing() {
    let mut app = fixture();
    for c in ['s', 'i', 'm', 'b', 'e', 'o', ']', 'c', 'K', '/'] {
        assert!(press(&mut app, c).is_empty(), "{c}");
        assert_eq!(app.screen, Screen::Overview);
        assert_eq!(app.mode, Mode::Normal, "{c}");
    }
}

#[test]
fn the_selection_follows_its_topic_across_refreshes() {
    let mut app = topics();
    press(&mut app, 'j');
    assert_eq!(app.topic_rows()[app.topics.selected].name, "payments");
    let mut s = super::snapshot(
        std::time::Instant::now() + std::time::Duration::from_secs(4),
        900,
    );
    s.topics.push(super::topic(
        "aaa-new",
        false,
        vec![super::partition(0, Some(1), &[1, 2, 3], (0, 1))],
        std::time::Instant::now(),
    ));
    app.update(Action::Data(Box::new(s)));
    assert_eq!(app.topic_rows()[app.topics.selected].name, "payments");
}

#[test]
fn watch_names_the_visible_topics_only() {
    let mut app = topics();
    let mut s = super::snapshot(
        std::time::Instant::now() + std::time::Duration::from_secs(4),
        0,
    );
    for i in 0..500 {
        s.topics.push(super::topic(
            &format!("t{i:03}"),
            false,
            vec![super::partition(0, Some(1), &[1, 2, 3], (0, 1))],
            std::time::Instant::now(),
        ));
    }
    app.update(Action::Data(Box::new(s)));
    let watched = app.watch().topics;
    assert_eq!(watched.len(), app.list_height());
    assert_eq!(watched[0], "orders");
    press(&mut app, 'G');
    let watched = app.watch().topics;
    assert_eq!(watched.last().map(String::as_str), Some("t499"));
    assert_eq!(watched.len(), app.list_height());
}
