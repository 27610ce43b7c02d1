//! `streamctl perf produce|consume|e2e|startup`: throughput and latency, in the role of
//! kafka-producer-perf-test, kafka-consumer-perf-test and rdkafka_performance.
//!
//! ```text
//!  setup: -b brokers, or a 3-broker devcluster started in this process (the default)
//!         topic created with --partitions/--replication-factor if it does not exist
//!  produce: P producer tasks ─ send ─▶ per-partition FIFO of (sent at, delivery future)
//!           a collector per producer polls each partition's oldest delivery: records of a
//!           partition are acknowledged in order, so the first pending one blocks only its own
//!           partition and every ack is timed within one wake-up of its batch completing
//!  consume: fill the topic up to --records (unmeasured), then C consumers, each assigned a
//!           share of the partitions, read from the beginning to the end offsets
//!  e2e:     consumers positioned at the end, then producers stamp the send time (µs since the
//!           epoch) into the first 8 bytes of each value; latency = consume time − send time
//!  startup: time from DevCluster::start() until every broker answered Metadata; idle RSS
//! ```
//!
//! Latencies go into HDR histograms (microsecond resolution, 3 significant digits) which
//! allocate once up front; the send loop reuses one value buffer, so measuring allocates
//! nothing per record. MB/s counts record payload (key + value) in 10^6 bytes.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hdrhistogram::Histogram;
use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::producer::{Acks, DeliveryFuture, Producer, ProducerConfig, Record};
use streamctl_client::protocol::compression::Compression;
use streamctl_client::{Admin, ClientConfig, Cluster, Consumer, OffsetReset, TopicPartition};
use streamctl_devcluster::DevCluster;
use tokio::sync::mpsc;

use crate::cli::Global;

/// `streamctl perf …`.
#[derive(Debug, Args)]
pub struct PerfArgs {
    /// What to measure.
    #[command(subcommand)]
    pub command: PerfCommand,
}

/// Perf subcommands.
#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Producer throughput and send-to-ack latency.
    Produce(PerfOptions),
    /// Consumer throughput (fills the topic first if it holds fewer than --records).
    Consume(PerfOptions),
    /// Producers and consumers together: both throughputs and produce-to-consume latency.
    E2e(PerfOptions),
    /// Dev cluster start-up time (until every broker answers Metadata) and idle memory.
    Startup(StartupOptions),
}

/// Options shared by `perf produce|consume|e2e`.
#[derive(Debug, Clone, Args)]
pub struct PerfOptions {
    /// The topic (created if missing).
    #[arg(long, default_value = "perf")]
    pub topic: String,
    /// Number of records.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Value size in bytes (at least 8 for e2e, which stamps the send time into it).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Give each record an 8-byte key (its sequence number), partitioned by murmur2.
    #[arg(long)]
    pub keys: bool,
    /// acks: all, 1 or 0.
    #[arg(long, default_value = "all")]
    pub acks: String,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(long, default_value = "none")]
    pub compression: String,
    /// Partitions of the topic when it is created.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,
    /// Replication factor of the topic when it is created.
    #[arg(long, default_value_t = 3)]
    pub replication_factor: i16,
    /// Number of producers (each its own client, sending its share of the records).
    #[arg(long, default_value_t = 1)]
    pub producers: u32,
    /// Number of consumers (each its own client, assigned its share of the partitions).
    #[arg(long, default_value_t = 1)]
    pub consumers: u32,
    /// Total send rate in records/s across producers (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Producer `batch.size` in bytes (default: the client's, 16384; -X batch.size works too).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Producer `linger.ms` (default: the client's, 5).
    #[arg(long)]
    pub linger_ms: Option<u64>,
    /// Use the in-process dev cluster even if -b or STREAMCTL_BROKERS is set.
    #[arg(long)]
    pub devcluster: bool,
    /// Keep the in-process dev cluster's logs in this directory (default: in memory).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `perf startup`.
