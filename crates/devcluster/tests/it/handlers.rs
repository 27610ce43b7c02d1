//! The admin and producer-id handlers, driven over TCP against an
//! in-process three-broker cluster with the protocol crate's frames (there is no client crate
//! yet). Every test is bounded by [`LIMIT`] and uses 127.0.0.1 only.

use std::future::Future;
use std::time::Duration;

use streamctl_devcluster::DevCluster;
use streamctl_protocol::compression::Compression;
use streamctl_protocol::messages::create_topics::{CreatableTopic, CreatableTopicConfig};
use streamctl_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use streamctl_protocol::messages::produce::{ProduceRequestPartitionData, ProduceRequestTopicData};
use streamctl_protocol::messages::*;
use streamctl_protocol::record_batch::RecordBatchBuilder;
use streamctl_protocol::ErrorCode;
use streamctl_testkit::{cluster, cluster_with};

use crate::support::{addr, request as call};

mod cluster_apis;
mod configs;
mod topics;
mod transactions;
mod transactions_v2;

/// Upper bound on any one test; a hang fails instead of blocking the suite.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs a test body under [`LIMIT`].
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out");
}

fn leader(c: &DevCluster, topic: &str, partition: i32) -> i32 {
    c.controller()
        .snapshot()
        .partition(topic, partition)
        .unwrap()
        .leader
}

fn partition_count(c: &DevCluster, topic: &str) -> usize {
    c.controller()
        .snapshot()
        .topic(topic)
        .map_or(0, |t| t.partitions.len())
}

/// Produces one batch of `n` records to a partition's leader; returns its base offset.
async fn produce(c: &DevCluster, topic: &str, partition: i32, n: usize) -> i64 {
    let mut batch = RecordBatchBuilder::new(Compression::None);
    for i in 0..n {
        batch
            .push(
                1_700_000_000_000 + i as i64,
                None,
                Some(format!("value-{i}").as_bytes()),
                &[],
            )
            .unwrap();
    }
    let p = produce_request(c, topic, partition, batch.build().unwrap(), 1, None, 9).await;
    assert_eq!(p.error_code, 0, "produce failed: {:?}", p.error_message);
    p.base_offset
}

/// One Produce request (`acks`, an optional transactional id, at `version`) of `batch` to a
/// partition's leader; the partition's answer.
async fn produce_request(
    c: &DevCluster,
    topic: &str,
    partition: i32,
    batch: bytes::Bytes,
    acks: i16,
    transactional_id: Option<&str>,
    version: i16,
) -> streamctl_protocol::messages::produce::ProduceResponsePartition {
    let req = ProduceRequest {
        transactional_id: transactional_id.map(String::from),
        acks,
        timeout_ms: 5_000,
        topic_data: vec![ProduceRequestTopicData {
            name: topic.into(),
            partition_data: vec![ProduceRequestPartitionData {
                index: partition,
                records: Some(batch),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut resp = call(addr(c, leader(c, topic, partition)), req, version).await;
    resp.responses.remove(0).partition_responses.remove(0)
}

/// The log start offset, over ListOffsets.
async fn earliest_offset(c: &DevCluster, topic: &str, partition: i32) -> i64 {
    let req = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: partition,
                timestamp: -2,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = call(addr(c, leader(c, topic, partition)), req, 7).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

fn code(e: ErrorCode) -> i16 {
    e.code()
}

/// Creates a one-partition topic with config overrides, over CreateTopics.
async fn create_topic_with_config(c: &DevCluster, name: &str, configs: &[(&str, &str)]) {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.into(),
            num_partitions: 1,
            replication_factor: 1,
            configs: configs
                .iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.to_string(),
                    value: Some(v.to_string()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: 5_000,
        ..Default::default()
    };
    let resp = call(addr(c, 1), req, 7).await;
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{:?}",
        resp.topics[0].error_message
    );
}
