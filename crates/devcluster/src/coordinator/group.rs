//! One group's state machine: Kafka's classic group protocol, without I/O.
//!
//! ```text
//!            join (first member)                  every member rejoined, or the
//!   Empty ───────────────────────▶ Preparing ───── rebalance timeout expelled the rest ──┐
//!     ▲                            Rebalance ◀──┐                                        ▼
//!     │ last member left / expired      ▲       │ join, leave, expiry,          Completing
//!     └─────────────────────────────────┘       │ changed metadata              Rebalance
//!                                               │                                    │
//!                                            Stable ◀── the leader's assignment ─────┘
//!                                                       is stored (SyncGroup)
//!   Dead: deleted (DeleteGroups) or unloaded; the actor stops.
//! ```
//!
//! The actor ([`super::actor`]) owns one [`Group`] and feeds it commands with the current
//! time; the group answers through the oneshot senders it is given — at once, or later for a
//! JoinGroup parked until the join phase completes and a SyncGroup parked until the leader's
//! assignment is stored — and returns [`Effect`]s (records to write). Timers are deadlines
//! the actor waits for ([`Group::next_deadline`]), so nothing here sleeps. Behaviour follows
//! Kafka's `GroupCoordinator`/`GroupMetadata`: member ids and `MEMBER_ID_REQUIRED`
//! (KIP-394), static membership (KIP-345), the initial rebalance delay (KIP-134), protocol
//! selection by vote, leader election, session and rebalance timeouts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::debug;

use super::records::{subscription_topics, GroupMetadataValue, MemberMetadata};
use crate::partition::now_ms;

/// How long a new member's first JoinGroup may stay parked before it is dropped (Kafka's
/// `NewMemberJoinTimeoutMs`): such members cannot heartbeat yet, and a client that gave up
/// and retried would otherwise leave a ghost member behind.
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Kafka's group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members (maybe committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Deleted or unloaded.
    Dead,
}

impl GroupState {
    /// The name Kafka reports (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Parses a state name, ignoring case as Kafka's ListGroups `states_filter` does.
    pub fn parse(name: &str) -> Option<GroupState> {
        [
            GroupState::Empty,
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
            GroupState::Dead,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// Group settings from the broker config.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long a rebalance of an empty group waits for
    /// more members (KIP-134).
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            initial_rebalance_delay: Duration::from_millis(100),
            min_session_timeout: Duration::from_secs(6),
            max_session_timeout: Duration::from_secs(1800),
        }
    }
}

#[derive(Debug)]
struct Member {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    /// Supported protocols with metadata, most preferred first.
    protocols: Vec<(String, Bytes)>,
    /// The assignment of the current generation.
    assignment: Bytes,
    /// A parked JoinGroup, answered when the join phase completes.
    awaiting_join: Option<oneshot::Sender<JoinResult>>,
    /// A parked SyncGroup, answered when the assignment is stored.
    awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// The session expires here unless the member heartbeats (or is parked in a join/sync).
    heartbeat_deadline: Instant,
    /// Joined but never answered yet: its parked join counts against
    /// [`NEW_MEMBER_JOIN_TIMEOUT`] instead of keeping it alive.
    is_new: bool,
}

impl Member {
    fn metadata(&self, protocol: Option<&str>) -> Bytes {
        protocol
            .and_then(|p| self.protocols.iter().find(|(name, _)| name == p))
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Kafka's `MemberMetadata.matches`: same protocols and metadata, in the same order.
    fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// Whether the session is still alive at `now` (Kafka's `hasSatisfiedHeartbeat`): a
    /// member parked in a join or sync is blocked in a request, which counts as a heartbeat.
    fn alive(&self, now: Instant) -> bool {
        if self.is_new {
            now < self.heartbeat_deadline
        } else {
            self.awaiting_join.is_some()
                || self.awaiting_sync.is_some()
                || now < self.heartbeat_deadline
        }
    }

    /// The deadline that matters for expiry now, if any.
    fn expiry(&self) -> Option<Instant> {
        if !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some()) {
            None
        } else {
            Some(self.heartbeat_deadline)
        }
    }

    fn heartbeat(&mut self, now: Instant) {
        self.heartbeat_deadline = now + self.session_timeout;
    }
}