#[derive(Debug, Clone, Args)]
pub struct StartupOptions {
    /// Number of brokers.
    #[arg(short = 'n', long = "count", default_value_t = 3)]
    pub count: usize,
    /// How long to stay idle before reading the resident memory, in ms.
    #[arg(long, default_value_t = 1000)]
    pub idle_ms: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `streamctl perf`. `brokers_given` says whether -b, STREAMCTL_BROKERS or --profile
/// named the brokers: without that, an in-process dev cluster is started (a current profile
/// alone does not count, so `perf` never loads a cluster it was not pointed at).
pub async fn run(global: &Global, args: PerfArgs, brokers_given: bool) -> anyhow::Result<ExitCode> {
    match args.command {
        PerfCommand::Produce(o) => with_target(global, o, brokers_given, Mode::Produce).await,
        PerfCommand::Consume(o) => with_target(global, o, brokers_given, Mode::Consume).await,
        PerfCommand::E2e(o) => with_target(global, o, brokers_given, Mode::EndToEnd).await,
        PerfCommand::Startup(o) => startup(o).await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Produce,
    Consume,
    EndToEnd,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Produce => "produce",
            Mode::Consume => "consume",
            Mode::EndToEnd => "e2e",
        }
    }
}

/// Everything a run needs, resolved from the flags.
struct Setup {
    opts: PerfOptions,
    mode: Mode,
    brokers: String,
    in_process: bool,
    producer: ProducerConfig,
    consumer: ConsumerConfig,
}

