//! The transaction coordinator (KIP-98, KIP-890): transactional ids, their
//! producer ids and epochs, and the two-phase end of every transaction, kept as records in
//! the replicated internal topic `__transaction_state`.
//!
//! ```text
//!  FindCoordinator(key type 1, id) ─▶ creates __transaction_state if missing ─▶ leader of
//!                      partition abs(java_hash(id)) % partitions = the coordinator of id
//!  metadata change ─▶ reconcile: load the partitions this broker now leads (last write
//!                      wins), resume every PrepareCommit/PrepareAbort found; drop the others
//!  InitProducerId / AddPartitionsToTxn / EndTxn ─▶ metadata.rs checks and picks the target
//!      ─▶ pending (others get CONCURRENT_TRANSACTIONS) ─▶ record appended, ISR has it
//!      ─▶ memory takes the target ─▶ answer
//!  EndTxn answered once PrepareCommit|PrepareAbort is durable ─▶ markers.rs writes a marker
//!      on every partition of the transaction (WriteTxnMarkers over the wire, to each leader)
//!      ─▶ CompleteCommit|CompleteAbort logged
//! ```
//!
//! # What an answer relies on
//! - **EndTxn NONE**: the Prepare record is above the `__transaction_state` high watermark,
//!   written while this broker led the partition at the coordinator epoch the transaction
//!   was looked up under (checked again after the write). Any later leader of the partition
//!   has the record (only ISR members are elected), loads it and finishes the markers.
//! - **Complete**: every partition's leader answered its marker after the marker reached
//!   that partition's ISR (WriteTxnMarkers waits, acks=all), so the marker survives a
//!   failover of the data partition.
//! - **Fencing**: a marker carries the coordinator epoch; a partition refuses markers older
//!   than the last it saw for the producer (TRANSACTION_COORDINATOR_FENCED), and the
//!   producer epoch fences zombies (INVALID_PRODUCER_EPOCH).
//!
//! Both transaction protocols are served: v1 (clients add partitions, the epoch changes only
//! on InitProducerId) and v2 of KIP-890 part 2 (partition leaders add partitions on the
//! first Produce v12 of a transaction, see `verify.rs`; every EndTxn v5 bumps the epoch).
//!
//! Idle transactional ids expire after `transactional.id.expiration.ms`, with a tombstone.

mod markers;
pub mod metadata;
pub mod records;
mod verify;

pub use verify::Ask;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use streamctl_protocol::ErrorCode;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::broker::ReplicaManager;
use crate::config::BrokerConfig;
use crate::error::ApiError;
use crate::inter_broker::PeerPool;
use crate::internal_topic::{
    coordinator_of, led_partitions, partition_of, read_records, reconcile_loaded, InternalLog,
    InternalTopic, LogEntry,
};
use crate::partition::now_ms;
use metadata::{EndPlan, InitArgs, InitPlan, TxnMetadata, TxnState};
use records::{decode_key, encode_key, TxnLogValue, TRANSACTION_TOPIC};

/// Partitions grouped by topic, in the order given (consecutive partitions of a topic join
/// one group): the shape of every per-topic list the transaction messages carry.
pub fn by_topic<'a>(
    partitions: impl IntoIterator<Item = &'a (String, i32)>,
) -> Vec<(String, Vec<i32>)> {
    let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
    for (topic, p) in partitions {
        match topics.last_mut() {
            Some((t, ps)) if t == topic => ps.push(*p),
            _ => topics.push((topic.clone(), vec![*p])),
        }
    }
    topics
}

