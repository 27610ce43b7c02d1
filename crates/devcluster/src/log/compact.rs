//! What log compaction keeps of a partition's batches (Kafka's `Cleaner`): the record rules,
//! without the segments. The cleaner that applies them to closed segments, and swaps the
//! cleaned segments in, builds on this.
//!
//! Kafka's rules, followed here:
//! - The **offset map** holds, for every key in the dirty section (the records written since
//!   the last cleaning, up to the first uncleanable offset), the offset of its latest record.
//!   Control batches and batches of aborted transactions do not count.
//! - A record is **kept** when no later record of its key is in the map (its offset is at or
//!   past the mapped one, or its key is not mapped), and it has a value, or it is a tombstone
//!   whose batch's delete horizon has not passed. A record without a key is dropped.
//! - A **tombstone** seen for the first time is kept, and its batch is rewritten with a delete
//!   horizon of `now + delete.retention.ms` (KIP-534): a later cleaning after that time drops
//!   it. Consumers that read the topic from the start within `delete.retention.ms` of the
//!   cleaning therefore still see the delete.
//! - **Aborted transactional batches** are dropped whole. A **transaction marker** is kept
//!   while any batch of its transaction is in the log. Once a cleaning finds none (an
//!   earlier one removed them), the marker is given a delete horizon of `now +
//!   delete.retention.ms`, and a cleaning after that removes it (Kafka's
//!   `containsMarkerForEmptyTxn`): a read_committed consumer that was part way through the
//!   transaction has that long to see how it ended. Some markers stay whatever their
//!   transaction: a producer's last one (it holds the epoch a transactions-v2 end raised, as
//!   Kafka keeps it), and those at or past the cleaning's marker floor, below which every
//!   replica's log and every producer-state snapshot already is (`cleaner.rs`). A control
//!   batch that is not a readable marker stays.
//! - The **last batch of an active producer** is kept even when none of its records is, as an
//!   empty batch with the same offsets, producer fields and sequence range, so the producer's
//!   next sequence is still checked after a restart (Kafka's `RETAIN_EMPTY`).
//! - A rewritten batch keeps its base offset, its last offset, its producer fields and its
//!   codec; the offsets of removed records become gaps, as in Kafka.

use std::collections::HashMap;

use bytes::Bytes;
use streamctl_protocol::record_batch::{Record, RecordBatch, RecordBatchBuilder};

/// Decompressing one batch is capped at this many bytes; a batch that needs more is kept as
/// it is rather than cleaned (it could only come from a producer past `max.message.bytes`
/// times the codec's ratio).
const MAX_DECOMPRESSED: usize = 256 << 20;

/// For each key of the dirty section, the offset of its latest record.
#[derive(Debug, Default)]
pub(crate) struct OffsetMap {
    latest: HashMap<Bytes, i64>,
}

impl OffsetMap {
    /// Adds the records of `batch` (a dirty batch, in offset order with the others), unless
    /// it is a control batch or belongs to an aborted transaction.
    pub(crate) fn add(&mut self, batch: &RecordBatch, aborted: bool) -> Result<(), String> {
        if batch.is_control() || aborted {
            return Ok(());
        }
        // A batch the cleaner cannot decode is kept whole (see `clean_batch`); leaving its
        // keys out only means older values of them are kept too.
        let Ok(records) = records(batch) else {
            return Ok(());
        };
        for record in records {
            if let Some(key) = record.key {
                self.latest.insert(key, record.offset);
            }
        }
        Ok(())
    }

    /// Number of keys mapped.
    pub(crate) fn len(&self) -> usize {
        self.latest.len()
    }

    /// Whether a later record of `key` than `offset` is mapped.
    fn superseded(&self, key: &[u8], offset: i64) -> bool {
        self.latest.get(key).is_some_and(|latest| *latest > offset)
    }
}

/// What cleaning does to one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cleaned {
    /// Kept byte for byte.
    Unchanged,
    /// Replaced by these bytes (fewer records, or the same with a delete horizon).
    Rewritten(Bytes),
    /// Removed from the log.
    Removed,
}

/// What the cleaner needs to know about a batch beyond its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchContext {
    /// It belongs to an aborted transaction.
    pub aborted: bool,
    /// It is the last batch of a producer the partition still remembers.
    pub last_of_producer: bool,
    /// It is a transaction marker, no batch of its transaction was in the log when the
    /// cleaning began, and it may go (below the cleaning's marker floor).
    pub marker_of_empty_txn: bool,
    /// The cleaning's wall-clock time.
    pub now_ms: i64,
    /// `delete.retention.ms`.
    pub delete_retention_ms: i64,
}

