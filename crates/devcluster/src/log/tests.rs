//! Tests of [`Log`]. Most bodies run twice, against memory and against a directory, since the
//! two storages must behave the same.

use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::{RecordBatch, RecordBatchBuilder, RecordBatches};

use super::*;

use crate::test_support::TempDir;

/// The partition directory inside a test directory (created by the log itself).
fn partition_dir(dir: &TempDir) -> PathBuf {
    dir.path().join("topic-0")
}

/// Runs `body` against a memory log and against a disk log, both opened with `config`.
fn on_both(name: &str, config: LogConfig, body: impl Fn(&mut Log)) {
    let mut log = Log::open(Storage::Memory, config.clone()).unwrap();
    body(&mut log);
    let dir = TempDir::new(name);
    let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    body(&mut log);
}

/// A batch at `base` of `count` records, timestamps `timestamp`, `timestamp + 1`, ..., with
/// values of `value_len` bytes.
fn batch_with(base: i64, count: usize, timestamp: i64, value_len: usize) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None).base_offset(base);
    let value = vec![b'v'; value_len];
    for i in 0..count {
        builder
            .push(timestamp + i as i64, Some(b"key"), Some(&value), &[])
            .unwrap();
    }
    builder.build().unwrap().to_vec()
}

fn batch(base: i64, count: usize, timestamp: i64) -> Vec<u8> {
    batch_with(base, count, timestamp, 20)
}

/// Appends `n` batches of `per_batch` records, one append each, with timestamps rising by one
/// per record from `timestamp`; returns the batches.
fn fill(log: &mut Log, n: usize, per_batch: usize, timestamp: i64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let base = log.log_end_offset();
            let b = batch(base, per_batch, timestamp + base);
            log.append(&b).unwrap();
            b
        })
        .collect()
}

/// `(base offset, last offset)` of each batch in `bytes`, which must be whole batches.
fn ranges(bytes: &Bytes) -> Vec<(i64, i64)> {
    let mut batches = RecordBatches::new(bytes.clone());
    let out = batches
        .by_ref()
        .map(|b| {
            let b = b.unwrap();
            b.verify_crc().unwrap();
            (b.base_offset(), b.last_offset())
        })
        .collect();
    assert!(
        batches.remaining().is_empty(),
        "a read returned a partial batch"
    );
    out
}

fn read_all(log: &Log) -> Bytes {
    log.read(log.log_start_offset(), usize::MAX, i64::MAX, true)
        .unwrap()
}

