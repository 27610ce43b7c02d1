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
use hdrhistogram::Histogram;
use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::producer::{Acks, DeliveryFuture, Producer, ProducerConfig, Record};
use streamctl_client::protocol::compression::Compression;
use streamctl_client::{Admin, ClientConfig, Cluster, Consumer, OffsetReset, TopicPartition};
use streamctl_devcluster::DevCluster;
use tokio::sync::mpsc;

use crate::cli::{Global, PerfArgs, PerfCommand, PerfOptions, StartupOptions};

mod consume;
mod hiccup;
mod produce;
mod report;
mod startup;
use consume::*;
use produce::*;
use startup::*;

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
        // The schema registry's settings (a profile `dev up` wrote has its URL).
        if k.starts_with(crate::schemas::PROPERTY_PREFIX) {
            continue;
        }
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
    /// When the slowest record was consumed (e2e), in µs since the epoch.
    worst_at_us: Option<u64>,
    /// When the measurement began, in µs since the epoch.
    started_us: u64,
    /// Latency runs only (e2e, or with --rate).
    hiccups: Option<hiccup::Hiccups>,
}

fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs .. 1 hour, 3 significant digits; `record` saturates rather than failing.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("cannot create a histogram")
}

async fn measure(setup: &Setup) -> anyhow::Result<Report> {
    ensure_topic(setup).await?;
    let started_us = micros_since_epoch();
    // Latency runs only: the meters' wake-ups cost a little CPU a throughput run would miss.
    let meters =
        (setup.mode == Mode::EndToEnd || setup.opts.rate.is_some()).then(hiccup::Meters::start);
    let report = match setup.mode {
        Mode::Produce => produce(setup).await,
        Mode::Consume => consume(setup).await,
        Mode::EndToEnd => end_to_end(setup).await,
    };
    let hiccups = match meters {
        Some(m) => Some(m.stop().await),
        None => None,
    };
    report.map(|r| Report {
        started_us,
        hiccups,
        ..r
    })
}

/// Creates the topic unless it exists. A broker without CreateTopics (librdkafka's mock
/// cluster) is measured on the topic as it is, or as the broker creates it when the
/// producer first asks for it.
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
        Err(streamctl_client::Error::UnsupportedVersion { api, .. }) => {
            tracing::warn!(
                "the broker does not serve {api}: measuring topic {} as the broker has it",
                o.topic
            );
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("cannot create topic {}", o.topic)),
    }
}

/// One producer's result.
struct Sent {
    records: u64,
    latency: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
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
