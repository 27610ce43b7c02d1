//! Unit tests of the partition's leader and follower rules, each breaking one premise an
//! acknowledgement relies on (see the module docs).

use std::time::Duration;

use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::RecordBatchBuilder;

use super::*;
use crate::controller::Controller;

pub(super) fn batch(n: usize) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for _ in 0..n {
        b.push(0, None, Some(b"v".as_slice()), &[]).unwrap();
    }
    b.build().unwrap()
}

/// Batches as a leader would have written them: offsets from `base`, under `epoch`.
fn written(base: i64, n: usize, epoch: i32) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None)
        .base_offset(base)
        .partition_leader_epoch(epoch);
    for _ in 0..n {
        b.push(0, None, Some(b"v".as_slice()), &[]).unwrap();
    }
    b.build().unwrap()
}

/// A 3-broker controller with topic `t` (one partition on 1, 2, 3, leader 1), every broker
/// registered once; returns it with the partition's metadata.
pub(super) fn cluster() -> (Controller, PartitionMeta) {
    let c = crate::test_support::controller(3);
    for id in 1..=3 {
        c.register_broker(id);
    }
    crate::test_support::create_topic_t(&c);
    let meta = c.snapshot().partition("t", 0).unwrap().clone();
    (c, meta)
}

pub(super) fn open(node: i32) -> Partition {
    let config = TopicConfig::default();
    Partition::open("t", uuid::Uuid::nil(), 0, node, Storage::Memory, &config).unwrap()
}

pub(super) fn leader() -> (Controller, Partition) {
    let (c, meta) = cluster();
    let p = open(1);
    p.make_leader(&meta);
    (c, p)
}

pub(super) fn fetch(
    follower: i32,
    broker_epoch: u64,
    fetch_offset: i64,
    log_start: i64,
) -> FollowerFetchRequest {
    FollowerFetchRequest {
        follower,
        broker_epoch,
        leader_epoch: -1,
        fetch_offset,
        log_start_offset: log_start,
    }
}

fn soon() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(5)
}

#[test]
fn the_high_watermark_needs_every_isr_member() {
    let (c, p) = leader();
    let config = TopicConfig::default();
    p.append_as_leader(&batch(10), &config, 0).unwrap();
    p.record_follower_fetch(&fetch(2, c.broker_epoch(2), 10, 0), &c)
        .unwrap();
    assert_eq!(p.offsets().1, 0, "broker 3 is in the ISR and has nothing");
    p.record_follower_fetch(&fetch(3, c.broker_epoch(3), 10, 0), &c)
        .unwrap();
    assert_eq!(p.offsets().1, 10);
}

#[test]
fn a_fetch_from_an_earlier_incarnation_cannot_speak_for_the_restarted_broker() {
    // A dead follower's fetch, parked in a long poll, must not count for its restarted
    // (empty) self: that lost whole partitions (issue 16, defect 2).
    let (c, p) = leader();
    let config = TopicConfig::default();
    p.append_as_leader(&batch(10), &config, 0).unwrap();
    let old = c.broker_epoch(3);
    c.broker_down(3);
    let new = c.register_broker(3);
    c.broker_up(3);
    p.make_leader(c.snapshot().partition("t", 0).unwrap());
    assert_eq!(p.isr(), vec![1, 2]);
    p.record_follower_fetch(&fetch(2, c.broker_epoch(2), 10, 0), &c)
        .unwrap();
    assert_eq!(p.offsets().1, 10);
    // The new incarnation fetches from 0: it holds nothing.
    p.record_follower_fetch(&fetch(3, new, 0, 0), &c).unwrap();
    // The old incarnation's fetch at 10 arrives late.
    let e = p
        .record_follower_fetch(&fetch(3, old, 10, 0), &c)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleBrokerEpoch);
    assert_eq!(p.isr(), vec![1, 2], "the empty broker joined the ISR");
    // Once it really catches up, it joins.
    let joined = p.record_follower_fetch(&fetch(3, new, 10, 0), &c).unwrap();
    assert!(joined.isr_expanded);
    assert_eq!(p.isr(), vec![1, 2, 3]);
}

#[test]
fn an_isr_change_made_without_the_leader_is_adopted_by_partition_epoch() {
    let (c, p) = leader();
    c.broker_down(2);
    let meta = c.snapshot().partition("t", 0).unwrap().clone();
    // An older snapshot read before the change must not bring broker 2 back.
    let (_, stale) = cluster();
    p.make_leader(&meta);
    p.make_leader(&stale);
    assert_eq!(p.isr(), vec![1, 3]);
}

