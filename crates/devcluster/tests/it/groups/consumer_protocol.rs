//! Consumer-protocol groups (KIP-848) over the raw protocol: member epochs checked on
//! commits, both group types listed and filtered, and a coordinator failover in the middle
//! of a reconciliation that keeps every epoch and assignment.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use streamctl_devcluster::coordinator::records::{partition_for, OFFSETS_TOPIC};
use streamctl_protocol::messages::consumer_group_heartbeat::ConsumerGroupHeartbeatTopicPartitions;
use streamctl_protocol::messages::*;
use streamctl_protocol::ErrorCode;
use streamctl_testkit::cluster;
use uuid::Uuid;

use super::{bounded, call, commit_request, coordinator, err, stable_group};
use crate::support::{metadata, wait_partition, STEP};

fn heartbeat(
    group: &str,
    member: &str,
    epoch: i32,
    owned: Option<(Uuid, &[i32])>,
) -> ConsumerGroupHeartbeatRequest {
    let joining = epoch == 0;
    ConsumerGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: if joining { 30_000 } else { -1 },
        subscribed_topic_names: joining.then(|| vec!["orders".to_string()]),
        topic_partitions: if joining {
            Some(Vec::new())
        } else {
            owned.map(|(topic_id, ps)| {
                vec![ConsumerGroupHeartbeatTopicPartitions {
                    topic_id,
                    partitions: ps.to_vec(),
                    ..Default::default()
                }]
            })
        },
        ..Default::default()
    }
}

/// (epoch, assigned partitions if the answer carried them), panicking on an error.
async fn beat(
    addr: SocketAddr,
    req: ConsumerGroupHeartbeatRequest,
) -> (i32, Option<BTreeSet<i32>>) {
    let r = call(addr, req, 1).await;
    assert_eq!(err(r.error_code), ErrorCode::None, "{r:?}");
    let assigned = r.assignment.map(|a| {
        a.topic_partitions
            .iter()
            .flat_map(|t| t.partitions.iter().copied())
            .collect()
    });
    (r.member_epoch, assigned)
}

fn set(ps: &[i32]) -> BTreeSet<i32> {
    ps.iter().copied().collect()
}

