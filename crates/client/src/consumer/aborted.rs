//! Read committed: which fetched batches belong to aborted transactions.
//!
//! The broker never filters records for a read_committed consumer; it stops at the last
//! stable offset and lists the transactions aborted within what it returned
//! (`aborted_transactions`: producer id and first offset). The client skips them, by Kafka's
//! rule (Java's `CompletedFetch`, KIP-98):
//!
//! ```text
//!  aborted_transactions ──▶ min-heap by first_offset
//!  each batch with a producer id, in log order:
//!      pop every entry with first_offset <= batch.last_offset ──▶ aborted producers += its id
//!      ABORT control batch        ──▶ aborted producers -= its producer (the transaction ended)
//!      transactional data batch of an aborted producer ──▶ skipped whole
//!  control batches are never returned (the fetcher skips them in every isolation level)
//! ```
//!
//! A producer has at most one transaction open per partition, so "this producer is inside an
//! aborted transaction" is exact between the transaction's first offset and its ABORT marker;
//! a later committed transaction of the same producer starts after that marker.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use streamctl_protocol::record_batch::{
    control_record_type, RecordBatch, CONTROL_TYPE_ABORT, NO_PRODUCER_ID,
};

/// The read_committed filter over one partition's fetched batches, fed in log order.
#[derive(Debug, Default)]
pub(crate) struct AbortedTransactions {
    /// Aborted transactions not reached yet, earliest first offset on top.
    pending: BinaryHeap<Reverse<(i64, i64)>>,
    /// Producers whose aborted transaction the batches have entered and not yet left.
    aborted_producers: HashSet<i64>,
}

/// What a batch is, for a read_committed consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand its records out (subject to the fetch offset).
    Keep,
    /// Data of an aborted transaction: skip the whole batch.
    Aborted,
}

impl AbortedTransactions {
    /// The filter for one partition's answer, from its `(producer_id, first_offset)` list.
    pub(crate) fn new(aborted: impl IntoIterator<Item = (i64, i64)>) -> Self {
        Self {
            pending: aborted
                .into_iter()
                .map(|(producer_id, first_offset)| Reverse((first_offset, producer_id)))
                .collect(),
            aborted_producers: HashSet::new(),
        }
    }

    /// Judges the next batch. Control batches come back [`Verdict::Keep`] (the caller skips
    /// them anyway); an ABORT marker among them ends its producer's aborted transaction.
    pub(crate) fn judge(&mut self, batch: &RecordBatch) -> Verdict {
        let producer_id = batch.producer_id();
        if producer_id == NO_PRODUCER_ID {
            return Verdict::Keep;
        }
        while let Some(&Reverse((first_offset, aborted_producer))) = self.pending.peek() {
            if first_offset > batch.last_offset() {
                break;
            }
            self.pending.pop();
            self.aborted_producers.insert(aborted_producer);
        }
        if batch.is_control() {
            if is_abort_marker(batch) {
                self.aborted_producers.remove(&producer_id);
            }
            return Verdict::Keep;
        }
        if batch.is_transactional() && self.aborted_producers.contains(&producer_id) {
            Verdict::Aborted
        } else {
            Verdict::Keep
        }
    }
}

