//! Tests of [`Log::clean`]: what a consumer reads after cleaning, on both storages, and the
//! swap's recovery at every crash point.

use std::collections::BTreeMap;
use std::fs;

use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::{RecordBatchBuilder, RecordBatches};

use super::*;
use crate::test_support::TempDir;

/// (offset, key, value) of every record the log serves from its start.
type Contents = Vec<(i64, String, Option<String>)>;

/// A partition directory's files by name, with their bytes.
type Files = BTreeMap<String, Vec<u8>>;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

/// Appends `rounds` rounds of updates to keys k0..k9, two records per batch; key k3 gets a
/// tombstone in round 3 and is not written again.
fn write_updates(log: &mut Log, rounds: usize) {
    let mut n = 0;
    for round in 0..rounds {
        for pair in 0..5 {
            let base = log.log_end_offset();
            let mut b = RecordBatchBuilder::new(Compression::None).base_offset(base);
            for key in [pair * 2, pair * 2 + 1] {
                if key == 3 && round > 3 {
                    continue;
                }
                let value = format!("r{round}");
                let value = (key != 3 || round < 3).then_some(value);
                b.push(
                    1_000 + n,
                    Some(format!("k{key}").as_bytes()),
                    value.as_deref().map(str::as_bytes),
                    &[],
                )
                .unwrap();
                n += 1;
            }
            log.append(&b.build().unwrap()).unwrap();
        }
    }
}

fn contents(log: &Log) -> Contents {
    let bytes = log
        .read(log.log_start_offset(), usize::MAX, i64::MAX, true)
        .unwrap();
    let text = |v: Option<bytes::Bytes>| v.map(|v| String::from_utf8(v.to_vec()).unwrap());
    let mut out = Vec::new();
    for b in RecordBatches::new(bytes) {
        let b = b.unwrap();
        b.verify_crc().unwrap();
        for r in b.records(1 << 20).unwrap() {
            let r = r.unwrap();
            out.push((r.offset, text(r.key).unwrap(), text(r.value)));
        }
    }
    out
}

/// The latest value of each key, as a consumer reading everything would end with it.
fn table(c: &Contents) -> BTreeMap<String, Option<String>> {
    c.iter().map(|(_, k, v)| (k.clone(), v.clone())).collect()
}

fn clean(log: &mut Log, now_ms: i64) -> CleanStats {
    clean_with(log, now_ms, i64::MAX, &|_, _| false)
}

/// One cleaning of everything closed, `delete.retention.ms` 100.
fn clean_with(
    log: &mut Log,
    now_ms: i64,
    marker_floor: i64,
    last_of_producer: &dyn Fn(i64, i64) -> bool,
) -> CleanStats {
    log.clean(CleanOptions {
        upper: log.log_end_offset(),
        young_from: i64::MAX,
        run: CleanRun {
            now_ms,
            delete_retention_ms: 100,
            last_of_producer,
            stop: &|| false,
            marker_floor,
        },
    })
    .unwrap()
}

fn has_tombstone(c: &Contents) -> bool {
    c.iter().any(|(_, k, v)| k == "k3" && v.is_none())
}

#[test]
fn cleaning_keeps_the_latest_value_of_each_key_on_both_storages() {
    let dir = TempDir::new("cleaner");
    for storage in [Storage::Memory, Storage::Disk(dir.path().join("t-0"))] {
        let mut log = Log::open(storage.clone(), config()).unwrap();
        write_updates(&mut log, 10);
        let before = contents(&log);
        assert!(log.segment_count() > 3, "{}", log.segment_count());
        let stats = clean(&mut log, 10_000);
        assert!(
            stats.segments > 0 && stats.bytes_after < stats.bytes_before,
            "{stats:?}"
        );
        let after = contents(&log);
        // A consumer ends with the same table, offsets are unchanged, and below the active
        // segment no key appears twice.
        assert_eq!(table(&after), table(&before));
        assert!(after.iter().all(|r| before.contains(r)), "a record changed");
        let active_base = log.active.base_offset();
        let mut seen = std::collections::BTreeSet::new();
        for (offset, key, _) in after.iter().filter(|(o, _, _)| *o < active_base) {
            assert!(
                seen.insert(key.clone()),
                "{key} twice below the active segment (at {offset})"
            );
        }
        assert_eq!(log.log_end_offset(), before.last().unwrap().0 + 1);
        // The tombstone stays until its horizon (10_000 + delete.retention.ms 100)...
        assert!(has_tombstone(&after));
        clean(&mut log, 10_050);
        assert!(has_tombstone(&contents(&log)));
        // ...then goes, and k3 with it.
        clean(&mut log, 20_000);
        let later = contents(&log);
        assert!(!has_tombstone(&later), "the tombstone outlived its horizon");
        let mut expected = table(&before);
        expected.remove("k3");
        assert_eq!(table(&later), expected);
        if let Storage::Disk(_) = storage {
            // What was cleaned is what a restart reads.
            drop(log);
            let reopened = Log::open(storage, config()).unwrap();
            assert_eq!(contents(&reopened), later);
        }
    }
}

