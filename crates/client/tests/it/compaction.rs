//! Log compaction seen from a consumer: a compacted topic written with our producer, cleaned
//! on every replica (each cleans its own log), read from the start by our consumer, before
//! and after the leader is killed.

use std::collections::BTreeMap;
use std::time::Duration;

use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_devcluster::DevCluster;

use crate::support::bounded;

const KEYS: usize = 50;
const UPDATES: usize = 2_000;

/// key → latest value (`None`: deleted) of what a consumer reads from the start.
async fn read_table(dc: &DevCluster, topic: &str) -> (usize, BTreeMap<String, Option<String>>) {
    let consumer = Consumer::builder(&dc.bootstrap_servers())
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let tp = TopicPartition::new(topic, 0);
    consumer.assign([tp.clone()]).unwrap();
    let end = consumer
        .end_offsets(std::slice::from_ref(&tp))
        .await
        .unwrap()[&tp];
    let mut table = BTreeMap::new();
    let mut records = 0;
    // The newest record is never compacted away: it ends the read, past every gap.
    let mut last = -1;
    while last < end - 1 {
        for r in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            last = r.offset;
            let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
            let value = r
                .value
                .as_ref()
                .map(|v| String::from_utf8(v.to_vec()).unwrap());
            table.insert(key, value);
            records += 1;
        }
    }
    (records, table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_topic_reads_as_its_latest_values_on_every_replica() {
    bounded(async {
        let dc = streamctl_testkit::cluster(3).await;
        let configs = [
            ("cleanup.policy", "compact"),
            ("segment.bytes", "8192"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ];
        dc.create_topic_with("table", 1, 3, &configs).unwrap();
        // Small batches, so the log spans several segments.
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .batch_size(1024)
            .build()
            .await
            .unwrap();
        let mut expected = BTreeMap::new();
        let mut deliveries = Vec::new();
        for i in 0..UPDATES {
            let key = format!("k{}", i % KEYS);
            // The last update of every fifth key is a delete.
            let deleted = i >= UPDATES - KEYS && (i % KEYS) % 5 == 0;
            let value = (!deleted).then(|| format!("v{i}"));
            let mut record = Record::new("table").partition(0).key(key.as_bytes());
            if let Some(v) = &value {
                record = record.value(v.as_bytes());
            }
            deliveries.push(producer.send(record).await.unwrap());
            expected.insert(key, value);
        }
        producer.flush().await;
        for d in deliveries {
            d.await.unwrap();
        }
        producer.close(Duration::from_secs(5)).await.unwrap();
        let (before, table) = read_table(&dc, "table").await;
        assert_eq!(before, UPDATES);
        assert_eq!(table, expected);

        // Every replica cleans its own log: one cleaner pass on each broker, as the
        // cleaner would run after its backoff.
        dc.run_log_cleaner().await;
        let now = streamctl_devcluster::partition::now_ms();
        for node in 1..=3 {
            let replica = dc.replica(node, "table", 0).unwrap();
            let state = replica.cleaner_state(now).expect("a compacted topic");
            assert_eq!(state.runs, 1, "node {node}: {state:?}");
            assert!(
                state.bytes_left < state.bytes_read / 4,
                "node {node}: {state:?}"
            );
        }
        let (after, table) = read_table(&dc, "table").await;
        assert_eq!(table, expected, "a consumer ends with the same values");
        assert!(after < UPDATES / 4, "{after} records left of {UPDATES}");

        // A follower's cleaned log serves the same once it leads.
        let leader = dc
            .controller()
            .snapshot()
            .partition("table", 0)
            .unwrap()
            .leader;
        dc.kill_broker(leader).await.unwrap();
        let (_, table) = read_table(&dc, "table").await;
        assert_eq!(
            table, expected,
            "the new leader cleaned its own log to the same values"
        );
        dc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_compaction_lag_cleans_what_the_dirty_ratio_would_leave() {
    // Two compacted topics whose dirty ratio stays far below `min.cleanable.dirty.ratio`
    // 0.99 after a first cleaning; only the one with `max.compaction.lag.ms` is cleaned
    // again, because its dirty segment's first record is older than the lag. Record
    // timestamps in the past make the segments old without waiting.
    bounded(async {
        let dc = streamctl_testkit::cluster(1).await;
        let topics = [
            ("lagged", ("max.compaction.lag.ms", "60000")),
            ("unbounded", ("segment.ms", "60000")),
        ];
        for (name, extra) in topics {
            let configs = [
                ("cleanup.policy", "compact"),
                ("min.cleanable.dirty.ratio", "0.99"),
                extra,
            ];
            dc.create_topic_with(name, 1, 1, &configs).unwrap();
        }
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .build()
            .await
            .unwrap();
        let now = streamctl_devcluster::partition::now_ms();
        let hour = 3_600_000;
        let mut deliveries = Vec::new();
        let record = |topic: &'static str, key: &'static str, ts: i64| {
            Record::new(topic)
                .partition(0)
                .key(key.as_bytes())
                .value(b"v")
                .timestamp(ts)
        };
        let runs = |topic: &str| {
            dc.replica(1, topic, 0)
                .unwrap()
                .cleaner_state(streamctl_devcluster::partition::now_ms())
                .unwrap()
                .runs
        };
        for (topic, _) in topics {
            // Segment 0: 1,000 keys three hours old. The next record, an hour younger,
            // rolls it (both configs roll segments after 60 s of record time).
            for k in 0..1_000 {
                let key = format!("k{k}");
                let r = Record::new(topic)
                    .partition(0)
                    .key(key.as_bytes())
                    .value(b"v")
                    .timestamp(now - 3 * hour);
                deliveries.push(producer.send(r).await.unwrap());
            }
            let r = record(topic, "k0", now - 2 * hour);
            deliveries.push(producer.send(r).await.unwrap());
        }
        producer.flush().await;
        for d in deliveries.drain(..) {
            d.await.unwrap();
        }
        dc.run_log_cleaner().await;
        assert_eq!((runs("lagged"), runs("unbounded")), (1, 1));
        for (topic, _) in topics {
            // Rolls the segment holding the one update: a dirty segment of one record
            // beside 1,000 clean ones.
            let r = record(topic, "k1", now);
            deliveries.push(producer.send(r).await.unwrap());
        }
        producer.flush().await;
        for d in deliveries.drain(..) {
            d.await.unwrap();
        }
        dc.run_log_cleaner().await;
        assert_eq!(
            (runs("lagged"), runs("unbounded")),
            (2, 1),
            "only max.compaction.lag.ms makes the small dirty segment due"
        );
        dc.shutdown().await;
    })
    .await;
}