fn small_segments() -> LogConfig {
    LogConfig {
        // Three of the three-record batches of `fill` (151 bytes) per segment.
        segment_bytes: 500,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

use crate::test_support::files_with_extension as segment_files;

#[test]
fn append_read_round_trip() {
    on_both("round-trip", LogConfig::default(), |log| {
        assert_eq!(log.log_end_offset(), 0);
        assert_eq!(read_all(log), Bytes::new());
        let first = batch(0, 5, 1_000);
        let second = batch(5, 3, 2_000);
        let third = batch(8, 1, 3_000);
        // Two batches in one append, then one.
        log.append(&[first.clone(), second.clone()].concat())
            .unwrap();
        log.append(&third).unwrap();
        let all = [first, second, third].concat();
        assert_eq!(log.log_start_offset(), 0);
        assert_eq!(log.log_end_offset(), 9);
        assert_eq!(log.size_bytes(), all.len() as u64);
        assert_eq!(read_all(log), all);
        assert_eq!(ranges(&read_all(log)), [(0, 4), (5, 7), (8, 8)]);
        // An empty append changes nothing.
        log.append(&[]).unwrap();
        assert_eq!(log.log_end_offset(), 9);
    });
}

#[test]
fn read_from_the_middle_of_a_batch_returns_the_whole_batch() {
    on_both("mid-batch", LogConfig::default(), |log| {
        fill(log, 3, 5, 0);
        let got = log.read(7, usize::MAX, i64::MAX, false).unwrap();
        assert_eq!(ranges(&got), [(5, 9), (10, 14)]);
        let got = log.read(14, usize::MAX, i64::MAX, false).unwrap();
        assert_eq!(ranges(&got), [(10, 14)]);
    });
}

#[test]
fn min_one_returns_a_batch_larger_than_max_bytes() {
    on_both("min-one", LogConfig::default(), |log| {
        let big = batch_with(0, 4, 0, 500);
        let small = batch(4, 1, 0);
        log.append(&[big.clone(), small.clone()].concat()).unwrap();
        assert!(big.len() > 1_000);
        // KIP-74: the first batch whole even if it passes max_bytes, and nothing more.
        assert_eq!(log.read(0, 100, i64::MAX, true).unwrap(), big);
        assert_eq!(log.read(0, 100, i64::MAX, false).unwrap(), Bytes::new());
        assert_eq!(log.read(0, 0, i64::MAX, true).unwrap(), big);
        // Otherwise only batches that fit whole.
        let fits_one = big.len() + small.len() - 1;
        assert_eq!(log.read(0, fits_one, i64::MAX, true).unwrap(), big);
        let fits_both = big.len() + small.len();
        assert_eq!(
            ranges(&log.read(0, fits_both, i64::MAX, false).unwrap()).len(),
            2
        );
    });
}

#[test]
fn upper_bound_hides_unreplicated_batches() {
    on_both("upper-bound", LogConfig::default(), |log| {
        fill(log, 3, 5, 0); // 0-4, 5-9, 10-14
        let read = |offset, upper| ranges(&log.read(offset, usize::MAX, upper, true).unwrap());
        assert_eq!(read(0, 10), [(0, 4), (5, 9)]);
        // A batch is visible only when all of it is below the bound.
        assert_eq!(read(0, 9), [(0, 4)]);
        assert_eq!(read(0, 4), []);
        assert_eq!(read(5, 5), []);
        assert_eq!(read(3, 15), [(0, 4), (5, 9), (10, 14)]);
        // A bound past the log end is the log end.
        assert_eq!(read(10, i64::MAX), [(10, 14)]);
    });
}

#[test]
fn offsets_outside_the_log_are_out_of_range() {
    on_both("out-of-range", LogConfig::default(), |log| {
        fill(log, 2, 5, 0);
        assert_eq!(log.read(10, 1 << 20, i64::MAX, true).unwrap(), Bytes::new());
        for offset in [-1, 11, i64::MAX] {
            match log.read(offset, 1 << 20, i64::MAX, true) {
                Err(LogError::OffsetOutOfRange {
                    offset: o,
                    log_start_offset: 0,
                    log_end_offset: 10,
                }) => assert_eq!(o, offset),
                other => panic!("read at {offset}: {other:?}"),
            }
        }
    });
}

#[test]
fn append_checks_batches_and_writes_nothing_on_error() {
    on_both("bad-append", LogConfig::default(), |log| {
        fill(log, 1, 5, 0);
        let good = batch(5, 2, 0);
        // Not at the log end.
        let err = log.append(&batch(6, 2, 0)).unwrap_err();
        assert!(matches!(
            err,
            LogError::UnexpectedBaseOffset {
                expected: 5,
                found: 6
            }
        ));
        // A good batch followed by one with a gap: all or nothing.
        let err = log
            .append(&[good.clone(), batch(8, 1, 0)].concat())
            .unwrap_err();
        assert!(matches!(
            err,
            LogError::UnexpectedBaseOffset { expected: 7, .. }
        ));
        // Cut short, and a flipped bit.
        let err = log.append(&good[..good.len() - 3]).unwrap_err();
        assert!(matches!(err, LogError::InvalidBatch { position: 0, .. }));
        assert_eq!(err.error_code(), ErrorCode::CorruptMessage);
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = log.append(&[good.clone(), flipped].concat()).unwrap_err();
        assert!(
            matches!(&err, LogError::InvalidBatch { position, reason } if *position == good.len() && reason.contains("crc")),
            "{err}"
        );
        assert_eq!(log.log_end_offset(), 5);
        assert_eq!(ranges(&read_all(log)), [(0, 4)]);
        log.append(&good).unwrap();
        assert_eq!(log.log_end_offset(), 7);
    });
}

#[test]
fn a_batch_larger_than_a_segment_is_refused() {
    let config = LogConfig {
        segment_bytes: 500,
        ..LogConfig::default()
    };
    on_both("too-large", config, |log| {
        let err = log.append(&batch_with(0, 2, 0, 400)).unwrap_err();
        assert!(matches!(err, LogError::BatchTooLarge { .. }), "{err}");
        assert_eq!(err.error_code(), ErrorCode::RecordListTooLarge);
    });
}

#[test]
fn segments_roll_and_reads_cross_them() {
    on_both("roll", small_segments(), |log| {
        let mut batches = fill(log, 12, 3, 0);
        // Several batches in one append may roll in the middle, too.
        let many: Vec<Vec<u8>> = (0..7).map(|i| batch(36 + 3 * i, 3, 0)).collect();
        log.append(&many.concat()).unwrap();
        batches.extend(many);
        assert_eq!(log.log_end_offset(), 57);
        assert!(log.segment_count() >= 5, "{} segments", log.segment_count());
        assert!(log.segments().all(|s| s.size() <= 500));
        let all = batches.concat();
        assert_eq!(read_all(log), all);
        assert_eq!(log.size_bytes(), all.len() as u64);
        // From every offset: the batch holding it and everything after.
        for offset in 0..57 {
            let got = ranges(&log.read(offset, usize::MAX, i64::MAX, true).unwrap());
            assert_eq!(got.first(), Some(&(offset / 3 * 3, offset / 3 * 3 + 2)));
            assert_eq!(got.last(), Some(&(54, 56)));
        }
        // max_bytes is honoured across segment boundaries.
        let size = batches[0].len();
        let got = log.read(0, size * 5 + 1, i64::MAX, true).unwrap();
        assert_eq!(got.len(), size * 5);
        assert_eq!(ranges(&got).len(), 5);
    });
}

#[test]
fn segment_ms_rolls_on_record_time() {
    let config = LogConfig {
        segment_ms: Some(1_000),
        ..LogConfig::default()
    };
    on_both("segment-ms", config, |log| {
        log.append(&batch(0, 1, 10_000)).unwrap();
        log.append(&batch(1, 1, 10_500)).unwrap();
        assert_eq!(log.segment_count(), 1);
        log.append(&batch(2, 1, 11_001)).unwrap();
        assert_eq!(log.segment_count(), 2);
        // In one append, the first batch of a new segment starts the clock.
        log.append(&[batch(3, 1, 11_500), batch(4, 1, 12_002)].concat())
            .unwrap();
        assert_eq!(log.segment_count(), 3);
        assert_eq!(ranges(&read_all(log)).len(), 5);
    });
}

#[test]
fn a_follower_copies_batches_with_gaps_and_they_survive_a_reopen() {
    // What a leader's compacted log looks like: offsets missing between batches, and the
    // next segment starting past the previous one's last batch.
    let dir = TempDir::new("gaps");
    let config = small_segments();
    let batches = [
        batch(0, 3, 0),
        batch(5, 2, 5),
        batch(9, 3, 9),
        batch(20, 3, 20),
        batch(30, 1, 30),
    ];
    let expected = [(0, 2), (5, 6), (9, 11), (20, 22), (30, 30)];
    {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
        // A leader never writes a gap.
        assert!(matches!(
            log.append(&[batches[0].clone(), batches[1].clone()].concat()),
            Err(LogError::UnexpectedBaseOffset {
                expected: 3,
                found: 5
            })
        ));
        log.append_replicated(&batches[..3].concat()).unwrap();
        log.append_replicated(&batches[3..].concat()).unwrap();
        // An overlap is still refused.
        assert!(log.append_replicated(&batch(30, 1, 0)).is_err());
        assert_eq!(log.log_end_offset(), 31);
        assert_eq!(ranges(&read_all(&log)), expected);
        // A read at a missing offset returns the next batch, as Kafka's does.
        assert_eq!(
            ranges(&log.read(14, 1, i64::MAX, true).unwrap()),
            [(20, 22)]
        );
        log.flush().unwrap();
    }
    assert!(segment_files(&partition_dir(&dir), "log").len() > 1);
    // Recovery takes the gaps for what they are, not for torn writes.
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    assert_eq!(log.log_end_offset(), 31);
    assert_eq!(ranges(&read_all(&log)), expected);
}

#[test]
fn reopen_keeps_everything() {
    let dir = TempDir::new("reopen");
    let config = small_segments();
    let (all, leo, max, by_time) = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
        fill(&mut log, 20, 3, 100);
        log.flush().unwrap();
        (
            read_all(&log),
            log.log_end_offset(),
            log.max_timestamp(),
            log.offset_for_timestamp(140).unwrap(),
        )
    };
    assert!(segment_files(&partition_dir(&dir), "log").len() > 3);
    let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
    assert_eq!(log.log_end_offset(), leo);
    assert_eq!(read_all(&log), all);
    assert_eq!(log.max_timestamp(), max);
    assert_eq!(log.offset_for_timestamp(140).unwrap(), by_time);
    for offset in 0..leo {
        let got = log.read(offset, 1, i64::MAX, true).unwrap();
        assert_eq!(ranges(&got), [(offset / 3 * 3, offset / 3 * 3 + 2)]);
    }
    // Appends go on where the log ended, and survive another reopen.
    let more = fill(&mut log, 5, 3, 100);
    drop(log);
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    assert_eq!(log.log_end_offset(), leo + 15);
    assert_eq!(read_all(&log), [all.to_vec(), more.concat()].concat());
}

/// A crash that tears the last write leaves the active segment cut somewhere inside a batch.
#[test]
fn a_segment_cut_mid_batch_recovers_every_whole_batch_and_nothing_else() {
    let dir = TempDir::new("torn");
    let batches = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), LogConfig::default()).unwrap();
        fill(&mut log, 6, 4, 0)
    };
    let log_file = segment_files(&partition_dir(&dir), "log").pop().unwrap();
    let whole = fs::read(&log_file).unwrap();
    let starts: Vec<usize> = batches
        .iter()
        .scan(0, |pos, b| {
            let start = *pos;
            *pos += b.len();
            Some(start)
        })
        .collect();
    // Cut inside the header, just after it, in the records and one byte short, of the last
    // batch and of one in the middle.
    for (victim, within) in [(5, 1), (5, 30), (5, 61), (5, 80), (5, batches[5].len() - 1)]
        .into_iter()
        .chain([(2, 7), (2, 70), (0, 12)])
    {
        let cut = starts[victim] + within;
        fs::write(&log_file, &whole[..cut]).unwrap();
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), LogConfig::default()).unwrap();
        let kept = batches[..victim].concat();
        assert_eq!(log.log_end_offset(), 4 * victim as i64, "cut at {cut}");
        assert_eq!(read_all(&log), kept, "cut at {cut}");
        assert_eq!(fs::metadata(&log_file).unwrap().len(), kept.len() as u64);
        // The log goes on from there.
        log.append(&batch(log.log_end_offset(), 2, 0)).unwrap();
        assert_eq!(ranges(&read_all(&log)).len(), victim + 1);
    }
}