/// The files of `dir` by name, with their bytes.
fn snapshot(dir: &std::path::Path) -> Files {
    fs::read_dir(dir)
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn restore(dir: &std::path::Path, files: &Files) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// A disk log in `part` written by `prepare`, then cleaned once: what it read as and the
/// files it had, before the cleaning and after.
fn before_and_after_cleaning(
    part: &std::path::Path,
    prepare: impl FnOnce(&mut Log),
) -> (Contents, Files, Contents, Files) {
    let mut log = Log::open(Storage::Disk(part.to_path_buf()), config()).unwrap();
    prepare(&mut log);
    log.flush().unwrap();
    let old_contents = contents(&log);
    drop(log);
    let old_files = snapshot(part);
    let mut log = Log::open(Storage::Disk(part.to_path_buf()), config()).unwrap();
    clean(&mut log, 10_000);
    log.flush().unwrap();
    let new_contents = contents(&log);
    drop(log);
    (old_contents, old_files, new_contents, snapshot(part))
}

#[test]
fn a_crash_at_any_step_of_the_swap_leaves_the_old_segment_or_the_new_one() {
    let dir = TempDir::new("cleaner-crash");
    let part = dir.path().join("t-0");
    let (old_contents, old_files, new_contents, new_files) =
        before_and_after_cleaning(&part, |log| write_updates(log, 6));
    assert_ne!(old_contents, new_contents);
    let changed: Vec<String> = new_files
        .iter()
        .filter(|(name, bytes)| old_files.get(*name) != Some(bytes))
        .map(|(name, _)| name.clone())
        .filter(|name| name.ends_with(".log"))
        .collect();
    // The rewritten segment that kept the most (indexes and all), not one emptied.
    let kept = changed
        .iter()
        .max_by_key(|n| new_files.get(*n).map_or(0, Vec::len))
        .unwrap();
    assert!(!new_files.get(kept).unwrap().is_empty());
    let base: i64 = kept.trim_end_matches(".log").parse().unwrap();

    let name = |suffix: &str| format!("{base:020}.{suffix}");

    // The log with only this segment swapped (the cleaning swapped several, one by one).
    let mut committed_files = old_files.clone();
    for suffix in ["index", "timeindex", "txnindex", "log"] {
        committed_files.insert(name(suffix), new_files.get(&name(suffix)).unwrap().clone());
    }
    restore(&part, &committed_files);
    let committed_contents = contents(&Log::open(Storage::Disk(part.clone()), config()).unwrap());
    assert_ne!(committed_contents, old_contents);

    // Crash points: (files moved to `.swap` so far, files renamed into place so far); the
    // renames into place start once every file is swapped (the `.log` last).
    let suffixes = ["index", "timeindex", "txnindex", "log"];
    let points = (0..=4).map(|s| (s, 0)).chain((1..=4).map(|p| (4, p)));
    for (swapped, placed) in points {
        {
            let mut files = old_files.clone();
            for (i, suffix) in suffixes.iter().enumerate() {
                let new = new_files.get(&name(suffix)).unwrap().clone();
                if i < placed {
                    files.insert(name(suffix), new);
                } else if i < swapped {
                    files.insert(format!("{}.swap", name(suffix)), new);
                }
            }
            restore(&part, &files);
            // Staging leftovers too.
            fs::create_dir_all(part.join(".cleaner")).unwrap();
            fs::write(part.join(".cleaner").join(name("log")), b"half").unwrap();
            let log = Log::open(Storage::Disk(part.clone()), config()).unwrap();
            let committed = swapped == 4;
            let expected = if committed {
                &committed_contents
            } else {
                &old_contents
            };
            assert_eq!(
                &contents(&log),
                expected,
                "swapped {swapped}, placed {placed}"
            );
            drop(log);
            let left: Vec<String> = snapshot(&part)
                .into_keys()
                .filter(|n| n.ends_with(".swap"))
                .collect();
            assert!(left.is_empty(), "{left:?}");
            assert!(!part.join(".cleaner").exists());
        }
    }
}

#[test]
fn a_truncation_into_a_gap_leaves_the_log_ending_at_the_cut() {
    // After cleaning, a batch may end well before the next one starts; a follower told to
    // truncate to an offset in between must not give those offsets out again.
    let dir = TempDir::new("cleaner-gap-cut");
    for storage in [Storage::Memory, Storage::Disk(dir.path().join("t-0"))] {
        let mut log = Log::open(storage, LogConfig::default()).unwrap();
        let batch = |base: i64| {
            let mut b = RecordBatchBuilder::new(Compression::None).base_offset(base);
            b.push(0, Some(b"k".as_slice()), Some(b"v".as_slice()), &[])
                .unwrap();
            b.build().unwrap().to_vec()
        };
        log.append_replicated(&[batch(0), batch(10)].concat())
            .unwrap();
        assert_eq!(log.log_end_offset(), 11);
        log.truncate_to(5).unwrap();
        assert_eq!(log.log_end_offset(), 5);
        log.append(&batch(5)).unwrap();
        assert_eq!(log.log_end_offset(), 6);
        let offsets: Vec<i64> = contents(&log).iter().map(|(o, _, _)| *o).collect();
        assert_eq!(offsets, [0, 5]);
    }
}

#[test]
fn a_crash_at_any_step_of_a_group_swap_leaves_a_log_with_every_latest_value() {
    // A second cleaning merges the small segments the first one left into groups: one
    // cleaned segment replaces several old ones, which step 3 deletes oldest first.
    let dir = TempDir::new("cleaner-group-crash");
    let part = dir.path().join("t-0");
    let (old_contents, old_files, new_contents, new_files) =
        before_and_after_cleaning(&part, |log| {
            write_updates(log, 6);
            clean(log, 10_000);
            write_updates(log, 3);
        });
    assert_eq!(table(&new_contents), table(&old_contents));
    let bases = |files: &Files| -> Vec<i64> {
        files
            .keys()
            .filter_map(|n| n.strip_suffix(".log"))
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let (old_bases, new_bases) = (bases(&old_files), bases(&new_files));
    // The group with the most members.
    let (head, members) = new_bases
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let end = new_bases.get(i + 1).copied().unwrap_or(i64::MAX);
            let members: Vec<i64> = old_bases
                .iter()
                .copied()
                .filter(|o| *o >= b && *o < end)
                .collect();
            (b, members)
        })
        .max_by_key(|(_, m)| m.len())
        .unwrap();
    assert!(members.len() > 1, "no segments were merged: {new_bases:?}");
    let name = |base: i64, suffix: &str| format!("{base:020}.{suffix}");
    let suffixes = ["index", "timeindex", "txnindex", "log"];
    let new_of = |suffix: &str| new_files.get(&name(head, suffix)).unwrap().clone();

    // Crash points: (files moved to `.swap`, old members deleted, files renamed into place).
    let k = members.len();
    let points = (0..=4)
        .map(|s| (s, 0, 0))
        .chain((1..k).map(|d| (4, d, 0)))
        .chain((1..=4).map(|p| (4, k - 1, p)));
    for (swapped, deleted, placed) in points {
        let mut files = old_files.clone();
        for member in members.iter().skip(1).take(deleted) {
            for suffix in suffixes {
                files.remove(&name(*member, suffix));
            }
        }
        for (i, suffix) in suffixes.iter().enumerate() {
            if i < placed {
                files.insert(name(head, suffix), new_of(suffix));
            } else if i < swapped {
                files.insert(format!("{}.swap", name(head, suffix)), new_of(suffix));
            }
        }
        restore(&part, &files);
        let log = Log::open(Storage::Disk(part.clone()), config()).unwrap();
        let got = contents(&log);
        let at = format!("swapped {swapped}, deleted {deleted}, placed {placed}");
        if swapped < 4 {
            assert_eq!(got, old_contents, "{at}");
        } else {
            // The group's cleaned segment, then any old members past its end: every record
            // is one the log had, offsets increase, and a consumer ends with the same table.
            assert_eq!(table(&got), table(&old_contents), "{at}");
            assert!(got.iter().all(|r| old_contents.contains(r)), "{at}");
            assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "{at}");
        }
        drop(log);
        let left: Vec<String> = snapshot(&part)
            .into_keys()
            .filter(|n| n.ends_with(".swap"))
            .collect();
        assert!(left.is_empty(), "{at}: {left:?}");
    }
    // And the finished swap reads as the cleaning left it.
    restore(&part, &new_files);
    let log = Log::open(Storage::Disk(part.clone()), config()).unwrap();
    assert_eq!(contents(&log), new_contents);
}