/// Cleans one batch against `map` (see the module docs for the rules).
pub(crate) fn clean_batch(
    batch: &RecordBatch,
    map: &OffsetMap,
    cx: BatchContext,
) -> Result<Cleaned, String> {
    let horizon = delete_horizon(batch);
    if batch.is_control() {
        // A producer's last marker stays: it holds the epoch it raised.
        if !cx.marker_of_empty_txn || cx.last_of_producer {
            return Ok(Cleaned::Unchanged);
        }
        return match horizon {
            Some(h) if cx.now_ms >= h => Ok(Cleaned::Removed),
            Some(_) => Ok(Cleaned::Unchanged),
            None => {
                let mut builder = RecordBatchBuilder::retaining(batch)
                    .delete_horizon(cx.now_ms.saturating_add(cx.delete_retention_ms));
                for record in records(batch)? {
                    builder.push_record(&record).map_err(|e| e.to_string())?;
                }
                builder
                    .build()
                    .map(Cleaned::Rewritten)
                    .map_err(|e| e.to_string())
            }
        };
    }
    let all = if cx.aborted {
        Vec::new()
    } else {
        match records(batch) {
            Ok(records) => records.collect::<Vec<Record>>(),
            Err(_) => return Ok(Cleaned::Unchanged),
        }
    };
    let total = usize::try_from(batch.record_count()).unwrap_or(0);
    let kept: Vec<&Record> = all
        .iter()
        .filter(|r| {
            let Some(key) = r.key.as_deref() else {
                return false;
            };
            if map.superseded(key, r.offset) {
                return false;
            }
            r.value.is_some() || horizon.is_none_or(|h| cx.now_ms < h)
        })
        .collect();
    let has_tombstone = kept.iter().any(|r| r.value.is_none());
    let set_horizon = has_tombstone && horizon.is_none();
    if kept.is_empty() && !cx.last_of_producer {
        return Ok(Cleaned::Removed);
    }
    if kept.len() == total && !set_horizon {
        return Ok(Cleaned::Unchanged);
    }
    let mut builder = RecordBatchBuilder::retaining(batch);
    if set_horizon {
        builder = builder.delete_horizon(cx.now_ms.saturating_add(cx.delete_retention_ms));
    } else if let Some(h) = horizon.filter(|_| !kept.is_empty()) {
        builder = builder.delete_horizon(h);
    }
    for record in kept {
        builder.push_record(record).map_err(|e| e.to_string())?;
    }
    builder
        .build()
        .map(Cleaned::Rewritten)
        .map_err(|e| e.to_string())
}

/// The batch's delete horizon (KIP-534), if the cleaner set one.
fn delete_horizon(batch: &RecordBatch) -> Option<i64> {
    const DELETE_HORIZON_BIT: i16 = 1 << 6;
    (batch.attributes() & DELETE_HORIZON_BIT != 0).then(|| batch.base_timestamp())
}

