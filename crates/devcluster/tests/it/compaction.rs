//! Log compaction proven by a client we did not write: confluent-kafka writes 100,000 updates
//! over 1,000 keys and tombstones for 100 of them to a compacted topic; after the cleaner
//! runs on every broker, a consumer from the start reads exactly the latest value of each
//! live key, in the order they were last written, then no tombstone once
//! `delete.retention.ms` has passed, and the same after a leader failover and after the
//! whole cluster restarts on its data. The cleaner runs when the test says
//! ([`DevCluster::run_log_cleaner`], its backoff set to an hour), so what each check expects
//! does not depend on timing.

use std::time::Duration;

use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster_with, python, TempDir};

use crate::support::{now_ms, run_python, wait_partition, STEP};

const TOPIC: &str = "changelog";
/// The topic's `delete.retention.ms` (set by the script).
const DELETE_RETENTION_MS: i64 = 2000;

/// Waits until every replica of the partition holds what the leader has and knows it is
/// committed (high watermark = log end everywhere): each replica may then clean all of it.
async fn wait_replicas_agree(cluster: &DevCluster) {
    let md = cluster.controller().snapshot();
    let replicas = md.partition(TOPIC, 0).unwrap().replicas.clone();
    let agreed = tokio::time::timeout(STEP, async {
        loop {
            let offsets: Vec<(i64, i64)> = replicas
                .iter()
                .filter_map(|&n| cluster.replica(n, TOPIC, 0))
                .map(|r| {
                    let (_, hw, leo) = r.offsets();
                    (hw, leo)
                })
                .collect();
            if offsets.len() == replicas.len()
                && offsets.iter().all(|o| *o == offsets[0] && o.0 == o.1)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(agreed.is_ok(), "the replicas of {TOPIC} did not catch up");
}

async fn check(cluster: &DevCluster, tombstones: &str) {
    run_python(
        "confluent_kafka",
        "confluent_compaction.py",
        &[&cluster.bootstrap_servers(), TOPIC, "check", tombstones],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_reads_the_latest_value_per_key_after_cleaning_failover_and_restart() {
    if python("confluent_kafka").is_none() {
        return;
    }
    let dir = TempDir::new("compaction-proof");
    let start = || {
        cluster_with(3, |b| {
            b.data_dir(dir.path())
                .log_cleaner_backoff(Duration::from_secs(3600))
        })
    };
    let cluster = start().await;
    let bootstrap = cluster.bootstrap_servers();
    run_python(
        "confluent_kafka",
        "confluent_compaction.py",
        &[&bootstrap, TOPIC, "produce"],
    )
    .await;
    wait_replicas_agree(&cluster).await;
    let size_before: Vec<u64> = (1..=3)
        .map(|n| cluster.replica(n, TOPIC, 0).unwrap().size_bytes())
        .collect();
    cluster.run_log_cleaner().await;
    let cleaned_at = now_ms();
    for n in 1..=3 {
        let replica = cluster.replica(n, TOPIC, 0).unwrap();
        let state = replica.cleaner_state(now_ms()).unwrap();
        println!(
            "broker {n}: {} bytes before, {} after; cleaned {} bytes to {} in {} ms",
            size_before[n as usize - 1],
            replica.size_bytes(),
            state.bytes_read,
            state.bytes_left,
            state.last_duration_ms
        );
        assert_eq!(state.runs, 1, "broker {n}: {state:?}");
        assert!(
            replica.size_bytes() < size_before[n as usize - 1] / 20,
            "broker {n} kept most of its log"
        );
    }
    check(&cluster, "100").await;

    // Tombstones go at the first cleaning past their horizon (cleaning time +
    // delete.retention.ms). That is the one wait here: the config is a time.
    let horizon = cleaned_at + DELETE_RETENTION_MS + 100;
    let wait = u64::try_from(horizon - now_ms()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    run_python(
        "confluent_kafka",
        "confluent_compaction.py",
        &[&bootstrap, TOPIC, "roll"],
    )
    .await;
    wait_replicas_agree(&cluster).await;
    cluster.run_log_cleaner().await;
    check(&cluster, "0").await;

    // Every replica cleaned its own log: a new leader serves the same.
    let md = cluster.controller().snapshot();
    let victim = md.partition(TOPIC, 0).unwrap().leader;
    cluster.kill_broker(victim).await.unwrap();
    wait_partition(&cluster, TOPIC, 0, "a new leader", |leader, _| {
        leader >= 0 && leader != victim
    })
    .await;
    check(&cluster, "0").await;
    cluster.start_broker(victim).await.unwrap();

    // What was cleaned is what the disks hold.
    cluster.shutdown().await;
    let cluster = start().await;
    check(&cluster, "0").await;
    cluster.shutdown().await;
}