#[test]
fn aborted_data_is_known_as_aborted_when_its_marker_is_past_the_cleaned_segments() {
    // The ABORT marker lands in the active segment, which is never cleaned; the aborted
    // batch is in a closed one. The cleaner must still know it as aborted (Kafka collects
    // aborted transactions over the whole log), or it would keep the aborted record as the
    // key's latest and remove the committed value before it.
    use streamctl_protocol::record_batch::{rewrite_base_offset, EndTxnMarker};
    let dir = TempDir::new("cleaner-aborted-marker");
    for storage in [Storage::Memory, Storage::Disk(dir.path().join("t-0"))] {
        let mut log = Log::open(storage, config()).unwrap();
        write_updates(&mut log, 4);
        let committed = table(&contents(&log));
        let first = log.log_end_offset();
        let mut b = RecordBatchBuilder::new(Compression::None)
            .base_offset(first)
            .producer(7, 0, 0)
            .transactional(true);
        b.push(
            9_000,
            Some(b"k1".as_slice()),
            Some(b"aborted".as_slice()),
            &[],
        )
        .unwrap();
        log.append(&b.build().unwrap()).unwrap();
        log.roll(log.log_end_offset()).unwrap();
        let marker_at = log.log_end_offset();
        let marker = EndTxnMarker {
            commit: false,
            coordinator_epoch: 0,
        };
        let mut raw = bytes::BytesMut::from(&marker.batch(7, 0, 9_001).unwrap()[..]);
        rewrite_base_offset(&mut raw, marker_at).unwrap();
        log.append(&raw).unwrap();
        log.record_aborted(AbortedTxn {
            producer_id: 7,
            first_offset: first,
            last_offset: marker_at,
            last_stable_offset: marker_at + 1,
        })
        .unwrap();
        clean(&mut log, 10_000);
        let after = contents(&log);
        assert!(
            after
                .iter()
                .all(|(_, _, v)| v.as_deref() != Some("aborted")),
            "the aborted record was kept"
        );
        assert_eq!(table(&after).get("k1"), committed.get("k1"));
    }
}

