//! Idempotent producers' state on one partition replica (Kafka's `ProducerStateManager`):
//! for each producer id its epoch and its last few batches, so the leader can refuse a gap
//! in the sequence, answer a retried batch with its original offset instead of writing it
//! twice, and fence an older epoch (KIP-98).
//!
//! Every replica builds the same state from the batches in its log (when appending as leader
//! or follower, and by scanning the log when it opens), so a follower that becomes leader
//! detects duplicates as the old leader would have. Entries idle for
//! `producer.id.expiration.ms` are dropped, as in Kafka, so producers that come and go do not
//! grow memory for ever.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use streamctl_protocol::record_batch::{RecordBatch, RecordBatches};
use streamctl_protocol::ErrorCode;

use crate::error::ApiError;

/// How many recent batches per producer are remembered for duplicate detection (Kafka keeps
/// five, matching `max.in.flight.requests.per.connection` with idempotence).
const BATCHES_KEPT: usize = 5;

/// One producer's state on this partition.
#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    /// (first sequence, last sequence, base offset) of the latest batches, oldest first.
    recent: VecDeque<(i32, i32, i64)>,
    /// The newest batch timestamp seen from it, for expiry.
    last_timestamp: i64,
}

/// The sequence check's verdict for one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SequenceCheck {
    /// Not idempotent, or acceptable: append it.
    Append,
    /// Already written at this base offset: answer success without writing again.
    Duplicate(i64),
}

