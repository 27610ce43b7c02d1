//! Log compaction, measured: what the cleaner leaves of a changelog and how fast it reads,
//! and how long a group coordinator takes to come back after 1,000,000 offset commits,
//! before and after `__consumer_offsets` is cleaned. Prints its setup and its numbers.
//!
//! ```sh
//! cargo run --release -p streamctl-examples --example bench-compaction
//! cargo run --release -p streamctl-examples --example bench-compaction -- \
//!     --updates 1000000 --keys 10000 --commits 1000000 --offsets-segment-bytes 104857600
//! ```
//!
//! 1. **Changelog**: `--updates` keyed updates (100-byte values) over `--keys` keys, then
//!    tombstones for a tenth of the keys, to a compacted RF 3 topic with 1 MiB segments;
//!    one cleaner pass; each replica's bytes before and after, and its cleaning time.
//! 2. **Throughput**: the same workload to an RF 1 topic, so one cleaner runs alone:
//!    bytes read per second of cleaning.
//! 3. **Coordinator load**: `--commits` offset commits to one group (one partition each,
//!    over 100 partitions, from 16 committers at once), then the group's coordinator is
//!    killed and the time until its committed offsets can be read again is measured; the
//!    broker is started again, every replica of `__consumer_offsets` cleaned, and the new
//!    coordinator killed and timed the same way.
//!
//! The cluster is three brokers in this process, on disk in a temporary directory, with
//! the cleaner run only when the benchmark asks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamctl_client::consumer::{Consumer, TopicPartition};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_examples::{Flags, Result};

const GROUP: &str = "bench-group";
const COMMITTED_TOPIC: &str = "committed";
const COMMITTED_PARTITIONS: i32 = 100;
const COMMITTERS: u64 = 16;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// A small deterministic generator, so runs are comparable without a dependency.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

/// Writes the changelog workload; returns the offset of the last record.
async fn write_changelog(brokers: &str, topic: &str, updates: u64, keys: u64) -> Result<i64> {
    let producer = Producer::builder(brokers)
        .acks(Acks::All)
        .batch_size(64 * 1024)
        .build()
        .await?;
    let mut rng = 22u64;
    let value = [b'x'; 100];
    let mut deliveries = Vec::new();
    for i in 0..updates + keys / 10 {
        let key = if i < updates {
            format!("key-{}", next(&mut rng) % keys)
        } else {
            format!("key-{}", (i - updates) * 10)
        };
        let mut record = Record::new(topic).partition(0).key(key.as_bytes());
        if i < updates {
            record = record.value(&value);
        }
        deliveries.push(producer.send(record).await?);
    }
    producer.flush().await;
    let mut last = -1;
    for d in deliveries {
        last = last.max(d.await?.offset);
    }
    producer.close(Duration::from_secs(5)).await?;
    Ok(last)
}

