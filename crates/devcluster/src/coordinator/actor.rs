//! The group actor: one tokio task per group owns its [`Group`], so group state needs no
//! lock and every change happens in one place, in order.
//!
//! ```text
//!  handlers ──Command + oneshot──▶ mpsc ──▶ actor loop ──▶ Group (state machine)
//!                                             ▲  │            │ Effect (records to write)
//!             deadlines (sessions, join) ─────┘  │            ▼
//!                                                │  InternalLog::append ─▶ waiter task
//!                                                └──── Done (durable or failed) ◀──┘
//! ```
//!
//! A write is appended to the leader's log at once, in command order, and a short-lived
//! waiter task waits for the high watermark (bounded by `offsets.commit.timeout.ms`) so the
//! actor keeps answering heartbeats meanwhile; the outcome comes back as a `Done` message
//! and only then is the commit applied and answered. The actor stops when its group is
//! deleted, when its partition is unloaded (the stop token) or when every handle is gone.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::consumer::{ConsumerConfig, ConsumerGroup, HeartbeatAnswer, HeartbeatArgs, Refusal};
use super::group::{
    Effect, Group, GroupConfig, GroupDescription, GroupState, JoinArgs, JoinResult, MemberIdentity,
    SyncArgs, SyncResult,
};
use super::offsets::{CommittedOffset, Offsets};
use super::records::{OffsetCommitValue, RecordKey};
use super::store::{group_write_error, offset_write_error};
use crate::controller::ClusterMetadata;
use crate::internal_topic::{Appended, InternalLog};
use crate::partition::now_ms;

/// One offset in an OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommit {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The leader epoch the client reports, or -1.
    pub leader_epoch: i32,
    /// Client metadata (null is stored as empty, as Kafka does).
    pub metadata: Option<String>,
}

/// An OffsetCommit's membership fields.
#[derive(Debug, Clone, Default)]
pub struct CommitArgs {
    /// The generation, or -1 for a commit without group management.
    pub generation_id: i32,
    /// The member id, or empty.
    pub member_id: String,
    /// `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// TxnOffsetCommit: the producer (id, epoch) whose transaction the offsets belong to.
    pub transaction: Option<(i64, i16)>,
    /// The request's version (a consumer-protocol member must commit with v9+).
    pub api_version: i16,
}

/// Committed offsets per topic, partitions in request order; a partition whose offset a
/// transaction still holds answers UNSTABLE_OFFSET_COMMIT when the fetch requires stable
/// offsets.
pub type FetchedOffsets = Vec<(
    String,
    Vec<(i32, Result<Option<CommittedOffset>, ErrorCode>)>,
)>;

/// What a handler asks a group.
#[derive(Debug)]
pub enum Command {
    /// JoinGroup.
    Join(JoinArgs, oneshot::Sender<JoinResult>),
    /// SyncGroup.
    Sync(SyncArgs, oneshot::Sender<SyncResult>),
    /// Heartbeat: (member, instance, generation).
    Heartbeat(MemberIdentity, i32, oneshot::Sender<ErrorCode>),
    /// LeaveGroup: the group error and one error per member.
    Leave(
        Vec<MemberIdentity>,
        oneshot::Sender<(ErrorCode, Vec<ErrorCode>)>,
    ),
    /// OffsetCommit: one error per offset.
    Commit(
        CommitArgs,
        Vec<OffsetCommit>,
        oneshot::Sender<Vec<ErrorCode>>,
    ),
    /// OffsetFetch: `None` asks for every committed offset; the flag is `require_stable`;
    /// then the fetching member (v9: id, epoch), which a consumer-protocol group checks.
    FetchOffsets(
        Option<Vec<(String, Vec<i32>)>>,
        bool,
        Option<(Option<String>, i32)>,
        oneshot::Sender<Result<FetchedOffsets, ErrorCode>>,
    ),
    /// A producer's transaction ended on the group's partition (its marker is durable).
    TxnEnded(i64, bool, i64),
    /// DescribeGroups: `None` for a consumer-protocol group.
    Describe(oneshot::Sender<Option<GroupDescription>>),
    /// ConsumerGroupHeartbeat, with the metadata the subscriptions resolve against.
    ConsumerHeartbeat(
        HeartbeatArgs,
        Arc<ClusterMetadata>,
        oneshot::Sender<Result<HeartbeatAnswer, Refusal>>,
    ),
    /// ConsumerGroupDescribe: `None` for a classic group.
    ConsumerDescribe(oneshot::Sender<Option<Box<ConsumerGroup>>>),
    /// DeleteGroups.
    Delete(oneshot::Sender<ErrorCode>),
    /// OffsetDelete: a group error, or one error per partition.
    DeleteOffsets(
        Vec<(String, i32)>,
        oneshot::Sender<Result<Vec<ErrorCode>, ErrorCode>>,
    ),
}

