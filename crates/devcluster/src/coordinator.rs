//! The group coordinator (DESIGN decision 5): consumer groups and committed offsets, kept
//! as records in the replicated internal topic `__consumer_offsets`.
//!
//! ```text
//!  FindCoordinator(G) ─▶ creates __consumer_offsets if missing ─▶ leader of partition
//!                        abs(java_hash(G)) % partitions = the coordinator of G
//!
//!  metadata change ─▶ reconcile: partitions this broker now leads ─▶ load (read the log,
//!                     last write wins) ─▶ one actor per group; partitions it stopped leading
//!                     ─▶ actors stopped (clients get NOT_COORDINATOR and rediscover)
//!
//!  JoinGroup/SyncGroup/Heartbeat/LeaveGroup/ConsumerGroupHeartbeat/OffsetCommit/...
//!        ─▶ lookup(G) ─▶ actor (mpsc) ─▶ the group's state machine (classic or consumer)
//!        ─▶ records appended to the partition, answered once the in-sync replicas have
//!           them (a new leader rebuilds the same state from its log)
//! ```
//!
//! `group` is Kafka's classic protocol, `consumer` the consumer protocol (KIP-848), `offsets`
//! the committed offsets either kind of group keeps, `actor` the task owning one group,
//! `store` the partition I/O (writes and loading), [`records`] the record formats. Not
//! implemented: offset retention and expiry (`commit_timestamp` is kept), `group.max.size`.

pub(crate) mod actor;
pub(crate) mod consumer;
pub(crate) mod group;
pub(crate) mod offsets;
pub mod records;
pub(crate) mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{info, warn};
use uuid::Uuid;

use crate::broker::ReplicaManager;
use crate::config::BrokerConfig;
use crate::error::ApiError;
use crate::internal_topic::{
    coordinator_of, led_partitions, partition_of, reconcile_loaded, InternalLog, InternalTopic,
};
use actor::{Command, CommitArgs, FetchedOffsets, GroupHandle, Membership, OffsetCommit, Summary};
use consumer::{
    validate_heartbeat, ConsumerConfig, ConsumerGroup, HeartbeatAnswer, HeartbeatArgs, Refusal,
};
use group::{
    Group, GroupConfig, GroupDescription, GroupState, JoinArgs, JoinResult, MemberIdentity,
    SyncArgs, SyncResult,
};
use offsets::Offsets;
use records::OFFSETS_TOPIC;
use store::LoadedGroup;

/// Coordinator settings taken from the broker config.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Group timeouts and the initial rebalance delay.
    pub group: GroupConfig,
    /// `offsets.topic.num.partitions`.
    pub offsets_topic_partitions: i32,
    /// `offsets.topic.replication.factor` (capped at the live brokers).
    pub offsets_topic_replication_factor: i16,
    /// `offsets.commit.timeout.ms`.
    pub commit_timeout: Duration,
    /// `offset.metadata.max.bytes`.
    pub max_metadata: usize,
    /// `offsets.topic.segment.bytes`.
    pub offsets_topic_segment_bytes: u64,
    /// Consumer-protocol group settings.
    pub consumer: ConsumerConfig,
}

impl From<&BrokerConfig> for CoordinatorConfig {
    fn from(c: &BrokerConfig) -> Self {
        Self {
            group: GroupConfig {
                initial_rebalance_delay: c.group_initial_rebalance_delay,
                min_session_timeout: c.group_min_session_timeout,
                max_session_timeout: c.group_max_session_timeout,
            },
            offsets_topic_partitions: c.offsets_topic_partitions.max(1),
            offsets_topic_replication_factor: c.offsets_topic_replication_factor.max(1),
            commit_timeout: c.offsets_commit_timeout,
            max_metadata: c.offset_metadata_max_bytes,
            offsets_topic_segment_bytes: c.offsets_topic_segment_bytes,
            consumer: ConsumerConfig {
                session_timeout: c.group_consumer_session_timeout,
                heartbeat_interval: c.group_consumer_heartbeat_interval,
                ..ConsumerConfig::default()
            },
        }
    }
}

