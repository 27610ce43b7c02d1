//! Seeded, randomized fault schedules with a checker — Jepsen's Kafka workload in spirit.
//!
//! Per seed: a schedule of faults (broker kill/stop/start, latency, dropped connections,
//! whole-cluster crash and restart on the same data, DeleteRecords) generated from the seed
//! and placed by progress (after so many acknowledgements), while three producers (ours
//! idempotent, ours plain, librdkafka idempotent; all acks=all) write and a consumer group
//! reads and commits. Then every fault is healed, the log is read back and the checker
//! (`fault_schedule/checker.rs`) proves Kafka's promises against everything acknowledged
//! and read.
//!
//! ```text
//!  schedule.rs  seed ──▶ settings + steps (after N acks: action)
//!  target.rs    the cluster: in-process DevCluster or `streamctl dev up`, and its faults
//!  workloads.rs producers, group members, sampler ──▶ History
//!  checker.rs   History + final log ──▶ figures + violations
//! ```
//!
//! Seeds: `STREAMCTL_CHAOS_SEED=n` replays one; `STREAMCTL_CHAOS_SEEDS=a..b` (or `N` for
//! `1..=N`) runs a range; otherwise the CI set below. `scripts/soak` runs many in release
//! mode. Each seed prints its schedule, figures and a `FAULT-SCHEDULE-RESULT` line.
//!
//! A test binary of its own, not a module of `tests/it` like the crate's other tests: a soak
//! of minutes (hours under `scripts/soak`) that the scripts and the README build and run
//! alone with `--test fault_schedule`. Hence its own lint header too.

// Tests state their expectations by unwrapping and indexing; a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod fault_schedule {
    pub mod checker;
    pub mod schedule;
    pub mod target;
    pub mod workloads;
}

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fault_schedule::checker::{check, Figures, FinalLog};
use fault_schedule::schedule::{Action, Schedule};
use fault_schedule::target::Target;
use fault_schedule::workloads::{self, Delete, Shared, Writer, TOPIC};
use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::{Admin, ClientConfig};
use streamctl_devcluster::ClusterState;
use streamctl_testkit::TempDir;

/// Seeds CI runs: two of each variant (seed % 3 picks it), both min.insync values.
const CI_SEEDS: [u64; 6] = [1, 2, 3, 4, 5, 6];
/// A seed that takes longer than this failed (it hung somewhere).
const SEED_TIMEOUT: Duration = Duration::from_secs(240);

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("STREAMCTL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    if let Ok(spec) = std::env::var("STREAMCTL_CHAOS_SEEDS") {
        if let Some((a, b)) = spec.split_once("..") {
            let a: u64 = a.parse().expect("STREAMCTL_CHAOS_SEEDS=a..b");
            let b: u64 = b
                .trim_start_matches('=')
                .parse()
                .expect("STREAMCTL_CHAOS_SEEDS=a..b");
            return if spec.contains("..=") {
                (a..=b).collect()
            } else {
                (a..b).collect()
            };
        }
        let n: u64 = spec.parse().expect("STREAMCTL_CHAOS_SEEDS=N or a..b");
        return (1..=n).collect();
    }
    CI_SEEDS.to_vec()
}

/// One seed's outcome.
struct SeedResult {
    seed: u64,
    figures: Figures,
    faults: BTreeMap<&'static str, usize>,
    skipped: usize,
    seconds: f64,
}

#[test]
fn fault_schedules_keep_kafkas_promises() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut failing = Vec::new();
    for seed in seeds() {
        let schedule = Schedule::generate(seed);
        let outcome = runtime
            .block_on(async { tokio::time::timeout(SEED_TIMEOUT, run(schedule.clone())).await });
        match outcome {
            Ok(result) => {
                report(&schedule, &result);
                if !result.figures.violations.is_empty() {
                    failing.push(format!(
                        "seed {seed}: {} violations (first: {})",
                        result.figures.violations.len(),
                        result.figures.violations[0].what
                    ));
                }
            }
            Err(_) => {
                println!("FAULT-SCHEDULE-RESULT seed={seed} timeout=1");
                print!(
                    "seed {seed} did not finish within {SEED_TIMEOUT:?}; its schedule:\n{schedule}"
                );
                failing.push(format!("seed {seed}: timed out"));
            }
        }
    }
    assert!(
        failing.is_empty(),
        "failing seeds (replay one with STREAMCTL_CHAOS_SEED=<n>):\n  {}",
        failing.join("\n  ")
    );
}