#[test]
fn a_flipped_byte_in_the_last_batch_is_truncated_at_recovery() {
    let dir = TempDir::new("flipped");
    let batches = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), LogConfig::default()).unwrap();
        fill(&mut log, 4, 4, 0)
    };
    let log_file = segment_files(&partition_dir(&dir), "log").pop().unwrap();
    let mut bytes = fs::read(&log_file).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x08;
    fs::write(&log_file, &bytes).unwrap();
    let log = Log::open(Storage::Disk(partition_dir(&dir)), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(read_all(&log), batches[..3].concat());
}

#[test]
fn bad_indexes_are_rebuilt() {
    let dir = TempDir::new("rebuild");
    let config = small_segments();
    let all = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
        fill(&mut log, 20, 3, 0);
        read_all(&log)
    };
    let logs = segment_files(&partition_dir(&dir), "log");
    let indexes = segment_files(&partition_dir(&dir), "index");
    let time_indexes = segment_files(&partition_dir(&dir), "timeindex");
    assert_eq!(logs.len(), indexes.len());
    // One index gone, one full of garbage, one time index cut short, and an index without
    // its segment.
    fs::remove_file(&indexes[0]).unwrap();
    fs::write(&indexes[1], [0xff; 24]).unwrap();
    let t = fs::read(&time_indexes[2]).unwrap();
    fs::write(&time_indexes[2], &t[..t.len() - 1]).unwrap();
    fs::remove_file(&time_indexes[3]).unwrap();
    let orphan = partition_dir(&dir).join(dir::file_name(999_999, "index"));
    fs::write(&orphan, [0; 8]).unwrap();
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
    assert_eq!(read_all(&log), all);
    for offset in 0..log.log_end_offset() {
        let got = log.read(offset, 1, i64::MAX, true).unwrap();
        assert_eq!(ranges(&got)[0].0, offset / 3 * 3);
    }
    assert!(!orphan.exists());
    assert!(indexes[0].exists());
    // The largest timestamp of each segment was recomputed, not guessed from a lost index.
    assert_eq!(log.max_timestamp(), Some((59, 57)));
    assert_eq!(log.offset_for_timestamp(31).unwrap(), Some((31, 31)));
    drop(log);
    // Indexes written by the rebuild are read back as they are.
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    assert_eq!(read_all(&log), all);
}