#[tokio::test]
async fn min_insync_replicas_is_checked_again_when_the_write_commits() {
    // Appended while the ISR had 3 members; by the time the high watermark passed it the ISR
    // was the leader alone: Kafka answers NOT_ENOUGH_REPLICAS_AFTER_APPEND (defect 3).
    let (c, p) = leader();
    let config = TopicConfig::default();
    let info = p.append_as_leader(&batch(5), &config, 2).unwrap();
    // Followers stop fetching; the leader drops them.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(p.shrink_isr(&c, 1).unwrap(), Some(vec![2, 3]));
    assert_eq!(p.isr(), vec![1]);
    let e = p
        .wait_for_commit(info.last_offset, info.leader_epoch, 2, soon())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotEnoughReplicasAfterAppend);
    // And the next acks=all append is refused before it is written.
    let e = p.append_as_leader(&batch(1), &config, 2).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotEnoughReplicas);
    assert_eq!(p.offsets().2, 5);
}

#[tokio::test]
async fn a_high_watermark_under_a_later_epoch_does_not_acknowledge_an_earlier_append() {
    let (c, p) = leader();
    let config = TopicConfig::default();
    let info = p.append_as_leader(&batch(5), &config, 0).unwrap();
    // Leadership moves away and back: the log may have been truncated and refilled since.
    let mut meta = c.snapshot().partition("t", 0).unwrap().clone();
    meta.leader_epoch += 2;
    p.make_leader(&meta);
    for f in [2, 3] {
        p.record_follower_fetch(&fetch(f, c.broker_epoch(f), 5, 0), &c)
            .unwrap();
    }
    assert_eq!(p.offsets().1, 5);
    let e = p
        .wait_for_commit(info.last_offset, info.leader_epoch, 1, soon())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotLeaderOrFollower);
}

#[test]
fn a_new_leader_does_not_report_latest_until_its_high_watermark_reaches_its_epoch_start() {
    // KIP-207 (defect 8): the follower had 10 records but had only heard of HW 4.
    let (c, meta) = cluster();
    let p = open(2);
    p.make_follower(meta.leader_epoch, 1);
    p.truncate_after_epoch_check(meta.leader_epoch, -1, -1, -1)
        .unwrap();
    p.append_as_follower(meta.leader_epoch, &written(0, 10, 0), 4, 0)
        .unwrap();
    c.broker_down(1);
    let promoted = c.snapshot().partition("t", 0).unwrap().clone();
    assert_eq!(promoted.leader, 2);
    p.make_leader(&promoted);
    assert_eq!(
        p.latest_offset(Isolation::ReadUncommitted)
            .unwrap_err()
            .code,
        ErrorCode::OffsetNotAvailable
    );
    p.record_follower_fetch(&fetch(3, c.broker_epoch(3), 10, 0), &c)
        .unwrap();
    assert_eq!(p.latest_offset(Isolation::ReadUncommitted).unwrap(), 10);
}

#[test]
fn a_follower_ignores_answers_for_a_leadership_it_left() {
    // A fetch sent to the old leader comes back after this replica moved to a new leader
    // and truncated: appending it would put the old leader's records where the new
    // leader's go.
    let p = open(2);
    p.make_follower(1, 1);
    p.truncate_after_epoch_check(1, -1, -1, -1).unwrap();
    p.make_follower(2, 3);
    let e = p
        .append_as_follower(1, &written(0, 3, 1), 3, 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::FencedLeaderEpoch);
    assert_eq!(p.offsets().2, 0);
    assert_eq!(p.pending_truncation(2), Some(-1));
}

