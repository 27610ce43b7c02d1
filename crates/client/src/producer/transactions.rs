//! The transactional producer (KIP-98): a `transactional.id`, its coordinator, and the
//! partitions and offsets of the open transaction. Two protocols: v1, which every broker
//! since 0.11 speaks, and v2 (KIP-890 part 2), used when the coordinator finalizes the
//! `transaction.version` feature at 2 or more and serves EndTxn v5, TxnOffsetCommit v5 and
//! Produce v12 (Kafka 4 clusters by default).
//!
//! ```text
//!  transactions v1:
//!  init_transactions ─▶ FindCoordinator(key type 1) ─▶ InitProducerId(transactional.id)
//!                       (fences older producers with the id, aborts their open transaction)
//!  begin_transaction ─▶ local only
//!  send(record)      ─▶ first record of a partition: AddPartitionsToTxn, then the batch
//!                       (transactional, stamped with the id and epoch)
//!  send_offsets_to_transaction ─▶ AddOffsetsToTxn(group), then TxnOffsetCommit to the group
//!                       coordinator (generation, member id, instance id)
//!  commit_transaction ─▶ flush; any record failed → Abortable; else EndTxn(commit)
//!  abort_transaction  ─▶ unsent records fail; flush; EndTxn(abort); after a record whose
//!                       outcome is unknown, InitProducerId with the current id and epoch
//!                       (KIP-360) for a new epoch, so its sequences start afresh
//!
//!  transactions v2: no AddPartitionsToTxn (the leaders add partitions on Produce v12) and
//!  no AddOffsetsToTxn (TxnOffsetCommit v5 adds the group's partition); EndTxn v5 answers a
//!  new epoch (or producer id) for the next transaction, whose sequences start at 0, so an
//!  abort never needs InitProducerId.
//! ```
//!
//! Calls are serialised. A commit or abort runs in a task of its own that holds the lock until
//! it ends: dropping the future does not cancel it, and the next call waits for its outcome.
//! Coordinator errors are retried within `max.block.ms` (moved or loading coordinators,
//! CONCURRENT_TRANSACTIONS while the previous transaction's markers are written).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use streamctl_protocol::messages::add_partitions_to_txn::AddPartitionsToTxnTopic;
use streamctl_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::{debug, info};

use super::idempotence::ProducerIdentity;
use super::ProducerInner;
use crate::connection::Connection;
use crate::consumer::offsets::{find_coordinator_of, TRANSACTION_KEY};
use crate::consumer::{ConsumerGroupMetadata, TopicPartition};
use crate::error::{Error, Result, TransactionErrorKind};

mod offsets;
use offsets::txn_offset_commit;

/// Where the producer is in its transactions (Java's `TransactionManager.State`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Ready,
    InTransaction,
    /// `commit_transaction` or `abort_transaction` is running: no more records.
    Ending,
    /// EndTxn(commit) was sent but its outcome is unknown (it timed out): only
    /// `commit_transaction` may be called again, which resends it.
    CommitPending(String),
    /// A record or a request of the open transaction failed: only abort is possible.
    Abortable(String),
    /// The abort ended the transaction but the new epoch it needs is not there yet: abort
    /// again asks for it.
    NeedsEpochBump(String),
    /// Fenced or otherwise unusable for good.
    Fatal(TransactionErrorKind, String),
}

/// Mutable state, under one lock (never held across an await).
#[derive(Debug)]
struct State {
    phase: Phase,
    /// Partitions added to the open transaction.
    added: HashSet<(String, i32)>,
    /// Whether the coordinator knows of the open transaction (a partition or offsets added):
    /// ending one it does not know is a local matter.
    started: bool,
    /// A record's outcome is unknown or its sequence was lost: the next abort asks for a new
    /// epoch (KIP-360), so the partition's sequences can start again at 0.
    needs_new_epoch: bool,
    /// An abort is running (records still queued are failed, not sent).
    aborting: bool,
    /// Transactions v2 is in use (decided by `init_transactions`).
    v2: bool,
}