/// A `__consumer_offsets` partition this broker leads.
#[derive(Debug)]
struct Owned {
    /// The topic's id, so a deleted and re-created offsets topic is loaded afresh.
    topic_id: Uuid,
    /// The leader epoch the groups were loaded under; a new epoch means leadership moved
    /// (maybe away and back), so the groups are loaded again.
    leader_epoch: i32,
    /// Stops the loader and every group actor of the partition.
    stop: CancellationToken,
    /// The groups once loaded; `None` while loading.
    groups: Option<HashMap<String, GroupHandle>>,
    /// Transactions that ended (producer id, commit) while loading: the load may have read
    /// the log before their markers, so they are applied again once it is done (a no-op for
    /// those it saw: the producer cannot commit offsets again until the marker is answered).
    ended_while_loading: Vec<(i64, bool, i64)>,
}

/// One broker's group coordinator (see the module docs).
#[derive(Debug)]
pub struct GroupCoordinator {
    node_id: i32,
    /// The broker's replicas: the coordinator's only way to its `__consumer_offsets`
    /// partitions and to the controller (a narrow handle, not the whole broker).
    replicas: Arc<ReplicaManager>,
    config: CoordinatorConfig,
    /// Cancelled when the broker stops: every actor and loader ends.
    stop: CancellationToken,
    partitions: Mutex<HashMap<i32, Owned>>,
}

impl Drop for GroupCoordinator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl GroupCoordinator {
    /// The coordinator of the broker whose replicas these are.
    pub fn new(replicas: Arc<ReplicaManager>, config: &BrokerConfig) -> Self {
        Self {
            node_id: replicas.node_id,
            replicas,
            config: CoordinatorConfig::from(config),
            stop: CancellationToken::new(),
            partitions: Mutex::new(HashMap::new()),
        }
    }

