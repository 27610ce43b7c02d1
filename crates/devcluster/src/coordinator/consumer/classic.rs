//! Classic-protocol members inside a consumer-protocol group (Kafka 4's
//! `classicGroupJoinToConsumerGroup` and friends): a JoinGroup/SyncGroup/Heartbeat consumer
//! joins a KIP-848 group without knowing it. Its embedded subscription
//! (`ConsumerProtocolSubscription`) says what it subscribes to and owns; the coordinator
//! assigns and reconciles it like any member, and SyncGroup hands it its partitions as a
//! `ConsumerProtocolAssignment`. There is no group-wide barrier: each classic member is told
//! REBALANCE_IN_PROGRESS on its heartbeat when it has something to do, and rejoins.

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_protocol::primitives::{Ctx, Field};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Assignment, ConsumerConfig, ConsumerGroup, Member, MemberState};
use crate::controller::ClusterMetadata;
use crate::coordinator::group::UpgradeMember;
use crate::coordinator::records::consumer::{
    ClassicMemberMetadata, ClassicProtocol, ConsumerRecord,
};
use crate::coordinator::records::{GroupMetadataValue, MemberMetadata};

fn plain(version: i16) -> Ctx {
    Ctx {
        version,
        flexible: false,
        nullable: false,
    }
}

fn nullable(version: i16) -> Ctx {
    Ctx {
        version,
        flexible: false,
        nullable: true,
    }
}

/// A consumer's `ConsumerProtocolSubscription` (versions 0–3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Its version.
    pub version: i16,
    /// The topics.
    pub topics: Vec<String>,
    /// Custom assignor data; a group with some cannot be upgraded (it would be lost).
    pub user_data: Option<Bytes>,
    /// What the member owns (v1+, cooperative members).
    pub owned: Vec<(String, Vec<i32>)>,
    /// Its rack (v3+).
    pub rack: Option<String>,
}

impl Subscription {
    /// Decodes a subscription; `None` when the bytes are not one.
    pub fn decode(bytes: &Bytes) -> Option<Subscription> {
        let mut buf = bytes.clone();
        let version = i16::decode(&mut buf, plain(0)).ok()?;
        if version < 0 {
            return None;
        }
        let c = plain(version);
        let n = nullable(version);
        let topics = Vec::<String>::decode(&mut buf, c).ok()?;
        let user_data = Option::<Bytes>::decode(&mut buf, n).ok()?;
        let mut owned = Vec::new();
        let mut rack = None;
        if version >= 1 {
            let count = i32::decode(&mut buf, c).ok()?;
            for _ in 0..count.max(0) {
                let topic = String::decode(&mut buf, c).ok()?;
                let partitions = Vec::<i32>::decode(&mut buf, c).ok()?;
                owned.push((topic, partitions));
            }
        }
        if version >= 2 {
            let _generation = i32::decode(&mut buf, c).ok()?;
        }
        if version >= 3 {
            rack = Option::<String>::decode(&mut buf, n).ok()?;
        }
        Some(Subscription {
            version,
            topics,
            user_data,
            owned,
            rack,
        })
    }
}

/// A `ConsumerProtocolAssignment` of `partitions` (by topic name), at `version` (0–3 share
/// one layout); no user data.
pub fn encode_assignment(version: i16, partitions: &[(String, Vec<i32>)]) -> Bytes {
    let version = version.clamp(0, 3);
    let c = plain(version);
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    buf.put_i32(i32::try_from(partitions.len()).unwrap_or(i32::MAX));
    for (topic, ps) in partitions {
        // Topic names come from metadata and partition lists from an assignment: both far
        // below the protocol's limits, so encoding cannot fail.
        let _ = topic.encode(&mut buf, c);
        let _ = ps.encode(&mut buf, c);
    }
    buf.put_i32(-1);
    buf.freeze()
}

/// A classic member's JoinGroup, as the consumer-protocol group sees it.
#[derive(Debug, Clone, Default)]
pub struct ClassicJoin {
    /// The member id (known: the actor answered MEMBER_ID_REQUIRED before).
    pub member_id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// Its session timeout.
    pub session_timeout_ms: i32,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Its protocols, most preferred first.
    pub protocols: Vec<(String, Bytes)>,
    /// The client id.
    pub client_id: String,
    /// The client host.
    pub client_host: String,
    /// The member came without an id (a new member, or a static member restarting): only
    /// such a join may take over a static member's place.
    pub unknown_member: bool,
}

