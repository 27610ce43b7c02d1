//! The group APIs, placeholders until the group coordinator lands.

use streamctl_protocol::messages::offset_commit::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use streamctl_protocol::messages::offset_delete::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use streamctl_protocol::messages::offset_fetch::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic,
};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_says_not_available() {
    bounded(async {
        let c = cluster().await;
        let not_available = code(ErrorCode::CoordinatorNotAvailable);
        for version in 0..=3 {
            let req = FindCoordinatorRequest {
                key: "my-group".into(),
                key_type: 0,
                ..Default::default()
            };
            let resp = call(addr(&c, 1), req, version).await;
            assert_eq!(
                (resp.error_code, resp.node_id, resp.port),
                (not_available, -1, -1),
                "v{version}"
            );
            if version >= 1 {
                assert!(resp.error_message.unwrap().contains("not implemented yet"));
            }
        }
        let req = FindCoordinatorRequest {
            key_type: 0,
            coordinator_keys: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        let resp = call(addr(&c, 2), req, 4).await;
        let keys: Vec<_> = resp
            .coordinators
            .iter()
            .map(|k| (k.key.as_str(), k.error_code, k.node_id))
            .collect();
        assert_eq!(
            keys,
            vec![("a", not_available, -1), ("b", not_available, -1)]
        );
        assert_eq!(
            resp.coordinators[0].error_message.as_deref(),
            Some("the group coordinator is not implemented yet in this dev cluster")
        );
        let req = FindCoordinatorRequest {
            key_type: 5,
            key: "x".into(),
            ..Default::default()
        };
        let resp = call(addr(&c, 2), req, 3).await;
        assert_eq!(resp.error_code, code(ErrorCode::InvalidRequest));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_membership_apis_say_not_available() {
    bounded(async {
        let c = cluster().await;
        let a = addr(&c, 1);
        let not_available = code(ErrorCode::CoordinatorNotAvailable);
        for version in [0, 5, 6, 7, 9] {
            let req = JoinGroupRequest {
                group_id: "g".into(),
                session_timeout_ms: 10_000,
                rebalance_timeout_ms: 10_000,
                member_id: "m-1".into(),
                protocol_type: "consumer".into(),
                ..Default::default()
            };
            let resp = call(a, req, version).await;
            assert_eq!(
                (resp.error_code, resp.generation_id),
                (not_available, -1),
                "v{version}"
            );
            assert_eq!(resp.member_id, "m-1");
        }
        for version in [0, 3, 5] {
            let req = SyncGroupRequest {
                group_id: "g".into(),
                generation_id: 1,
                member_id: "m-1".into(),
                ..Default::default()
            };
            assert_eq!(
                call(a, req, version).await.error_code,
                not_available,
                "v{version}"
            );
        }
        for version in [0, 4] {
            let req = HeartbeatRequest {
                group_id: "g".into(),
                generation_id: 1,
                member_id: "m-1".into(),
                ..Default::default()
            };
            assert_eq!(
                call(a, req, version).await.error_code,
                not_available,
                "v{version}"
            );
        }
        for version in [0, 3, 5] {
            let req = LeaveGroupRequest {
                group_id: "g".into(),
                member_id: "m-1".into(),
                ..Default::default()
            };
            let resp = call(a, req, version).await;
            assert_eq!(resp.error_code, not_available, "v{version}");
            assert!(resp.members.is_empty());
        }
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_apis_say_not_available() {
    bounded(async {
        let c = cluster().await;
        let a = addr(&c, 3);
        let not_available = code(ErrorCode::CoordinatorNotAvailable);

        let commit = OffsetCommitRequest {
            group_id: "g".into(),
            topics: vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: (0..2)
                    .map(|p| OffsetCommitRequestPartition {
                        partition_index: p,
                        committed_offset: 10,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        for version in [2, 8, 9] {
            let resp = call(a, commit.clone(), version).await;
            let parts: Vec<_> = resp.topics[0]
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.error_code))
                .collect();
            assert_eq!(
                parts,
                vec![(0, not_available), (1, not_available)],
                "v{version}"
            );
        }

        let topics = Some(vec![OffsetFetchRequestTopic {
            name: "t".into(),
            partition_indexes: vec![0, 1],
            ..Default::default()
        }]);
        let fetch = OffsetFetchRequest {
            group_id: "g".into(),
            topics: topics.clone(),
            ..Default::default()
        };
        // v1: no group-level error field, so each partition carries it.
        let resp = call(a, fetch.clone(), 1).await;
        let parts: Vec<_> = resp.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.committed_offset, p.error_code))
            .collect();
        assert_eq!(parts, vec![(0, -1, not_available), (1, -1, not_available)]);
        for version in [2, 7] {
            let resp = call(a, fetch.clone(), version).await;
            assert_eq!(resp.error_code, not_available, "v{version}");
        }
        let batched = OffsetFetchRequest {
            groups: vec![
                OffsetFetchRequestGroup {
                    group_id: "g1".into(),
                    topics: None,
                    ..Default::default()
                },
                OffsetFetchRequestGroup {
                    group_id: "g2".into(),
                    topics: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let resp = call(a, batched, 8).await;
        let groups: Vec<_> = resp
            .groups
            .iter()
            .map(|g| (g.group_id.as_str(), g.error_code))
            .collect();
        assert_eq!(groups, vec![("g1", not_available), ("g2", not_available)]);

        let delete = OffsetDeleteRequest {
            group_id: "g".into(),
            topics: vec![OffsetDeleteRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetDeleteRequestPartition {
                    partition_index: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(call(a, delete, 0).await.error_code, not_available);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_admin_apis_see_no_groups() {
    bounded(async {
        let c = cluster().await;
        let a = addr(&c, 2);
        for version in [0, 4] {
            let resp = call(a, ListGroupsRequest::default(), version).await;
            assert_eq!((resp.error_code, resp.groups.len()), (0, 0), "v{version}");
        }
        for (version, with_ops) in [(0, false), (3, true), (5, false)] {
            let req = DescribeGroupsRequest {
                groups: vec!["g1".into(), "g2".into()],
                include_authorized_operations: with_ops,
                ..Default::default()
            };
            let resp = call(a, req, version).await;
            assert_eq!(resp.groups.len(), 2);
            for g in &resp.groups {
                assert_eq!(
                    (g.error_code, g.group_state.as_str()),
                    (0, "Dead"),
                    "v{version}"
                );
                assert!(g.members.is_empty());
                let expected = if version < 3 {
                    i32::MIN // not on the wire before v3
                } else if with_ops {
                    (1 << 3) | (1 << 6) | (1 << 8)
                } else {
                    i32::MIN
                };
                assert_eq!(g.authorized_operations, expected);
            }
            assert_eq!(resp.groups[1].group_id, "g2");
        }
        for version in [0, 2] {
            let req = DeleteGroupsRequest {
                groups_names: vec!["g1".into()],
                ..Default::default()
            };
            let resp = call(a, req, version).await;
            let results: Vec<_> = resp
                .results
                .iter()
                .map(|r| (r.group_id.as_str(), r.error_code))
                .collect();
            assert_eq!(
                results,
                vec![("g1", code(ErrorCode::GroupIdNotFound))],
                "v{version}"
            );
        }
        c.shutdown().await;
    })
    .await;
}
