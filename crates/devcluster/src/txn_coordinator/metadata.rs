//! One transactional id's state and Kafka's rules for changing it (`TransactionMetadata`,
//! `TransactionCoordinator`), for both transaction protocols. Pure: no I/O, no clock.
//!
//! ```text
//!   InitProducerId ──▶ Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit|PrepareAbort
//!        ▲               ▲                        │                     │ markers written
//!        └───────────────┴── CompleteCommit|CompleteAbort ◀─────────────┘
//!   Ongoing + InitProducerId or timeout ──▶ epoch + 1, PrepareAbort (fence), then as above
//!
//!   transactions v2 (KIP-890 part 2, EndTxn v5): the partition leaders add partitions
//!   (AddPartitionsToTxn v4+ without verify_only), and every EndTxn bumps the epoch in its
//!   Prepare record: the markers carry epoch + 1, the producer continues with it (an epoch
//!   that ran out moves to a new producer id at Complete), and a retried EndTxn is known by
//!   its epoch being one behind.
//! ```
//!
//! Every change is two-phase: a `prepare_*` function checks the request against the state
//! and returns the target value to log, the caller marks it pending (so concurrent requests
//! get CONCURRENT_TRANSACTIONS), appends it to `__transaction_state`, and only once the
//! append is durable calls [`TxnMetadata::complete`]: memory follows the log, never leads it.

use std::collections::BTreeSet;

use streamctl_protocol::ErrorCode;

use super::records::{TxnLogValue, TxnTopic};

/// An epoch at or above this cannot be bumped: the coordinator keeps one bump in reserve to
/// fence, and rotates to a new producer id instead (Kafka's `isEpochExhausted`).
pub const EPOCH_EXHAUSTED: i16 = i16::MAX - 1;

/// A transaction's state (Kafka's `TransactionState`, with its ids and names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// Initialised, no transaction open.
    Empty,
    /// Partitions added, not ended.
    Ongoing,
    /// Commit decided and logged; markers being written.
    PrepareCommit,
    /// Abort decided and logged; markers being written.
    PrepareAbort,
    /// Committed; every marker written.
    CompleteCommit,
    /// Aborted; every marker written.
    CompleteAbort,
    /// Expired and removed.
    Dead,
    /// Being fenced by a newer producer or a timeout (never logged).
    PrepareEpochFence,
}

impl TxnState {
    /// The id logged in `TransactionLogValue.transaction_status`.
    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    /// The state of a logged id.
    pub fn from_id(id: i8) -> Option<TxnState> {
        Some(match id {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// Kafka's name, as DescribeTransactions and ListTransactions report it.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// One transactional id's state on its coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The producer id in use.
    pub producer_id: i64,
    /// The producer id before the last rotation, or -1.
    pub previous_producer_id: i64,
    /// The current epoch.
    pub producer_epoch: i16,
    /// The epoch before the last bump by InitProducerId, or -1 (a retried InitProducerId
    /// carrying it gets the current epoch again). Not logged.
    pub last_producer_epoch: i16,
    /// `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// The state.
    pub state: TxnState,
    /// The partitions in the open transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the open transaction started (ms), or -1.
    pub start_ms: i64,
    /// The last change (ms).
    pub last_update_ms: i64,
    /// The state a logged change is taking it to, set by the `prepare_*` call that chose the
    /// change (under the same lock, so two requests can never both prepare one); requests
    /// meanwhile are refused with CONCURRENT_TRANSACTIONS.
    pub pending: Option<TxnState>,
    /// The `last_producer_epoch` a pending InitProducerId takes on completion.
    pending_last_epoch: Option<i16>,
    /// The producer id a transactions-v2 end whose epoch ran out moves to at Complete, or -1.
    pub next_producer_id: i64,
    /// The transaction protocol of the producer's last transaction: 0 (v1) or 2 (v2).
    pub client_version: i16,
}

/// What EndTxn v5 (transactions v2) must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndPlan {
    /// Log this Prepare value; then answer `next` (the producer id and epoch to continue
    /// with).
    Write {
        /// The value to log.
        value: TxnLogValue,
        /// The producer id and epoch the producer continues with.
        next: (i64, i16),
    },
    /// A retry of an end that already happened: answer this id and epoch again.
    Retry(i64, i16),
}

/// What the caller asks of InitProducerId besides the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitArgs {
    /// `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// The producer's current id and epoch (KIP-360, v3+), or -1/-1.
    pub producer_id: i64,
    /// See `producer_id`.
    pub producer_epoch: i16,
}

/// What InitProducerId must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitPlan {
    /// Log this Empty value, then answer its id and epoch.
    Write(TxnLogValue),
    /// A transaction is open: fence it by aborting it under a bumped epoch (this value, a
    /// PrepareAbort), then answer CONCURRENT_TRANSACTIONS so the producer retries.
    FenceAndAbort(TxnLogValue),
}