/// Every idempotent producer's state on one partition replica.
#[derive(Debug, Default)]
pub(super) struct ProducerStates {
    entries: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Kafka's rules for one batch (`ProducerAppendInfo.checkSequence`): a producer this
    /// partition does not know may start at any sequence (its earlier batches may have been
    /// deleted by retention or DeleteRecords, or its state expired); an older epoch is
    /// fenced; a newer epoch must start at sequence 0; a batch equal to one of the last five
    /// is a duplicate; anything else must be the next sequence.
    pub(super) fn check(&self, batch: &RecordBatch) -> Result<SequenceCheck, ApiError> {
        let (pid, epoch, first) = (
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        );
        if pid < 0 || first < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.entries.get(&pid) else {
            return Ok(SequenceCheck::Append);
        };
        let out_of_order = |expected: i32| {
            ApiError::new(
                ErrorCode::OutOfOrderSequenceNumber,
                format!("producer {pid}: sequence {first} where {expected} was expected"),
            )
        };
        if epoch < entry.epoch {
            return Err(ApiError::new(
                ErrorCode::InvalidProducerEpoch,
                format!(
                    "producer {pid}: epoch {epoch} is older than {}",
                    entry.epoch
                ),
            ));
        }
        if epoch > entry.epoch {
            return if first == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(out_of_order(0))
            };
        }
        let last = batch.last_sequence();
        if let Some((_, _, offset)) = entry
            .recent
            .iter()
            .find(|(f, l, _)| *f == first && *l == last)
        {
            return Ok(SequenceCheck::Duplicate(*offset));
        }
        let Some((_, newest, _)) = entry.recent.back() else {
            return Ok(SequenceCheck::Append);
        };
        let expected = if *newest == i32::MAX { 0 } else { newest + 1 };
        if first == expected {
            Ok(SequenceCheck::Append)
        } else {
            Err(out_of_order(expected))
        }
    }

    /// Learns the producers of batches just appended to the log (offsets assigned).
    pub(super) fn learn(&mut self, batches: &Bytes) {
        for batch in RecordBatches::new(batches.clone()).flatten() {
            if batch.producer_id() < 0 || batch.base_sequence() < 0 {
                continue;
            }
            let entry = self
                .entries
                .entry(batch.producer_id())
                .or_insert_with(|| ProducerEntry {
                    epoch: batch.producer_epoch(),
                    recent: VecDeque::new(),
                    last_timestamp: batch.max_timestamp(),
                });
            if batch.producer_epoch() != entry.epoch {
                entry.recent.clear();
                entry.epoch = batch.producer_epoch();
            }
            entry.recent.push_back((
                batch.base_sequence(),
                batch.last_sequence(),
                batch.base_offset(),
            ));
            while entry.recent.len() > BATCHES_KEPT {
                entry.recent.pop_front();
            }
            entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp());
        }
    }

    /// Forgets batches a truncation removed (at or after `offset`): a retry of them must be
    /// appended again. A producer left with no batch here is forgotten, so its retry is
    /// accepted as from an unknown producer rather than refused as out of order.
    pub(super) fn forget_from(&mut self, offset: i64) {
        self.entries.retain(|_, entry| {
            entry.recent.retain(|(_, _, base)| *base < offset);
            !entry.recent.is_empty()
        });
    }

    /// Forgets producers whose every batch lies below a new log start offset (DeleteRecords,
    /// retention), as Kafka does: they are unknown again, so their next batch is accepted
    /// whatever its sequence.
    pub(super) fn forget_below(&mut self, log_start_offset: i64) {
        self.entries.retain(|_, entry| {
            entry
                .recent
                .back()
                .is_some_and(|(_, _, base)| *base >= log_start_offset)
        });
    }

    /// Drops producers whose newest batch is `expiration_ms` or more older than `now_ms`.
    pub(super) fn expire(&mut self, now_ms: i64, expiration_ms: i64) {
        self.entries
            .retain(|_, entry| now_ms.saturating_sub(entry.last_timestamp) < expiration_ms);
    }

    /// How many producers are remembered.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::record_batch::RecordBatchBuilder;

    fn batch(pid: i64, epoch: i16, first: i32, count: usize, base: i64, ts: i64) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None)
            .base_offset(base)
            .producer(pid, epoch, first);
        for _ in 0..count {
            b.push(ts, None, Some(b"v".as_slice()), &[]).unwrap();
        }
        b.build().unwrap()
    }

    fn view(bytes: &Bytes) -> RecordBatch {
        RecordBatches::new(bytes.clone()).next().unwrap().unwrap()
    }

    #[test]
    fn an_unknown_producer_may_start_at_any_sequence() {
        // Kafka accepts it: the producer's earlier batches may be gone (retention,
        // DeleteRecords) or its state expired; refusing would wedge it for good.
        let states = ProducerStates::default();
        let b = batch(7, 0, 42, 3, 0, 1);
        assert_eq!(states.check(&view(&b)).unwrap(), SequenceCheck::Append);
    }

    #[test]
    fn duplicates_gaps_and_fencing() {
        let mut states = ProducerStates::default();
        let first = batch(7, 0, 0, 3, 0, 1);
        states.learn(&first);
        assert_eq!(
            states.check(&view(&first)).unwrap(),
            SequenceCheck::Duplicate(0)
        );
        assert_eq!(
            states.check(&view(&batch(7, 0, 3, 1, 3, 1))).unwrap(),
            SequenceCheck::Append
        );
        let gap = states.check(&view(&batch(7, 0, 5, 1, 3, 1))).unwrap_err();
        assert_eq!(gap.code, ErrorCode::OutOfOrderSequenceNumber);
        let bumped = states.check(&view(&batch(7, 1, 0, 1, 3, 1))).unwrap();
        assert_eq!(bumped, SequenceCheck::Append);
        states.learn(&batch(7, 1, 0, 1, 3, 1));
        let fenced = states.check(&view(&batch(7, 0, 3, 1, 4, 1))).unwrap_err();
        assert_eq!(fenced.code, ErrorCode::InvalidProducerEpoch);
    }

    #[test]
    fn a_truncated_batch_is_appended_again_and_idle_producers_expire() {
        let mut states = ProducerStates::default();
        states.learn(&batch(7, 0, 0, 3, 0, 1_000));
        states.learn(&batch(7, 0, 3, 2, 3, 1_000));
        states.learn(&batch(8, 0, 0, 1, 5, 5_000));
        states.forget_from(3);
        // The retry of the truncated batch is the next sequence again, not a duplicate.
        assert_eq!(
            states.check(&view(&batch(7, 0, 3, 2, 3, 1_000))).unwrap(),
            SequenceCheck::Append
        );
        // Producer 8 lost its only batch: forgotten, so its retry is accepted.
        assert_eq!(states.len(), 1);
        states.learn(&batch(8, 0, 0, 1, 3, 5_000));
        states.expire(5_500, 1_000);
        assert_eq!(states.len(), 1, "only the producer idle for 4.5 s expires");
        states.expire(6_000, 1_000);
        assert_eq!(states.len(), 0);
    }
}
