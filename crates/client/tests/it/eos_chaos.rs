//! Exactly-once under faults: consume-transform-produce workers (our transactional producer
//! and read_committed consumer, one group) copy an input topic to an output topic while the
//! chaos driver kills and restarts brokers (transaction coordinators and partition leaders)
//! and kills workers mid-transaction (their successor, with the same `transactional.id`,
//! fences them). Afterwards every input record must be in the output exactly once for a
//! read_committed reader. Reproducible from a seed (printed; `STREAMCTL_CHAOS_SEED` replays
//! one); `STREAMCTL_EOS_RECORDS` sets the input size (default 20,000). It runs once per
//! transaction protocol: v2 (KIP-890 part 2, what the dev cluster offers by default) and v1
//! (a cluster finalizing `transaction.version` 1).
//!
//! ```text
//!  input (6 partitions) ──▶ worker k: poll ─▶ begin ─▶ send copies ─▶ send_offsets ─▶ commit
//!                              on any error: abort (or a new incarnation), seek to committed
//!  chaos driver, by committed transactions: kill/restart a coordinator or a leader, kill a
//!  worker (its open transaction is left to the successor's fencing)
//!  check: output (read_committed) == input, each once; the group's offsets == input ends
//! ```
//!
//! Faults are placed by progress (committed transactions), never by the clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamctl_client::consumer::{
    Consumer, ConsumerGroupMetadata, ConsumerRecord, IsolationLevel, OffsetReset, TopicPartition,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::TransactionErrorKind;
use streamctl_devcluster::controller::NewTopic;
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster_with, seed, TempDir};

const INPUT: &str = "eos-in";
const OUTPUT: &str = "eos-out";
const PARTITIONS: i32 = 6;
const GROUP: &str = "eos-group";
const WORKERS: usize = 3;
/// Records per transaction, at most.
const TXN_RECORDS: usize = 200;

/// What the workers saw, for the figures.
#[derive(Default)]
struct Stats {
    committed: AtomicUsize,
    /// Records in committed transactions (a duplicate would count twice, so reaching the
    /// input size only says it is worth asking the group's offsets).
    records_committed: AtomicUsize,
    aborted: AtomicUsize,
    failed_commits: AtomicUsize,
    incarnations: AtomicUsize,
}