impl TxnMetadata {
    /// A new id's metadata before its first InitProducerId is logged: epoch -1, so the
    /// first bump makes it 0.
    pub fn new(producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        Self {
            producer_id,
            previous_producer_id: -1,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            pending: None,
            pending_last_epoch: None,
            next_producer_id: -1,
            client_version: 0,
        }
    }

    /// The metadata of a logged value (a coordinator loading its partition).
    pub fn from_log(value: &TxnLogValue) -> Self {
        let mut m = Self::new(value.producer_id, value.timeout_ms, value.last_update_ms);
        m.take(value);
        m
    }

    /// Marks `value` as the pending change and returns it.
    fn pend(&mut self, value: TxnLogValue) -> TxnLogValue {
        self.pending = Some(value.state);
        value
    }

    /// The value describing the current state with `state`, `epoch` and `partitions`.
    fn value(
        &self,
        state: TxnState,
        producer_id: i64,
        epoch: i16,
        partitions: &BTreeSet<(String, i32)>,
        start_ms: i64,
        now_ms: i64,
    ) -> TxnLogValue {
        let partitions = (state != TxnState::Empty).then(|| {
            super::by_topic(partitions)
                .into_iter()
                .map(|(topic, partitions)| TxnTopic { topic, partitions })
                .collect()
        });
        TxnLogValue {
            producer_id,
            previous_producer_id: if producer_id == self.producer_id {
                self.previous_producer_id
            } else {
                self.producer_id
            },
            producer_epoch: epoch,
            timeout_ms: self.timeout_ms,
            state,
            partitions,
            last_update_ms: now_ms,
            start_ms,
            next_producer_id: -1,
            client_version: self.client_version,
        }
    }

