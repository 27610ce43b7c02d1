//! Tests of rebuilding a replica's derived state from snapshots, `.txnindex` files and the
//! log (see `recovery.rs`). Each compares the rebuilt state with the state a full replay of
//! the same log gives — a fresh in-memory follower fed the same batches — after breaking one
//! premise a shortcut relies on: a crash without the shutdown snapshot, a lost index, a torn
//! snapshot, a truncation below the latest snapshot.

use std::fs;
use std::path::Path;

use streamctl_protocol::record_batch::EndTxnMarker;

use super::tests::{batch, cluster};
use super::*;
use crate::log::AbortedTxn;
use crate::test_support::TempDir;

/// Segments of a few batches each, so that a test rolls many.
fn small_segments() -> TopicConfig {
    let mut config = TopicConfig::default();
    config
        .overrides
        .insert("segment.bytes".into(), "400".into());
    config
}

fn open_on_disk(dir: &Path) -> Partition {
    Partition::open(
        "t",
        uuid::Uuid::nil(),
        0,
        1,
        Storage::Disk(dir.to_path_buf()),
        &small_segments(),
    )
    .unwrap()
}

fn txn_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Bytes {
    super::txn_tests::at_epoch(pid, epoch, seq, n, true)
}

fn end(commit: bool) -> EndTxnMarker {
    EndTxnMarker {
        commit,
        coordinator_epoch: 1,
    }
}

/// A leader on disk whose log holds, over many segments: committed and aborted transactions
/// of many producers, plain batches, producer 7 fenced by an ABORT that bumped its epoch
/// early on, and producer 50's transaction still open since the second segment.
fn written_leader(dir: &Path) -> Partition {
    let (_c, meta) = cluster();
    let p = open_on_disk(dir);
    p.make_leader(&meta);
    let config = small_segments();
    let append = |records: Bytes| p.append_as_leader(&records, &config, 0).unwrap();
    append(txn_batch(7, 0, 0, 2));
    p.append_marker(7, 1, &end(false), 0).unwrap();
    append(txn_batch(50, 0, 0, 1));
    for i in 0..24 {
        let pid = 100 + i64::from(i);
        append(txn_batch(pid, 0, 0, 2));
        append(batch(1));
        append(txn_batch(pid, 0, 2, 1));
        p.append_marker(pid, 0, &end(i % 3 != 0), 0).unwrap();
    }
    assert!(
        p.lock().log.segment_count() > 6,
        "the log rolled many segments"
    );
    p
}

/// What a replica derives from its log, for comparison.
#[derive(Debug, PartialEq)]
struct Derived {
    producers: Vec<ProducerSummary>,
    aborted: Vec<AbortedTxn>,
    stable: i64,
    epochs: Vec<(i32, i64)>,
}

fn derived(p: &Partition) -> Derived {
    let s = p.lock();
    let leo = s.log.log_end_offset();
    Derived {
        producers: s.producers.describe(),
        aborted: s.log.aborted_between(0, leo),
        stable: s.producers.last_stable_offset(leo, 0),
        epochs: s.epochs.clone(),
    }
}

/// The state a full replay of `p`'s log gives: a fresh in-memory follower fed its batches.
fn full_replay_of(p: &Partition) -> Derived {
    let records = p.read(0, 1 << 30, true, Reader::Replica).unwrap().records;
    let (_c, meta) = cluster();
    let fresh = Partition::open(
        "t",
        uuid::Uuid::nil(),
        0,
        2,
        Storage::Memory,
        &TopicConfig::default(),
    )
    .unwrap();
    fresh.make_follower(meta.leader_epoch, 1);
    fresh
        .truncate_after_epoch_check(meta.leader_epoch, -1, -1, -1)
        .unwrap();
    fresh
        .append_as_follower(meta.leader_epoch, &records, 0, 0)
        .unwrap();
    derived(&fresh)
}

use crate::test_support::files_with_extension as files;

