//! Unit tests of transactions on a partition: the last stable offset, the aborted
//! transactions a read_committed fetch lists, and the checks on producers and markers.

use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::{EndTxnMarker, RecordBatchBuilder};

use super::tests::{batch, fetch, leader};
use super::*;

/// A batch of `n` records from producer `pid` (epoch 0) starting at sequence `seq`.
fn from_producer(pid: i64, seq: i32, n: usize, transactional: bool) -> Bytes {
    at_epoch(pid, 0, seq, n, transactional)
}

/// [`from_producer`] at producer epoch `epoch`.
pub(super) fn at_epoch(pid: i64, epoch: i16, seq: i32, n: usize, transactional: bool) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None)
        .producer(pid, epoch, seq)
        .transactional(transactional);
    for _ in 0..n {
        b.push(0, None, Some(b"v".as_slice()), &[]).unwrap();
    }
    b.build().unwrap()
}

fn marker(commit: bool, coordinator_epoch: i32) -> EndTxnMarker {
    EndTxnMarker {
        commit,
        coordinator_epoch,
    }
}

fn committed_read(p: &Partition, offset: i64) -> ReadInfo {
    p.read(
        offset,
        1 << 20,
        true,
        Reader::Consumer(Isolation::ReadCommitted),
    )
    .unwrap()
}

#[test]
fn the_last_stable_offset_waits_for_open_and_unreplicated_transactions() {
    let (c, p) = leader();
    let config = TopicConfig::default();
    let followers_reach = |offset: i64| {
        for f in [2, 3] {
            p.record_follower_fetch(&fetch(f, c.broker_epoch(f), offset, 0), &c)
                .unwrap();
        }
    };
    // Producer 10's transaction at 0..3, producer 20's at 3..5, a plain batch at 5.
    p.append_as_leader(&from_producer(10, 0, 3, true), &config, 0)
        .unwrap();
    p.append_as_leader(&from_producer(20, 0, 2, true), &config, 0)
        .unwrap();
    p.append_as_leader(&batch(1), &config, 0).unwrap();
    followers_reach(6);
    assert_eq!(p.offsets().1, 6);
    assert_eq!(p.latest_offset(Isolation::ReadCommitted).unwrap(), 0);
    assert_eq!(p.latest_offset(Isolation::ReadUncommitted).unwrap(), 6);
    assert!(committed_read(&p, 0).records.is_empty());

    // Producer 10 aborts (marker at 6). Until the followers have the marker, the LSO stays.
    let info = p.append_marker(10, 0, &marker(false, 3), 0).unwrap();
    assert_eq!(info.base_offset, 6);
    assert_eq!(p.latest_offset(Isolation::ReadCommitted).unwrap(), 0);
    followers_reach(7);
    assert_eq!(p.latest_offset(Isolation::ReadCommitted).unwrap(), 3);
    let read = committed_read(&p, 0);
    assert_eq!(read.last_stable_offset, 3);
    assert_eq!(read.aborted, Some(vec![(10, 0)]));
    // A fetch past the aborted transaction's marker does not list it.
    assert_eq!(committed_read(&p, 7).aborted, Some(vec![]));

    // Producer 20 commits: everything is stable.
    p.append_marker(20, 0, &marker(true, 3), 0).unwrap();
    followers_reach(8);
    assert_eq!(p.latest_offset(Isolation::ReadCommitted).unwrap(), 8);
    let read = committed_read(&p, 0);
    assert_eq!(read.aborted, Some(vec![(10, 0)]));
    assert_eq!(
        RecordBatches::new(read.records)
            .flatten()
            .last()
            .unwrap()
            .next_offset(),
        8
    );
    // read_uncommitted fetches list nothing.
    let plain = p
        .read(
            0,
            1 << 20,
            true,
            Reader::Consumer(Isolation::ReadUncommitted),
        )
        .unwrap();
    assert_eq!(plain.aborted, None);
}

#[test]
fn producers_and_markers_are_checked_as_kafka_does() {
    let (_c, p) = leader();
    let config = TopicConfig::default();
    p.append_as_leader(&from_producer(10, 0, 2, true), &config, 0)
        .unwrap();
    // A non-transactional batch inside the producer's transaction.
    let e = p
        .append_as_leader(&from_producer(10, 2, 1, false), &config, 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidTxnState);
    // A control batch from a client.
    let forged = marker(true, 0).batch(10, 0, 1).unwrap();
    let e = p.append_as_leader(&forged, &config, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRecord);
    // The coordinator fenced the producer (epoch 1): its old epoch is refused, data or marker.
    p.append_marker(10, 1, &marker(false, 5), 0).unwrap();
    let e = p
        .append_as_leader(&from_producer(10, 2, 1, true), &config, 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProducerEpoch);
    let e = p.append_marker(10, 0, &marker(false, 5), 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProducerEpoch);
    // A marker from an older coordinator epoch.
    let e = p.append_marker(10, 1, &marker(true, 4), 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::TransactionCoordinatorFenced);
}