/// Waits until every replica of `topic`-`partition` has a high watermark past `last`.
async fn wait_replicated(cluster: &DevCluster, topic: &str, partition: i32, last: i64) {
    let md = cluster.controller().snapshot();
    let Some(replicas) = md.partition(topic, partition).map(|p| p.replicas.clone()) else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let done = replicas.iter().all(|&n| {
            cluster
                .replica(n, topic, partition)
                .is_some_and(|r| r.offsets().1 > last)
        });
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn changelog(cluster: &DevCluster, brokers: &str, updates: u64, keys: u64) -> Result<()> {
    for (topic, rf) in [("changelog", 3i16), ("changelog-rf1", 1)] {
        cluster.create_topic_with(
            topic,
            1,
            rf,
            &[("cleanup.policy", "compact"), ("segment.bytes", "1048576")],
        )?;
        let started = Instant::now();
        let last = write_changelog(brokers, topic, updates, keys).await?;
        let took = started.elapsed();
        wait_replicated(cluster, topic, 0, last).await;
        let md = cluster.controller().snapshot();
        let replicas = md
            .partition(topic, 0)
            .map(|p| p.replicas.clone())
            .unwrap_or_default();
        let before: Vec<u64> = replicas
            .iter()
            .filter_map(|&n| cluster.replica(n, topic, 0).map(|r| r.size_bytes()))
            .collect();
        cluster.run_log_cleaner().await;
        println!(
            "{topic} (RF {rf}): {} records written in {:.1} s",
            last + 1,
            took.as_secs_f64()
        );
        for (i, &n) in replicas.iter().enumerate() {
            let Some(r) = cluster.replica(n, topic, 0) else {
                continue;
            };
            let Some(c) = r.cleaner_state(streamctl_devcluster::partition::now_ms()) else {
                continue;
            };
            let secs = (c.last_duration_ms.max(1)) as f64 / 1000.0;
            println!(
                "  broker {n}: {:.2} MB before, {:.3} MB after; the cleaning read {:.2} MB and left {:.3} MB in {} ms: {:.0} MB/s",
                mb(before.get(i).copied().unwrap_or(0)),
                mb(r.size_bytes()),
                mb(c.bytes_read),
                mb(c.bytes_left),
                c.last_duration_ms,
                mb(c.bytes_read) / secs
            );
        }
    }
    Ok(())
}

/// The broker leading the group's `__consumer_offsets` partition.
fn coordinator(cluster: &DevCluster) -> Option<(i32, i32)> {
    let md = cluster.controller().snapshot();
    let partitions = md.topic("__consumer_offsets")?.partitions.len();
    let p = streamctl_devcluster::coordinator::records::partition_for(
        GROUP,
        i32::try_from(partitions).ok()?,
    );
    Some((p, md.partition("__consumer_offsets", p)?.leader))
}

/// Kills the coordinator and times until the group's offsets read back as `expected`.
async fn time_failover(
    cluster: &DevCluster,
    brokers: &str,
    expected: &[(TopicPartition, i64)],
    label: &str,
) -> Result<i32> {
    let (p, victim) = coordinator(cluster).ok_or("no coordinator")?;
    let size = cluster
        .replica(victim, "__consumer_offsets", p)
        .map_or(0, |r| r.size_bytes());
    let reader = Consumer::builder(brokers).group_id(GROUP).build().await?;
    let tps: Vec<TopicPartition> = expected.iter().map(|(tp, _)| tp.clone()).collect();
    cluster.kill_broker(victim).await?;
    let started = Instant::now();
    loop {
        if let Ok(got) = reader.committed(&tps).await {
            if expected
                .iter()
                .all(|(tp, o)| got.get(tp) == Some(&Some(*o)))
            {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err("the group's offsets did not come back".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "  {label}: __consumer_offsets-{p} holds {:.1} MB; coordinator {victim} killed, offsets readable again after {} ms",
        mb(size),
        started.elapsed().as_millis()
    );
    reader.close(Duration::from_secs(1)).await?;
    Ok(victim)
}

async fn coordinator_load(cluster: &DevCluster, brokers: &str, commits: u64) -> Result<()> {
    cluster.create_topic(COMMITTED_TOPIC, COMMITTED_PARTITIONS, 1)?;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..COMMITTERS {
        let (brokers, done) = (brokers.to_string(), done.clone());
        tasks.push(tokio::spawn(async move {
            let consumer = Consumer::builder(&brokers).group_id(GROUP).build().await?;
            let mut i = c;
            while i < commits {
                let p = (i % COMMITTED_PARTITIONS as u64) as i32;
                let tp = TopicPartition::new(COMMITTED_TOPIC, p);
                consumer.commit_offsets([(tp, (i + 1) as i64)]).await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += COMMITTERS;
            }
            consumer.close(Duration::from_secs(1)).await?;
            Ok::<(), streamctl_client::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed();
    println!(
        "{} offset commits to group {GROUP} ({COMMITTED_PARTITIONS} partitions, {COMMITTERS} committers) in {:.1} s ({:.0}/s)",
        done.load(Ordering::Relaxed),
        took.as_secs_f64(),
        done.load(Ordering::Relaxed) as f64 / took.as_secs_f64()
    );
    // What the coordinator answers now (concurrent committers race on each partition, so
    // the last commit to arrive is not always the largest offset).
    let tps: Vec<TopicPartition> = (0..COMMITTED_PARTITIONS)
        .map(|p| TopicPartition::new(COMMITTED_TOPIC, p))
        .collect();
    let reader = Consumer::builder(brokers).group_id(GROUP).build().await?;
    let expected: Vec<(TopicPartition, i64)> = reader
        .committed(&tps)
        .await?
        .into_iter()
        .filter_map(|(tp, o)| Some((tp, o?)))
        .collect();
    reader.close(Duration::from_secs(1)).await?;
    let victim = time_failover(cluster, brokers, &expected, "before cleaning").await?;
    cluster.start_broker(victim).await?;
    let (p, _) = coordinator(cluster).ok_or("no coordinator")?;
    let leo = coordinator(cluster)
        .and_then(|(p, l)| cluster.replica(l, "__consumer_offsets", p))
        .map_or(0, |r| r.offsets().2);
    wait_replicated(cluster, "__consumer_offsets", p, leo - 1).await;
    let clean_started = Instant::now();
    cluster.run_log_cleaner().await;
    println!(
        "  every broker's cleaner pass took {} ms",
        clean_started.elapsed().as_millis()
    );
    time_failover(cluster, brokers, &expected, "after cleaning").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let updates: u64 = flags.parse_or("--updates", 100_000)?;
    let keys: u64 = flags.parse_or("--keys", 1_000)?;
    let commits: u64 = flags.parse_or("--commits", 1_000_000)?;
    let segment: u64 = flags.parse_or("--offsets-segment-bytes", 100 * 1024 * 1024)?;
    let dir = std::env::temp_dir().join(format!("bench-compaction-{}", std::process::id()));
    println!(
        "setup: 3 brokers in this process on disk ({}), {} cores; changelog {updates} updates over {keys} keys + {} tombstones; {commits} commits; offsets.topic.segment.bytes {segment}",
        dir.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        keys / 10
    );
    let cluster = DevCluster::builder()
        .brokers(3)
        .base_port(0)
        .data_dir(&dir)
        .log_cleaner_backoff(Duration::from_secs(24 * 3600))
        .offsets_topic_segment_bytes(segment)
        .start()
        .await?;
    let brokers = cluster.bootstrap_servers();
    let outcome = async {
        changelog(&cluster, &brokers, updates, keys).await?;
        if commits > 0 {
            coordinator_load(&cluster, &brokers, commits).await?;
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    }
    .await;
    cluster.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
