//! Partition assignors and the consumer protocol's subscription/assignment bytes.
//!
//! The group leader decodes every member's `ConsumerProtocolSubscription` (from JoinGroup),
//! runs the selected assignor, and sends each member a `ConsumerProtocolAssignment` (in
//! SyncGroup). The byte layouts are Kafka's (`ConsumerProtocolSubscription.json` v0–v3,
//! `ConsumerProtocolAssignment.json` v0–v3, non-flexible), so Java and librdkafka members
//! read ours and we read theirs; a newer version is read by the fields we know, as Kafka does.
//!
//! ```text
//!  range               per topic: members sorted, partitions split in contiguous runs
//!  roundrobin          all partitions sorted, dealt to subscribed members in turn
//!  cooperative-sticky  keeps what members own, balances the rest (KIP-429): a partition
//!                      moving between members is first only revoked, and assigned in the
//!                      follow-up rebalance once its old owner gave it up
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{BufMut, Bytes, BytesMut};

use super::TopicPartition;
use crate::error::{Error, Result};

/// One member's subscription as the leader sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSubscription {
    /// The member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// The topics it subscribes to.
    pub topics: Vec<String>,
    /// The partitions it owns now (cooperative members report them; v1+).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation its owned partitions are from (v2+; -1 unknown).
    pub generation_id: i32,
    /// The assignor's user data.
    pub user_data: Option<Bytes>,
}

impl MemberSubscription {
    /// The key members are ordered by: the static id when there is one (stable across
    /// restarts), else the member id — as Kafka's assignors sort.
    fn sort_key(&self) -> (&str, &str) {
        (
            self.group_instance_id.as_deref().unwrap_or(&self.member_id),
            &self.member_id,
        )
    }
}

/// A partition assignment strategy (`partition.assignment.strategy`).
pub trait Assignor: Send + Sync + std::fmt::Debug {
    /// The protocol name in JoinGroup (`range`, `roundrobin`, `cooperative-sticky`).
    fn name(&self) -> &'static str;

    /// Whether it supports incremental cooperative rebalancing (KIP-429).
    fn cooperative(&self) -> bool {
        false
    }

    /// Assigns the partitions of the topics (`topic → partition count`) to the members;
    /// returns every member's partitions (possibly none).
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<TopicPartition>>;
}

fn sorted_members(members: &[MemberSubscription]) -> Vec<&MemberSubscription> {
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    sorted
}

fn empty_assignment(members: &[MemberSubscription]) -> BTreeMap<String, Vec<TopicPartition>> {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect()
}

/// Kafka's `range` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl Assignor for RangeAssignor {
    fn name(&self) -> &'static str {
        "range"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out = empty_assignment(members);
        let sorted = sorted_members(members);
        for (topic, &count) in partitions_per_topic {
            let subscribed: Vec<&&MemberSubscription> = sorted
                .iter()
                .filter(|m| m.topics.iter().any(|t| t == topic))
                .collect();
            if subscribed.is_empty() || count <= 0 {
                continue;
            }
            let n = subscribed.len() as i32;
            let per = count / n;
            let extra = count % n;
            for (i, m) in subscribed.iter().enumerate() {
                let i = i as i32;
                let start = per * i + i.min(extra);
                let len = per + i32::from(i < extra);
                if let Some(list) = out.get_mut(&m.member_id) {
                    list.extend(
                        (start..start + len).map(|p| TopicPartition::new(topic.clone(), p)),
                    );
                }
            }
        }
        out
    }
}

/// Kafka's `roundrobin` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl Assignor for RoundRobinAssignor {
    fn name(&self) -> &'static str {
        "roundrobin"
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out = empty_assignment(members);
        let sorted = sorted_members(members);
        if sorted.is_empty() {
            return out;
        }
        let mut next = 0usize;
        for (topic, &count) in partitions_per_topic {
            for p in 0..count.max(0) {
                // The next member (in circular order) subscribed to the topic.
                for step in 0..sorted.len() {
                    let i = (next + step) % sorted.len();
                    let Some(m) = sorted.get(i) else { continue };
                    if m.topics.iter().any(|t| t == topic) {
                        if let Some(list) = out.get_mut(&m.member_id) {
                            list.push(TopicPartition::new(topic.clone(), p));
                        }
                        next = i + 1;
                        break;
                    }
                }
            }
        }
        out
    }
}

