//! Batching at defaults: a batch that has to wait (its partition has one in flight) grows
//! past `batch.size`, an explicit `batch.size` is a hard limit as in Java, and a grown batch
//! a topic refuses as too large is split and delivered, in order, with every record's
//! offset right. When batches go: a full one at once, without leaving a keyless record
//! behind to wait out `linger.ms`, and with it whatever its broker's other partitions hold.

use std::time::Duration;

use streamctl_client::producer::{Producer, Record};
use streamctl_client::Cluster;
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster, read_batches, read_partition};

use super::LIMIT;

const RECORDS: usize = 5_000;

/// Sends `RECORDS` 200-byte records to `topic`-0 while the broker answers each request 50 ms
/// late (so batches wait behind the one in flight), checks every delivery, and returns the
/// largest batch the partition holds.
async fn send_behind_a_slow_broker(dc: &DevCluster, producer: &Producer, topic: &str) -> usize {
    dc.inject_latency(1, Duration::from_millis(50)).unwrap();
    let mut deliveries = Vec::new();
    for i in 0..RECORDS {
        let value = format!("{i:0>200}");
        let record = Record::new(topic).partition(0).value(value.as_bytes());
        deliveries.push(producer.send(record).await.unwrap());
    }
    producer.flush().await;
    dc.clear_faults(1).unwrap();
    let mut offsets = Vec::new();
    for d in deliveries {
        offsets.push(d.await.unwrap().offset);
    }
    // Every record acknowledged at the offset it was written to, in send order.
    let cluster = Cluster::connect(streamctl_client::ClientConfig::new(&dc.bootstrap_servers()))
        .await
        .unwrap();
    let stored = read_partition(&cluster, topic, 0).await;
    assert_eq!(stored.len(), RECORDS);
    for (i, (offset, record)) in offsets.iter().zip(&stored).enumerate() {
        assert_eq!(*offset, record.offset, "record {i}: acknowledged offset");
        assert_eq!(record.value, format!("{i:0>200}"), "record {i}: order");
    }
    read_batches(&cluster, topic, 0)
        .await
        .iter()
        .map(|b| b.as_bytes().len())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_batch_grows_past_the_default_batch_size_but_not_past_an_explicit_one() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic_with("grown", 1, 1, &[]).unwrap();
        dc.create_topic_with("capped", 1, 1, &[]).unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .build()
            .await
            .unwrap();
        let grown = send_behind_a_slow_broker(&dc, &producer, "grown").await;
        assert!(grown > 64 * 1024, "largest batch {grown} bytes");
        let explicit = Producer::builder(&dc.bootstrap_servers())
            .batch_size(16_384)
            .build()
            .await
            .unwrap();
        let capped = send_behind_a_slow_broker(&dc, &explicit, "capped").await;
        assert!(capped <= 16_384 + 512, "largest batch {capped} bytes");
        dc.shutdown().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_topic_refuses_as_too_large_is_split_and_delivered_in_order() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic_with("small-messages", 1, 1, &[("max.message.bytes", "40000")])
            .unwrap();
        // Idempotent (the default): the parts share the refused batch's sequences.
        let producer = Producer::builder(&dc.bootstrap_servers())
            .build()
            .await
            .unwrap();
        let largest = send_behind_a_slow_broker(&dc, &producer, "small-messages").await;
        assert!(largest <= 40_000, "largest batch {largest} bytes");
        dc.shutdown().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_too_large_for_the_topic_fails_alone_after_a_split() {
    // One 50 KB record among 200-byte ones, to a topic taking batches of 40,000 bytes: the
    // grown batch holding it is split, its part fails for good, and every other record is
    // delivered, in order, at the offset it was acknowledged (the refused range's sequences
    // are given back, not handed to the parts ahead of time).
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(1).await;
        dc.create_topic_with("mixed", 1, 1, &[("max.message.bytes", "40000")])
            .unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .build()
            .await
            .unwrap();
        dc.inject_latency(1, Duration::from_millis(50)).unwrap();
        let big = 2_500;
        let mut deliveries = Vec::new();
        for i in 0..RECORDS {
            let value = if i == big {
                "x".repeat(50_000)
            } else {
                format!("{i:0>200}")
            };
            let record = Record::new("mixed").partition(0).value(value.as_bytes());
            deliveries.push(producer.send(record).await.unwrap());
        }
        producer.flush().await;
        dc.clear_faults(1).unwrap();
        let mut acked = Vec::new();
        for (i, d) in deliveries.into_iter().enumerate() {
            match d.await {
                Ok(m) => acked.push((i, m.offset)),
                Err(e) => assert_eq!(i, big, "record {i} failed: {e}"),
            }
        }
        assert_eq!(acked.len(), RECORDS - 1, "only the 50 KB record fails");
        let cluster =
            Cluster::connect(streamctl_client::ClientConfig::new(&dc.bootstrap_servers()))
                .await
                .unwrap();
        let stored = read_partition(&cluster, "mixed", 0).await;
        assert_eq!(stored.len(), RECORDS - 1);
        for ((i, offset), record) in acked.iter().zip(&stored) {
            assert_eq!(*offset, record.offset, "record {i}: acknowledged offset");
            assert_eq!(record.value, format!("{i:0>200}"), "record {i}: order");
        }
        dc.shutdown().await;
    })
    .await
    .expect("timed out");
}