async fn with_target(
    global: &Global,
    opts: PerfOptions,
    brokers_given: bool,
    mode: Mode,
) -> anyhow::Result<ExitCode> {
    validate(&opts, mode)?;
    let in_process = opts.devcluster || !brokers_given;
    // Flags are checked before a cluster is started; the brokers are filled in after.
    let mut setup = configure(global, opts, mode, in_process)?;
    let opts = &setup.opts;
    let cluster = if in_process {
        let mut builder = DevCluster::builder().brokers(3).base_port(0);
        builder = match &opts.data_dir {
            Some(dir) => builder.data_dir(dir),
            None => builder.in_memory(),
        };
        Some(
            builder
                .start()
                .await
                .context("cannot start the in-process dev cluster")?,
        )
    } else {
        None
    };
    if let Some(c) = &cluster {
        setup.brokers = c.bootstrap_servers();
        setup
            .producer
            .set("bootstrap.servers", &setup.brokers)
            .context("the dev cluster's addresses")?;
        setup
            .consumer
            .set("bootstrap.servers", &setup.brokers)
            .context("the dev cluster's addresses")?;
    }
    let result = measure(&setup).await;
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    let report = result?;
    if setup.opts.json {
        println!("{}", report.to_json(&setup));
    } else {
        report.print(&setup);
    }
    Ok(if report.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn validate(opts: &PerfOptions, mode: Mode) -> anyhow::Result<()> {
    if opts.records == 0 {
        bail!("--records must be at least 1");
    }
    if opts.producers == 0 || opts.consumers == 0 {
        bail!("--producers and --consumers must be at least 1");
    }
    if opts.rate == Some(0) {
        bail!("--rate must be at least 1 record/s");
    }
    if mode == Mode::EndToEnd && opts.record_size < 8 {
        bail!("--record-size must be at least 8 for e2e (the send time is stamped into the value)");
    }
    if opts.partitions < 1 || opts.replication_factor < 1 {
        bail!("--partitions and --replication-factor must be at least 1");
    }
    Ok(())
}

/// Producer and consumer configs from -b, -X and the perf flags. A -X property goes to
/// whichever client knows it (producer or consumer); one that neither knows is an error.
fn configure(
    global: &Global,
    opts: PerfOptions,
    mode: Mode,
    in_process: bool,
) -> anyhow::Result<Setup> {
    let mut producer = ProducerConfig::default();
    let mut consumer = ConsumerConfig::default();
    let brokers = global.brokers.clone();
    if !in_process {
        producer
            .set("bootstrap.servers", &brokers)
            .context("invalid --brokers")?;
        consumer
            .set("bootstrap.servers", &brokers)
            .context("invalid --brokers")?;
    }
    producer.acks = match opts.acks.as_str() {
        "all" | "-1" => Acks::All,
        "1" => Acks::Leader,
        "0" => Acks::None,
        other => bail!("--acks {other}: expected all, 1 or 0"),
    };
    producer.compression = opts.compression.parse::<Compression>().map_err(|_| {
        anyhow::anyhow!(
            "--compression {}: expected none, gzip, snappy, lz4 or zstd",
            opts.compression
        )
    })?;
    if let Some(b) = opts.batch_size {
        producer.set("batch.size", &b.to_string())?;
    }
    if let Some(l) = opts.linger_ms {
        producer.set("linger.ms", &l.to_string())?;
    }
    for kv in &global.properties {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("-X {kv}: expected key=value"))?;
        let (k, v) = (k.trim(), v.trim());
        let p = producer.set(k, v).map(|_| ());
        let c = consumer.set(k, v).map(|_| ());
        if let (Err(pe), Err(ce)) = (p, c) {
            // Report the client that knows the property (a bad value), else "unknown".
            let e = match pe {
                streamctl_client::Error::UnknownProperty { .. } => ce,
                other => other,
            };
            return Err(e).with_context(|| format!("-X {kv}"));
        }
    }
    Ok(Setup {
        opts,
        mode,
        brokers,
        in_process,
        producer,
        consumer,
    })
}

/// What a run measured.
struct Report {
    /// Records sent (produce, e2e) or read (consume).
    records: u64,
    seconds: f64,
    /// Producer throughput in e2e (the main figures are the consumers').
    produce_records: u64,
    produce_seconds: f64,
    /// Send-to-ack (produce) or send-to-consume (e2e) latency in µs; empty for consume.
    latency: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs .. 1 hour, 3 significant digits; `record` saturates rather than failing.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("cannot create a histogram")
}

async fn measure(setup: &Setup) -> anyhow::Result<Report> {
    ensure_topic(setup).await?;
    match setup.mode {
        Mode::Produce => produce(setup).await,
        Mode::Consume => consume(setup).await,
        Mode::EndToEnd => end_to_end(setup).await,
    }
}

/// Creates the topic unless it exists.
async fn ensure_topic(setup: &Setup) -> anyhow::Result<()> {
    let admin = Admin::connect(setup.consumer.client.clone())
        .await
        .with_context(|| format!("cannot connect to {}", setup.brokers))?;
    let o = &setup.opts;
    match admin
        .create_topic(&o.topic, o.partitions, o.replication_factor, &[])
        .await
    {
        Ok(()) => Ok(()),
        Err(streamctl_client::Error::Broker {
            code: streamctl_client::protocol::ErrorCode::TopicAlreadyExists,
            ..
        }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create topic {}", o.topic)),
    }
}

/// A value of `size` pseudo-random capital letters, as kafka-producer-perf-test sends:
/// compressible like text, not a run of one byte.
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

fn micros_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One producer's result.
struct Sent {
    records: u64,
    latency: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Sends `count` records (numbered from `first`) at `rate` records/s (or flat out); each
/// delivery is timed by a collector task. With `stamp`, the first 8 bytes of every value
/// carry the send time in µs since the epoch.
async fn run_producer(
    config: ProducerConfig,
    opts: PerfOptions,
    first: u64,
    count: u64,
    rate: Option<f64>,
    stamp: bool,
) -> anyhow::Result<Sent> {
    let producer = Producer::with_config(config)
        .build()
        .await
        .context("cannot start a producer")?;
    // Bounded, so a producer that outruns its acknowledgements waits rather than queueing
    // the whole run in memory (buffer.memory bounds the records, this bounds the futures).
    let (tx, rx) = mpsc::channel::<(Instant, DeliveryFuture)>(64 * 1024);
    let collector = tokio::spawn(collect(rx, opts.partitions));
    let mut value = payload(opts.record_size);
    let started = Instant::now();
    let mut send_error = None;
    for i in 0..count {
        if let Some(rate) = rate {
            // Sleep only when a millisecond or more ahead: timers are that coarse, so the
            // records go out in small bursts at the right average rate.
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            if due > Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let key = (first + i).to_be_bytes();
        if stamp {
            if let Some(head) = value.get_mut(..8) {
                head.copy_from_slice(&micros_since_epoch().to_be_bytes());
            }
        }
        let mut record = Record::new(&opts.topic).value(&value);
        if opts.keys {
            record = record.key(&key);
        }
        let sent_at = Instant::now();
        match producer.send(record).await {
            Ok(delivery) => {
                if tx.send((sent_at, delivery)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                send_error = Some(e.to_string());
                break;
            }
        }
    }
    drop(tx);
    producer.flush().await;
    let mut sent = collector.await.context("the delivery collector failed")??;
    if let Err(e) = producer.close(Duration::from_secs(30)).await {
        sent.first_error.get_or_insert_with(|| e.to_string());
        sent.errors += 1;
    }
    if let Some(e) = send_error {
        sent.errors += 1;
        sent.first_error.get_or_insert(e);
    }
    Ok(sent)
}

/// Waits for every delivery of one producer and times it. Each partition's deliveries are
/// kept in send order and only the oldest is polled: the ones behind it belong to the same
/// or a later batch, so they cannot be done earlier.
async fn collect(
    mut rx: mpsc::Receiver<(Instant, DeliveryFuture)>,
    partitions: i32,
) -> anyhow::Result<Sent> {
    let mut queues: Vec<VecDeque<(Instant, DeliveryFuture)>> = (0..partitions.max(1))
        .map(|_| VecDeque::with_capacity(4096))
        .collect();
    let mut latency = new_histogram()?;
    let mut records = 0u64;
    let mut errors = 0u64;
    let mut first_error = None;
    let mut closed = false;
    std::future::poll_fn(|cx| {
        while !closed {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    let p = usize::try_from(item.1.partition()).unwrap_or(0);
                    if p >= queues.len() {
                        queues.resize_with(p + 1, VecDeque::new);
                    }
                    if let Some(q) = queues.get_mut(p) {
                        q.push_back(item);
                    }
                }
                Poll::Ready(None) => closed = true,
                Poll::Pending => break,
            }
        }
        let mut now = None;
        for q in &mut queues {
            while let Some((sent_at, delivery)) = q.front_mut() {
                let Poll::Ready(result) = Pin::new(delivery).poll(cx) else {
                    break;
                };
                let now = *now.get_or_insert_with(Instant::now);
                let micros =
                    u64::try_from(now.duration_since(*sent_at).as_micros()).unwrap_or(u64::MAX);
                latency.saturating_record(micros.max(1));
                records += 1;
                if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
                q.pop_front();
            }
        }
        if closed && queues.iter().all(VecDeque::is_empty) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    Ok(Sent {
        records,
        latency,
        errors,
        first_error,
    })
}

/// Splits `total` into `n` shares differing by at most one.
fn shares(total: u64, n: u32) -> Vec<(u64, u64)> {
    let n = u64::from(n.max(1));
    let mut first = 0;
    (0..n)
        .map(|i| {
            let count = total / n + u64::from(i < total % n);
            let share = (first, count);
            first += count;
            share
        })
        .collect()
}

/// Runs every producer concurrently; returns the merged result and the wall time.
async fn run_producers(setup: &Setup, count: u64, stamp: bool) -> anyhow::Result<(Sent, f64)> {
    let o = &setup.opts;
    let per_producer_rate = o.rate.map(|r| r as f64 / f64::from(o.producers));
    let started = Instant::now();
    let tasks: Vec<_> = shares(count, o.producers)
        .into_iter()
        .map(|(first, n)| {
            tokio::spawn(run_producer(
                setup.producer.clone(),
                o.clone(),
                first,
                n,
                per_producer_rate,
                stamp,
            ))
        })
        .collect();
    let mut total = Sent {
        records: 0,
        latency: new_histogram()?,
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        let s = t.await.context("a producer task failed")??;
        total.records += s.records;
        total.errors += s.errors;
        if total.first_error.is_none() {
            total.first_error = s.first_error;
        }
        total
            .latency
            .add(&s.latency)
            .context("merging histograms")?;
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

async fn produce(setup: &Setup) -> anyhow::Result<Report> {
    let (sent, seconds) = run_producers(setup, setup.opts.records, false).await?;
    Ok(Report {
        records: sent.records,
        seconds,
        produce_records: sent.records,
        produce_seconds: seconds,
        latency: sent.latency,
        errors: sent.errors,
        first_error: sent.first_error,
    })
}

/// The topic's partitions, split round-robin among `n` consumers.
fn assignments(topic: &str, partitions: i32, n: u32) -> Vec<Vec<TopicPartition>> {
    let mut out: Vec<Vec<TopicPartition>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let len = out.len();
    for p in 0..partitions {
        if let Some(v) = out.get_mut(usize::try_from(p).unwrap_or(0) % len) {
            v.push(TopicPartition::new(topic, p));
        }
    }
    out.retain(|v| !v.is_empty());
    out
}

async fn partition_count(setup: &Setup) -> anyhow::Result<i32> {
    let cluster = Cluster::connect(setup.consumer.client.clone()).await?;
    let md = cluster.partitions_for(&setup.opts.topic).await?;
    Ok(i32::try_from(md.partition_count()).unwrap_or(i32::MAX))
}

/// Records in the topic now (end offsets minus beginning offsets).
async fn available(consumer: &Consumer, partitions: &[TopicPartition]) -> anyhow::Result<u64> {
    let begin = consumer.beginning_offsets(partitions).await?;
    let end = consumer.end_offsets(partitions).await?;
    Ok(partitions
        .iter()
        .map(|tp| {
            let b = begin.get(tp).copied().unwrap_or(0);
            let e = end.get(tp).copied().unwrap_or(0);
            u64::try_from(e - b).unwrap_or(0)
        })
        .sum())
}

fn consumer_config(setup: &Setup, reset: OffsetReset) -> ConsumerConfig {
    let mut c = setup.consumer.clone();
    c.auto_offset_reset = reset;
    c.enable_auto_commit = false;
    c.group_id = None;
    c
}

async fn consume(setup: &Setup) -> anyhow::Result<Report> {
    let o = &setup.opts;
    let partitions = partition_count(setup).await?;
    let all: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(o.topic.clone(), p))
        .collect();
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Earliest))
        .build()
        .await
        .context("cannot start a consumer")?;
    let have = available(&probe, &all).await?;
    let mut errors = 0;
    let mut first_error = None;
    if have < o.records {
        // Not measured: the records to read.
        let fill = Setup {
            opts: PerfOptions {
                rate: None,
                producers: 1,
                ..o.clone()
            },
            mode: Mode::Produce,
            brokers: setup.brokers.clone(),
            in_process: setup.in_process,
            producer: setup.producer.clone(),
            consumer: setup.consumer.clone(),
        };
        let (sent, _) = run_producers(&fill, o.records - have, false).await?;
        errors += sent.errors;
        first_error = sent.first_error;
    }
    let end = probe.end_offsets(&all).await?;
    probe.close(Duration::from_secs(5)).await?;

    let started = Instant::now();
    let tasks: Vec<_> = assignments(&o.topic, partitions, o.consumers)
        .into_iter()
        .map(|tps| {
            let config = consumer_config(setup, OffsetReset::Earliest);
            let targets: Vec<(TopicPartition, i64)> = tps
                .iter()
                .map(|tp| (tp.clone(), end.get(tp).copied().unwrap_or(0)))
                .collect();
            tokio::spawn(async move { read_until(config, targets, None).await })
        })
        .collect();
    let mut records = 0;
    for t in tasks {
        let r = t.await.context("a consumer task failed")??;
        records += r.records;
    }
    Ok(Report {
        records,
        seconds: started.elapsed().as_secs_f64(),
        produce_records: 0,
        produce_seconds: 0.0,
        latency: new_histogram()?,
        errors,
        first_error,
    })
}

struct Read {
    records: u64,
    latency: Histogram<u64>,
}

/// Reads the assigned partitions from their current positions until each reaches its
/// target offset. With `stamped`, times every record from the send time in its value; the
/// consumer gives up after that long without any record.
async fn read_until(
    config: ConsumerConfig,
    targets: Vec<(TopicPartition, i64)>,
    stamped: Option<Duration>,
) -> anyhow::Result<Read> {
    let consumer = Consumer::with_config(config)
        .build()
        .await
        .context("cannot start a consumer")?;
    consumer.assign(targets.iter().map(|(tp, _)| tp.clone()))?;
    let mut left: Vec<(String, i32, i64)> = targets
        .iter()
        .filter(|(_, end)| *end > 0)
        .map(|(tp, end)| (tp.topic.clone(), tp.partition, *end))
        .collect();
    let mut latency = new_histogram()?;
    let mut records = 0u64;
    let idle_limit = stamped.unwrap_or(Duration::from_secs(30));
    let mut last_record = Instant::now();
    while !left.is_empty() {
        let batch = consumer.poll(Duration::from_millis(200)).await?;
        if batch.is_empty() {
            if last_record.elapsed() > idle_limit {
                bail!(
                    "no records for {:?}; still waiting on {} partitions",
                    idle_limit,
                    left.len()
                );
            }
            continue;
        }
        last_record = Instant::now();
        let now = stamped.map(|_| micros_since_epoch());
        for r in &batch {
            records += 1;
            if let (Some(now), Some(v)) = (now, r.value.as_ref()) {
                if let Some(head) = v.get(..8).and_then(|h| <[u8; 8]>::try_from(h).ok()) {
                    let sent = u64::from_be_bytes(head);
                    latency.saturating_record(now.saturating_sub(sent).max(1));
                }
            }
            if let Some(i) = left
                .iter()
                .position(|(t, p, end)| *p == r.partition && *t == r.topic && r.offset + 1 >= *end)
            {
                left.swap_remove(i);
            }
        }
    }
    consumer.close(Duration::from_secs(5)).await?;
    Ok(Read { records, latency })
}

/// (partition, end offset) of every partition once the producers are done.
type Targets = Arc<Vec<(i32, i64)>>;

async fn end_to_end(setup: &Setup) -> anyhow::Result<Report> {
    let o = &setup.opts;
    let partitions = partition_count(setup).await?;
    let all: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(o.topic.clone(), p))
        .collect();
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Latest))
        .build()
        .await
        .context("cannot start a consumer")?;
    let start = probe.end_offsets(&all).await?;
    probe.close(Duration::from_secs(5)).await?;

    // Which partition each record lands in is the partitioner's choice, so the consumers
    // learn their targets only when the producers are done; until then they read on.
    let (targets_tx, targets_rx) = tokio::sync::watch::channel(None::<Targets>);
    let started = Instant::now();
    let mut consumers = Vec::new();
    for tps in assignments(&o.topic, partitions, o.consumers) {
        let config = consumer_config(setup, OffsetReset::Latest);
        let positions: Vec<(TopicPartition, i64)> = tps
            .iter()
            .map(|tp| (tp.clone(), start.get(tp).copied().unwrap_or(0)))
            .collect();
        let rx = targets_rx.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        consumers.push((
            tokio::spawn(read_stamped(config, positions, rx, ready_tx)),
            ready_rx,
        ));
    }
    let mut handles = Vec::new();
    for (handle, ready) in consumers {
        // Every consumer is positioned before the first record is sent.
        ready.await.context("a consumer failed to start")??;
        handles.push(handle);
    }
    let (sent, produce_seconds) = run_producers(setup, o.records, true).await?;
    let end = probe_end(setup, &all).await?;
    let _ = targets_tx.send(Some(Arc::new(
        all.iter()
            .map(|tp| (tp.partition, end.get(tp).copied().unwrap_or(0)))
            .collect(),
    )));
    let mut latency = new_histogram()?;
    let mut records = 0;
    for h in handles {
        let r = h.await.context("a consumer task failed")??;
        records += r.records;
        latency.add(&r.latency).context("merging histograms")?;
    }
    Ok(Report {
        records,
        seconds: started.elapsed().as_secs_f64(),
        produce_records: sent.records,
        produce_seconds,
        latency,
        errors: sent.errors,
        first_error: sent.first_error,
    })
}

async fn probe_end(
    setup: &Setup,
    all: &[TopicPartition],
) -> anyhow::Result<std::collections::HashMap<TopicPartition, i64>> {
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Latest))
        .build()
        .await?;
    let end = probe.end_offsets(all).await?;
    probe.close(Duration::from_secs(5)).await?;
    Ok(end.into_iter().collect())
}