    fn refuse_if_busy(&self) -> Result<(), ErrorCode> {
        if self.pending.is_some() || self.state.is_prepare() || self.state == TxnState::Dead {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(())
    }

    /// A change is being logged: requests wait (Kafka checks this first).
    fn refuse_if_pending(&self) -> Result<(), ErrorCode> {
        if self.pending.is_some() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(())
    }

    /// InitProducerId for this id (Kafka's `handleInitProducerId`, KIP-360). `new_id`
    /// allocates a producer id when the epoch is exhausted. The caller has checked the id,
    /// the timeout and that `producer_id`/`producer_epoch` are both set or both -1.
    pub fn prepare_init(
        &mut self,
        args: InitArgs,
        now_ms: i64,
        new_id: impl FnOnce() -> Result<i64, ErrorCode>,
    ) -> Result<InitPlan, ErrorCode> {
        self.refuse_if_pending()?;
        let expected = (args.producer_id >= 0).then_some((args.producer_id, args.producer_epoch));
        if let Some((pid, epoch)) = expected {
            let ours = self.producer_epoch == -1
                || pid == self.producer_id
                || (pid == self.previous_producer_id && epoch >= EPOCH_EXHAUSTED);
            if !ours {
                return Err(ErrorCode::ProducerFenced);
            }
        }
        self.refuse_if_busy()?;
        if self.state == TxnState::Ongoing {
            // A transactions-v2 producer takes epoch + 1 as a retry of its own end: the
            // fence skips it, so the fenced producer's EndTxn cannot pass for one (as Kafka
            // 4.0 fences, bumping twice).
            let epoch = if self.client_version >= 2 {
                self.bumped_epoch()
                    .checked_add(1)
                    .unwrap_or(self.producer_epoch)
            } else {
                self.bumped_epoch()
            };
            let v = self.value(
                TxnState::PrepareAbort,
                self.producer_id,
                epoch,
                &self.partitions,
                self.start_ms,
                now_ms,
            );
            return Ok(InitPlan::FenceAndAbort(self.pend(v)));
        }
        let (producer_id, epoch) = match expected {
            // A retry of the InitProducerId that made the current epoch: answer it again.
            Some((pid, e))
                if pid == self.producer_id && e == self.last_producer_epoch && e >= 0 =>
            {
                (self.producer_id, self.producer_epoch)
            }
            Some((pid, e)) if pid == self.producer_id && e != self.producer_epoch => {
                return Err(ErrorCode::ProducerFenced)
            }
            _ if self.producer_epoch >= EPOCH_EXHAUSTED => (new_id()?, 0),
            _ => (self.producer_id, self.producer_epoch + 1),
        };
        let mut v = self.value(
            TxnState::Empty,
            producer_id,
            epoch,
            &BTreeSet::new(),
            -1,
            now_ms,
        );
        v.timeout_ms = args.timeout_ms;
        // The epoch a retry of this call will carry (-1 when the producer sent none).
        let last_epoch = match expected {
            Some(_) if producer_id == self.producer_id && epoch != self.producer_epoch => {
                self.producer_epoch
            }
            Some(_) if producer_id == self.producer_id => self.last_producer_epoch,
            _ => -1,
        };
        self.pending_last_epoch = Some(last_epoch);
        Ok(InitPlan::Write(self.pend(v)))
    }

    /// The epoch a fence moves to: one up, unless exhausted (then the current one, as Kafka
    /// does when it cannot bump; the abort still ends the transaction).
    fn bumped_epoch(&self) -> i16 {
        self.producer_epoch
            .checked_add(1)
            .unwrap_or(self.producer_epoch)
    }

    /// Checks that the request comes from the current producer incarnation.
    fn check_producer(&self, producer_id: i64, producer_epoch: i16) -> Result<(), ErrorCode> {
        if producer_id != self.producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if producer_epoch != self.producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        Ok(())
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn, and under transactions v2 (`client_version`
    /// 2) a partition leader's implicit add: `Ok(None)` when every partition is already in
    /// the open transaction (nothing to log). The epoch must be the current one exactly.
    pub fn prepare_add(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        client_version: i16,
        now_ms: i64,
    ) -> Result<Option<TxnLogValue>, ErrorCode> {
        self.check_producer(producer_id, producer_epoch)?;
        self.refuse_if_busy()?;
        let new = partitions.iter().any(|p| !self.partitions.contains(p));
        if self.state == TxnState::Ongoing && !new {
            return Ok(None);
        }
        let mut all = if self.state == TxnState::Ongoing {
            self.partitions.clone()
        } else {
            BTreeSet::new()
        };
        all.extend(partitions.iter().cloned());
        let start = if self.state == TxnState::Ongoing {
            self.start_ms
        } else {
            now_ms
        };
        let mut v = self.value(
            TxnState::Ongoing,
            self.producer_id,
            self.producer_epoch,
            &all,
            start,
            now_ms,
        );
        v.client_version = client_version;
        Ok(Some(self.pend(v)))
    }

    /// Whether each partition is in the open transaction (AddPartitionsToTxn v4+ with
    /// `verify_only`): NONE or TRANSACTION_ABORTABLE per partition, after the producer checks.
    pub fn verify(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        partition: &(String, i32),
    ) -> ErrorCode {
        if let Err(e) = self.check_producer(producer_id, producer_epoch) {
            return e;
        }
        if self.state.is_prepare() {
            return ErrorCode::ConcurrentTransactions;
        }
        if self.state == TxnState::Ongoing && self.partitions.contains(partition) {
            ErrorCode::None
        } else {
            ErrorCode::TransactionAbortable
        }
    }

    /// EndTxn under transactions v1 (Kafka's `endTransaction`): `Ok(None)` for a retry of an
    /// end that already completed.
    pub fn prepare_end(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> Result<Option<TxnLogValue>, ErrorCode> {
        self.check_producer(producer_id, producer_epoch)?;
        if self.pending.is_some() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        match (self.state, commit) {
            (TxnState::Ongoing, _) => {
                let target = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                let mut v = self.value(
                    target,
                    self.producer_id,
                    self.producer_epoch,
                    &self.partitions,
                    self.start_ms,
                    now_ms,
                );
                v.client_version = 0;
                Ok(Some(self.pend(v)))
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(ErrorCode::ConcurrentTransactions)
            }
            _ => Err(ErrorCode::InvalidTxnState),
        }
    }

    /// EndTxn v5, transactions v2 (Kafka's `endTransaction` with `supportsEpochBump`). The
    /// Prepare record bumps the epoch (the markers carry it, the producer continues with it);
    /// an exhausted epoch also picks the producer id to move to at Complete (`new_id`). A
    /// request one epoch behind is a retry of an end that happened (or is happening), an
    /// Empty or completed id can be aborted with nothing in it, and every other epoch is
    /// fenced.
    pub fn prepare_end_v2(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
        new_id: impl FnOnce() -> Result<i64, ErrorCode>,
    ) -> Result<EndPlan, ErrorCode> {
        if self.pending.is_some() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        // A retry after the end rotated the producer id: it carries the old id and the last
        // epoch it had.
        let retry_on_overflow = self.previous_producer_id == producer_id
            && producer_epoch == EPOCH_EXHAUSTED
            && self.producer_epoch == 0;
        let retry_on_bump = Some(self.producer_epoch) == producer_epoch.checked_add(1);
        if producer_id != self.producer_id && !retry_on_overflow {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        let current = producer_epoch == self.producer_epoch;
        let valid = match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
            TxnState::CompleteCommit | TxnState::CompleteAbort => {
                retry_on_bump || retry_on_overflow || current
            }
            _ => current,
        };
        if !valid {
            return Err(ErrorCode::ProducerFenced);
        }
        let retry = retry_on_bump || retry_on_overflow;
        let (target, partitions) = match (self.state, commit) {
            (TxnState::Ongoing, true) => (TxnState::PrepareCommit, self.partitions.clone()),
            (TxnState::Ongoing, false) => (TxnState::PrepareAbort, self.partitions.clone()),
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) if retry => {
                return Ok(EndPlan::Retry(self.producer_id, self.producer_epoch))
            }
            // An abort with nothing in the transaction still bumps the epoch.
            (TxnState::CompleteCommit | TxnState::CompleteAbort | TxnState::Empty, false)
                if !retry =>
            {
                (TxnState::PrepareAbort, BTreeSet::new())
            }
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                return Err(ErrorCode::ConcurrentTransactions)
            }
            _ => return Err(ErrorCode::InvalidTxnState),
        };
        let next_producer_id = if self.producer_epoch >= EPOCH_EXHAUSTED {
            new_id()?
        } else {
            -1
        };
        let epoch = self.bumped_epoch();
        let start = if self.state == TxnState::Ongoing {
            self.start_ms
        } else {
            now_ms
        };
        let mut v = self.value(target, self.producer_id, epoch, &partitions, start, now_ms);
        v.next_producer_id = next_producer_id;
        v.client_version = 2;
        let next = if next_producer_id >= 0 {
            (next_producer_id, 0)
        } else {
            (self.producer_id, epoch)
        };
        self.pending_last_epoch = Some(self.producer_epoch);
        Ok(EndPlan::Write {
            value: self.pend(v),
            next,
        })
    }

    /// The abort of an Ongoing transaction that outlived its timeout at `now_ms` (Kafka's
    /// `abortTimedOutTransactions`: fence with a bumped epoch, then abort); `None` when it has
    /// not timed out or cannot be aborted now.
    pub fn prepare_timeout_abort(&mut self, now_ms: i64) -> Option<TxnLogValue> {
        let expired = self.start_ms + i64::from(self.timeout_ms) < now_ms;
        if self.state != TxnState::Ongoing || self.pending.is_some() || !expired {
            return None;
        }
        let v = self.value(
            TxnState::PrepareAbort,
            self.producer_id,
            self.bumped_epoch(),
            &self.partitions,
            self.start_ms,
            now_ms,
        );
        Some(self.pend(v))
    }

    /// Whether the id may be removed at `now_ms` (Kafka's `prepareDead` and its checks): no
    /// transaction in flight (Empty or Complete*), nothing pending, and no change for
    /// `expiration_ms`. If so it is marked pending Dead, so that requests meanwhile are
    /// refused with CONCURRENT_TRANSACTIONS until the tombstone is written or abandoned.
    pub fn prepare_dead(&mut self, now_ms: i64, expiration_ms: i64) -> bool {
        let idle = matches!(
            self.state,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        ) && self.pending.is_none()
            && self.last_update_ms.saturating_add(expiration_ms) <= now_ms;
        if idle {
            self.pending = Some(TxnState::Dead);
        }
        idle
    }

    /// The tombstone of a `prepare_dead` is durable: the id is dead (the caller forgets it).
    pub fn complete_dead(&mut self) -> bool {
        if self.pending != Some(TxnState::Dead) {
            return false;
        }
        self.pending = None;
        self.state = TxnState::Dead;
        true
    }

    /// The Complete value once every marker of the Prepare state is written.
    pub fn prepare_complete(&mut self, now_ms: i64) -> Option<TxnLogValue> {
        let target = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return None,
        };
        if self.pending.is_some() {
            return None;
        }
        // A transactions-v2 end whose epoch ran out continues under its new producer id.
        let (producer_id, epoch) = if self.next_producer_id >= 0 {
            (self.next_producer_id, 0)
        } else {
            (self.producer_id, self.producer_epoch)
        };
        let v = self.value(
            target,
            producer_id,
            epoch,
            &BTreeSet::new(),
            self.start_ms,
            now_ms,
        );
        Some(self.pend(v))
    }

    /// The pending change `value` is durable: it becomes the state. Refused (false, nothing
    /// changes) unless `value` is the change pending, as Kafka's `completeTransitionTo`
    /// checks.
    pub fn complete(&mut self, value: &TxnLogValue) -> bool {
        if self.pending != Some(value.state) {
            return false;
        }
        let last = self.pending_last_epoch.take();
        self.take(value);
        if let Some(last) = last {
            self.last_producer_epoch = last;
        }
        true
    }

    /// The pending change failed: nothing changes.
    pub fn abandon(&mut self) {
        self.pending = None;
        self.pending_last_epoch = None;
    }

    /// Takes a logged value as the state. A new epoch forgets the last one: only
    /// InitProducerId keeps it.
    fn take(&mut self, value: &TxnLogValue) {
        if (value.producer_id, value.producer_epoch) != (self.producer_id, self.producer_epoch) {
            self.last_producer_epoch = -1;
        }
        self.producer_id = value.producer_id;
        self.previous_producer_id = value.previous_producer_id;
        self.producer_epoch = value.producer_epoch;
        self.timeout_ms = value.timeout_ms;
        self.state = value.state;
        self.partitions = value
            .partitions
            .iter()
            .flatten()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.clone(), *p)))
            .collect();
        self.start_ms = value.start_ms;
        self.last_update_ms = value.last_update_ms;
        self.next_producer_id = value.next_producer_id;
        self.client_version = value.client_version;
        self.pending = None;
    }
}

#[cfg(test)]
mod tests;
