//! Chaos tests: Kafka's promise — an acknowledged record is never lost — under faults driven
//! by the dev cluster's control hooks. Each test is reproducible from a seed (printed; set
//! `STREAMCTL_CHAOS_SEED` to replay one) and prints its figures: records acknowledged,
//! consumed, lost, duplicated.
//!
//! ```text
//!  send loop ──DeliveryFuture──▶ collector (acked count, id → partition/offset)
//!                                     │ progress
//!  chaos driver ◀─────────────────────┘ kills/restarts leaders, injects latency, drops
//!                                       connections at seeded points of the ack count
//!  read back ──▶ consumed set == acknowledged set, no duplicates, per-partition order
//! ```
//!
//! Faults are placed by progress (after so many acknowledgements), never by the clock, so
//! a slow machine gets the same faults at the same places.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, DeliveryFuture, Producer, Record};
use streamctl_devcluster::controller::NewTopic;
use streamctl_devcluster::DevCluster;
use streamctl_testkit::{cluster, cluster_with, seed, TempDir};
use tokio::sync::mpsc;

/// An RF=3 topic that refuses acks=all writes with fewer than 2 in-sync replicas.
fn create_topic(dc: &DevCluster, name: &str, partitions: i32) {
    dc.controller()
        .create_topic(
            &NewTopic {
                name: name.into(),
                num_partitions: partitions,
                replication_factor: 3,
                configs: [("min.insync.replicas".to_string(), "2".to_string())].into(),
                ..NewTopic::default()
            },
            false,
        )
        .unwrap();
}

/// What a produce run leaves behind: per record id, where it was acknowledged, or nothing.
struct Produced {
    acked: HashMap<u64, (i32, i64)>,
    failed: usize,
}

/// Sends `n` records (value = the record id, partition = id mod `partitions`) as fast as the
/// producer takes them; `progress` counts acknowledgements as they arrive, in send order.
fn spawn_produce(
    producer: Producer,
    topic: &'static str,
    partitions: i32,
    n: u64,
    progress: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Produced> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, DeliveryFuture)>();
    let collector = tokio::spawn(async move {
        let mut out = Produced {
            acked: HashMap::new(),
            failed: 0,
        };
        while let Some((id, delivery)) = rx.recv().await {
            match delivery.await {
                Ok(m) => {
                    out.acked.insert(id, (m.partition, m.offset));
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    println!("record {id} not acknowledged: {e}");
                    out.failed += 1;
                }
            }
        }
        done.store(true, Ordering::Relaxed);
        out
    });
    tokio::spawn(async move {
        let mut refused = 0;
        for id in 0..n {
            let value = id.to_string();
            let partition = i32::try_from(id % partitions as u64).unwrap();
            let record = Record::new(topic)
                .partition(partition)
                .value(value.as_bytes());
            match producer.send(record).await {
                Ok(d) => tx.send((id, d)).unwrap(),
                Err(e) => {
                    println!("record {id} not queued: {e}");
                    refused += 1;
                }
            }
        }
        drop(tx);
        producer.flush().await;
        let mut out = collector.await.unwrap();
        out.failed += refused;
        producer.close(Duration::from_secs(10)).await.unwrap();
        out
    })
}

/// Waits until `counter` reaches `target` or `done` is set (the producer finished early);
/// says so when the count stands still for a while (a hang is then easy to place).
async fn wait_for_acks(counter: &AtomicUsize, target: usize, done: &AtomicBool) {
    let mut last = (counter.load(Ordering::Relaxed), Instant::now());
    while counter.load(Ordering::Relaxed) < target && !done.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let now = counter.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(10) {
            println!("no acknowledgement for 10 s, stuck at {now} (waiting for {target})");
            last.1 = Instant::now();
        }
    }
}

