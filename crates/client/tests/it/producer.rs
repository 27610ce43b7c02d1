//! The producer against an in-process dev cluster: delivery and order, retries under injected
//! errors, idempotence across dropped connections, compression read by kcat, and partition
//! parity with librdkafka's murmur2.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use streamctl_client::producer::{Acks, HeaderRef, Producer, Record};
use streamctl_client::protocol::compression::Compression;
use streamctl_client::protocol::{ApiKey, ErrorCode};
use streamctl_client::Cluster;
use streamctl_testkit::{cluster, kcat, kcat_consume, python, read_partition, run};
use tokio::process::Command;

use crate::support::interop_script;

const LIMIT: Duration = Duration::from_secs(60);

mod batching;
mod sequences;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_are_delivered_in_order_per_partition() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(3).await;
        dc.create_topic("orders", 3, 3).unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .build()
            .await
            .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..3000 {
            let key = format!("k{}", i % 50);
            let value = format!("v{i}");
            deliveries.push(
                producer
                    .send(
                        Record::new("orders")
                            .key(key.as_bytes())
                            .value(value.as_bytes()),
                    )
                    .await
                    .unwrap(),
            );
        }
        let mut last: BTreeMap<i32, i64> = BTreeMap::new();
        for d in deliveries {
            let m = d.await.unwrap();
            let prev = last.insert(m.partition, m.offset);
            assert!(
                prev.is_none_or(|p| p < m.offset),
                "offsets go forward per partition"
            );
        }
        producer.close(Duration::from_secs(5)).await.unwrap();
        let total: usize = futures_count(&producer, "orders", 3).await;
        assert_eq!(total, 3000);
        // Per key, values come back in send order.
        let mut per_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for p in 0..3 {
            for r in read_partition(producer.cluster(), "orders", p).await {
                per_key
                    .entry(r.key)
                    .or_default()
                    .push(r.value[1..].parse().unwrap());
            }
        }
        for (k, vs) in per_key {
            assert!(vs.windows(2).all(|w| w[0] < w[1]), "key {k} out of order");
        }
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

