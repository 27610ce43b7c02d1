//! DeleteTopics, CreatePartitions and DeleteRecords.

use streamctl_protocol::messages::create_partitions::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use streamctl_protocol::messages::delete_records::{
    DeleteRecordsRequestPartition, DeleteRecordsRequestTopic,
};
use streamctl_protocol::messages::delete_topics::DeleteTopicState;
use uuid::Uuid;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topics_by_name() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("doomed", 3, 2).unwrap();
        let id = c.controller().snapshot().topic("doomed").unwrap().topic_id;
        let req = |names: &[&str]| DeleteTopicsRequest {
            topic_names: names.iter().map(|n| n.to_string()).collect(),
            timeout_ms: 5_000,
            ..Default::default()
        };

        let resp = call(addr(&c, 2), req(&["doomed", "never-was"]), 5).await;
        assert_eq!(resp.responses.len(), 2);
        let deleted = &resp.responses[0];
        assert_eq!(deleted.name.as_deref(), Some("doomed"));
        assert_eq!(deleted.error_code, 0);
        assert_eq!(deleted.error_message, None);
        let unknown = &resp.responses[1];
        assert_eq!(unknown.name.as_deref(), Some("never-was"));
        assert_eq!(unknown.error_code, code(ErrorCode::UnknownTopicOrPartition));
        assert!(unknown
            .error_message
            .as_deref()
            .unwrap()
            .contains("never-was"));
        assert!(c.controller().snapshot().topic("doomed").is_none());
        assert!(c.controller().snapshot().topic_by_id(id).is_none());

        // Deleting it again: it is gone (v1, no error messages on the wire).
        let resp = call(addr(&c, 1), req(&["doomed"]), 1).await;
        assert_eq!(
            resp.responses[0].error_code,
            code(ErrorCode::UnknownTopicOrPartition)
        );

        // A name listed twice is ambiguous; Kafka refuses it and leaves the topic alone.
        c.create_topic("twice", 1, 1).unwrap();
        let resp = call(addr(&c, 1), req(&["twice", "twice"]), 4).await;
        assert_eq!(resp.responses.len(), 1);
        assert_eq!(
            resp.responses[0].error_code,
            code(ErrorCode::InvalidRequest)
        );
        assert!(c.controller().snapshot().topic("twice").is_some());

        // Internal topics are deleted like any other, as Kafka's broker does.
        c.create_topic("__consumer_offsets", 1, 1).unwrap();
        let resp = call(addr(&c, 3), req(&["__consumer_offsets"]), 5).await;
        assert_eq!(resp.responses[0].error_code, 0);
        assert!(c
            .controller()
            .snapshot()
            .topic("__consumer_offsets")
            .is_none());
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topics_by_id_v6() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("by-id", 2, 1).unwrap();
        c.create_topic("by-name", 1, 1).unwrap();
        let id = c.controller().snapshot().topic("by-id").unwrap().topic_id;
        let stranger = Uuid::new_v4();
        let state = |name: Option<&str>, topic_id: Uuid| DeleteTopicState {
            name: name.map(str::to_string),
            topic_id,
            ..Default::default()
        };
        let req = DeleteTopicsRequest {
            topics: vec![
                state(None, id),
                state(Some("by-name"), Uuid::nil()),
                state(None, stranger),
                state(Some("by-name"), stranger),
                state(None, Uuid::nil()),
            ],
            timeout_ms: 5_000,
            ..Default::default()
        };
        let resp = call(addr(&c, 1), req, 6).await;
        let r = &resp.responses;
        assert_eq!(r.len(), 5);
        // By id: the answer names the topic it deleted.
        assert_eq!(
            (r[0].name.as_deref(), r[0].topic_id, r[0].error_code),
            (Some("by-id"), id, 0)
        );
        assert_eq!(r[1].name.as_deref(), Some("by-name"));
        assert_eq!(r[1].error_code, 0);
        assert_ne!(
            r[1].topic_id,
            Uuid::nil(),
            "the deleted topic's id is reported"
        );
        assert_eq!((r[2].name.as_deref(), r[2].topic_id), (None, stranger));
        assert_eq!(r[2].error_code, code(ErrorCode::UnknownTopicId));
        assert_eq!(
            r[3].error_code,
            code(ErrorCode::InvalidRequest),
            "name and id both set"
        );
        assert_eq!(
            r[4].error_code,
            code(ErrorCode::InvalidRequest),
            "neither name nor id"
        );
        let md = c.controller().snapshot();
        assert!(md.topic("by-id").is_none() && md.topic("by-name").is_none());
        c.shutdown().await;
    })
    .await;
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> CreatePartitionsTopic {
    CreatePartitionsTopic {
        name: name.into(),
        count,
        assignments: assignments.map(|a| {
            a.into_iter()
                .map(|broker_ids| CreatePartitionsAssignment {
                    broker_ids,
                    ..Default::default()
                })
                .collect()
        }),
        ..Default::default()
    }
}

