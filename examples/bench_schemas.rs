//! Decoding schema-encoded records on the command line, measured: `streamctl consume -s
//! value=FORMAT` reading `--records` records in each format (Avro, Protobuf, JSON Schema)
//! against the same read without `-s`, alternated. Prints its setup and its numbers.
//!
//! ```sh
//! cargo build --release -p streamctl
//! cargo run --release -p streamctl-examples --example bench-schemas -- --records 1000000 --runs 3
//! ```
//!
//! `--formats avro,protobuf,json` picks which. The cluster (one broker, in memory, with its
//! schema registry) runs in this process; each format has its own topic of one partition
//! holding the same 5-field readings in Confluent's framing; `streamctl` runs as its own
//! process, printing `%s\n` to /dev/null.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_examples::{Flags, Result};
use streamctl_serdes::{Codecs, Format, RegistryClient};

const AVRO: &str = r#"{"type":"record","name":"Reading","namespace":"bench","fields":[
  {"name":"id","type":"long"},{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},
  {"name":"ok","type":"boolean"},{"name":"note","type":["null","string"],"default":null}]}"#;
const PROTOBUF: &str = r#"syntax = "proto3"; package bench;
message Reading { int64 id = 1; string sensor = 2; double celsius = 3; bool ok = 4; optional string note = 5; }"#;
const JSON: &str = r#"{"type":"object","properties":{"id":{"type":"integer"},"sensor":{"type":"string"},
  "celsius":{"type":"number"},"ok":{"type":"boolean"},"note":{"type":["string","null"]}},
  "required":["id","sensor","celsius","ok"],"additionalProperties":false}"#;

/// The schema each format's records are written with.
fn schema(format: Format) -> &'static str {
    match format {
        Format::Avro => AVRO,
        Format::Protobuf => PROTOBUF,
        Format::Json => JSON,
    }
}

/// The i-th reading as JSON text, in the shape `format`'s JSON takes.
fn reading(format: Format, i: u64) -> String {
    let note = if i.is_multiple_of(10) {
        "\"checked\""
    } else {
        "null"
    };
    let (id, note) = match format {
        // Protobuf's JSON: 64-bit integers as strings, an unset optional left out.
        Format::Protobuf => (format!("\"{i}\""), i.is_multiple_of(10).then_some(note)),
        _ => (i.to_string(), Some(note)),
    };
    let mut text = format!(
        r#"{{"id":{id},"sensor":"sensor-{}","celsius":{:?},"ok":{}"#,
        i % 100,
        i as f64 / 10.0,
        i.is_multiple_of(2)
    );
    if let Some(note) = note {
        text.push_str(&format!(r#","note":{note}"#));
    }
    text.push('}');
    text
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `streamctl consume` to the end of `topic`; returns records/s.
async fn read(bin: &str, brokers: &str, topic: &str, records: u64, extra: &[&str]) -> Result<f64> {
    let started = Instant::now();
    let status = tokio::process::Command::new(bin)
        .args(["-b", brokers, "consume", topic, "-e", "-f", "%s\n"])
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
    let formats = flags
        .value("--formats")
        .unwrap_or("avro,protobuf,json")
        .split(',')
        .map(str::parse)
        .collect::<std::result::Result<Vec<Format>, _>>()?;
    let dc = DevCluster::builder()
        .brokers(1)
        .in_memory()
        .schema_registry(true)
        .start()
        .await?;
    let brokers = dc.bootstrap_servers();
    let url = dc.schema_registry_url().ok_or("no registry")?;
    let registry = Arc::new(RegistryClient::new(&url)?);
    let codecs = Codecs::new(registry.clone());
    let producer = Producer::builder(&brokers).build().await?;
    for format in &formats {
        let name = format.schema_type().to_ascii_lowercase();
        let topic = format!("readings-{name}");
        dc.create_topic_with(&topic, 1, 1, &[])?;
        let id = registry
            .register(
                &format!("{topic}-value"),
                format.schema_type(),
                schema(*format),
                &[],
            )
            .await?;
        let (mut last, mut encoded_bytes) = (None, 0usize);
        for i in 0..records {
            let bytes = codecs
                .encode(*format, id, None, &reading(*format, i))
                .await?;
            encoded_bytes += bytes.len();
            let record = Record::new(&topic).partition(0).value(&bytes);
            last = Some(producer.send(record).await?);
        }
        if let Some(last) = last {
            last.await?;
        }
        println!(
            "setup: {records} {} records ({:.1} B average, Confluent framing) in {topic}, 1 partition, 1 in-memory broker in the benchmark's process; {bin} consume -e -f '%s\\n' > /dev/null, {runs} alternating runs; load average {}",
            format.schema_type(),
            encoded_bytes as f64 / records.max(1) as f64,
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
        );
        let spec = format!("value={name}");
        let (mut plain, mut decoded) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            let p = read(&bin, &brokers, &topic, records, &[]).await?;
            let d = read(&bin, &brokers, &topic, records, &["-s", &spec, "-r", &url]).await?;
            println!("run {run}: without -s {p:.0} records/s, with -s {spec} {d:.0} records/s");
            plain.push(p);
            decoded.push(d);
        }
        let (p, d) = (median(plain), median(decoded));
        println!(
            "median: without -s {p:.0} records/s, -s {spec} {d:.0} records/s ({:.2}x the undecoded read)",
            d / p
        );
    }
    dc.shutdown().await;
    Ok(())
}
