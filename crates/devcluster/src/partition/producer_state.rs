//! Idempotent and transactional producers' state on one partition replica (Kafka's
//! `ProducerStateManager`): for each producer id its epoch and its last few batches, so the
//! leader can refuse a gap in the sequence, answer a retried batch with its original offset
//! instead of writing it twice, and fence an older epoch (KIP-98); and the transactions open
//! on the partition, from which the last stable offset and the aborted transactions of a
//! read_committed fetch follow.
//!
//! ```text
//!  transactional data batch ─▶ the producer's open transaction starts here (first offset)
//!  marker (control batch)   ─▶ the transaction ends at the marker's offset; an ABORT also
//!                              becomes an entry of the segment's `.txnindex`; until the high
//!                              watermark passes the marker it still holds the LSO back
//!  LSO = min(first offset of every open or unreplicated transaction, high watermark)
//! ```
//!
//! Every replica builds the same state from the batches in its log (when appending as leader
//! or follower, and from its latest snapshot and the log after it when it opens, see
//! `recovery.rs`), so a follower that becomes leader
//! detects duplicates as the old leader would have. Entries idle for
//! `producer.id.expiration.ms` are dropped, as in Kafka, so producers that come and go do not
//! grow memory for ever.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use streamctl_protocol::record_batch::{EndTxnMarker, RecordBatch, RecordBatches};
use streamctl_protocol::ErrorCode;

use crate::error::ApiError;
use crate::log::AbortedTxn;

mod snapshot;

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
    /// The first offset of its open transaction on this partition, if one is open.
    txn_first_offset: Option<i64>,
    /// The coordinator epoch of the last marker written for it (-1: none yet).
    coordinator_epoch: i32,
    /// Its epoch was raised by a marker (transactions v2 bumps it at every end) and no batch
    /// of that epoch came yet: the next one must start at sequence 0.
    epoch_from_marker: bool,
    /// The last offset of its latest batch or marker here: while that is in the log, the
    /// epoch it set must keep fencing older ones.
    last_offset: i64,
}

impl ProducerEntry {
    fn new(epoch: i16, last_timestamp: i64) -> Self {
        Self {
            epoch,
            recent: VecDeque::new(),
            last_timestamp,
            txn_first_offset: None,
            coordinator_epoch: -1,
            epoch_from_marker: false,
            last_offset: -1,
        }
    }
}

/// A producer's verification in progress on this partition (Kafka's `VerificationStateEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verifying {
    /// The guard an append must present.
    guard: u64,
    /// The producer epoch verified.
    epoch: i16,
    /// Transactions v2: the previous transaction's marker carries this same (bumped) epoch
    /// and may land while the next transaction is being added; it must not void the
    /// verification of that next transaction.
    survives_marker_of_epoch: bool,
}

/// A transaction whose marker is written but not yet below the high watermark: it holds the
/// last stable offset back until it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unreplicated {
    first_offset: i64,
    marker_offset: i64,
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
    /// Open transactions: first offset → producer id.
    ongoing: BTreeMap<i64, i64>,
    /// Ended transactions whose marker is not below the high watermark yet, in log order.
    unreplicated: VecDeque<Unreplicated>,
    /// KIP-890 verification in progress, by producer id.
    verifying: HashMap<i64, Verifying>,
    /// The last guard handed out.
    guards: u64,
}

/// What a transactional append was verified with (KIP-890 part 1): the transaction
/// coordinator confirmed the partition is in the producer's transaction while `guard` was
/// the producer's verification here. A marker in between (the transaction ended) drops the
/// guard, so a stale confirmation cannot open a new transaction (Kafka's verification guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The producer verified.
    pub producer_id: i64,
    /// Its guard; `None` when no verification was needed (its transaction was open here).
    pub guard: Option<u64>,
}