async fn create_partitions(
    c: &DevCluster,
    topics: Vec<CreatePartitionsTopic>,
    validate_only: bool,
    version: i16,
) -> Vec<(String, i16, Option<String>)> {
    let req = CreatePartitionsRequest {
        topics,
        timeout_ms: 5_000,
        validate_only,
        ..Default::default()
    };
    call(addr(c, 1), req, version)
        .await
        .results
        .into_iter()
        .map(|r| (r.name, r.error_code, r.error_message))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_grows_and_refuses_bad_counts() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("grow", 2, 2).unwrap();

        let r = create_partitions(&c, vec![grow("grow", 4, None)], false, 3).await;
        assert_eq!(r[0].1, 0, "{:?}", r[0].2);
        assert_eq!(partition_count(&c, "grow"), 4);
        let md = c.controller().snapshot();
        for p in &md.topic("grow").unwrap().partitions {
            assert_eq!(
                p.replicas.len(),
                2,
                "new partitions keep the replication factor"
            );
        }

        // Smaller, equal, unknown topic, and a name listed twice.
        let r = create_partitions(
            &c,
            vec![
                grow("grow", 3, None),
                grow("missing", 5, None),
                grow("dup", 2, None),
                grow("dup", 3, None),
            ],
            false,
            0,
        )
        .await;
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].1, code(ErrorCode::InvalidPartitions));
        assert!(r[0].2.as_deref().unwrap().contains('4'), "{:?}", r[0].2);
        assert_eq!(r[1].1, code(ErrorCode::UnknownTopicOrPartition));
        assert_eq!(
            (r[2].0.as_str(), r[2].1),
            ("dup", code(ErrorCode::InvalidRequest))
        );
        let r = create_partitions(&c, vec![grow("grow", 4, None)], false, 1).await;
        assert_eq!(r[0].1, code(ErrorCode::InvalidPartitions));
        assert_eq!(partition_count(&c, "grow"), 4);

        // validate_only checks without creating.
        let r = create_partitions(&c, vec![grow("grow", 6, None)], true, 2).await;
        assert_eq!(r[0].1, 0);
        assert_eq!(partition_count(&c, "grow"), 4);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_with_assignments() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("placed", 1, 2).unwrap();
        let bad = [
            (
                grow("placed", 3, Some(vec![vec![1, 2]])),
                "too few assignments",
            ),
            (
                grow("placed", 2, Some(vec![vec![1]])),
                "replication factor differs",
            ),
            (grow("placed", 2, Some(vec![vec![1, 9]])), "unknown broker"),
            (
                grow("placed", 2, Some(vec![vec![2, 2]])),
                "duplicate broker",
            ),
        ];
        for (topic, why) in bad {
            let r = create_partitions(&c, vec![topic], false, 3).await;
            assert_eq!(r[0].1, code(ErrorCode::InvalidReplicaAssignment), "{why}");
            assert!(r[0].2.is_some(), "{why}: the error says why");
        }
        assert_eq!(partition_count(&c, "placed"), 1);

        let r = create_partitions(
            &c,
            vec![grow("placed", 3, Some(vec![vec![3, 1], vec![2, 3]]))],
            false,
            3,
        )
        .await;
        assert_eq!(r[0].1, 0, "{:?}", r[0].2);
        let md = c.controller().snapshot();
        assert_eq!(md.partition("placed", 1).unwrap().replicas, vec![3, 1]);
        assert_eq!(md.partition("placed", 1).unwrap().leader, 3);
        assert_eq!(md.partition("placed", 2).unwrap().replicas, vec![2, 3]);

        // The new partition is usable at once on its leader.
        assert_eq!(produce(&c, "placed", 2, 2).await, 0);
        c.shutdown().await;
    })
    .await;
}

