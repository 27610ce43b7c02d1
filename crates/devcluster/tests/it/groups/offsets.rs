//! OffsetCommit, OffsetFetch and OffsetDelete over the raw protocol, answer by answer as
//! Kafka gives them.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commit_fetch_and_delete_follow_kafka() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("t", 3, 3).unwrap();
        c.create_topic("u", 1, 3).unwrap();
        let (_, addr) = coordinator(&c, "standalone").await;

        // Without group management (generation -1): creates the group; versions 2, 8, 9.
        for (version, offset) in [(2, 5), (8, 6), (9, 7)] {
            let r = call(
                addr,
                commit_request("standalone", -1, "", "t", &[(0, offset), (1, offset * 10)]),
                version,
            )
            .await;
            let errors: Vec<i16> = r.topics[0]
                .partitions
                .iter()
                .map(|p| p.error_code)
                .collect();
            assert_eq!(errors, vec![0, 0], "v{version}");
        }
        // Unknown partitions and oversized metadata are refused per partition.
        let mut req = commit_request("standalone", -1, "", "t", &[(2, 1), (9, 1)]);
        req.topics[0].partitions[0].committed_metadata = Some("x".repeat(5000));
        let r = call(addr, req, 8).await;
        let errors: Vec<ErrorCode> = r.topics[0]
            .partitions
            .iter()
            .map(|p| err(p.error_code))
            .collect();
        assert_eq!(
            errors,
            vec![
                ErrorCode::OffsetMetadataTooLarge,
                ErrorCode::UnknownTopicOrPartition
            ]
        );
        // A generation for a group that does not exist: ILLEGAL_GENERATION.
        let (_, addr2) = coordinator(&c, "ghost").await;
        let r = call(addr2, commit_request("ghost", 3, "m", "t", &[(0, 1)]), 8).await;
        assert_eq!(
            err(r.topics[0].partitions[0].error_code),
            ErrorCode::IllegalGeneration
        );

        // OffsetFetch v1 (per partition), v5 (leader epoch), v7 (null topics), v8 (batched).
        let topics = Some(vec![OffsetFetchRequestTopic {
            name: "t".into(),
            partition_indexes: vec![0, 1, 2],
            ..Default::default()
        }]);
        let req = OffsetFetchRequest {
            group_id: "standalone".into(),
            topics: topics.clone(),
            ..Default::default()
        };
        let r = call(addr, req.clone(), 1).await;
        let got: Vec<_> = r.topics[0]
            .partitions
            .iter()
            .map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 7, "m0".into()),
                (1, 70, "m1".into()),
                (2, -1, String::new())
            ]
        );
        let r = call(addr, req, 5).await;
        assert_eq!(r.topics[0].partitions[0].committed_leader_epoch, 0);
        let all = OffsetFetchRequest {
            group_id: "standalone".into(),
            topics: None,
            ..Default::default()
        };
        let r = call(addr, all, 7).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.topics.len(), 1);
        assert_eq!(r.topics[0].partitions.len(), 2);
        let batched = OffsetFetchRequest {
            groups: vec![
                OffsetFetchRequestGroup {
                    group_id: "standalone".into(),
                    topics: Some(vec![OffsetFetchRequestTopics {
                        name: "t".into(),
                        partition_indexes: vec![1],
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                OffsetFetchRequestGroup {
                    group_id: "unknown-group".into(),
                    topics: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let r = call(addr, batched, 8).await;
        assert_eq!(r.groups[0].topics[0].partitions[0].committed_offset, 70);
        // The second group lives on this broker or another: empty or NOT_COORDINATOR.
        let g2 = &r.groups[1];
        assert!(
            g2.error_code == code(ErrorCode::NotCoordinator) || g2.topics.is_empty(),
            "{g2:?}"
        );

        // A stable consumer group subscribed to t: commits need its generation, and t's
        // offsets cannot be deleted while u's can.
        let (_, gaddr) = coordinator(&c, "active").await;
        let members = stable_group(gaddr, "active", 1, 10_000).await;
        let m = &members[0];
        let r = call(gaddr, commit_request("active", -1, "", "t", &[(0, 1)]), 8).await;
        assert_eq!(
            err(r.topics[0].partitions[0].error_code),
            ErrorCode::UnknownMemberId
        );
        let r = call(
            gaddr,
            commit_request("active", m.generation + 1, &m.id, "t", &[(0, 1)]),
            8,
        )
        .await;
        assert_eq!(
            err(r.topics[0].partitions[0].error_code),
            ErrorCode::IllegalGeneration
        );
        for topic in ["t", "u"] {
            let r = call(
                gaddr,
                commit_request("active", m.generation, &m.id, topic, &[(0, 3)]),
                8,
            )
            .await;
            assert_eq!(r.topics[0].partitions[0].error_code, 0);
        }
        let delete = |topic: &str| OffsetDeleteRequest {
            group_id: "active".into(),
            topics: vec![OffsetDeleteRequestTopic {
                name: topic.into(),
                partitions: vec![OffsetDeleteRequestPartition {
                    partition_index: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = call(gaddr, delete("t"), 0).await;
        assert_eq!(
            err(r.topics[0].partitions[0].error_code),
            ErrorCode::GroupSubscribedToTopic
        );
        let r = call(gaddr, delete("u"), 0).await;
        assert_eq!((r.error_code, r.topics[0].partitions[0].error_code), (0, 0));
        let left: Vec<(String, i32, i64, String)> = fetch_all(gaddr, "active").await.unwrap();
        assert_eq!(
            left.iter().map(|(t, ..)| t.as_str()).collect::<Vec<_>>(),
            vec!["t"]
        );

        // DeleteGroups: only empty groups.
        let del = |g: &str| DeleteGroupsRequest {
            groups_names: vec![g.into()],
            ..Default::default()
        };
        assert_eq!(
            err(call(gaddr, del("active"), 2).await.results[0].error_code),
            ErrorCode::NonEmptyGroup
        );
        let req = LeaveGroupRequest {
            group_id: "active".into(),
            members: vec![LeaveGroupRequestMember {
                member_id: m.id.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        call(gaddr, req, 5).await;
        assert_eq!(call(gaddr, del("active"), 2).await.results[0].error_code, 0);
        assert_eq!(
            err(call(gaddr, del("active"), 0).await.results[0].error_code),
            ErrorCode::GroupIdNotFound
        );
        assert_eq!(fetch_all(gaddr, "active").await.unwrap(), Vec::new());
        let r = call(gaddr, delete("u"), 0).await;
        assert_eq!(err(r.error_code), ErrorCode::GroupIdNotFound);
        c.shutdown().await;
    })
    .await;
}