/// Coordinator settings taken from the broker config.
#[derive(Debug, Clone)]
struct TxnConfig {
    partitions: i32,
    replication_factor: i16,
    min_isr: i16,
    max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`.
    id_expiration_ms: i64,
    /// How long a write to `__transaction_state` waits for the ISR.
    write_timeout: Duration,
}

/// A `__transaction_state` partition this broker leads.
#[derive(Debug)]
struct Owned {
    topic_id: Uuid,
    /// The partition's leader epoch when this broker loaded it: the coordinator epoch.
    coordinator_epoch: i32,
    /// Stops the loader and the marker tasks of the partition.
    stop: CancellationToken,
    /// The transactional ids once loaded; `None` while loading.
    txns: Option<HashMap<String, Arc<Mutex<TxnMetadata>>>>,
}

/// One transactional id, looked up on its coordinator.
#[derive(Debug, Clone)]
struct Txn {
    id: String,
    partition: i32,
    coordinator_epoch: i32,
    stop: CancellationToken,
    meta: Arc<Mutex<TxnMetadata>>,
}

impl Txn {
    fn lock(&self) -> MutexGuard<'_, TxnMetadata> {
        self.meta.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One broker's transaction coordinator (see the module docs).
#[derive(Debug)]
pub struct TransactionCoordinator {
    node_id: i32,
    replicas: Arc<ReplicaManager>,
    config: TxnConfig,
    /// Cancelled when the broker stops: every loader and marker task ends.
    stop: CancellationToken,
    partitions: Mutex<HashMap<i32, Owned>>,
    /// Connections to the brokers markers go to.
    peers: PeerPool,
}

impl Drop for TransactionCoordinator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Kafka's mapping of a failed `__transaction_state` write to the answer
/// (`TransactionStateManager.appendTransactionToLog`).
fn write_error(e: &ApiError) -> ErrorCode {
    match e.code {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => ErrorCode::UnknownServerError,
        other => other,
    }
}

impl TransactionCoordinator {
    /// The coordinator of the broker whose replicas these are.
    pub fn new(replicas: Arc<ReplicaManager>, config: &BrokerConfig) -> Self {
        Self {
            node_id: replicas.node_id,
            peers: PeerPool::new(format!("broker-{}-txn-markers", replicas.node_id)),
            replicas,
            config: TxnConfig {
                partitions: config.transaction_state_partitions.max(1),
                replication_factor: config.transaction_state_replication_factor.max(1),
                min_isr: config.transaction_state_min_isr.max(1),
                max_timeout_ms: config.transaction_max_timeout_ms,
                id_expiration_ms: i64::try_from(config.transactional_id_expiration.as_millis())
                    .unwrap_or(i64::MAX),
                write_timeout: Duration::from_secs(30),
            },
            stop: CancellationToken::new(),
            partitions: Mutex::new(HashMap::new()),
        }
    }

    /// A guard that stops every task of this coordinator when dropped (held by the
    /// broker's maintenance task, as for the group coordinator).
    pub fn stop_on_drop(&self) -> DropGuard {
        self.stop.clone().drop_guard()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Owned>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `__transaction_state` as Kafka creates it (`transactionTopicConfigs`).
    fn topic(&self) -> InternalTopic {
        InternalTopic {
            name: TRANSACTION_TOPIC,
            partitions: self.config.partitions,
            replication_factor: self.config.replication_factor,
            configs: BTreeMap::from([
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("compression.type".to_string(), "uncompressed".to_string()),
                (
                    "min.insync.replicas".to_string(),
                    self.config.min_isr.to_string(),
                ),
                (
                    "unclean.leader.election.enable".to_string(),
                    "false".to_string(),
                ),
                ("segment.bytes".to_string(), "104857600".to_string()),
            ]),
        }
    }

    /// The coordinator of a transactional id: (node id, host, port), creating
    /// `__transaction_state` first if needed.
    pub fn find_coordinator(&self, transactional_id: &str) -> Result<(i32, String, i32), ApiError> {
        self.topic().ensure(&self.replicas)?;
        coordinator_of(
            &self.replicas.metadata(),
            TRANSACTION_TOPIC,
            transactional_id,
        )
    }

    /// Brings the loaded partitions in line with metadata (as the group coordinator does).
    pub fn reconcile(self: &Arc<Self>) {
        let led = led_partitions(&self.replicas.metadata(), TRANSACTION_TOPIC, self.node_id);
        let missing = reconcile_loaded(
            &mut self.lock(),
            &led,
            |o| (o.topic_id, o.coordinator_epoch),
            |p, o| {
                info!(
                    broker = self.node_id,
                    partition = p,
                    "no longer leading; unloading its transactions"
                );
                o.stop.cancel();
            },
        );
        for (p, topic_id, epoch) in missing {
            self.start_loading(p, topic_id, epoch);
        }
    }

    fn start_loading(self: &Arc<Self>, partition: i32, topic_id: Uuid, epoch: i32) {
        let replica = match self.replicas.leader_replica(TRANSACTION_TOPIC, partition) {
            Ok(r) if r.topic_id == topic_id && r.leader_epoch == epoch => r.partition,
            Ok(_) => return,
            Err(e) => {
                warn!(broker = self.node_id, partition, error = %e, "cannot load __transaction_state partition");
                return;
            }
        };
        let stop = self.stop.child_token();
        {
            let mut parts = self.lock();
            if parts
                .get(&partition)
                .is_some_and(|o| o.topic_id == topic_id && o.coordinator_epoch == epoch)
            {
                return;
            }
            let owned = Owned {
                topic_id,
                coordinator_epoch: epoch,
                stop: stop.clone(),
                txns: None,
            };
            if let Some(old) = parts.insert(partition, owned) {
                old.stop.cancel();
            }
        }
        let coordinator = Arc::clone(self);
        tokio::spawn(async move {
            let mut loaded: HashMap<String, TxnLogValue> = HashMap::new();
            let read = read_records(&replica, |entry| {
                let LogEntry::Record {
                    key, value, offset, ..
                } = entry
                else {
                    return;
                };
                let Some(id) = key.and_then(|k| decode_key(k).ok().flatten()) else {
                    return;
                };
                match value.map(TxnLogValue::decode) {
                    None => {
                        loaded.remove(&id);
                    }
                    Some(Ok(v)) => {
                        loaded.insert(id, v);
                    }
                    Some(Err(e)) => {
                        warn!(offset, error = %e, "skipping an unreadable __transaction_state value");
                    }
                }
            });
            let read = tokio::select! {
                () = stop.cancelled() => return,
                read = read => read,
            };
            match read {
                Ok(_) => coordinator.install(partition, epoch, &stop, loaded),
                Err(e) => {
                    warn!(broker = coordinator.node_id, partition, error = %e, "loading transactions failed; will retry on the next request");
                    let mut parts = coordinator.lock();
                    if parts
                        .get(&partition)
                        .is_some_and(|o| o.coordinator_epoch == epoch && o.txns.is_none())
                    {
                        parts.remove(&partition);
                    }
                }
            }
        });
    }

    /// Takes the loaded state, unless unloaded meanwhile, and finishes every transaction
    /// that was between its Prepare and Complete records (its markers may be missing).
    fn install(
        self: &Arc<Self>,
        partition: i32,
        coordinator_epoch: i32,
        stop: &CancellationToken,
        loaded: HashMap<String, TxnLogValue>,
    ) {
        let mut resume = Vec::new();
        {
            let mut parts = self.lock();
            let Some(owned) = parts.get_mut(&partition) else {
                return;
            };
            if stop.is_cancelled() || owned.txns.is_some() {
                return;
            }
            let mut txns = HashMap::new();
            for (id, value) in loaded {
                if value.state == TxnState::Dead {
                    continue;
                }
                let meta = Arc::new(Mutex::new(TxnMetadata::from_log(&value)));
                if matches!(
                    value.state,
                    TxnState::PrepareCommit | TxnState::PrepareAbort
                ) {
                    resume.push(Txn {
                        id: id.clone(),
                        partition,
                        coordinator_epoch,
                        stop: stop.clone(),
                        meta: meta.clone(),
                    });
                }
                txns.insert(id, meta);
            }
            info!(
                broker = self.node_id,
                partition,
                transactional_ids = txns.len(),
                resumed = resume.len(),
                "transactions loaded"
            );
            owned.txns = Some(txns);
        }
        for txn in resume {
            self.spawn_markers(txn);
        }
    }

    /// The transactional id on this coordinator; `create` (the transaction timeout) makes a
    /// new one with a fresh producer id when unknown. Errors: NOT_COORDINATOR,
    /// COORDINATOR_LOAD_IN_PROGRESS, and for a create the producer id allocation's error.
    fn lookup(self: &Arc<Self>, id: &str, create: Option<i32>) -> Result<Option<Txn>, ErrorCode> {
        if let Some(found) = self.find(id, None)? {
            return Ok(Some(found));
        }
        let Some(timeout_ms) = create else {
            return Ok(None);
        };
        // Allocated outside the coordinator's lock (it may write the id block to disk); if
        // another request created the id meanwhile, this id is simply never used.
        let pid = self.new_producer_id()?;
        self.find(id, Some(TxnMetadata::new(pid, timeout_ms, now_ms())))
    }

    /// The id's metadata, inserting `new` when it is unknown.
    fn find(
        self: &Arc<Self>,
        id: &str,
        new: Option<TxnMetadata>,
    ) -> Result<Option<Txn>, ErrorCode> {
        let md = self.replicas.metadata();
        let (Some(topic), Some((p, leader, epoch))) = (
            md.topic(TRANSACTION_TOPIC),
            partition_of(&md, TRANSACTION_TOPIC, id),
        ) else {
            return Err(ErrorCode::NotCoordinator);
        };
        if leader != self.node_id {
            return Err(ErrorCode::NotCoordinator);
        }
        let mut parts = self.lock();
        let Some(owned) = parts
            .get_mut(&p)
            .filter(|o| o.topic_id == topic.topic_id && o.coordinator_epoch == epoch)
        else {
            drop(parts);
            self.start_loading(p, topic.topic_id, epoch);
            return Err(ErrorCode::CoordinatorLoadInProgress);
        };
        let stop = owned.stop.clone();
        let Some(txns) = owned.txns.as_mut() else {
            return Err(ErrorCode::CoordinatorLoadInProgress);
        };
        let meta = match (txns.get(id), new) {
            (Some(m), _) => m.clone(),
            (None, None) => return Ok(None),
            (None, Some(new)) => {
                let m = Arc::new(Mutex::new(new));
                txns.insert(id.to_string(), m.clone());
                m
            }
        };
        Ok(Some(Txn {
            id: id.to_string(),
            partition: p,
            coordinator_epoch: epoch,
            stop,
            meta,
        }))
    }

    fn new_producer_id(&self) -> Result<i64, ErrorCode> {
        self.replicas.controller.next_producer_id().map_err(|e| {
            warn!(broker = self.node_id, error = %e, "cannot reserve producer ids");
            e.code
        })
    }

    /// Whether this broker still coordinates `txn`'s partition at its coordinator epoch.
    fn still_owns(&self, txn: &Txn) -> bool {
        self.lock()
            .get(&txn.partition)
            .is_some_and(|o| o.coordinator_epoch == txn.coordinator_epoch && o.txns.is_some())
    }

    /// Logs `value`, the change pending on `txn` (its `prepare_*` call set it), in a task of
    /// its own, so a request that goes away mid-write (its connection dropped) cannot leave
    /// the id pending for ever. Once the ISR has the record and this broker still coordinates
    /// at the same epoch, the change becomes the state, and with `markers` the transaction's
    /// end starts; on failure the change is abandoned and nothing changes in memory.
    async fn write(
        self: &Arc<Self>,
        txn: &Txn,
        value: TxnLogValue,
        markers: bool,
    ) -> Result<(), ErrorCode> {
        let coordinator = Arc::clone(self);
        let txn = txn.clone();
        let task = tokio::spawn(async move {
            let appended = coordinator.append_durably(&txn, Some(&value)).await;
            let result = {
                let mut meta = txn.lock();
                match appended {
                    Ok(()) if meta.complete(&value) => Ok(()),
                    Ok(()) => {
                        warn!(transactional_id = %txn.id, "a logged change was not the pending one");
                        Err(ErrorCode::UnknownServerError)
                    }
                    Err(code) => {
                        debug!(transactional_id = %txn.id, error = code.name(), "transaction state write failed");
                        meta.abandon();
                        Err(code)
                    }
                }
            };
            if result.is_ok() && markers {
                coordinator.spawn_markers(txn);
            }
            result
        });
        task.await.unwrap_or(Err(ErrorCode::NotCoordinator))
    }

    /// Appends `value` (`None`: the id's tombstone) for `txn` at the coordinator epoch it was
    /// looked up under and waits until the ISR has it.
    async fn append_durably(
        &self,
        txn: &Txn,
        value: Option<&TxnLogValue>,
    ) -> Result<(), ErrorCode> {
        let key = encode_key(&txn.id).map_err(|_| ErrorCode::UnknownServerError)?;
        let bytes = value
            .map(TxnLogValue::encode)
            .transpose()
            .map_err(|_| ErrorCode::UnknownServerError)?;
        let log = InternalLog::new(
            Arc::downgrade(&self.replicas),
            TRANSACTION_TOPIC,
            txn.partition,
            txn.coordinator_epoch,
            self.config.write_timeout,
        );
        let appended = log.append(&[(key, bytes)]).map_err(|e| write_error(&e))?;
        appended.durable().await.map_err(|e| write_error(&e))?;
        if self.still_owns(txn) {
            Ok(())
        } else {
            Err(ErrorCode::NotCoordinator)
        }
    }

    /// InitProducerId with a transactional id: the producer id and epoch to use.
    pub async fn init_producer_id(
        self: &Arc<Self>,
        id: &str,
        args: InitArgs,
    ) -> Result<(i64, i16), ErrorCode> {
        if args.timeout_ms <= 0 || args.timeout_ms > self.config.max_timeout_ms {
            return Err(ErrorCode::InvalidTransactionTimeout);
        }
        let txn = self
            .lookup(id, Some(args.timeout_ms))?
            .ok_or(ErrorCode::UnknownServerError)?;
        let plan = txn
            .lock()
            .prepare_init(args, now_ms(), || self.new_producer_id())?;
        match plan {
            InitPlan::Write(value) => {
                let answer = (value.producer_id, value.producer_epoch);
                self.write(&txn, value, false).await?;
                Ok(answer)
            }
            InitPlan::FenceAndAbort(value) => {
                info!(
                    transactional_id = id,
                    epoch = value.producer_epoch,
                    "fencing the open transaction of a previous producer"
                );
                self.write(&txn, value, true).await?;
                Err(ErrorCode::ConcurrentTransactions)
            }
        }
    }

    /// AddPartitionsToTxn (v0–v3, and v4+ from a partition leader without `verify_only`)
    /// and the partition adds of AddOffsetsToTxn; `client_version` 2 for the implicit adds of
    /// transactions v2.
    pub async fn add_partitions(
        self: &Arc<Self>,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        client_version: i16,
    ) -> ErrorCode {
        self.change(id, false, |m| {
            m.prepare_add(
                producer_id,
                producer_epoch,
                partitions,
                client_version,
                now_ms(),
            )
        })
        .await
    }

    /// A change of a known id: `prepare` picks it (or nothing to log, or the refusal), then
    /// it is logged, and with `markers` the transaction's end starts. An unknown id is
    /// INVALID_PRODUCER_ID_MAPPING.
    async fn change(
        self: &Arc<Self>,
        id: &str,
        markers: bool,
        prepare: impl FnOnce(&mut TxnMetadata) -> Result<Option<TxnLogValue>, ErrorCode>,
    ) -> ErrorCode {
        let txn = match self.lookup(id, None) {
            Ok(Some(t)) => t,
            Ok(None) => return ErrorCode::InvalidProducerIdMapping,
            Err(code) => return code,
        };
        let target = prepare(&mut txn.lock());
        match target {
            Ok(None) => ErrorCode::None,
            Ok(Some(value)) => match self.write(&txn, value, markers).await {
                Ok(()) => ErrorCode::None,
                Err(code) => code,
            },
            Err(code) => code,
        }
    }

    /// EndTxn (transactions v1): answered once the Prepare record is durable; the markers
    /// and the Complete record follow in the background.
    pub async fn end_txn(
        self: &Arc<Self>,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> ErrorCode {
        self.change(id, true, |m| {
            m.prepare_end(producer_id, producer_epoch, commit, now_ms())
        })
        .await
    }

    /// EndTxn v5 (transactions v2): the producer id and epoch to continue with, answered
    /// once the Prepare record (which bumps the epoch) is durable, or for a retry at once.
    pub async fn end_txn_v2(
        self: &Arc<Self>,
        id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
    ) -> Result<(i64, i16), ErrorCode> {
        let txn = self
            .lookup(id, None)?
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        // The id for a rotation is reserved before the lock (it may write to disk) and only
        // when the epoch is about to run out.
        let rotating = txn.lock().producer_epoch >= metadata::EPOCH_EXHAUSTED;
        let reserved = if rotating {
            Some(self.new_producer_id()?)
        } else {
            None
        };
        let plan =
            txn.lock()
                .prepare_end_v2(producer_id, producer_epoch, commit, now_ms(), || {
                    reserved.ok_or(ErrorCode::ConcurrentTransactions)
                })?;
        match plan {
            EndPlan::Retry(pid, epoch) => Ok((pid, epoch)),
            EndPlan::Write { value, next } => {
                self.write(&txn, value, true).await?;
                Ok(next)
            }
        }
    }

    /// The loaded transactional ids for which `pick` (called under the id's lock) returns a
    /// value, with that value.
    fn select<T>(&self, mut pick: impl FnMut(&mut TxnMetadata) -> Option<T>) -> Vec<(Txn, T)> {
        let parts = self.lock();
        let mut selected = Vec::new();
        for (p, owned) in parts.iter() {
            for (id, meta) in owned.txns.iter().flatten() {
                let mut m = meta.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(value) = pick(&mut m) {
                    let txn = Txn {
                        id: id.clone(),
                        partition: *p,
                        coordinator_epoch: owned.coordinator_epoch,
                        stop: owned.stop.clone(),
                        meta: meta.clone(),
                    };
                    selected.push((txn, value));
                }
            }
        }
        selected
    }

    /// Aborts every loaded transaction past its `transaction.timeout.ms` (fenced with a
    /// bumped epoch first, as Kafka's `abortTimedOutTransactions`).
    pub fn abort_timed_out(self: &Arc<Self>) {
        let now = now_ms();
        let expired = self.select(|m| m.prepare_timeout_abort(now));
        for (txn, value) in expired {
            let coordinator = Arc::clone(self);
            tokio::spawn(async move {
                info!(transactional_id = %txn.id, "aborting a transaction past its timeout");
                let _ = coordinator.write(&txn, value, true).await;
            });
        }
    }

    /// Removes the transactional ids idle for `transactional.id.expiration.ms` (Kafka's
    /// `removeExpiredTransactionalIds`): each gets a tombstone in `__transaction_state`, so a
    /// reload (failover, restart) does not bring it back, and is forgotten once the ISR has
    /// the tombstone. A failed write leaves the id as it was, for the next pass.
    pub fn expire_transactional_ids(self: &Arc<Self>) {
        let now = now_ms();
        let expiration = self.config.id_expiration_ms;
        let expired = self.select(|m| m.prepare_dead(now, expiration).then_some(()));
        for (txn, ()) in expired {
            let coordinator = Arc::clone(self);
            tokio::spawn(async move {
                let written = coordinator.append_durably(&txn, None).await;
                let mut parts = coordinator.lock();
                let mut m = txn.lock();
                if written.is_err() || !m.complete_dead() {
                    m.abandon();
                    return;
                }
                info!(transactional_id = %txn.id, producer_id = m.producer_id, "transactional id expired");
                let owned = parts
                    .get_mut(&txn.partition)
                    .filter(|o| o.coordinator_epoch == txn.coordinator_epoch);
                if let Some(txns) = owned.and_then(|o| o.txns.as_mut()) {
                    if txns.get(&txn.id).is_some_and(|m| Arc::ptr_eq(m, &txn.meta)) {
                        txns.remove(&txn.id);
                    }
                }
            });
        }
    }

    /// A summary of every transactional id this broker coordinates (ListTransactions):
    /// (id, producer id, state); `Err` while a partition is loading.
    pub fn list(&self) -> Result<Vec<(String, i64, TxnState, i64)>, ErrorCode> {
        let parts = self.lock();
        let mut out = Vec::new();
        for owned in parts.values() {
            let txns = owned
                .txns
                .as_ref()
                .ok_or(ErrorCode::CoordinatorLoadInProgress)?;
            for (id, meta) in txns {
                let m = meta.lock().unwrap_or_else(PoisonError::into_inner);
                if m.producer_epoch >= 0 {
                    out.push((id.clone(), m.producer_id, m.state, m.start_ms));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// One transactional id's state (DescribeTransactions); TRANSACTIONAL_ID_NOT_FOUND when
    /// unknown.
    pub fn describe(self: &Arc<Self>, id: &str) -> Result<TxnMetadata, ErrorCode> {
        let txn = self
            .lookup(id, None)?
            .ok_or(ErrorCode::TransactionalIdNotFound)?;
        let m = txn.lock().clone();
        if m.producer_epoch < 0 || m.state == TxnState::Dead {
            return Err(ErrorCode::TransactionalIdNotFound);
        }
        Ok(m)
    }
}
