//! `streamctl produce <topic> [FILE…]`: one record per input line, kcat conventions.
//!
//! `-K:` splits key and value at the first `:`, `-k` sets a fixed key, `-H name=value` adds
//! headers, `-p` pins a partition, `-Z` sends empty keys/values as null. `--input jsonl` reads
//! what `consume -J` prints instead (keys, values, headers, partitions and timestamps kept).
//! On a terminal, a progress line on stderr counts records sent and delivered. The exit code
//! is 1 if any record was not delivered.

use std::fmt::Display;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use streamctl_client::producer::{
    Acks, DeliveryFuture, HeaderRef, Producer, ProducerConfig, Record,
};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::{Global, InputFormat, ProduceArgs};
use crate::jsonl;

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
    if let Some(id) = &args.transactional_id {
        config.transactional_id = Some(id.clone());
    }
    if !args.schema.is_empty() && args.input == InputFormat::Jsonl {
        bail!("-s encodes lines of JSON (with -K for keys); --input jsonl carries encoded bytes");
    }
    let encoders = crate::schemas::Encoders::from_args(
        global,
        &args.schema,
        args.registry.as_deref(),
        &args.topic,
        (args.key_schema_id, args.value_schema_id),
        args.key_delimiter.is_some() || args.key.is_some(),
    )
    .await?;
    let producer = Producer::with_config(config)
        .build()
        .await
        .with_context(|| format!("cannot connect to {}", global.brokers))?;
    let transactional = producer.transactional_id().is_some();
    if transactional {
        producer
            .init_transactions()
            .await
            .context("cannot start transactions")?;
        producer
            .begin_transaction()
            .await
            .context("cannot begin the transaction")?;
    }

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
    if args.input == InputFormat::Jsonl && (args.key_delimiter.is_some() || args.key.is_some()) {
        bail!("--input jsonl takes keys from the JSON lines; drop -K/-k");
    }
    let mut pending: Vec<(usize, DeliveryFuture)> = Vec::new();
    let mut progress = Progress::new();
    let mut sent = 0usize;
    let header_refs: Vec<HeaderRef<'_>> =
        headers.iter().map(|(n, v)| HeaderRef::new(n, v)).collect();
    for input in inputs {
        let mut lines = BufReader::new(input).lines();
        let mut line_no = 0usize;
        while let Some(line) = lines.next_line().await.context("cannot read input")? {
            line_no += 1;
            let result = match args.input {
                InputFormat::Lines => {
                    let json_keys = encoders.as_ref().is_some_and(|e| e.encodes_keys());
                    let (key, value) = match (&args.key_delimiter, &args.key) {
                        // A JSON key may hold the delimiter itself: it ends where its JSON
                        // value does.
                        (Some(d), _) if json_keys => match crate::schemas::split_json_key(&line, d)
                        {
                            Some((k, v)) => (Some(k), v),
                            None => (None, line.as_str()),
                        },
                        (Some(d), _) => match line.split_once(d.as_str()) {
                            Some((k, v)) => (Some(k), v),
                            None => (None, line.as_str()),
                        },
                        (None, Some(k)) => (Some(k.as_str()), line.as_str()),
                        (None, None) => (None, line.as_str()),
                    };
                    // With -s, key and value are JSON, encoded with their schemas.
                    let key = key.filter(|k| !(args.empty_as_null && k.is_empty()));
                    let value = Some(value).filter(|v| !(args.empty_as_null && v.is_empty()));
                    let (key, value) = match &encoders {
                        None => (
                            key.map(|k| k.as_bytes().to_vec()),
                            value.map(|v| v.as_bytes().to_vec()),
                        ),
                        Some(e) => {
                            let encoded = async {
                                let k = match key {
                                    Some(k) => Some(e.key(k).await?),
                                    None => None,
                                };
                                let v = match value {
                                    Some(v) => Some(e.value(v).await?),
                                    None => None,
                                };
                                anyhow::Ok((k, v))
                            };
                            match encoded.await {
                                Ok(kv) => kv,
                                Err(err) => {
                                    progress.fail(format_args!("line {line_no} skipped: {err:#}"));
                                    continue;
                                }
                            }
                        }
                    };
                    let mut record = Record::new(&args.topic).headers(&header_refs);
                    if let Some(k) = &key {
                        record = record.key(k);
                    }
                    if let Some(v) = &value {
                        record = record.value(v);
                    }
                    if let Some(p) = args.partition {
                        record = record.partition(p);
                    }
                    producer.send(record).await
                }
                InputFormat::Jsonl => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let parsed = match jsonl::parse_line(&line) {
                        Ok(r) => r,
                        Err(e) => {
                            progress.fail(format_args!("line {line_no} skipped: {e:#}"));
                            continue;
                        }
                    };
                    let mut all_headers = header_refs.clone();
                    all_headers.extend(parsed.headers.iter().map(|(key, value)| HeaderRef {
                        key,
                        value: value.as_deref(),
                    }));
                    let mut record = Record::new(&args.topic).headers(&all_headers);
                    if let Some(k) = &parsed.key {
                        record = record.key(k);
                    }
                    if let Some(v) = &parsed.value {
                        record = record.value(v);
                    }
                    if let Some(p) = args.partition.or(parsed.partition) {
                        record = record.partition(p);
                    }
                    if let Some(ts) = parsed.timestamp {
                        record = record.timestamp(ts);
                    }
                    producer.send(record).await
                }
            };
            match result {
                Ok(d) => pending.push((sent, d)),
                Err(e) => progress.fail(format_args!("record {sent} not sent: {e}")),
            }
            sent += 1;
            progress.sent = sent;
            if pending.len() >= 10_000 {
                settle(&mut pending, args.report, &mut progress).await;
            }
            progress.tick();
        }
    }
    settle(&mut pending, args.report, &mut progress).await;
    let failed = progress.finish();
    if transactional {
        if failed > 0 {
            producer
                .abort_transaction()
                .await
                .context("aborting the transaction")?;
            eprintln!("{failed} of {sent} records were not delivered: transaction aborted");
        } else {
            producer
                .commit_transaction()
                .await
                .context("committing the transaction")?;
        }
    }
    producer
        .close(Duration::from_secs(30))
        .await
        .context("closing the producer")?;
    if failed > 0 {
        if !transactional {
            eprintln!("{failed} of {sent} records were not delivered");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The progress line, `N sent, N delivered, N failed`: drawn by indicatif on stderr when it is
/// a terminal, first after a quarter of a second and then at most four times a second (so a
/// short run never flashes it); elsewhere only the counting is left.
struct Progress {
    bar: ProgressBar,
    /// When the line was last updated (or the run started).
    last: Instant,
    sent: usize,
    delivered: usize,
    failed: usize,
}

impl Progress {
    fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        // The template is fixed, so it always parses; the fallback only keeps this panic-free.
        let style =
            ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
        Progress {
            bar: ProgressBar::with_draw_target(None, target).with_style(style),
            last: Instant::now(),
            sent: 0,
            delivered: 0,
            failed: 0,
        }
    }

    /// Updates the line if it is due.
    fn tick(&mut self) {
        if self.bar.is_hidden() || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        self.bar.set_message(format!(
            "{} sent, {} delivered, {} failed",
            self.sent, self.delivered, self.failed
        ));
    }

    /// Counts a failed record and says why.
    fn fail(&mut self, why: impl Display) {
        self.failed += 1;
        self.say(why);
    }

    /// Prints a line on stderr with the progress line out of its way.
    fn say(&self, line: impl Display) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Erases the line; returns how many records failed.
    fn finish(self) -> usize {
        self.bar.finish_and_clear();
        self.failed
    }
}

/// Waits for deliveries, counting them into `progress`.
async fn settle(pending: &mut Vec<(usize, DeliveryFuture)>, report: bool, progress: &mut Progress) {
    for (i, d) in pending.drain(..) {
        match d.await {
            Ok(m) => {
                progress.delivered += 1;
                if report {
                    progress.say(format_args!(
                        "delivered record {i} to {}-{} @ {}",
                        m.topic, m.partition, m.offset
                    ));
                }
            }
            Err(e) => progress.fail(format_args!("record {i} not delivered: {e}")),
        }
        progress.tick();
    }
}