fn base_of(path: &Path) -> i64 {
    path.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

#[test]
fn a_crashed_replica_replays_only_the_log_after_its_latest_snapshot() {
    let dir = TempDir::new("recover-crash");
    let p = written_leader(dir.path());
    let before = derived(&p);
    assert_eq!(before, full_replay_of(&p));
    assert_eq!(before.stable, 3, "producer 50's transaction holds the LSO");
    assert!(before.aborted.len() >= 8);
    let latest_snapshot = *p.lock().log.snapshot_offsets().last().unwrap();
    // Every segment has its index; sealed ones hold the aborts whose marker they contain.
    let logs = files(dir.path(), "log");
    assert_eq!(files(dir.path(), "txnindex").len(), logs.len());
    let active_base = base_of(logs.last().unwrap());
    drop(p); // a crash: no shutdown snapshot

    let p = open_on_disk(dir.path());
    assert_eq!(derived(&p), before);
    let replayed_from = p.lock().replayed_from;
    assert_eq!(replayed_from, latest_snapshot);
    assert!(
        replayed_from >= active_base,
        "only the active segment is replayed"
    );
    // The zombie fenced before the snapshot is still fenced.
    p.make_leader(&cluster().1);
    let e = p
        .append_as_leader(&txn_batch(7, 0, 2, 1), &small_segments(), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidProducerEpoch);
}

#[test]
fn a_clean_shutdown_leaves_nothing_to_replay() {
    let dir = TempDir::new("recover-clean");
    let p = written_leader(dir.path());
    let before = derived(&p);
    let leo = p.offsets().2;
    p.flush().unwrap();
    drop(p);
    let p = open_on_disk(dir.path());
    assert_eq!(p.lock().replayed_from, leo);
    assert_eq!(derived(&p), before);
}

#[test]
fn a_lost_or_torn_txnindex_is_rebuilt_from_the_log() {
    let dir = TempDir::new("recover-txnindex");
    let p = written_leader(dir.path());
    let before = derived(&p);
    drop(p);
    let indexes = files(dir.path(), "txnindex");
    let lost = &indexes[2];
    let torn = &indexes[4];
    let torn_len = fs::metadata(torn).unwrap().len();
    assert!(torn_len > 0, "the test needs an index with entries");
    fs::remove_file(lost).unwrap();
    fs::write(torn, vec![0xff; 7]).unwrap();

    let p = open_on_disk(dir.path());
    assert!(p.lock().replayed_from <= base_of(lost));
    assert_eq!(derived(&p), before);
    assert_eq!(
        fs::metadata(torn).unwrap().len(),
        torn_len,
        "rewritten whole"
    );
    assert!(lost.exists());
    drop(p);
    // Both are trusted again: the next open uses the snapshot the rebuild took.
    let p = open_on_disk(dir.path());
    let leo = p.offsets().2;
    assert_eq!(p.lock().replayed_from, leo);
    assert_eq!(derived(&p), before);
}

#[test]
fn a_torn_snapshot_falls_back_to_an_older_one() {
    let dir = TempDir::new("recover-snapshot");
    let p = written_leader(dir.path());
    let before = derived(&p);
    let snapshots = p.lock().log.snapshot_offsets();
    assert!(snapshots.len() >= 2);
    drop(p);
    let all = files(dir.path(), "snapshot");
    let newest = all.last().unwrap();
    let mut bytes = fs::read(newest).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(newest, bytes).unwrap();

    let p = open_on_disk(dir.path());
    assert_eq!(
        p.lock().replayed_from,
        snapshots[snapshots.len() - 2],
        "the CRC refuses the newest; the one before it is used"
    );
    assert_eq!(derived(&p), before);
}

#[test]
fn a_truncation_below_the_latest_snapshot_rebuilds_from_an_older_one() {
    let dir = TempDir::new("recover-truncate");
    let p = written_leader(dir.path());
    let (_c, meta) = cluster();
    let snapshots = p.lock().log.snapshot_offsets();
    let cut = snapshots[snapshots.len() - 1] - 1;
    assert!(cut >= snapshots[snapshots.len() - 2]);
    p.make_follower(meta.leader_epoch + 1, 2);
    p.reset_to(meta.leader_epoch + 1, cut).unwrap();
    let leo = p.offsets().2;
    assert!(leo <= cut);
    assert!(p.lock().log.snapshot_offsets().iter().all(|o| *o <= leo));
    assert_eq!(derived(&p), full_replay_of(&p));
    // And after a crash right then.
    let after_cut = derived(&p);
    drop(p);
    let p = open_on_disk(dir.path());
    assert_eq!(derived(&p), after_cut);
}

#[test]
fn a_snapshot_above_a_log_cut_short_by_a_crash_is_deleted_not_used() {
    // The page cache lost the log's tail after the snapshot at its end was written: the
    // snapshot describes batches that are gone, and later a new leader's different batches
    // would take their offsets.
    let dir = TempDir::new("recover-stale");
    let p = written_leader(dir.path());
    let latest = *p.lock().log.snapshot_offsets().last().unwrap();
    drop(p);
    let logs = files(dir.path(), "log");
    let active = logs.last().unwrap();
    assert!(base_of(active) < latest);
    // Cut the active segment back to its base (empty).
    fs::OpenOptions::new()
        .write(true)
        .open(active)
        .unwrap()
        .set_len(0)
        .unwrap();
    let p = open_on_disk(dir.path());
    let leo = p.offsets().2;
    assert!(leo < latest);
    assert!(p.lock().replayed_from <= leo);
    assert!(p.lock().log.snapshot_offsets().iter().all(|o| *o <= leo));
    assert_eq!(derived(&p), full_replay_of(&p));
}

#[test]
fn a_log_start_inside_a_segment_without_its_index_opens() {
    // DeleteRecords moved the log start into the first segment, whose `.txnindex` is then
    // lost: the rebuild bound lies below the log start.
    let dir = TempDir::new("recover-start");
    let p = written_leader(dir.path());
    let logs = files(dir.path(), "log");
    let second = base_of(&logs[1]);
    {
        let mut s = p.lock();
        s.log.delete_records_before(second - 1).unwrap();
        s.producers.forget_below(second - 1);
    }
    let before = derived(&p);
    drop(p);
    fs::remove_file(&files(dir.path(), "txnindex")[0]).unwrap();
    let p = open_on_disk(dir.path());
    assert_eq!(p.offsets().0, second - 1);
    let after = derived(&p);
    assert_eq!(after.producers, before.producers);
    assert_eq!(after.stable, before.stable);
    let visible = |d: &Derived| -> Vec<AbortedTxn> {
        d.aborted
            .iter()
            .filter(|t| t.last_offset >= second - 1)
            .copied()
            .collect()
    };
    assert_eq!(visible(&after), visible(&before));
}
