//! The consumer-protocol group state machine, without I/O: reconciliation order, epochs,
//! fencing, static members, and that replaying the records rebuilds the same group.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use super::heartbeat::validate;
use super::*;
use crate::config::TopicConfig;
use crate::controller::{PartitionMeta, TopicMeta};

pub(super) const FOO: Uuid = Uuid::from_u128(0xf00);

pub(super) fn metadata(partitions: i32) -> ClusterMetadata {
    let parts = (0..partitions)
        .map(|p| PartitionMeta {
            partition: p,
            leader: 1,
            leader_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
            partition_epoch: 0,
        })
        .collect();
    ClusterMetadata {
        cluster_id: "c".into(),
        controller_id: 1,
        brokers: BTreeMap::new(),
        topics: BTreeMap::from([(
            "foo".to_string(),
            TopicMeta {
                name: "foo".into(),
                topic_id: FOO,
                is_internal: false,
                config: TopicConfig::default(),
                partitions: parts,
            },
        )]),
        version: 1,
    }
}

fn parts(ps: &[i32]) -> Assignment {
    if ps.is_empty() {
        return Assignment::new();
    }
    Assignment::from([(FOO, ps.iter().copied().collect::<BTreeSet<i32>>())])
}

fn join(id: &str) -> HeartbeatArgs {
    HeartbeatArgs {
        api_version: 1,
        member_id: id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(vec!["foo".into()]),
        owned: Some(Assignment::new()),
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
        ..Default::default()
    }
}

fn beat(id: &str, epoch: i32, owned: Option<&[i32]>) -> HeartbeatArgs {
    HeartbeatArgs {
        api_version: 1,
        member_id: id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: owned.map(parts),
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
        ..Default::default()
    }
}

/// Runs a heartbeat, keeping its records.
struct Harness {
    group: ConsumerGroup,
    md: ClusterMetadata,
    config: ConsumerConfig,
    log: Vec<ConsumerRecord>,
    now: Instant,
}

impl Harness {
    fn new(partitions: i32) -> Self {
        Self {
            group: ConsumerGroup::new("g"),
            md: metadata(partitions),
            config: ConsumerConfig::default(),
            log: Vec::new(),
            now: Instant::now(),
        }
    }

    fn hb(&mut self, args: HeartbeatArgs) -> Result<HeartbeatAnswer, ErrorCode> {
        validate(&args, "g", &self.config).map_err(|e| e.0)?;
        let mut next = self.group.clone();
        let (records, answer) = next
            .heartbeat(&args, &self.md, &self.config, self.now)
            .map_err(|e| e.0)?;
        self.log.extend(records);
        self.group = next;
        self.check_exclusive();
        Ok(answer)
    }

    /// No partition is owned (assigned or pending revocation) by two members.
    fn check_exclusive(&self) {
        let mut seen = BTreeSet::new();
        for m in self.group.members().values() {
            for tp in m.owned_partitions() {
                assert!(
                    seen.insert(tp),
                    "{tp:?} owned twice: {:?}",
                    self.group.members()
                );
            }
        }
    }

    fn assigned(&self, id: &str) -> Assignment {
        self.group.members()[id].assigned.clone()
    }

    fn replayed(&self) -> ConsumerGroup {
        let mut g = ConsumerGroup::new("g");
        for r in &self.log {
            g.replay(r);
        }
        g
    }
}