/// A classic member's successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicJoined {
    /// Its generation: its member epoch.
    pub generation: i32,
    /// The protocol it goes by.
    pub protocol: String,
}

/// What a classic member joined with, as its member record keeps it.
fn classic_metadata(
    session_timeout_ms: i32,
    protocols: &[(String, Bytes)],
) -> ClassicMemberMetadata {
    ClassicMemberMetadata {
        session_timeout_ms,
        supported_protocols: protocols
            .iter()
            .map(|(name, metadata)| ClassicProtocol {
                name: name.clone(),
                metadata: metadata.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn names_to_ids(owned: &[(String, Vec<i32>)], md: &ClusterMetadata) -> Assignment {
    let mut a = Assignment::new();
    for (topic, ps) in owned {
        if let Some(t) = md.topic(topic) {
            a.entry(t.topic_id).or_default().extend(ps.iter().copied());
        }
    }
    a.retain(|_, ps| !ps.is_empty());
    a
}

fn ids_to_names(a: &Assignment, md: &ClusterMetadata) -> Vec<(String, Vec<i32>)> {
    a.iter()
        .filter_map(|(id, ps)| {
            let t = md.topic_by_id(*id)?;
            Some((t.name.clone(), ps.iter().copied().collect()))
        })
        .collect()
}

impl ConsumerGroup {
    /// The protocol every classic member (and this joiner) supports, in the joiner's order;
    /// `None`: the joiner has nothing in common with them.
    fn classic_protocol_for(
        &self,
        member_id: &str,
        protocols: &[(String, Bytes)],
    ) -> Option<String> {
        protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| {
                self.members
                    .values()
                    .filter(|m| m.member_id != member_id)
                    .filter_map(|m| m.classic.as_ref())
                    .all(|c| c.supported_protocols.iter().any(|p| &p.name == *name))
            })
            .cloned()
    }

    /// JoinGroup from a classic member (see the module docs): records and the answer.
    pub fn classic_join(
        &mut self,
        join: &ClassicJoin,
        md: &ClusterMetadata,
        config: &ConsumerConfig,
        now: Instant,
    ) -> Result<(Vec<ConsumerRecord>, ClassicJoined), ErrorCode> {
        let protocol = self
            .classic_protocol_for(&join.member_id, &join.protocols)
            .ok_or(ErrorCode::InconsistentGroupProtocol)?;
        let metadata = join
            .protocols
            .iter()
            .find(|(n, _)| *n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        let subscription =
            Subscription::decode(&metadata).ok_or(ErrorCode::InconsistentGroupProtocol)?;
        let mut records = Vec::new();
        // A static member replacing another takes its place (no UNRELEASED check: either
        // side is classic).
        let existing = match &join.instance_id {
            Some(instance) => match self.static_members.get(instance).cloned() {
                // A member id the group gave another incarnation: a zombie, fenced.
                Some(old) if old != join.member_id && !join.unknown_member => {
                    return Err(ErrorCode::FencedInstanceId);
                }
                Some(old) if old != join.member_id => {
                    let mut copy = self
                        .members
                        .get(&old)
                        .cloned()
                        .ok_or(ErrorCode::UnknownMemberId)?;
                    let target = self.target.get(&old).cloned().unwrap_or_default();
                    copy.member_id.clone_from(&join.member_id);
                    self.emit(&mut records, ConsumerRecord::Current(old.clone(), None));
                    self.emit(&mut records, ConsumerRecord::Target(old.clone(), None));
                    self.emit(&mut records, ConsumerRecord::Member(old.clone(), None));
                    self.emit(
                        &mut records,
                        ConsumerRecord::Member(join.member_id.clone(), Some(copy.value())),
                    );
                    self.emit(&mut records, Self::target_record(&join.member_id, &target));
                    self.emit(
                        &mut records,
                        ConsumerRecord::Current(join.member_id.clone(), Some(copy.current_value())),
                    );
                    self.sessions.remove(&old);
                    self.revocation_deadlines.remove(&old);
                    Some(copy)
                }
                _ => self.members.get(&join.member_id).cloned(),
            },
            None => self.members.get(&join.member_id).cloned(),
        };
        if existing.is_none() && self.members.len() >= config.max_size {
            return Err(ErrorCode::GroupMaxSizeReached);
        }
        let old = existing
            .clone()
            .unwrap_or_else(|| Member::new(&join.member_id));
        let mut updated = old.clone();
        updated.instance_id.clone_from(&join.instance_id);
        if subscription.rack.is_some() {
            updated.rack_id.clone_from(&subscription.rack);
        }
        updated.client_id.clone_from(&join.client_id);
        updated.client_host.clone_from(&join.client_host);
        updated.subscribed_topic_names = subscription.topics.iter().cloned().collect();
        updated.subscribed_topic_regex.clear();
        updated.server_assignor = None;
        updated.rebalance_timeout_ms = join.rebalance_timeout_ms;
        updated.classic = Some(classic_metadata(join.session_timeout_ms, &join.protocols));
        let names_changed = updated.subscribed_topic_names != old.subscribed_topic_names;
        if existing.is_none() || updated.value() != old.value() {
            self.emit(
                &mut records,
                ConsumerRecord::Member(join.member_id.clone(), Some(updated.value())),
            );
        }
        let hash = self.compute_metadata_hash(md);
        if self.epoch == 0 || names_changed || hash != self.metadata_hash {
            self.bump_epoch(hash, &mut records);
        }
        if self.epoch > self.target_epoch {
            self.update_target(md, config, &mut records);
        }
        let member = self
            .members
            .get(&join.member_id)
            .cloned()
            .unwrap_or(updated);
        let target = self
            .target
            .get(&join.member_id)
            .cloned()
            .unwrap_or_default();
        let subscribed = super::heartbeat::topic_ids(&self.subscribed_topics(&member), md);
        // An eager member owns nothing when it rejoins: its revocations are done.
        let owned = names_to_ids(&subscription.owned, md);
        let next = {
            let inputs = super::reconcile::Inputs {
                target_epoch: self.target_epoch,
                target: &target,
                owned: Some(&owned),
                subscribed: &subscribed,
                subscription_changed: names_changed,
                owner: |t, p| self.owner(t, p),
            };
            super::reconcile::reconcile(&member, &inputs)?
        };
        if existing.is_none() || next.current_value() != member.current_value() {
            self.emit(
                &mut records,
                ConsumerRecord::Current(join.member_id.clone(), Some(next.current_value())),
            );
        }
        // Classic members have no revocation clock of their own (their rejoin is the
        // acknowledgement); one left from a load must not fire.
        self.revocation_deadlines.remove(&join.member_id);
        let session = super::ms_duration(join.session_timeout_ms);
        self.sessions.insert(join.member_id.clone(), now + session);
        Ok((
            records,
            ClassicJoined {
                generation: next.epoch,
                protocol,
            },
        ))
    }

    fn classic_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<&Member, ErrorCode> {
        if let Some(instance) = instance_id {
            match self.static_members.get(instance) {
                Some(known) if known != member_id => return Err(ErrorCode::FencedInstanceId),
                None => return Err(ErrorCode::UnknownMemberId),
                Some(_) => {}
            }
        }
        self.members
            .get(member_id)
            .filter(|m| m.classic.is_some())
            .ok_or(ErrorCode::UnknownMemberId)
    }

    /// SyncGroup from a classic member: its assigned partitions, as a
    /// `ConsumerProtocolAssignment` of its subscription's version. Writes nothing.
    pub fn classic_sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        (generation, protocol_name): (i32, Option<&str>),
        md: &ClusterMetadata,
        now: Instant,
    ) -> Result<Bytes, ErrorCode> {
        let m = self.classic_member(member_id, instance_id)?.clone();
        if generation != m.epoch {
            return Err(ErrorCode::IllegalGeneration);
        }
        let supported = |name: &str| {
            m.classic
                .as_ref()
                .is_some_and(|c| c.supported_protocols.iter().any(|p| p.name == name))
        };
        if protocol_name.is_some_and(|p| !supported(p)) {
            return Err(ErrorCode::InconsistentGroupProtocol);
        }
        if let Some(c) = &m.classic {
            self.sessions.insert(
                member_id.to_string(),
                now + super::ms_duration(c.session_timeout_ms),
            );
        }
        if self.epoch > m.epoch && m.state != MemberState::UnrevokedPartitions {
            return Err(ErrorCode::RebalanceInProgress);
        }
        let version = m
            .classic
            .as_ref()
            .and_then(|c| c.supported_protocols.first())
            .and_then(|p| Subscription::decode(&p.metadata))
            .map_or(0, |s| s.version);
        Ok(encode_assignment(version, &ids_to_names(&m.assigned, md)))
    }

    /// Heartbeat from a classic member: REBALANCE_IN_PROGRESS when rejoining would make
    /// progress (a newer group epoch, partitions to revoke, or partitions now free for it).
    pub fn classic_heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> ErrorCode {
        let m = match self.classic_member(member_id, instance_id) {
            Ok(m) => m.clone(),
            Err(e) => return e,
        };
        if generation != m.epoch {
            return ErrorCode::IllegalGeneration;
        }
        let session = m.classic.as_ref().map_or(std::time::Duration::ZERO, |c| {
            super::ms_duration(c.session_timeout_ms)
        });
        self.sessions.insert(member_id.to_string(), now + session);
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let free = |t: &Uuid, p: &i32| self.owner(*t, *p).is_none();
        // Only once every partition it waits for is free (Kafka's rule): an eager member
        // gives up everything on each rejoin.
        let releasable = m.state == MemberState::UnreleasedPartitions
            && target.iter().all(|(t, ps)| {
                ps.iter()
                    .all(|p| m.assigned.get(t).is_some_and(|a| a.contains(p)) || free(t, p))
            });
        if m.epoch < self.epoch || m.state == MemberState::UnrevokedPartitions || releasable {
            ErrorCode::RebalanceInProgress
        } else {
            ErrorCode::None
        }
    }
}

/// Partitions by topic name, as the embedded consumer protocol lists them.
type ByTopic = Vec<(String, Vec<i32>)>;

/// Decodes a `ConsumerProtocolAssignment`: partitions by topic and the user data.
pub fn decode_assignment(bytes: &Bytes) -> Option<(ByTopic, Option<Bytes>)> {
    if bytes.is_empty() {
        return Some((Vec::new(), None));
    }
    let mut buf = bytes.clone();
    let version = i16::decode(&mut buf, plain(0)).ok()?;
    if version < 0 {
        return None;
    }
    let c = plain(version);
    let count = i32::decode(&mut buf, c).ok()?;
    let mut partitions = Vec::new();
    for _ in 0..count.max(0) {
        let topic = String::decode(&mut buf, c).ok()?;
        let ps = Vec::<i32>::decode(&mut buf, c).ok()?;
        partitions.push((topic, ps));
    }
    let user_data = Option::<Bytes>::decode(&mut buf, nullable(version)).ok()?;
    Some((partitions, user_data))
}

impl ConsumerGroup {
    /// A consumer-protocol group taking over a classic one (Kafka's `fromClassicGroup`):
    /// group and target epochs are the classic generation; every member keeps its last
    /// assignment, STABLE at that epoch, as a classic member. Refused (GROUP_ID_NOT_FOUND)
    /// when a subscription or assignment cannot be read, or carries custom assignor data,
    /// which the coordinator's assignors would lose.
    pub fn from_classic(
        group_id: &str,
        generation: i32,
        members: &[UpgradeMember],
        md: &ClusterMetadata,
        now: Instant,
    ) -> Result<(ConsumerGroup, Vec<ConsumerRecord>), ErrorCode> {
        let mut g = ConsumerGroup::new(group_id);
        let mut records = Vec::new();
        let mut converted = Vec::new();
        let mut claimed = std::collections::BTreeSet::new();
        for m in members {
            let subscription =
                Subscription::decode(&m.subscription).ok_or(ErrorCode::GroupIdNotFound)?;
            let (assigned, user_data) =
                decode_assignment(&m.assignment).ok_or(ErrorCode::GroupIdNotFound)?;
            if subscription
                .user_data
                .as_ref()
                .is_some_and(|u| !u.is_empty())
                || user_data.as_ref().is_some_and(|u| !u.is_empty())
            {
                return Err(ErrorCode::GroupIdNotFound);
            }
            let mut assignment = names_to_ids(&assigned, md);
            // One generation's assignments are disjoint; keep them so whatever happened.
            for (t, ps) in assignment.iter_mut() {
                ps.retain(|p| claimed.insert((*t, *p)));
            }
            assignment.retain(|_, ps| !ps.is_empty());
            let mut member = Member::new(&m.member_id);
            member.instance_id.clone_from(&m.group_instance_id);
            member.rack_id = subscription.rack.clone();
            member.client_id.clone_from(&m.client_id);
            member.client_host.clone_from(&m.client_host);
            member.subscribed_topic_names = subscription.topics.iter().cloned().collect();
            member.rebalance_timeout_ms = m.rebalance_timeout_ms;
            member.classic = Some(classic_metadata(m.session_timeout_ms, &m.protocols));
            member.epoch = generation;
            member.previous_epoch = generation;
            member.state = MemberState::Stable;
            member.assigned = assignment;
            converted.push((member, m.session_timeout_ms));
        }
        for (m, _) in &converted {
            g.emit(
                &mut records,
                ConsumerRecord::Member(m.member_id.clone(), Some(m.value())),
            );
        }
        let hash = g.compute_metadata_hash(md);
        g.emit(
            &mut records,
            ConsumerRecord::GroupEpoch(Some(super::GroupEpochValue {
                epoch: generation,
                metadata_hash: hash,
                ..Default::default()
            })),
        );
        for (m, _) in &converted {
            g.emit(&mut records, Self::target_record(&m.member_id, &m.assigned));
        }
        g.emit(&mut records, Self::target_epoch_record(generation));
        for (m, session) in &converted {
            g.emit(
                &mut records,
                ConsumerRecord::Current(m.member_id.clone(), Some(m.current_value())),
            );
            g.sessions
                .insert(m.member_id.clone(), now + super::ms_duration(*session));
        }
        Ok((g, records))
    }
}

impl ConsumerGroup {
    /// Whether every member left speaks the classic protocol: the group goes back to being
    /// a classic group (Kafka 4's online downgrade).
    pub fn only_classic_members(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(|m| m.classic.is_some())
    }

    /// The classic group this one becomes: Stable at the group epoch, every member with its
    /// target assignment, the protocol all of them support. `None` when they have none in
    /// common.
    pub fn to_classic(&self, md: &ClusterMetadata) -> Option<GroupMetadataValue> {
        let first = self.members.values().next()?;
        let protocol = first
            .classic
            .as_ref()?
            .supported_protocols
            .iter()
            .map(|p| p.name.clone())
            .find(|name| {
                self.members.values().all(|m| {
                    m.classic
                        .as_ref()
                        .is_some_and(|c| c.supported_protocols.iter().any(|p| &p.name == name))
                })
            })?;
        let members = self
            .members
            .values()
            .map(|m| {
                let classic = m.classic.as_ref();
                let subscription = classic
                    .and_then(|c| c.supported_protocols.iter().find(|p| p.name == protocol))
                    .map(|p| p.metadata.clone())
                    .unwrap_or_default();
                let version = Subscription::decode(&subscription).map_or(0, |s| s.version);
                let target = self.target.get(&m.member_id).cloned().unwrap_or_default();
                MemberMetadata {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: classic.map_or(45_000, |c| c.session_timeout_ms),
                    subscription,
                    assignment: encode_assignment(version, &ids_to_names(&target, md)),
                }
            })
            .collect();
        Some(GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: self.epoch,
            protocol: Some(protocol),
            leader: Some(first.member_id.clone()),
            current_state_timestamp: crate::partition::now_ms(),
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription_v1(topics: &[&str], owned: &[(&str, &[i32])]) -> Bytes {
        let c = plain(1);
        let mut b = BytesMut::new();
        b.put_i16(1);
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        topics.encode(&mut b, c).unwrap();
        b.put_i32(-1);
        b.put_i32(owned.len() as i32);
        for (t, ps) in owned {
            t.to_string().encode(&mut b, c).unwrap();
            ps.to_vec().encode(&mut b, c).unwrap();
        }
        b.freeze()
    }

    /// An online upgrade keeps the generation and every member's partitions; replaying its
    /// records gives the same group; going back gives each member its target.
    #[test]
    fn upgrade_and_downgrade_keep_generations_and_partitions() {
        let md = super::super::tests::metadata(4);
        let member = |id: &str, ps: &[i32]| UpgradeMember {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: vec![("range".into(), subscription_v1(&["foo"], &[]))],
            subscription: subscription_v1(&["foo"], &[]),
            assignment: encode_assignment(0, &[("foo".into(), ps.to_vec())]),
        };
        let (g, records) = ConsumerGroup::from_classic(
            "g",
            5,
            &[member("m1", &[0, 1]), member("m2", &[2, 3])],
            &md,
            Instant::now(),
        )
        .unwrap();
        assert_eq!((g.epoch(), g.target_epoch()), (5, 5));
        assert_eq!(g.members()["m1"].epoch, 5);
        assert_eq!(g.owner(super::super::tests::FOO, 3), Some("m2"));
        let mut replayed = ConsumerGroup::new("g");
        for r in &records {
            replayed.replay(r);
        }
        assert_eq!(replayed.members(), g.members());
        assert!(g.only_classic_members());
        let back = g.to_classic(&md).unwrap();
        assert_eq!(
            (back.generation, back.protocol.as_deref()),
            (5, Some("range"))
        );
        let m2 = back.members.iter().find(|m| m.member_id == "m2").unwrap();
        assert_eq!(
            decode_assignment(&m2.assignment).unwrap().0,
            [("foo".to_string(), vec![2, 3])]
        );
        // Custom assignor data cannot be carried over: no upgrade.
        let mut custom = member("m3", &[0]);
        custom.assignment = {
            let mut b = BytesMut::new();
            b.put_i16(0);
            b.put_i32(0);
            b.put_i32(1);
            b.put_u8(9);
            b.freeze()
        };
        assert!(ConsumerGroup::from_classic("g", 5, &[custom], &md, Instant::now()).is_err());
    }

    /// A static member's restart (a join without a member id) takes the place over; the
    /// old incarnation coming back with its id is fenced, not allowed to take it back.
    #[test]
    fn a_zombie_static_member_is_fenced() {
        let md = super::super::tests::metadata(4);
        let config = ConsumerConfig::default();
        let join = |id: &str, unknown: bool| ClassicJoin {
            member_id: id.into(),
            instance_id: Some("i".into()),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: vec![("range".into(), subscription_v1(&["foo"], &[]))],
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            unknown_member: unknown,
        };
        let mut g = ConsumerGroup::new("g");
        let now = Instant::now();
        let (_, first) = g
            .classic_join(&join("m1", true), &md, &config, now)
            .unwrap();
        assert!(first.generation > 0);
        g.classic_join(&join("m2", true), &md, &config, now)
            .unwrap();
        assert!(!g.members().contains_key("m1"));
        assert_eq!(g.static_member("i").as_deref(), Some("m2"));
        assert_eq!(
            g.classic_join(&join("m1", false), &md, &config, now).err(),
            Some(ErrorCode::FencedInstanceId)
        );
        assert_eq!(g.static_member("i").as_deref(), Some("m2"));
    }

    #[test]
    fn subscriptions_and_assignments_in_kafka_layout() {
        let s = Subscription::decode(&subscription_v1(&["a", "b"], &[("a", &[0, 2])])).unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(s.topics, ["a", "b"]);
        assert_eq!(s.owned, [("a".to_string(), vec![0, 2])]);
        assert_eq!(s.user_data, None);
        assert!(Subscription::decode(&Bytes::from_static(&[0, 0, 0, 0, 0, 9])).is_none());
        let a = encode_assignment(1, &[("a".into(), vec![1])]);
        assert_eq!(
            &a[..],
            &[0, 1, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 1, 255, 255, 255, 255]
        );
    }
}
