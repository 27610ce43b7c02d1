//! Consumer throughput: ours and librdkafka's (confluent-kafka) on the same records, same run.
//!
//! ```sh
//! cargo run --release -p streamctl-examples --example perf_consume -- \
//!     --records 1000000 --record-size 100 --partitions 6
//! ```
//! It starts a 3-broker in-process dev cluster (in memory; or uses `--brokers`), writes the
//! records with our producer, then reads them all from the beginning with our consumer and
//! with confluent-kafka (`--python`, default the repo's `.venv-test`, then `python3`), each by
//! manual assignment of every partition, timing from consumer creation to the last record.
//! The cluster shares the process (and the machine's cores) with our consumer; librdkafka
//! runs in its own process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use streamctl_client::consumer::{Consumer, OffsetReset};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::TopicPartition;
use streamctl_devcluster::DevCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let records: usize = arg("--records").map_or(Ok(1_000_000), |v| v.parse())?;
    let size: usize = arg("--record-size").map_or(Ok(100), |v| v.parse())?;
    let partitions: i32 = arg("--partitions").map_or(Ok(6), |v| v.parse())?;
    let rf: i16 = arg("--replication-factor").map_or(Ok(3), |v| v.parse())?;
    let topic = arg("--topic").unwrap_or_else(|| "perf-consume".into());
    let python = arg("--python").map(PathBuf::from).or_else(find_python);

    let (cluster, brokers) = match arg("--brokers") {
        Some(b) => (None, b),
        None => {
            let c = DevCluster::builder().brokers(3).in_memory().start().await?;
            c.create_topic(&topic, partitions, rf)?;
            let b = c.bootstrap_servers();
            (Some(c), b)
        }
    };
    println!(
        "setup: {records} records x {size} B, topic {topic} ({partitions} partitions, RF {rf}), brokers={}, \
         both consumers assign every partition from the beginning (fetch defaults: fetch.min.bytes=1, \
         fetch.max.wait.ms=500, max.partition.fetch.bytes=1 MiB)",
        if cluster.is_some() { "in-process 3-broker devcluster (in memory)" } else { brokers.as_str() }
    );

    let started = Instant::now();
    let producer = Producer::builder(&brokers)
        .acks(Acks::Leader)
        .batch_size(64 * 1024)
        .linger(Duration::from_millis(5))
        .build()
        .await?;
    let value = vec![b'x'; size];
    let mut last = None;
    for i in 0..records {
        let p = (i % partitions as usize) as i32;
        last = Some(
            producer
                .send(Record::new(&topic).partition(p).value(&value))
                .await?,
        );
    }
    producer.flush().await;
    if let Some(d) = last {
        d.await?;
    }
    producer.close(Duration::from_secs(10)).await?;
    println!(
        "produced in {:.2} s (our producer, acks=1)",
        started.elapsed().as_secs_f64()
    );

    // Ours.
    let started = Instant::now();
    let consumer = Consumer::builder(&brokers)
        .auto_offset_reset(OffsetReset::Earliest)
        .build()
        .await?;
    consumer.assign((0..partitions).map(|p| TopicPartition::new(topic.clone(), p)))?;
    let mut count = 0usize;
    let mut bytes = 0usize;
    while count < records {
        for r in consumer.poll(Duration::from_secs(5)).await? {
            count += 1;
            bytes += r.value.as_ref().map_or(0, |v| v.len());
        }
    }
    let ours = started.elapsed().as_secs_f64();
    consumer.close(Duration::from_secs(5)).await?;
    let ours_rps = count as f64 / ours;
    println!(
        "streamctl:  {ours_rps:.0} records/s, {:.1} MB/s ({count} records, {bytes} value bytes, {ours:.2} s)",
        ours_rps * size as f64 / 1e6
    );

    // librdkafka: with its defaults, and with fetch.queue.backoff.ms=0 (librdkafka >= 2.4
    // pauses fetching for up to 1 s once its local queue passes queued.min.messages, which
    // caps a consumer that keeps up; 0 keeps fetching).
    let Some(py) = python else {
        println!("librdkafka: skipped (no python with confluent-kafka; pass --python)");
        if let Some(c) = cluster {
            c.shutdown().await;
        }
        return Ok(());
    };
    for (label, extra) in [
        ("defaults", None),
        ("fetch.queue.backoff.ms=0", Some("fetch.queue.backoff.ms=0")),
    ] {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/client/tests/interop/perf_consume.py");
        // Blocking wait on a blocking-pool thread: the in-process brokers keep serving.
        let mut command = std::process::Command::new(&py);
        command
            .arg(script)
            .arg(&brokers)
            .arg(&topic)
            .arg(partitions.to_string())
            .arg(records.to_string())
            .args(extra);
        let out = tokio::task::spawn_blocking(move || command.output()).await??;
        if !out.status.success() {
            return Err(format!(
                "confluent-kafka failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("records "))
            .ok_or("no result from confluent-kafka")?;
        let mut fields = line.split_whitespace();
        let n: f64 = fields.next().ok_or("no count")?.parse()?;
        let secs: f64 = fields.next().ok_or("no time")?.parse()?;
        let theirs_rps = n / secs;
        println!(
            "librdkafka ({label}): {theirs_rps:.0} records/s, {:.1} MB/s ({n} records, {secs:.2} s; \
             confluent-kafka via {})",
            theirs_rps * size as f64 / 1e6,
            py.display()
        );
        println!(
            "ratio streamctl / librdkafka ({label}): {:.2}",
            ours_rps / theirs_rps
        );
    }
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    Ok(())
}

fn find_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-test/bin/python");
    [venv, PathBuf::from("python3")].into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import confluent_kafka"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