impl ProducerStates {
    /// Kafka's rules for one batch (`ProducerAppendInfo.checkSequence`): a producer this
    /// partition does not know may start at any sequence (its earlier batches may have been
    /// deleted by retention or DeleteRecords, or its state expired); an older epoch is
    /// fenced; a newer epoch must start at sequence 0; a batch equal to one of the last five
    /// is a duplicate; anything else must be the next sequence.
    ///
    /// With `verification` (a transactional produce request), a transactional batch that
    /// would open a transaction here needs the producer's current verification guard.
    pub(super) fn check(
        &self,
        batch: &RecordBatch,
        verification: Option<Verification>,
    ) -> Result<SequenceCheck, ApiError> {
        let (pid, epoch, first) = (
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        );
        if batch.is_control() {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                "control batches are written by the transaction coordinator, not by producers",
            ));
        }
        if let Some(v) = verification.filter(|_| batch.is_transactional()) {
            let open = self
                .entries
                .get(&pid)
                .is_some_and(|e| e.txn_first_offset.is_some() && e.epoch == epoch);
            let verified = v.producer_id == pid
                && v.guard.is_some()
                && self.verifying.get(&pid).map(|v| v.guard) == v.guard;
            if !open && !verified {
                return Err(ApiError::new(
                    ErrorCode::InvalidTxnState,
                    format!(
                        "producer {pid}: the partition was not verified to be in its transaction"
                    ),
                ));
            }
        }
        if pid < 0 || first < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.entries.get(&pid) else {
            return Ok(SequenceCheck::Append);
        };
        if !batch.is_transactional() && entry.txn_first_offset.is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidTxnState,
                format!("producer {pid} writes a non-transactional batch inside its transaction"),
            ));
        }
        // A new epoch's transaction cannot start before the old one's marker ended it here:
        // appended now, that marker would end both.
        if batch.is_transactional() && entry.txn_first_offset.is_some() && epoch > entry.epoch {
            return Err(ApiError::new(
                ErrorCode::ConcurrentTransactions,
                format!(
                    "producer {pid}: epoch {epoch} while its transaction of epoch {} is still open here",
                    entry.epoch
                ),
            ));
        }
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
        if epoch > entry.epoch || (entry.epoch_from_marker && entry.recent.is_empty()) {
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

    /// Starts verifying `producer_id` at `epoch` before its first transactional batch here
    /// (`epoch_bump`: transactions v2, the coordinator adds the partition); `None` when its
    /// transaction of that epoch is already open here. Requests racing to start the same
    /// verification share its guard, as Kafka's do.
    pub(super) fn start_verification(
        &mut self,
        producer_id: i64,
        epoch: i16,
        epoch_bump: bool,
    ) -> Result<Option<u64>, ApiError> {
        if self
            .entries
            .get(&producer_id)
            .is_some_and(|e| e.txn_first_offset.is_some() && e.epoch == epoch)
        {
            return Ok(None);
        }
        match self.verifying.get(&producer_id) {
            Some(v) if v.epoch == epoch => return Ok(Some(v.guard)),
            // A late request of an older epoch must not void the newer one's verification.
            Some(v) if v.epoch > epoch => {
                return Err(ApiError::new(
                    ErrorCode::InvalidProducerEpoch,
                    format!(
                        "producer {producer_id}: epoch {epoch} is older than {} being verified",
                        v.epoch
                    ),
                ))
            }
            _ => {}
        }
        self.guards += 1;
        self.verifying.insert(
            producer_id,
            Verifying {
                guard: self.guards,
                epoch,
                survives_marker_of_epoch: epoch_bump,
            },
        );
        Ok(Some(self.guards))
    }

    /// The producer-epoch check a coordinator's own transactional batch gets (a group's
    /// offsets written in a transaction, which carry no sequences): an epoch older than the
    /// partition has seen is fenced, as it would be from a producer, so a late write of a
    /// fenced producer cannot land after the marker that aborted its transaction.
    pub(super) fn check_coordinator_batch(&self, batch: &RecordBatch) -> Result<(), ApiError> {
        let (pid, epoch) = (batch.producer_id(), batch.producer_epoch());
        match self.entries.get(&pid) {
            Some(entry) if batch.is_transactional() && epoch < entry.epoch => Err(ApiError::new(
                ErrorCode::InvalidProducerEpoch,
                format!(
                    "producer {pid}: epoch {epoch} is older than {}",
                    entry.epoch
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Kafka's checks of a marker the coordinator asks the leader to write
    /// (`ProducerAppendInfo.appendEndTxnMarker`): an older producer epoch is fenced
    /// (INVALID_PRODUCER_EPOCH), an older coordinator epoch too
    /// (TRANSACTION_COORDINATOR_FENCED).
    pub(super) fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        marker: &EndTxnMarker,
    ) -> Result<(), ApiError> {
        let Some(entry) = self.entries.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < entry.epoch {
            return Err(ApiError::new(
                ErrorCode::InvalidProducerEpoch,
                format!(
                    "marker for producer {producer_id} at epoch {producer_epoch}, older than {}",
                    entry.epoch
                ),
            ));
        }
        if marker.coordinator_epoch < entry.coordinator_epoch {
            return Err(ApiError::new(
                ErrorCode::TransactionCoordinatorFenced,
                format!(
                    "marker of coordinator epoch {}, older than {} already seen",
                    marker.coordinator_epoch, entry.coordinator_epoch
                ),
            ));
        }
        Ok(())
    }

    /// Learns the producers and transactions of batches just appended to the log (offsets
    /// assigned). Returns the transactions their markers aborted, for the log's
    /// aborted-transaction index.
    pub(super) fn learn(&mut self, batches: &Bytes) -> Vec<AbortedTxn> {
        let mut aborted = Vec::new();
        for batch in RecordBatches::new(batches.clone()).flatten() {
            let pid = batch.producer_id();
            if pid < 0 {
                continue;
            }
            if batch.is_control() {
                aborted.extend(self.learn_marker(&batch));
                continue;
            }
            if batch.base_sequence() < 0 {
                continue;
            }
            let entry = self.entries.entry(pid).or_insert_with(|| {
                ProducerEntry::new(batch.producer_epoch(), batch.max_timestamp())
            });
            // Epochs only go up: a batch of an older epoch (which the leader refuses) must not
            // lower what later checks compare against.
            if batch.producer_epoch() > entry.epoch {
                entry.recent.clear();
                entry.epoch = batch.producer_epoch();
            } else if batch.producer_epoch() < entry.epoch {
                continue;
            }
            entry.epoch_from_marker = false;
            entry.last_offset = entry.last_offset.max(batch.last_offset());
            entry.recent.push_back((
                batch.base_sequence(),
                batch.last_sequence(),
                batch.base_offset(),
            ));
            while entry.recent.len() > BATCHES_KEPT {
                entry.recent.pop_front();
            }
            entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp());
            if batch.is_transactional() && entry.txn_first_offset.is_none() {
                entry.txn_first_offset = Some(batch.base_offset());
                self.ongoing.insert(batch.base_offset(), pid);
                self.verifying.remove(&pid);
            }
        }
        aborted
    }

    /// A marker ends its producer's open transaction here (a marker for a producer with no
    /// transaction open here ends nothing, but still records the coordinator epoch). Returns
    /// the transaction if the marker aborted it.
    fn learn_marker(&mut self, batch: &RecordBatch) -> Option<AbortedTxn> {
        let pid = batch.producer_id();
        let marker = match EndTxnMarker::parse(batch) {
            Ok(Some(m)) => m,
            // Another control type, or a record we cannot read: not a transaction's end.
            Ok(None) | Err(_) => return None,
        };
        // A verification that started before the transaction ended is stale, except the
        // verification of a transactions-v2 producer's next transaction, which runs under
        // the epoch this marker carries.
        if self
            .verifying
            .get(&pid)
            .is_some_and(|v| !(v.survives_marker_of_epoch && v.epoch == batch.producer_epoch()))
        {
            self.verifying.remove(&pid);
        }
        let entry = self
            .entries
            .entry(pid)
            .or_insert_with(|| ProducerEntry::new(batch.producer_epoch(), batch.max_timestamp()));
        if batch.producer_epoch() > entry.epoch {
            entry.epoch = batch.producer_epoch();
            entry.recent.clear();
            entry.epoch_from_marker = true;
        }
        entry.coordinator_epoch = entry.coordinator_epoch.max(marker.coordinator_epoch);
        entry.last_offset = entry.last_offset.max(batch.base_offset());
        entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp());
        let first_offset = entry.txn_first_offset.take()?;
        self.ongoing.remove(&first_offset);
        let marker_offset = batch.base_offset();
        self.unreplicated.push_back(Unreplicated {
            first_offset,
            marker_offset,
        });
        (!marker.commit).then(|| AbortedTxn {
            producer_id: pid,
            first_offset,
            last_offset: marker_offset,
            last_stable_offset: self
                .ongoing
                .keys()
                .next()
                .copied()
                .unwrap_or(marker_offset + 1),
        })
    }

    /// The high watermark moved: transactions whose marker is below it are stable.
    pub(super) fn on_high_watermark(&mut self, high_watermark: i64) {
        self.unreplicated
            .retain(|u| u.marker_offset >= high_watermark);
    }

    /// The last stable offset: the first offset of the earliest transaction still open or
    /// whose marker is not yet below the high watermark, raised to the log start, and never
    /// above the high watermark (Kafka's `UnifiedLog.lastStableOffset`).
    pub(super) fn last_stable_offset(&self, high_watermark: i64, log_start_offset: i64) -> i64 {
        let open = self.ongoing.keys().next().copied();
        let unstable = self
            .unreplicated
            .iter()
            .filter(|u| u.marker_offset >= high_watermark)
            .map(|u| u.first_offset)
            .chain(open)
            .min();
        unstable.map_or(high_watermark, |first| {
            first.max(log_start_offset).min(high_watermark)
        })
    }

    /// Forgets producers whose every batch and marker lies below a new log start offset
    /// (DeleteRecords, retention), as Kafka does: they are unknown again, so their next batch
    /// is accepted whatever its sequence. An open transaction stays open (its marker is still
    /// to come), and a marker still in the log keeps fencing the epochs before it.
    pub(super) fn forget_below(&mut self, log_start_offset: i64) {
        self.entries.retain(|_, entry| {
            entry.txn_first_offset.is_some() || entry.last_offset >= log_start_offset
        });
    }

    /// Drops producers whose newest batch is `expiration_ms` or more older than `now_ms`,
    /// except those with a transaction open here (Kafka's `isProducerExpired`).
    pub(super) fn expire(&mut self, now_ms: i64, expiration_ms: i64) {
        self.entries.retain(|_, entry| {
            entry.txn_first_offset.is_some()
                || now_ms.saturating_sub(entry.last_timestamp) < expiration_ms
        });
    }

    /// Each producer's last data batch, by its base offset: the cleaner keeps it, so the
    /// producer's sequence still checks after a restart.
    ///
    /// Markers do not count (Kafka's `lastDataOffset`): the newest data batch is the last
    /// one in `recent`, which holds its base offset.
    /// A producer whose epoch a marker raised (transactions v2) and that wrote nothing since
    /// has that marker as its last batch instead (Kafka keeps such a marker too): it is what
    /// still fences the older epoch after a rebuild.
    pub(super) fn last_batches(&self) -> HashMap<i64, i64> {
        self.entries
            .iter()
            .filter_map(|(id, e)| match e.recent.back() {
                Some((_, _, base)) => Some((*id, *base)),
                None => (e.epoch_from_marker && e.last_offset >= 0).then_some((*id, e.last_offset)),
            })
            .collect()
    }

    /// How many producers are remembered.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every producer remembered, by producer id (DescribeProducers).
    pub(super) fn describe(&self) -> Vec<ProducerSummary> {
        let mut all: Vec<ProducerSummary> = self
            .entries
            .iter()
            .map(|(&producer_id, e)| ProducerSummary {
                producer_id,
                epoch: e.epoch,
                last_sequence: e.recent.back().map_or(-1, |&(_, last, _)| last),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                txn_first_offset: e.txn_first_offset,
            })
            .collect();
        all.sort_by_key(|p| p.producer_id);
        all
    }
}

/// What a partition replica knows of one producer (DescribeProducers' answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerSummary {
    /// The producer id.
    pub producer_id: i64,
    /// Its latest epoch here.
    pub epoch: i16,
    /// The last sequence of its latest batch here, -1 when none is remembered.
    pub last_sequence: i32,
    /// The newest batch timestamp seen from it.
    pub last_timestamp: i64,
    /// The coordinator epoch of its last marker here, -1 when none.
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction here.
    pub txn_first_offset: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ProducerStates {
        fn check_plain(&self, batch: &RecordBatch) -> Result<SequenceCheck, ApiError> {
            self.check(batch, None)
        }
    }
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
        assert_eq!(
            states.check_plain(&view(&b)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn duplicates_gaps_and_fencing() {
        let mut states = ProducerStates::default();
        let first = batch(7, 0, 0, 3, 0, 1);
        states.learn(&first);
        assert_eq!(
            states.check_plain(&view(&first)).unwrap(),
            SequenceCheck::Duplicate(0)
        );
        assert_eq!(
            states.check_plain(&view(&batch(7, 0, 3, 1, 3, 1))).unwrap(),
            SequenceCheck::Append
        );
        let gap = states
            .check_plain(&view(&batch(7, 0, 5, 1, 3, 1)))
            .unwrap_err();
        assert_eq!(gap.code, ErrorCode::OutOfOrderSequenceNumber);
        let bumped = states.check_plain(&view(&batch(7, 1, 0, 1, 3, 1))).unwrap();
        assert_eq!(bumped, SequenceCheck::Append);
        states.learn(&batch(7, 1, 0, 1, 3, 1));
        let fenced = states
            .check_plain(&view(&batch(7, 0, 3, 1, 4, 1)))
            .unwrap_err();
        assert_eq!(fenced.code, ErrorCode::InvalidProducerEpoch);
    }

    /// A COMMIT or ABORT marker of `producer_id` at `epoch`, at `offset`.
    fn marker_at(producer_id: i64, epoch: i16, commit: bool, offset: i64) -> Bytes {
        let marker = EndTxnMarker {
            commit,
            coordinator_epoch: 0,
        };
        let mut raw = bytes::BytesMut::from(&marker.batch(producer_id, epoch, 2).unwrap()[..]);
        streamctl_protocol::record_batch::rewrite_base_offset(&mut raw, offset).unwrap();
        raw.freeze()
    }

    #[test]
    fn a_producer_fenced_by_a_marker_is_remembered_while_the_marker_is_in_the_log() {
        let mut states = ProducerStates::default();
        let mut data = RecordBatchBuilder::new(Compression::None)
            .base_offset(0)
            .producer(7, 0, 0)
            .transactional(true);
        data.push(1, None, Some(b"v".as_slice()), &[]).unwrap();
        states.learn(&data.build().unwrap());
        let aborted = states.learn(&marker_at(7, 1, false, 10));
        assert_eq!(aborted.len(), 1);
        // Its data (offset 0) is gone, its marker (offset 10) is not: epoch 0 stays fenced.
        states.forget_below(5);
        let zombie = states
            .check_plain(&view(&batch(7, 0, 1, 1, 11, 1)))
            .unwrap_err();
        assert_eq!(zombie.code, ErrorCode::InvalidProducerEpoch);
        states.forget_below(11);
        assert_eq!(states.len(), 0);
    }

    #[test]
    fn the_last_batch_for_the_cleaner_is_the_last_data_batch_not_a_marker() {
        let mut states = ProducerStates::default();
        let mut data = RecordBatchBuilder::new(Compression::None)
            .base_offset(4)
            .producer(7, 0, 0)
            .transactional(true);
        data.push(1, Some(b"k".as_slice()), Some(b"v".as_slice()), &[])
            .unwrap();
        states.learn(&data.build().unwrap());
        states.learn(&marker_at(7, 0, true, 10));
        // The data batch, though a marker came after it.
        assert_eq!(states.last_batches(), HashMap::from([(7, 4)]));
        // A marker that raised the epoch (transactions v2) is the last batch until data of
        // the new epoch comes: it holds that epoch.
        states.learn(&marker_at(7, 1, true, 12));
        assert_eq!(states.last_batches(), HashMap::from([(7, 12)]));
    }

    #[test]
    fn a_truncated_batch_is_appended_again_and_idle_producers_expire() {
        // A truncation at 3 rebuilds the state from what is left of the log: producer 7's
        // first batch (producer 8's batch at 5 and 7's second one at 3 are gone).
        let mut states = ProducerStates::default();
        states.learn(&batch(7, 0, 0, 3, 0, 1_000));
        // The retry of the truncated batch is the next sequence again, not a duplicate.
        assert_eq!(
            states
                .check_plain(&view(&batch(7, 0, 3, 2, 3, 1_000)))
                .unwrap(),
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
