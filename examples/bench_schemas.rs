//! Decoding Avro on the command line, measured: `streamctl consume -s value=avro` reading
//! `--records` schema-encoded records against the same read without `-s`, alternated.
//! Prints its setup and its numbers.
//!
//! ```sh
//! cargo build --release -p streamctl
//! cargo run --release -p streamctl-examples --example bench-schemas -- --records 1000000 --runs 3
//! ```
//!
//! The cluster (one broker, in memory, with its schema registry) runs in this process; the
//! records are a 5-field Avro record (about 60 bytes encoded) in Confluent's framing, in one
//! partition; `streamctl` runs as its own process, printing `%s\n` to /dev/null.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_examples::{Flags, Result};
use streamctl_serdes::{AvroCodec, RegistryClient};

const TOPIC: &str = "readings";
const SCHEMA: &str = r#"{"type":"record","name":"Reading","namespace":"bench","fields":[
  {"name":"id","type":"long"},{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},
  {"name":"ok","type":"boolean"},{"name":"note","type":["null","string"],"default":null}]}"#;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `streamctl consume` to the end of the topic; returns records/s.
async fn read(bin: &str, brokers: &str, records: u64, extra: &[&str]) -> Result<f64> {
    let started = Instant::now();
    let status = tokio::process::Command::new(bin)
        .args(["-b", brokers, "consume", TOPIC, "-e", "-f", "%s\n"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .await?;
    if !status.success() {
        return Err(format!("{bin} consume failed: {status}").into());
    }
    Ok(records as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let records: u64 = flags.parse_or("--records", 1_000_000)?;
    let runs: usize = flags.parse_or("--runs", 3)?;
    let bin = flags
        .value("--streamctl")
        .unwrap_or("target/release/streamctl")
        .to_string();
    let dc = DevCluster::builder()
        .brokers(1)
        .in_memory()
        .schema_registry(true)
        .start()
        .await?;
    let brokers = dc.bootstrap_servers();
    let url = dc.schema_registry_url().ok_or("no registry")?;
    dc.create_topic_with(TOPIC, 1, 1, &[])?;
    let registry = Arc::new(RegistryClient::new(&url)?);
    let id = registry
        .register(&format!("{TOPIC}-value"), "AVRO", SCHEMA, &[])
        .await?;
    let codec = AvroCodec::new(registry);
    let producer = Producer::builder(&brokers).build().await?;
    let mut last = None;
    let mut encoded_bytes = 0usize;
    for i in 0..records {
        let value = json!({"id": i, "sensor": format!("sensor-{}", i % 100), "celsius": i as f64 / 10.0,
                           "ok": i % 2 == 0, "note": if i % 10 == 0 { json!("checked") } else { json!(null) }});
        let bytes = codec.encode(id, &value).await?;
        encoded_bytes += bytes.len();
        last = Some(
            producer
                .send(Record::new(TOPIC).partition(0).value(&bytes))
                .await?,
        );
    }
    if let Some(last) = last {
        last.await?;
    }
    println!(
        "setup: {records} Avro records ({:.1} B average, Confluent framing), 1 partition, 1 in-memory broker in the benchmark's process; {bin} consume -e -f '%s\\n' > /dev/null, {runs} alternating runs; load average {}",
        encoded_bytes as f64 / records.max(1) as f64,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let (mut plain, mut decoded) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let p = read(&bin, &brokers, records, &[]).await?;
        let d = read(&bin, &brokers, records, &["-s", "value=avro", "-r", &url]).await?;
        println!("run {run}: without -s {p:.0} records/s, with -s value=avro {d:.0} records/s");
        plain.push(p);
        decoded.push(d);
    }
    let (p, d) = (median(plain), median(decoded));
    println!(
        "median: without -s {p:.0} records/s, -s value=avro {d:.0} records/s ({:.2}x the undecoded read)",
        d / p
    );
    dc.shutdown().await;
    Ok(())
}
