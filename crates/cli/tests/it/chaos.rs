//! Process-level chaos: the `streamctl` binary SIGKILLed as a real crash would kill it.
//!
//! - `streamctl dev up` killed mid-produce and restarted on the same data directory: every
//!   acknowledged record is there, CRC-valid, where it was acknowledged; watermarks are sane.
//! - three `streamctl consume -G` processes, one killed mid-consumption: the group rebalances,
//!   every record is printed at least once, committed offsets never go backwards.
//!
//! Reproducible from a seed (printed; `STREAMCTL_CHAOS_SEED` replays one); each test prints
//! its figures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::{Admin, ClientConfig, Cluster};
use streamctl_testkit::{cluster_with, read_partition, seed, TempDir};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{dev_up_printing, test_config};

const BIN: &str = env!("CARGO_BIN_EXE_streamctl");

/// `streamctl dev up` on free ports over `data_dir`, writing no profile; returns the process
/// and its brokers.
async fn dev_up(data_dir: &Path) -> (Child, String) {
    let data_dir = data_dir.to_str().unwrap();
    let (child, mut printed) = dev_up_printing(
        &test_config(),
        &["--no-profile", "--data-dir", data_dir],
        Duration::from_secs(30),
    )
    .await;
    let brokers = printed
        .remove("BROKERS")
        .expect("dev up printed no BROKERS line");
    (child, brokers)
}

/// `streamctl dev up` SIGKILLed while an idempotent acks=all producer writes to an RF=3
/// topic, then restarted on the same data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_up_killed_mid_produce_keeps_every_acknowledged_record() {
    const TEST: &str = "chaos dev up SIGKILL";
    const N: u64 = 40_000;
    const PARTITIONS: i32 = 3;
    let mut rng = StdRng::seed_from_u64(seed(TEST));
    let kill_after = rng.random_range(N as usize / 4..N as usize * 3 / 4);
    let data = TempDir::new("chaos-devup");
    tokio::time::timeout(Duration::from_secs(180), async {
        let (mut dev, brokers) = dev_up(data.path()).await;
        let admin = Admin::connect(ClientConfig::new(&brokers)).await.unwrap();
        admin
            .create_topic("durable", PARTITIONS, 3, &[("min.insync.replicas", "2")])
            .await
            .unwrap();
        let producer = Producer::builder(&brokers)
            .acks(Acks::All)
            .idempotence(true)
            .linger(Duration::from_millis(2))
            .delivery_timeout(Duration::from_secs(3))
            .max_block(Duration::from_secs(3))
            .build()
            .await
            .unwrap();
        let acked: Arc<Mutex<HashMap<u64, (i32, i64)>>> = Arc::default();
        let progress = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let collector = {
            let (acked, progress) = (acked.clone(), progress.clone());
            tokio::spawn(async move {
                let mut failed = 0usize;
                while let Some((id, d)) = rx.recv().await {
                    let d: streamctl_client::producer::DeliveryFuture = d;
                    match d.await {
                        Ok(m) => {
                            acked.lock().unwrap().insert(id, (m.partition, m.offset));
                            progress.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => failed += 1,
                    }
                }
                failed
            })
        };
        let sender = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut sent = 0u64;
                for id in 0..N {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let v = id.to_string();
                    let record = Record::new("durable")
                        .partition((id % PARTITIONS as u64) as i32)
                        .value(v.as_bytes());
                    match producer.send(record).await {
                        Ok(d) => {
                            tx.send((id, d)).unwrap();
                            sent += 1;
                        }
                        Err(_) => break,
                    }
                }
                drop(tx);
                let _ = producer.close(Duration::from_secs(5)).await;
                sent
            })
        };
        while progress.load(Ordering::Relaxed) < kill_after {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        dev.start_kill().unwrap();
        let status = dev.wait().await.unwrap();
        let acked_at_kill = progress.load(Ordering::Relaxed);
        println!("{TEST}: SIGKILLed dev up ({status}) after {acked_at_kill} acknowledgements");
        stop.store(true, Ordering::Relaxed);
        let sent = sender.await.unwrap();
        let failed = collector.await.unwrap();
        let acked = std::mem::take(&mut *acked.lock().unwrap());

        let (mut dev, brokers) = dev_up(data.path()).await;
        let cluster = Cluster::connect(ClientConfig::new(&brokers)).await.unwrap();
        let admin = Admin::connect(ClientConfig::new(&brokers)).await.unwrap();
        let mut seen: HashMap<String, (i32, i64)> = HashMap::new();
        let (mut duplicated, mut out_of_order, mut total) = (0, 0, 0);
        // A restarted leader's high watermark starts low and rises as its followers fetch
        // again: wait (bounded) until it covers every acknowledged offset; if it never does,
        // the assertions below report what is missing.
        let wanted: HashMap<i32, i64> = (0..PARTITIONS)
            .map(|p| {
                let max = acked.values().filter(|(ap, _)| *ap == p).map(|(_, o)| *o).max();
                (p, max.map_or(0, |o| o + 1))
            })
            .collect();
        let settle = tokio::time::Instant::now() + Duration::from_secs(30);
        let described = loop {
            let d = admin.describe_topic("durable").await;
            let covered = d.as_ref().is_ok_and(|d| {
                d.partitions
                    .iter()
                    .all(|p| p.high_watermark.unwrap_or(-1) >= wanted.get(&p.partition).copied().unwrap_or(0))
            });
            if covered || tokio::time::Instant::now() >= settle {
                break d.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        for p in 0..PARTITIONS {
            let records: Vec<(i64, String)> = read_partition(&cluster, "durable", p)
                .await
                .into_iter()
                .map(|r| (r.offset, r.value))
                .collect();
            total += records.len();
            // Offsets are dense from 0 (no compaction, no retention here) and ids grow.
            for (i, (offset, _)) in records.iter().enumerate() {
                assert_eq!(*offset, i as i64, "durable-{p}: offsets have a gap");
            }
            for w in records.windows(2) {
                if w[1].1.parse::<u64>().unwrap() <= w[0].1.parse::<u64>().unwrap() {
                    out_of_order += 1;
                }
            }
            for (offset, v) in &records {
                if seen.insert(v.clone(), (p, *offset)).is_some() {
                    duplicated += 1;
                }
            }
            let d = described.partitions.iter().find(|d| d.partition == p).unwrap();
            let (low, high) = (d.low_watermark.unwrap(), d.high_watermark.unwrap());
            let max_acked = acked
                .values()
                .filter(|(ap, _)| *ap == p)
                .map(|(_, o)| *o)
                .max()
                .unwrap_or(-1);
            println!(
                "{TEST}: durable-{p}: log start {low}, high watermark {high}, {} records, last acknowledged offset {max_acked}, ISR {:?}",
                records.len(),
                d.isr
            );
            assert_eq!(low, 0, "durable-{p}: log start offset");
            assert_eq!(high, records.len() as i64, "durable-{p}: high watermark = records readable");
            assert!(high > max_acked, "durable-{p}: high watermark below an acknowledged offset");
        }
        let lost = acked
            .iter()
            .filter(|(id, at)| seen.get(&id.to_string()) != Some(at))
            .count();
        println!(
            "{TEST}: acknowledged {} of {sent} sent ({failed} failed at the crash), present after restart {total}, lost {lost}, duplicated {duplicated}, out of order {out_of_order}",
            acked.len()
        );
        assert_eq!(lost, 0, "acknowledged records were lost");
        assert_eq!(duplicated, 0);
        assert_eq!(out_of_order, 0);
        dev.start_kill().unwrap();
        let _ = dev.wait().await;
    })
    .await
    .unwrap();
}

