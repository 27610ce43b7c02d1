//! Regression tests for acknowledged data the dev cluster once lost in ordinary flows (issue
//! 16). Each drives the cluster from outside, over the wire, and breaks one premise an
//! acknowledgement relies on:
//! - a partition directory's marker left empty by a crash must not make a broker delete its
//!   own data;
//! - producer ids must not be reused after a restart (the new producer's first batch would be
//!   taken for a duplicate of the old one's and never written);
//! - records removed by DeleteRecords must stay removed when the leader fails over or the
//!   cluster restarts;
//! - a fetch sent by a follower before it was killed must not vouch for its restarted, empty
//!   self.

use std::time::Duration;

use streamctl_devcluster::DevCluster;
use streamctl_protocol::messages::delete_records::{
    DeleteRecordsRequestPartition, DeleteRecordsRequestTopic,
};
use streamctl_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use streamctl_protocol::messages::{
    DeleteRecordsRequest, InitProducerIdRequest, ListOffsetsRequest,
};
use streamctl_protocol::ErrorCode;
use streamctl_testkit::{cluster, cluster_with, TempDir};

use crate::support;
use crate::support::{
    addr, idempotent_batch, leader, produce, produce_batch, read_all, request, values,
    wait_partition,
};

async fn on_disk(dir: &TempDir) -> DevCluster {
    cluster_with(3, |b| b.data_dir(dir.path())).await
}

/// Waits until every partition of `topic` has a leader and a full ISR, and returns its
/// leader.
async fn settled(cluster: &DevCluster, topic: &str, partition: i32) -> i32 {
    wait_partition(cluster, topic, partition, "a full ISR", |l, isr| {
        l >= 0 && isr.len() == 3
    })
    .await;
    leader(cluster, topic, partition).await
}