/// An e2e consumer: positioned at `positions`, signals `ready`, then reads and times stamped
/// records until the targets (sent once the producers finish) are reached.
async fn read_stamped(
    config: ConsumerConfig,
    positions: Vec<(TopicPartition, i64)>,
    targets: tokio::sync::watch::Receiver<Option<Targets>>,
    ready: tokio::sync::oneshot::Sender<anyhow::Result<()>>,
) -> anyhow::Result<Read> {
    let consumer = match Consumer::with_config(config).build().await {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("cannot start a consumer: {e}")));
            bail!("cannot start a consumer");
        }
    };
    let started = (|| {
        consumer.assign(positions.iter().map(|(tp, _)| tp.clone()))?;
        for (tp, offset) in &positions {
            consumer.seek(tp, *offset)?;
        }
        Ok::<_, streamctl_client::Error>(())
    })();
    if let Err(e) = started {
        let _ = ready.send(Err(anyhow::anyhow!("cannot position a consumer: {e}")));
        bail!("cannot position a consumer");
    }
    let _ = ready.send(Ok(()));
    let mine: Vec<i32> = positions.iter().map(|(tp, _)| tp.partition).collect();
    let mut position: Vec<(i32, i64)> =
        positions.iter().map(|(tp, o)| (tp.partition, *o)).collect();
    let mut latency = new_histogram()?;
    let mut records = 0u64;
    let mut idle_since = Instant::now();
    loop {
        let done = targets.borrow().as_ref().map(|t| {
            t.iter().filter(|(p, _)| mine.contains(p)).all(|(p, end)| {
                position
                    .iter()
                    .find(|(q, _)| q == p)
                    .is_some_and(|(_, at)| at >= end)
            })
        });
        if done == Some(true) {
            break;
        }
        if done.is_some() && idle_since.elapsed() > Duration::from_secs(30) {
            bail!("an e2e consumer saw no records for 30 s after the producers finished");
        }
        let batch = consumer.poll(Duration::from_millis(100)).await?;
        if batch.is_empty() {
            continue;
        }
        idle_since = Instant::now();
        let now = micros_since_epoch();
        for r in &batch {
            records += 1;
            if let Some(head) = r
                .value
                .as_ref()
                .and_then(|v| v.get(..8))
                .and_then(|h| <[u8; 8]>::try_from(h).ok())
            {
                latency.saturating_record(now.saturating_sub(u64::from_be_bytes(head)).max(1));
            }
            if let Some(slot) = position.iter_mut().find(|(p, _)| *p == r.partition) {
                slot.1 = slot.1.max(r.offset + 1);
            }
        }
    }
    consumer.close(Duration::from_secs(5)).await?;
    Ok(Read { records, latency })
}