#[test]
fn a_sealed_segment_with_a_cut_tail_loses_only_that_batch() {
    let dir = TempDir::new("sealed-tail");
    let config = small_segments();
    let batches = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
        fill(&mut log, 12, 3, 0)
    };
    // Three batches per segment: the second segment holds batches 3, 4 and 5.
    let logs = segment_files(&partition_dir(&dir), "log");
    assert_eq!(logs.len(), 4);
    let second = fs::read(&logs[1]).unwrap();
    fs::write(&logs[1], &second[..second.len() - 5]).unwrap();
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    let kept: Vec<u8> = batches
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5)
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    assert_eq!(read_all(&log), kept);
    assert_eq!(log.log_end_offset(), 36);
    // A read from the lost offsets moves on to the next batch there is.
    let got = log.read(15, usize::MAX, i64::MAX, true).unwrap();
    assert_eq!(ranges(&got)[0], (18, 20));
}

#[test]
fn retention_by_size_deletes_the_oldest_segments() {
    let config = LogConfig {
        retention_bytes: Some(1_500),
        // The batches are from 1970: only size may count here.
        retention_ms: None,
        ..small_segments()
    };
    on_both("retention-size", config, |log| {
        fill(log, 20, 3, 0);
        let before = log.segment_count();
        let size = log.size_bytes();
        let deleted = log.apply_retention(now_ms(), i64::MAX).unwrap();
        assert!(deleted > 0);
        assert_eq!(log.segment_count(), before - deleted);
        assert!(log.size_bytes() >= 1_500);
        // Deleting one more segment would go below the limit.
        let oldest = log.sealed.front().map_or(0, Segment::size);
        assert!(
            log.size_bytes() - oldest < 1_500,
            "{size} -> {}",
            log.size_bytes()
        );
        // The log now starts at the first remaining segment.
        let first = log.sealed.front().unwrap().base_offset();
        assert_eq!(log.log_start_offset(), first);
        assert!(matches!(
            log.read(first - 1, 1_000, i64::MAX, true),
            Err(LogError::OffsetOutOfRange { .. })
        ));
        assert_eq!(
            ranges(&log.read(first, 1_000, i64::MAX, true).unwrap())[0].0,
            first
        );
        assert_eq!(log.apply_retention(now_ms(), i64::MAX).unwrap(), 0);
    });
}