/// Kafka's `cooperative-sticky` assignor: sticky, balanced, and cooperative (KIP-429).
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &'static str {
        "cooperative-sticky"
    }

    fn cooperative(&self) -> bool {
        true
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let target = sticky_assign(partitions_per_topic, members);
        // Cooperative: a partition that another member still owns is not handed over in this
        // round; its owner revokes it (it is missing from the owner's new assignment too) and
        // rejoins, and the next round assigns it.
        let mut owner: HashMap<&TopicPartition, &str> = HashMap::new();
        for m in members {
            for tp in &m.owned_partitions {
                owner.entry(tp).or_insert(m.member_id.as_str());
            }
        }
        target
            .iter()
            .map(|(member, tps)| {
                let kept = tps
                    .iter()
                    .filter(|tp| owner.get(tp).is_none_or(|o| *o == member.as_str()))
                    .cloned()
                    .collect();
                (member.clone(), kept)
            })
            .collect()
    }
}

/// The balanced, sticky target assignment (before the cooperative hold-back).
fn sticky_assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out: BTreeMap<String, BTreeSet<TopicPartition>> = members
        .iter()
        .map(|m| (m.member_id.clone(), BTreeSet::new()))
        .collect();
    let subscribes = |m: &MemberSubscription, topic: &str| m.topics.iter().any(|t| t == topic);
    let exists = |tp: &TopicPartition| {
        partitions_per_topic
            .get(&tp.topic)
            .is_some_and(|&n| tp.partition >= 0 && tp.partition < n)
    };
    let all: Vec<TopicPartition> = partitions_per_topic
        .iter()
        .flat_map(|(t, &n)| (0..n.max(0)).map(move |p| TopicPartition::new(t.clone(), p)))
        .filter(|tp| members.iter().any(|m| subscribes(m, &tp.topic)))
        .collect();
    let total = all.len();
    let n = members.len().max(1);
    let max_quota = total.div_ceil(n);
    // 1. Keep valid owned partitions (first claim by the highest generation wins), up to the
    //    quota.
    let mut claimed: HashMap<TopicPartition, (i32, String)> = HashMap::new();
    for m in sorted_members(members) {
        for tp in &m.owned_partitions {
            if !exists(tp) || !subscribes(m, &tp.topic) {
                continue;
            }
            match claimed.get(tp) {
                Some((generation, _)) if *generation >= m.generation_id => {}
                _ => {
                    claimed.insert(tp.clone(), (m.generation_id, m.member_id.clone()));
                }
            }
        }
    }
    let mut sorted_claims: Vec<(&TopicPartition, &(i32, String))> = claimed.iter().collect();
    sorted_claims.sort();
    for (tp, (_, member)) in sorted_claims {
        if let Some(set) = out.get_mut(member) {
            if set.len() < max_quota {
                set.insert(tp.clone());
            }
        }
    }
    // 2. Hand out the rest, each to the least loaded member that subscribes to its topic.
    let assigned: BTreeSet<TopicPartition> = out.values().flatten().cloned().collect();
    for tp in all.iter().filter(|tp| !assigned.contains(*tp)) {
        let best = sorted_members(members)
            .into_iter()
            .filter(|m| subscribes(m, &tp.topic))
            .min_by_key(|m| out.get(&m.member_id).map_or(usize::MAX, BTreeSet::len))
            .map(|m| m.member_id.clone());
        if let Some(best) = best {
            if let Some(set) = out.get_mut(&best) {
                set.insert(tp.clone());
            }
        }
    }
    // 3. Balance: move partitions from the most to the least loaded member while they differ
    //    by more than one (and the receiver subscribes to the partition's topic).
    for _ in 0..total {
        let loads: Vec<(String, usize)> = out.iter().map(|(m, s)| (m.clone(), s.len())).collect();
        let Some((max_m, max_l)) = loads.iter().max_by_key(|(_, l)| *l).cloned() else {
            break;
        };
        let Some((min_m, min_l)) = loads.iter().min_by_key(|(_, l)| *l).cloned() else {
            break;
        };
        if max_l <= min_l + 1 {
            break;
        }
        let Some(receiver) = members.iter().find(|m| m.member_id == min_m) else {
            break;
        };
        let movable = out.get(&max_m).and_then(|s| {
            s.iter()
                .rev()
                .find(|tp| subscribes(receiver, &tp.topic))
                .cloned()
        });
        let Some(tp) = movable else { break };
        if let Some(s) = out.get_mut(&max_m) {
            s.remove(&tp);
        }
        if let Some(s) = out.get_mut(&min_m) {
            s.insert(tp);
        }
    }
    out.into_iter()
        .map(|(m, s)| (m, s.into_iter().collect()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Consumer protocol bytes
// ---------------------------------------------------------------------------------------------

/// The version of `ConsumerProtocolSubscription` we write: v1 adds owned partitions, which
/// cooperative rebalancing needs, and is read by every client since Kafka 2.4.
const SUBSCRIPTION_VERSION: i16 = 1;
/// The version of `ConsumerProtocolAssignment` we write.
const ASSIGNMENT_VERSION: i16 = 1;

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(i16::try_from(s.len()).unwrap_or(i16::MAX));
    buf.put_slice(
        s.as_bytes()
            .get(..s.len().min(i16::MAX as usize))
            .unwrap_or_default(),
    );
}

fn put_partitions(buf: &mut BytesMut, partitions: &[TopicPartition]) {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    buf.put_i32(by_topic.len() as i32);
    for (topic, ps) in by_topic {
        put_string(buf, topic);
        buf.put_i32(ps.len() as i32);
        for p in ps {
            buf.put_i32(p);
        }
    }
}

/// Encodes our subscription (topics and owned partitions).
pub fn encode_subscription(topics: &[String], owned: &[TopicPartition]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(SUBSCRIPTION_VERSION);
    buf.put_i32(topics.len() as i32);
    for t in topics {
        put_string(&mut buf, t);
    }
    buf.put_i32(-1); // user data: null
    put_partitions(&mut buf, owned);
    buf.freeze()
}

/// Encodes an assignment.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(ASSIGNMENT_VERSION);
    put_partitions(&mut buf, partitions);
    buf.put_i32(-1); // user data: null
    buf.freeze()
}

