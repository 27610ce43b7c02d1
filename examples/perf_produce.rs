//! Producer throughput: N records of S bytes to a topic, printing the setup and the result.
//!
//! ```sh
//! cargo run --release -p streamctl-examples --example perf_produce -- \
//!     --records 1000000 --record-size 100 --acks all --partitions 6 --replication-factor 3
//! ```
//! Without `--brokers` it starts a 3-broker in-process dev cluster (in memory) and measures
//! against it; the cluster shares the process (and the machine's cores) with the producer.

use std::time::{Duration, Instant};

use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::protocol::compression::Compression;
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
    let batch_size: usize = arg("--batch-size").map_or(Ok(16_384), |v| v.parse())?;
    let linger_ms: u64 = arg("--linger-ms").map_or(Ok(5), |v| v.parse())?;
    let acks = match arg("--acks").as_deref() {
        None | Some("all") | Some("-1") => Acks::All,
        Some("1") => Acks::Leader,
        Some("0") => Acks::None,
        Some(other) => return Err(format!("--acks must be all, 1 or 0, not {other}").into()),
    };
    let compression: Compression = arg("--compression")
        .unwrap_or_else(|| "none".into())
        .parse()?;
    let topic = arg("--topic").unwrap_or_else(|| "perf".into());

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
        "setup: {records} records x {size} B, topic {topic} ({partitions} partitions, RF {rf}), acks={acks:?}, \
         compression={}, batch.size={batch_size}, linger.ms={linger_ms}, brokers={}",
        compression.name(),
        if cluster.is_some() { "in-process 3-broker devcluster" } else { brokers.as_str() }
    );
    let producer = Producer::builder(&brokers)
        .acks(acks)
        .compression(compression)
        .batch_size(batch_size)
        .linger(Duration::from_millis(linger_ms))
        .build()
        .await?;
    let value = vec![b'x'; size];
    let started = Instant::now();
    let mut last = None;
    for i in 0..records {
        let key = (i as u32).to_be_bytes();
        last = Some(
            producer
                .send(Record::new(&topic).key(&key).value(&value))
                .await?,
        );
    }
    producer.flush().await;
    if let Some(d) = last {
        d.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = records as f64 / secs;
    println!(
        "result: {rps:.0} records/s, {:.1} MB/s, {secs:.2} s total",
        rps * size as f64 / 1e6
    );
    producer.close(Duration::from_secs(10)).await?;
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    Ok(())
}
