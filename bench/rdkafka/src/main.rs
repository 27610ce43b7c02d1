//! streamctl-client and librdkafka side by side, on one in-process 3-broker devcluster, in one
//! run: produce N × S bytes with acks=1 and acks=all, then consume N records, each workload
//! once with our client and once with librdkafka (its defaults and its throughput settings).
//! Prints every figure and the ratio ours / librdkafka.
//!
//! ```sh
//! cd bench/rdkafka && cargo run --release -- --records 1000000 --record-size 100 --runs 3
//! ```
//!
//! `--footprint ours|librdkafka --brokers B [--acks 1|all]` instead runs one client alone, at
//! its defaults, against a cluster in another process (`streamctl dev up --in-memory`), and
//! prints its throughput and this process's peak RSS: `scripts/bench-footprint` alternates
//! the two clients.
//!
//! Every workload gets a fresh topic (6 partitions, RF 3 by default), deleted afterwards so
//! memory does not grow across runs. librdkafka's loops run on blocking threads; ours run
//! on the same tokio runtime as the brokers, as they do in `streamctl perf`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig as RdConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use streamctl_client::consumer::OffsetReset;
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::{Admin, ClientConfig, Consumer, TopicPartition};
use streamctl_devcluster::DevCluster;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// librdkafka's settings for throughput, as its INTRODUCTION.md and CONFIGURATION.md advise:
/// bigger, longer-lingering batches and a deeper local queue; on the consumer side, a deeper
/// pre-fetch queue and no fetch back-off once it fills (2.x pauses fetching for
/// `fetch.queue.backoff.ms`, 1 s, which caps a consumer that keeps up).
const RD_PRODUCE_TUNED: &[(&str, &str)] = &[
    ("linger.ms", "20"),
    ("batch.num.messages", "100000"),
    ("batch.size", "4000000"),
    ("queue.buffering.max.messages", "2000000"),
    ("queue.buffering.max.kbytes", "2097151"),
];
const RD_CONSUME_TUNED: &[(&str, &str)] = &[
    ("fetch.queue.backoff.ms", "0"),
    ("queued.min.messages", "1000000"),
    ("queued.max.messages.kbytes", "1048576"),
    ("fetch.message.max.bytes", "4194304"),
];

struct Opts {
    records: u64,
    size: usize,
    partitions: i32,
    rf: i16,
    runs: usize,
}

fn parse() -> Result<Opts, BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    Ok(Opts {
        records: arg("--records").map_or(Ok(1_000_000), |v| v.parse())?,
        size: arg("--record-size").map_or(Ok(100), |v| v.parse())?,
        partitions: arg("--partitions").map_or(Ok(6), |v| v.parse())?,
        rf: arg("--replication-factor").map_or(Ok(3), |v| v.parse())?,
        runs: arg("--runs").map_or(Ok(1), |v| v.parse())?,
    })
}

/// Pseudo-random capital letters, as the perf tools send.
fn payload(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect()
}

// ---- ours ---------------------------------------------------------------------------------

/// Our producer's settings for throughput: an explicit batch.size, which is then a hard limit
/// (unset, batches start at Java's 16384 and grow to 1,000,000 bytes behind one in flight).
const OURS_TUNED_BATCH_SIZE: usize = 131_072;

