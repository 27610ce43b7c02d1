//! Log compaction seen from a consumer: a compacted topic written with our producer, cleaned
//! on every replica (each cleans its own log), read from the start by our consumer, before
//! and after the leader is killed.

use std::collections::BTreeMap;
use std::time::Duration;

use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_devcluster::controller::NewTopic;
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
        dc.controller()
            .create_topic(
                &NewTopic {
                    name: "table".into(),
                    num_partitions: 1,
                    replication_factor: 3,
                    configs: configs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..NewTopic::default()
                },
                false,
            )
            .unwrap();
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

        // Every replica cleans its own log (the broker's tick would, within seconds).
        let now = streamctl_devcluster::partition::now_ms();
        for node in 1..=3 {
            let replica = dc.replica(node, "table", 0).unwrap();
            let stats = replica
                .clean(now)
                .unwrap()
                .expect("enough of the log is dirty");
            assert!(
                stats.bytes_after < stats.bytes_before / 4,
                "node {node}: {stats:?}"
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