#[test]
fn retention_never_deletes_a_segment_holding_uncommitted_offsets() {
    // Old client timestamps make every segment expired at once; only those wholly below the
    // bound (the high watermark) may go, or an acks=all record could vanish before the ISR
    // had it and then be acknowledged.
    let config = LogConfig {
        retention_ms: Some(10_000),
        ..small_segments()
    };
    on_both("retention-bound", config, |log| {
        fill(log, 10, 3, 1_000);
        assert_eq!(log.apply_retention(1_000_000, 0).unwrap(), 0);
        assert_eq!(log.log_start_offset(), 0);
        let deleted = log.apply_retention(1_000_000, 12).unwrap();
        assert!(deleted > 0);
        let start = log.log_start_offset();
        assert!(start <= 12, "log start {start} passed the bound 12");
    });
}

#[test]
fn retention_by_time_deletes_old_segments_but_never_the_active_one() {
    let config = LogConfig {
        retention_ms: Some(10_000),
        ..small_segments()
    };
    on_both("retention-time", config, |log| {
        // Offsets 0..30 at times 1_000.., then 30..60 at times 50_000..
        fill(log, 10, 3, 1_000);
        fill(log, 10, 3, 50_000);
        let before = log.segment_count();
        // At 55_000 everything from the first fill is older than 10 s.
        let deleted = log.apply_retention(55_000, i64::MAX).unwrap();
        assert!(deleted > 0);
        assert_eq!(log.segment_count(), before - deleted);
        let first = log.log_start_offset();
        assert!((25..=30).contains(&first), "log start {first}");
        // Far in the future: all sealed segments go, the active one stays.
        log.apply_retention(1_000_000, i64::MAX).unwrap();
        assert_eq!(log.segment_count(), 1);
        assert_eq!(log.log_end_offset(), 60);
        assert_eq!(log.log_start_offset(), log.active.base_offset());
        assert!(!read_all(log).is_empty());
    });
}

