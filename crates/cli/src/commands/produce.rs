//! `streamctl produce <topic> [FILE…]`: one record per input line, kcat conventions.
//!
//! `-K:` splits key and value at the first `:`, `-k` sets a fixed key, `-H name=value` adds
//! headers, `-p` pins a partition, `-Z` sends empty keys/values as null. The exit code is 1 if
//! any record was not delivered.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use streamctl_client::producer::{Acks, DeliveryFuture, Producer, ProducerConfig, Record};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::{Global, ProduceArgs};

/// Builds a producer config from `-b` and `-X` properties.
pub fn producer_config(global: &Global) -> anyhow::Result<ProducerConfig> {
    let mut config = ProducerConfig::default();
    crate::config::apply_global(global, |k, v| config.set(k, v).map(|_| ()))?;
    Ok(config)
}

fn parse_header(h: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let at = h
        .find(['=', ':'])
        .with_context(|| format!("-H {h}: expected name=value or name:value"))?;
    let (name, value) = h.split_at(at);
    Ok((
        name.to_string(),
        value.get(1..).unwrap_or_default().as_bytes().to_vec(),
    ))
}

/// Runs `streamctl produce`.
pub async fn run(global: &Global, args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let mut config = producer_config(global)?;
    config.compression = args.compression.parse().map_err(|_| {
        anyhow::anyhow!(
            "-z {}: expected none, gzip, snappy, lz4 or zstd",
            args.compression
        )
    })?;
    config.acks = match args.acks.as_str() {
        "all" | "-1" => Acks::All,
        "1" => Acks::Leader,
        "0" => Acks::None,
        other => bail!("--acks {other}: expected all, 1 or 0"),
    };
    let headers: Vec<(String, Vec<u8>)> = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<anyhow::Result<_>>()?;
    let producer = Producer::with_config(config)
        .build()
        .await
        .with_context(|| format!("cannot connect to {}", global.brokers))?;

    let mut inputs: Vec<Box<dyn tokio::io::AsyncRead + Unpin + Send>> = Vec::new();
    if args.files.is_empty() {
        inputs.push(Box::new(tokio::io::stdin()));
    }
    for f in &args.files {
        let file = tokio::fs::File::open(f)
            .await
            .with_context(|| format!("cannot open {}", f.display()))?;
        inputs.push(Box::new(file));
    }
    let mut pending: Vec<(usize, DeliveryFuture)> = Vec::new();
    let mut failed = 0usize;
    let mut sent = 0usize;
    for input in inputs {
        let mut lines = BufReader::new(input).lines();
        while let Some(line) = lines.next_line().await.context("cannot read input")? {
            let (key, value) = match (&args.key_delimiter, &args.key) {
                (Some(d), _) => match line.split_once(d.as_str()) {
                    Some((k, v)) => (Some(k.to_string()), v.to_string()),
                    None => (None, line.clone()),
                },
                (None, Some(k)) => (Some(k.clone()), line.clone()),
                (None, None) => (None, line.clone()),
            };
            let header_refs: Vec<(&str, Option<&[u8]>)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), Some(v.as_slice())))
                .collect();
            let mut record = Record::new(&args.topic).headers(&header_refs);
            let key = key.filter(|k| !(args.empty_as_null && k.is_empty()));
            if let Some(k) = &key {
                record = record.key(k.as_bytes());
            }
            if !(args.empty_as_null && value.is_empty()) {
                record = record.value(value.as_bytes());
            }
            if let Some(p) = args.partition {
                record = record.partition(p);
            }
            match producer.send(record).await {
                Ok(d) => pending.push((sent, d)),
                Err(e) => {
                    failed += 1;
                    eprintln!("record {sent} not sent: {e}");
                }
            }
            sent += 1;
            if pending.len() >= 10_000 {
                failed += settle(&mut pending, args.report).await;
            }
        }
    }
    failed += settle(&mut pending, args.report).await;
    producer
        .close(Duration::from_secs(30))
        .await
        .context("closing the producer")?;
    if failed > 0 {
        eprintln!("{failed} of {sent} records were not delivered");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits for deliveries; returns how many failed.
async fn settle(pending: &mut Vec<(usize, DeliveryFuture)>, report: bool) -> usize {
    let mut failed = 0;
    for (i, d) in pending.drain(..) {
        match d.await {
            Ok(m) if report => eprintln!(
                "delivered record {i} to {}-{} @ {}",
                m.topic, m.partition, m.offset
            ),
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                eprintln!("record {i} not delivered: {e}");
            }
        }
    }
    failed
}