/// A `streamctl consume -G` process printing `partition offset` lines.
struct Member {
    child: Child,
    /// (partition, offset) in the order printed.
    printed: Arc<Mutex<Vec<(i32, i64)>>>,
}

fn spawn_member(brokers: &str, group: &str) -> Member {
    let mut child = Command::new(BIN)
        .args([
            "-b",
            brokers,
            "consume",
            "work",
            "-G",
            group,
            "-f",
            "%p %o\\n",
            "-X",
            "session.timeout.ms=3000",
            "-X",
            "heartbeat.interval.ms=300",
            "-X",
            "fetch.max.wait.ms=100",
            "-X",
            "auto.commit.interval.ms=300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let printed: Arc<Mutex<Vec<(i32, i64)>>> = Arc::default();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let sink = printed.clone();
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            let mut it = l.split(' ');
            let p = it.next().unwrap().parse().unwrap();
            let o = it.next().unwrap().parse().unwrap();
            sink.lock().unwrap().push((p, o));
        }
    });
    Member { child, printed }
}

async fn produce(brokers: &str, from: u64, to: u64, partitions: i32) {
    let producer = Producer::builder(brokers).build().await.unwrap();
    let mut last = None;
    for i in from..to {
        let v = i.to_string();
        last = Some(
            producer
                .send(
                    Record::new("work")
                        .partition((i % partitions as u64) as i32)
                        .value(v.as_bytes()),
                )
                .await
                .unwrap(),
        );
    }
    last.unwrap().await.unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
}