fn report(schedule: &Schedule, r: &SeedResult) {
    let f = &r.figures;
    let faults: Vec<String> = r.faults.iter().map(|(k, n)| format!("{k}:{n}")).collect();
    println!(
        "seed {}: {:.1} s; faults {} ({} skipped); acknowledged {}, present {}, deleted by DeleteRecords {}, lost {}, duplicated {} ({} from idempotent writers), not acknowledged {}; violations {} by invariant {:?}",
        r.seed,
        r.seconds,
        faults.join(" "),
        r.skipped,
        f.acknowledged,
        f.present,
        f.deleted,
        f.lost,
        f.duplicated,
        f.duplicated_idempotent,
        f.not_acknowledged,
        f.violations.len(),
        f.violations_by_invariant()
    );
    // One line for scripts/soak to add up.
    println!(
        "FAULT-SCHEDULE-RESULT seed={} seconds={:.1} faults={} acknowledged={} present={} lost={} duplicated={} violations={}",
        r.seed,
        r.seconds,
        faults.join(","),
        f.acknowledged,
        f.present,
        f.lost,
        f.duplicated,
        f.violations.len()
    );
    if !f.violations.is_empty() {
        print!("seed {} FAILED; its schedule:\n{schedule}", r.seed);
        println!(
            "first violations (replay with STREAMCTL_CHAOS_SEED={}):",
            r.seed
        );
        // The first few of each invariant, so one noisy kind does not hide the others.
        let mut shown: BTreeMap<u8, usize> = BTreeMap::new();
        for v in &f.violations {
            let n = shown.entry(v.invariant).or_default();
            *n += 1;
            if *n <= 5 {
                println!("  [{}] {}", v.invariant, v.what);
            }
        }
    }
}