/// Kafka's reconciliation example: a partition moves only after its owner revoked it, and
/// member epochs move only once revocations are acknowledged.
#[test]
fn partitions_are_revoked_before_they_are_assigned() {
    let mut h = Harness::new(6);
    let a = h.hb(join("a")).unwrap();
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.assignment, Some(parts(&[0, 1, 2, 3, 4, 5])));
    assert_eq!(h.group.state(), ConsumerGroupState::Stable);

    // b joins: the group epoch moves to 2 and half the partitions are b's target, but a
    // still owns them, so b gets nothing yet.
    let b = h.hb(join("b")).unwrap();
    assert_eq!((b.member_epoch, b.assignment), (2, Some(parts(&[]))));
    assert_eq!(h.group.epoch(), 2);
    assert_eq!(h.group.state(), ConsumerGroupState::Reconciling);
    assert_eq!(
        h.group.members()["b"].state,
        MemberState::UnreleasedPartitions
    );

    // a is told to keep 0-2: it stays at epoch 1 until it revoked 3-5.
    let a = h.hb(beat("a", 1, Some(&[0, 1, 2, 3, 4, 5]))).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (1, Some(parts(&[0, 1, 2]))));
    assert_eq!(
        h.group.members()["a"].state,
        MemberState::UnrevokedPartitions
    );
    let b = h.hb(beat("b", 2, Some(&[]))).unwrap();
    assert_eq!(
        (b.member_epoch, b.assignment),
        (2, None),
        "3-5 are not released yet"
    );
    // A heartbeat without owned partitions does not count as a revocation.
    assert_eq!(h.hb(beat("a", 1, None)).unwrap().member_epoch, 1);

    // a acknowledges: epoch 2, and b picks 3-5 up on its next heartbeat.
    let a = h.hb(beat("a", 1, Some(&[0, 1, 2]))).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (2, None));
    let b = h.hb(beat("b", 2, Some(&[]))).unwrap();
    assert_eq!((b.member_epoch, b.assignment), (2, Some(parts(&[3, 4, 5]))));
    assert_eq!(h.group.state(), ConsumerGroupState::Stable);

    // Replaying what was written gives the same group.
    let r = h.replayed();
    assert_eq!(r.members(), h.group.members());
    assert_eq!((r.epoch(), r.target_epoch()), (2, 2));
    assert_eq!(r.target_of("b"), Some(&parts(&[3, 4, 5])));
    assert_eq!(r.owner(FOO, 4), Some("b"));
}

#[test]
fn epochs_are_checked() {
    let mut h = Harness::new(2);
    h.hb(join("a")).unwrap();
    assert_eq!(
        h.hb(beat("a", 5, Some(&[0, 1]))),
        Err(ErrorCode::FencedMemberEpoch)
    );
    assert_eq!(h.hb(beat("x", 1, None)), Err(ErrorCode::UnknownMemberId));
    // b's join moves a's target: a at epoch 1 must revoke; a's lost answer is tolerated
    // at the previous epoch only with owned partitions it still has.
    h.hb(join("b")).unwrap();
    h.hb(beat("a", 1, Some(&[0, 1]))).unwrap();
    h.hb(beat("a", 1, Some(&[0]))).unwrap();
    assert_eq!(h.group.members()["a"].epoch, 2);
    assert_eq!(
        h.hb(beat("a", 1, Some(&[0]))).unwrap().member_epoch,
        2,
        "the previous epoch, owning a subset"
    );
    assert_eq!(
        h.hb(beat("a", 1, Some(&[1]))),
        Err(ErrorCode::FencedMemberEpoch)
    );
    assert_eq!(h.hb(beat("a", 1, None)), Err(ErrorCode::FencedMemberEpoch));
    // A fenced member rejoins with epoch 0 and gets its assignment again (KAFKA-19233).
    let again = h.hb(join("a")).unwrap();
    assert_eq!(again.member_epoch, 2);
    assert_eq!(again.assignment, Some(h.assigned("a")));
}

#[test]
fn leaving_and_expiring_members_free_their_partitions() {
    let mut h = Harness::new(4);
    h.hb(join("a")).unwrap();
    h.hb(join("b")).unwrap();
    h.hb(beat("a", 1, Some(&[0, 1, 2, 3]))).unwrap();
    h.hb(beat("a", 1, Some(&[0, 1]))).unwrap();
    h.hb(beat("b", 2, Some(&[]))).unwrap();
    assert_eq!(h.assigned("b"), parts(&[2, 3]));
    // b leaves: the epoch moves, and a's next heartbeat gets everything.
    let left = h.hb(beat("b", -1, None)).unwrap();
    assert_eq!(left.member_epoch, -1);
    assert_eq!(h.group.epoch(), 3);
    assert_eq!(h.group.state(), ConsumerGroupState::Assigning);
    let a = h.hb(beat("a", 2, Some(&[0, 1]))).unwrap();
    assert_eq!(
        (a.member_epoch, a.assignment),
        (3, Some(parts(&[0, 1, 2, 3])))
    );
    // a new member, then silence: a's session runs out and it is fenced.
    h.hb(join("c")).unwrap();
    let later = h.now + Duration::from_secs(46);
    let mut expired = h.group.expired(later);
    expired.sort();
    assert_eq!(
        expired.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        vec!["a", "c"]
    );
    let md = h.md.clone();
    let records = h.group.remove_members(&["a".into()], &md);
    h.log.extend(records);
    assert!(!h.group.members().contains_key("a"));
    assert_eq!(h.group.owner(FOO, 0), None);
    let c = h.hb(beat("c", 4, Some(&[]))).unwrap();
    assert_eq!(c.assignment, Some(parts(&[0, 1, 2, 3])));
    assert_eq!(h.replayed().members(), h.group.members());
}

