//! Consumer groups against an in-process cluster: the group APIs over the raw protocol
//! (coordinator discovery, rebalances, session expiry, offsets that survive the coordinator's
//! death, the admin APIs) and third-party clients in groups (kcat, confluent-kafka,
//! kafka-python). Raw-protocol tests use 127.0.0.1 only and are bounded by [`LIMIT`]; waits
//! are on responses and metadata, the only timed wait being a session timeout where expiry is
//! what is tested.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_devcluster::coordinator::records::{partition_for, OFFSETS_TOPIC};
use streamctl_devcluster::DevCluster;
use streamctl_protocol::messages::join_group::JoinGroupRequestProtocol;
use streamctl_protocol::messages::leave_group::LeaveGroupRequestMember;
use streamctl_protocol::messages::offset_commit::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use streamctl_protocol::messages::offset_delete::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use streamctl_protocol::messages::offset_fetch::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use streamctl_protocol::messages::sync_group::SyncGroupRequestAssignment;
use streamctl_protocol::messages::*;
use streamctl_protocol::ErrorCode;
use streamctl_testkit::{cluster, cluster_with, kcat, python, TempDir, TOOL_TIMEOUT};
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

use crate::support;
use crate::support::{interop_script, run_python, script_summary, wait_partition, STEP};

/// Upper bound on any one raw-protocol test.
const LIMIT: Duration = Duration::from_secs(120);

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out");
}

// ---------------------------------------------------------------------------------------------
// A typed raw client
// ---------------------------------------------------------------------------------------------

use crate::support::request as call;

fn code(e: ErrorCode) -> i16 {
    e.code()
}

fn err(c: i16) -> ErrorCode {
    ErrorCode::from_code(c)
}

/// Kafka's ConsumerProtocolSubscription v0 for `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1);
    b.freeze()
}