#[test]
fn a_truncation_keeps_the_epoch_a_marker_fenced_and_reopens_a_cut_transaction() {
    let (c, meta) = super::tests::cluster();
    let p = super::tests::open(2);
    p.make_follower(meta.leader_epoch, 1);
    let epoch = meta.leader_epoch;
    // Producer 7 (epoch 0) was fenced: ABORT at epoch 1. Producer 9's transaction at 3 was
    // committed at 4, then a plain batch at 5.
    let log: Vec<Bytes> = vec![
        at(from_producer(7, 0, 2, true), 0),
        at(marker(false, 1).batch(7, 1, 0).unwrap(), 2),
        at(from_producer(9, 0, 1, true), 3),
        at(marker(true, 1).batch(9, 0, 0).unwrap(), 4),
        at(batch(1), 5),
    ];
    let all: Bytes = log.concat().into();
    p.truncate_after_epoch_check(epoch, -1, -1, -1).unwrap();
    p.append_as_follower(epoch, &all, 4, 0).unwrap();
    // The new leader's log ends at 4: producer 9's COMMIT is cut, its transaction open again.
    p.reset_to(epoch, 4).unwrap();
    assert_eq!(p.lock().last_stable_offset(), 3);
    // This replica becomes the leader: the zombie (producer 7 at epoch 0) is still fenced.
    c.broker_down(1);
    p.make_leader(c.snapshot().partition("t", 0).unwrap());
    let e = p
        .append_as_leader(&from_producer(7, 2, 1, true), &TopicConfig::default(), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProducerEpoch);
}

#[test]
fn a_follower_cut_below_its_high_watermark_rebuilds_transactions_from_its_log() {
    let (_c, meta) = super::tests::cluster();
    let p = super::tests::open(2);
    p.make_follower(meta.leader_epoch, 1);
    let epoch = meta.leader_epoch;
    // As the leader wrote them: producer 10's transaction at 0..2, its abort at 2, producer
    // 20's transaction at 3, committed at 4.
    let log: Vec<Bytes> = vec![
        at(from_producer(10, 0, 2, true), 0),
        at(marker(false, 1).batch(10, 0, 0).unwrap(), 2),
        at(from_producer(20, 0, 1, true), 3),
        at(marker(true, 1).batch(20, 0, 0).unwrap(), 4),
    ];
    let all: Bytes = log.concat().into();
    p.truncate_after_epoch_check(epoch, -1, -1, -1).unwrap();
    p.append_as_follower(epoch, &all, 5, 0).unwrap();
    assert_eq!(p.offsets(), (0, 5, 5));
    assert_eq!(p.lock().last_stable_offset(), 5);
    // Cut at 4 (below the high watermark): producer 20's transaction is open again, producer
    // 10's abort is still known.
    p.reset_to(epoch, 4).unwrap();
    let s = p.lock();
    assert_eq!(s.last_stable_offset(), 3);
    let aborted: Vec<(i64, i64)> = s
        .log
        .aborted_between(0, 4)
        .iter()
        .map(|t| (t.producer_id, t.first_offset))
        .collect();
    assert_eq!(aborted, vec![(10, 0)]);
}

/// `bytes` with its base offset set to `base`, as a leader writes it.
fn at(bytes: Bytes, base: i64) -> Bytes {
    let mut raw = bytes::BytesMut::from(&bytes[..]);
    streamctl_protocol::record_batch::rewrite_base_offset(&mut raw, base).unwrap();
    raw.freeze()
}

/// Transactions v2 on a partition: the marker of an end bumps the epoch, so the next batch
/// must start the new epoch at sequence 0; the next transaction's verification survives that
/// marker; a late verification of the old epoch cannot replace it; a group coordinator's
/// transactional write of a fenced epoch is refused after the marker.
#[test]
fn a_v2_marker_starts_the_epoch_and_keeps_the_next_verification() {
    let (_c, p) = leader();
    let config = TopicConfig::default();
    let guard = p.start_verification(10, 0, true).unwrap().unwrap();
    let verified = Some(Verification {
        producer_id: 10,
        guard: Some(guard),
    });
    p.append_verified(&at_epoch(10, 0, 0, 2, true), &config, 0, verified)
        .unwrap();
    // The next transaction (epoch 1) is being added while the commit's marker (epoch 1)
    // lands: the marker does not void it.
    let next = p.start_verification(10, 1, true).unwrap().unwrap();
    assert_eq!(
        p.start_verification(10, 1, true).unwrap(),
        Some(next),
        "racing requests share one verification"
    );
    p.append_marker(10, 1, &marker(true, 0), 0).unwrap();
    let late = p.start_verification(10, 0, true).unwrap_err();
    assert_eq!(late.code, ErrorCode::InvalidProducerEpoch);
    let verified = Some(Verification {
        producer_id: 10,
        guard: Some(next),
    });
    let gap = p
        .append_verified(&at_epoch(10, 1, 5, 1, true), &config, 0, verified)
        .unwrap_err();
    assert_eq!(gap.code, ErrorCode::OutOfOrderSequenceNumber);
    p.append_verified(&at_epoch(10, 1, 0, 1, true), &config, 0, verified)
        .unwrap();
    // Its abort at epoch 2; a late offsets write of epoch 1 is fenced.
    p.append_marker(10, 2, &marker(false, 0), 0).unwrap();
    let stale = p
        .append_as_coordinator(&at_epoch(10, 1, 0, 1, true), 0, p.role().1)
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::InvalidProducerEpoch);
    p.append_as_coordinator(&at_epoch(10, 2, 0, 1, true), 0, p.role().1)
        .unwrap();
}
