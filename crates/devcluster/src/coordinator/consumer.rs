//! One consumer-protocol group (KIP-848): its state, rebuilt only by replaying its records.
//!
//! ```text
//!  ConsumerGroupHeartbeat ─▶ heartbeat.rs: validate, update the member ─┐ records (5, 16)
//!                            group epoch bump when the inputs changed ──┤ (3)
//!                            target assignment (assignor.rs) when stale ┤ (7…, 6)
//!                            the member's next step (reconcile.rs) ─────┘ (8)
//!        every record goes through [`ConsumerGroup::replay`] as it is made, then to the log;
//!        the answer waits until the in-sync replicas have it (actor.rs)
//! ```
//!
//! Three epochs order everything (Kafka's `ConsumerGroup`): the group epoch counts changes
//! of the inputs (members, subscriptions, topic metadata); the target assignment epoch is
//! the group epoch the target was computed at; a member's epoch is the target epoch it has
//! converged to. A member gets a partition only once no other member owns it
//! ([`ConsumerGroup::owner`]), so a partition is revoked before it is assigned elsewhere.
//! A session timer and, while a member holds partitions it must give up, a rebalance timer
//! fence members that stop heartbeating; fencing removes the member and bumps the group
//! epoch. The records are Kafka's (`records/consumer.rs`), so a coordinator that loads the
//! partition after a failover has the same epochs and assignments.

mod assignor;
mod classic;
mod heartbeat;
mod reconcile;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use super::records::consumer::{
    ClassicMemberMetadata, ConsumerRecord, CurrentValue, GroupEpochValue, MemberValue, RegexValue,
    TargetEpochValue, TargetValue, TopicPartitions,
};
use crate::controller::ClusterMetadata;

pub use classic::ClassicJoin;
pub use heartbeat::{validate as validate_heartbeat, HeartbeatAnswer, HeartbeatArgs, Refusal};

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// Settings of consumer-protocol groups from the broker config.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `group.consumer.session.timeout.ms`.
    pub session_timeout: Duration,
    /// `group.consumer.heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `group.consumer.assignors`: the server assignors, the first the default.
    pub assignors: Vec<String>,
    /// `group.consumer.max.size`.
    pub max_size: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(1),
            assignors: vec!["uniform".into(), "range".into()],
            max_size: usize::MAX,
        }
    }
}

/// Where a member is in its reconciliation (Kafka's `MemberState`, stored as a byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberState {
    /// Owns what its epoch's target gives it.
    #[default]
    Stable,
    /// Must give up partitions before it may move to a newer epoch.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions other members still own.
    UnreleasedPartitions,
    /// A state this coordinator does not know (a newer Kafka wrote it).
    Unknown,
}

impl MemberState {
    fn from_byte(b: i8) -> Self {
        match b {
            0 => MemberState::Stable,
            1 => MemberState::UnrevokedPartitions,
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Unknown,
        }
    }

    fn byte(self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
            MemberState::Unknown => 127,
        }
    }
}

/// One member, as its records describe it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Member {
    /// The member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack_id: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Topics subscribed to by name.
    pub subscribed_topic_names: BTreeSet<String>,
    /// The subscription's regular expression, or empty.
    pub subscribed_topic_regex: String,
    /// How long the member may take to revoke partitions, in ms.
    pub rebalance_timeout_ms: i32,
    /// The server assignor it asked for.
    pub server_assignor: Option<String>,
    /// Set for a member speaking the classic protocol.
    pub classic: Option<ClassicMemberMetadata>,
    /// The epoch the member must send.
    pub epoch: i32,
    /// The epoch before the last bump.
    pub previous_epoch: i32,
    /// Its reconciliation state.
    pub state: MemberState,
    /// What it owns.
    pub assigned: Assignment,
    /// What it must give up.
    pub pending_revocation: Assignment,
}

impl Member {
    fn new(member_id: &str) -> Self {
        Self {
            member_id: member_id.to_string(),
            rebalance_timeout_ms: -1,
            epoch: 0,
            previous_epoch: -1,
            ..Default::default()
        }
    }

    /// The member's subscription record.
    fn value(&self) -> MemberValue {
        MemberValue {
            instance_id: self.instance_id.clone(),
            rack_id: self.rack_id.clone(),
            client_id: self.client_id.clone(),
            client_host: self.client_host.clone(),
            subscribed_topic_names: self.subscribed_topic_names.iter().cloned().collect(),
            subscribed_topic_regex: Some(self.subscribed_topic_regex.clone())
                .filter(|r| !r.is_empty()),
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            server_assignor: self.server_assignor.clone(),
            classic_member_metadata: self.classic.clone(),
            ..Default::default()
        }
    }

