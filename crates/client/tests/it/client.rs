//! The client's connections and metadata against an in-process DevCluster, over loopback TCP.
//!
//! Every test is bounded by [`BOUND`](crate::support::BOUND): a hang fails the test instead of stalling the suite.

use std::time::Duration;

use streamctl_client::protocol::compression::Compression;
use streamctl_client::protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
use streamctl_client::protocol::messages::metadata::MetadataRequestTopic;
use streamctl_client::protocol::messages::produce::{
    ProduceRequestPartitionData, ProduceRequestTopicData,
};
use streamctl_client::protocol::messages::{
    FetchRequest, MetadataRequest, ProduceRequest, SUPPORTED,
};
use streamctl_client::protocol::record_batch::{RecordBatchBuilder, RecordBatches};
use streamctl_client::protocol::{ApiKey, ErrorCode};
use streamctl_client::{ClientConfig, Cluster, Connection, Disconnect, Error};
use streamctl_devcluster::DevCluster;
use streamctl_testkit::cluster;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::support::bounded;

fn config(cluster: &DevCluster) -> ClientConfig {
    ClientConfig::new(&cluster.bootstrap_servers())
        .client_id("client-tests")
        .allow_auto_create_topics(false)
        .request_timeout(Duration::from_secs(10))
}

/// `127.0.0.1:port` of one broker.
fn address(cluster: &DevCluster, node_id: i32) -> String {
    let addr = cluster.broker(node_id).unwrap().addrs()[0];
    format!("127.0.0.1:{}", addr.port())
}