impl Report {
    fn records_per_sec(&self) -> f64 {
        rate(self.records, self.seconds)
    }

    fn percentile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    fn print(&self, setup: &Setup) {
        let o = &setup.opts;
        println!("setup: {}", describe(setup));
        let mb = |records: u64, secs: f64| rate(records, secs) * payload_bytes(o) / 1e6;
        match setup.mode {
            Mode::Produce => println!(
                "produce: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                self.records,
                self.seconds,
                self.records_per_sec(),
                mb(self.records, self.seconds)
            ),
            Mode::Consume => println!(
                "consume: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                self.records,
                self.seconds,
                self.records_per_sec(),
                mb(self.records, self.seconds)
            ),
            Mode::EndToEnd => {
                println!(
                    "produce: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                    self.produce_records,
                    self.produce_seconds,
                    rate(self.produce_records, self.produce_seconds),
                    mb(self.produce_records, self.produce_seconds)
                );
                println!(
                    "consume: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                    self.records,
                    self.seconds,
                    self.records_per_sec(),
                    mb(self.records, self.seconds)
                );
            }
        }
        let what = match setup.mode {
            Mode::Produce => "latency (send to ack)",
            Mode::Consume => "latency",
            Mode::EndToEnd => "latency (send to consume)",
        };
        match (
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            self.percentile_ms(0.999),
        ) {
            (Some(p50), Some(p99), Some(p999)) => println!(
                "{what}: p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms, max {:.2} ms",
                self.latency.max() as f64 / 1000.0
            ),
            _ => println!("{what}: not measured (perf e2e measures consume latency)"),
        }
        if self.errors > 0 {
            println!(
                "errors: {} ({})",
                self.errors,
                self.first_error.as_deref().unwrap_or("unknown")
            );
        }
    }