    /// The member's current-assignment record.
    fn current_value(&self) -> CurrentValue {
        CurrentValue {
            member_epoch: self.epoch,
            previous_member_epoch: self.previous_epoch,
            state: self.state.byte(),
            assigned_partitions: to_topic_partitions(&self.assigned),
            partitions_pending_revocation: to_topic_partitions(&self.pending_revocation),
            ..Default::default()
        }
    }

    fn owned_partitions(&self) -> impl Iterator<Item = (Uuid, i32)> + '_ {
        self.assigned
            .iter()
            .chain(self.pending_revocation.iter())
            .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
    }
}

/// Kafka's `TopicPartitions` list form of an assignment.
pub fn to_topic_partitions(a: &Assignment) -> Vec<TopicPartitions> {
    a.iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(t, ps)| TopicPartitions {
            topic_id: *t,
            partitions: ps.iter().copied().collect(),
            ..Default::default()
        })
        .collect()
}

/// An assignment from Kafka's list form.
pub fn from_topic_partitions(list: &[TopicPartitions]) -> Assignment {
    let mut a = Assignment::new();
    for tp in list {
        a.entry(tp.topic_id)
            .or_default()
            .extend(tp.partitions.iter().copied());
    }
    a.retain(|_, ps| !ps.is_empty());
    a
}

/// The group states ConsumerGroupDescribe and ListGroups report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    /// No members.
    Empty,
    /// The group epoch is ahead of the target assignment.
    Assigning,
    /// Some member has not converged to the target.
    Reconciling,
    /// Every member owns its target.
    Stable,
}

impl ConsumerGroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// One consumer-protocol group (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroup {
    /// The group id.
    pub group_id: String,
    /// The group epoch.
    epoch: i32,
    /// A hash of the subscribed topics' ids and partition counts when the epoch last moved.
    metadata_hash: i64,
    /// Members by id.
    members: BTreeMap<String, Member>,
    /// The target assignment per member.
    target: BTreeMap<String, Assignment>,
    /// The group epoch the target was computed at, or -1.
    target_epoch: i32,
    /// Resolved regular expressions: the topics each matched, at which metadata version.
    regexes: BTreeMap<String, RegexValue>,
    /// Derived: `group.instance.id` → member id.
    static_members: HashMap<String, String>,
    /// Derived: partition → the member owning it (assigned or pending revocation).
    owners: HashMap<(Uuid, i32), String>,
    /// Session deadlines per member; not stored (a loaded group gives every member a full
    /// session, as Kafka does).
    sessions: HashMap<String, Instant>,
    /// Rebalance deadlines per member in UNREVOKED_PARTITIONS, with the epoch they guard.
    revocation_deadlines: HashMap<String, (Instant, i32)>,
    /// The group was deleted (its epoch record tombstoned).
    deleted: bool,
}

impl ConsumerGroup {
    /// A new group, epoch 0, with no members.
    pub fn new(group_id: &str) -> Self {
        Self {
            group_id: group_id.to_string(),
            target_epoch: -1,
            ..Default::default()
        }
    }