/// An address nothing listens on: bound once for a free port, then released.
async fn dead_address() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// A Fetch of partition `partition` from offset 0 that long-polls up to `max_wait`.
fn long_poll(topic_id: Uuid, partition: i32, max_wait: Duration) -> FetchRequest {
    FetchRequest {
        max_wait_ms: i32::try_from(max_wait.as_millis()).unwrap(),
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![FetchRequestTopic {
            topic_id,
            partitions: vec![FetchRequestPartition {
                partition,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A metadata request for one topic, without auto-creation.
fn metadata_for(topic: &str) -> MetadataRequest {
    MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.to_string()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: false,
        ..Default::default()
    }
}

/// A connection to the leader of `topic`-0, with the topic's id.
async fn leader_connection(cluster: &Cluster, topic: &str) -> (Connection, Uuid) {
    let leader = cluster.leader_for(topic, 0).await.unwrap();
    let topic_id = cluster.partitions_for(topic).await.unwrap().topic_id;
    (cluster.connection(leader.node_id).await.unwrap(), topic_id)
}

#[tokio::test]
async fn api_versions_negotiation_picks_the_highest_shared_version() {
    bounded(async {
        let dev = cluster(1).await;
        let conn = Connection::connect(&address(&dev, 1), &config(&dev))
            .await
            .unwrap();
        assert_eq!(conn.negotiated_version(ApiKey::Metadata), Some(12));
        assert_eq!(conn.negotiated_version(ApiKey::Fetch), Some(16));
        assert_eq!(conn.negotiated_version(ApiKey::Produce), Some(11));
        assert_eq!(conn.negotiated_version(ApiKey::ApiVersions), Some(4));
        // The client stays below the codec where later versions are broker-to-broker or
        // transactions v2.
        let capped = [
            (ApiKey::Produce, 11),
            (ApiKey::AddPartitionsToTxn, 3),
            (ApiKey::EndTxn, 4),
            (ApiKey::TxnOffsetCommit, 4),
        ];
        for (api, max) in capped {
            assert_eq!(conn.negotiated_version(api), Some(max), "{api}");
        }
        // Those later versions are sent explicitly by a transactions-v2 producer, which the
        // cluster allows: it finalizes transaction.version 2.
        assert_eq!(conn.transaction_version(), 2);
        for (api, v2) in [
            (ApiKey::Produce, 12),
            (ApiKey::EndTxn, 5),
            (ApiKey::TxnOffsetCommit, 5),
        ] {
            assert!(conn.supports(api, v2), "{api} v{v2}");
        }
        // For every other API both sides know, the highest version in both ranges.
        for &(api, ours_min, ours_max) in SUPPORTED {
            if capped.iter().any(|(a, _)| *a == api) {
                continue;
            }
            let expected = conn.broker_versions(api).and_then(|(lo, hi)| {
                let v = ours_max.min(hi);
                (v >= ours_min.max(lo)).then_some(v)
            });
            assert_eq!(conn.negotiated_version(api), expected, "{api}");
        }
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn one_hundred_pipelined_calls_are_all_answered_and_matched() {
    bounded(async {
        let dev = cluster(1).await;
        let conn = Connection::connect(&address(&dev, 1), &config(&dev))
            .await
            .unwrap();
        let mut calls = JoinSet::new();
        for i in 0..100 {
            let conn = conn.clone();
            calls.spawn(async move {
                let topic = format!("no-such-topic-{i}");
                let response = conn.call(metadata_for(&topic)).await.unwrap();
                (topic, response)
            });
        }
        let mut answered = 0;
        while let Some(joined) = calls.join_next().await {
            let (topic, response) = joined.unwrap();
            // Each answer names the topic its own request asked about.
            assert_eq!(response.topics.len(), 1);
            assert_eq!(response.topics[0].name.as_deref(), Some(topic.as_str()));
            assert_eq!(
                ErrorCode::from_code(response.topics[0].error_code),
                ErrorCode::UnknownTopicOrPartition
            );
            answered += 1;
        }
        assert_eq!(answered, 100);
        assert_eq!(conn.in_flight(), 0);
        assert!(!conn.is_closed());
        dev.shutdown().await;
    })
    .await;
}

/// A Produce of one record with `value` to `topic`-0.
fn produce_one(topic: &str, acks: i16, value: &[u8]) -> ProduceRequest {
    let mut batch = RecordBatchBuilder::new(Compression::None);
    batch.push(0, None, Some(value), &[]).unwrap();
    ProduceRequest {
        acks,
        timeout_ms: 5000,
        topic_data: vec![ProduceRequestTopicData {
            name: topic.to_string(),
            partition_data: vec![ProduceRequestPartitionData {
                index: 0,
                records: Some(batch.build().unwrap()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The values of `topic`-0 from offset 0, in offset order.
async fn read_values(conn: &Connection, topic_id: Uuid) -> Vec<Vec<u8>> {
    let response = conn
        .call(long_poll(topic_id, 0, Duration::ZERO))
        .await
        .unwrap();
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    let mut values = Vec::new();
    for batch in RecordBatches::new(partition.records.clone().unwrap_or_default()) {
        for record in batch.unwrap().records(1 << 20).unwrap() {
            values.push(record.unwrap().value.unwrap().to_vec());
        }
    }
    values
}

#[tokio::test]
async fn requests_sent_in_order_are_written_and_answered_in_order() {
    bounded(async {
        let dev = cluster(1).await;
        dev.create_topic("ordered", 1, 1).unwrap();
        let cluster = Cluster::connect(config(&dev)).await.unwrap();
        let (conn, topic_id) = leader_connection(&cluster, "ordered").await;

        // Queue 50 produces back to back (each `send` returns once queued), then collect.
        let mut pending = Vec::new();
        for i in 0..50 {
            let request = produce_one("ordered", 1, format!("{i}").as_bytes());
            pending.push(conn.send(request).await.unwrap());
        }
        // Some fire-and-forget ones (acks=0) on the same connection keep the stream in step.
        for i in 50..55 {
            let request = produce_one("ordered", 0, format!("{i}").as_bytes());
            conn.send_no_response(request).await.unwrap();
        }
        let mut ids = Vec::new();
        for (i, response) in pending.into_iter().enumerate() {
            ids.push(response.correlation_id());
            let response = response.response().await.unwrap();
            let partition = &response.responses[0].partition_responses[0];
            assert_eq!(partition.error_code, 0);
            assert_eq!(partition.base_offset, i64::try_from(i).unwrap());
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]));

        let expected: Vec<Vec<u8>> = (0..55).map(|i| format!("{i}").into_bytes()).collect();
        assert_eq!(read_values(&conn, topic_id).await, expected);
        assert_eq!(conn.in_flight(), 0);
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn dropping_calls_mid_flight_leaves_the_connection_usable() {
    bounded(async {
        let dev = cluster(1).await;
        dev.create_topic("quiet", 1, 1).unwrap();
        let cluster = Cluster::connect(config(&dev)).await.unwrap();
        let (conn, topic_id) = leader_connection(&cluster, "quiet").await;

        // A long poll, abandoned after 100 ms while the broker still holds it.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(100),
            conn.call(long_poll(topic_id, 0, Duration::from_millis(1500))),
        )
        .await;
        assert!(abandoned.is_err(), "the long poll should still be pending");
        assert_eq!(conn.in_flight(), 1);

        // Calls dropped right after their first poll, i.e. once written to the socket.
        for i in 0..10 {
            let call = conn.call(metadata_for(&format!("dropped-{i}")));
            assert!(tokio::time::timeout(Duration::ZERO, call).await.is_err());
        }
        // They are on the wire (the broker answers in order, after the long poll).
        assert_eq!(conn.in_flight(), 11);

        // The next call gets its own answer, after the abandoned ones were read and dropped.
        let response = conn.call(metadata_for("quiet")).await.unwrap();
        assert_eq!(response.topics[0].name.as_deref(), Some("quiet"));
        assert_eq!(response.topics[0].error_code, 0);
        assert!(!conn.is_closed());
        assert_eq!(conn.in_flight(), 0);
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_request_outliving_request_timeout_fails_and_closes_its_connection() {
    bounded(async {
        let dev = cluster(1).await;
        dev.create_topic("empty", 1, 1).unwrap();
        let cluster = Cluster::connect(config(&dev).request_timeout(Duration::from_millis(300)))
            .await
            .unwrap();
        let (conn, topic_id) = leader_connection(&cluster, "empty").await;

        let started = tokio::time::Instant::now();
        let e = conn
            .call(long_poll(topic_id, 0, Duration::from_secs(10)))
            .await
            .unwrap_err();
        let waited = started.elapsed();
        assert!(
            matches!(&e, Error::Timeout { timeout, .. } if *timeout == Duration::from_millis(300)),
            "{e}"
        );
        assert!(e.is_retriable());
        assert!(e.to_string().contains("Fetch request to broker"), "{e}");
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        // As in Kafka's client: the connection is closed, and the pool replaces it.
        assert!(conn.is_closed());
        assert!(matches!(
            conn.close_reason(),
            Some(Disconnect::RequestTimedOut {
                api: ApiKey::Fetch,
                ..
            })
        ));
        let leader = cluster.leader_for("empty", 0).await.unwrap();
        let fresh = cluster.connection(leader.node_id).await.unwrap();
        assert!(!fresh.is_closed());
        fresh.call(metadata_for("empty")).await.unwrap();

        // An explicit longer timeout lets the same long poll finish.
        let response = fresh
            .call_with_timeout(
                long_poll(topic_id, 0, Duration::from_millis(500)),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(response.responses[0].partitions[0].error_code, 0);
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn connecting_to_a_dead_address_names_it() {
    bounded(async {
        let dead = dead_address().await;
        let e = Connection::connect(&dead, &ClientConfig::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Connect { broker, .. } if *broker == dead),
            "{e}"
        );
        assert!(e.to_string().contains(&dead), "{e}");
        assert!(e.is_retriable());

        // Through the metadata layer, every address tried is named.
        let other = dead_address().await;
        let cluster = Cluster::new(ClientConfig::new(&format!("{dead},{other}")));
        let e = cluster.any_connection().await.unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, Error::NoBrokerAvailable { .. }), "{message}");
        assert!(
            message.contains(&dead) && message.contains(&other),
            "{message}"
        );
    })
    .await;
}

#[tokio::test]
async fn bootstrap_skips_a_dead_address() {
    bounded(async {
        let dev = cluster(3).await;
        let dead = dead_address().await;
        let servers = format!("{dead},{}", address(&dev, 2));
        let cluster = Cluster::connect(config(&dev).bootstrap_servers(&servers))
            .await
            .unwrap();
        let snapshot = cluster.snapshot();
        let mut nodes: Vec<i32> = snapshot.brokers().map(|b| b.node_id).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, [1, 2, 3]);
        assert!(snapshot.cluster_id().is_some());
        // Every broker the metadata named is reachable through the pool.
        for node_id in nodes {
            let conn = cluster.connection(node_id).await.unwrap();
            assert_eq!(conn.negotiated_version(ApiKey::Metadata), Some(12));
        }
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn metadata_refresh_sees_a_new_topic() {
    bounded(async {
        let dev = cluster(3).await;
        let cluster = Cluster::connect(config(&dev)).await.unwrap();
        let e = cluster.partitions_for("fresh").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition), "{e}");
        assert!(e.to_string().contains("fresh"), "{e}");

        dev.create_topic("fresh", 3, 3).unwrap();
        cluster.refresh(["fresh"]).await.unwrap();
        let topic = cluster.partitions_for("fresh").await.unwrap();
        assert_eq!(topic.partition_count(), 3);
        assert!(!topic.topic_id.is_nil());
        assert_eq!(cluster.topic_name(topic.topic_id).as_deref(), Some("fresh"));
        for p in &topic.partitions {
            assert_eq!(p.replicas.len(), 3);
            let leader = cluster.leader_for("fresh", p.partition).await.unwrap();
            assert!(leader.leader_epoch >= 0);
            assert_eq!(Some(leader.node_id), p.leader_id);
        }
        let e = cluster.leader_for("fresh", 3).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition), "{e}");

        // Listing every topic finds it too.
        cluster.refresh_all().await.unwrap();
        assert!(cluster.snapshot().topic("fresh").is_some());
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_killed_leader_fails_its_connection_and_metadata_finds_the_new_one() {
    bounded(async {
        let dev = cluster(3).await;
        dev.create_topic("moving", 1, 3).unwrap();
        let cluster = Cluster::connect(config(&dev)).await.unwrap();
        let before = cluster.leader_for("moving", 0).await.unwrap();
        let conn = cluster.connection(before.node_id).await.unwrap();

        dev.kill_broker(before.node_id).await.unwrap();
        // The broker's side of the connection is gone: the next call fails, naming it.
        tokio::time::timeout(Duration::from_secs(10), conn.closed())
            .await
            .unwrap();
        let e = conn.call(metadata_for("moving")).await.unwrap_err();
        assert!(matches!(e, Error::ConnectionLost { .. }), "{e}");
        assert!(e.to_string().contains(conn.broker()), "{e}");

        // Asking the pool for the dead broker finds its connection closed, which marks what
        // it led stale (as `on_connection_lost` would); the reconnect fails, naming it.
        let e = cluster.connection(before.node_id).await.unwrap_err();
        assert!(matches!(&e, Error::Connect { .. }), "{e}");
        assert!(e.to_string().contains(conn.broker()), "{e}");
        assert!(e.is_retriable(), "{e}");
        // The next lookup sees the leader the controller elected, with a newer epoch.
        let after = cluster.leader_for("moving", 0).await.unwrap();
        assert_ne!(after.node_id, before.node_id);
        assert!(after.leader_epoch > before.leader_epoch);
        cluster.connection(after.node_id).await.unwrap();
        dev.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutting_the_cluster_down_fails_calls_in_flight_and_nothing_hangs() {
    bounded(async {
        let dev = cluster(1).await;
        dev.create_topic("idle", 1, 1).unwrap();
        let cluster = Cluster::connect(config(&dev)).await.unwrap();
        let (conn, topic_id) = leader_connection(&cluster, "idle").await;
        let broker = conn.broker().to_string();

        let mut calls = JoinSet::new();
        {
            let conn = conn.clone();
            calls.spawn(async move {
                conn.call(long_poll(topic_id, 0, Duration::from_secs(1)))
                    .await
                    .map(|_| ())
            });
        }
        for i in 0..20 {
            let conn = conn.clone();
            calls.spawn(async move { conn.call(metadata_for(&format!("t{i}"))).await.map(|_| ()) });
        }
        dev.shutdown().await;

        // Every call ends — answered if the broker got to it first, else a connection error.
        while let Some(joined) = calls.join_next().await {
            if let Err(e) = joined.unwrap() {
                assert!(matches!(e, Error::ConnectionLost { .. }), "{e}");
                assert!(e.to_string().contains(&broker), "{e}");
            }
        }
        tokio::time::timeout(Duration::from_secs(10), conn.closed())
            .await
            .unwrap();
        let e = conn.call(metadata_for("idle")).await.unwrap_err();
        assert!(matches!(e, Error::ConnectionLost { .. }), "{e}");
        // The pool cannot reconnect and says where it tried.
        let e = cluster.any_connection().await.unwrap_err();
        assert!(matches!(e, Error::NoBrokerAvailable { .. }), "{e}");
        assert!(e.to_string().contains(&broker), "{e}");
    })
    .await;
}