    fn to_json(&self, setup: &Setup) -> serde_json::Value {
        let o = &setup.opts;
        let bytes = payload_bytes(o);
        serde_json::json!({
            "mode": setup.mode.name(),
            "setup": {
                "brokers": if setup.in_process { "in-process devcluster".to_string() } else { setup.brokers.clone() },
                "devcluster_storage": setup.in_process.then(|| if o.data_dir.is_some() { "disk" } else { "memory" }),
                "topic": o.topic,
                "partitions": o.partitions,
                "replication_factor": o.replication_factor,
                "record_size": o.record_size,
                "keys": o.keys,
                "acks": o.acks,
                "compression": o.compression,
                "producers": o.producers,
                "consumers": o.consumers,
                "rate": o.rate,
                "batch_size": setup.producer.batch_size,
                "linger_ms": setup.producer.linger.as_millis(),
                "idempotence": setup.producer.enable_idempotence && setup.producer.acks == Acks::All,
            },
            "records": self.records,
            "seconds": self.seconds,
            "records_per_sec": self.records_per_sec(),
            "mb_per_sec": self.records_per_sec() * bytes / 1e6,
            "produce_records_per_sec": (setup.mode == Mode::EndToEnd).then(|| rate(self.produce_records, self.produce_seconds)),
            "p50_ms": self.percentile_ms(0.5),
            "p99_ms": self.percentile_ms(0.99),
            "p999_ms": self.percentile_ms(0.999),
            "max_ms": (!self.latency.is_empty()).then(|| self.latency.max() as f64 / 1000.0),
            "errors": self.errors,
            "first_error": self.first_error,
        })
    }
}