    /// A guard that stops every group of this coordinator when dropped; held by the broker's
    /// maintenance task, so stopping or killing the broker drops its groups.
    pub fn stop_on_drop(&self) -> DropGuard {
        self.stop.clone().drop_guard()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Owned>> {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `__consumer_offsets` as Kafka creates it on the first FindCoordinator:
    /// `offsets.topic.num.partitions` partitions, replication factor
    /// `min(offsets.topic.replication.factor, live brokers)`, `cleanup.policy=compact`.
    fn offsets_topic(&self) -> InternalTopic {
        InternalTopic {
            name: OFFSETS_TOPIC,
            partitions: self.config.offsets_topic_partitions,
            replication_factor: self.config.offsets_topic_replication_factor,
            configs: BTreeMap::from([
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("compression.type".to_string(), "producer".to_string()),
                (
                    "segment.bytes".to_string(),
                    self.config.offsets_topic_segment_bytes.to_string(),
                ),
            ]),
        }
    }

    /// The `__consumer_offsets` partition of a group (AddOffsetsToTxn), creating the topic
    /// first if needed.
    pub fn offsets_partition(&self, group_id: &str) -> Result<i32, ApiError> {
        self.offsets_topic().ensure(&self.replicas)?;
        partition_of(&self.replicas.metadata(), OFFSETS_TOPIC, group_id)
            .map(|(p, _, _)| p)
            .ok_or_else(|| ApiError::new(ErrorCode::CoordinatorNotAvailable, "no offsets topic"))
    }

    /// The coordinator of a group: (node id, host, port), creating the offsets topic first
    /// if needed.
    pub fn find_coordinator(&self, group_id: &str) -> Result<(i32, String, i32), ApiError> {
        self.offsets_topic().ensure(&self.replicas)?;
        coordinator_of(&self.replicas.metadata(), OFFSETS_TOPIC, group_id)
    }

    /// Brings the loaded partitions in line with metadata: loads the `__consumer_offsets`
    /// partitions this broker leads now and drops the groups of those it no longer leads.
    pub fn reconcile(self: &Arc<Self>) {
        let led = led_partitions(&self.replicas.metadata(), OFFSETS_TOPIC, self.node_id);
        let missing = reconcile_loaded(
            &mut self.lock(),
            &led,
            |o| (o.topic_id, o.leader_epoch),
            |p, o| {
                info!(
                    broker = self.node_id,
                    partition = p,
                    "no longer leading; unloading its groups"
                );
                o.stop.cancel();
            },
        );
        for (p, topic_id, epoch) in missing {
            self.start_loading(p, topic_id, epoch);
        }
    }

    fn start_loading(self: &Arc<Self>, partition: i32, topic_id: Uuid, epoch: i32) {
        // Makes the local replica the leader (as metadata says) before reading it.
        let replica = match self.replicas.leader_replica(OFFSETS_TOPIC, partition) {
            Ok(r) if r.topic_id == topic_id && r.leader_epoch == epoch => r.partition,
            Ok(_) => return,
            Err(e) => {
                warn!(broker = self.node_id, partition, error = %e, "cannot load __consumer_offsets partition");
                return;
            }
        };
        let stop = self.stop.child_token();
        {
            let mut parts = self.lock();
            if parts
                .get(&partition)
                .is_some_and(|o| o.topic_id == topic_id && o.leader_epoch == epoch)
            {
                return;
            }
            if let Some(old) = parts.insert(
                partition,
                Owned {
                    topic_id,
                    leader_epoch: epoch,
                    stop: stop.clone(),
                    groups: None,
                    ended_while_loading: Vec::new(),
                },
            ) {
                old.stop.cancel();
            }
        }
        info!(
            broker = self.node_id,
            partition,
            leader_epoch = epoch,
            "loading groups"
        );
        let coordinator = Arc::clone(self);
        tokio::spawn(async move {
            let started = Instant::now();
            let loaded = tokio::select! {
                () = stop.cancelled() => return,
                loaded = store::load(&replica) => loaded,
            };
            match loaded {
                Ok((groups, end)) => {
                    let n = groups.len();
                    coordinator.install(partition, &stop, groups, end);
                    info!(
                        broker = coordinator.node_id,
                        partition,
                        groups = n,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "groups loaded"
                    );
                }
                Err(e) => {
                    warn!(broker = coordinator.node_id, partition, error = %e, "loading groups failed; will retry on the next request");
                    let mut parts = coordinator.lock();
                    let ours = parts.get(&partition).is_some_and(|o| {
                        o.topic_id == topic_id && o.leader_epoch == epoch && o.groups.is_none()
                    });
                    if ours {
                        parts.remove(&partition);
                    }
                }
            }
        });
    }

    /// Starts the actors of a loaded partition, unless it was unloaded meanwhile.
    fn install(
        &self,
        partition: i32,
        stop: &CancellationToken,
        loaded: BTreeMap<String, LoadedGroup>,
        loaded_end: i64,
    ) {
        let mut parts = self.lock();
        let Some(owned) = parts.get_mut(&partition) else {
            return;
        };
        if stop.is_cancelled() || owned.groups.is_some() {
            return;
        }
        let now = Instant::now();
        let leader_epoch = owned.leader_epoch;
        let groups = loaded
            .into_iter()
            .map(|(id, l)| {
                let group = match l.consumer_group() {
                    Some(c) => {
                        let mut c = c.clone();
                        c.arm_timers(&self.config.consumer, now);
                        Membership::Consumer(c)
                    }
                    None => Membership::Classic(Group::loaded(
                        id.clone(),
                        self.config.group.clone(),
                        l.metadata,
                        now,
                    )),
                };
                let mut offsets = Offsets::default();
                for ((topic, p), (value, at)) in l.offsets {
                    offsets.apply(&topic, p, value, at);
                }
                offsets.restore_pending_txn(l.pending_txn);
                for &(producer_id, commit, marker_offset) in &owned.ended_while_loading {
                    offsets.complete_txn(producer_id, commit, marker_offset);
                }
                let handle = self.spawn_actor(
                    partition,
                    leader_epoch,
                    stop,
                    (group, offsets),
                    Some(loaded_end),
                );
                (id, handle)
            })
            .collect();
        owned.ended_while_loading.clear();
        owned.groups = Some(groups);
    }

    fn spawn_actor(
        &self,
        partition: i32,
        leader_epoch: i32,
        stop: &CancellationToken,
        (group, offsets): (Membership, Offsets),
        loaded_end: Option<i64>,
    ) -> GroupHandle {
        let log = InternalLog::new(
            Arc::downgrade(&self.replicas),
            OFFSETS_TOPIC,
            partition,
            leader_epoch,
            self.config.commit_timeout,
        );
        actor::spawn(
            group,
            offsets,
            log,
            stop.clone(),
            self.config.max_metadata,
            (self.config.group.clone(), self.config.consumer.clone()),
            loaded_end,
        )
    }

    /// The actor of a group this broker coordinates: `Ok(None)` when the group does not
    /// exist and `create` is false. Errors: NOT_COORDINATOR (another broker leads its
    /// partition), COORDINATOR_LOAD_IN_PROGRESS.
    fn lookup(
        self: &Arc<Self>,
        group_id: &str,
        create: bool,
    ) -> Result<Option<GroupHandle>, ErrorCode> {
        let md = self.replicas.metadata();
        let (Some(topic), Some((p, leader, leader_epoch))) = (
            md.topic(OFFSETS_TOPIC),
            partition_of(&md, OFFSETS_TOPIC, group_id),
        ) else {
            return Err(ErrorCode::NotCoordinator);
        };
        if leader != self.node_id {
            return Err(ErrorCode::NotCoordinator);
        }
        {
            let mut parts = self.lock();
            if let Some(owned) = parts
                .get_mut(&p)
                .filter(|o| o.topic_id == topic.topic_id && o.leader_epoch == leader_epoch)
            {
                let Some(groups) = owned.groups.as_mut() else {
                    return Err(ErrorCode::CoordinatorLoadInProgress);
                };
                if let Some(h) = groups.get(group_id).filter(|h| !h.is_closed()) {
                    return Ok(Some(h.clone()));
                }
                groups.remove(group_id);
                if !create {
                    return Ok(None);
                }
                let group = Membership::Classic(Group::new(
                    group_id.to_string(),
                    self.config.group.clone(),
                ));
                let stop = owned.stop.clone();
                let handle =
                    self.spawn_actor(p, leader_epoch, &stop, (group, Offsets::default()), None);
                if let Some(groups) = owned.groups.as_mut() {
                    groups.insert(group_id.to_string(), handle.clone());
                }
                return Ok(Some(handle));
            }
        }
        // Metadata says we lead it but it is not loaded (the maintenance task has not seen
        // the change yet): start now.
        self.start_loading(p, topic.topic_id, leader_epoch);
        Err(ErrorCode::CoordinatorLoadInProgress)
    }

    /// Sends a command to a group's actor and waits for the answer. `Ok(None)`: no such group.
    async fn request<T>(
        self: &Arc<Self>,
        group_id: &str,
        create: bool,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<Option<T>, ErrorCode> {
        let (tx, rx) = oneshot::channel();
        let mut cmd = make(tx);
        // Twice: an actor that just stopped (its group was deleted) is replaced once.
        for _ in 0..2 {
            let Some(handle) = self.lookup(group_id, create)? else {
                return Ok(None);
            };
            match handle.send(cmd).await {
                // A dropped answer means the actor stopped: the partition was unloaded.
                Ok(()) => return rx.await.map(Some).map_err(|_| ErrorCode::NotCoordinator),
                Err(back) => cmd = back,
            }
        }
        Err(ErrorCode::CoordinatorNotAvailable)
    }

    /// JoinGroup.
    pub async fn join(self: &Arc<Self>, group_id: &str, args: JoinArgs) -> JoinResult {
        let member_id = args.member_id.clone();
        if group_id.is_empty() {
            return JoinResult::error(&member_id, ErrorCode::InvalidGroupId);
        }
        // Only a first join creates a group; a member id for an unknown group is stale.
        let create = member_id.is_empty();
        match self
            .request(group_id, create, |tx| Command::Join(args, tx))
            .await
        {
            Ok(Some(result)) => result,
            Ok(None) => JoinResult::error(&member_id, ErrorCode::UnknownMemberId),
            Err(code) => JoinResult::error(&member_id, code),
        }
    }

    /// SyncGroup.
    pub async fn sync(self: &Arc<Self>, group_id: &str, args: SyncArgs) -> SyncResult {
        if group_id.is_empty() {
            return SyncResult::error(ErrorCode::InvalidGroupId);
        }
        match self
            .request(group_id, false, |tx| Command::Sync(args, tx))
            .await
        {
            Ok(Some(result)) => result,
            Ok(None) => SyncResult::error(ErrorCode::UnknownMemberId),
            // The rebalance in progress was lost with the old coordinator: rejoin (older
            // clients do not expect COORDINATOR_LOAD_IN_PROGRESS here), as Kafka answers.
            Err(ErrorCode::CoordinatorLoadInProgress) => {
                SyncResult::error(ErrorCode::RebalanceInProgress)
            }
            Err(code) => SyncResult::error(code),
        }
    }

    /// Heartbeat.
    pub async fn heartbeat(
        self: &Arc<Self>,
        group_id: &str,
        member: MemberIdentity,
        generation_id: i32,
    ) -> ErrorCode {
        if group_id.is_empty() {
            return ErrorCode::InvalidGroupId;
        }
        match self
            .request(group_id, false, |tx| {
                Command::Heartbeat(member, generation_id, tx)
            })
            .await
        {
            Ok(Some(code)) => code,
            Ok(None) => ErrorCode::UnknownMemberId,
            // Loading: answer blindly so the member keeps its session, as Kafka does.
            Err(ErrorCode::CoordinatorLoadInProgress) => ErrorCode::None,
            Err(code) => code,
        }
    }

    /// LeaveGroup: the group error and one error per member.
    pub async fn leave(
        self: &Arc<Self>,
        group_id: &str,
        members: Vec<MemberIdentity>,
    ) -> (ErrorCode, Vec<ErrorCode>) {
        if group_id.is_empty() {
            return (ErrorCode::InvalidGroupId, Vec::new());
        }
        let n = members.len();
        match self
            .request(group_id, false, |tx| Command::Leave(members, tx))
            .await
        {
            Ok(Some(result)) => result,
            Ok(None) => (ErrorCode::None, vec![ErrorCode::UnknownMemberId; n]),
            Err(code) => (code, Vec::new()),
        }
    }

    /// OffsetCommit: one error per offset, in order.
    pub async fn commit(
        self: &Arc<Self>,
        group_id: &str,
        args: CommitArgs,
        offsets: Vec<OffsetCommit>,
    ) -> Vec<ErrorCode> {
        let n = offsets.len();
        // Only a commit without group management creates a group (Kafka's rule).
        let create = args.generation_id < 0;
        // A member of a group that is gone: v9+ says so (GROUP_ID_NOT_FOUND).
        let missing = if args.transaction.is_none() && args.api_version >= 9 {
            ErrorCode::GroupIdNotFound
        } else {
            ErrorCode::IllegalGeneration
        };
        match self
            .request(group_id, create, |tx| Command::Commit(args, offsets, tx))
            .await
        {
            Ok(Some(errors)) => errors,
            Ok(None) => vec![missing; n],
            Err(code) => vec![code; n],
        }
    }

    /// TxnOffsetCommit: one error per offset, in order. The offsets stay pending until the
    /// producer's marker reaches the group's partition (see [`Self::transaction_ended`]).
    /// Like a plain commit without group management, a negative generation creates the group.
    pub async fn txn_commit(
        self: &Arc<Self>,
        group_id: &str,
        args: CommitArgs,
        offsets: Vec<OffsetCommit>,
    ) -> Vec<ErrorCode> {
        self.commit(group_id, args, offsets).await
    }

    /// A producer's transaction marker, at log offset `marker_offset`, is durable on
    /// `__consumer_offsets` partition `partition`: every group there with offsets of that
    /// producer written before it applies or drops them.
    pub async fn transaction_ended(
        &self,
        partition: i32,
        producer_id: i64,
        commit: bool,
        marker_offset: i64,
    ) {
        let handles: Vec<GroupHandle> = {
            let mut parts = self.lock();
            let Some(owned) = parts.get_mut(&partition) else {
                return;
            };
            match owned.groups.as_ref() {
                Some(groups) => groups.values().cloned().collect(),
                None => {
                    owned
                        .ended_while_loading
                        .push((producer_id, commit, marker_offset));
                    return;
                }
            }
        };
        for h in handles {
            // A stopped actor's group is reloaded from the log, marker included.
            let _ = h
                .send(Command::TxnEnded(producer_id, commit, marker_offset))
                .await;
        }
    }

    /// OffsetFetch: committed offsets of the requested partitions (`None`: all of them);
    /// with `require_stable`, partitions an open transaction committed answer
    /// UNSTABLE_OFFSET_COMMIT. `member` (OffsetFetch v9: member id, epoch) is checked by a
    /// consumer-protocol group.
    pub async fn fetch_offsets(
        self: &Arc<Self>,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
        require_stable: bool,
        member: Option<(Option<String>, i32)>,
    ) -> Result<FetchedOffsets, ErrorCode> {
        let unknown: FetchedOffsets = topics
            .iter()
            .flatten()
            .map(|(t, ps)| (t.clone(), ps.iter().map(|p| (*p, Ok(None))).collect()))
            .collect();
        match self
            .request(group_id, false, |tx| {
                Command::FetchOffsets(topics, require_stable, member, tx)
            })
            .await?
        {
            Some(found) => found,
            None => Ok(unknown),
        }
    }

    /// DescribeGroups of one group; an unknown group is described as Dead, as in Kafka.
    /// `Ok(None)`: the group is a consumer-protocol group.
    pub async fn describe(
        self: &Arc<Self>,
        group_id: &str,
    ) -> Result<Option<GroupDescription>, ErrorCode> {
        let found = self.request(group_id, false, Command::Describe).await?;
        Ok(found.unwrap_or(Some(GroupDescription {
            state: GroupState::Dead,
            protocol_type: String::new(),
            protocol: String::new(),
            members: Vec::new(),
        })))
    }

    /// ConsumerGroupHeartbeat. A join (epoch 0) may create the group.
    pub async fn consumer_heartbeat(
        self: &Arc<Self>,
        group_id: &str,
        args: HeartbeatArgs,
    ) -> Result<HeartbeatAnswer, Refusal> {
        validate_heartbeat(&args, group_id, &self.config.consumer)?;
        let create = args.member_epoch == 0;
        let md = self.replicas.metadata();
        match self
            .request(group_id, create, |tx| {
                Command::ConsumerHeartbeat(args, md, tx)
            })
            .await
        {
            Ok(Some(result)) => result,
            Ok(None) => Err((
                ErrorCode::GroupIdNotFound,
                format!("Group {group_id} not found."),
            )),
            Err(code) => Err((code, String::new())),
        }
    }

    /// ConsumerGroupDescribe of one group: `Ok(None)` when there is no such
    /// consumer-protocol group.
    pub async fn consumer_describe(
        self: &Arc<Self>,
        group_id: &str,
    ) -> Result<Option<Box<ConsumerGroup>>, ErrorCode> {
        Ok(self
            .request(group_id, false, Command::ConsumerDescribe)
            .await?
            .flatten())
    }

    /// The consumer-protocol settings (the heartbeat interval answers refer to).
    pub fn consumer_config(&self) -> &ConsumerConfig {
        &self.config.consumer
    }

    /// DeleteGroups of one group.
    pub async fn delete(self: &Arc<Self>, group_id: &str) -> ErrorCode {
        match self.request(group_id, false, Command::Delete).await {
            Ok(Some(code)) => code,
            Ok(None) => ErrorCode::GroupIdNotFound,
            Err(code) => code,
        }
    }

    /// OffsetDelete: a group error, or one error per partition.
    pub async fn delete_offsets(
        self: &Arc<Self>,
        group_id: &str,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        match self
            .request(group_id, false, |tx| Command::DeleteOffsets(partitions, tx))
            .await?
        {
            Some(result) => result,
            None => Err(ErrorCode::GroupIdNotFound),
        }
    }

    /// ListGroups: the groups this broker coordinates, with COORDINATOR_LOAD_IN_PROGRESS
    /// while a partition is still loading (the list is then partial, as in Kafka).
    pub fn list(&self) -> (ErrorCode, Vec<(String, Summary)>) {
        let parts = self.lock();
        let mut error = ErrorCode::None;
        let mut out = Vec::new();
        for owned in parts.values() {
            let Some(groups) = &owned.groups else {
                error = ErrorCode::CoordinatorLoadInProgress;
                continue;
            };
            for (id, h) in groups {
                let summary = h.summary();
                if !h.is_closed() && summary.state != GroupState::Dead.name() {
                    out.push((id.clone(), summary));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        (error, out)
    }
}