#[test]
fn a_static_member_comes_back_to_its_partitions() {
    let mut h = Harness::new(4);
    let mut s1 = join("s1");
    s1.instance_id = Some("i".into());
    h.hb(s1.clone()).unwrap();
    h.hb(join("d")).unwrap();
    let mut ack = beat("s1", 1, Some(&[0, 1, 2, 3]));
    ack.instance_id = Some("i".into());
    h.hb(ack).unwrap();
    let mut ack = beat("s1", 1, Some(&[0, 1]));
    ack.instance_id = Some("i".into());
    h.hb(ack).unwrap();
    let before = h.assigned("s1");
    let epoch = h.group.epoch();
    // Rejoining under another member id while the old one is active is refused.
    let mut s2 = join("s2");
    s2.instance_id = Some("i".into());
    assert_eq!(h.hb(s2.clone()), Err(ErrorCode::UnreleasedInstanceId));
    // Leaving for a while (-2) keeps the partitions; the new id takes them over without a
    // rebalance.
    let mut away = beat("s1", -2, None);
    away.instance_id = Some("i".into());
    assert_eq!(h.hb(away).unwrap().member_epoch, -2);
    assert_eq!(h.group.owner(FOO, 0), Some("s1"));
    let back = h.hb(s2).unwrap();
    assert_eq!(back.assignment, Some(before));
    assert_eq!(h.group.epoch(), epoch, "no rebalance");
    assert!(!h.group.members().contains_key("s1"));
    let mut stale = beat("s1", 2, None);
    stale.instance_id = Some("i".into());
    assert_eq!(h.hb(stale), Err(ErrorCode::FencedInstanceId));
    assert_eq!(h.replayed().members(), h.group.members());
}

#[test]
fn requests_are_validated() {
    let config = ConsumerConfig::default();
    let code = |args: HeartbeatArgs| validate(&args, "g", &config).err().map(|e| e.0);
    assert_eq!(code(join("a")), None);
    assert_eq!(
        code(join("")),
        Some(ErrorCode::InvalidRequest),
        "v1 needs a member id"
    );
    let mut no_timeout = join("a");
    no_timeout.rebalance_timeout_ms = -1;
    assert_eq!(code(no_timeout), Some(ErrorCode::InvalidRequest));
    let mut owning = join("a");
    owning.owned = Some(parts(&[0]));
    assert_eq!(code(owning), Some(ErrorCode::InvalidRequest));
    let mut nothing = join("a");
    nothing.subscribed_topic_names = None;
    assert_eq!(code(nothing), Some(ErrorCode::InvalidRequest));
    assert_eq!(
        code(beat("a", -2, None)),
        Some(ErrorCode::InvalidRequest),
        "static leave needs an instance id"
    );
    assert_eq!(code(beat("a", -3, None)), Some(ErrorCode::InvalidRequest));
    let mut assignor = join("a");
    assignor.server_assignor = Some("sticky".into());
    assert_eq!(code(assignor), Some(ErrorCode::UnsupportedAssignor));
    assert_eq!(
        validate(&join("a"), " ", &config).err().map(|e| e.0),
        Some(ErrorCode::InvalidRequest)
    );
}

#[test]
fn regular_expressions_follow_new_topics() {
    let mut h = Harness::new(2);
    let mut a = join("a");
    a.subscribed_topic_names = None;
    a.subscribed_topic_regex = Some("fo.*".into());
    let first = h.hb(a).unwrap();
    assert_eq!(first.assignment, Some(parts(&[0, 1])));
    // A topic created later that matches is assigned at the next heartbeat.
    let bar = Uuid::from_u128(0xba);
    let mut md = h.md.clone();
    let mut t = md.topics["foo"].clone();
    t.name = "fox".into();
    t.topic_id = bar;
    md.topics.insert("fox".into(), t);
    md.version = 2;
    h.md = md;
    let next = h.hb(beat("a", 1, Some(&[0, 1]))).unwrap();
    let got = next.assignment.unwrap();
    assert_eq!(got.get(&bar).map(BTreeSet::len), Some(2), "{got:?}");
    let mut bad = join("b");
    bad.subscribed_topic_names = None;
    bad.subscribed_topic_regex = Some("(".into());
    assert_eq!(h.hb(bad), Err(ErrorCode::InvalidRegularExpression));
}