fn rate(records: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        records as f64 / seconds
    } else {
        0.0
    }
}

fn payload_bytes(o: &PerfOptions) -> f64 {
    (o.record_size + if o.keys { 8 } else { 0 }) as f64
}

fn describe(setup: &Setup) -> String {
    let o = &setup.opts;
    let p = &setup.producer;
    let target = if setup.in_process {
        format!(
            "in-process 3-broker devcluster ({})",
            if o.data_dir.is_some() {
                "on disk"
            } else {
                "in memory"
            }
        )
    } else {
        setup.brokers.clone()
    };
    let idempotent = p.enable_idempotence && p.acks == Acks::All;
    format!(
        "{} {} records x {} B{}, topic {} ({} partitions, RF {}), acks={}, compression={}, \
         producers={}, consumers={}, rate={}, batch.size={}, linger.ms={}, idempotence={}, brokers={}",
        setup.mode.name(),
        o.records,
        o.record_size,
        if o.keys { " + 8 B key" } else { "" },
        o.topic,
        o.partitions,
        o.replication_factor,
        o.acks,
        o.compression,
        o.producers,
        o.consumers,
        o.rate.map_or("unlimited".to_string(), |r| format!("{r}/s")),
        p.batch_size,
        p.linger.as_millis(),
        idempotent,
        target
    )
}