    /// Applies one record (Kafka's `GroupMetadataManager.replay`), as it is written and as
    /// a loading coordinator reads it.
    pub fn replay(&mut self, record: &ConsumerRecord) {
        match record {
            ConsumerRecord::GroupEpoch(Some(v)) => {
                self.epoch = v.epoch;
                self.metadata_hash = v.metadata_hash;
                self.deleted = false;
            }
            ConsumerRecord::GroupEpoch(None) => {
                self.deleted = true;
                self.epoch = 0;
                self.metadata_hash = 0;
            }
            ConsumerRecord::PartitionMetadata => {}
            ConsumerRecord::Member(id, Some(v)) => {
                let m = self
                    .members
                    .entry(id.clone())
                    .or_insert_with(|| Member::new(id));
                if let Some(old) = m.instance_id.take() {
                    self.static_members.remove(&old);
                }
                m.instance_id = v.instance_id.clone();
                m.rack_id = v.rack_id.clone();
                m.client_id = v.client_id.clone();
                m.client_host = v.client_host.clone();
                m.subscribed_topic_names = v.subscribed_topic_names.iter().cloned().collect();
                m.subscribed_topic_regex = v.subscribed_topic_regex.clone().unwrap_or_default();
                m.rebalance_timeout_ms = v.rebalance_timeout_ms;
                m.server_assignor = v.server_assignor.clone();
                m.classic = v.classic_member_metadata.clone();
                if let Some(i) = &m.instance_id {
                    self.static_members.insert(i.clone(), id.clone());
                }
            }
            ConsumerRecord::Member(id, None) => {
                if let Some(m) = self.members.remove(id) {
                    self.release(&m);
                    if let Some(i) = &m.instance_id {
                        if self.static_members.get(i) == Some(id) {
                            self.static_members.remove(i);
                        }
                    }
                }
                self.sessions.remove(id);
                self.revocation_deadlines.remove(id);
            }
            ConsumerRecord::TargetEpoch(v) => {
                self.target_epoch = v.as_ref().map_or(-1, |v| v.assignment_epoch);
            }
            ConsumerRecord::Target(id, Some(v)) => {
                self.target
                    .insert(id.clone(), from_topic_partitions(&v.topic_partitions));
            }
            ConsumerRecord::Target(id, None) => {
                self.target.remove(id);
            }
            ConsumerRecord::Current(id, v) => {
                // A compacted log may hold a member's current assignment before its
                // metadata record: the member is created here, as Kafka does.
                if v.is_none() && !self.members.contains_key(id) {
                    return;
                }
                let old = self
                    .members
                    .entry(id.clone())
                    .or_insert_with(|| Member::new(id))
                    .clone();
                self.release(&old);
                let Some(m) = self.members.get_mut(id) else {
                    return;
                };
                match v {
                    Some(v) => {
                        m.epoch = v.member_epoch;
                        m.previous_epoch = v.previous_member_epoch;
                        m.state = MemberState::from_byte(v.state);
                        m.assigned = from_topic_partitions(&v.assigned_partitions);
                        m.pending_revocation =
                            from_topic_partitions(&v.partitions_pending_revocation);
                    }
                    None => {
                        m.epoch = -1;
                        m.previous_epoch = -1;
                        m.state = MemberState::Stable;
                        m.assigned.clear();
                        m.pending_revocation.clear();
                    }
                }
                let owned: Vec<(Uuid, i32)> = m.owned_partitions().collect();
                for tp in owned {
                    self.owners.insert(tp, id.clone());
                }
            }
            ConsumerRecord::Regex(regex, Some(v)) => {
                self.regexes.insert(regex.clone(), v.clone());
            }
            ConsumerRecord::Regex(regex, None) => {
                self.regexes.remove(regex);
            }
        }
    }

    /// Forgets a member's partitions in the owner index.
    fn release(&mut self, m: &Member) {
        for tp in m.owned_partitions() {
            if self.owners.get(&tp) == Some(&m.member_id) {
                self.owners.remove(&tp);
            }
        }
    }

    /// The member that owns a partition now (assigned or still to revoke).
    pub fn owner(&self, topic: Uuid, partition: i32) -> Option<&str> {
        self.owners.get(&(topic, partition)).map(String::as_str)
    }

    /// Whether the group holds anything (a loaded group whose records were all
    /// tombstoned does not).
    pub fn exists(&self) -> bool {
        !self.deleted && (self.epoch > 0 || !self.members.is_empty())
    }

    /// The member id of a static member.
    pub fn static_member(&self, instance: &str) -> Option<String> {
        self.static_members.get(instance).cloned()
    }

    /// The group epoch.
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// The target assignment epoch.
    pub fn target_epoch(&self) -> i32 {
        self.target_epoch
    }

    /// The members.
    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    /// A member's target assignment.
    pub fn target_of(&self, member_id: &str) -> Option<&Assignment> {
        self.target.get(member_id)
    }