/// Compaction keeps only the last record per key, so a member's current assignment may come
/// before its (rewritten) metadata record: the load must still see what it owns.
#[test]
fn a_compacted_log_replays_to_the_same_owners() {
    let mut h = Harness::new(4);
    h.hb(join("a")).unwrap();
    h.hb(join("b")).unwrap();
    h.hb(beat("a", 1, None)).unwrap();
    assert_eq!(
        h.group.members()["a"].state,
        MemberState::UnrevokedPartitions
    );
    // a's metadata changes (a new client id) after its last current-assignment record.
    let mut again = beat("a", 1, None);
    again.client_id = "renamed".into();
    h.hb(again).unwrap();
    // Keep the last record per key, in the order of those last records.
    let mut last: Vec<(Vec<u8>, ConsumerRecord)> = Vec::new();
    for r in &h.log {
        let key = r.encode("g").unwrap().0.to_vec();
        last.retain(|(k, _)| *k != key);
        last.push((key, r.clone()));
    }
    let position = |kind: &str| {
        last.iter()
            .position(|(_, r)| match (kind, r) {
                ("current", ConsumerRecord::Current(m, _))
                | ("member", ConsumerRecord::Member(m, _)) => m == "a",
                _ => false,
            })
            .unwrap()
    };
    assert!(
        position("current") < position("member"),
        "the case under test"
    );
    let mut g = ConsumerGroup::new("g");
    for (_, r) in &last {
        g.replay(r);
    }
    assert_eq!(g.members(), h.group.members());
    for p in 0..4 {
        assert_eq!(g.owner(FOO, p), h.group.owner(FOO, p), "partition {p}");
    }
}

/// A partition count change (CreatePartitions) moves the group epoch at the next heartbeat,
/// and the new partitions are assigned.
#[test]
fn new_partitions_are_assigned() {
    let mut h = Harness::new(2);
    h.hb(join("a")).unwrap();
    let epoch = h.group.epoch();
    h.md = metadata(4);
    let a = h.hb(beat("a", 1, Some(&[0, 1]))).unwrap();
    assert_eq!(h.group.epoch(), epoch + 1);
    assert_eq!(a.assignment, Some(parts(&[0, 1, 2, 3])));
}

/// A small deterministic generator for the randomized schedule below.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// What a simulated client believes.
#[derive(Debug, Clone, Default)]
struct Client {
    joined: bool,
    epoch: i32,
    owned: BTreeSet<i32>,
    /// An answer was lost: the next heartbeat is a full one, as clients send after a
    /// timeout (so the answer carries the whole assignment again).
    full: bool,
}

impl Client {
    /// Takes the answer to its join: in the group, at that epoch, owning what it assigns.
    fn joined_with(&mut self, answer: HeartbeatAnswer) {
        self.joined = true;
        self.epoch = answer.member_epoch;
        self.owned = answer
            .assignment
            .and_then(|a| a.get(&FOO).cloned())
            .unwrap_or_default();
    }
}

/// A full heartbeat: every field set.
fn full_beat(id: &str, epoch: i32, owned: &[i32]) -> HeartbeatArgs {
    let mut args = beat(id, epoch, Some(owned));
    args.rebalance_timeout_ms = 30_000;
    args.subscribed_topic_names = Some(vec!["foo".into()]);
    args
}