/// A group's type (ListGroups v5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// Kafka's classic protocol (JoinGroup/SyncGroup).
    Classic,
    /// The consumer protocol (KIP-848).
    Consumer,
}

impl GroupType {
    /// Kafka's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
        }
    }
}

/// What ListGroups needs, published without a round trip to the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The group's state, as Kafka names it for its type.
    pub state: &'static str,
    /// Its protocol type, or empty.
    pub protocol_type: String,
    /// Its type.
    pub group_type: GroupType,
}

/// A group of either type; its committed offsets are kept beside it, in [`Offsets`].
#[derive(Debug)]
pub enum Membership {
    /// A classic group.
    Classic(Group),
    /// A consumer-protocol group.
    Consumer(ConsumerGroup),
}

impl Membership {
    fn summary(&self) -> Summary {
        match self {
            Membership::Classic(g) => Summary {
                state: g.state().name(),
                protocol_type: g.protocol_type().to_string(),
                group_type: GroupType::Classic,
            },
            Membership::Consumer(g) => Summary {
                state: g.state().name(),
                protocol_type: "consumer".to_string(),
                group_type: GroupType::Consumer,
            },
        }
    }
}

/// A cheap handle on a running group actor.
#[derive(Debug, Clone)]
pub struct GroupHandle {
    tx: mpsc::Sender<Command>,
    summary: watch::Receiver<Summary>,
}

impl GroupHandle {
    /// Sends a command; gives it back if the actor has stopped (the group died meanwhile).
    pub async fn send(&self, cmd: Command) -> Result<(), Command> {
        self.tx.send(cmd).await.map_err(|e| e.0)
    }

    /// Whether the actor has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The group's latest state and protocol type.
    pub fn summary(&self) -> Summary {
        self.summary.borrow().clone()
    }
}

/// A write's outcome, sent back by its waiter task.
#[derive(Debug)]
enum Done {
    Offsets {
        /// (index in the request, topic, partition, value, index of its record).
        entries: Vec<(usize, String, i32, CommittedOffset, i64)>,
        base_offset: i64,
        /// The producer whose transaction wrote them (TxnOffsetCommit).
        transaction: Option<i64>,
        outcome: Result<(), ErrorCode>,
        errors: Vec<ErrorCode>,
        reply: oneshot::Sender<Vec<ErrorCode>>,
    },
    Assignment {
        generation: i32,
        assignment: HashMap<String, Bytes>,
        outcome: Result<(), ErrorCode>,
    },
}

struct Actor {
    group_id: String,
    group: Membership,
    offsets: Offsets,
    /// Classic group settings (a consumer-protocol group may become a classic one).
    classic_config: GroupConfig,
    /// Consumer-protocol group settings.
    consumer_config: ConsumerConfig,
    /// The last write of the consumer-protocol group: an answer computed from state that
    /// includes it waits until it is durable, even when the answer itself wrote nothing.
    last_write: Option<Appended>,
    /// Where the load that built the group read up to: until the group writes, answers
    /// wait for that instead (the loaded records may not be committed yet).
    loaded_end: Option<i64>,
    log: InternalLog,
    rx: mpsc::Receiver<Command>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    summary: watch::Sender<Summary>,
    stop: CancellationToken,
    /// `offset.metadata.max.bytes`.
    max_metadata: usize,
}