/// A transactional producer's transaction state (see the module docs).
#[derive(Debug)]
pub(crate) struct Transactions {
    pub(crate) id: String,
    timeout_ms: i32,
    state: Mutex<State>,
    /// Serialises the transactional calls; a commit, abort or send-offsets task holds it
    /// until done.
    calls: Arc<tokio::sync::Mutex<()>>,
    /// Held (shared) by each `send` from its phase check until its record is queued, and
    /// (exclusive) by a commit or abort before it flushes: no record slips in after the flush.
    sending: tokio::sync::RwLock<()>,
    coordinator: tokio::sync::Mutex<Option<Connection>>,
}

fn fenced(message: impl Into<String>) -> Error {
    Error::transaction(TransactionErrorKind::Fenced, message)
}

fn fatal(message: impl Into<String>) -> Error {
    Error::transaction(TransactionErrorKind::Fatal, message)
}

/// The error a phase answers calls with.
fn refusal(phase: &Phase) -> Option<Error> {
    match phase {
        Phase::Abortable(why) | Phase::NeedsEpochBump(why) => Some(abortable(why.clone())),
        Phase::CommitPending(why) => Some(invalid_state(format!(
            "the commit's outcome is unknown ({why}): call commit_transaction again"
        ))),
        Phase::Fatal(kind, why) => Some(Error::transaction(*kind, why.clone())),
        _ => None,
    }
}

fn abortable(message: impl Into<String>) -> Error {
    Error::transaction(TransactionErrorKind::Abortable, message)
}

fn invalid_state(message: impl Into<String>) -> Error {
    Error::transaction(TransactionErrorKind::InvalidState, message)
}

/// The versions transactions v2 sends (KIP-890 part 2).
const V2_END_TXN: i16 = 5;
const V2_TXN_OFFSET_COMMIT: i16 = 5;
/// See [`V2_END_TXN`]; the sender uses it for a v2 producer's Produce requests.
pub(crate) const V2_PRODUCE: i16 = 12;

/// The first pause after CONCURRENT_TRANSACTIONS (doubling while it lasts).
const CONCURRENT_BACKOFF: Duration = Duration::from_millis(2);

/// How a coordinator's answer code is handled.
enum Verdict {
    Done,
    /// Find the coordinator again and retry.
    Rediscover,
    /// Retry the same coordinator after a pause.
    Retry,
    Fail(Error),
}

fn verdict(code: ErrorCode, what: &str) -> Verdict {
    match code {
        ErrorCode::None => Verdict::Done,
        ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => Verdict::Rediscover,
        // From the coordinator, an old epoch means another producer took the id over.
        ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch => {
            Verdict::Fail(fenced(format!("{what}: {}", code.name())))
        }
        ErrorCode::TransactionalIdAuthorizationFailed
        | ErrorCode::ClusterAuthorizationFailed
        | ErrorCode::InvalidProducerIdMapping
        | ErrorCode::InvalidTxnState
        | ErrorCode::UnsupportedVersion
        | ErrorCode::InvalidTransactionTimeout => {
            Verdict::Fail(fatal(format!("{what}: {}", code.name())))
        }
        c if c.is_retriable() || c == ErrorCode::ConcurrentTransactions => Verdict::Retry,
        other => Verdict::Fail(abortable(format!("{what}: {}", other.name()))),
    }
}