/// Every record of the topic, per partition, in offset order: (offset, record id).
async fn read_back(
    dc: &DevCluster,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, Vec<(i64, u64)>> {
    let consumer = Consumer::builder(&dc.bootstrap_servers())
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let tps: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(tps.clone()).unwrap();
    // After restarts, a new leader's high watermark trails its log until its followers fetch
    // again (Kafka answers OFFSET_NOT_AVAILABLE meanwhile, KIP-207). Wait, bounded, until every
    // partition has a leader, a full ISR and a high watermark at the log end; if it never
    // settles, the checks below report what is missing.
    let settle = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < settle {
        let settled = dc
            .state()
            .topics
            .iter()
            .filter(|t| t.name == topic)
            .flat_map(|t| t.partitions.iter())
            .all(|p| {
                p.leader >= 0
                    && p.isr.len() == p.replicas.len()
                    && p.high_watermark.is_some()
                    && p.high_watermark == p.log_end_offset
            });
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ends = consumer.end_offsets(&tps).await.unwrap();
    let state = dc.state();
    let hws: Vec<(i32, i32, Option<i64>, Vec<i32>)> = state
        .topics
        .iter()
        .filter(|t| t.name == topic)
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.partition, p.leader, p.high_watermark, p.isr.clone()))
        .collect();
    println!(
        "read back {topic}: end offsets {:?}; cluster state (partition, leader, high watermark, isr) {hws:?}",
        ends.iter().map(|(tp, o)| (tp.partition, *o)).collect::<Vec<_>>()
    );
    assert_eq!(ends.len(), tps.len(), "end offsets of every partition");
    let mut out: BTreeMap<i32, Vec<(i64, u64)>> = BTreeMap::new();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let done = |next: &BTreeMap<i32, i64>| {
        ends.iter()
            .all(|(tp, end)| next.get(&tp.partition).copied().unwrap_or(0) >= *end)
    };
    while !done(&next) {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            let id: u64 = std::str::from_utf8(r.value.as_deref().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            out.entry(r.partition).or_default().push((r.offset, id));
            next.insert(r.partition, r.offset + 1);
        }
    }
    consumer.close(Duration::from_secs(5)).await.unwrap();
    out
}

/// The figures of a run, checked: every acknowledged record is in the log where it was
/// acknowledged, no record id appears twice, and ids grow with offsets in each partition.
struct Figures {
    acknowledged: usize,
    consumed: usize,
    lost: usize,
    duplicated: usize,
    out_of_order: usize,
}

fn check(produced: &Produced, log: &BTreeMap<i32, Vec<(i64, u64)>>) -> Figures {
    let mut seen: HashMap<u64, (i32, i64)> = HashMap::new();
    let mut duplicated = 0;
    let mut out_of_order = 0;
    for (partition, records) in log {
        for pair in records.windows(2) {
            if pair[1].1 <= pair[0].1 {
                out_of_order += 1;
                println!(
                    "partition {partition}: id {} at offset {} follows id {} at offset {}",
                    pair[1].1, pair[1].0, pair[0].1, pair[0].0
                );
            }
        }
        for (offset, id) in records {
            if seen.insert(*id, (*partition, *offset)).is_some() {
                duplicated += 1;
                println!("record {id} appears twice (again at {partition}/{offset})");
            }
        }
    }
    let mut lost = 0;
    for (id, at) in &produced.acked {
        if seen.get(id) != Some(at) {
            lost += 1;
            println!(
                "acknowledged record {id} at {at:?} is {}",
                seen.get(id)
                    .map_or("missing".to_string(), |s| format!("at {s:?}"))
            );
        }
    }
    Figures {
        acknowledged: produced.acked.len(),
        consumed: seen.len() + duplicated,
        lost,
        duplicated,
        out_of_order,
    }
}

fn report(test: &str, f: &Figures, failed: usize, extra: &str) {
    println!(
        "{test}: acknowledged {} (not acknowledged {failed}), consumed {}, lost {}, duplicated {}, out of order {}{extra}",
        f.acknowledged, f.consumed, f.lost, f.duplicated, f.out_of_order
    );
}