/// The initial rebalance delay in progress (Kafka's `InitialDelayedJoin`).
#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    /// What is left of the rebalance timeout for more extensions.
    remaining: Duration,
}

/// One group (see the module docs).
#[derive(Debug)]
pub struct Group {
    /// The group id.
    pub group_id: String,
    config: GroupConfig,
    state: GroupState,
    /// When the state last changed (ms since the epoch), stored as `currentStateTimestamp`.
    state_since_ms: i64,
    generation_id: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader_id: Option<String>,
    /// Members by id; ordered so elections and answers are deterministic.
    members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, awaiting the rejoin, with their expiry.
    pending_members: HashMap<String, Instant>,
    /// `group.instance.id` → member id.
    static_members: HashMap<String, String>,
    /// PreparingRebalance: when the join phase ends even if members are missing.
    join_deadline: Option<Instant>,
    initial_delay: Option<InitialDelay>,
    /// A member joined while the initial delay ran: the delay may be extended.
    new_member_added: bool,
    /// The leader's assignment is being written; a second SyncGroup from it must not write
    /// it again.
    storing_assignment: bool,
    /// Topics the members subscribe to (consumer groups); `None` when unknown.
    subscribed_topics: Option<BTreeSet<String>>,
}

fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn duration_ms(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn send<T>(tx: Option<oneshot::Sender<T>>, value: T) {
    if let Some(tx) = tx {
        // The requester may have gone (connection closed); nothing to do then.
        let _ = tx.send(value);
    }
}

impl Group {
    /// A new, empty group.
    pub fn new(group_id: String, config: GroupConfig) -> Self {
        Self {
            group_id,
            config,
            state: GroupState::Empty,
            state_since_ms: now_ms(),
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            join_deadline: None,
            initial_delay: None,
            new_member_added: false,
            storing_assignment: false,
            subscribed_topics: None,
        }
    }

    /// A group rebuilt from its last metadata record (Kafka's `GroupMetadata.loadGroup`): Stable
    /// with its members if it had any, else Empty. The members must heartbeat within their
    /// session timeout from `now` or they are removed, which starts a rebalance.
    pub fn loaded(
        group_id: String,
        config: GroupConfig,
        value: Option<GroupMetadataValue>,
        now: Instant,
    ) -> Self {
        let mut g = Self::new(group_id, config);
        let Some(v) = value else { return g };
        g.generation_id = v.generation;
        g.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
        if v.current_state_timestamp >= 0 {
            g.state_since_ms = v.current_state_timestamp;
        }
        if v.members.is_empty() {
            return g;
        }
        g.protocol_name = v.protocol;
        g.leader_id = v.leader;
        for m in v.members {
            let member = Member {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout: duration_ms(m.session_timeout),
                rebalance_timeout: duration_ms(m.rebalance_timeout),
                protocols: vec![(g.protocol_name.clone().unwrap_or_default(), m.subscription)],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                heartbeat_deadline: now + duration_ms(m.session_timeout),
                is_new: false,
            };
            if let Some(instance) = &m.group_instance_id {
                g.static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            g.members.insert(m.member_id, member);
        }
        if g.leader_id
            .as_ref()
            .is_none_or(|l| !g.members.contains_key(l))
        {
            g.leader_id = g.members.keys().next().cloned();
        }
        g.subscribed_topics = g.compute_subscribed_topics();
        g.state = GroupState::Stable;
        g
    }

    /// The current state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The current generation.
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// Whether the group has never held anything: no members, no generation, no protocol
    /// (it was created by a request that then failed).
    pub fn holds_nothing(&self) -> bool {
        self.state == GroupState::Empty
            && self.generation_id == 0
            && self.protocol_type.is_none()
            && self.members.is_empty()
    }

    /// The protocol type, or empty.
    pub fn protocol_type(&self) -> &str {
        self.protocol_type.as_deref().unwrap_or_default()
    }

    /// The number of members.
    #[cfg(test)]
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The leader's member id.
    #[cfg(test)]
    pub fn leader(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }

    fn transition(&mut self, to: GroupState) {
        if self.state != to {
            debug!(group = %self.group_id, from = self.state.name(), to = to.name(), "group state");
            self.state = to;
            self.state_since_ms = now_ms();
        }
    }

    fn is_static_member_fenced(&self, member_id: &str, instance: Option<&str>) -> bool {
        instance
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|known| known != member_id)
    }

    fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol type and
    /// list; otherwise the type must match and one of the protocols must be supported by
    /// every other member.
    fn supports_protocols(
        &self,
        member_id: &str,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let others: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.member_id != member_id)
            .collect();
        protocols.iter().any(|(name, _)| {
            others
                .iter()
                .all(|m| m.protocols.iter().any(|(p, _)| p == name))
        })
    }

    /// Kafka's `selectProtocol`: among the protocols every member supports, each member votes
    /// for its first preference; the most votes win (ties: the leader's preference order).
    fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *name))
            })
            .collect();
        let mut votes: HashMap<&String, usize> = HashMap::new();
        for m in self.members.values() {
            if let Some((vote, _)) = m.protocols.iter().find(|(p, _)| candidates.contains(&p)) {
                *votes.entry(vote).or_default() += 1;
            }
        }
        let leader_order: Vec<&String> = self
            .leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .map(|m| m.protocols.iter().map(|(p, _)| p).collect())
            .unwrap_or_default();
        let rank = |p: &String| {
            leader_order
                .iter()
                .position(|l| *l == p)
                .unwrap_or(usize::MAX)
        };
        votes
            .into_iter()
            .max_by(|(a, va), (b, vb)| va.cmp(vb).then_with(|| rank(b).cmp(&rank(a))))
            .map(|(p, _)| p.clone())
    }

    fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for m in self.members.values() {
            topics.extend(subscription_topics(&m.metadata(Some(protocol)))?);
        }
        Some(topics)
    }

    /// The members with their metadata for the selected protocol, for the leader.
    fn current_member_metadata(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    fn join_result(&self, member_id: &str, leader: Option<&str>, with_members: bool) -> JoinResult {
        JoinResult {
            error: ErrorCode::None,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: leader
                .or(self.leader_id.as_deref())
                .unwrap_or_default()
                .to_string(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: if with_members {
                self.current_member_metadata()
            } else {
                Vec::new()
            },
        }
    }

    /// The group's metadata record, with `assignment` replacing the members' current one.
    pub fn metadata_record(
        &self,
        assignment: Option<&HashMap<String, Bytes>>,
    ) -> GroupMetadataValue {
        let protocol = self.protocol_name.as_deref();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation_id,
            protocol: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            current_state_timestamp: self.state_since_ms,
            members: self
                .members
                .values()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: ms(m.rebalance_timeout),
                    session_timeout: ms(m.session_timeout),
                    subscription: m.metadata(protocol),
                    assignment: assignment
                        .and_then(|a| a.get(&m.member_id).cloned())
                        .unwrap_or_else(|| m.assignment.clone()),
                })
                .collect(),
        }
    }

    // --- Offset commits --------------------------------------------------------------------------

    /// Checks an OffsetCommit's generation and member (Kafka's `doCommitOffsets`); a valid
    /// commit from a member counts as its heartbeat.
    pub fn validate_commit(
        &mut self,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if self.is_static_member_fenced(member_id, group_instance_id) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if generation_id < 0 && self.state == GroupState::Empty {
            // A group using Kafka only to store offsets (no group management).
            return Ok(());
        }
        let state = self.state;
        let generation = self.generation_id;
        let Some(m) = self.members.get_mut(member_id) else {
            return Err(ErrorCode::UnknownMemberId);
        };
        if generation_id != generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        match state {
            GroupState::Stable | GroupState::PreparingRebalance => {
                m.heartbeat(now);
                Ok(())
            }
            // The member has its new generation but not its assignment yet.
            GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),
            GroupState::Empty | GroupState::Dead => Err(ErrorCode::UnknownMemberId),
        }
    }

    /// Checks a TxnOffsetCommit's member fields (Kafka's `doTxnCommitOffsets`): unlike a
    /// plain commit, an empty member id or a negative generation skips the check.
    pub fn validate_txn_commit(
        &self,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if self.is_static_member_fenced(member_id, group_instance_id) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if !member_id.is_empty() && !self.members.contains_key(member_id) {
            return Err(ErrorCode::UnknownMemberId);
        }
        if generation_id >= 0 && generation_id != self.generation_id {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    /// Whether OffsetDelete may run on this group (KIP-496): empty groups and consumer
    /// groups may (the latter only for topics they do not subscribe to, see
    /// [`Group::is_subscribed_to`]); other active groups answer NON_EMPTY_GROUP.
    pub fn check_offset_delete(&self) -> Result<(), ErrorCode> {
        match self.state {
            GroupState::Dead => Err(ErrorCode::GroupIdNotFound),
            GroupState::Empty => Ok(()),
            _ if self.protocol_type.as_deref() == Some("consumer") => Ok(()),
            _ => Err(ErrorCode::NonEmptyGroup),
        }
    }

    /// Whether an active consumer group subscribes to `topic`. When the subscription cannot
    /// be parsed it counts as subscribed to everything, to be safe, as in Kafka.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        if self.state == GroupState::Empty || self.state == GroupState::Dead {
            return false;
        }
        self.subscribed_topics
            .as_ref()
            .is_none_or(|topics| topics.contains(topic))
    }

    // --- Admin ----------------------------------------------------------------------------

    /// What DescribeGroups reports: metadata and assignments only for a Stable group.
    pub fn describe(&self) -> GroupDescription {
        let stable = self.state == GroupState::Stable;
        let protocol = self.protocol_name.as_deref();
        GroupDescription {
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol: if stable {
                protocol.unwrap_or_default().to_string()
            } else {
                String::new()
            },
            members: self
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    // --- Online upgrade to the consumer protocol ---------------------------------------------

    /// What an online upgrade to the consumer protocol (KIP-848) takes from the group: its
    /// generation and, per member, its identity, timeouts, protocols, subscription (for the
    /// selected protocol) and last assignment. `None` unless the members are consumers.
    pub fn upgrade_view(&self) -> Option<(i32, Vec<UpgradeMember>)> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref();
        let members = self
            .members
            .values()
            .map(|m| UpgradeMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout_ms: ms(m.session_timeout),
                rebalance_timeout_ms: ms(m.rebalance_timeout),
                protocols: m.protocols.clone(),
                subscription: protocol
                    .map(|p| m.metadata(Some(p)))
                    .or_else(|| m.protocols.first().map(|(_, md)| md.clone()))
                    .unwrap_or_default(),
                assignment: m.assignment.clone(),
            })
            .collect();
        Some((self.generation_id, members))
    }

    /// Starts a rebalance (a group just made classic again: its members rejoin).
    pub fn rebalance(&mut self, now: Instant, reason: &str) {
        self.maybe_prepare_rebalance(now, reason);
    }

    /// Answers every parked JoinGroup and SyncGroup with `error` (the group is converted:
    /// its members must rejoin).
    pub fn fail_parked(&mut self, error: ErrorCode) {
        for m in self.members.values_mut() {
            let id = m.member_id.clone();
            send(m.awaiting_join.take(), JoinResult::error(&id, error));
            send(m.awaiting_sync.take(), SyncResult::error(error));
        }
    }

    /// Whether DeleteGroups may delete the group.
    pub fn check_deletable(&self) -> Result<(), ErrorCode> {
        match self.state {
            GroupState::Dead => Err(ErrorCode::GroupIdNotFound),
            GroupState::Empty => Ok(()),
            _ => Err(ErrorCode::NonEmptyGroup),
        }
    }

    /// Marks the group deleted: parked requests fail and the actor stops.
    pub fn mark_dead(&mut self) {
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            if let Some(mut m) = self.members.remove(&id) {
                send(
                    m.awaiting_join.take(),
                    JoinResult::error(&id, ErrorCode::CoordinatorNotAvailable),
                );
                send(
                    m.awaiting_sync.take(),
                    SyncResult::error(ErrorCode::CoordinatorNotAvailable),
                );
            }
        }
        self.pending_members.clear();
        self.static_members.clear();
        self.transition(GroupState::Dead);
    }
}

mod join;
mod messages;
mod sync;

pub use messages::*;

#[cfg(test)]
mod tests;