impl Transactions {
    pub(crate) fn new(id: String, timeout: Duration) -> Self {
        Self {
            id,
            timeout_ms: i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX),
            state: Mutex::new(State {
                phase: Phase::Uninitialized,
                added: HashSet::new(),
                started: false,
                needs_new_epoch: false,
                aborting: false,
                v2: false,
            }),
            calls: Arc::new(tokio::sync::Mutex::new(())),
            sending: tokio::sync::RwLock::new(()),
            coordinator: tokio::sync::Mutex::new(None),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses a call in a fatal phase.
    fn check_usable(&self) -> Result<()> {
        match &self.state().phase {
            Phase::Fatal(kind, why) => Err(Error::transaction(*kind, why.clone())),
            _ => Ok(()),
        }
    }

    /// Whether a transaction is open (begun, not ended).
    pub(crate) fn has_open_transaction(&self) -> bool {
        matches!(
            self.state().phase,
            Phase::InTransaction | Phase::Abortable(_) | Phase::Ending
        )
    }

    /// Whether the open transaction is being aborted or can only be aborted: queued records
    /// are failed rather than sent.
    pub(crate) fn is_doomed(&self) -> bool {
        matches!(
            self.state().phase,
            Phase::Abortable(_) | Phase::NeedsEpochBump(_)
        ) || self.state().aborting
    }

    /// A record of the open transaction failed for good: the transaction must abort, or, for
    /// the errors Java's producer treats as fatal, the producer is done.
    pub(crate) fn record_failed(&self, error: &Error) {
        let mut s = self.state();
        let fatal_code = matches!(
            error.code(),
            Some(
                ErrorCode::ProducerFenced
                    | ErrorCode::TransactionalIdAuthorizationFailed
                    | ErrorCode::ClusterAuthorizationFailed
                    | ErrorCode::UnsupportedVersion
            )
        );
        if fatal_code {
            let kind = if error.code() == Some(ErrorCode::ProducerFenced) {
                TransactionErrorKind::Fenced
            } else {
                TransactionErrorKind::Fatal
            };
            s.phase = Phase::Fatal(kind, format!("a record of the transaction failed: {error}"));
        } else if matches!(s.phase, Phase::InTransaction | Phase::Ending) && !s.aborting {
            s.phase = Phase::Abortable(format!("a record of the transaction failed: {error}"));
        }
    }

    /// A batch's outcome is unknown or its sequence state was lost: abort, then a new epoch.
    pub(crate) fn sequence_lost(&self) {
        let mut s = self.state();
        s.needs_new_epoch = true;
        if matches!(s.phase, Phase::InTransaction | Phase::Ending) && !s.aborting {
            s.phase = Phase::Abortable(
                "a record's outcome is unknown; the transaction must be aborted".into(),
            );
        }
    }

    /// Runs `call` against the coordinator until its answer is final, within `max.block.ms`.
    async fn with_coordinator<T, F>(
        &self,
        inner: &ProducerInner,
        what: &str,
        call: impl Fn(Connection) -> F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<(ErrorCode, T)>>,
    {
        let config = inner.cluster.config();
        let deadline = Instant::now() + inner.config.max_block;
        let mut pause = config.retry_backoff;
        let mut concurrent_pause = CONCURRENT_BACKOFF.min(config.retry_backoff);
        loop {
            let conn = {
                let mut slot = self.coordinator.lock().await;
                match slot.as_ref().filter(|c| !c.is_closed()) {
                    Some(c) => Ok(c.clone()),
                    None => {
                        let found =
                            find_coordinator_of(&inner.cluster, TRANSACTION_KEY, &self.id).await;
                        if let Ok(c) = &found {
                            *slot = Some(c.clone());
                        }
                        found
                    }
                }
            };
            let last: Error = match conn {
                Ok(conn) => match call(conn).await {
                    Ok((code, value)) => match verdict(code, what) {
                        Verdict::Done => return Ok(value),
                        Verdict::Fail(e) => return Err(e),
                        Verdict::Retry => Error::broker(code),
                        Verdict::Rediscover => {
                            self.coordinator.lock().await.take();
                            Error::broker(code)
                        }
                    },
                    Err(e) if e.is_retriable() => {
                        self.coordinator.lock().await.take();
                        e
                    }
                    Err(e) => return Err(e),
                },
                Err(e) if e.is_retriable() => e,
                Err(e) => return Err(e),
            };
            // The previous transaction's markers are usually written within milliseconds:
            // CONCURRENT_TRANSACTIONS is retried soon (Java waits 20 ms for AddPartitions), not
            // after a whole retry.backoff.ms.
            let wait = if last.code() == Some(ErrorCode::ConcurrentTransactions) {
                concurrent_pause
            } else {
                pause
            };
            if Instant::now() + wait > deadline {
                return Err(Error::Timeout {
                    what: format!("{what} (last error: {last})"),
                    timeout: inner.config.max_block,
                });
            }
            debug!(transactional_id = %self.id, error = %last, "{what}: retrying");
            tokio::time::sleep(wait).await;
            if wait == concurrent_pause {
                concurrent_pause = (concurrent_pause * 2).min(config.retry_backoff_max);
            } else {
                pause = (pause * 2).min(config.retry_backoff_max);
            }
        }
    }

    /// InitProducerId for the transactional id: the identity to stamp batches with.
    /// `current` asks for a new epoch of the producer's own id (KIP-360).
    async fn init_producer_id(
        &self,
        inner: &ProducerInner,
        current: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity> {
        let (id, timeout_ms) = (self.id.clone(), self.timeout_ms);
        self.with_coordinator(inner, "InitProducerId", |conn: Connection| {
            let id = id.clone();
            async move {
                let resp = conn
                    .call(InitProducerIdRequest {
                        transactional_id: Some(id.clone()),
                        transaction_timeout_ms: timeout_ms,
                        producer_id: current.map_or(-1, |c| c.id),
                        producer_epoch: current.map_or(-1, |c| c.epoch),
                        ..Default::default()
                    })
                    .await?;
                let identity = ProducerIdentity {
                    id: resp.producer_id,
                    epoch: resp.producer_epoch,
                };
                Ok((ErrorCode::from_code(resp.error_code), identity))
            }
        })
        .await
    }

    /// `init_transactions`.
    pub(crate) async fn init(&self, inner: &ProducerInner) -> Result<()> {
        let _calls = self.calls.lock().await;
        self.check_usable()?;
        if self.state().phase != Phase::Uninitialized {
            return Err(invalid_state("init_transactions was already called"));
        }
        let identity = self.guard_fatal(self.init_producer_id(inner, None).await)?;
        inner.identities().current = Some(identity);
        let v2 = self.coordinator.lock().await.as_ref().is_some_and(|c| {
            c.transaction_version() >= 2
                && c.supports(ApiKey::EndTxn, V2_END_TXN)
                && c.supports(ApiKey::TxnOffsetCommit, V2_TXN_OFFSET_COMMIT)
                && c.supports(ApiKey::Produce, V2_PRODUCE)
        });
        info!(transactional_id = %self.id, producer_id = identity.id, epoch = identity.epoch, v2, "transactions initialised");
        let mut s = self.state();
        s.v2 = v2;
        s.phase = Phase::Ready;
        Ok(())
    }

    /// Whether the producer runs transactions v2 (its Produce requests go at v12).
    pub(crate) fn uses_v2(&self) -> bool {
        self.state().v2
    }

    /// A fenced or fatal answer makes the producer unusable for good.
    fn guard_fatal<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if let Some(kind @ (TransactionErrorKind::Fenced | TransactionErrorKind::Fatal)) =
                e.transaction_kind()
            {
                self.state().phase = Phase::Fatal(kind, e.to_string());
            }
        }
        result
    }

    /// `begin_transaction`.
    pub(crate) async fn begin(&self) -> Result<()> {
        let _calls = self.calls.lock().await;
        let mut s = self.state();
        match &s.phase {
            Phase::Ready => {
                s.phase = Phase::InTransaction;
                s.added.clear();
                s.started = false;
                Ok(())
            }
            Phase::Uninitialized => Err(invalid_state("call init_transactions first")),
            Phase::InTransaction | Phase::Ending => {
                Err(invalid_state("a transaction is already open"))
            }
            other => Err(refusal(other).unwrap_or_else(|| invalid_state("not ready"))),
        }
    }

    fn check_in_transaction(&self) -> Result<()> {
        match &self.state().phase {
            Phase::InTransaction => Ok(()),
            Phase::Ending => Err(invalid_state(
                "the transaction is being committed or aborted: no more records",
            )),
            other => Err(refusal(other).unwrap_or_else(|| {
                invalid_state("no transaction is open: call begin_transaction")
            })),
        }
    }

    /// Held by `send` from its check until its record is queued (see `sending`).
    pub(crate) async fn send_permit(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.sending.read().await
    }

    /// Adds the partition to the open transaction before its first record is queued.
    pub(crate) async fn ensure_partition(
        &self,
        inner: &ProducerInner,
        topic: &str,
        partition: i32,
    ) -> Result<()> {
        self.check_in_transaction()?;
        let key = (topic.to_string(), partition);
        {
            let mut s = self.state();
            if s.added.contains(&key) {
                return Ok(());
            }
            // Transactions v2: the partition's leader adds it when the first batch arrives.
            if s.v2 {
                s.added.insert(key);
                s.started = true;
                return Ok(());
            }
        }
        let identity = inner.identities().current.ok_or_else(|| {
            invalid_state("the producer has no producer id: call init_transactions")
        })?;
        let id = self.id.clone();
        let added = self
            .with_coordinator(inner, "AddPartitionsToTxn", |conn: Connection| {
                let (id, topic) = (id.clone(), key.0.clone());
                async move {
                    let resp = conn
                        .call(AddPartitionsToTxnRequest {
                            v3_and_below_transactional_id: id.clone(),
                            v3_and_below_producer_id: identity.id,
                            v3_and_below_producer_epoch: identity.epoch,
                            v3_and_below_topics: vec![AddPartitionsToTxnTopic {
                                name: topic,
                                partitions: vec![partition],
                                ..Default::default()
                            }],
                            ..Default::default()
                        })
                        .await?;
                    let code = resp
                        .results_by_topic_v3_and_below
                        .iter()
                        .flat_map(|t| t.results_by_partition.iter())
                        .map(|p| ErrorCode::from_code(p.partition_error_code))
                        .find(|c| !c.is_ok())
                        .unwrap_or(ErrorCode::None);
                    Ok((code, ()))
                }
            })
            .await;
        self.settle(added)?;
        let mut s = self.state();
        s.added.insert(key);
        s.started = true;
        Ok(())
    }

    /// Moves to the phase an error asks for, then returns it.
    fn settle<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            let mut s = self.state();
            match e.transaction_kind() {
                Some(kind @ (TransactionErrorKind::Fenced | TransactionErrorKind::Fatal)) => {
                    s.phase = Phase::Fatal(kind, e.to_string())
                }
                _ if s.phase == Phase::InTransaction => s.phase = Phase::Abortable(e.to_string()),
                _ => {}
            }
        }
        result
    }

    /// `send_offsets_to_transaction`: the consumer's offsets commit with the transaction. Runs
    /// in a task holding the call lock, so a dropped future cannot let a commit through
    /// between its two requests.
    pub(crate) async fn send_offsets(
        &self,
        inner: &Arc<ProducerInner>,
        offsets: &[(TopicPartition, i64)],
        group: &ConsumerGroupMetadata,
    ) -> Result<()> {
        let calls = self.calls.clone().lock_owned().await;
        let (inner, offsets, group) = (inner.clone(), offsets.to_vec(), group.clone());
        let task = tokio::spawn(async move {
            let _calls = calls;
            let Some(txn) = inner.transactions.as_ref() else {
                return Err(invalid_state("the producer has no transactional.id"));
            };
            txn.send_offsets_now(&inner, &offsets, &group).await
        });
        task.await
            .unwrap_or_else(|e| Err(Error::Internal(format!("transaction task failed: {e}"))))
    }

    async fn send_offsets_now(
        &self,
        inner: &ProducerInner,
        offsets: &[(TopicPartition, i64)],
        group: &ConsumerGroupMetadata,
    ) -> Result<()> {
        self.check_in_transaction()?;
        let identity = inner
            .identities()
            .current
            .ok_or_else(|| invalid_state("the producer has no producer id"))?;
        let v2 = self.state().v2;
        if v2 {
            // TxnOffsetCommit v5 has the group's partition added to the transaction.
            self.state().started = true;
            let committed = txn_offset_commit(inner, &self.id, identity, offsets, group, v2).await;
            return self.settle(committed);
        }
        let id = self.id.clone();
        let added = self
            .with_coordinator(inner, "AddOffsetsToTxn", |conn: Connection| {
                let (id, group_id) = (id.clone(), group.group_id.clone());
                async move {
                    let resp = conn
                        .call(AddOffsetsToTxnRequest {
                            transactional_id: id.clone(),
                            producer_id: identity.id,
                            producer_epoch: identity.epoch,
                            group_id,
                            ..Default::default()
                        })
                        .await?;
                    Ok((ErrorCode::from_code(resp.error_code), ()))
                }
            })
            .await;
        self.settle(added)?;
        self.state().started = true;
        let committed = txn_offset_commit(inner, &self.id, identity, offsets, group, v2).await;
        self.settle(committed)
    }

    /// `commit_transaction` or `abort_transaction`, in a task that holds the call lock until
    /// it ends: once the call has started (its first poll), dropping its future does not stop
    /// it, and the next transactional call waits for its outcome.
    pub(crate) async fn end(&self, inner: &Arc<ProducerInner>, commit: bool) -> Result<()> {
        let calls = self.calls.clone().lock_owned().await;
        let inner = inner.clone();
        let task = tokio::spawn(async move {
            let _calls = calls;
            let Some(txn) = inner.transactions.as_ref() else {
                return Err(invalid_state("the producer has no transactional.id"));
            };
            let result = txn.end_now(&inner, commit).await;
            txn.state().aborting = false;
            result
        });
        task.await
            .unwrap_or_else(|e| Err(Error::Internal(format!("transaction task failed: {e}"))))
    }

    async fn end_now(&self, inner: &Arc<ProducerInner>, commit: bool) -> Result<()> {
        // Which phases may end how; the phase moves to Ending at once, so no record is
        // accepted from here on.
        /// What the phase allows.
        enum Start {
            End,
            ResendCommit,
            BumpOnly,
        }
        let start = {
            let mut s = self.state();
            let start = match (&s.phase, commit) {
                (Phase::InTransaction, _) | (Phase::Abortable(_), false) => Start::End,
                (Phase::CommitPending(_), true) => Start::ResendCommit,
                (Phase::NeedsEpochBump(_), false) => Start::BumpOnly,
                (Phase::Ready, _) | (Phase::Uninitialized, _) | (Phase::Ending, _) => {
                    return Err(invalid_state("no transaction is open"))
                }
                (other, _) => {
                    return Err(refusal(other).unwrap_or_else(|| invalid_state("cannot end")))
                }
            };
            if matches!(start, Start::End) {
                s.phase = Phase::Ending;
                s.aborting = !commit;
            }
            start
        };
        let resend_commit = match start {
            Start::BumpOnly => return self.new_epoch(inner).await,
            Start::ResendCommit => true,
            Start::End => false,
        };
        if !resend_commit {
            // Records whose `send` passed its check before are queued before the flush.
            drop(self.sending.write().await);
            if !commit {
                super::sender::fail_unsent(inner, &abortable("the transaction was aborted"));
            }
            super::Producer::flush_inner(inner).await;
            if commit {
                if let Some(e) = refusal(&self.state().phase) {
                    return Err(e);
                }
            }
        }
        if self.state().started {
            self.end_txn(inner, commit).await?;
        }
        {
            let mut s = self.state();
            s.added.clear();
            s.started = false;
        }
        if self.state().v2 {
            // EndTxn v5 gave the next transaction a new epoch: nothing is left to bump.
            self.state().needs_new_epoch = false;
            inner.identities().bump_requested = false;
        }
        let needs_new_epoch = self.state().needs_new_epoch || inner.identities().bump_requested;
        if !commit && needs_new_epoch {
            self.state().phase =
                Phase::NeedsEpochBump("the aborted transaction left sequences unknown".into());
            return self.new_epoch(inner).await;
        }
        self.state().phase = Phase::Ready;
        Ok(())
    }

    /// EndTxn; an outcome it cannot know (a timeout) leaves the commit pending.
    async fn end_txn(&self, inner: &ProducerInner, commit: bool) -> Result<()> {
        let identity = inner
            .identities()
            .current
            .ok_or_else(|| invalid_state("the producer has no producer id"))?;
        let id = self.id.clone();
        let what = if commit {
            "EndTxn(commit)"
        } else {
            "EndTxn(abort)"
        };
        let v2 = self.state().v2;
        let timeout = inner.cluster.config().request_timeout;
        let ended = self
            .with_coordinator(inner, what, |conn: Connection| {
                let id = id.clone();
                async move {
                    let request = EndTxnRequest {
                        transactional_id: id.clone(),
                        producer_id: identity.id,
                        producer_epoch: identity.epoch,
                        committed: commit,
                        ..Default::default()
                    };
                    let resp = if v2 {
                        conn.call_at(request, V2_END_TXN, timeout).await?
                    } else {
                        conn.call(request).await?
                    };
                    let next = ProducerIdentity {
                        id: resp.producer_id,
                        epoch: resp.producer_epoch,
                    };
                    Ok((ErrorCode::from_code(resp.error_code), next))
                }
            })
            .await;
        match ended {
            Ok(next) => {
                if v2 && next.id >= 0 && next.epoch >= 0 {
                    // The next transaction runs under this identity; every partition's
                    // sequence restarts at 0 under it.
                    inner.identities().current = Some(next);
                    debug!(transactional_id = %self.id, producer_id = next.id, epoch = next.epoch, "transactions v2: next epoch");
                    inner.wake.notify_one();
                }
                Ok(())
            }
            Err(e) if e.transaction_kind().is_none() && commit => {
                self.state().phase = Phase::CommitPending(e.to_string());
                Err(e)
            }
            Err(e) if e.transaction_kind().is_none() => {
                self.state().phase = Phase::Abortable(e.to_string());
                Err(e)
            }
            Err(e) => {
                let mut s = self.state();
                s.phase = match e.transaction_kind() {
                    Some(kind @ (TransactionErrorKind::Fenced | TransactionErrorKind::Fatal)) => {
                        Phase::Fatal(kind, e.to_string())
                    }
                    _ => Phase::Abortable(e.to_string()),
                };
                Err(e)
            }
        }
    }

    /// InitProducerId with the current id and epoch (KIP-360): a new epoch after an abort
    /// that left sequences unknown.
    async fn new_epoch(&self, inner: &ProducerInner) -> Result<()> {
        let current = inner.identities().current;
        let identity = self.guard_fatal(self.init_producer_id(inner, current).await)?;
        {
            let mut ids = inner.identities();
            ids.current = Some(identity);
            ids.bump_requested = false;
        }
        let mut s = self.state();
        s.needs_new_epoch = false;
        s.phase = Phase::Ready;
        drop(s);
        info!(transactional_id = %self.id, epoch = identity.epoch, "new producer epoch after an aborted transaction");
        inner.wake.notify_one();
        Ok(())
    }
}
