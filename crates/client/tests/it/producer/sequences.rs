//! Idempotent sequences under faults (KIP-360, KIP-588): a sequence whose outcome is unknown
//! is never reused, and a partition whose broker lost the producer's state recovers without
//! a restart. Each test drives the dev cluster's fault hooks and reads the log back.

use std::time::Duration;

use streamctl_client::producer::{Producer, ProducerBuilder, Record};
use streamctl_client::protocol::{ApiKey, ErrorCode};
use streamctl_devcluster::controller::NewTopic;
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster, read_batches, read_partition};

use super::LIMIT;

fn producer(dc: &DevCluster) -> ProducerBuilder {
    Producer::builder(&dc.bootstrap_servers()).linger(Duration::ZERO)
}

/// Sends one record and waits for its acknowledgement; returns its offset.
async fn send_acked(producer: &Producer, topic: &str, partition: i32, value: &str) -> i64 {
    producer
        .send(
            Record::new(topic)
                .partition(partition)
                .value(value.as_bytes()),
        )
        .await
        .unwrap()
        .await
        .unwrap_or_else(|e| panic!("{value} was not acknowledged: {e}"))
        .offset
}

/// Polls (bounded) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn log_end_offset(dc: &DevCluster, node: i32, topic: &str, partition: i32) -> i64 {
    dc.replica(node, topic, partition)
        .map_or(-1, |r| r.offsets().2)
}

fn produce_requests(dc: &DevCluster, node: i32) -> u64 {
    dc.metrics(node).unwrap().requests(ApiKey::Produce)
}

/// Asserts that each acknowledged (offset, value) is in the log exactly once, at its offset.
async fn assert_acked_present(
    producer: &Producer,
    topic: &str,
    partition: i32,
    acked: &[(i64, String)],
) -> Vec<String> {
    let log = read_partition(producer.cluster(), topic, partition).await;
    for (offset, value) in acked {
        let copies = log.iter().filter(|r| r.value == *value).count();
        assert_eq!(
            copies, 1,
            "acknowledged {value} is in the log {copies} times: {log:?}"
        );
        assert!(
            log.iter().any(|r| r.offset == *offset && r.value == *value),
            "acknowledged {value} is not at its offset {offset}: {log:?}"
        );
    }
    log.into_iter().map(|r| r.value).collect()
}

/// Every idempotent batch's (producer id, epoch, base sequence) in a partition's log, read
/// with the raw Fetch API.
async fn sequences_in_log(
    producer: &Producer,
    topic: &str,
    partition: i32,
) -> Vec<(i64, i16, i32)> {
    read_batches(producer.cluster(), topic, partition)
        .await
        .iter()
        .map(|b| (b.producer_id(), b.producer_epoch(), b.base_sequence()))
        .collect()
}

/// Scenario: the batch is appended but its response is lost (the client times out), then the
/// retries are refused until the batch fails. The old code gave its sequence back, so the next
/// batch reused it and the broker answered it as a duplicate of the lost one: acknowledged,
/// and not in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_lost_after_the_append_never_turns_a_later_batch_into_a_duplicate() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic("lost", 1, 1).unwrap();
        let producer = producer(&dc)
            .set("request.timeout.ms", "300")
            .unwrap()
            .set("retry.backoff.ms", "2500")
            .unwrap()
            .set("retry.backoff.max.ms", "2500")
            .unwrap()
            .set("retries", "1")
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut acked = vec![(send_acked(&producer, "lost", 0, "a").await, "a".to_string())];

        // The broker sits on the request longer than the client waits, then appends it.
        dc.inject_latency(1, Duration::from_millis(1_000)).unwrap();
        let b = producer
            .send(Record::new("lost").partition(0).value(b"b"))
            .await
            .unwrap();
        eventually("b is appended", || log_end_offset(&dc, 1, "lost", 0) == 2).await;
        // The retry (after 2.5 s of backoff) is refused before the append until b fails.
        dc.inject_latency(1, Duration::ZERO).unwrap();
        dc.inject_errors(1, ApiKey::Produce, ErrorCode::NotEnoughReplicas, 1_000)
            .unwrap();
        let err = b.await.expect_err("b's retries are refused");
        assert_eq!(err.code(), Some(ErrorCode::NotEnoughReplicas), "{err}");
        dc.clear_faults(1).unwrap();

        for i in 0..5 {
            let v = format!("c{i}");
            acked.push((send_acked(&producer, "lost", 0, &v).await, v));
        }
        let values = assert_acked_present(&producer, "lost", 0, &acked).await;
        // b failed for the producer but was written: "failed" means "outcome unknown".
        assert_eq!(values, ["a", "b", "c0", "c1", "c2", "c3", "c4"]);
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// Scenario: OUT_OF_ORDER_SEQUENCE_NUMBER once. The batch is resent from sequence 0 under a
/// new epoch and delivered; the old code failed it and gave its sequence back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_out_of_order_sequence_is_recovered_from() {
    recovers_from_injected(ErrorCode::OutOfOrderSequenceNumber).await;
}

/// Scenario: UNKNOWN_PRODUCER_ID once (KIP-360): as for OUT_OF_ORDER_SEQUENCE_NUMBER.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_producer_id_is_recovered_from() {
    recovers_from_injected(ErrorCode::UnknownProducerId).await;
}