#[test]
fn truncation_follows_the_epoch_the_leader_returns() {
    // KIP-279. Ours: epoch 1 at 0..5, epoch 3 at 5..8. The leader never had epoch 3; it
    // answers epoch 2 ending at 7, which we do not have: cut to where our epoch 1 ends (5)
    // and ask again about epoch 1.
    let p = open(2);
    p.make_follower(1, 1);
    p.truncate_after_epoch_check(1, -1, -1, -1).unwrap();
    p.append_as_follower(1, &written(0, 4, 1), 0, 0).unwrap();
    p.append_as_follower(1, &written(4, 1, 1), 0, 0).unwrap();
    p.make_follower(3, 1);
    p.truncate_after_epoch_check(3, 1, 1, 5).unwrap();
    p.append_as_follower(3, &written(5, 3, 3), 0, 0).unwrap();
    p.make_follower(4, 3);
    assert_eq!(p.pending_truncation(4), Some(3));
    let first = p.truncate_after_epoch_check(4, 3, 2, 7).unwrap();
    assert_eq!(first, Truncation::AskAgain(1));
    assert_eq!(p.offsets().2, 5);
    // The leader's epoch 1 ended at 4: cut there.
    let second = p.truncate_after_epoch_check(4, 1, 1, 4).unwrap();
    assert_eq!(second, Truncation::Done);
    assert_eq!(p.offsets().2, 4);
    assert_eq!(p.pending_truncation(4), None);
}

#[test]
fn followers_adopt_the_leaders_log_start() {
    // DeleteRecords must survive a failover (defect 6): followers move their log start too.
    let p = open(2);
    p.make_follower(1, 1);
    p.truncate_after_epoch_check(1, -1, -1, -1).unwrap();
    p.append_as_follower(1, &written(0, 10, 1), 10, 6).unwrap();
    assert_eq!(p.offsets(), (6, 10, 10));
}

#[tokio::test]
async fn delete_records_waits_for_every_isr_member() {
    let (c, p) = leader();
    let config = TopicConfig::default();
    p.append_as_leader(&batch(10), &config, 0).unwrap();
    for f in [2, 3] {
        p.record_follower_fetch(&fetch(f, c.broker_epoch(f), 10, 0), &c)
            .unwrap();
    }
    let (start, epoch) = p.delete_records_before(6).unwrap();
    assert_eq!(start, 6);
    let short = tokio::time::Instant::now() + Duration::from_millis(50);
    let e = p.wait_for_low_watermark(6, epoch, short).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RequestTimedOut);
    p.record_follower_fetch(&fetch(2, c.broker_epoch(2), 10, 6), &c)
        .unwrap();
    p.record_follower_fetch(&fetch(3, c.broker_epoch(3), 10, 6), &c)
        .unwrap();
    assert_eq!(p.wait_for_low_watermark(6, epoch, soon()).await.unwrap(), 6);
}

#[test]
fn a_follower_restarted_inside_the_leaders_first_batch_can_append_again() {
    // DeleteRecords put the leader's log start at 5, inside its batch 0..10; this replica's
    // log restarted at 5 (it had nothing the leader still has) and is fetched the whole batch.
    let p = open(2);
    p.make_follower(1, 1);
    p.truncate_after_epoch_check(1, -1, -1, -1).unwrap();
    p.reset_to(1, 5).unwrap();
    assert_eq!(p.offsets(), (5, 5, 5));
    p.append_as_follower(1, &written(0, 10, 1), 10, 5).unwrap();
    assert_eq!(p.offsets(), (5, 10, 10));
    let read = p
        .read(
            5,
            1 << 20,
            true,
            Reader::Consumer(Isolation::ReadUncommitted),
        )
        .unwrap();
    assert!(!read.records.is_empty());
}

#[test]
fn list_offsets_never_reveals_an_uncommitted_batch() {
    // MAX_TIMESTAMP used to answer with the newest batch's offset even above the high
    // watermark (defect 9).
    let (c, p) = leader();
    let config = TopicConfig::default();
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(1_000, None, Some(b"old".as_slice()), &[]).unwrap();
    p.append_as_leader(&b.build().unwrap(), &config, 0).unwrap();
    for f in [2, 3] {
        p.record_follower_fetch(&fetch(f, c.broker_epoch(f), 1, 0), &c)
            .unwrap();
    }
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.push(9_000, None, Some(b"new".as_slice()), &[]).unwrap();
    p.append_as_leader(&b.build().unwrap(), &config, 0).unwrap();
    assert_eq!(p.offsets(), (0, 1, 2));
    assert_eq!(p.max_timestamp(Isolation::ReadUncommitted).unwrap(), None);
    assert_eq!(
        p.offset_for_timestamp(5_000, Isolation::ReadUncommitted)
            .unwrap(),
        None
    );
    assert_eq!(p.latest_offset(Isolation::ReadUncommitted).unwrap(), 1);
}