/// Reads everything committed, once the leader's high watermark covers `expected` records
/// (a restarted leader's high watermark trails its log until the followers fetch).
async fn read_back(
    cluster: &DevCluster,
    topic: &str,
    partition: i32,
    expected: usize,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + support::STEP;
    loop {
        let l = settled(cluster, topic, partition).await;
        let got = read_all(addr(cluster, l), topic, partition)
            .await
            .unwrap_or_default();
        if got.len() >= expected || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_torn_partition_marker_never_removes_the_partitions_data() {
    // A crash while the marker was being rewritten left it empty (the old code rewrote it
    // with a truncating write on every open); the next open took that for another topic's
    // directory and deleted every record in it.
    let dir = TempDir::new("durability-marker");
    let cluster = on_disk(&dir).await;
    cluster.create_topic("marks", 2, 3).unwrap();
    for p in 0..2 {
        let l = settled(&cluster, "marks", p).await;
        let (err, _) = produce(addr(&cluster, l), "marks", p, -1, &values("m", 50))
            .await
            .unwrap();
        assert_eq!(err, ErrorCode::None);
    }
    cluster.shutdown().await;
    let mut damaged = 0;
    for broker in 1..=3 {
        for p in 0..2 {
            let marker = dir
                .path()
                .join(format!("broker-{broker}/marks-{p}/partition.metadata"));
            let torn = if p == 0 { "" } else { "topic_id: " };
            std::fs::write(&marker, torn).unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 6);
    let cluster = on_disk(&dir).await;
    for p in 0..2 {
        let got = read_back(&cluster, "marks", p, 50).await;
        assert_eq!(
            got,
            values("m", 50),
            "partition {p} lost acknowledged records"
        );
    }
    cluster.shutdown().await;
}

async fn init_producer_id(cluster: &DevCluster) -> i64 {
    let resp = request(
        addr(cluster, 1),
        InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        },
        4,
    )
    .await;
    assert_eq!(resp.error_code, 0);
    resp.producer_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_ids_are_never_reused_after_a_restart() {
    // Produce A, restart on the same data dir, produce B: B used to get the same producer id
    // and epoch as A, the rebuilt producer state took its first batch for a retry of A's,
    // and answered "delivered @ 0" without writing it.
    let dir = TempDir::new("durability-pids");
    let cluster = on_disk(&dir).await;
    cluster.create_topic("pids", 1, 3).unwrap();
    let l = settled(&cluster, "pids", 0).await;
    let a = init_producer_id(&cluster).await;
    let (err, offset) = produce_batch(
        addr(&cluster, l),
        "pids",
        0,
        -1,
        idempotent_batch(&values("A", 1), a, 0, 0),
    )
    .await
    .unwrap();
    assert_eq!((err, offset), (ErrorCode::None, 0));
    cluster.shutdown().await;

    let cluster = on_disk(&dir).await;
    let b = init_producer_id(&cluster).await;
    assert_ne!(a, b, "producer id {a} handed out twice");
    let l = settled(&cluster, "pids", 0).await;
    let (err, offset) = produce_batch(
        addr(&cluster, l),
        "pids",
        0,
        -1,
        idempotent_batch(&values("B", 1), b, 0, 0),
    )
    .await
    .unwrap();
    assert_eq!((err, offset), (ErrorCode::None, 1));
    assert_eq!(read_back(&cluster, "pids", 0, 2).await, vec!["A-0", "B-0"]);
    cluster.shutdown().await;
}

/// ListOffsets "earliest" (the log start offset) of partition 0 at `leader`.
async fn earliest(cluster: &DevCluster, leader: i32, topic: &str) -> (ErrorCode, i64) {
    let resp = request(
        addr(cluster, leader),
        ListOffsetsRequest {
            replica_id: -1,
            topics: vec![ListOffsetsTopic {
                name: topic.into(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: 0,
                    timestamp: -2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        },
        5,
    )
    .await;
    let p = &resp.topics[0].partitions[0];
    (ErrorCode::from_code(p.error_code), p.offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_records_stay_deleted_across_a_failover_and_a_restart() {
    // DeleteRecords answered low watermark 5; the leader then died, and the new leader (which
    // had never heard of the deletion) served offsets 0..4 again.
    let dir = TempDir::new("durability-delete");
    let cluster = on_disk(&dir).await;
    cluster.create_topic("del", 1, 3).unwrap();
    let l = settled(&cluster, "del", 0).await;
    let (err, _) = produce(addr(&cluster, l), "del", 0, -1, &values("d", 10))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::None);
    let resp = request(
        addr(&cluster, l),
        DeleteRecordsRequest {
            topics: vec![DeleteRecordsRequestTopic {
                name: "del".into(),
                partitions: vec![DeleteRecordsRequestPartition {
                    partition_index: 0,
                    offset: 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            timeout_ms: 10_000,
            ..Default::default()
        },
        2,
    )
    .await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!((p.error_code, p.low_watermark), (0, 5));

    cluster.kill_broker(l).await.unwrap();
    wait_partition(&cluster, "del", 0, "a new leader", |new, _| {
        new >= 0 && new != l
    })
    .await;
    let new = leader(&cluster, "del", 0).await;
    assert_eq!(
        earliest(&cluster, new, "del").await,
        (ErrorCode::None, 5),
        "the new leader {new} brought deleted records back"
    );
    cluster.start_broker(l).await.unwrap();
    cluster.shutdown().await;

    // Every replica keeps its log start across a restart of the whole cluster.
    let cluster = on_disk(&dir).await;
    let l = settled(&cluster, "del", 0).await;
    assert_eq!(earliest(&cluster, l, "del").await, (ErrorCode::None, 5));
    // Whichever replica leads, the deleted records stay deleted.
    for down in 1..=3 {
        cluster.kill_broker(down).await.unwrap();
        wait_partition(&cluster, "del", 0, "a live leader", |l, _| {
            l >= 0 && l != down
        })
        .await;
        let l = leader(&cluster, "del", 0).await;
        assert_eq!(
            earliest(&cluster, l, "del").await,
            (ErrorCode::None, 5),
            "broker {l} leads with broker {down} down"
        );
        cluster.start_broker(down).await.unwrap();
        settled(&cluster, "del", 0).await;
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_parked_by_a_killed_follower_does_not_vouch_for_its_restart() {
    // The leader answers slowly (injected latency), so a follower's fetch sits in it; the
    // follower is killed and restarted empty (in memory) meanwhile. The old broker read the
    // follower's broker epoch when the delayed handler ran — the new incarnation's — so the
    // old fetch's offset counted for the empty broker and put it in the ISR.
    let cluster = cluster(3).await;
    cluster.create_topic("parked", 1, 3).unwrap();
    let l = settled(&cluster, "parked", 0).await;
    let (err, _) = produce(addr(&cluster, l), "parked", 0, -1, &values("p", 20))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::None);
    let follower = (1..=3).find(|b| *b != l).unwrap();
    let latency = Duration::from_millis(400);
    // The race is timing-dependent; a few rounds make it likely that the old broker shows it,
    // while a correct one passes every round whatever the timing.
    for round in 1..=3 {
        cluster.inject_latency(l, latency).unwrap();
        // One more record wakes the followers' parked fetches; the fetches they send next
        // sit in the leader's injected latency.
        let (err, _) = produce(addr(&cluster, l), "parked", 0, 1, &values("q", 1))
            .await
            .unwrap();
        assert_eq!(err, ErrorCode::None);
        let records = 20 + round;
        cluster.kill_broker(follower).await.unwrap();
        // Restarted while the dead incarnation's fetch still waits, so that fetch is handled
        // after the restart, yet before the new incarnation's own first fetch.
        tokio::time::sleep(latency / 2).await;
        cluster.start_broker(follower).await.unwrap();
        // Until the restarted follower has really copied the records (each of its requests
        // now takes 400 ms), it must not be in the ISR.
        let until = tokio::time::Instant::now() + latency * 3;
        while tokio::time::Instant::now() < until {
            let in_isr = cluster
                .controller()
                .snapshot()
                .partition("parked", 0)
                .unwrap()
                .isr
                .contains(&follower);
            let leo = cluster
                .replica(follower, "parked", 0)
                .map_or(0, |r| r.offsets().2);
            assert!(
                !in_isr || leo >= records,
                "round {round}: broker {follower} joined the ISR holding {leo} of {records} records"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cluster.clear_faults(l).unwrap();
        settled(&cluster, "parked", 0).await;
        assert_eq!(
            cluster.replica(follower, "parked", 0).unwrap().offsets().2,
            records
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isr_change_is_on_disk_before_the_cluster_acts_on_it() {
    // `topics.json` used to be written by a background task after a change was published: a
    // crash in that window restarted with the old ISR (a replica already dropped could be
    // elected) or reused leader epochs that had fenced an old leader.
    let dir = TempDir::new("durability-persist");
    let cluster = on_disk(&dir).await;
    cluster.create_topic("persist", 3, 3).unwrap();
    for p in 0..3 {
        settled(&cluster, "persist", p).await;
    }
    for down in [2, 3] {
        cluster.kill_broker(down).await.unwrap();
        // Read at once: what the controller published must already be on disk.
        let published = cluster.controller().snapshot();
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("topics.json")).unwrap())
                .unwrap();
        let topic = stored
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "persist")
            .unwrap();
        for p in 0..3usize {
            let meta = published.partition("persist", p as i32).unwrap();
            let isr: Vec<i32> = serde_json::from_value(topic["isr"][p].clone()).unwrap();
            let epoch: i32 = serde_json::from_value(topic["leader_epochs"][p].clone()).unwrap();
            assert_eq!(
                (isr, epoch),
                (meta.isr.clone(), meta.leader_epoch),
                "partition {p} after broker {down} died: topics.json lags the published metadata"
            );
        }
    }
    cluster.shutdown().await;
}