async fn list(addr: SocketAddr, types: &[&str]) -> Vec<(String, String, String)> {
    let req = ListGroupsRequest {
        types_filter: types.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    call(addr, req, 5)
        .await
        .groups
        .into_iter()
        .map(|g| (g.group_id, g.group_type, g.group_state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_failover_keeps_epochs_and_assignments() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("orders", 4, 3).unwrap();
        let topic = metadata(&c, "orders").await.topics[0].topic_id;
        let (old, addr) = coordinator(&c, "kip").await;

        // a owns everything; b joins, so a must give two partitions up (it has not yet).
        let (epoch, got) = beat(addr, heartbeat("kip", "a", 0, None)).await;
        assert_eq!((epoch, got), (1, Some(set(&[0, 1, 2, 3]))));
        assert_eq!(
            beat(addr, heartbeat("kip", "b", 0, None)).await,
            (2, Some(set(&[])))
        );
        let (epoch, kept) =
            beat(addr, heartbeat("kip", "a", 1, Some((topic, &[0, 1, 2, 3])))).await;
        assert_eq!(epoch, 1, "a stays at its epoch until it revoked");
        let kept: Vec<i32> = kept.unwrap().into_iter().collect();
        assert_eq!(kept.len(), 2);

        // Commits are checked against the member epoch (OffsetCommit v9).
        let commit = |epoch: i32, version: i16| {
            call(
                addr,
                commit_request("kip", epoch, "a", "orders", &[(kept[0], 10)]),
                version,
            )
        };
        assert_eq!(commit(1, 9).await.topics[0].partitions[0].error_code, 0);
        assert_eq!(
            err(commit(2, 9).await.topics[0].partitions[0].error_code),
            ErrorCode::StaleMemberEpoch
        );
        assert_eq!(
            err(commit(1, 8).await.topics[0].partitions[0].error_code),
            ErrorCode::UnsupportedVersion,
            "a consumer-protocol member commits with v9+"
        );

        // Both group types, listed and filtered (a classic group on the same coordinator).
        let old_style = (0..)
            .map(|i| format!("old-style-{i}"))
            .find(|g| partition_for(g, 10) == partition_for("kip", 10))
            .unwrap();
        let classic = stable_group(addr, &old_style, 1, 30_000).await;
        assert_eq!(classic.len(), 1);
        let all = list(addr, &[]).await;
        assert!(
            all.contains(&("kip".into(), "consumer".into(), "Reconciling".into())),
            "{all:?}"
        );
        let consumer_only = list(addr, &["Consumer"]).await;
        assert!(
            consumer_only.iter().all(|(_, t, _)| t == "consumer"),
            "{consumer_only:?}"
        );
        assert!(consumer_only.iter().any(|(g, _, _)| g == "kip"));
        assert!(!list(addr, &["classic"])
            .await
            .iter()
            .any(|(g, _, _)| g == "kip"));
        assert!(list(addr, &["share"])
            .await
            .iter()
            .all(|(g, _, _)| g != "kip"));

        // The coordinator dies mid-reconciliation.
        c.kill_broker(old).await.unwrap();
        let p = partition_for("kip", 10);
        wait_partition(&c, OFFSETS_TOPIC, p, "a new leader", |l, _| {
            l >= 0 && l != old
        })
        .await;
        let (new, addr) = coordinator(&c, "kip").await;
        assert_ne!(new, old);
        let deadline = Instant::now() + STEP;
        // a acknowledges the revocation to the new coordinator, which knows its epoch.
        let (epoch, _) = loop {
            let r = call(addr, heartbeat("kip", "a", 1, Some((topic, &kept))), 1).await;
            match err(r.error_code) {
                ErrorCode::None => break (r.member_epoch, r.assignment),
                ErrorCode::CoordinatorLoadInProgress | ErrorCode::NotCoordinator
                    if Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("heartbeat after failover: {other:?} {r:?}"),
            }
        };
        assert_eq!(epoch, 2);
        let (epoch, got) = beat(addr, heartbeat("kip", "b", 2, Some((topic, &[])))).await;
        let rest: BTreeSet<i32> = (0..4).filter(|p| !kept.contains(p)).collect();
        assert_eq!((epoch, got), (2, Some(rest)));

        let d = call(
            addr,
            ConsumerGroupDescribeRequest {
                group_ids: vec!["kip".into(), old_style.clone()],
                ..Default::default()
            },
            1,
        )
        .await;
        let g = &d.groups[0];
        assert_eq!(
            (
                g.error_code,
                g.group_state.as_str(),
                g.group_epoch,
                g.assignment_epoch,
                g.assignor_name.as_str()
            ),
            (0, "Stable", 2, 2, "uniform"),
            "{g:?}"
        );
        assert_eq!(g.members.len(), 2);
        for m in &g.members {
            assert_eq!(m.member_epoch, 2);
            assert_eq!(m.assignment, m.target_assignment);
            assert_eq!(m.member_type, 1);
            assert_eq!(m.assignment.topic_partitions[0].topic_name, "orders");
        }
        assert_eq!(
            err(d.groups[1].error_code),
            ErrorCode::GroupIdNotFound,
            "a classic group"
        );
        // The committed offset survived with the group.
        let fetched = super::fetch_all(addr, "kip").await.unwrap();
        assert!(
            fetched
                .iter()
                .any(|(t, p, o, _)| t == "orders" && *p == kept[0] && *o == 10),
            "{fetched:?}"
        );
        // Leaving: the epoch moves and the group is listed empty once b leaves too.
        let r = call(addr, heartbeat("kip", "a", -1, None), 1).await;
        assert_eq!((r.error_code, r.member_epoch), (0, -1));
        let r = call(addr, heartbeat("kip", "b", -1, None), 1).await;
        assert_eq!((r.error_code, r.member_epoch), (0, -1));
        let all = list(addr, &["consumer"]).await;
        assert!(
            all.contains(&("kip".into(), "consumer".into(), "Empty".into())),
            "{all:?}"
        );
        c.shutdown().await;
    })
    .await;
}