/// Three `streamctl consume -G` processes share six partitions; one is SIGKILLed while
/// consuming. The survivors take its partitions once its session expires, every record is
/// printed at least once, and the group's committed offsets never go backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_process_killed_mid_consumption_loses_nothing() {
    const TEST: &str = "chaos group member SIGKILL";
    const PARTITIONS: i32 = 6;
    const FIRST: u64 = 3_000;
    const TOTAL: u64 = 9_000;
    const SESSION: Duration = Duration::from_millis(3000);
    let mut rng = StdRng::seed_from_u64(seed(TEST));
    let victim = rng.random_range(0..3usize);
    tokio::time::timeout(Duration::from_secs(150), async {
        let dc = cluster_with(3, |b| {
            b.group_min_session_timeout(Duration::from_millis(500))
                .group_initial_rebalance_delay(Duration::from_millis(300))
        })
        .await;
        dc.create_topic("work", PARTITIONS, 3).unwrap();
        let brokers = dc.bootstrap_servers();
        produce(&brokers, 0, FIRST, PARTITIONS).await;

        // Watches the group's committed offsets the whole time.
        let tps: Vec<TopicPartition> = (0..PARTITIONS)
            .map(|p| TopicPartition::new("work", p))
            .collect();
        let watcher = Consumer::builder(&brokers)
            .group_id("workers")
            .auto_offset_reset(OffsetReset::Earliest)
            .build()
            .await
            .unwrap();
        let commits: Arc<Mutex<BTreeMap<i32, Vec<i64>>>> = Arc::default();
        let watching = Arc::new(AtomicBool::new(true));
        let watch_task = {
            let (commits, watching, tps) = (commits.clone(), watching.clone(), tps.clone());
            tokio::spawn(async move {
                while watching.load(Ordering::Relaxed) {
                    if let Ok(c) = watcher.committed(&tps).await {
                        let mut seen = commits.lock().unwrap();
                        for (tp, o) in c {
                            if let Some(o) = o {
                                let list = seen.entry(tp.partition).or_default();
                                if list.last() != Some(&o) {
                                    list.push(o);
                                }
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = watcher.close(Duration::from_secs(2)).await;
            })
        };

        let mut members: Vec<Member> = (0..3).map(|_| spawn_member(&brokers, "workers")).collect();
        // Mid-consumption: every member has printed something (so each owns partitions).
        while members.iter().any(|m| m.printed.lock().unwrap().len() < 10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let owned: BTreeSet<i32> = members[victim]
            .printed
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| *p)
            .collect();
        members[victim].child.start_kill().unwrap();
        members[victim].child.wait().await.unwrap();
        let killed_at = Instant::now();
        println!("{TEST}: SIGKILLed member {victim} (printing partitions {owned:?})");
        produce(&brokers, FIRST, TOTAL, PARTITIONS).await;

        // Every offset of every partition printed by someone, and the survivors took over the
        // victim's partitions (they print records produced after the kill there).
        let per_partition = (TOTAL / PARTITIONS as u64) as i64;
        let mut taken_over = None;
        loop {
            let mut covered: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
            for m in &members {
                for (p, o) in m.printed.lock().unwrap().iter() {
                    covered.entry(*p).or_default().insert(*o);
                }
            }
            if taken_over.is_none() {
                let survivors_there = members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != victim)
                    .any(|(_, m)| {
                        m.printed.lock().unwrap().iter().any(|(p, o)| {
                            owned.contains(p) && *o >= (FIRST / PARTITIONS as u64) as i64
                        })
                    });
                if survivors_there {
                    taken_over = Some(killed_at.elapsed());
                }
            }
            let complete = (0..PARTITIONS).all(|p| {
                covered
                    .get(&p)
                    .is_some_and(|s| s.len() as i64 == per_partition)
            });
            if complete && taken_over.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let printed: usize = members.iter().map(|m| m.printed.lock().unwrap().len()).sum();
        for (i, m) in members.iter_mut().enumerate() {
            if i != victim {
                m.child.start_kill().unwrap();
                let _ = m.child.wait().await;
            }
        }
        watching.store(false, Ordering::Relaxed);
        watch_task.await.unwrap();
        let commits = commits.lock().unwrap().clone();
        let backwards: Vec<(i32, Vec<i64>)> = commits
            .iter()
            .filter(|(_, seq)| seq.windows(2).any(|w| w[1] < w[0]))
            .map(|(p, s)| (*p, s.clone()))
            .collect();
        println!(
            "{TEST}: produced {TOTAL}, printed {printed} ({} more than once), lost 0; survivors took over {:.2} s after the kill (session timeout {:.1} s); commits seen per partition {:?}",
            printed as u64 - TOTAL,
            taken_over.unwrap().as_secs_f64(),
            SESSION.as_secs_f64(),
            commits.iter().map(|(p, s)| (*p, s.len())).collect::<Vec<_>>()
        );
        assert!(backwards.is_empty(), "committed offsets went backwards: {backwards:?}");
        dc.shutdown().await;
    })
    .await
    .unwrap();
}