/// A linger no test waits out: a record acknowledged within [`PROMPT`] did not wait for it.
const NEVER: Duration = Duration::from_secs(600);
const PROMPT: Duration = Duration::from_secs(20);

/// One broker with `topic` (`partitions`, all led by it) and a producer whose batches hold
/// 1,024 bytes and never linger out.
async fn lingering_producer(topic: &str, partitions: i32) -> (DevCluster, Producer) {
    let dc = cluster(1).await;
    dc.create_topic_with(topic, partitions, 1, &[]).unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .linger(NEVER)
        .batch_size(1_024)
        .build()
        .await
        .unwrap();
    (dc, producer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_batch_goes_at_once_and_leaves_no_keyless_record_waiting_for_linger() {
    // Keyless records move between partitions at batch boundaries: the record that does
    // not fit a full batch goes to the batch the partitioner picks next, instead of being
    // left alone in a new batch that only linger.ms would send.
    tokio::time::timeout(LIMIT, async {
        let (dc, producer) = lingering_producer("sticky", 4).await;
        let value = [b'v'; 100];
        let mut deliveries = Vec::new();
        for _ in 0..200 {
            deliveries.push(
                producer
                    .send(Record::new("sticky").value(&value))
                    .await
                    .unwrap(),
            );
        }
        // Only the batch still open (at most 1,024 bytes: 8 of these records) may wait.
        let open = deliveries.split_off(deliveries.len() - 8);
        for (i, d) in deliveries.into_iter().enumerate() {
            tokio::time::timeout(PROMPT, d)
                .await
                .unwrap_or_else(|_| panic!("record {i} waited for linger.ms"))
                .unwrap();
        }
        producer.flush().await;
        for d in open {
            d.await.unwrap();
        }
        dc.shutdown().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_batch_takes_the_other_partitions_of_its_broker_along() {
    // As Java's drain: once a broker has a batch due, every partition it leads sends what
    // it holds in the same request, lingered or not.
    tokio::time::timeout(LIMIT, async {
        let (dc, producer) = lingering_producer("along", 2).await;
        let value = [b'v'; 100];
        let lone = producer
            .send(Record::new("along").partition(1).value(&value))
            .await
            .unwrap();
        for _ in 0..20 {
            producer
                .send(Record::new("along").partition(0).value(&value))
                .await
                .unwrap();
        }
        let acked = tokio::time::timeout(PROMPT, lone)
            .await
            .expect("partition 1's record waited for linger.ms")
            .unwrap();
        assert_eq!((acked.partition, acked.offset), (1, 0));
        producer.flush().await;
        dc.shutdown().await;
    })
    .await
    .expect("timed out");
}
