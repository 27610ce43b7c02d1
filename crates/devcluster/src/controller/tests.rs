//! Tests of the controller: placement, errors, and the ISR and producer-id rules
//! acknowledgements rely on.

use super::*;
use crate::test_support::controller;

#[test]
fn replicas_are_spread_over_distinct_brokers() {
    let c = controller(3);
    let t = c
        .create_topic(
            &NewTopic {
                name: "t".into(),
                num_partitions: 6,
                replication_factor: 3,
                ..NewTopic::default()
            },
            false,
        )
        .unwrap();
    let mut leaders = std::collections::BTreeMap::new();
    for p in &t.partitions {
        let mut r = p.replicas.clone();
        r.sort();
        r.dedup();
        assert_eq!(r.len(), 3);
        *leaders.entry(p.leader).or_insert(0) += 1;
    }
    assert_eq!(leaders.len(), 3, "leaders spread over all brokers");
    assert_eq!(c.snapshot().topics.len(), 1);
}

#[test]
fn the_controller_named_in_metadata_is_a_live_broker() {
    let c = controller(3);
    assert_eq!(c.snapshot().controller_id, 1);
    c.broker_down(1);
    assert_eq!(c.snapshot().controller_id, 2);
    c.broker_down(2);
    c.broker_down(3);
    assert_eq!(c.snapshot().controller_id, -1);
    c.broker_up(3);
    assert_eq!(c.snapshot().controller_id, 3);
    c.broker_up(1);
    assert_eq!(c.snapshot().controller_id, 1);
}

#[test]
fn a_fetch_from_an_earlier_incarnation_cannot_put_the_restarted_broker_in_the_isr() {
    // A chaos test lost two partitions this way: a dead follower's fetch, parked in the
    // leader's long poll, said "caught up" just after the broker restarted empty; the
    // empty broker joined the ISR, was elected leader, and the others truncated to it.
    let c = controller(3);
    crate::test_support::create_topic_t(&c);
    let before = c.register_broker(3);
    c.broker_down(3);
    let now = c.register_broker(3);
    c.broker_up(3);
    let p = c.snapshot().partition("t", 0).unwrap().clone();
    assert_eq!(p.isr, vec![1, 2]);
    let expand = |epoch| AlterPartition {
        topic: "t",
        partition: 0,
        leader: 1,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        isr: vec![1, 2, 3],
        added: vec![(3, epoch)],
    };
    let e = c.alter_partition(expand(before)).unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleBrokerEpoch);
    assert_eq!(c.snapshot().partition("t", 0).unwrap().isr, vec![1, 2]);
    // A fetch from the current incarnation may.
    let committed = c.alter_partition(expand(now)).unwrap();
    assert_eq!(committed.isr, vec![1, 2, 3]);
    assert_eq!(committed.partition_epoch, p.partition_epoch + 1);
    assert_eq!(c.snapshot().partition("t", 0).unwrap().isr, vec![1, 2, 3]);
}

#[test]
fn an_isr_change_built_on_an_older_partition_epoch_is_refused() {
    // A leader read the ISR {1,2,3}; broker 3 then died and the controller removed it.
    // The leader's shrink of 2, built on the old state, must not put 3 back.
    let c = controller(3);
    crate::test_support::create_topic_t(&c);
    let seen = c.snapshot().partition("t", 0).unwrap().clone();
    c.broker_down(3);
    let e = c
        .alter_partition(AlterPartition {
            topic: "t",
            partition: 0,
            leader: 1,
            leader_epoch: seen.leader_epoch,
            partition_epoch: seen.partition_epoch,
            isr: vec![1, 3],
            added: Vec::new(),
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidUpdateVersion);
    assert_eq!(c.snapshot().partition("t", 0).unwrap().isr, vec![1, 2]);
}

#[test]
fn producer_ids_are_never_reused_across_restarts_of_a_data_dir() {
    let dir = crate::test_support::TempDir::new("producer-ids");
    let open = || {
        let stored = metadata_store::load(dir.path()).unwrap();
        let brokers = controller(1).snapshot().brokers.values().cloned().collect();
        Controller::new("c".into(), brokers, 1, 1)
            .with_store(dir.path().to_path_buf(), stored)
            .unwrap()
    };
    let first = open();
    let ids: Vec<i64> = (0..3).map(|_| first.next_producer_id().unwrap()).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    drop(first);
    // A crash loses the in-memory counter; the reserved block end survives.
    let second = open();
    let next = second.next_producer_id().unwrap();
    assert!(next > 2, "producer id {next} reused after a restart");
    drop(second);
    assert!(open().next_producer_id().unwrap() > next);
}

#[test]
fn bad_requests_get_kafka_errors() {
    let c = controller(3);
    let mk = |name: &str, p, rf| NewTopic {
        name: name.into(),
        num_partitions: p,
        replication_factor: rf,
        ..NewTopic::default()
    };
    assert_eq!(
        c.create_topic(&mk("a/b", 1, 1), false).unwrap_err().code,
        ErrorCode::InvalidTopicException
    );
    assert_eq!(
        c.create_topic(&mk("a", 1, 4), false).unwrap_err().code,
        ErrorCode::InvalidReplicationFactor
    );
    assert_eq!(
        c.create_topic(&mk("a", 0, 1), false).unwrap_err().code,
        ErrorCode::InvalidPartitions
    );
    c.create_topic(&mk("a", 1, 1), false).unwrap();
    assert_eq!(
        c.create_topic(&mk("a", 1, 1), false).unwrap_err().code,
        ErrorCode::TopicAlreadyExists
    );
    assert_eq!(
        c.create_partitions("a", 1, None, false).unwrap_err().code,
        ErrorCode::InvalidPartitions
    );
    c.create_partitions("a", 3, None, false).unwrap();
    assert_eq!(c.snapshot().topic("a").unwrap().partitions.len(), 3);
}