/// Seeded random schedules of joins, heartbeats (with and without owned partitions, some
/// answers lost), leaves, session expiries, partitions added and static leaves, checked
/// after every step: no partition is owned by two members, no live member owns what the
/// coordinator does not count as its, and replaying the records gives the same group. At
/// the end, with faults stopped, the group converges: every partition owned, Stable.
#[test]
fn random_schedules_keep_ownership_exclusive_and_replayable() {
    // 40 seeds in CI; `STREAMCTL_KIP848_SEEDS=N` runs N (a longer hunt).
    let seeds: u64 = std::env::var("STREAMCTL_KIP848_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    for seed in 0..seeds {
        let mut rng = Lcg(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut h = Harness::new(6);
        h.config.session_timeout = Duration::from_secs(10);
        let ids = ["m0", "m1", "m2", "m3", "m4"];
        let mut clients: Vec<Client> = vec![Client::default(); ids.len()];
        for step in 0..300 {
            let i = rng.below(ids.len() as u64) as usize;
            let id = ids[i];
            let action = rng.below(100);
            let ctx = format!("seed {seed} step {step} {id} action {action}");
            if !clients[i].joined {
                if action < 40 {
                    let answer = h
                        .hb(join(id))
                        .unwrap_or_else(|e| panic!("{ctx}: join {e:?}"));
                    clients[i].joined_with(answer);
                }
            } else if action < 60 {
                // A heartbeat; sometimes without owned partitions, sometimes its answer lost.
                let c = clients[i].clone();
                let owned: Vec<i32> = c.owned.iter().copied().collect();
                let report = rng.below(4) != 0;
                let lost = rng.below(8) == 0;
                let args = if c.full {
                    full_beat(id, c.epoch, &owned)
                } else {
                    beat(id, c.epoch, report.then_some(&owned[..]))
                };
                let result = h.hb(args);
                match result {
                    Ok(_) if lost => clients[i].full = true,
                    Ok(answer) => {
                        let c = &mut clients[i];
                        c.epoch = answer.member_epoch;
                        c.full = false;
                        if let Some(a) = answer.assignment {
                            c.owned = a.get(&FOO).cloned().unwrap_or_default();
                        }
                    }
                    Err(ErrorCode::FencedMemberEpoch | ErrorCode::UnknownMemberId) => {
                        clients[i] = Client::default();
                    }
                    Err(e) => panic!("{ctx}: {e:?}"),
                }
            } else if action < 66 {
                let _ = h.hb(beat(id, -1, None));
                clients[i] = Client::default();
            } else if action < 72 {
                // Time passes: members that did not heartbeat lately are fenced.
                h.now += Duration::from_secs(rng.below(12));
                let expired: Vec<String> =
                    h.group.expired(h.now).into_iter().map(|(m, _)| m).collect();
                let md = h.md.clone();
                let records = h.group.remove_members(&expired, &md);
                h.log.extend(records);
            } else if action < 74 && h.md.topics["foo"].partitions.len() < 12 {
                let n = h.md.topics["foo"].partitions.len() as i32 + 2;
                h.md = metadata(n);
                h.md.version = 2 + step as u64;
            }
            h.check_exclusive();
            for (k, c) in clients.iter().enumerate() {
                let Some(m) = h.group.members().get(ids[k]) else {
                    continue;
                };
                if !c.joined {
                    continue;
                }
                let counted: BTreeSet<i32> = m
                    .assigned
                    .get(&FOO)
                    .into_iter()
                    .chain(m.pending_revocation.get(&FOO))
                    .flatten()
                    .copied()
                    .collect();
                assert!(
                    c.owned.is_subset(&counted),
                    "{ctx}: {} owns {:?}, the coordinator counts {counted:?}",
                    ids[k],
                    c.owned
                );
            }
            let replayed = h.replayed();
            assert_eq!(replayed.members(), h.group.members(), "{ctx}");
            assert_eq!(
                (replayed.epoch(), replayed.target_epoch()),
                (h.group.epoch(), h.group.target_epoch()),
                "{ctx}"
            );
        }
        // Faults stop; every client (re)joins and heartbeats until the group is stable.
        for (k, c) in clients.iter_mut().enumerate() {
            if !c.joined {
                c.joined_with(h.hb(join(ids[k])).unwrap());
            }
        }
        for _ in 0..20 {
            for (k, c) in clients.iter_mut().enumerate() {
                if !c.joined {
                    continue;
                }
                let owned: Vec<i32> = c.owned.iter().copied().collect();
                let args = if c.full {
                    full_beat(ids[k], c.epoch, &owned)
                } else {
                    beat(ids[k], c.epoch, Some(&owned))
                };
                match h.hb(args) {
                    Ok(answer) => {
                        c.epoch = answer.member_epoch;
                        c.full = false;
                        if let Some(a) = answer.assignment {
                            c.owned = a.get(&FOO).cloned().unwrap_or_default();
                        }
                    }
                    Err(_) => {
                        // Fenced (an answer was lost): rejoin, as a client does.
                        let answer = h.hb(join(ids[k])).unwrap();
                        c.epoch = answer.member_epoch;
                        c.owned = answer
                            .assignment
                            .and_then(|a| a.get(&FOO).cloned())
                            .unwrap_or_default();
                    }
                }
            }
        }
        let n = h.md.topics["foo"].partitions.len();
        assert_eq!(
            h.group.state(),
            ConsumerGroupState::Stable,
            "seed {seed}: {:#?}\nclients {clients:?}\ntarget epoch {} epoch {}",
            h.group.members(),
            h.group.target_epoch(),
            h.group.epoch()
        );
        let owned: usize = clients.iter().map(|c| c.owned.len()).sum();
        assert_eq!(owned, n, "seed {seed}: every partition owned once");
    }
}