async fn ours_produce(
    brokers: &str,
    topic: &str,
    o: &Opts,
    acks: Acks,
    tuned: bool,
) -> Result<f64, BoxError> {
    let mut builder = Producer::builder(brokers).acks(acks);
    if tuned {
        builder = builder.batch_size(OURS_TUNED_BATCH_SIZE);
    }
    let producer = builder.build().await?;
    let value = payload(o.size);
    let started = Instant::now();
    let mut last = None;
    for _ in 0..o.records {
        last = Some(producer.send(Record::new(topic).value(&value)).await?);
    }
    producer.flush().await;
    if let Some(d) = last {
        d.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    producer.close(Duration::from_secs(10)).await?;
    Ok(o.records as f64 / secs)
}

async fn ours_consume(brokers: &str, topic: &str, o: &Opts) -> Result<f64, BoxError> {
    let started = Instant::now();
    let consumer = Consumer::builder(brokers)
        .auto_offset_reset(OffsetReset::Earliest)
        .build()
        .await?;
    consumer.assign((0..o.partitions).map(|p| TopicPartition::new(topic, p)))?;
    let mut count = 0u64;
    let mut bytes = 0usize;
    while count < o.records {
        for r in consumer.poll(Duration::from_secs(5)).await? {
            count += 1;
            bytes += r.value.as_ref().map_or(0, |v| v.len());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    consumer.close(Duration::from_secs(5)).await?;
    if bytes != count as usize * o.size {
        return Err(format!("ours read {bytes} value bytes for {count} records").into());
    }
    Ok(count as f64 / secs)
}

// ---- librdkafka ---------------------------------------------------------------------------

/// Counts deliveries and failures.
#[derive(Default)]
struct Counter {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counter {}

impl ProducerContext for Counter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn rd_produce(
    brokers: &str,
    topic: &str,
    records: u64,
    size: usize,
    acks: &str,
    tuned: bool,
) -> Result<f64, BoxError> {
    let mut config = RdConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("acks", acks)
        .set(
            "enable.idempotence",
            if acks == "all" { "true" } else { "false" },
        );
    if tuned {
        for (k, v) in RD_PRODUCE_TUNED {
            config.set(*k, *v);
        }
    }
    let producer: BaseProducer<Counter> = config.create_with_context(Counter::default())?;
    let value = payload(size);
    let started = Instant::now();
    for _ in 0..records {
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&value[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(60))?;
    let secs = started.elapsed().as_secs_f64();
    let failed = producer.context().failed.load(Ordering::Relaxed);
    let delivered = producer.context().delivered.load(Ordering::Relaxed);
    if failed > 0 || delivered != records {
        return Err(format!("librdkafka delivered {delivered}, failed {failed}").into());
    }
    Ok(records as f64 / secs)
}

fn rd_consume(
    brokers: &str,
    topic: &str,
    records: u64,
    partitions: i32,
    tuned: bool,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut config = RdConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-rdkafka")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    if tuned {
        for (k, v) in RD_CONSUME_TUNED {
            config.set(*k, *v);
        }
    }
    let consumer: BaseConsumer = config.create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut count = 0u64;
    let mut bytes = 0usize;
    let deadline = Instant::now() + Duration::from_secs(120);
    while count < records {
        if Instant::now() > deadline {
            return Err(format!("librdkafka read only {count} records in 120 s").into());
        }
        match consumer.poll(Duration::from_secs(1)) {
            Some(Ok(m)) => {
                count += 1;
                bytes += m.payload().map_or(0, <[u8]>::len);
            }
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = bytes;
    Ok(count as f64 / secs)
}

// ---- the run ------------------------------------------------------------------------------

/// Median of a few runs.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Row {
    name: &'static str,
    ours: Vec<f64>,
    ours_tuned: Vec<f64>,
    rd_default: Vec<f64>,
    rd_tuned: Vec<f64>,
}

impl Row {
    fn new(name: &'static str) -> Self {
        Row {
            name,
            ours: Vec::new(),
            ours_tuned: Vec::new(),
            rd_default: Vec::new(),
            rd_tuned: Vec::new(),
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BoxError> + Send + 'static,
) -> Result<T, BoxError> {
    tokio::task::spawn_blocking(f).await?
}

/// This process's peak and current resident memory in KiB (Linux `VmHWM`, `VmRSS`).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `--footprint ours|librdkafka --brokers B [--acks 1|all]`: one client alone in this
/// process, at its defaults, producing to a cluster elsewhere (`streamctl dev up`); prints
/// its throughput and the process's peak resident memory, so each client's footprint is its
/// own. Run it for each client in turn.
async fn footprint(o: &Opts, client: &str, brokers: &str, acks: &str) -> Result<(), BoxError> {
    let admin = Admin::connect(ClientConfig::default().bootstrap_servers(brokers)).await?;
    let topic = format!("footprint-{client}-{}", std::process::id());
    admin.create_topic(&topic, o.partitions, o.rf, &[]).await?;
    let before = memory_kib();
    let rate = match client {
        "ours" => {
            let acks = if acks == "1" { Acks::Leader } else { Acks::All };
            ours_produce(brokers, &topic, o, acks, false).await?
        }
        "librdkafka" => {
            let (b, t, records, size, a) = (
                brokers.to_string(),
                topic.clone(),
                o.records,
                o.size,
                acks.to_string(),
            );
            blocking(move || rd_produce(&b, &t, records, size, &a, false)).await?
        }
        other => return Err(format!("--footprint {other}: expected ours or librdkafka").into()),
    };
    let after = memory_kib();
    admin.delete_topic(&topic).await?;
    println!(
        "{client} produce acks={acks}, defaults: {rate:.0} records/s; peak RSS {:.1} MiB (RSS {:.1} MiB before producing)",
        after.0 as f64 / 1024.0,
        before.1 as f64 / 1024.0
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = parse()?;
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(client) = flag("--footprint") {
        let brokers = flag("--brokers").ok_or("--footprint needs --brokers")?;
        let acks = flag("--acks").unwrap_or_else(|| "all".into());
        return footprint(&o, &client, &brokers, &acks).await;
    }
    let cluster = DevCluster::builder()
        .brokers(3)
        .base_port(0)
        .in_memory()
        .start()
        .await?;
    let brokers = cluster.bootstrap_servers();
    let admin = Admin::connect(ClientConfig::default().bootstrap_servers(&brokers)).await?;
    println!(
        "setup: {} records x {} B (no key), topics of {} partitions RF {}, in-process 3-broker \
         devcluster (in memory), {} run(s), medians reported; librdkafka {} (rust-rdkafka, built \
         from source by rdkafka-sys)",
        o.records,
        o.size,
        o.partitions,
        o.rf,
        o.runs,
        rdkafka::util::get_rdkafka_version().1
    );
    println!(
        "ours: client defaults (batch.size=16384, growing to 1000000 behind a batch in flight, \
         linger.ms=5, idempotence with acks=all), tuned: batch.size={OURS_TUNED_BATCH_SIZE}; librdkafka: defaults (+ enable.idempotence with \
         acks=all), tuned: {:?} / consumer {:?}",
        RD_PRODUCE_TUNED, RD_CONSUME_TUNED
    );
    let mut rows = vec![
        Row::new("produce acks=1"),
        Row::new("produce acks=all"),
        Row::new("consume"),
    ];
    let mut n = 0u32;
    let mut fresh = |admin: &Admin| {
        n += 1;
        let name = format!("bench-{n}");
        let admin = admin.clone();
        let (p, rf) = (o.partitions, o.rf);
        async move {
            admin.create_topic(&name, p, rf, &[]).await?;
            Ok::<_, BoxError>(name)
        }
    };
    for run in 1..=o.runs {
        for (i, (acks, rd_acks)) in [(Acks::Leader, "1"), (Acks::All, "all")]
            .into_iter()
            .enumerate()
        {
            let mut ours = Vec::new();
            for tuned in [false, true] {
                let t = fresh(&admin).await?;
                ours.push(ours_produce(&brokers, &t, &o, acks, tuned).await?);
                admin.delete_topic(&t).await?;
            }
            let mut rd = Vec::new();
            for tuned in [false, true] {
                let t = fresh(&admin).await?;
                let (b, tt, records, size) = (brokers.clone(), t.clone(), o.records, o.size);
                rd.push(
                    blocking(move || rd_produce(&b, &tt, records, size, rd_acks, tuned)).await?,
                );
                admin.delete_topic(&t).await?;
            }
            let at = |v: &Vec<f64>, i: usize| v.get(i).copied().unwrap_or(0.0);
            println!(
                "run {run} produce acks={rd_acks}: ours default {:.0}/s, tuned {:.0}/s; librdkafka default {:.0}/s, tuned {:.0}/s",
                at(&ours, 0),
                at(&ours, 1),
                at(&rd, 0),
                at(&rd, 1)
            );
            if let Some(row) = rows.get_mut(i) {
                row.ours.push(at(&ours, 0));
                row.ours_tuned.push(at(&ours, 1));
                row.rd_default.push(at(&rd, 0));
                row.rd_tuned.push(at(&rd, 1));
            }
        }
        // Consume: one topic filled once, read by each client from the beginning.
        let t = fresh(&admin).await?;
        ours_produce(&brokers, &t, &o, Acks::Leader, false).await?;
        let ours = ours_consume(&brokers, &t, &o).await?;
        let mut rd = Vec::new();
        for tuned in [false, true] {
            let (b, tt, records, parts) = (brokers.clone(), t.clone(), o.records, o.partitions);
            rd.push(blocking(move || rd_consume(&b, &tt, records, parts, tuned)).await?);
        }
        admin.delete_topic(&t).await?;
        println!(
            "run {run} consume: ours {ours:.0}/s, librdkafka default {:.0}/s, tuned {:.0}/s",
            rd.first().copied().unwrap_or(0.0),
            rd.get(1).copied().unwrap_or(0.0)
        );
        if let Some(row) = rows.get_mut(2) {
            row.ours.push(ours);
            row.ours_tuned.push(ours);
            row.rd_default.push(rd.first().copied().unwrap_or(0.0));
            row.rd_tuned.push(rd.get(1).copied().unwrap_or(0.0));
        }
    }
    println!();
    println!(
        "{:<17} {:>12} {:>12} {:>12} {:>12} {:>15} {:>13}",
        "workload",
        "ours",
        "ours tuned",
        "rdk default",
        "rdk tuned",
        "ours/rdk dflt",
        "tuned/tuned"
    );
    for r in rows {
        let (ours, ours_t) = (median(r.ours), median(r.ours_tuned));
        let (d, t) = (median(r.rd_default), median(r.rd_tuned));
        println!(
            "{:<17} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>15.2} {:>13.2}",
            r.name,
            ours,
            ours_t,
            d,
            t,
            ours / d,
            ours_t / t
        );
    }
    println!("(records/s, medians; consume: ours has one setting, librdkafka's tuned consumer is in the tuned column)");
    cluster.shutdown().await;
    Ok(())
}