#[test]
fn a_first_dirty_offset_inside_a_segment_still_maps_that_segment() {
    // After DeleteRecords moved the log start into a segment and a restart, cleaning starts
    // from that offset, inside the segment. The segment's records must still be mapped, or
    // a value its own later tombstone deleted would outlive the tombstone.
    let dir = TempDir::new("cleaner-first-dirty");
    let part = dir.path().join("t-0");
    let mut log = Log::open(Storage::Disk(part.clone()), LogConfig::default()).unwrap();
    for offset in 0..40i64 {
        let (key, value) = match offset {
            20 => ("k".to_string(), Some("v")),
            30 => ("k".to_string(), None),
            n => (format!("a{n}"), Some("x")),
        };
        let mut b = RecordBatchBuilder::new(Compression::None).base_offset(offset);
        b.push(1_000, Some(key.as_bytes()), value.map(str::as_bytes), &[])
            .unwrap();
        log.append(&b.build().unwrap()).unwrap();
    }
    log.roll(40).unwrap();
    let mut b = RecordBatchBuilder::new(Compression::None).base_offset(40);
    b.push(1_000, Some(b"last".as_slice()), Some(b"x".as_slice()), &[])
        .unwrap();
    log.append(&b.build().unwrap()).unwrap();
    log.delete_records_before(10).unwrap();
    log.flush().unwrap();
    drop(log);
    let mut log = Log::open(Storage::Disk(part), LogConfig::default()).unwrap();
    assert_eq!(log.first_dirty_offset(), 10);
    clean(&mut log, 10_000);
    clean(&mut log, 20_000);
    let after = contents(&log);
    assert!(
        after.iter().all(|(_, k, _)| k != "k"),
        "a deleted key came back: {after:?}"
    );
}