/// Starts the actor of `group`, writing to `log`, until `stop`.
pub fn spawn(
    group: Membership,
    offsets: Offsets,
    log: InternalLog,
    stop: CancellationToken,
    max_metadata: usize,
    (classic_config, consumer_config): (GroupConfig, ConsumerConfig),
    loaded_end: Option<i64>,
) -> GroupHandle {
    let (tx, rx) = mpsc::channel(256);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let (summary, summary_rx) = watch::channel(group.summary());
    let group_id = match &group {
        Membership::Classic(g) => g.group_id.clone(),
        Membership::Consumer(g) => g.group_id.clone(),
    };
    let actor = Actor {
        group_id,
        group,
        offsets,
        classic_config,
        consumer_config,
        last_write: None,
        loaded_end,
        log,
        rx,
        done_tx,
        done_rx,
        summary,
        stop,
        max_metadata,
    };
    tokio::spawn(actor.run());
    GroupHandle {
        tx,
        summary: summary_rx,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Actor {
    async fn run(mut self) {
        debug!(group = %self.group_id, partition = self.log.partition, "group actor started");
        loop {
            let deadline = match &self.group {
                Membership::Classic(g) => g.next_deadline(),
                Membership::Consumer(g) => g.next_deadline(),
            };
            let effects = tokio::select! {
                () = self.stop.cancelled() => break,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                Some(done) = self.done_rx.recv() => self.on_done(done),
                () = sleep_until(deadline) => self.on_timer(Instant::now()),
            };
            self.run_effects(effects);
            let summary = self.group.summary();
            self.summary.send_if_modified(|s| {
                let changed = *s != summary;
                *s = summary;
                changed
            });
            if matches!(&self.group, Membership::Classic(g) if g.state() == GroupState::Dead) {
                break;
            }
        }
        debug!(group = %self.group_id, "group actor stopped");
        // Dropping the group drops parked joins and syncs: their handlers answer
        // NOT_COORDINATOR and the clients find the new coordinator.
    }

    /// Runs a write's waiter: it ends when the write is durable or failed (bounded by
    /// `offsets.commit.timeout.ms`), or when the group stops, which drops its answer (the
    /// client sees NOT_COORDINATOR).
    fn spawn_waiter(&self, waiter: impl std::future::Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = waiter => {}
            }
        });
    }

    fn handle(&mut self, cmd: Command) -> Vec<Effect> {
        let now = Instant::now();
        match cmd {
            Command::Join(args, reply) => {
                if matches!(&self.group, Membership::Consumer(g) if !g.members().is_empty()) {
                    self.classic_join_consumer_group(args, reply, now);
                    return Vec::new();
                }
                match self.classic_for_join(&args.member_id) {
                    Ok(g) => g.join(args, reply, now),
                    Err(code) => {
                        let _ = reply.send(JoinResult::error(&args.member_id, code));
                        Vec::new()
                    }
                }
            }
            Command::Sync(args, reply) => match &mut self.group {
                Membership::Classic(g) => g.sync(args, reply, now),
                Membership::Consumer(_) => {
                    self.classic_sync_consumer_group(&args, reply);
                    Vec::new()
                }
            },
            Command::Heartbeat(who, generation, reply) => {
                let error = match &mut self.group {
                    Membership::Classic(g) => g.heartbeat(
                        &who.member_id,
                        who.group_instance_id.as_deref(),
                        generation,
                        now,
                    ),
                    Membership::Consumer(g) => g.classic_heartbeat(
                        &who.member_id,
                        who.group_instance_id.as_deref(),
                        generation,
                        now,
                    ),
                };
                let _ = reply.send(error);
                Vec::new()
            }
            Command::Leave(members, reply) => match &mut self.group {
                Membership::Classic(g) => {
                    let (error, errors, effects) = g.leave(&members, now);
                    let _ = reply.send((error, errors));
                    effects
                }
                Membership::Consumer(_) => {
                    self.classic_leave_consumer_group(&members, reply);
                    Vec::new()
                }
            },
            Command::ConsumerHeartbeat(args, md, reply) => {
                self.consumer_heartbeat(args, &md, reply, now);
                Vec::new()
            }
            Command::ConsumerDescribe(reply) => {
                let found = match &self.group {
                    Membership::Consumer(g) => Some(Box::new(g.clone())),
                    Membership::Classic(_) => None,
                };
                let _ = reply.send(found);
                Vec::new()
            }
            Command::Commit(args, offsets, reply) => {
                self.commit(&args, offsets, reply, now);
                Vec::new()
            }
            Command::FetchOffsets(topics, require_stable, member, reply) => {
                let checked = match (&self.group, &member) {
                    (Membership::Consumer(g), Some((id, epoch))) => {
                        g.validate_fetch(id.as_deref(), *epoch)
                    }
                    _ => Ok(()),
                };
                let _ = reply.send(checked.map(|()| self.fetch_offsets(topics, require_stable)));
                Vec::new()
            }
            Command::TxnEnded(producer_id, commit, marker_offset) => {
                self.offsets
                    .complete_txn(producer_id, commit, marker_offset);
                Vec::new()
            }
            Command::Describe(reply) => {
                let found = match &self.group {
                    Membership::Classic(g) => Some(g.describe()),
                    Membership::Consumer(_) => None,
                };
                let _ = reply.send(found);
                Vec::new()
            }
            Command::Delete(reply) => {
                self.delete(reply);
                Vec::new()
            }
            Command::DeleteOffsets(partitions, reply) => {
                self.delete_offsets(&partitions, reply);
                Vec::new()
            }
        }
    }

    fn run_effects(&mut self, effects: Vec<Effect>) {
        let mut effects: std::collections::VecDeque<Effect> = effects.into();
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::StoreGroup(record) => {
                    // Nothing waits for it (Kafka only logs a failure): the group became
                    // empty and a lost record only means an older generation on reload.
                    if let Err(e) = self.append_group(&record) {
                        warn!(group = %self.group_id, error = %e, "storing the group metadata failed");
                    }
                }
                Effect::StoreAssignment {
                    generation,
                    record,
                    assignment,
                } => match self.append_group(&record) {
                    Err(e) => {
                        let error = group_write_error(&e);
                        if let Membership::Classic(g) = &mut self.group {
                            effects.extend(g.assignment_stored(
                                generation,
                                assignment,
                                Err(error),
                                Instant::now(),
                            ));
                        }
                    }
                    Ok(appended) => {
                        let done = self.done_tx.clone();
                        self.spawn_waiter(async move {
                            let outcome =
                                appended.durable().await.map_err(|e| group_write_error(&e));
                            let _ = done.send(Done::Assignment {
                                generation,
                                assignment,
                                outcome,
                            });
                        });
                    }
                },
            }
        }
    }

    fn append_group(
        &self,
        record: &super::records::GroupMetadataValue,
    ) -> Result<Appended, crate::error::ApiError> {
        let encode = |e: streamctl_protocol::EncodeError| {
            crate::error::ApiError::new(ErrorCode::UnknownServerError, e.to_string())
        };
        let key = RecordKey::Group {
            group: self.group_id.clone(),
        }
        .encode()
        .map_err(encode)?;
        let value = record.encode().map_err(encode)?;
        self.log.append(&[(key, Some(value))])
    }

    fn on_done(&mut self, done: Done) -> Vec<Effect> {
        match done {
            Done::Offsets {
                entries,
                base_offset,
                transaction,
                outcome,
                mut errors,
                reply,
            } => {
                for (i, topic, partition, value, record) in entries {
                    let at = base_offset + record;
                    match (outcome, transaction) {
                        (Ok(()), None) => self.offsets.apply(&topic, partition, value, at),
                        (Ok(()), Some(producer_id)) => {
                            self.offsets
                                .add_pending_txn(producer_id, &topic, partition, value, at)
                        }
                        (Err(code), _) => {
                            if let Some(e) = errors.get_mut(i) {
                                *e = code;
                            }
                        }
                    }
                }
                let _ = reply.send(errors);
                Vec::new()
            }
            Done::Assignment {
                generation,
                assignment,
                outcome,
            } => match &mut self.group {
                Membership::Classic(g) => {
                    g.assignment_stored(generation, assignment, outcome, Instant::now())
                }
                Membership::Consumer(_) => Vec::new(),
            },
        }
    }

    fn commit(
        &mut self,
        args: &CommitArgs,
        offsets: Vec<OffsetCommit>,
        reply: oneshot::Sender<Vec<ErrorCode>>,
        now: Instant,
    ) {
        let valid = match (&mut self.group, args.transaction) {
            (Membership::Classic(g), Some(_)) => g.validate_txn_commit(
                args.generation_id,
                &args.member_id,
                args.group_instance_id.as_deref(),
            ),
            (Membership::Classic(g), None) => g.validate_commit(
                args.generation_id,
                &args.member_id,
                args.group_instance_id.as_deref(),
                now,
            ),
            (Membership::Consumer(g), transaction) => g.validate_commit(
                args.generation_id,
                &args.member_id,
                args.api_version,
                transaction.is_some(),
            ),
        };
        if let Err(error) = valid {
            let _ = reply.send(vec![error; offsets.len()]);
            return;
        }
        let mut errors = vec![ErrorCode::None; offsets.len()];
        let mut records = Vec::new();
        let mut entries = Vec::new();
        let commit_timestamp = now_ms();
        for (i, o) in offsets.into_iter().enumerate() {
            let metadata = o.metadata.unwrap_or_default();
            let error = if metadata.len() > self.max_metadata {
                Some(ErrorCode::OffsetMetadataTooLarge)
            } else {
                let value = CommittedOffset {
                    offset: o.offset,
                    leader_epoch: o.leader_epoch,
                    metadata,
                    commit_timestamp,
                };
                match encode_offset(&self.group_id, &o.topic, o.partition, &value) {
                    Ok(record) => {
                        entries.push((i, o.topic, o.partition, value, records.len() as i64));
                        records.push(record);
                        None
                    }
                    Err(_) => Some(ErrorCode::InvalidCommitOffsetSize),
                }
            };
            if let (Some(error), Some(slot)) = (error, errors.get_mut(i)) {
                *slot = error;
            }
        }
        if records.is_empty() {
            let _ = reply.send(errors);
            return;
        }
        let appended = match args.transaction {
            Some(producer) => self.log.append_transactional(&records, producer),
            None => self.log.append(&records),
        };
        let transaction = args.transaction.map(|(id, _)| id);
        match appended {
            Err(e) => {
                let code = offset_write_error(&e);
                debug!(group = %self.group_id, error = %e, "offset commit failed");
                for (i, ..) in &entries {
                    if let Some(slot) = errors.get_mut(*i) {
                        *slot = code;
                    }
                }
                let _ = reply.send(errors);
            }
            Ok(appended) => {
                let done = self.done_tx.clone();
                self.spawn_waiter(async move {
                    let outcome = appended.durable().await.map_err(|e| offset_write_error(&e));
                    let _ = done.send(Done::Offsets {
                        entries,
                        base_offset: appended.base_offset,
                        transaction,
                        outcome,
                        errors,
                        reply,
                    });
                });
            }
        }
    }

    fn fetch_offsets(
        &self,
        topics: Option<Vec<(String, Vec<i32>)>>,
        require_stable: bool,
    ) -> FetchedOffsets {
        let found = |topic: &str, p: i32| {
            if require_stable && self.offsets.is_unstable(topic, p) {
                Err(ErrorCode::UnstableOffsetCommit)
            } else {
                Ok(self.offsets.get(topic, p).cloned())
            }
        };
        match topics {
            Some(topics) => topics
                .into_iter()
                .map(|(topic, partitions)| {
                    let found = partitions
                        .into_iter()
                        .map(|p| (p, found(&topic, p)))
                        .collect();
                    (topic, found)
                })
                .collect(),
            None => {
                let mut out: FetchedOffsets = Vec::new();
                for (topic, partition) in self.offsets.all().keys() {
                    let entry = (*partition, found(topic, *partition));
                    match out.last_mut() {
                        Some((t, partitions)) if t == topic => partitions.push(entry),
                        _ => out.push((topic.clone(), vec![entry])),
                    }
                }
                out
            }
        }
    }
}

/// The log form of consumer-group records.
pub(super) fn encode_consumer(
    group: &str,
    records: &[super::records::consumer::ConsumerRecord],
) -> Result<Vec<(Bytes, Option<Bytes>)>, streamctl_protocol::EncodeError> {
    records.iter().map(|r| r.encode(group)).collect()
}

fn encode_offset(
    group: &str,
    topic: &str,
    partition: i32,
    value: &CommittedOffset,
) -> Result<(Bytes, Option<Bytes>), streamctl_protocol::EncodeError> {
    let key = RecordKey::Offset {
        group: group.to_string(),
        topic: topic.to_string(),
        partition,
    }
    .encode()?;
    let value = OffsetCommitValue {
        offset: value.offset,
        leader_epoch: value.leader_epoch,
        metadata: value.metadata.clone(),
        commit_timestamp: value.commit_timestamp,
        expire_timestamp: -1,
    }
    .encode()?;
    Ok((key, Some(value)))
}

mod admin;
mod consumer;