/// Resident memory of this process in KiB (Linux `/proc/self/status`).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `perf startup`: starts an in-memory dev cluster on free ports and times it until every
/// broker has answered a Metadata request, then reads this process's resident memory
/// after `--idle-ms` of idling.
async fn startup(o: StartupOptions) -> anyhow::Result<ExitCode> {
    if o.count == 0 {
        bail!("--brokers must be at least 1");
    }
    let rss_before = rss_kib();
    let started = Instant::now();
    let cluster = DevCluster::builder()
        .brokers(o.count)
        .base_port(0)
        .in_memory()
        .start()
        .await
        .context("cannot start the dev cluster")?;
    let start_returned = started.elapsed();
    // Each broker on its own: a Metadata answer from every one of them.
    let asks: Vec<_> = cluster
        .brokers()
        .into_iter()
        .map(|b| {
            let addr = b.addrs().first().map(ToString::to_string);
            tokio::spawn(async move {
                let addr = addr.context("a broker has no address")?;
                let config = ClientConfig::default().bootstrap_servers(&addr);
                Cluster::connect(config)
                    .await
                    .with_context(|| format!("broker {addr} did not answer Metadata"))?;
                anyhow::Ok(())
            })
        })
        .collect();
    for a in asks {
        a.await.context("a Metadata probe failed")??;
    }
    let answered = started.elapsed();
    tokio::time::sleep(Duration::from_millis(o.idle_ms)).await;
    let rss = rss_kib();
    cluster.shutdown().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "brokers": o.count,
                "start_ms": ms(start_returned),
                "metadata_ms": ms(answered),
                "idle_rss_kib": rss,
                "rss_before_start_kib": rss_before,
                "idle_ms": o.idle_ms,
            })
        );
    } else {
        println!(
            "setup: {} in-memory brokers in this process, free ports on loopback",
            o.count
        );
        println!(
            "start(): {:.1} ms; every broker answered Metadata: {:.1} ms after start()",
            ms(start_returned),
            ms(answered)
        );
        match (rss, rss_before) {
            (Some(r), Some(b)) => println!(
                "idle RSS after {} ms: {:.1} MiB for the whole process ({:.1} MiB before start)",
                o.idle_ms,
                r as f64 / 1024.0,
                b as f64 / 1024.0
            ),
            _ => println!("idle RSS: unknown (no /proc/self/status)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_record_once() {
        assert_eq!(shares(10, 3), vec![(0, 4), (4, 3), (7, 3)]);
        assert_eq!(shares(2, 3), vec![(0, 1), (1, 1), (2, 0)]);
        let total: u64 = shares(1_000_001, 7).iter().map(|(_, n)| n).sum();
        assert_eq!(total, 1_000_001);
    }

    #[test]
    fn assignments_spread_partitions() {
        let a = assignments("t", 6, 3);
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|v| v.len() == 2));
        // More consumers than partitions: the extra ones get nothing and are dropped.
        assert_eq!(assignments("t", 2, 3).len(), 2);
    }

    #[test]
    fn payload_is_letters() {
        let p = payload(100);
        assert_eq!(p.len(), 100);
        assert!(p.iter().all(u8::is_ascii_uppercase));
    }
}
