//! `streamctl dev up` SIGKILLed while its log cleaner compacts, at seeded points: after every
//! restart on the same data directory, a consumer from the start ends with the latest
//! acknowledged value of every key (a tombstone for a deleted one), never an older one.
//!
//! Each round writes keyed updates and tombstones (acks=all, idempotent), asks for a
//! cleaning with `streamctl dev clean`, and kills the cluster process a seeded delay later.
//! The first round lets its cleaning finish and times it; the others kill within that
//! time, so kills land before, inside and after the cleaning's file operations. A cleaning's
//! files found on disk after a kill (`.cleaner/` contents or `*.swap`) are counted and
//! printed. Reproducible from the printed seed (`STREAMCTL_CHAOS_SEED`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamctl_client::consumer::{Consumer, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::{Admin, ClientConfig};
use streamctl_testkit::{seed, TempDir};
use tokio::process::Child;

use crate::support::{command, dev_up_printing, test_config};

const TOPIC: &str = "table";
const ROUNDS: usize = 6;
const KEYS: usize = 300;
const UPDATES: usize = 4_000;

/// `streamctl dev up` over `data_dir`, writing no profile: (process, brokers, admin url).
async fn dev_up(data_dir: &Path) -> (Child, String, String) {
    let (child, mut printed) = dev_up_printing(
        &test_config(),
        &["--no-profile", "--data-dir", data_dir.to_str().unwrap()],
        Duration::from_secs(30),
    )
    .await;
    let brokers = printed.remove("BROKERS").expect("no BROKERS line");
    let admin = printed.remove("ADMIN").expect("no ADMIN line");
    (child, brokers, admin)
}

/// What a consumer from the start ends with: key → latest value (`None`: a tombstone).
/// Waits (bounded) until the high watermark covers `last_acked`: a restarted leader's starts
/// low and rises as its followers fetch again.
async fn read_table(brokers: &str, last_acked: i64) -> BTreeMap<String, Option<String>> {
    let consumer = Consumer::builder(brokers)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let tp = TopicPartition::new(TOPIC, 0);
    consumer.assign([tp.clone()]).unwrap();
    let settle = Instant::now() + Duration::from_secs(30);
    let end = loop {
        let end = consumer
            .end_offsets(std::slice::from_ref(&tp))
            .await
            .map(|e| e[&tp])
            .unwrap_or(0);
        if end > last_acked || Instant::now() > settle {
            break end;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        end > last_acked,
        "high watermark {end} below acknowledged offset {last_acked}"
    );
    let mut table = BTreeMap::new();
    let mut last = -1;
    // The newest record is never cleaned away: reading it ends the read, past every gap.
    while last < end - 1 {
        for r in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            assert!(
                r.offset > last,
                "offsets went back: {} after {last}",
                r.offset
            );
            last = r.offset;
            let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
            let value = r.value.map(|v| String::from_utf8(v.to_vec()).unwrap());
            table.insert(key, value);
        }
    }
    table
}

/// Files a cleaning leaves between its steps: `.cleaner/` contents and `*.swap`.
fn cleaning_files(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name == ".cleaner" {
                n += std::fs::read_dir(&path).map_or(0, Iterator::count);
            } else {
                n += cleaning_files(&path);
            }
        } else if name.ends_with(".swap") {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_up_killed_during_compaction_keeps_every_latest_value() {
    const TEST: &str = "chaos dev up SIGKILL during compaction";
    let mut rng = StdRng::seed_from_u64(seed(TEST));
    let data = TempDir::new("chaos-compaction");
    tokio::time::timeout(Duration::from_secs(300), async {
        // key → latest acknowledged value, and the last acknowledged offset.
        let mut model: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut last_acked = -1;
        let mut cleaning_took = Duration::ZERO;
        let mut caught_mid_cleaning = 0;
        for round in 0..=ROUNDS {
            let (mut dev, brokers, admin_url) = dev_up(data.path()).await;
            if round == 0 {
                let admin = Admin::connect(ClientConfig::new(&brokers)).await.unwrap();
                let configs = [
                    ("cleanup.policy", "compact"),
                    ("segment.bytes", "32768"),
                    ("min.cleanable.dirty.ratio", "0.01"),
                ];
                admin.create_topic(TOPIC, 1, 3, &configs).await.unwrap();
            } else {
                let table = read_table(&brokers, last_acked).await;
                for (key, value) in &model {
                    let got = table.get(key).cloned().flatten();
                    assert_eq!(&got, value, "round {round}: {key} after the kill");
                }
                let extra: Vec<&String> =
                    table.keys().filter(|k| !model.contains_key(*k)).collect();
                assert!(extra.is_empty(), "round {round}: keys never written: {extra:?}");
            }
            if round == ROUNDS {
                dev.start_kill().unwrap();
                dev.wait().await.unwrap();
                break;
            }
            let producer = Producer::builder(&brokers)
                .acks(Acks::All)
                .idempotence(true)
                .batch_size(2048)
                .build()
                .await
                .unwrap();
            let mut sent = Vec::new();
            for i in 0..UPDATES {
                let key = format!("k{}", rng.random_range(0..KEYS));
                let value = (!rng.random_bool(0.05)).then(|| format!("r{round}-{i}"));
                let mut record = Record::new(TOPIC).partition(0).key(key.as_bytes());
                if let Some(v) = &value {
                    record = record.value(v.as_bytes());
                }
                let delivery = producer.send(record).await.unwrap();
                sent.push((key, value, delivery));
            }
            producer.flush().await;
            for (key, value, delivery) in sent {
                let m = delivery.await.unwrap();
                last_acked = last_acked.max(m.offset);
                model.insert(key, value);
            }
            producer.close(Duration::from_secs(5)).await.unwrap();

            let clean = command(&test_config())
                .args(["dev", "clean", "--admin-url", &admin_url])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            if round == 0 {
                let started = Instant::now();
                let status = clean.wait_with_output().await.unwrap().status;
                assert!(status.success(), "dev clean failed");
                cleaning_took = started.elapsed();
            } else {
                let wait = rng.random_range(0..=cleaning_took.as_millis() as u64 * 3 / 2);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            dev.start_kill().unwrap();
            dev.wait().await.unwrap();
            let left = cleaning_files(data.path());
            if left > 0 {
                caught_mid_cleaning += 1;
            }
            println!(
                "{TEST}: round {round}: killed with {left} cleaning files on disk ({} keys, last acknowledged offset {last_acked})",
                model.len()
            );
        }
        println!(
            "{TEST}: {ROUNDS} kills, {caught_mid_cleaning} of them mid-cleaning; the first cleaning took {} ms; no latest value lost",
            cleaning_took.as_millis()
        );
    })
    .await
    .expect("the test did not finish in time");
}