async fn delete_records(
    c: &DevCluster,
    node_id: i32,
    topic: &str,
    offsets: &[(i32, i64)],
    version: i16,
) -> Vec<(i32, i64, i16)> {
    let req = DeleteRecordsRequest {
        topics: vec![DeleteRecordsRequestTopic {
            name: topic.into(),
            partitions: offsets
                .iter()
                .map(|&(partition_index, offset)| DeleteRecordsRequestPartition {
                    partition_index,
                    offset,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: 5_000,
        ..Default::default()
    };
    let resp = call(addr(c, node_id), req, version).await;
    assert_eq!(resp.topics[0].name, topic);
    resp.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.low_watermark, p.error_code))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_log_start() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("trimmed", 1, 1).unwrap();
        assert_eq!(produce(&c, "trimmed", 0, 5).await, 0);
        assert_eq!(produce(&c, "trimmed", 0, 5).await, 5);
        let lead = leader(&c, "trimmed", 0);

        assert_eq!(
            delete_records(&c, lead, "trimmed", &[(0, 3)], 2).await,
            vec![(0, 3, 0)]
        );
        assert_eq!(earliest_offset(&c, "trimmed", 0).await, 3);

        // Beyond the high watermark (10): refused, nothing moves.
        let r = delete_records(&c, lead, "trimmed", &[(0, 11)], 1).await;
        assert_eq!(r, vec![(0, -1, code(ErrorCode::OffsetOutOfRange))]);
        let r = delete_records(&c, lead, "trimmed", &[(0, -7)], 1).await;
        assert_eq!(r, vec![(0, -1, code(ErrorCode::OffsetOutOfRange))]);
        assert_eq!(earliest_offset(&c, "trimmed", 0).await, 3);

        // Below the log start: nothing to do, not an error (Kafka only moves it forward).
        assert_eq!(
            delete_records(&c, lead, "trimmed", &[(0, 1)], 0).await,
            vec![(0, 3, 0)]
        );

        // -1 is the high watermark: everything goes.
        assert_eq!(
            delete_records(&c, lead, "trimmed", &[(0, -1)], 2).await,
            vec![(0, 10, 0)]
        );
        assert_eq!(earliest_offset(&c, "trimmed", 0).await, 10);
        // New records still get the next offsets.
        assert_eq!(produce(&c, "trimmed", 0, 1).await, 10);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_errors() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("elsewhere", 1, 1).unwrap();
        let lead = leader(&c, "elsewhere", 0);
        let follower = (1..=3).find(|id| *id != lead).unwrap();
        let r = delete_records(&c, follower, "elsewhere", &[(0, 0)], 2).await;
        assert_eq!(r, vec![(0, -1, code(ErrorCode::NotLeaderOrFollower))]);
        let r = delete_records(&c, lead, "elsewhere", &[(0, 0), (5, 0)], 2).await;
        assert_eq!(
            r,
            vec![(0, 0, 0), (5, -1, code(ErrorCode::UnknownTopicOrPartition))]
        );
        let r = delete_records(&c, 1, "nowhere", &[(0, 0)], 2).await;
        assert_eq!(r, vec![(0, -1, code(ErrorCode::UnknownTopicOrPartition))]);

        // A compacted topic keeps its records: Kafka's policy violation.
        create_topic_with_config(&c, "compacted", &[("cleanup.policy", "compact")]).await;
        let lead = leader(&c, "compacted", 0);
        let r = delete_records(&c, lead, "compacted", &[(0, 0)], 2).await;
        assert_eq!(r, vec![(0, -1, code(ErrorCode::PolicyViolation))]);
        c.shutdown().await;
    })
    .await;
}