/// The coordinator of `group` (node id, address), asking broker 1 (creates
/// `__consumer_offsets` on first use) and retrying while it is not available.
async fn coordinator(c: &DevCluster, group: &str) -> (i32, SocketAddr) {
    let deadline = Instant::now() + STEP;
    loop {
        let ask = c
            .brokers()
            .into_iter()
            .find(|b| b.is_running())
            .unwrap()
            .addrs()[0];
        let req = FindCoordinatorRequest {
            key: group.into(),
            key_type: 0,
            ..Default::default()
        };
        let r = call(ask, req, 3).await;
        if r.error_code == 0 {
            // Found; answer only once it has loaded its partition of __consumer_offsets
            // (until then it says COORDINATOR_LOAD_IN_PROGRESS, which clients retry).
            let addr = support::addr(c, r.node_id);
            if fetch_all(addr, group).await != Err(ErrorCode::CoordinatorLoadInProgress) {
                return (r.node_id, addr);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no coordinator for {group}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A raw group member.
#[derive(Debug, Clone)]
struct Member {
    addr: SocketAddr,
    group: String,
    id: String,
    generation: i32,
    session_ms: i32,
    topics: Vec<String>,
}

impl Member {
    fn new(addr: SocketAddr, group: &str, session_ms: i32, topics: &[&str]) -> Self {
        Self {
            addr,
            group: group.into(),
            id: String::new(),
            generation: -1,
            session_ms,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn join_request(&self) -> JoinGroupRequest {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        JoinGroupRequest {
            group_id: self.group.clone(),
            session_timeout_ms: self.session_ms,
            rebalance_timeout_ms: 10_000,
            member_id: self.id.clone(),
            protocol_type: "consumer".into(),
            protocols: vec![JoinGroupRequestProtocol {
                name: "range".into(),
                metadata: subscription(&topics),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// JoinGroup v9 until answered: a first join does the MEMBER_ID_REQUIRED round trip;
    /// coordinator errors that clients retry are retried. Returns the (parked) answer.
    async fn join(&mut self) -> JoinGroupResponse {
        let deadline = Instant::now() + STEP;
        loop {
            let r = call(self.addr, self.join_request(), 9).await;
            match err(r.error_code) {
                ErrorCode::None => {
                    self.id = r.member_id.clone();
                    self.generation = r.generation_id;
                    return r;
                }
                ErrorCode::MemberIdRequired => self.id = r.member_id.clone(),
                ErrorCode::CoordinatorLoadInProgress if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("join of {} failed: {other} {r:?}", self.group),
            }
        }
    }

    /// SyncGroup v5; the leader assigns each member its own id as bytes.
    async fn sync(&self, joined: &JoinGroupResponse) -> SyncGroupResponse {
        let assignments = joined
            .members
            .iter()
            .map(|m| SyncGroupRequestAssignment {
                member_id: m.member_id.clone(),
                assignment: Bytes::from(format!("assigned:{}", m.member_id)),
                ..Default::default()
            })
            .collect();
        let req = SyncGroupRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.id.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: Some("range".into()),
            assignments,
            ..Default::default()
        };
        call(self.addr, req, 5).await
    }

    async fn heartbeat(&self) -> ErrorCode {
        let req = HeartbeatRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.id.clone(),
            ..Default::default()
        };
        err(call(self.addr, req, 4).await.error_code)
    }

    /// Join then sync; panics unless the sync hands back this member's assignment.
    async fn join_and_sync(&mut self) -> (JoinGroupResponse, SyncGroupResponse) {
        let joined = self.join().await;
        let synced = self.sync(&joined).await;
        assert_eq!(
            err(synced.error_code),
            ErrorCode::None,
            "sync of {}",
            self.id
        );
        assert_eq!(
            synced.assignment,
            Bytes::from(format!("assigned:{}", self.id))
        );
        (joined, synced)
    }
}

/// Forms a stable group of `n` members (joining together, within the initial delay).
async fn stable_group(addr: SocketAddr, group: &str, n: usize, session_ms: i32) -> Vec<Member> {
    let joins: Vec<_> = (0..n)
        .map(|_| {
            let mut m = Member::new(addr, group, session_ms, &["t"]);
            tokio::spawn(async move {
                let joined = m.join().await;
                (m, joined)
            })
        })
        .collect();
    let mut joined = Vec::new();
    for j in joins {
        joined.push(j.await.unwrap());
    }
    let generation = joined[0].1.generation_id;
    assert!(
        joined.iter().all(|(_, j)| j.generation_id == generation),
        "members landed in different generations: {joined:?}"
    );
    let syncs: Vec<_> = joined
        .into_iter()
        .map(|(m, j)| {
            tokio::spawn(async move {
                let s = m.sync(&j).await;
                assert_eq!(err(s.error_code), ErrorCode::None);
                m
            })
        })
        .collect();
    let mut members = Vec::new();
    for s in syncs {
        members.push(s.await.unwrap());
    }
    members
}

async fn describe(addr: SocketAddr, group: &str) -> describe_groups::DescribedGroup {
    let req = DescribeGroupsRequest {
        groups: vec![group.into()],
        ..Default::default()
    };
    call(addr, req, 5).await.groups.remove(0)
}

fn commit_request(
    group: &str,
    generation: i32,
    member: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> OffsetCommitRequest {
    OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: generation,
        member_id: member.into(),
        topics: vec![OffsetCommitRequestTopic {
            name: topic.into(),
            partitions: offsets
                .iter()
                .map(|(p, o)| OffsetCommitRequestPartition {
                    partition_index: *p,
                    committed_offset: *o,
                    committed_leader_epoch: 0,
                    committed_metadata: Some(format!("m{p}")),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// (partition, offset, metadata, error) of an OffsetFetch v8 for one group, all topics.
async fn fetch_all(
    addr: SocketAddr,
    group: &str,
) -> Result<Vec<(String, i32, i64, String)>, ErrorCode> {
    let req = OffsetFetchRequest {
        groups: vec![OffsetFetchRequestGroup {
            group_id: group.into(),
            topics: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    let r = call(addr, req, 8).await;
    let g = &r.groups[0];
    if g.error_code != 0 {
        return Err(err(g.error_code));
    }
    Ok(g.topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    t.name.clone(),
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.clone().unwrap_or_default(),
                )
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Coordinator discovery and the offsets topic
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_creates_the_offsets_topic_and_names_its_partition_leader() {
    bounded(async {
        let c = cluster_with(3, |b| b.offsets_topic_partitions(4)).await;
        assert!(c.controller().snapshot().topic(OFFSETS_TOPIC).is_none());
        let a = support::addr(&c, 2);
        for version in 0..=3 {
            let req = FindCoordinatorRequest {
                key: "my-group".into(),
                key_type: 0,
                ..Default::default()
            };
            let r = call(a, req, version).await;
            assert_eq!(r.error_code, 0, "v{version}: {r:?}");
            let md = c.controller().snapshot();
            let p = partition_for("my-group", 4);
            let leader = md.partition(OFFSETS_TOPIC, p).unwrap().leader;
            assert_eq!(r.node_id, leader, "v{version}");
            assert_eq!(r.port, i32::from(support::addr(&c, leader).port()));
            assert_eq!(r.host, "127.0.0.1");
        }
        let md = c.controller().snapshot();
        let t = md.topic(OFFSETS_TOPIC).unwrap();
        assert!(t.is_internal);
        assert_eq!(t.partitions.len(), 4);
        assert!(t
            .partitions
            .iter()
            .all(|p| p.replicas.len() == 3 && p.isr.len() == 3));
        assert_eq!(t.config.get("cleanup.policy"), Some("compact"));
        // Leaders are spread over the brokers.
        let leaders: BTreeSet<i32> = t.partitions.iter().map(|p| p.leader).collect();
        assert_eq!(leaders.len(), 3);

        // v4 batches keys; transaction keys and unknown key types are refused per key.
        let req = FindCoordinatorRequest {
            key_type: 0,
            coordinator_keys: vec!["a".into(), "b".into(), "polygenelubricants".into()],
            ..Default::default()
        };
        let r = call(a, req, 4).await;
        for k in &r.coordinators {
            let p = partition_for(&k.key, 4);
            assert_eq!(k.error_code, 0);
            assert_eq!(
                k.node_id,
                md.partition(OFFSETS_TOPIC, p).unwrap().leader,
                "{}",
                k.key
            );
        }
        let req = FindCoordinatorRequest {
            key_type: 1,
            coordinator_keys: vec!["txn".into()],
            ..Default::default()
        };
        // Transactional ids have their own coordinator (tests in handlers/transactions.rs).
        let r = call(a, req, 4).await;
        assert_eq!(r.coordinators[0].error_code, 0);
        let req = FindCoordinatorRequest {
            key_type: 5,
            key: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            call(a, req, 3).await.error_code,
            code(ErrorCode::InvalidRequest)
        );
        c.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_heartbeating_is_removed_within_the_session_timeout() {
    bounded(async {
        const SESSION_MS: i32 = 1_000;
        let session = Duration::from_millis(SESSION_MS as u64);
        let c = cluster_with(3, |b| {
            b.group_min_session_timeout(Duration::from_millis(100))
                .group_initial_rebalance_delay(Duration::from_millis(300))
        })
        .await;
        let (_, addr) = coordinator(&c, "expiry").await;
        let mut members = stable_group(addr, "expiry", 2, SESSION_MS).await;
        // The synced answers restarted both sessions.
        let synced_at = Instant::now();
        let silent = members.pop().unwrap();
        let mut alive = members.pop().unwrap();
        assert_eq!(alive.generation, silent.generation);
        let generation = alive.generation;

        // The live member heartbeats every session/5, as a client would; the other is silent.
        let mut interval = tokio::time::interval(session / 5);
        let noticed = loop {
            interval.tick().await;
            match alive.heartbeat().await {
                ErrorCode::None => {
                    assert!(
                        synced_at.elapsed() < session * 3,
                        "the silent member was never removed"
                    );
                }
                ErrorCode::RebalanceInProgress => break synced_at.elapsed(),
                other => panic!("heartbeat: {other}"),
            }
        };
        println!(
            "silent member removed, rebalance noticed after {} ms (session {SESSION_MS} ms)",
            noticed.as_millis()
        );
        assert!(
            noticed >= session - Duration::from_millis(100),
            "removed too early: {noticed:?}"
        );
        assert!(
            noticed <= session + session / 5 + Duration::from_millis(500),
            "removed late: {noticed:?}"
        );

        // The rejoin completes at once with a single-member generation.
        let (joined, _) = alive.join_and_sync().await;
        assert_eq!(joined.generation_id, generation + 1);
        assert_eq!(joined.leader, alive.id);
        assert_eq!(joined.members.len(), 1);
        assert_eq!(joined.members[0].member_id, alive.id);
        assert_eq!(silent.heartbeat().await, ErrorCode::UnknownMemberId);
        let d = describe(addr, "expiry").await;
        assert_eq!((d.group_state.as_str(), d.members.len()), ("Stable", 1));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_time_for_a_three_member_group() {
    bounded(async {
        let c = cluster(3).await;
        let mut rounds = Vec::new();
        for round in 0..5 {
            let group = format!("measured-{round}");
            let (_, addr) = coordinator(&c, &group).await;
            let members = stable_group(addr, &group, 2, 10_000).await;
            // Measured: from the third member's first JoinGroup to all three SyncGroup
            // answers. The two members heartbeat back to back (no heartbeat interval), so
            // this is the coordinator's own time: the join phase, the leader's assignment
            // stored on the three replicas of the partition, and the answers.
            let started = Instant::now();
            let third = tokio::spawn(async move {
                let mut m = Member::new(addr, &group, 10_000, &["t"]);
                m.join_and_sync().await;
                Instant::now()
            });
            let old: Vec<_> = members
                .into_iter()
                .map(|mut m| {
                    tokio::spawn(async move {
                        loop {
                            match m.heartbeat().await {
                                ErrorCode::None => tokio::task::yield_now().await,
                                ErrorCode::RebalanceInProgress => break,
                                other => panic!("heartbeat: {other}"),
                            }
                        }
                        let (joined, _) = m.join_and_sync().await;
                        assert_eq!(joined.generation_id, 2);
                        Instant::now()
                    })
                })
                .collect();
            let mut done = vec![third.await.unwrap()];
            for o in old {
                done.push(o.await.unwrap());
            }
            let took = done.iter().max().unwrap().duration_since(started);
            rounds.push(took);
        }
        rounds.sort();
        let ms = |d: &Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        println!(
            "rebalance: 3 members in {} ms (median of 5; all: {}; 3 brokers, offsets RF 3, in memory)",
            ms(&rounds[2]),
            rounds.iter().map(ms).collect::<Vec<_>>().join(", ")
        );
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_sync_leave_and_describe_follow_kafka() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("t", 2, 3).unwrap();
        let (node, addr) = coordinator(&c, "g").await;
        let other = support::addr(&c, if node == 1 { 2 } else { 1 });

        // A broker that is not the coordinator says so.
        let mut stray = Member::new(other, "g", 10_000, &["t"]);
        let r = call(other, stray.join_request(), 5).await;
        assert_eq!(err(r.error_code), ErrorCode::NotCoordinator);
        stray.addr = addr;

        let mut members = stable_group(addr, "g", 2, 10_000).await;
        let d = describe(addr, "g").await;
        assert_eq!(d.error_code, 0);
        assert_eq!(d.group_state, "Stable");
        assert_eq!(d.protocol_type, "consumer");
        assert_eq!(d.protocol_data, "range");
        assert_eq!(d.members.len(), 2);
        for m in &d.members {
            assert_eq!(m.client_id, "test");
            assert_eq!(m.client_host, "/127.0.0.1");
            assert_eq!(
                m.member_assignment,
                Bytes::from(format!("assigned:{}", m.member_id))
            );
            assert_eq!(m.member_metadata, subscription(&["t"]));
        }
        // Wrong protocol type on join, wrong protocol name on sync.
        let mut bad = stray.join_request();
        bad.protocol_type = "connect".into();
        let r = call(addr, bad, 5).await;
        assert_eq!(err(r.error_code), ErrorCode::InconsistentGroupProtocol);
        let mut req = SyncGroupRequest {
            group_id: "g".into(),
            generation_id: members[0].generation,
            member_id: members[0].id.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: Some("roundrobin".into()),
            ..Default::default()
        };
        assert_eq!(
            err(call(addr, req.clone(), 5).await.error_code),
            ErrorCode::InconsistentGroupProtocol
        );
        // A stable group answers a sync at once with the current assignment.
        req.protocol_name = None;
        let r = call(addr, req, 3).await;
        assert_eq!(
            r.assignment,
            Bytes::from(format!("assigned:{}", members[0].id))
        );

        // ListGroups with and without a states filter; the other brokers list nothing.
        let r = call(addr, ListGroupsRequest::default(), 4).await;
        let listed: Vec<_> = r
            .groups
            .iter()
            .map(|g| {
                (
                    g.group_id.as_str(),
                    g.group_state.as_str(),
                    g.protocol_type.as_str(),
                )
            })
            .collect();
        assert_eq!(listed, vec![("g", "Stable", "consumer")]);
        let req = ListGroupsRequest {
            states_filter: vec!["empty".into()],
            ..Default::default()
        };
        assert!(call(addr, req, 4).await.groups.is_empty());
        assert!(call(other, ListGroupsRequest::default(), 0)
            .await
            .groups
            .is_empty());

        // LeaveGroup v5 (batched) with one unknown member; v0 for the last one.
        let req = LeaveGroupRequest {
            group_id: "g".into(),
            members: vec![
                LeaveGroupRequestMember {
                    member_id: members[0].id.clone(),
                    ..Default::default()
                },
                LeaveGroupRequestMember {
                    member_id: "nobody".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let r = call(addr, req, 5).await;
        assert_eq!(r.error_code, 0);
        let errors: Vec<ErrorCode> = r.members.iter().map(|m| err(m.error_code)).collect();
        assert_eq!(errors, vec![ErrorCode::None, ErrorCode::UnknownMemberId]);
        let mut last = members.pop().unwrap();
        assert_eq!(last.heartbeat().await, ErrorCode::RebalanceInProgress);
        last.join_and_sync().await;
        let req = LeaveGroupRequest {
            group_id: "g".into(),
            member_id: last.id.clone(),
            ..Default::default()
        };
        assert_eq!(call(addr, req.clone(), 0).await.error_code, 0);
        assert_eq!(
            err(call(addr, req, 0).await.error_code),
            ErrorCode::UnknownMemberId,
            "v0 reports the member's error at the top level"
        );
        let d = describe(addr, "g").await;
        assert_eq!((d.group_state.as_str(), d.members.len()), ("Empty", 0));

        // Unknown groups: Dead in DescribeGroups, UNKNOWN_MEMBER_ID for members.
        let d = describe(addr, "never-seen").await;
        let (_, never_addr) = coordinator(&c, "never-seen").await;
        let d2 = describe(never_addr, "never-seen").await;
        assert!(d.error_code == code(ErrorCode::NotCoordinator) || d.group_state == "Dead");
        assert_eq!((d2.error_code, d2.group_state.as_str()), (0, "Dead"));
        let hb = HeartbeatRequest {
            group_id: "never-seen".into(),
            generation_id: 1,
            member_id: "m".into(),
            ..Default::default()
        };
        assert_eq!(
            err(call(never_addr, hb, 4).await.error_code),
            ErrorCode::UnknownMemberId
        );
        c.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Offsets
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_killing_the_coordinator() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("orders", 4, 3).unwrap();
        let (old, addr) = coordinator(&c, "durable").await;
        let members = stable_group(addr, "durable", 1, 30_000).await;
        let m = &members[0];
        let offsets: Vec<(i32, i64)> = (0..4).map(|p| (p, 100 + i64::from(p))).collect();
        let r = call(
            addr,
            commit_request("durable", m.generation, &m.id, "orders", &offsets),
            8,
        )
        .await;
        assert!(
            r.topics[0].partitions.iter().all(|p| p.error_code == 0),
            "{r:?}"
        );
        let before = fetch_all(addr, "durable").await.unwrap();
        assert_eq!(before.len(), 4);

        c.kill_broker(old).await.unwrap();
        let p = partition_for("durable", 10);
        wait_partition(&c, OFFSETS_TOPIC, p, "a new leader", |l, _| {
            l >= 0 && l != old
        })
        .await;
        let (new, addr) = coordinator(&c, "durable").await;
        assert_ne!(new, old);
        // The new leader loads the partition; clients retry meanwhile, as they do.
        let deadline = Instant::now() + STEP;
        let after = loop {
            match fetch_all(addr, "durable").await {
                Ok(found) => break found,
                Err(ErrorCode::CoordinatorLoadInProgress | ErrorCode::NotCoordinator)
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("offset fetch after failover: {e}"),
            }
        };
        assert_eq!(
            after, before,
            "committed offsets changed across the failover"
        );
        // The group itself was restored: the member keeps its generation, no rebalance.
        let mut moved = m.clone();
        moved.addr = addr;
        assert_eq!(moved.heartbeat().await, ErrorCode::None);
        let d = describe(addr, "durable").await;
        assert_eq!((d.group_state.as_str(), d.members.len()), ("Stable", 1));
        assert_eq!(
            d.members[0].member_assignment,
            Bytes::from(format!("assigned:{}", m.id))
        );
        let r = call(
            addr,
            commit_request("durable", m.generation, &m.id, "orders", &[(0, 200)]),
            8,
        )
        .await;
        assert_eq!(r.topics[0].partitions[0].error_code, 0);
        c.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Third-party clients
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_offsets_survive_a_restart_on_the_same_data_dir() {
    bounded(async {
        let dir = TempDir::new("groups");
        let start = || cluster_with(3, |b| b.data_dir(dir.path()));
        let c = start().await;
        c.create_topic("kept", 2, 3).unwrap();
        let (_, addr) = coordinator(&c, "kept-group").await;
        // A fresh coordinator may still be loading its partition: retriable, as clients do.
        let deadline = Instant::now() + STEP;
        let r = loop {
            let r = call(
                addr,
                commit_request("kept-group", -1, "", "kept", &[(0, 11), (1, 22)]),
                8,
            )
            .await;
            let loading = r.topics[0].partitions.iter().any(|p| p.error_code == 14);
            if !loading || Instant::now() >= deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(
            r.topics[0].partitions.iter().all(|p| p.error_code == 0),
            "{r:?}"
        );
        let before = fetch_all(addr, "kept-group").await.unwrap();
        c.shutdown().await;

        let c = start().await;
        let (_, addr) = coordinator(&c, "kept-group").await;
        let deadline = Instant::now() + STEP;
        let after = loop {
            match fetch_all(addr, "kept-group").await {
                Ok(found) => break found,
                Err(ErrorCode::CoordinatorLoadInProgress) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("offset fetch after restart: {e}"),
            }
        };
        assert_eq!(after, before);
        let d = describe(addr, "kept-group").await;
        assert_eq!((d.error_code, d.group_state.as_str()), (0, "Empty"));
        c.shutdown().await;
    })
    .await;
}

mod clients;
mod consumer_protocol;
mod offsets;