async fn recovers_from_injected(code: ErrorCode) {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic("seq", 1, 1).unwrap();
        let producer = producer(&dc).build().await.unwrap();
        let mut acked = Vec::new();
        for i in 0..3 {
            let v = format!("before-{i}");
            acked.push((send_acked(&producer, "seq", 0, &v).await, v));
        }
        dc.inject_errors(1, ApiKey::Produce, code, 1).unwrap();
        for i in 0..5 {
            let v = format!("after-{i}");
            acked.push((send_acked(&producer, "seq", 0, &v).await, v));
        }
        let values = assert_acked_present(&producer, "seq", 0, &acked).await;
        let expected: Vec<&String> = acked.iter().map(|(_, v)| v).collect();
        assert_eq!(values.iter().collect::<Vec<_>>(), expected, "in send order");
        // The resent batch starts the new epoch at sequence 0.
        let stamps = sequences_in_log(&producer, "seq", 0).await;
        assert_eq!(stamps[3].2, 0, "{stamps:?}");
        assert!(stamps[3].1 > stamps[2].1, "a new epoch: {stamps:?}");
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// Scenario: the broker really loses the producer's state (an in-memory broker restarted
/// empty), so it expects sequence 0 where the producer continues. The old code refused the
/// batch and gave the sequence back, and every later batch got the same refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_whose_broker_lost_the_producer_state_is_not_stuck() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic("amnesia", 1, 1).unwrap();
        let producer = producer(&dc).build().await.unwrap();
        for i in 0..3 {
            send_acked(&producer, "amnesia", 0, &format!("lost-{i}")).await;
        }
        dc.kill_broker(1).await.unwrap();
        dc.start_broker(1).await.unwrap();
        let mut acked = Vec::new();
        for i in 0..5 {
            let v = format!("after-{i}");
            acked.push((send_acked(&producer, "amnesia", 0, &v).await, v));
        }
        let values = assert_acked_present(&producer, "amnesia", 0, &acked).await;
        let expected: Vec<&String> = acked.iter().map(|(_, v)| v).collect();
        assert_eq!(values.iter().collect::<Vec<_>>(), expected);
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// Scenario: the producer changes identity while a batch of another partition is in flight,
/// and that batch is then refused. The old code reset every partition to sequence 0 at once,
/// so the refusal rolled the partition back to 2^31 - 1 and it was refused from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_change_under_a_batch_in_flight_never_wraps_its_partition() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(3).await;
        // Partition p is led by broker p + 1, with no replicas to slow anything down.
        dc.controller()
            .create_topic(
                &NewTopic {
                    name: "split".into(),
                    assignment: vec![(0, vec![1]), (1, vec![2]), (2, vec![3])],
                    ..NewTopic::default()
                },
                false,
            )
            .unwrap();
        let producer = producer(&dc)
            .set("retries", "0")
            .unwrap()
            .build()
            .await
            .unwrap();
        // Open a connection to every leader (broker 3 stays idle and fast: a new producer id
        // is asked of it).
        let mut acked: Vec<Vec<(i64, String)>> = vec![Vec::new(); 3];
        for p in 0..3 {
            let v = format!("warm-{p}");
            acked[p as usize].push((send_acked(&producer, "split", p, &v).await, v));
        }

        // Partition 0's batch sits on broker 1 for 1.5 s, then is refused before the append.
        dc.inject_latency(1, Duration::from_millis(1_500)).unwrap();
        dc.inject_errors(1, ApiKey::Produce, ErrorCode::MessageTooLarge, 1)
            .unwrap();
        let before = produce_requests(&dc, 1);
        let refused = producer
            .send(Record::new("split").partition(0).value(b"refused"))
            .await
            .unwrap();
        eventually("broker 1 has partition 0's batch", || {
            produce_requests(&dc, 1) > before
        })
        .await;
        // Meanwhile partition 1's batch loses its connection: its outcome is unknown, so the
        // producer must change identity.
        dc.inject_latency(2, Duration::from_millis(1_000)).unwrap();
        let before = produce_requests(&dc, 2);
        let lost = producer
            .send(Record::new("split").partition(1).value(b"lost"))
            .await
            .unwrap();
        eventually("broker 2 has partition 1's batch", || {
            produce_requests(&dc, 2) > before
        })
        .await;
        dc.drop_connections(2).unwrap();
        lost.await.expect_err("the connection was dropped under it");
        let err = refused.await.expect_err("broker 1 refuses it");
        assert_eq!(err.code(), Some(ErrorCode::MessageTooLarge), "{err}");
        dc.clear_faults(1).unwrap();
        dc.clear_faults(2).unwrap();

        for i in 0..3 {
            for p in 0..3 {
                let v = format!("after-{p}-{i}");
                acked[p as usize].push((send_acked(&producer, "split", p, &v).await, v));
            }
        }
        for p in 0..3 {
            assert_acked_present(&producer, "split", p, &acked[p as usize]).await;
            for (id, epoch, sequence) in sequences_in_log(&producer, "split", p).await {
                assert!(
                    (0..1_000).contains(&sequence),
                    "partition {p}: producer {id} epoch {epoch} wrote sequence {sequence}"
                );
            }
        }
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}