async fn futures_count(producer: &Producer, topic: &str, partitions: i32) -> usize {
    let mut n = 0;
    for p in 0..partitions {
        n += read_partition(producer.cluster(), topic, p).await.len();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_is_kept_under_injected_retriable_errors() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(3).await;
        dc.create_topic("retry", 1, 3).unwrap();
        let leader = dc
            .controller()
            .snapshot()
            .partition("retry", 0)
            .unwrap()
            .leader;
        let producer = Producer::builder(&dc.bootstrap_servers())
            .linger(Duration::from_millis(1))
            .batch_size(200)
            .build()
            .await
            .unwrap();
        // Every other produce request to the leader fails for a while.
        dc.inject_errors(leader, ApiKey::Produce, ErrorCode::NotLeaderOrFollower, 5)
            .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..500 {
            let v = format!("{i:05}");
            deliveries.push(
                producer
                    .send(Record::new("retry").value(v.as_bytes()))
                    .await
                    .unwrap(),
            );
            if i == 250 {
                dc.inject_errors(leader, ApiKey::Produce, ErrorCode::RequestTimedOut, 3)
                    .unwrap();
            }
        }
        for d in deliveries {
            d.await.unwrap();
        }
        let values: Vec<String> = read_partition(producer.cluster(), "retry", 0)
            .await
            .into_iter()
            .map(|r| r.value)
            .collect();
        let expected: Vec<String> = (0..500).map(|i| format!("{i:05}")).collect();
        assert_eq!(values, expected, "every record once, in send order");
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotence_prevents_duplicates_across_dropped_connections() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster(3).await;
        dc.create_topic("idem", 2, 3).unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .linger(Duration::from_millis(1))
            .batch_size(1000)
            .build()
            .await
            .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..4000 {
            let v = format!("{i}");
            deliveries.push(
                producer
                    .send(Record::new("idem").key(v.as_bytes()).value(v.as_bytes()))
                    .await
                    .unwrap(),
            );
            if i % 500 == 250 {
                // Cut every client connection of every broker mid-stream: requests in flight
                // may have been written without their answer arriving, and get retried.
                for b in 1..=3 {
                    dc.drop_connections(b).unwrap();
                }
            }
        }
        for d in deliveries {
            d.await.unwrap();
        }
        let mut seen = HashSet::new();
        for p in 0..2 {
            for r in read_partition(producer.cluster(), "idem", p).await {
                assert!(seen.insert(r.value.clone()), "duplicate record {}", r.value);
            }
        }
        assert_eq!(seen.len(), 4000);
        producer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_batches_from_our_producer_are_read_by_kcat() {
    if kcat().is_none() {
        return;
    }
    let dc = cluster(3).await;
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let topic = format!("z-{}", codec.name());
        dc.create_topic(&topic, 1, 1).unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .compression(codec)
            .acks(Acks::Leader)
            .build()
            .await
            .unwrap();
        let headers = [HeaderRef::new("h", b"1"), HeaderRef::new("h", b"2")];
        for i in 0..100 {
            let v = format!("{}-{i}", codec.name());
            producer
                .send(
                    Record::new(&topic)
                        .key(b"k")
                        .value(v.as_bytes())
                        .headers(&headers),
                )
                .await
                .unwrap();
        }
        producer.flush().await;
        let text = kcat_consume(&dc.bootstrap_servers(), &topic, "%k=%s %h\n").await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100, "{codec:?}: {text}");
        assert_eq!(lines[7], format!("k={}-7 h=1,h=2", codec.name()));
        producer.close(Duration::from_secs(5)).await.unwrap();
    }
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_compressed_by_librdkafka_decode_with_ours() {
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let dc = cluster(3).await;
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        dc.create_topic(&format!("theirs-{codec}"), 1, 1).unwrap();
    }
    let script = interop_script("produce_codecs.py");
    run(
        Command::new(py)
            .arg(script)
            .arg(dc.bootstrap_servers())
            .arg("theirs"),
        None,
    )
    .await;
    let cluster = Cluster::connect(streamctl_client::ClientConfig::new(&dc.bootstrap_servers()))
        .await
        .unwrap();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let records = read_partition(&cluster, &format!("theirs-{codec}"), 0).await;
        assert_eq!(records.len(), 50, "{codec}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.key, format!("k{i}"));
            assert!(
                r.value.starts_with(&format!("{codec}-{i}-")),
                "{codec}: {}",
                r.value
            );
        }
    }
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_partitioner_matches_librdkafka_murmur2_for_1000_keys() {
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let dc = cluster(3).await;
    dc.create_topic("parity", 7, 1).unwrap();
    // 1000 pseudo-random keys of varied length and bytes (a fixed LCG: reproducible).
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let keys: Vec<String> = (0..1000)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            format!("key-{i}-{:x}", state >> (state % 40))
        })
        .collect();
    let file = std::env::temp_dir().join(format!("streamctl-keys-{}", std::process::id()));
    std::fs::write(&file, keys.join("\n")).unwrap();
    let script = interop_script("murmur2_partitions.py");
    let out = run(
        Command::new(py)
            .arg(script)
            .arg(dc.bootstrap_servers())
            .arg("parity")
            .arg(&file),
        None,
    )
    .await;
    let theirs: BTreeMap<String, usize> = out
        .lines()
        .map(|l| {
            let (k, p) = l.rsplit_once(' ').unwrap();
            (k.to_string(), p.parse().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), 1000);
    for k in &keys {
        let ours = streamctl_client::producer::partitioner::partition_for_key(k.as_bytes(), 7);
        assert_eq!(ours, theirs[k], "key {k}");
    }
    // And the producer itself puts each key where librdkafka did.
    let producer = Producer::builder(&dc.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for k in keys.iter().take(100) {
        let m = producer
            .send(Record::new("parity").key(k.as_bytes()).value(b"y"))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(m.partition as usize, theirs[k]);
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
    let _ = std::fs::remove_file(file);
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_memory_blocks_send_until_max_block() {
    let dc = cluster(1).await;
    dc.create_topic("full", 1, 1).unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .buffer_memory(4096)
        .max_block(Duration::from_millis(200))
        .idempotence(false)
        .acks(Acks::Leader)
        .build()
        .await
        .unwrap();
    // Learn the topic's metadata first, then stall every answer so nothing frees the buffer.
    producer
        .send(Record::new("full").value(b"warm-up"))
        .await
        .unwrap()
        .await
        .unwrap();
    dc.inject_latency(1, Duration::from_secs(5)).unwrap();
    let big = vec![b'x'; 1000];
    let mut result = Ok(());
    for _ in 0..10 {
        if let Err(e) = producer.send(Record::new("full").value(&big)).await {
            result = Err(e);
            break;
        }
    }
    let err = result.expect_err("send must block and time out when buffer.memory is full");
    assert!(err.to_string().contains("buffer"), "{err}");
    dc.clear_faults(1).unwrap();
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_delivers_without_offsets() {
    let dc = cluster(1).await;
    dc.create_topic("fire", 1, 1).unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .acks(Acks::None)
        .build()
        .await
        .unwrap();
    let mut last = None;
    for i in 0..100 {
        let v = format!("{i}");
        last = Some(
            producer
                .send(Record::new("fire").value(v.as_bytes()))
                .await
                .unwrap(),
        );
    }
    let m = last.unwrap().await.unwrap();
    assert_eq!(m.offset, -1, "acks=0 reports no offset");
    producer.close(Duration::from_secs(5)).await.unwrap();
    // Nothing acknowledges acks=0 writes, so wait on the log itself.
    let replica = dc.replica(1, "fire", 0).unwrap();
    tokio::time::timeout(LIMIT, async {
        while replica.offsets().2 < 100 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the broker never got the acks=0 records");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_fails_after_delivery_timeout_when_the_broker_keeps_refusing() {
    let dc = cluster(1).await;
    dc.create_topic("refused", 1, 1).unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .delivery_timeout(Duration::from_millis(600))
        .linger(Duration::ZERO)
        .build()
        .await
        .unwrap();
    // Warm the metadata, then refuse every produce with a retriable error.
    producer
        .send(Record::new("refused").value(b"ok"))
        .await
        .unwrap()
        .await
        .unwrap();
    dc.inject_errors(1, ApiKey::Produce, ErrorCode::NotEnoughReplicas, 1_000_000)
        .unwrap();
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(
        LIMIT,
        producer
            .send(Record::new("refused").value(b"never"))
            .await
            .unwrap(),
    )
    .await
    .unwrap()
    .expect_err("the record cannot be delivered");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "gave up before delivery.timeout.ms"
    );
    assert!(
        err.to_string().contains("NOT_ENOUGH_REPLICAS") || err.to_string().contains("delivery"),
        "{err}"
    );
    dc.clear_faults(1).unwrap();
    let _ = producer.close(Duration::from_secs(2)).await;
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_does_not_poison_later_idempotent_batches() {
    use streamctl_devcluster::controller::NewTopic;
    let dc = cluster(1).await;
    dc.controller()
        .create_topic(
            &NewTopic {
                name: "small".into(),
                num_partitions: 1,
                replication_factor: 1,
                configs: [("max.message.bytes".to_string(), "1000".to_string())].into(),
                ..NewTopic::default()
            },
            false,
        )
        .unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .linger(Duration::ZERO)
        .build()
        .await
        .unwrap();
    producer
        .send(Record::new("small").value(b"first"))
        .await
        .unwrap()
        .await
        .unwrap();
    let big = vec![b'x'; 2000];
    let err = producer
        .send(Record::new("small").value(&big))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::MessageTooLarge), "{err}");
    // The refused batch's sequences are reused: the next records are accepted, in order.
    for i in 0..5 {
        let v = format!("after-{i}");
        let m = producer
            .send(Record::new("small").value(v.as_bytes()))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(m.offset, 1 + i);
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_max_request_size_is_refused_at_send_and_queues_nothing() {
    let dc = cluster(1).await;
    dc.create_topic("sized", 1, 1).unwrap();
    let producer = Producer::builder(&dc.bootstrap_servers())
        .set("max.request.size", "2048")
        .unwrap()
        .build()
        .await
        .unwrap();
    let big = vec![b'x'; 4096];
    let err = producer
        .send(Record::new("sized").value(&big))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max.request.size"), "{err}");
    producer
        .send(Record::new("sized").value(b"small"))
        .await
        .unwrap()
        .await
        .unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
    let records = read_partition(producer.cluster(), "sized", 0).await;
    assert_eq!(records.len(), 1, "only the small record was written");
    dc.shutdown().await;
}