/// A log where producer 7 commits k1=committed and producer 8 writes k2=aborted and
/// aborts, then plain updates supersede k1; `snapshot_between` writes a producer-state
/// snapshot after producer 7's data and before its marker. Returns the markers' offsets.
fn two_transactions(log: &mut Log, snapshot_between: bool) -> Vec<i64> {
    use streamctl_protocol::record_batch::{rewrite_base_offset, EndTxnMarker};
    let mut markers = Vec::new();
    for (pid, key, value, commit) in [(7, "k1", "committed", true), (8, "k2", "aborted", false)] {
        let first = log.log_end_offset();
        let mut b = RecordBatchBuilder::new(Compression::None)
            .base_offset(first)
            .producer(pid, 0, 0)
            .transactional(true);
        b.push(900, Some(key.as_bytes()), Some(value.as_bytes()), &[])
            .unwrap();
        log.append(&b.build().unwrap()).unwrap();
        if snapshot_between && pid == 7 {
            log.write_snapshot(b"producers");
        }
        let at = log.log_end_offset();
        let marker = EndTxnMarker {
            commit,
            coordinator_epoch: 0,
        };
        let mut raw = bytes::BytesMut::from(&marker.batch(pid, 0, 901).unwrap()[..]);
        rewrite_base_offset(&mut raw, at).unwrap();
        log.append(&raw).unwrap();
        if !commit {
            log.record_aborted(AbortedTxn {
                producer_id: pid,
                first_offset: first,
                last_offset: at,
                last_stable_offset: at + 1,
            })
            .unwrap();
        }
        markers.push(at);
    }
    write_updates(log, 4);
    markers
}

fn has_marker(log: &Log, at: i64) -> bool {
    let bytes = log.read(at, usize::MAX, at + 1, true).unwrap();
    RecordBatches::new(bytes)
        .map(Result::unwrap)
        .any(|b| b.is_control() && b.base_offset() == at)
}

/// Three cleanings: at 10_000, 10_050 and 20_000 (delete.retention.ms 100).
fn clean_three_times(log: &mut Log, marker_floor: i64, last: &dyn Fn(i64, i64) -> bool) {
    for now_ms in [10_000, 10_050, 20_000] {
        clean_with(log, now_ms, marker_floor, last);
    }
}

#[test]
fn a_marker_goes_once_its_transaction_has_no_data_and_its_horizon_passed() {
    let dir = TempDir::new("cleaner-markers");
    for storage in [Storage::Memory, Storage::Disk(dir.path().join("t-0"))] {
        let mut log = Log::open(storage, config()).unwrap();
        let markers = two_transactions(&mut log, false);
        // 1: the transactions' data goes (superseded, aborted); the markers stay, since
        // their data was in the log when the cleaning began.
        clean(&mut log, 10_000);
        assert!(markers.iter().all(|m| has_marker(&log, *m)));
        assert!(contents(&log)
            .iter()
            .all(|(_, _, v)| !matches!(v.as_deref(), Some("committed" | "aborted"))));
        // 2: no data left: the markers get a horizon (10_050 + delete.retention.ms 100).
        clean(&mut log, 10_050);
        assert!(markers.iter().all(|m| has_marker(&log, *m)));
        // 3: past it, they go, and so does the aborted transaction's index entry.
        clean(&mut log, 20_000);
        assert!(
            markers.iter().all(|m| !has_marker(&log, *m)),
            "a marker outlived its horizon"
        );
        assert!(log.aborted_between(0, i64::MAX).is_empty());
    }
}

#[test]
fn markers_stay_while_a_replica_a_snapshot_or_their_producer_may_need_them() {
    let dir = TempDir::new("cleaner-markers-kept");
    // A replica whose log ends at the first marker has not read it yet: both stay.
    let mut log = Log::open(Storage::Memory, config()).unwrap();
    let markers = two_transactions(&mut log, false);
    clean_three_times(&mut log, markers[0], &|_, _| false);
    assert!(markers.iter().all(|m| has_marker(&log, *m)));
    // A producer whose last batch is its marker (its epoch was raised by it) keeps it.
    let mut log = Log::open(Storage::Memory, config()).unwrap();
    let markers = two_transactions(&mut log, false);
    let first = markers[0];
    clean_three_times(&mut log, i64::MAX, &|pid, base| pid == 7 && base == first);
    assert!(has_marker(&log, markers[0]));
    assert!(!has_marker(&log, markers[1]));
    // A snapshot taken while producer 7's transaction was open: a rebuild from it must read
    // both markers after it.
    let mut log = Log::open(Storage::Disk(dir.path().join("t-0")), config()).unwrap();
    let markers = two_transactions(&mut log, true);
    clean_three_times(&mut log, i64::MAX, &|_, _| false);
    assert!(markers.iter().all(|m| has_marker(&log, *m)));
}