/// Whether a control batch holds an ABORT marker (its key says so; the value is not read, as
/// in Java). A key that cannot be read is not an abort (Java refuses it as corrupt; here the
/// batch is skipped either way, and only the end of the aborted range is lost).
fn is_abort_marker(batch: &RecordBatch) -> bool {
    matches!(control_record_type(batch), Ok(Some(CONTROL_TYPE_ABORT)))
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::record_batch::{
        rewrite_base_offset, EndTxnMarker, RecordBatchBuilder, RecordBatches,
    };

    use super::*;
    use crate::consumer::fetcher::{decode, PartitionOutcome};

    const COMMIT: i16 = streamctl_protocol::record_batch::CONTROL_TYPE_COMMIT;

    /// A data batch of `count` records at `base`; `producer` None is a plain producer.
    fn data(base: i64, count: usize, producer: Option<i64>, transactional: bool) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None).base_offset(base);
        if let Some(pid) = producer {
            b = b.producer(pid, 0, 0).transactional(transactional);
        }
        for i in 0..count {
            let value = format!("v{}", base + i as i64);
            b.push(0, None, Some(value.as_bytes()), &[]).unwrap();
        }
        b.build().unwrap()
    }

    /// A transaction marker as the broker writes it, at `offset`.
    fn marker(offset: i64, producer: i64, control_type: i16) -> Bytes {
        let marker = EndTxnMarker {
            commit: control_type == COMMIT,
            coordinator_epoch: 7,
        };
        let mut raw = BytesMut::from(&marker.batch(producer, 0, 0).unwrap()[..]);
        rewrite_base_offset(&mut raw, offset).unwrap();
        raw.freeze()
    }

    fn log(batches: &[Bytes]) -> Bytes {
        batches.concat().into()
    }

    /// The offsets a fetch from `fetch_offset` hands out, and where it goes on.
    fn read(log: Bytes, fetch_offset: i64, aborted: Option<&[(i64, i64)]>) -> (Vec<i64>, i64) {
        match decode(&"t".into(), 0, fetch_offset, log, 100, aborted) {
            PartitionOutcome::Records {
                records,
                next_offset,
                ..
            } => (records.iter().map(|r| r.offset).collect(), next_offset),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn markers_are_recognised_by_their_key() {
        let abort = RecordBatches::new(marker(0, 1, CONTROL_TYPE_ABORT))
            .next()
            .unwrap()
            .unwrap();
        let commit = RecordBatches::new(marker(0, 1, COMMIT))
            .next()
            .unwrap()
            .unwrap();
        assert!(abort.is_control() && is_abort_marker(&abort));
        assert!(commit.is_control() && !is_abort_marker(&commit));
    }

    #[test]
    fn interleaved_producers_lose_only_the_aborted_transaction() {
        // Producer 1 aborts 0..=1 and 4, producer 2 commits 2..=3 and 5 in between.
        let batches = log(&[
            data(0, 2, Some(1), true),
            data(2, 2, Some(2), true),
            data(4, 1, Some(1), true),
            data(5, 1, Some(2), true),
            marker(6, 1, CONTROL_TYPE_ABORT),
            marker(7, 2, COMMIT),
            data(8, 1, None, false),
        ]);
        let (offsets, next) = read(batches, 0, Some(&[(1, 0)]));
        assert_eq!(offsets, vec![2, 3, 5, 8]);
        assert_eq!(next, 9);
    }

    #[test]
    fn an_aborted_transaction_spanning_batches_is_skipped_whole_and_the_position_moves_on() {
        let batches = log(&[
            data(10, 3, Some(4), true),
            data(13, 3, Some(4), true),
            data(16, 2, Some(4), true),
            marker(18, 4, CONTROL_TYPE_ABORT),
        ]);
        let (offsets, next) = read(batches, 10, Some(&[(4, 10)]));
        assert!(offsets.is_empty(), "{offsets:?}");
        assert_eq!(next, 19, "the position goes past the skipped batches");
    }

    #[test]
    fn a_committed_transaction_after_an_aborted_one_of_the_same_producer_is_kept() {
        let batches = log(&[
            data(0, 2, Some(3), true),
            marker(2, 3, CONTROL_TYPE_ABORT),
            data(3, 2, Some(3), true),
            marker(5, 3, COMMIT),
        ]);
        let (offsets, next) = read(batches, 0, Some(&[(3, 0)]));
        assert_eq!(offsets, vec![3, 4]);
        assert_eq!(next, 6);
    }

    #[test]
    fn aborted_entries_beyond_the_fetched_range_touch_nothing() {
        // Producer 5's aborted transaction starts at 50, after everything returned; a second
        // transaction of its own before that (committed) must stay.
        let batches = log(&[data(0, 2, Some(5), true), marker(2, 5, COMMIT)]);
        let (offsets, _) = read(batches, 0, Some(&[(5, 50)]));
        assert_eq!(offsets, vec![0, 1]);
    }

    #[test]
    fn non_transactional_and_idempotent_batches_are_untouched() {
        // A producer id listed as aborted, but its batches here are idempotent only.
        let batches = log(&[data(0, 2, None, false), data(2, 2, Some(9), false)]);
        let (offsets, _) = read(batches, 0, Some(&[(9, 0)]));
        assert_eq!(offsets, vec![0, 1, 2, 3]);
    }

    #[test]
    fn read_uncommitted_returns_aborted_data_but_never_markers() {
        let batches = log(&[
            data(0, 2, Some(1), true),
            marker(2, 1, CONTROL_TYPE_ABORT),
            data(3, 1, None, false),
        ]);
        let (offsets, next) = read(batches, 0, None);
        assert_eq!(offsets, vec![0, 1, 3]);
        assert_eq!(next, 4);
    }

    #[test]
    fn a_fetch_from_inside_an_aborted_batch_skips_it_too() {
        let batches = log(&[
            data(0, 4, Some(2), true),
            marker(4, 2, CONTROL_TYPE_ABORT),
            data(5, 1, Some(2), true),
        ]);
        let (offsets, next) = read(batches, 2, Some(&[(2, 0)]));
        assert_eq!(offsets, vec![5]);
        assert_eq!(next, 6);
    }
}