/// A bounds-checked reader over protocol bytes.
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(Error::InvalidResponse(format!("truncated {}", self.what)));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }
    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(i32::from_be_bytes(a))
    }
    fn string(&mut self) -> Result<String> {
        let len = self.i16()?;
        let len = usize::try_from(len).map_err(|_| {
            Error::InvalidResponse(format!("negative string length in {}", self.what))
        })?;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }
    fn nullable_string(&mut self) -> Result<Option<String>> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(self.take(len as usize)?).into_owned(),
        ))
    }
    fn nullable_bytes(&mut self) -> Result<Option<Bytes>> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(Bytes::copy_from_slice(self.take(len as usize)?)))
    }
    /// An array length, checked against the bytes left (each element takes `min_size`).
    fn array_len(&mut self, min_size: usize) -> Result<usize> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(0);
        }
        let n = n as usize;
        if n > self.buf.len() / min_size.max(1) {
            return Err(Error::InvalidResponse(format!(
                "array too long in {}",
                self.what
            )));
        }
        Ok(n)
    }
    fn partitions(&mut self) -> Result<Vec<TopicPartition>> {
        let mut out = Vec::new();
        for _ in 0..self.array_len(6)? {
            let topic = self.string()?;
            for _ in 0..self.array_len(4)? {
                out.push(TopicPartition::new(topic.clone(), self.i32()?));
            }
        }
        Ok(out)
    }
}

/// Decodes a member's subscription (any version; unknown trailing fields are ignored).
pub fn decode_subscription(
    member_id: &str,
    group_instance_id: Option<String>,
    bytes: &[u8],
) -> Result<MemberSubscription> {
    let mut r = Reader {
        buf: bytes,
        what: "consumer protocol subscription",
    };
    let version = r.i16()?;
    let mut topics = Vec::new();
    for _ in 0..r.array_len(2)? {
        topics.push(r.string()?);
    }
    let user_data = r.nullable_bytes()?;
    let mut owned = Vec::new();
    let mut generation_id = -1;
    if version >= 1 && !r.buf.is_empty() {
        owned = r.partitions()?;
    }
    if version >= 2 && r.buf.len() >= 4 {
        generation_id = r.i32()?;
    }
    if version >= 3 && !r.buf.is_empty() {
        let _rack = r.nullable_string()?;
    }
    Ok(MemberSubscription {
        member_id: member_id.to_string(),
        group_instance_id,
        topics,
        owned_partitions: owned,
        generation_id,
        user_data,
    })
}