    /// Kafka's `ConsumerGroup.maybeUpdateGroupState`.
    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.epoch > self.target_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.state != MemberState::Stable || m.epoch != self.target_epoch)
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// The assignor the group uses: the one most members asked for, else the default.
    pub fn assignor_name(&self, config: &ConsumerConfig) -> String {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a.as_str()).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(a, _)| a.to_string())
            .or_else(|| config.assignors.first().cloned())
            .unwrap_or_else(|| "uniform".into())
    }

    /// The topics a member subscribes to, by name and through its regular expression.
    pub fn subscribed_topics(&self, m: &Member) -> BTreeSet<String> {
        let mut topics = m.subscribed_topic_names.clone();
        if let Some(r) = self.regexes.get(&m.subscribed_topic_regex) {
            topics.extend(r.topics.iter().cloned());
        }
        topics
    }

    /// Every topic some member subscribes to.
    pub fn all_subscribed_topics(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| self.subscribed_topics(m))
            .collect()
    }

    /// Whether OffsetDelete must refuse a topic (an active member subscribes to it).
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        self.members
            .values()
            .any(|m| self.subscribed_topics(m).contains(topic))
    }

    /// Checks an OffsetCommit or TxnOffsetCommit (Kafka 4.0's
    /// `ConsumerGroup.validateOffsetCommit`): a commit with a negative epoch is an admin's
    /// and allowed only while the group is empty; else
    /// the member must exist and send its current epoch. Unlike a classic group's, a commit
    /// does not extend the member's session.
    pub fn validate_commit(
        &self,
        member_epoch: i32,
        member_id: &str,
        api_version: i16,
        transactional: bool,
    ) -> Result<(), ErrorCode> {
        if member_epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        // A transactional producer that is not a group member commits without member fields.
        if transactional && member_epoch < 0 && member_id.is_empty() {
            return Ok(());
        }
        let Some(m) = self.members.get(member_id) else {
            return Err(ErrorCode::UnknownMemberId);
        };
        if !transactional && m.classic.is_none() && api_version < 9 {
            return Err(ErrorCode::UnsupportedVersion);
        }
        if member_epoch != m.epoch {
            // Transactional producers know ILLEGAL_GENERATION (abortable), not the stale
            // epoch error, which Kafka maps for them too.
            return Err(if m.classic.is_some() || transactional {
                ErrorCode::IllegalGeneration
            } else {
                ErrorCode::StaleMemberEpoch
            });
        }
        Ok(())
    }

    /// Checks an OffsetFetch that names a member (v9+): no member id and a negative epoch
    /// is an admin's fetch.
    pub fn validate_fetch(
        &self,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), ErrorCode> {
        let Some(member_id) = member_id.filter(|_| member_epoch >= 0) else {
            return Ok(());
        };
        let Some(m) = self.members.get(member_id) else {
            return Err(ErrorCode::UnknownMemberId);
        };
        if member_epoch != m.epoch {
            return Err(ErrorCode::StaleMemberEpoch);
        }
        Ok(())
    }

    /// The earliest timer: a session or a revocation deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sessions
            .values()
            .copied()
            .chain(self.revocation_deadlines.values().map(|(d, _)| *d))
            .min()
    }

    /// Drops revocation deadlines that no longer guard anything (the member moved on, or
    /// is gone), so they do not keep the timer firing.
    pub fn prune_deadlines(&mut self) {
        let members = &self.members;
        self.revocation_deadlines.retain(|m, (_, epoch)| {
            members.get(m).is_some_and(|mm| {
                mm.epoch == *epoch && mm.state == MemberState::UnrevokedPartitions
            })
        });
    }

    /// Members whose session or revocation deadline passed: to be fenced.
    pub fn expired(&self, now: Instant) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = self
            .sessions
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(m, _)| (m.clone(), "its session expired"))
            .collect();
        for (m, (d, epoch)) in &self.revocation_deadlines {
            let still = self.members.get(m).is_some_and(|mm| {
                mm.epoch == *epoch && mm.state == MemberState::UnrevokedPartitions
            });
            if *d <= now && still && !out.iter().any(|(o, _)| o == m) {
                out.push((
                    m.clone(),
                    "it did not revoke its partitions within its rebalance timeout",
                ));
            }
        }
        out
    }

    /// Moves the session deadlines of members whose fencing could not be written.
    pub fn postpone(&mut self, ids: &[String], until: Instant) {
        for id in ids {
            if let Some(d) = self.sessions.get_mut(id) {
                *d = (*d).max(until);
            }
            if let Some((d, _)) = self.revocation_deadlines.get_mut(id) {
                *d = (*d).max(until);
            }
        }
    }

    /// Gives every member a full session from `now` (after a load, as Kafka re-arms its
    /// timers), and revocation deadlines to those that must give up partitions.
    pub fn arm_timers(&mut self, config: &ConsumerConfig, now: Instant) {
        let members: Vec<(String, i32, MemberState, i32)> = self
            .members
            .values()
            .map(|m| {
                (
                    m.member_id.clone(),
                    m.epoch,
                    m.state,
                    m.rebalance_timeout_ms,
                )
            })
            .collect();
        for (id, epoch, state, timeout) in members {
            self.sessions
                .insert(id.clone(), now + config.session_timeout);
            if state == MemberState::UnrevokedPartitions {
                self.revocation_deadlines
                    .insert(id, (now + ms_duration(timeout), epoch));
            }
        }
    }

    /// Fences members (session or rebalance timeout, or a leave): their records are
    /// tombstoned in Kafka's order (current assignment, target, member), regular expressions
    /// nobody uses any more go too, and the group epoch moves once. The target is
    /// recomputed by the next heartbeat.
    pub fn remove_members(&mut self, ids: &[String], md: &ClusterMetadata) -> Vec<ConsumerRecord> {
        let mut records = Vec::new();
        for id in ids {
            if !self.members.contains_key(id) {
                continue;
            }
            self.emit(&mut records, ConsumerRecord::Current(id.clone(), None));
            self.emit(&mut records, ConsumerRecord::Target(id.clone(), None));
            self.emit(&mut records, ConsumerRecord::Member(id.clone(), None));
        }
        if records.is_empty() {
            return records;
        }
        let used: BTreeSet<String> = self
            .members
            .values()
            .map(|m| m.subscribed_topic_regex.clone())
            .collect();
        let orphans: Vec<String> = self
            .regexes
            .keys()
            .filter(|r| !used.contains(*r))
            .cloned()
            .collect();
        for r in orphans {
            self.emit(&mut records, ConsumerRecord::Regex(r, None));
        }
        let hash = self.compute_metadata_hash(md);
        self.bump_epoch(hash, &mut records);
        records
    }

    /// Moves the group epoch on, with the metadata hash it was computed against.
    fn bump_epoch(&mut self, metadata_hash: i64, records: &mut Vec<ConsumerRecord>) {
        let epoch = self.epoch + 1;
        self.emit(
            records,
            ConsumerRecord::GroupEpoch(Some(GroupEpochValue {
                epoch,
                metadata_hash,
                ..Default::default()
            })),
        );
    }

    /// Every record of the group as tombstones, in Kafka's deletion order.
    pub fn tombstones(&self) -> Vec<ConsumerRecord> {
        let mut out = Vec::new();
        for id in self.members.keys() {
            out.push(ConsumerRecord::Current(id.clone(), None));
        }
        for id in self.target.keys() {
            out.push(ConsumerRecord::Target(id.clone(), None));
        }
        out.push(ConsumerRecord::TargetEpoch(None));
        for id in self.members.keys() {
            out.push(ConsumerRecord::Member(id.clone(), None));
        }
        for r in self.regexes.keys() {
            out.push(ConsumerRecord::Regex(r.clone(), None));
        }
        out.push(ConsumerRecord::GroupEpoch(None));
        out
    }

    /// Applies a record and keeps it for the log.
    fn emit(&mut self, records: &mut Vec<ConsumerRecord>, record: ConsumerRecord) {
        self.replay(&record);
        records.push(record);
    }

    /// A stable 64-bit hash of the subscribed topics' names, ids and partition counts
    /// (what Kafka 4.1's metadata hash covers; 0 with no topics): a change means the
    /// assignment must be computed again.
    fn compute_metadata_hash(&self, md: &ClusterMetadata) -> i64 {
        let topics = self.all_subscribed_topics();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut any = false;
        for name in &topics {
            let Some(t) = md.topic(name) else { continue };
            any = true;
            let mut feed = |bytes: &[u8]| {
                for b in bytes {
                    h ^= u64::from(*b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            };
            feed(name.as_bytes());
            feed(&[0]);
            feed(t.topic_id.as_bytes());
            feed(&(t.partitions.len() as u64).to_be_bytes());
        }
        if any {
            h as i64
        } else {
            0
        }
    }

    fn target_epoch_record(epoch: i32) -> ConsumerRecord {
        ConsumerRecord::TargetEpoch(Some(TargetEpochValue {
            assignment_epoch: epoch,
            ..Default::default()
        }))
    }

    fn target_record(member_id: &str, a: &Assignment) -> ConsumerRecord {
        ConsumerRecord::Target(
            member_id.to_string(),
            Some(TargetValue {
                topic_partitions: to_topic_partitions(a),
                ..Default::default()
            }),
        )
    }
}

fn ms_duration(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests;