/// Runs one schedule end to end and checks it.
async fn run(schedule: Schedule) -> SeedResult {
    let started = Instant::now();
    print!("{schedule}");
    let settings = schedule.settings.clone();
    let dir = TempDir::new("fault-schedule");
    let data_dir = settings.variant.on_disk().then(|| dir.path().join("data"));
    let mut target = Target::start(settings.variant, data_dir.as_deref()).await;
    let bootstrap = target.bootstrap_servers();
    let admin = Admin::connect(ClientConfig::new(&bootstrap)).await.unwrap();
    admin
        .create_topic(
            TOPIC,
            settings.partitions,
            3,
            // Small segments, so that restarted replicas recover their producer state from
            // the snapshots taken as segments roll, not only from a replay of the whole log.
            &[
                ("min.insync.replicas", &settings.min_insync.to_string()),
                ("segment.bytes", "32768"),
            ],
        )
        .await
        .unwrap();

    let shared = Shared::default();
    let mut tasks = vec![
        workloads::spawn_ours(
            Writer::Idempotent,
            bootstrap.clone(),
            settings.partitions,
            shared.clone(),
        ),
        workloads::spawn_ours(
            Writer::Plain,
            bootstrap.clone(),
            settings.partitions,
            shared.clone(),
        ),
    ];
    match workloads::spawn_librdkafka(bootstrap.clone(), settings.partitions, shared.clone()) {
        Some(t) => tasks.push(t),
        None => shared
            .history
            .lock()
            .unwrap()
            .notes
            .push("librdkafka workload skipped: confluent-kafka missing".into()),
    }
    for id in 0..2 {
        tasks.push(workloads::spawn_member(
            id,
            bootstrap.clone(),
            shared.clone(),
        ));
    }
    tasks.push(workloads::spawn_sampler(
        bootstrap.clone(),
        settings.partitions,
        shared.clone(),
    ));

    let mut skipped = 0;
    for (i, step) in schedule.steps.iter().enumerate() {
        let target_acks = shared.progress.load(Ordering::Relaxed) + step.after;
        wait_for_acks(&shared, target_acks).await;
        let acks = shared.progress.load(Ordering::Relaxed);
        if matches!(
            step.action,
            Action::Kill(_) | Action::Stop(_) | Action::Crash
        ) && !wait_for_full_isr(&target, Duration::from_secs(20)).await
        {
            if settings.variant.on_disk() {
                // A broker taken down keeps its files, so acknowledged records keep their
                // copies whatever the ISR: go on (the wait only makes replays closer).
                println!("  step {i:>2}: the ISR is not full after 20 s; going on");
            } else {
                // In memory a broker taken down loses its log: with a partition short of a
                // replica an acknowledged record might then have no copy left, which is
                // beyond Kafka's promise. Skip the step.
                println!(
                    "  step {i:>2} at {acks} acks: SKIPPED {} (ISR not full after 20 s)",
                    step.action
                );
                skipped += 1;
                continue;
            }
        }
        println!("  step {i:>2} at {acks} acks: {}", step.action);
        apply(&mut target, &admin, &shared, &step.action).await;
    }

    // Heal everything, let the writers finish, stop the readers.
    target.heal().await;
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        if tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .is_err()
        {
            println!("  a workload did not stop within 120 s");
        }
    }
    let unhealed = settle(&target, Duration::from_secs(30)).await;
    let mut log = read_back(&bootstrap, settings.partitions).await;
    log.unhealed = unhealed;
    let history = std::mem::take(&mut *shared.history.lock().unwrap());
    println!(
        "  sent {:?}, not acknowledged {:?} (by writer)",
        history.sent, history.failed
    );
    let mut per_member: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for r in &history.reads {
        per_member.entry(r.consumer).or_default().0 += 1;
    }
    for c in &history.commits {
        per_member.entry(c.consumer).or_default().1 += 1;
    }
    println!(
        "  group members (classic even, consumer protocol odd): (reads, commits) {per_member:?}"
    );
    for n in &history.notes {
        println!("  note: {n}");
    }
    let figures = check(&history, &log);
    target.shutdown().await;
    SeedResult {
        seed: schedule.seed,
        figures,
        faults: schedule.fault_counts(),
        skipped,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Waits until `target` acknowledgements were counted, bounded: a stall (the writers
/// blocked, or done) ends the wait after 30 s without progress.
async fn wait_for_acks(shared: &Shared, target: usize) {
    let mut last = (shared.progress.load(Ordering::Relaxed), Instant::now());
    loop {
        let now = shared.progress.load(Ordering::Relaxed);
        if now >= target {
            return;
        }
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(30) {
            println!("  no acknowledgement for 30 s (at {now}, waiting for {target}): going on");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn apply(target: &mut Target, admin: &Admin, shared: &Shared, action: &Action) {
    match *action {
        Action::Kill(b) => target.kill(b).await,
        Action::Stop(b) => target.stop(b).await,
        Action::Start(b) => target.start_broker(b).await,
        Action::Latency { broker, ms } => target.latency(broker, Duration::from_millis(ms)).await,
        Action::ClearLatency(b) => target.latency(b, Duration::ZERO).await,
        Action::DropConnections(b) => target.drop_connections(b).await,
        Action::Crash => target.crash_and_restart().await,
        Action::DeleteRecords {
            partition,
            fraction,
        } => {
            let max_acked = shared
                .history
                .lock()
                .unwrap()
                .acks
                .iter()
                .filter(|a| a.partition == partition)
                .map(|a| a.offset)
                .max();
            let Some(max_acked) = max_acked else {
                println!("    nothing acknowledged on partition {partition} yet");
                return;
            };
            // Below an offset in [1, max acknowledged + 1]: at or below what was acknowledged.
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let before =
                (((max_acked + 1) as f64 * fraction).ceil() as i64).clamp(1, max_acked + 1);
            let mut low_watermark = None;
            for _ in 0..3 {
                match tokio::time::timeout(
                    Duration::from_secs(15),
                    admin.delete_records(TOPIC, &[(partition, before)]),
                )
                .await
                {
                    Ok(Ok(lows)) => {
                        low_watermark = lows.get(&partition).copied();
                        break;
                    }
                    Ok(Err(e)) => println!("    DeleteRecords failed: {e}"),
                    Err(_) => println!("    DeleteRecords timed out"),
                }
            }
            println!("    DeleteRecords partition {partition} before {before}: low watermark {low_watermark:?}");
            shared.history.lock().unwrap().deletes.push(Delete {
                partition,
                before,
                low_watermark,
                done_at: Instant::now(),
            });
        }
    }
}

fn partitions(
    state: &ClusterState,
) -> impl Iterator<Item = &streamctl_devcluster::state::PartitionState> {
    state.topics.iter().flat_map(|t| t.partitions.iter())
}

/// Waits, bounded, until every partition of every topic (the group's offsets included) has
/// a leader and all its replicas in sync.
async fn wait_for_full_isr(target: &Target, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Some(state) = target.state().await {
            if partitions(&state).all(|p| p.leader >= 0 && p.isr.len() == p.replicas.len()) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Waits, bounded, until every broker runs and every partition has a leader, a full ISR
/// and its high watermark at the log end (a restarted leader's high watermark trails its log
/// briefly); returns what had not healed by then.
async fn settle(target: &Target, bound: Duration) -> Vec<String> {
    let deadline = Instant::now() + bound;
    let mut unhealed = vec!["the admin plane never answered".to_string()];
    while Instant::now() < deadline {
        if let Some(state) = target.state().await {
            unhealed = state
                .brokers
                .iter()
                .filter(|b| !b.running)
                .map(|b| format!("broker {} down", b.id))
                .collect();
            for t in &state.topics {
                for p in &t.partitions {
                    if p.leader < 0
                        || p.isr.len() != p.replicas.len()
                        || p.high_watermark.is_none()
                        || p.high_watermark != p.log_end_offset
                    {
                        unhealed.push(format!(
                            "{}-{} leader {} isr {:?} of {:?}, high watermark {:?}, log end {:?}",
                            t.name,
                            p.partition,
                            p.leader,
                            p.isr,
                            p.replicas,
                            p.high_watermark,
                            p.log_end_offset
                        ));
                    }
                }
            }
            if unhealed.is_empty() {
                return unhealed;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for u in &unhealed {
        println!("  not healed after {bound:?}: {u}");
    }
    unhealed
}

/// Every record of the topic from the log start to the end offset, per partition.
async fn read_back(bootstrap: &str, partitions: i32) -> FinalLog {
    let mut log = FinalLog::default();
    let consumer = Consumer::builder(bootstrap)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let tps: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(TOPIC, p))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let bounds = loop {
        let starts = consumer.beginning_offsets(&tps).await;
        let ends = consumer.end_offsets(&tps).await;
        match (starts, ends) {
            (Ok(s), Ok(e)) if s.len() == tps.len() && e.len() == tps.len() => break Some((s, e)),
            _ if tokio::time::Instant::now() >= deadline => break None,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let Some((starts, ends)) = bounds else {
        log.unreadable
            .push("no log start / end offsets within 60 s".into());
        return log;
    };
    log.log_start = starts.iter().map(|(tp, o)| (tp.partition, *o)).collect();
    log.end = ends.iter().map(|(tp, o)| (tp.partition, *o)).collect();
    println!(
        "  read back from log start {:?} to end {:?}",
        log.log_start, log.end
    );
    consumer.assign(tps.clone()).unwrap();
    let mut next: BTreeMap<i32, i64> = log.log_start.clone();
    let complete = |next: &BTreeMap<i32, i64>| {
        log.end
            .iter()
            .all(|(p, end)| next.get(p).copied().unwrap_or(0) >= *end)
    };
    let mut records: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    while !complete(&next) && tokio::time::Instant::now() < deadline {
        if let Ok(batch) = consumer.poll(Duration::from_millis(200)).await {
            for r in batch {
                let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default());
                records
                    .entry(r.partition)
                    .or_default()
                    .push((r.offset, value.into_owned()));
                next.insert(r.partition, r.offset + 1);
            }
        }
    }
    if !complete(&next) {
        log.unreadable.push(format!(
            "read back stopped at {next:?}, short of the end offsets {:?}",
            log.end
        ));
    }
    log.records = records;
    let _ = consumer.close(Duration::from_secs(5)).await;
    log
}

/// The checker itself, on a made-up history: it must see a lost record, a duplicate from an
/// idempotent writer, an order inversion and a committed offset going back.
#[test]
fn the_checker_finds_what_it_is_built_to_find() {
    use fault_schedule::workloads::{Ack, Commit, History};
    let ack = |writer, seq, partition, offset| Ack {
        writer,
        seq,
        partition,
        offset,
    };
    let history = History {
        acks: vec![
            ack(Writer::Idempotent, 0, 0, 0),
            ack(Writer::Idempotent, 1, 0, 1),
            ack(Writer::Idempotent, 2, 0, 2), // lost below
            ack(Writer::Plain, 0, 1, 5),
            ack(Writer::Plain, 1, 1, 3), // out of order
        ],
        commits: vec![
            Commit {
                consumer: 0,
                partition: 0,
                offset: 2,
            },
            Commit {
                consumer: 0,
                partition: 0,
                offset: 1,
            },
        ],
        ..History::default()
    };
    let log = FinalLog {
        records: BTreeMap::from([
            (
                0,
                vec![
                    (0, "idem-0".into()),
                    (1, "idem-1".into()),
                    (2, "idem-1".into()),
                ],
            ),
            (
                1,
                vec![
                    (3, "plain-1".into()),
                    (5, "plain-0".into()),
                    (6, "plain-0".into()),
                ],
            ),
        ]),
        ..FinalLog::default()
    };
    let f = check(&history, &log);
    let by = f.violations_by_invariant();
    assert_eq!(f.lost, 1, "{:?}", f.violations);
    assert_eq!(f.duplicated, 2, "idem-1 and plain-0");
    assert_eq!(f.duplicated_idempotent, 1);
    assert_eq!(by.get(&1), Some(&1));
    assert_eq!(by.get(&2), Some(&1), "a plain writer may duplicate");
    assert_eq!(by.get(&3), Some(&1));
    assert_eq!(by.get(&4), Some(&1));
}