/// Decodes an assignment (empty bytes: nothing assigned).
pub fn decode_assignment(bytes: &[u8]) -> Result<Vec<TopicPartition>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader {
        buf: bytes,
        what: "consumer protocol assignment",
    };
    let _version = r.i16()?;
    r.partitions()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, i32)]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: owned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
            ..Default::default()
        }
    }

    fn counts(t: &[(&str, i32)]) -> BTreeMap<String, i32> {
        t.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn parts(a: &BTreeMap<String, Vec<TopicPartition>>, m: &str) -> Vec<i32> {
        a[m].iter().map(|tp| tp.partition).collect()
    }

    #[test]
    fn range_splits_contiguously_with_the_extra_first() {
        let a = RangeAssignor.assign(
            &counts(&[("t", 7)]),
            &[
                member("b", &["t"], &[]),
                member("a", &["t"], &[]),
                member("c", &["u"], &[]),
            ],
        );
        assert_eq!(parts(&a, "a"), [0, 1, 2, 3]);
        assert_eq!(parts(&a, "b"), [4, 5, 6]);
        assert!(a["c"].is_empty());
    }

    #[test]
    fn roundrobin_deals_in_turn() {
        let a = RoundRobinAssignor.assign(
            &counts(&[("t", 5)]),
            &[member("a", &["t"], &[]), member("b", &["t"], &[])],
        );
        assert_eq!(parts(&a, "a"), [0, 2, 4]);
        assert_eq!(parts(&a, "b"), [1, 3]);
    }

    #[test]
    fn cooperative_sticky_keeps_owned_and_holds_back_moves() {
        // Three members owned 2 each of 6; c leaves: a and b keep theirs, c's are spread.
        let a = CooperativeStickyAssignor.assign(
            &counts(&[("t", 6)]),
            &[
                member("a", &["t"], &[("t", 0), ("t", 1)]),
                member("b", &["t"], &[("t", 2), ("t", 3)]),
            ],
        );
        assert_eq!(a["a"].len() + a["b"].len(), 6);
        assert!(parts(&a, "a").starts_with(&[0, 1]));
        assert!(parts(&a, "b").starts_with(&[2, 3]));
        // A newcomer: a owns everything; in the first round nothing moves to b yet (a must
        // revoke first), but a's assignment drops what b will get.
        let first = CooperativeStickyAssignor.assign(
            &counts(&[("t", 4)]),
            &[
                member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2), ("t", 3)]),
                member("b", &["t"], &[]),
            ],
        );
        assert_eq!(first["a"].len(), 2);
        assert!(first["b"].is_empty());
        let kept: Vec<(&str, i32)> = first["a"]
            .iter()
            .map(|tp| (tp.topic.as_str(), tp.partition))
            .collect();
        let second = CooperativeStickyAssignor.assign(
            &counts(&[("t", 4)]),
            &[member("a", &["t"], &kept), member("b", &["t"], &[])],
        );
        assert_eq!(second["a"], first["a"]);
        assert_eq!(second["b"].len(), 2);
    }

    #[test]
    fn protocol_bytes_round_trip_and_reject_garbage() {
        let owned = vec![TopicPartition::new("t", 1), TopicPartition::new("t", 4)];
        let bytes = encode_subscription(&["t".into(), "u".into()], &owned);
        let s = decode_subscription("m", None, &bytes).unwrap();
        assert_eq!(s.topics, ["t", "u"]);
        assert_eq!(s.owned_partitions, owned);
        let a = encode_assignment(&owned);
        assert_eq!(decode_assignment(&a).unwrap(), owned);
        assert!(decode_assignment(&[]).unwrap().is_empty());
        assert!(decode_subscription("m", None, &[0, 1, 0x7f, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_assignment(&a[..a.len() - 7]).is_err());
        // A v0 subscription as old clients send it: topics and user data only.
        let v0 = [0u8, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode_subscription("m", None, &v0).unwrap().topics, ["t"]);
    }
}
