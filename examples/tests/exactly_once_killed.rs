//! The `exactly-once` example service as a process, killed with SIGKILL while it commits a
//! transaction (every record and the offsets sent, the commit held off by the dev cluster's
//! fault hooks), four times in transactions chosen from a seed, then run to the end: a
//! read_committed reader of the output sees every input record exactly once (upper-cased,
//! key kept).

// A test's helpers may fail the test by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamctl_client::admin::Admin;
use streamctl_client::consumer::{Consumer, IsolationLevel, OffsetReset, TopicPartition};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::protocol::{ApiKey, ErrorCode};
use streamctl_client::ClientConfig;
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster, seed};
use tokio::process::{Child, Command};

const RECORDS: usize = 3000;
const PARTITIONS: i32 = 3;
const KILLS: usize = 4;
const ID: &str = "upper-1";

fn service(brokers: &str, idle_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_exactly-once"))
        .args(["--brokers", brokers, "--input", "in", "--output", "out"])
        .args([
            "--group",
            "upper",
            "--transactional-id",
            ID,
            "--batch",
            "40",
        ])
        .args(["--idle-ms", &idle_ms.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example")
}

async fn fill_input(brokers: &str) {
    let p = Producer::builder(brokers).build().await.unwrap();
    for i in 0..RECORDS {
        let (key, value) = (format!("k{i}"), format!("record-{i}"));
        drop(
            p.send(
                Record::new("in")
                    .key(key.as_bytes())
                    .value(value.as_bytes()),
            )
            .await
            .unwrap(),
        );
    }
    p.flush().await;
    p.close(Duration::from_secs(5)).await.unwrap();
}

/// Every record of the output at `isolation`: value → how many times, and each value's key.
async fn read_output(
    dc: &DevCluster,
    isolation: IsolationLevel,
) -> (BTreeMap<String, usize>, BTreeMap<String, String>) {
    let c = Consumer::builder(&dc.bootstrap_servers())
        .isolation_level(isolation)
        .auto_offset_reset(OffsetReset::Earliest)
        .build()
        .await
        .unwrap();
    let parts: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new("out", p))
        .collect();
    let ends = c.end_offsets(&parts).await.unwrap();
    c.assign(parts.clone()).unwrap();
    let (mut counts, mut keys) = (BTreeMap::new(), BTreeMap::new());
    loop {
        let mut done = true;
        for tp in &parts {
            done &= c.position(tp).await.unwrap() >= ends[tp];
        }
        if done {
            break;
        }
        for r in c.poll(Duration::from_millis(200)).await.unwrap() {
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            let value = text(r.value.as_deref());
            *counts.entry(value.clone()).or_insert(0) += 1;
            keys.insert(value, text(r.key.as_deref()));
        }
    }
    c.close(Duration::from_secs(5)).await.unwrap();
    (counts, keys)
}

/// EndTxn refusals armed per broker while a kill is set up (the producer retries them for
/// up to `max.block.ms`, far longer than the test needs).
const REFUSALS: u32 = 1_000_000;

/// Arms (or with 0, disarms) `count` CONCURRENT_TRANSACTIONS answers to EndTxn on every
/// broker, wherever the coordinator is.
fn set_end_txn_refusals(dc: &DevCluster, count: u32) {
    for node in 1..=3 {
        dc.inject_errors(
            node,
            ApiKey::EndTxn,
            ErrorCode::ConcurrentTransactions,
            count,
        )
        .unwrap();
    }
}

/// The EndTxn refusals still armed, summed over the brokers.
fn end_txn_refusals(dc: &DevCluster) -> u64 {
    (1..=3)
        .flat_map(|node| dc.faults(node).unwrap().errors)
        .filter(|e| e.api_key == ApiKey::EndTxn)
        .map(|e| u64::from(e.remaining))
        .sum()
}

/// Whether an output partition's leader holds an open transaction of `producer_id`.
async fn written(admin: &Admin, producer_id: i64) -> bool {
    for p in 0..PARTITIONS {
        if let Ok(producers) = admin.describe_producers("out", p).await {
            if producers
                .iter()
                .any(|s| s.producer_id == producer_id && s.current_txn_start_offset.is_some())
            {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_survives_sigkill_mid_transaction() {
    let seed = seed("exactly_once example killed");
    let mut rng = StdRng::seed_from_u64(seed);
    tokio::time::timeout(Duration::from_secs(300), async {
        let dc = cluster(3).await;
        let brokers = dc.bootstrap_servers();
        dc.create_topic("in", PARTITIONS, 3).unwrap();
        dc.create_topic("out", PARTITIONS, 3).unwrap();
        fill_input(&brokers).await;
        let admin = Admin::connect(ClientConfig::default().bootstrap_servers(&brokers))
            .await
            .unwrap();

        let mut killed_epoch = -1;
        for round in 0..KILLS {
            let mut child = service(&brokers, 0);
            // Kill it in its k-th transaction (k from the seed) while it commits: once k
            // transactions of this instance (epoch above the killed one's) have been seen,
            // every broker refuses EndTxn with CONCURRENT_TRANSACTIONS, which the producer
            // retries; the first refusal means the transaction's records and offsets are
            // all sent and it is still open. Then SIGKILL, and EndTxn is served again.
            let k = rng.random_range(1..=3);
            let mut starts = Vec::new();
            let mut armed = false;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                if tokio::time::Instant::now() >= deadline {
                    child.kill().await.unwrap();
                    let out = child.wait_with_output().await.unwrap();
                    panic!(
                        "round {round}: no commit of transaction {k} refused in 60 s (seen {} of \
                         this instance); its output:\n{}\n{}",
                        starts.len(),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                if let Some(status) = child.try_wait().unwrap() {
                    let out = child.wait_with_output().await.unwrap();
                    panic!(
                        "round {round}: the example exited ({status}) before it was killed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                if !armed {
                    if let Ok(d) = admin.describe_transaction(ID).await {
                        let ours = d.state == "Ongoing" && d.producer_epoch > killed_epoch;
                        if let Some(start) = d.start_time_ms.filter(|s| ours && !starts.contains(s))
                        {
                            starts.push(start);
                        }
                        if starts.len() >= k {
                            set_end_txn_refusals(&dc, REFUSALS);
                            armed = true;
                        }
                    }
                } else if end_txn_refusals(&dc) < 3 * u64::from(REFUSALS) {
                    let d = admin.describe_transaction(ID).await.unwrap();
                    assert_eq!(d.state, "Ongoing", "{d:?}");
                    assert!(written(&admin, d.producer_id).await, "{d:?}");
                    child.kill().await.unwrap();
                    set_end_txn_refusals(&dc, 0);
                    killed_epoch = d.producer_epoch;
                    println!(
                        "round {round}: killed committing transaction {} (epoch {killed_epoch})",
                        starts.len()
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }

        // The last instance fences the killed one, resumes from the committed offsets and
        // stops once the input is drained.
        let out = service(&brokers, 3000).wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (committed, keys) = read_output(&dc, IsolationLevel::ReadCommitted).await;
        let (all, _) = read_output(&dc, IsolationLevel::ReadUncommitted).await;
        let written: usize = all.values().sum();
        let duplicates = committed.values().filter(|&&n| n > 1).count();
        let missing = (0..RECORDS)
            .filter(|i| !committed.contains_key(&format!("RECORD-{i}")))
            .count();
        println!(
            "inputs {RECORDS}, committed outputs {}, duplicates {duplicates}, missing \
             {missing}, records written but aborted {}",
            committed.values().sum::<usize>(),
            written - committed.values().sum::<usize>()
        );
        assert_eq!((duplicates, missing), (0, 0));
        assert!(
            written > committed.values().sum::<usize>(),
            "the kills left aborted data"
        );
        assert_eq!(committed.len(), RECORDS, "nothing but the inputs");
        for i in [0, RECORDS / 2, RECORDS - 1] {
            assert_eq!(keys[&format!("RECORD-{i}")], format!("k{i}"));
        }
        // Every restart fenced its predecessor with a new epoch.
        let d = admin.describe_transaction(ID).await.unwrap();
        assert!(usize::try_from(d.producer_epoch).unwrap() >= KILLS, "{d:?}");
        dc.shutdown().await;
    })
    .await
    .expect("the test did not finish in time");
}