#[test]
fn delete_records_moves_the_log_start_offset() {
    on_both("delete-records", small_segments(), |log| {
        fill(log, 20, 3, 0);
        let segments = log.segment_count();
        assert_eq!(log.delete_records_before(31).unwrap(), 31);
        assert_eq!(log.log_start_offset(), 31);
        assert!(log.segment_count() < segments);
        assert!(matches!(
            log.read(30, 1 << 20, i64::MAX, true),
            Err(LogError::OffsetOutOfRange {
                offset: 30,
                log_start_offset: 31,
                ..
            })
        ));
        // The batch holding the start offset is served whole.
        assert_eq!(ranges(&read_all(log))[0], (30, 32));
        // Lowering it is a no-op; past the end is out of range.
        assert_eq!(log.delete_records_before(5).unwrap(), 31);
        assert!(log.delete_records_before(61).is_err());
        assert_eq!(log.delete_records_before(60).unwrap(), 60);
        assert_eq!(read_all(log), Bytes::new());
        assert_eq!(log.segment_count(), 1);
    });
}

#[test]
fn delete_records_survives_reopen() {
    let dir = TempDir::new("delete-records-reopen");
    {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), small_segments()).unwrap();
        fill(&mut log, 20, 3, 0);
        log.delete_records_before(31).unwrap();
    }
    let log = Log::open(Storage::Disk(partition_dir(&dir)), small_segments()).unwrap();
    assert_eq!(log.log_start_offset(), 31);
    assert_eq!(log.log_end_offset(), 60);
    assert!(log.read(30, 100, i64::MAX, true).is_err());
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let config = LogConfig {
        segment_bytes: 300,
        ..small_segments()
    };
    on_both("timestamps", config, |log| {
        // Offset n has timestamp 1_000 + 10 * n, in batches of three.
        for base in (0..30).step_by(3) {
            let mut builder = RecordBatchBuilder::new(Compression::None).base_offset(base);
            for n in base..base + 3 {
                builder.push(1_000 + 10 * n, None, Some(b"v"), &[]).unwrap();
            }
            log.append(&builder.build().unwrap()).unwrap();
        }
        assert!(log.segment_count() > 1);
        let find = |ts| log.offset_for_timestamp(ts).unwrap();
        assert_eq!(find(0), Some((0, 1_000)));
        assert_eq!(find(1_000), Some((0, 1_000)));
        // Inside a batch: the exact record, not the batch start.
        assert_eq!(find(1_041), Some((5, 1_050)));
        assert_eq!(find(1_050), Some((5, 1_050)));
        assert_eq!(find(1_290), Some((29, 1_290)));
        assert_eq!(find(1_291), None);
        assert_eq!(log.max_timestamp(), Some((1_290, 27)));
        // Nothing below the log start offset is an answer.
        log.delete_records_before(13).unwrap();
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((13, 1_130)));
    });
}

#[test]
fn max_timestamp_keeps_the_first_batch_with_it() {
    on_both("max-timestamp", LogConfig::default(), |log| {
        assert_eq!(log.max_timestamp(), None);
        log.append(&batch(0, 2, 500)).unwrap(); // max 501
        log.append(&batch(2, 2, 900)).unwrap(); // max 901
        log.append(&batch(4, 2, 900)).unwrap(); // max 901 again
        log.append(&batch(6, 2, 100)).unwrap();
        assert_eq!(log.max_timestamp(), Some((901, 2)));
        // Out-of-order timestamps: the lookup still finds the first batch that reaches it.
        assert_eq!(log.offset_for_timestamp(600).unwrap(), Some((2, 900)));
    });
}

#[test]
fn truncate_to_drops_the_tail() {
    on_both("truncate", small_segments(), |log| {
        let batches = fill(log, 20, 3, 0);
        // Inside the active segment, at a batch boundary.
        log.truncate_to(57).unwrap();
        assert_eq!(log.log_end_offset(), 57);
        assert_eq!(read_all(log), batches[..19].concat());
        // Across segments, in the middle of a batch: the batch goes whole.
        let segments = log.segment_count();
        log.truncate_to(25).unwrap();
        assert_eq!(log.log_end_offset(), 24);
        assert!(log.segment_count() < segments);
        assert_eq!(read_all(log), batches[..8].concat());
        assert_eq!(log.max_timestamp(), Some((23, 21)));
        assert_eq!(log.offset_for_timestamp(24).unwrap(), None);
        // The log goes on from the new end, rolling as before.
        let more = fill(log, 10, 3, 0);
        assert_eq!(
            read_all(log),
            [batches[..8].concat(), more.concat()].concat()
        );
        // Past the end: nothing happens.
        log.truncate_to(1_000).unwrap();
        assert_eq!(log.log_end_offset(), 54);
    });
}

