use super::*;

#[test]
fn properties_parse_and_name_themselves() {
    let mut c = ConsumerConfig::default();
    c.set("group.id", "g").unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    c.set("fetch.max.wait.ms", "100").unwrap();
    c.set("max.poll.records", "7").unwrap();
    c.set("partition.assignment.strategy", "cooperative-sticky")
        .unwrap();
    c.set("request.timeout.ms", "1000").unwrap();
    assert_eq!(c.group_id.as_deref(), Some("g"));
    assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
    assert_eq!(c.fetch_max_wait, Duration::from_millis(100));
    assert_eq!(c.max_poll_records, 7);
    assert!(c.cooperative());
    assert_eq!(c.client.request_timeout, Duration::from_secs(1));
    let e = c.set("auto.offset.reset", "sometimes").unwrap_err();
    assert!(e.to_string().contains("auto.offset.reset"), "{e}");
    let e = c
        .set("partition.assignment.strategy", "sticky-ish")
        .unwrap_err();
    assert!(
        e.to_string().contains("partition.assignment.strategy"),
        "{e}"
    );
    assert!(matches!(
        c.set("linger.ms", "5").unwrap_err(),
        Error::UnknownProperty { .. }
    ));
    assert!(!ConsumerConfig::default().cooperative());
}

#[test]
fn isolation_level_is_a_property_and_a_builder_setting() {
    let mut c = ConsumerConfig::default();
    assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
    c.set("isolation.level", "read_committed").unwrap();
    assert_eq!(c.isolation_level, IsolationLevel::ReadCommitted);
    assert_eq!(c.isolation_level.as_i8(), 1);
    c.set("isolation.level", " read_uncommitted ").unwrap();
    assert_eq!(c.isolation_level.as_i8(), 0);
    let e = c.set("isolation.level", "READ_COMMITTED").unwrap_err();
    assert!(e.to_string().contains("isolation.level"), "{e}");
    assert!(e.to_string().contains("read_committed"), "{e}");
    assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
    let b = Consumer::builder("localhost:9092").isolation_level(IsolationLevel::ReadCommitted);
    assert_eq!(b.config.isolation_level.to_string(), "read_committed");
}

fn rec(tp: &TopicPartition, offset: i64) -> ConsumerRecord {
    ConsumerRecord {
        topic: tp.topic.as_str().into(),
        partition: tp.partition,
        offset,
        timestamp: 0,
        key: None,
        value: None,
        headers: Vec::new(),
    }
}

#[test]
fn take_records_skips_below_position_and_respects_pause_and_max() {
    let mut state = State::default();
    let a = TopicPartition::new("t", 0);
    let b = TopicPartition::new("t", 1);
    for tp in [&a, &b] {
        let p = state.assignment.entry(tp.clone()).or_default();
        p.position = Some(2);
        p.buffered.extend((0..5).map(|o| rec(tp, o)));
    }
    state.assignment.get_mut(&b).unwrap().paused = true;
    let out = take_records(&mut state, 2);
    assert_eq!(out.iter().map(|r| r.offset).collect::<Vec<_>>(), [2, 3]);
    let out = take_records(&mut state, 10);
    assert_eq!(
        out.iter()
            .map(|r| (r.partition, r.offset))
            .collect::<Vec<_>>(),
        [(0, 4)]
    );
    assert_eq!(state.assignment[&a].position, Some(5));
    assert_eq!(state.assignment[&b].buffered.len(), 5);
}

#[test]
fn the_position_moves_past_skipped_batches_once_the_buffer_is_drained() {
    // Records 0..=2 buffered; the fetch went on to 6 (a marker or an aborted transaction
    // after them was skipped).
    let mut state = State::default();
    let tp = TopicPartition::new("t", 0);
    let p = state.assignment.entry(tp.clone()).or_default();
    p.position = Some(0);
    p.fetch_offset = 6;
    p.buffered.extend((0..3).map(|o| rec(&tp, o)));
    take_records(&mut state, 2);
    assert_eq!(
        state.assignment[&tp].position,
        Some(2),
        "records still buffered"
    );
    take_records(&mut state, 10);
    assert_eq!(state.assignment[&tp].position, Some(6));
    // A fetch that skipped everything moves an idle position too.
    let p = state.assignment.get_mut(&tp).unwrap();
    p.fetch_offset = 9;
    p.advance_past_skipped();
    assert_eq!(p.position, Some(9));
}