fn create_topic(dc: &DevCluster, name: &str) {
    dc.controller()
        .create_topic(
            &NewTopic {
                name: name.into(),
                num_partitions: PARTITIONS,
                replication_factor: 3,
                // Small segments: restarted replicas recover their producer state and
                // aborted transactions from the snapshots and `.txnindex` files of many.
                configs: [
                    ("min.insync.replicas".to_string(), "2".to_string()),
                    ("segment.bytes".to_string(), "16384".to_string()),
                ]
                .into(),
                ..NewTopic::default()
            },
            false,
        )
        .unwrap();
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

async fn fill_input(dc: &DevCluster, n: usize) {
    let p = Producer::builder(&dc.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for id in 0..n {
        let v = id.to_string();
        let partition = i32::try_from(id % PARTITIONS as usize).unwrap();
        p.send(Record::new(INPUT).partition(partition).value(v.as_bytes()))
            .await
            .unwrap();
    }
    p.flush().await;
    p.close(Duration::from_secs(10)).await.unwrap();
}

/// Seeks every assigned partition back to the group's committed offset: what the aborted
/// (or unknown) transaction read is read again.
async fn rewind(c: &Consumer) -> bool {
    let assigned: Vec<TopicPartition> = c.assignment().into_iter().collect();
    let Ok(committed) = c.committed(&assigned).await else {
        return false;
    };
    for tp in assigned {
        let offset = committed.get(&tp).copied().flatten().unwrap_or(0);
        if c.seek(&tp, offset).is_err() {
            return false;
        }
    }
    true
}

/// One transaction: the polled records copied, and the offsets after them sent under the
/// group generation they were polled in, committed. The offsets come from the records, not
/// from the consumer's current positions: a rebalance may have taken a partition away since
/// the poll, and its records must commit with their offsets or not at all (if the generation
/// moved on, the group coordinator refuses the offsets and the transaction aborts: KIP-447's
/// zombie fencing). An earlier version sent the current positions, and this test caught the
/// duplicates that made.
async fn transaction(
    p: &Producer,
    group: &ConsumerGroupMetadata,
    records: &[ConsumerRecord],
) -> streamctl_client::Result<()> {
    p.begin_transaction().await?;
    let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for r in records {
        p.send(
            Record::new(OUTPUT)
                .partition(r.partition)
                .value(r.value.as_deref().unwrap_or_default()),
        )
        .await?;
        let after = next.entry(r.topic_partition()).or_default();
        *after = (*after).max(r.offset + 1);
    }
    let offsets: Vec<(TopicPartition, i64)> = next.into_iter().collect();
    p.send_offsets_to_transaction(&offsets, group).await?;
    p.commit_transaction().await
}

/// One worker incarnation: copies records until `stop`, or until it is fenced or fails in a
/// way only a new incarnation fixes (then it returns and the driver starts the next one).
async fn worker(bootstrap: String, k: usize, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    stats.incarnations.fetch_add(1, Ordering::Relaxed);
    let built = Producer::builder(&bootstrap)
        .transactional_id(format!("eos-{k}"))
        .linger(Duration::from_millis(5))
        .transaction_timeout(Duration::from_secs(10))
        .build()
        .await;
    let Ok(p) = built else { return };
    if p.init_transactions().await.is_err() {
        return;
    }
    // A killed worker's partitions move on after its session times out: keep that short.
    let Ok(c) = Consumer::builder(&bootstrap)
        .group_id(GROUP)
        .isolation_level(IsolationLevel::ReadCommitted)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(TXN_RECORDS)
        .set("session.timeout.ms", "2000")
        .and_then(|b| b.set("heartbeat.interval.ms", "500"))
        .map(|b| b.build())
    else {
        return;
    };
    let Ok(c) = c.await else {
        return;
    };
    if c.subscribe([INPUT]).is_err() {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let Ok(group) = c.group_metadata() else {
            break;
        };
        let mut records = Vec::new();
        while records.len() < TXN_RECORDS {
            match c.poll(Duration::from_millis(100)).await {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => records.extend(batch),
                Err(_) => break,
            }
        }
        if records.is_empty() {
            continue;
        }
        match transaction(&p, &group, &records).await {
            Ok(()) => {
                stats.committed.fetch_add(1, Ordering::Relaxed);
                stats
                    .records_committed
                    .fetch_add(records.len(), Ordering::Relaxed);
            }
            Err(e) if e.transaction_kind() == Some(TransactionErrorKind::Abortable) => {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                if p.abort_transaction().await.is_err() || !rewind(&c).await {
                    break;
                }
                stats.aborted.fetch_add(1, Ordering::Relaxed);
            }
            // Fenced, or an outcome it cannot know: a new incarnation sorts it out (its
            // init fences this one and ends what it left open).
            Err(_) => {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    let _ = c.close(Duration::from_secs(5)).await;
    let _ = p.close(Duration::from_secs(5)).await;
}

/// No transaction committing for this long means the run is stuck.
const STALL: Duration = Duration::from_secs(30);

/// What a stuck run looks like: each transactional id, the group, and its lag.
async fn diagnose(dc: &DevCluster) -> String {
    let admin = match streamctl_client::Admin::connect(
        streamctl_client::ClientConfig::default().bootstrap_servers(&dc.bootstrap_servers()),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return format!("no admin: {e}"),
    };
    let mut out = String::new();
    for k in 0..WORKERS {
        let id = format!("eos-{k}");
        out.push_str(&format!(
            "{id}: {:?}\n",
            admin.describe_transaction(&id).await
        ));
    }
    out.push_str(&format!("group: {:?}\n", admin.describe_group(GROUP).await));
    out.push_str(&format!("lag: {:?}\n", admin.group_lag(GROUP).await));
    for p in 0..PARTITIONS {
        out.push_str(&format!(
            "{OUTPUT}-{p} producers: {:?}\n",
            admin.describe_producers(OUTPUT, p).await
        ));
    }
    out
}

/// The sum of the group's committed offsets over the input, read by `checker` (a consumer
/// of the group that never joins it).
///
/// At most half a second: while transactions keep committing offsets, a require_stable
/// OffsetFetch can wait on them for long, and the driver must keep placing faults.
async fn committed_total(checker: &Consumer) -> i64 {
    let parts: Vec<TopicPartition> = (0..PARTITIONS).map(|p| tp(INPUT, p)).collect();
    match tokio::time::timeout(Duration::from_millis(500), checker.committed(&parts)).await {
        Ok(Ok(found)) => found.values().map(|o| o.unwrap_or(0)).sum(),
        _ => 0,
    }
}

/// Every record of the output, from the start, at `isolation`.
async fn read_output(dc: &DevCluster, isolation: IsolationLevel) -> Vec<String> {
    let c = Consumer::builder(&dc.bootstrap_servers())
        .isolation_level(isolation)
        .auto_offset_reset(OffsetReset::Earliest)
        .build()
        .await
        .unwrap();
    let parts: Vec<TopicPartition> = (0..PARTITIONS).map(|p| tp(OUTPUT, p)).collect();
    let ends = c.end_offsets(&parts).await.unwrap();
    c.assign(parts.clone()).unwrap();
    let mut out = Vec::new();
    loop {
        let mut done = true;
        for tp in &parts {
            if c.position(tp).await.unwrap() < ends[tp] {
                done = false;
            }
        }
        if done {
            break;
        }
        for r in c.poll(Duration::from_millis(200)).await.unwrap() {
            out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    c.close(Duration::from_secs(5)).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_is_exactly_once_under_broker_and_worker_kills() {
    chaos("exactly-once chaos (transactions v2)", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1_protocol_is_exactly_once_under_broker_and_worker_kills() {
    chaos("exactly-once chaos (transactions v1)", 1).await;
}

/// The chaos run against a cluster finalizing `transaction.version` at `tv`.
async fn chaos(test: &'static str, tv: i16) {
    let seed = seed(test);
    let records: usize = std::env::var("STREAMCTL_EOS_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let dir = TempDir::new("eos-chaos");
    tokio::time::timeout(Duration::from_secs(600), async {
        let dc = cluster_with(3, |b| {
            b.data_dir(dir.path())
                .transaction_state_partitions(3)
                .transaction_abort_interval(Duration::from_millis(200))
                .group_min_session_timeout(Duration::from_secs(1))
                .transaction_version(tv)
        })
        .await;
        create_topic(&dc, INPUT);
        create_topic(&dc, OUTPUT);
        fill_input(&dc, records).await;
        let mut rng = StdRng::seed_from_u64(seed);
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let bootstrap = dc.bootstrap_servers();
        let mut workers: Vec<tokio::task::JoinHandle<()>> = (0..WORKERS)
            .map(|k| tokio::spawn(worker(bootstrap.clone(), k, stop.clone(), stats.clone())))
            .collect();
        let mut kills = 0;
        let mut worker_kills = 0;
        let mut down: Option<i32> = None;
        let mut next_fault = rng.random_range(2..5);
        let checker = Consumer::builder(&bootstrap)
            .group_id(GROUP)
            .isolation_level(IsolationLevel::ReadCommitted)
            .build()
            .await
            .unwrap();
        let mut progress = (0, tokio::time::Instant::now());
        let mut ticks = 0u64;
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let done = stats.committed.load(Ordering::Relaxed);
            if done != progress.0 {
                progress = (done, tokio::time::Instant::now());
            } else if progress.1.elapsed() > STALL {
                panic!("{test}: seed {seed}: no commit for {STALL:?}\n{}", diagnose(&dc).await);
            }
            // Dead incarnations are replaced (fenced ones end by themselves).
            for (k, w) in workers.iter_mut().enumerate() {
                if w.is_finished() {
                    *w = tokio::spawn(worker(bootstrap.clone(), k, stop.clone(), stats.clone()));
                }
            }
            // The group's offsets are read near the end, and every 25th tick: while
            // transactions keep committing, a require_stable OffsetFetch waits for them and
            // slows the driver. (The count alone cannot end the run: a worker killed between
            // its commit and the count's update leaves it short.)
            ticks += 1;
            let near_end = stats.records_committed.load(Ordering::Relaxed) >= records;
            if (near_end || ticks % 25 == 0) && committed_total(&checker).await >= records as i64 {
                break;
            }
            let committed = stats.committed.load(Ordering::Relaxed);
            if committed < next_fault {
                continue;
            }
            next_fault = committed + rng.random_range(2..5);
            if let Some(node) = down.take() {
                dc.start_broker(node).await.unwrap();
                println!("{test}: restarted broker {node} after {committed} commits");
                continue;
            }
            match rng.random_range(0..3) {
                0 => {
                    let k = rng.random_range(0..WORKERS);
                    workers[k].abort();
                    worker_kills += 1;
                    println!("{test}: killed worker {k} after {committed} commits");
                }
                choice => {
                    // A transaction coordinator, or the leader of an output partition.
                    let md = dc.controller().snapshot();
                    let leader = if choice == 1 {
                        md.topic("__transaction_state")
                            .and_then(|t| t.partitions.get(rng.random_range(0..t.partitions.len())))
                            .map(|p| p.leader)
                    } else {
                        md.partition(OUTPUT, rng.random_range(0..PARTITIONS)).map(|p| p.leader)
                    };
                    if let Some(node) = leader.filter(|n| *n > 0) {
                        dc.kill_broker(node).await.unwrap();
                        down = Some(node);
                        kills += 1;
                        println!("{test}: killed broker {node} ({}) after {committed} commits",
                            if choice == 1 { "a coordinator" } else { "an output leader" });
                    }
                }
            }
        }
        if let Some(node) = down.take() {
            dc.start_broker(node).await.unwrap();
        }
        checker.close(Duration::from_secs(2)).await.unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.await;
        }
        let output = read_output(&dc, IsolationLevel::ReadCommitted).await;
        let everything = read_output(&dc, IsolationLevel::ReadUncommitted).await;
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        for v in &output {
            *seen.entry(v.parse().unwrap()).or_default() += 1;
        }
        let duplicates: usize = seen.values().filter(|n| **n > 1).map(|n| n - 1).sum();
        let missing = (0..records).filter(|id| !seen.contains_key(id)).count();
        println!(
            "{test}: seed {seed}: inputs {records}, outputs read_committed {}, duplicates {duplicates}, missing {missing}; \
             transactions committed {}, aborted {}, failed commits {}; worker incarnations {}, worker kills {worker_kills}, broker kills {kills}; \
             aborted records visible to read_uncommitted {}",
            output.len(),
            stats.committed.load(Ordering::Relaxed),
            stats.aborted.load(Ordering::Relaxed),
            stats.failed_commits.load(Ordering::Relaxed),
            stats.incarnations.load(Ordering::Relaxed),
            everything.len() - output.len(),
        );
        assert_eq!((duplicates, missing), (0, 0), "exactly once broken");
        assert_eq!(output.len(), records);
        dc.shutdown().await;
    })
    .await
    .expect("the exactly-once chaos test did not finish in time");
}