#[test]
fn truncate_below_the_log_start_restarts_the_log() {
    on_both("truncate-all", small_segments(), |log| {
        fill(log, 20, 3, 0);
        log.delete_records_before(40).unwrap();
        log.truncate_to(12).unwrap();
        assert_eq!(log.log_start_offset(), 12);
        assert_eq!(log.log_end_offset(), 12);
        assert_eq!(log.segment_count(), 1);
        assert_eq!(read_all(log), Bytes::new());
        let more = fill(log, 2, 3, 0);
        assert_eq!(read_all(log), more.concat());
        log.truncate_to(0).unwrap();
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    });
}

#[test]
fn truncation_survives_reopen() {
    let dir = TempDir::new("truncate-reopen");
    let config = small_segments();
    let expected = {
        let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
        fill(&mut log, 20, 3, 0);
        log.truncate_to(25).unwrap();
        fill(&mut log, 4, 3, 0);
        read_all(&log)
    };
    let log = Log::open(Storage::Disk(partition_dir(&dir)), config).unwrap();
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.log_end_offset(), 36);
    assert_eq!(log.offset_for_timestamp(30).unwrap(), Some((30, 30)));
}

#[test]
fn flush_messages_and_flush_ms() {
    let config = LogConfig {
        flush_messages: Some(5),
        flush_ms: Some(1_000),
        ..LogConfig::default()
    };
    on_both("flush", config, |log| {
        fill(log, 1, 3, 0);
        assert_eq!(log.unflushed_messages, 3);
        fill(log, 1, 3, 0);
        assert_eq!(log.unflushed_messages, 0);
        assert!(!log.flush_if_due(now_ms() + 5_000).unwrap());
        fill(log, 1, 1, 0);
        assert!(!log.flush_if_due(now_ms() - 5_000).unwrap());
        assert!(log.flush_if_due(now_ms() + 5_000).unwrap());
        assert!(!log.unflushed);
    });
}

#[test]
fn delete_removes_the_partition_directory() {
    let dir = TempDir::new("delete");
    let mut log = Log::open(Storage::Disk(partition_dir(&dir)), small_segments()).unwrap();
    fill(&mut log, 10, 3, 0);
    log.delete_records_before(4).unwrap();
    assert!(partition_dir(&dir)
        .join(dir::LOG_START_OFFSET_FILE)
        .exists());
    log.delete().unwrap();
    assert!(!partition_dir(&dir).exists());
    let log = Log::open(Storage::Memory, LogConfig::default()).unwrap();
    log.delete().unwrap();
}

#[test]
fn config_accepts_kafka_names() {
    let mut config = LogConfig::default();
    assert!(config.set("segment.bytes", "1048576").unwrap());
    assert!(config.set("retention.ms", "-1").unwrap());
    assert!(config.set("retention.bytes", "1000").unwrap());
    assert!(config.set("flush.messages", "1").unwrap());
    assert!(!config.set("cleanup.policy", "compact").unwrap());
    assert_eq!(config.segment_bytes, 1 << 20);
    assert_eq!(config.retention_ms, None);
    assert_eq!(config.retention_bytes, Some(1_000));
    assert_eq!(config.flush_messages, Some(1));
    let err = config.set("segment.ms", "soon").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value \"soon\" for config segment.ms"
    );
    assert!(config.set("segment.bytes", "-1").is_err());
}