fn records(batch: &RecordBatch) -> Result<impl Iterator<Item = Record>, String> {
    let records = batch
        .records(MAX_DECOMPRESSED)
        .map_err(|e| format!("batch at offset {}: {e}", batch.base_offset()))?;
    records
        .collect::<Result<Vec<Record>, _>>()
        .map(Vec::into_iter)
        .map_err(|e| format!("batch at offset {}: {e}", batch.base_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamctl_protocol::compression::Compression;

    /// A batch at `base` of `(key, value)` records, optionally from producer `pid`.
    fn batch(base: i64, records: &[(Option<&str>, Option<&str>)], pid: Option<i64>) -> RecordBatch {
        let mut b = RecordBatchBuilder::new(Compression::Lz4).base_offset(base);
        if let Some(pid) = pid {
            b = b.producer(pid, 0, i32::try_from(base).unwrap());
        }
        for (key, value) in records {
            b.push(
                1_000 + base,
                key.map(str::as_bytes),
                value.map(str::as_bytes),
                &[],
            )
            .unwrap();
        }
        RecordBatch::from_bytes(b.build().unwrap()).unwrap()
    }

    fn cx(now_ms: i64) -> BatchContext {
        BatchContext {
            aborted: false,
            last_of_producer: false,
            marker_of_empty_txn: false,
            now_ms,
            delete_retention_ms: 100,
        }
    }

    /// (offset, key, value) of a batch's records.
    fn contents(bytes: &Bytes) -> Vec<(i64, Option<String>, Option<String>)> {
        let b = RecordBatch::from_bytes(bytes.clone()).unwrap();
        b.verify_crc().unwrap();
        let text = |v: Option<Bytes>| v.map(|v| String::from_utf8(v.to_vec()).unwrap());
        records(&b)
            .unwrap()
            .map(|r| (r.offset, text(r.key), text(r.value)))
            .collect()
    }

    #[test]
    fn only_the_latest_record_of_each_key_is_kept() {
        let old = batch(
            0,
            &[
                (Some("a"), Some("1")),
                (Some("b"), Some("1")),
                (Some("c"), Some("1")),
            ],
            None,
        );
        let new = batch(3, &[(Some("a"), Some("2")), (Some("c"), Some("2"))], None);
        let mut map = OffsetMap::default();
        map.add(&old, false).unwrap();
        map.add(&new, false).unwrap();
        assert_eq!(map.len(), 3);
        let Cleaned::Rewritten(bytes) = clean_batch(&old, &map, cx(0)).unwrap() else {
            panic!("the old batch loses a and c")
        };
        assert_eq!(contents(&bytes), [(1, Some("b".into()), Some("1".into()))]);
        let rewritten = RecordBatch::from_bytes(bytes).unwrap();
        assert_eq!((rewritten.base_offset(), rewritten.last_offset()), (0, 2));
        assert_eq!(clean_batch(&new, &map, cx(0)).unwrap(), Cleaned::Unchanged);
        // A batch whose every record is superseded goes.
        let older = batch(0, &[(Some("a"), Some("0"))], None);
        assert_eq!(clean_batch(&older, &map, cx(0)).unwrap(), Cleaned::Removed);
    }

    #[test]
    fn tombstones_get_a_horizon_then_go_after_it() {
        let delete = batch(5, &[(Some("a"), None), (Some("b"), Some("1"))], None);
        let mut map = OffsetMap::default();
        map.add(&delete, false).unwrap();
        // First cleaning at t=1000: kept, with the horizon 1000 + 100.
        let Cleaned::Rewritten(bytes) = clean_batch(&delete, &map, cx(1_000)).unwrap() else {
            panic!("the horizon is set")
        };
        let marked = RecordBatch::from_bytes(bytes).unwrap();
        assert_eq!(delete_horizon(&marked), Some(1_100));
        assert_eq!(records(&marked).unwrap().count(), 2);
        // Before the horizon: unchanged. After: the tombstone goes, the horizon stays with
        // the batch's remaining record.
        assert_eq!(
            clean_batch(&marked, &map, cx(1_099)).unwrap(),
            Cleaned::Unchanged
        );
        let Cleaned::Rewritten(bytes) = clean_batch(&marked, &map, cx(1_100)).unwrap() else {
            panic!("the tombstone goes")
        };
        assert_eq!(contents(&bytes), [(6, Some("b".into()), Some("1".into()))]);
    }

    #[test]
    fn keyless_records_and_aborted_batches_go_markers_stay() {
        let keyless = batch(0, &[(None, Some("x")), (Some("k"), Some("v"))], None);
        let map = OffsetMap::default();
        let Cleaned::Rewritten(bytes) = clean_batch(&keyless, &map, cx(0)).unwrap() else {
            panic!()
        };
        assert_eq!(contents(&bytes), [(1, Some("k".into()), Some("v".into()))]);

        let aborted = batch(2, &[(Some("k"), Some("never"))], Some(9));
        let mut map = OffsetMap::default();
        map.add(&aborted, true).unwrap();
        assert_eq!(map.len(), 0, "aborted records do not count");
        let mut c = cx(0);
        c.aborted = true;
        assert_eq!(clean_batch(&aborted, &map, c).unwrap(), Cleaned::Removed);

        let marker = streamctl_protocol::record_batch::EndTxnMarker {
            commit: false,
            coordinator_epoch: 0,
        }
        .batch(9, 0, 0)
        .unwrap();
        let marker = RecordBatch::from_bytes(marker).unwrap();
        assert_eq!(
            clean_batch(&marker, &map, cx(0)).unwrap(),
            Cleaned::Unchanged
        );
    }

    #[test]
    fn a_batch_that_cannot_be_decoded_is_kept_whole() {
        // A valid header and CRC over a records section that does not decompress.
        let good = batch(0, &[(Some("a"), Some("1"))], None);
        let mut raw = good.as_bytes().to_vec();
        raw[21..23].copy_from_slice(&4i16.to_be_bytes()); // attributes: zstd
        let crc = crc32c::crc32c(&raw[21..]);
        raw[17..21].copy_from_slice(&crc.to_be_bytes());
        let odd = RecordBatch::from_bytes(Bytes::from(raw)).unwrap();
        odd.verify_crc().unwrap();
        let mut map = OffsetMap::default();
        map.add(&odd, false).unwrap();
        assert_eq!(map.len(), 0);
        assert_eq!(clean_batch(&odd, &map, cx(0)).unwrap(), Cleaned::Unchanged);
    }

    #[test]
    fn the_last_batch_of_a_producer_stays_as_an_empty_batch() {
        let first = batch(0, &[(Some("a"), Some("1"))], Some(4));
        let second = batch(1, &[(Some("a"), Some("2"))], None);
        let mut map = OffsetMap::default();
        map.add(&first, false).unwrap();
        map.add(&second, false).unwrap();
        let mut c = cx(0);
        c.last_of_producer = true;
        let Cleaned::Rewritten(bytes) = clean_batch(&first, &map, c).unwrap() else {
            panic!("kept empty")
        };
        let empty = RecordBatch::from_bytes(bytes).unwrap();
        empty.verify_crc().unwrap();
        assert_eq!(empty.record_count(), 0);
        assert_eq!((empty.base_offset(), empty.last_offset()), (0, 0));
        assert_eq!((empty.producer_id(), empty.base_sequence()), (4, 0));
    }
}