/// Every partition of `topic` has all three replicas in sync again.
async fn wait_for_full_isr(dc: &DevCluster, topic: &str) {
    loop {
        let state = dc.state();
        let t = state.topics.iter().find(|t| t.name == topic).unwrap();
        if t.partitions
            .iter()
            .all(|p| p.isr.len() == 3 && p.leader > 0)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const RECORDS: u64 = 200_000;

/// 200,000 idempotent acks=all records to an RF=3 topic while the leader of each partition
/// in turn (seeded order, seeded places) is killed and restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_killed_and_restarted_in_turn_lose_nothing() {
    const TEST: &str = "chaos leader kills";
    const PARTITIONS: i32 = 6;
    let mut rng = StdRng::seed_from_u64(seed(TEST));
    tokio::time::timeout(Duration::from_secs(300), async {
        let started = Instant::now();
        let dc = cluster(3).await;
        create_topic(&dc, "chaos", PARTITIONS);
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .idempotence(true)
            .linger(Duration::from_millis(5))
            .delivery_timeout(Duration::from_secs(120))
            .max_block(Duration::from_secs(60))
            .build()
            .await
            .unwrap();
        let progress = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let producing = spawn_produce(
            producer,
            "chaos",
            PARTITIONS,
            RECORDS,
            progress.clone(),
            done.clone(),
        );

        // Each partition's leader is killed twice, in a seeded order, at seeded places.
        let mut order: Vec<i32> = (0..PARTITIONS).collect();
        order.shuffle(&mut rng);
        let rounds = order.len() * 2;
        let step = RECORDS as usize / (rounds + 2);
        let mut kills = 0;
        for round in 0..rounds {
            let at = step * (round + 1) + rng.random_range(0..step / 2);
            wait_for_acks(&progress, at, &done).await;
            let partition = order[round % order.len()];
            let leader = dc
                .state()
                .topics
                .iter()
                .find(|t| t.name == "chaos")
                .unwrap()
                .partitions[partition as usize]
                .leader;
            dc.kill_broker(leader).await.unwrap();
            kills += 1;
            let down_for = rng.random_range(step / 8..step / 2);
            let acked = progress.load(Ordering::Relaxed);
            println!("{TEST}: killed broker {leader} (leader of chaos-{partition}) after {acked} acks; restarting after {down_for} more");
            wait_for_acks(&progress, acked + down_for, &done).await;
            dc.start_broker(leader).await.unwrap();
            // The next kill waits until the restarted broker is back in every ISR: killing
            // the last in-sync copies of a partition is beyond what Kafka promises.
            wait_for_full_isr(&dc, "chaos").await;
        }
        let produced = producing.await.unwrap();
        let log = read_back(&dc, "chaos", PARTITIONS).await;
        let figures = check(&produced, &log);
        report(
            TEST,
            &figures,
            produced.failed,
            &format!(", {kills} leader kills, {:.1} s", started.elapsed().as_secs_f64()),
        );
        assert_eq!(figures.lost, 0, "acknowledged records were lost");
        assert_eq!(figures.duplicated, 0, "records were duplicated");
        assert_eq!(figures.out_of_order, 0, "partition order was broken");
        assert_eq!(produced.failed, 0, "with a 120 s delivery timeout every record is acknowledged");
        assert_eq!(figures.acknowledged, RECORDS as usize);
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// Injected latency and dropped connections, while a producer writes and a consumer reads:
/// both recover with no loss, and idempotence leaves no duplicates in the log; the consumer
/// sees every record exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_dropped_connections_lose_and_duplicate_nothing() {
    const TEST: &str = "chaos latency and drops";
    const PARTITIONS: i32 = 3;
    const N: u64 = 30_000;
    let mut rng = StdRng::seed_from_u64(seed(TEST));
    tokio::time::timeout(Duration::from_secs(240), async {
        let started = Instant::now();
        let dc = cluster(3).await;
        create_topic(&dc, "faulty", PARTITIONS);
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .idempotence(true)
            .linger(Duration::from_millis(2))
            .batch_size(4096)
            .delivery_timeout(Duration::from_secs(120))
            .build()
            .await
            .unwrap();

        // A consumer reads along the whole time, through the same faults.
        let consumer = Consumer::builder(&dc.bootstrap_servers())
            .auto_offset_reset(OffsetReset::Earliest)
            .fetch_max_wait(Duration::from_millis(100))
            .build()
            .await
            .unwrap();
        consumer
            .assign((0..PARTITIONS).map(|p| TopicPartition::new("faulty", p)))
            .unwrap();
        let stop_consuming = Arc::new(AtomicUsize::new(usize::MAX));
        let consuming = {
            let stop = stop_consuming.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(i32, i64, u64)> = Vec::new();
                let mut errors = 0;
                while seen.len() < stop.load(Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(100)).await {
                        Ok(records) => {
                            for r in records {
                                let id = std::str::from_utf8(r.value.as_deref().unwrap())
                                    .unwrap()
                                    .parse()
                                    .unwrap();
                                seen.push((r.partition, r.offset, id));
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            println!("consumer poll error (retried): {e}");
                        }
                    }
                }
                consumer.close(Duration::from_secs(5)).await.unwrap();
                (seen, errors)
            })
        };

        let progress = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let producing = spawn_produce(
            producer,
            "faulty",
            PARTITIONS,
            N,
            progress.clone(),
            done.clone(),
        );
        let mut faults = Vec::new();
        let step = N as usize / 12;
        for round in 0..10 {
            wait_for_acks(&progress, step * (round + 1), &done).await;
            let broker = rng.random_range(1..=3);
            if rng.random_bool(0.5) {
                let latency = Duration::from_millis(rng.random_range(20..300));
                dc.inject_latency(broker, latency).unwrap();
                faults.push(format!("latency {} ms on {broker}", latency.as_millis()));
                println!(
                    "{TEST}: {} after {} acks",
                    faults.last().unwrap(),
                    progress.load(Ordering::Relaxed)
                );
                let acked = progress.load(Ordering::Relaxed);
                wait_for_acks(&progress, acked + step / 3, &done).await;
                dc.inject_latency(broker, Duration::ZERO).unwrap();
            } else {
                for _ in 0..rng.random_range(1..4) {
                    dc.drop_connections(broker).unwrap();
                    println!(
                        "{TEST}: dropped connections of {broker} after {} acks",
                        progress.load(Ordering::Relaxed)
                    );
                    let acked = progress.load(Ordering::Relaxed);
                    wait_for_acks(&progress, acked + rng.random_range(50..500), &done).await;
                }
                faults.push(format!("dropped connections of {broker}"));
            }
        }
        println!("{TEST}: faults: {}", faults.join(", "));
        let produced = producing.await.unwrap();
        let log = read_back(&dc, "faulty", PARTITIONS).await;
        let total: usize = log.values().map(Vec::len).sum();
        stop_consuming.store(total, Ordering::Relaxed);
        let (seen, poll_errors) = consuming.await.unwrap();

        // The live consumer saw the log exactly: each (partition, offset) once, same ids.
        let mut by_position: BTreeMap<(i32, i64), u64> = BTreeMap::new();
        let mut consumer_duplicates = 0;
        for (p, o, id) in &seen {
            if by_position.insert((*p, *o), *id).is_some() {
                consumer_duplicates += 1;
            }
        }
        let log_positions: BTreeMap<(i32, i64), u64> = log
            .iter()
            .flat_map(|(p, rs)| rs.iter().map(move |(o, id)| ((*p, *o), *id)))
            .collect();
        let figures = check(&produced, &log);
        report(
            TEST,
            &figures,
            produced.failed,
            &format!(
                "; live consumer read {} ({} twice, {poll_errors} poll errors), {:.1} s",
                seen.len(),
                consumer_duplicates,
                started.elapsed().as_secs_f64()
            ),
        );
        assert_eq!(figures.lost, 0, "acknowledged records were lost");
        assert_eq!(figures.duplicated, 0, "records were duplicated");
        assert_eq!(figures.out_of_order, 0, "partition order was broken");
        assert_eq!(figures.acknowledged, N as usize);
        assert_eq!(
            consumer_duplicates, 0,
            "the live consumer saw a record twice"
        );
        assert_eq!(
            by_position, log_positions,
            "the live consumer saw the log as it is"
        );
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// A whole-cluster crash while one broker was already down: on restart the stale broker
/// must not lead (it lacks records the others acknowledged), so nothing acknowledged is lost.
/// Found by thinking through the dev-up SIGKILL test: the restart used to make every
/// partition's first replica its leader with the whole replica set as ISR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_crash_with_a_broker_down_keeps_acknowledged_records() {
    let dir = TempDir::new("chaos-restart");
    tokio::time::timeout(Duration::from_secs(120), async {
        let dc = cluster_with(3, |b| b.data_dir(dir.path())).await;
        create_topic(&dc, "crash", 3);
        // Kill the preferred leader of every partition in turn is too much: kill broker 1,
        // which is the first replica of one partition and a follower of the others.
        dc.kill_broker(1).await.unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .build()
            .await
            .unwrap();
        let mut acked = HashMap::new();
        for i in 0..600u64 {
            let v = i.to_string();
            let m = producer
                .send(
                    Record::new("crash")
                        .partition((i % 3) as i32)
                        .value(v.as_bytes()),
                )
                .await
                .unwrap()
                .await
                .unwrap();
            acked.insert(i, (m.partition, m.offset));
        }
        producer.close(Duration::from_secs(5)).await.unwrap();
        // The crash: everything stops (files stay as written), broker 1 never came back.
        dc.shutdown().await;
        let dc = cluster_with(3, |b| b.data_dir(dir.path())).await;
        let log = read_back(&dc, "crash", 3).await;
        let figures = check(&Produced { acked, failed: 0 }, &log);
        report("chaos restart with a broker down", &figures, 0, "");
        assert_eq!(figures.lost, 0, "acknowledged records were lost");
        dc.shutdown().await;
    })
    .await
    .unwrap();
}