/// The same random operations on a memory log and on a disk log that is reopened now and
/// then must give the same reads.
#[test]
fn memory_and_disk_agree_under_random_operations() {
    let dir = TempDir::new("agree");
    let config = LogConfig {
        segment_bytes: 700,
        index_interval_bytes: 150,
        retention_bytes: Some(3_000),
        ..LogConfig::default()
    };
    let mut memory = Log::open(Storage::Memory, config.clone()).unwrap();
    let mut disk = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
    // What the log must hold: every batch appended and not truncated, as (last offset, bytes);
    // reads serve those whose last offset reaches the log start offset.
    let mut model: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..400 {
        let op = next(100);
        let leo = memory.log_end_offset();
        let start = memory.log_start_offset();
        match op {
            0..=59 => {
                let count = 1 + next(3) as usize;
                let mut bytes = Vec::new();
                let mut base = leo;
                for _ in 0..count {
                    let records = 1 + next(6) as usize;
                    let b = batch_with(base, records, 1_000 + base, next(60) as usize);
                    let parsed = RecordBatch::from_bytes(Bytes::from(b.clone())).unwrap();
                    base = parsed.next_offset();
                    model.push((parsed.last_offset(), b.clone()));
                    bytes.extend(b);
                }
                memory.append(&bytes).unwrap();
                disk.append(&bytes).unwrap();
            }
            60..=69 => {
                let to = start + next((leo - start + 1) as u64) as i64;
                memory.truncate_to(to).unwrap();
                disk.truncate_to(to).unwrap();
                model.retain(|(last, _)| *last < to);
            }
            70..=74 => {
                let to = start + next((leo - start + 1) as u64) as i64;
                assert_eq!(
                    memory.delete_records_before(to).unwrap(),
                    disk.delete_records_before(to).unwrap()
                );
            }
            75..=79 => {
                assert_eq!(
                    memory.apply_retention(0, i64::MAX).unwrap(),
                    disk.apply_retention(0, i64::MAX).unwrap()
                );
            }
            80..=84 => {
                drop(disk);
                disk = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
            }
            _ => {
                let offset = start + next((leo - start + 1) as u64) as i64;
                let max = next(2_000) as usize;
                let upper = offset + next(30) as i64;
                let min_one = next(2) == 0;
                let m = memory.read(offset, max, upper, min_one).unwrap();
                let d = disk.read(offset, max, upper, min_one).unwrap();
                assert_eq!(
                    m, d,
                    "step {step}: read({offset}, {max}, {upper}, {min_one})"
                );
                ranges(&m);
                let ts = 1_000 + next(leo.max(1) as u64) as i64;
                assert_eq!(
                    memory.offset_for_timestamp(ts).unwrap(),
                    disk.offset_for_timestamp(ts).unwrap(),
                    "step {step}: timestamp {ts}"
                );
            }
        }
        assert_eq!(
            (memory.log_start_offset(), memory.log_end_offset()),
            (disk.log_start_offset(), disk.log_end_offset()),
            "step {step}, op {op}"
        );
        assert_eq!(memory.max_timestamp(), disk.max_timestamp(), "step {step}");
        let expected: Vec<u8> = model
            .iter()
            .filter(|(last, _)| *last >= memory.log_start_offset())
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        assert_eq!(read_all(&memory), expected, "step {step}");
        assert_eq!(read_all(&disk), expected, "step {step}");
        let model_end = model
            .last()
            .map_or(memory.log_end_offset(), |(last, _)| last + 1);
        assert_eq!(memory.log_end_offset(), model_end, "step {step}");
    }
}

/// Damaged files never make the log panic: opening either fails with an error or gives a log
/// whose reads are whole, valid batches (or errors).
#[test]
fn damaged_files_give_errors_not_panics() {
    let dir = TempDir::new("damaged");
    let config = LogConfig {
        index_interval_bytes: 100,
        ..small_segments()
    };
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    };
    for _ in 0..60 {
        let _ = fs::remove_dir_all(partition_dir(&dir));
        {
            let mut log = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()).unwrap();
            fill(&mut log, 10, 3, 0);
        }
        let mut files: Vec<PathBuf> = ["log", "index", "timeindex"]
            .iter()
            .flat_map(|suffix| segment_files(&partition_dir(&dir), suffix))
            .collect();
        files.sort();
        let active_log = segment_files(&partition_dir(&dir), "log").pop().unwrap();
        // Damage in the middle of a sealed segment's `.log` is served as it is, as Kafka does
        // (those segments are trusted, and clients check CRCs); anywhere else it is caught.
        let mut caught = true;
        for _ in 0..1 + next(3) {
            let path = &files[next(files.len() as u64) as usize];
            caught &= path.extension().is_some_and(|e| e != "log") || *path == active_log;
            let mut bytes = fs::read(path).unwrap();
            match next(3) {
                0 if !bytes.is_empty() => {
                    let at = next(bytes.len() as u64) as usize;
                    bytes[at] = next(256) as u8;
                }
                1 => bytes.truncate(next(bytes.len() as u64 + 1) as usize),
                _ => bytes.extend((0..next(40)).map(|_| next(256) as u8)),
            }
            fs::write(path, bytes).unwrap();
        }
        let Ok(log) = Log::open(Storage::Disk(partition_dir(&dir)), config.clone()) else {
            continue;
        };
        for offset in log.log_start_offset()..=log.log_end_offset() {
            // A damaged index entry inside a sealed segment can make a read fail (Kafka's
            // indexes are trusted the same way), but never serve a damaged batch.
            match log.read(offset, 1 + next(2_000) as usize, i64::MAX, true) {
                Ok(bytes) if caught => drop(ranges(&bytes)),
                Err(e) if caught => assert!(matches!(e, LogError::Corrupt { .. }), "{e}"),
                _ => {}
            }
            let _ = log.offset_for_timestamp(offset);
        }
    }
}
