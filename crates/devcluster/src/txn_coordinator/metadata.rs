//! One transactional id's state and Kafka's rules for changing it (`TransactionMetadata`,
//! `TransactionCoordinator` of Kafka's transactions v1). Pure: no I/O, no clock.
//!
//! ```text
//!   InitProducerId ──▶ Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit|PrepareAbort
//!        ▲               ▲                        │                     │ markers written
//!        └───────────────┴── CompleteCommit|CompleteAbort ◀─────────────┘
//!   Ongoing + InitProducerId or timeout ──▶ epoch + 1, PrepareAbort (fence), then as above
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
            let mut topics: Vec<TxnTopic> = Vec::new();
            for (topic, p) in partitions {
                match topics.last_mut() {
                    Some(t) if &t.topic == topic => t.partitions.push(*p),
                    _ => topics.push(TxnTopic {
                        topic: topic.clone(),
                        partitions: vec![*p],
                    }),
                }
            }
            topics
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
            let epoch = self.bumped_epoch();
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

    /// AddPartitionsToTxn / AddOffsetsToTxn: `Ok(None)` when every partition is already in
    /// the open transaction (nothing to log).
    pub fn prepare_add(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
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
        let v = self.value(
            TxnState::Ongoing,
            self.producer_id,
            self.producer_epoch,
            &all,
            start,
            now_ms,
        );
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
                let v = self.value(
                    target,
                    self.producer_id,
                    self.producer_epoch,
                    &self.partitions,
                    self.start_ms,
                    now_ms,
                );
                Ok(Some(self.pend(v)))
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Err(ErrorCode::ConcurrentTransactions)
            }
            _ => Err(ErrorCode::InvalidTxnState),
        }
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
        let v = self.value(
            target,
            self.producer_id,
            self.producer_epoch,
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
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(m: &mut TxnMetadata, pid: i64, epoch: i16) -> Result<InitPlan, ErrorCode> {
        m.prepare_init(
            InitArgs {
                timeout_ms: 60_000,
                producer_id: pid,
                producer_epoch: epoch,
            },
            10,
            || Ok(99),
        )
    }

    fn apply(m: &mut TxnMetadata, v: TxnLogValue) {
        assert!(m.complete(&v));
    }

    /// Runs an init that must write; returns the value written.
    fn init_write(m: &mut TxnMetadata, pid: i64, epoch: i16) -> TxnLogValue {
        let InitPlan::Write(value) = init(m, pid, epoch).unwrap() else {
            panic!("expected a write")
        };
        apply(m, value.clone());
        value
    }

    fn ready(epoch_after: i16) -> TxnMetadata {
        let mut m = TxnMetadata::new(7, 60_000, 0);
        for _ in 0..=epoch_after {
            init_write(&mut m, -1, -1);
        }
        m
    }

    fn parts(names: &[(&str, i32)]) -> Vec<(String, i32)> {
        names.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    #[test]
    fn a_new_id_starts_at_epoch_0_and_each_init_bumps() {
        let m = ready(0);
        assert_eq!(
            (m.producer_id, m.producer_epoch, m.state),
            (7, 0, TxnState::Empty)
        );
        let m = ready(2);
        assert_eq!(m.producer_epoch, 2);
    }

    #[test]
    fn kip_360_init_with_the_current_epoch_bumps_a_retry_repeats_others_are_fenced() {
        let mut m = ready(1);
        assert_eq!(init_write(&mut m, 7, 1).producer_epoch, 2);
        // A retry of that call (it carries the epoch before the bump) gets the same answer.
        assert_eq!(init_write(&mut m, 7, 1).producer_epoch, 2);
        assert_eq!(init_write(&mut m, 7, 2).producer_epoch, 3);
        assert_eq!(init(&mut m, 7, 0).unwrap_err(), ErrorCode::ProducerFenced);
        assert_eq!(init(&mut m, 8, 2).unwrap_err(), ErrorCode::ProducerFenced);
    }

    #[test]
    fn an_exhausted_epoch_rotates_the_producer_id() {
        let mut m = ready(0);
        m.producer_epoch = EPOCH_EXHAUSTED;
        let v = init_write(&mut m, -1, -1);
        assert_eq!(
            (v.producer_id, v.producer_epoch, v.previous_producer_id),
            (99, 0, 7)
        );
    }

    #[test]
    fn a_transaction_runs_add_prepare_complete() {
        let mut m = ready(0);
        let v = m
            .prepare_add(7, 0, &parts(&[("a", 0), ("a", 1), ("b", 0)]), 20)
            .unwrap()
            .unwrap();
        assert_eq!(v.state, TxnState::Ongoing);
        assert_eq!(v.start_ms, 20);
        apply(&mut m, v);
        // Nothing new: no write.
        assert_eq!(m.prepare_add(7, 0, &parts(&[("a", 1)]), 30).unwrap(), None);
        assert_eq!(
            m.prepare_add(7, 1, &parts(&[("a", 1)]), 30).unwrap_err(),
            ErrorCode::ProducerFenced
        );
        assert_eq!(
            m.prepare_add(8, 0, &parts(&[("a", 1)]), 30).unwrap_err(),
            ErrorCode::InvalidProducerIdMapping
        );
        let v = m.prepare_end(7, 0, true, 40).unwrap().unwrap();
        assert_eq!(v.state, TxnState::PrepareCommit);
        assert_eq!(v.partitions.as_ref().unwrap().len(), 2);
        apply(&mut m, v);
        assert_eq!(
            m.prepare_end(7, 0, true, 41).unwrap_err(),
            ErrorCode::ConcurrentTransactions
        );
        assert_eq!(
            m.prepare_end(7, 0, false, 41).unwrap_err(),
            ErrorCode::InvalidTxnState
        );
        assert_eq!(
            m.prepare_add(7, 0, &parts(&[("c", 0)]), 41).unwrap_err(),
            ErrorCode::ConcurrentTransactions
        );
        let v = m.prepare_complete(50).unwrap();
        assert_eq!(v.state, TxnState::CompleteCommit);
        apply(&mut m, v);
        assert!(m.partitions.is_empty());
        // A retried commit succeeds; an abort now is out of order; so is ending Empty.
        assert_eq!(m.prepare_end(7, 0, true, 51).unwrap(), None);
        assert_eq!(
            m.prepare_end(7, 0, false, 51).unwrap_err(),
            ErrorCode::InvalidTxnState
        );
        // The next transaction starts afresh.
        let v = m
            .prepare_add(7, 0, &parts(&[("c", 0)]), 60)
            .unwrap()
            .unwrap();
        assert_eq!((v.start_ms, v.partitions.unwrap().len()), (60, 1));
    }

    #[test]
    fn init_during_a_transaction_fences_and_aborts_it_and_timeouts_do_too() {
        let mut m = ready(0);
        let v = m
            .prepare_add(7, 0, &parts(&[("a", 0)]), 100)
            .unwrap()
            .unwrap();
        apply(&mut m, v);
        let mut timing_out = m.clone();
        let InitPlan::FenceAndAbort(v) = init(&mut m, -1, -1).unwrap() else {
            panic!()
        };
        assert_eq!((v.state, v.producer_epoch), (TxnState::PrepareAbort, 1));
        // The timeout takes the same path: fence, then abort.
        assert_eq!(timing_out.prepare_timeout_abort(100 + 60_000), None);
        let t = timing_out.prepare_timeout_abort(100 + 60_001).unwrap();
        assert_eq!(
            t,
            TxnLogValue {
                last_update_ms: 100 + 60_001,
                ..v.clone()
            }
        );
        apply(&mut m, v);
        // The fenced incarnation's commit is refused; the new one's init waits for the abort.
        assert_eq!(
            m.prepare_end(7, 0, true, 0).unwrap_err(),
            ErrorCode::ProducerFenced
        );
        assert_eq!(
            init(&mut m, -1, -1).unwrap_err(),
            ErrorCode::ConcurrentTransactions
        );
        let v = m.prepare_complete(0).unwrap();
        apply(&mut m, v);
        // The fenced incarnation cannot pass for a retry of anything.
        assert_eq!(init(&mut m, 7, 0).unwrap_err(), ErrorCode::ProducerFenced);
        assert_eq!(init_write(&mut m, -1, -1).producer_epoch, 2);
    }

    #[test]
    fn a_prepared_change_shuts_out_every_other_until_it_completes_or_is_abandoned() {
        let mut m = ready(0);
        let v = m
            .prepare_add(7, 0, &parts(&[("a", 0)]), 1)
            .unwrap()
            .unwrap();
        apply(&mut m, v);
        let a0 = ("a".to_string(), 0);
        let a1 = ("a".to_string(), 1);
        assert_eq!(m.verify(7, 0, &a0), ErrorCode::None);
        assert_eq!(m.verify(7, 0, &a1), ErrorCode::TransactionAbortable);
        assert_eq!(m.verify(7, 1, &a0), ErrorCode::ProducerFenced);
        // EndTxn prepared (not yet logged): a racing timeout, init or second end must wait.
        let commit = m.prepare_end(7, 0, true, 2).unwrap().unwrap();
        assert_eq!(m.prepare_timeout_abort(i64::MAX / 2), None);
        assert_eq!(
            init(&mut m, -1, -1).unwrap_err(),
            ErrorCode::ConcurrentTransactions
        );
        assert_eq!(
            m.prepare_end(7, 0, false, 2).unwrap_err(),
            ErrorCode::ConcurrentTransactions
        );
        // Only the pending change completes.
        let mut other = commit.clone();
        other.state = TxnState::PrepareAbort;
        assert!(!m.complete(&other));
        // Abandoned (its write failed): the state is unchanged and requests go through.
        m.abandon();
        assert_eq!(m.state, TxnState::Ongoing);
        let abort = m.prepare_end(7, 0, false, 3).unwrap().unwrap();
        assert!(m.complete(&abort));
        assert_eq!(m.state, TxnState::PrepareAbort);
        // A fenced producer hears PRODUCER_FENCED even while the id is busy, as in Kafka.
        assert_eq!(init(&mut m, 99, 0).unwrap_err(), ErrorCode::ProducerFenced);
    }

    #[test]
    fn state_ids_round_trip() {
        for id in 0..8 {
            assert_eq!(TxnState::from_id(id).unwrap().id(), id);
        }
        assert_eq!(TxnState::from_id(8), None);
    }
}
