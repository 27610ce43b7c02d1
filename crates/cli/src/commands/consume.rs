//! `streamctl consume <topic…>`: records to stdout, kcat conventions.
//!
//! Without `-G` it assigns every partition (or those given with `-p`) and starts where `-o`
//! says; with `-G` it joins the group, starts at the committed offsets (or where `-o` says when
//! there are none) and commits what it printed: every `auto.commit.interval.ms` while it runs
//! and once more at exit, only for partitions it still owns (a partition moved to another member
//! is that member's to commit, so the group's offsets never go backwards). `-e` exits once every
//! partition is read to the end it had when consumption started; `-c` after a number of records.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use streamctl_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};

use crate::cli::{ConsumeArgs, Global};
use streamctl_serdes::Format;

use crate::schemas::{Decoded, Decoders};

/// Where to start reading, from `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Beginning,
    End,
    Offset(i64),
    FromEnd(i64),
    /// The first record at or after these ms since the epoch.
    Time(i64),
}

/// `-o` parsed: where to start, and a time to stop before (`e@T`, `@T1:T2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OffsetSpec {
    start: Start,
    stop_before_ms: Option<i64>,
}

fn parse_ms(s: &str, whole: &str) -> anyhow::Result<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .with_context(|| format!("-o {whole}: {s:?} is not a time in ms since the epoch"))
}

fn parse_offset(s: &str) -> anyhow::Result<OffsetSpec> {
    let start = |start| OffsetSpec {
        start,
        stop_before_ms: None,
    };
    if let Some(t) = s.strip_prefix("s@") {
        return Ok(start(Start::Time(parse_ms(t, s)?)));
    }
    if let Some(t) = s.strip_prefix("e@") {
        return Ok(OffsetSpec {
            start: Start::Beginning,
            stop_before_ms: Some(parse_ms(t, s)?),
        });
    }
    if let Some(t) = s.strip_prefix('@') {
        return Ok(match t.split_once(':') {
            Some((from, to)) => {
                let (from, to) = (parse_ms(from, s)?, parse_ms(to, s)?);
                if to < from {
                    bail!("-o {s}: the end time is before the start time");
                }
                OffsetSpec {
                    start: Start::Time(from),
                    stop_before_ms: Some(to),
                }
            }
            None => start(Start::Time(parse_ms(t, s)?)),
        });
    }
    Ok(match s {
        "beginning" => start(Start::Beginning),
        "end" => start(Start::End),
        n => match n.parse::<i64>() {
            Ok(v) if v >= 0 => start(Start::Offset(v)),
            Ok(v) => start(Start::FromEnd(v.saturating_neg())),
            Err(_) => bail!(
                "-o {s}: expected beginning, end, an offset, -N, @T, s@T, e@T or @T1:T2 \
                 (T in ms since the epoch)"
            ),
        },
    })
}

/// Runs `streamctl consume`.
pub async fn run(global: &Global, args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let spec = parse_offset(&args.offset)?;
    if args.group.is_some()
        && (matches!(spec.start, Start::Time(_)) || spec.stop_before_ms.is_some())
    {
        bail!(
            "-o {} cannot be used with -G: a group starts at its committed offsets \
             (move them with: streamctl group reset-offsets <group> --to-datetime T)",
            args.offset
        );
    }
    let consumer = connect(global, &args, spec.start).await?;
    let bounds = if args.group.is_some() {
        consumer.subscribe(args.topics.iter().map(String::as_str))?;
        Bounds::default()
    } else {
        assign(&consumer, &args, &spec).await?
    };
    let decoders =
        crate::schemas::Decoders::from_args(global, &args.schema, args.registry.as_deref())?;
    let mut printer = Printer::new(&args, bounds, decoders);
    let result = printer.run(&consumer).await;
    if args.group.is_some() && result.is_ok() && !printer.done.is_empty() {
        commit_owned(&consumer, &mut printer.done)
            .await
            .context("committing the printed offsets")?;
    }
    let _ = consumer.close(Duration::from_secs(5)).await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The consumer for `args`: a group member committing by hand with `-G`, else unattached.
async fn connect(global: &Global, args: &ConsumeArgs, start: Start) -> anyhow::Result<Consumer> {
    let mut config = ConsumerConfig::default();
    // Reading must not create topics: a typo should say the topic does not exist.
    config.set("allow.auto.create.topics", "false")?;
    crate::config::apply_global(global, |k, v| config.set(k, v).map(|_| ()))?;
    if let Some(level) = &args.isolation {
        config.set("isolation.level", level)?;
    }
    if let Some(g) = &args.group {
        config.set("group.id", g)?;
        // The command commits exactly what it printed, at exit; auto-commit would commit
        // its own (older) view on close.
        config.set("enable.auto.commit", "false")?;
        let reset = if start == Start::End {
            "latest"
        } else {
            "earliest"
        };
        config.set("auto.offset.reset", reset)?;
    }
    Consumer::with_config(config).build().await.map_err(|e| {
        let context = crate::config::connect_context(&global.brokers, &e);
        anyhow::Error::new(e).context(context)
    })
}

/// Where reading stops, per partition.
#[derive(Debug, Default)]
struct Bounds {
    /// The end offsets (`-e`); looked up once a group has assigned partitions when `None`.
    ends: Option<BTreeMap<TopicPartition, i64>>,
    /// With an end time: the first offset not to print.
    stop_at: Option<BTreeMap<TopicPartition, i64>>,
}

/// Assigns the partitions of `args` (all, or `-p`) at the start offsets `-o` asks for.
async fn assign(
    consumer: &Consumer,
    args: &ConsumeArgs,
    spec: &OffsetSpec,
) -> anyhow::Result<Bounds> {
    let mut partitions = Vec::new();
    for topic in &args.topics {
        let md = consumer
            .cluster()
            .partitions_for(topic)
            .await
            .with_context(|| {
                format!("topic '{topic}' cannot be read (list topics with: streamctl topic list)")
            })?;
        for p in 0..md.partition_count() as i32 {
            if args.partitions.is_empty() || args.partitions.contains(&p) {
                partitions.push(TopicPartition::new(topic.clone(), p));
            }
        }
    }
    if partitions.is_empty() {
        bail!(
            "no partition to read: -p {:?} matches none of {:?}",
            args.partitions,
            args.topics
        );
    }
    // Every start offset is looked up before the partitions are assigned: once assigned,
    // the fetcher's long polls would queue these lookups behind them on each connection.
    let mut end = consumer.end_offsets(&partitions).await?;
    let starts = start_offsets(consumer, &partitions, spec.start, &end).await?;
    if let Some(ms) = spec.stop_before_ms {
        // Stop at the first record at or after the end time (the end when none is).
        let found = consumer
            .offsets_for_times(partitions.iter().map(|tp| (tp.clone(), ms)))
            .await?;
        for (tp, hit) in found {
            if let Some((offset, _)) = hit {
                end.insert(tp, offset);
            }
        }
    }
    consumer.assign(partitions)?;
    for (tp, offset) in &starts {
        consumer.seek(tp, *offset)?;
    }
    Ok(Bounds {
        stop_at: spec.stop_before_ms.map(|_| end.clone()),
        ends: Some(end),
    })
}

/// The offset each partition starts at for `-o`.
async fn start_offsets(
    consumer: &Consumer,
    partitions: &[TopicPartition],
    start: Start,
    end: &BTreeMap<TopicPartition, i64>,
) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
    Ok(match start {
        Start::Beginning => consumer.beginning_offsets(partitions).await?,
        Start::End => end.clone(),
        Start::Offset(o) => partitions.iter().map(|tp| (tp.clone(), o)).collect(),
        Start::FromEnd(n) => {
            let begin = consumer.beginning_offsets(partitions).await?;
            partitions
                .iter()
                .map(|tp| {
                    let e = end.get(tp).copied().unwrap_or(0);
                    let b = begin.get(tp).copied().unwrap_or(0);
                    (tp.clone(), e.saturating_sub(n).max(b))
                })
                .collect()
        }
        Start::Time(ms) => {
            let found = consumer
                .offsets_for_times(partitions.iter().map(|tp| (tp.clone(), ms)))
                .await?;
            partitions
                .iter()
                .map(|tp| {
                    // Nothing that recent: start at the end, as kcat does.
                    let at = found
                        .get(tp)
                        .copied()
                        .flatten()
                        .map_or_else(|| end.get(tp).copied().unwrap_or(0), |(o, _)| o);
                    (tp.clone(), at)
                })
                .collect()
        }
    })
}

/// The print loop's state: what was printed, and where to stop.
struct Printer<'a> {
    args: &'a ConsumeArgs,
    bounds: Bounds,
    format: RecordFormat,
    /// With -s: decodes schema-encoded keys and values.
    decoders: Option<Decoders>,
    printed: u64,
    /// Next offset per partition of what was printed: what a group commits.
    done: BTreeMap<TopicPartition, i64>,
}

impl<'a> Printer<'a> {
    fn new(args: &'a ConsumeArgs, bounds: Bounds, decoders: Option<Decoders>) -> Self {
        let format = RecordFormat::parse(
            &args
                .record_format
                .as_deref()
                .map_or_else(|| "%s\n".to_string(), unescape),
        );
        Self {
            args,
            bounds,
            format,
            decoders,
            printed: 0,
            done: BTreeMap::new(),
        }
    }

    /// Prints records until `-c`, `-e` or the end time says to stop, or an error.
    async fn run(&mut self, consumer: &Consumer) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let result = self.print_loop(consumer, &mut out).await;
        out.flush().ok();
        result
    }

    async fn print_loop(
        &mut self,
        consumer: &Consumer,
        out: &mut impl Write,
    ) -> anyhow::Result<()> {
        let args = self.args;
        let mut committed_at = std::time::Instant::now();
        loop {
            if args.group.is_some()
                && !self.done.is_empty()
                && committed_at.elapsed() >= consumer.config().auto_commit_interval
            {
                // A crash now loses at most one interval of progress (printed again by
                // whoever takes the partitions over); a failed commit is retried next time.
                if let Err(e) = commit_owned(consumer, &mut self.done).await {
                    tracing::warn!(error = %e, "committing the printed offsets failed; retrying later");
                }
                committed_at = std::time::Instant::now();
            }
            if args.count.is_some_and(|c| self.printed >= c) {
                return Ok(());
            }
            if (args.exit_at_end || self.bounds.stop_at.is_some()) && self.at_end(consumer).await? {
                return Ok(());
            }
            let records = consumer.poll(Duration::from_millis(500)).await?;
            for r in &records {
                if args.count.is_some_and(|c| self.printed >= c) {
                    break;
                }
                if let Some(stop) = &self.bounds.stop_at {
                    let limit = stop.get(&r.topic_partition()).copied().unwrap_or(i64::MAX);
                    if r.offset >= limit {
                        continue;
                    }
                }
                match self.decoded(r).await? {
                    Shown::Skipped => {}
                    Shown::Decoded(decoded) => {
                        if args.json {
                            let mut json = crate::jsonl::to_json(&decoded.record);
                            decoded.annotate(&mut json);
                            serde_json::to_writer(&mut *out, &json)?;
                            out.write_all(b"\n")?;
                        } else {
                            self.format.write(&mut *out, &decoded.record)?;
                        }
                    }
                    Shown::Stored if args.json => {
                        serde_json::to_writer(&mut *out, &crate::jsonl::to_json(r))?;
                        out.write_all(b"\n")?;
                    }
                    Shown::Stored => self.format.write(&mut *out, r)?,
                }
                self.printed += 1;
                self.done.insert(
                    TopicPartition::new(r.topic.to_string(), r.partition),
                    r.offset + 1,
                );
            }
            out.flush()?;
        }
    }

    /// How a record is shown: as stored without -s, else with its schema-encoded key and
    /// value as JSON. A record that does not decode stops the command, naming it, or with
    /// --skip-undecodable is reported on stderr and not printed.
    async fn decoded(&self, r: &ConsumerRecord) -> anyhow::Result<Shown> {
        let Some(decoders) = &self.decoders else {
            return Ok(Shown::Stored);
        };
        match decoders.decode(r.key.as_deref(), r.value.as_deref()).await {
            Ok((key, value)) => Ok(Shown::Decoded(DecodedRecord::new(r, key, value))),
            Err(e) => {
                let at = format!("{}/{}/{}", r.topic, r.partition, r.offset);
                if !self.args.skip_undecodable || !undecodable(&e) {
                    return Err(e.context(format!(
                        "record {at} does not decode (--skip-undecodable goes on without it)"
                    )));
                }
                eprintln!("skipping record {at}: {e:#}");
                Ok(Shown::Skipped)
            }
        }
    }

    /// Whether every partition is read up to its end (looked up once a group assigned some).
    async fn at_end(&mut self, consumer: &Consumer) -> anyhow::Result<bool> {
        if self.bounds.ends.is_none() && self.args.group.is_some() {
            let assigned: Vec<TopicPartition> = consumer.assignment().into_iter().collect();
            if !assigned.is_empty() {
                self.bounds.ends = Some(consumer.end_offsets(&assigned).await?);
            }
        }
        match &self.bounds.ends {
            Some(end) => at_end(consumer, end).await,
            None => Ok(false),
        }
    }
}

/// Commits the printed offsets of the partitions this member still owns and forgets the
/// others: after a rebalance their new owner commits them, and an older offset from here
/// would move the group's position backwards.
async fn commit_owned(
    consumer: &Consumer,
    done: &mut BTreeMap<TopicPartition, i64>,
) -> anyhow::Result<()> {
    let owned = consumer.assignment();
    done.retain(|tp, _| owned.contains(tp));
    if done.is_empty() {
        return Ok(());
    }
    consumer.commit_offsets(done.clone()).await?;
    Ok(())
}

/// Whether every partition's position reached the end recorded at the start.
async fn at_end(consumer: &Consumer, ends: &BTreeMap<TopicPartition, i64>) -> anyhow::Result<bool> {
    for (tp, end) in ends {
        if consumer.position(tp).await? < *end {
            return Ok(false);
        }
    }
    Ok(true)
}

fn unescape(f: &str) -> String {
    f.replace("\\n", "\n").replace("\\t", "\t")
}

/// A `-f` format parsed once: literal bytes and record fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Timestamp,
    Key,
    KeyLength,
    Value,
    ValueLength,
    Headers,
}

/// Whether an error is the record's own (its bytes, or a schema id the registry does not
/// have) rather than the registry's (down, or failing): only the former may be skipped.
fn undecodable(e: &anyhow::Error) -> bool {
    use streamctl_serdes::SerdesError;
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<SerdesError>(),
            Some(SerdesError::NotFramed(_) | SerdesError::Decode(_))
                | Some(SerdesError::Rejected { status: 404, .. })
        )
    })
}

/// How one record is shown.
enum Shown {
    Stored,
    Decoded(DecodedRecord),
    Skipped,
}

/// A record whose schema-encoded key and value were decoded: the record to print (key and
/// value replaced by their JSON text) and the schema ids for -J.
struct DecodedRecord {
    record: ConsumerRecord,
    /// The schema id and format of a decoded key and value.
    key_schema: Option<(u32, Format)>,
    value_schema: Option<(u32, Format)>,
}

impl DecodedRecord {
    fn new(r: &ConsumerRecord, key: Option<Decoded>, value: Option<Decoded>) -> Self {
        let mut record = r.clone();
        let text = |d: &Decoded| bytes::Bytes::from(d.json.clone());
        if let Some(k) = &key {
            record.key = Some(text(k));
        }
        if let Some(v) = &value {
            record.value = Some(text(v));
        }
        DecodedRecord {
            record,
            key_schema: key.map(|k| (k.schema_id, k.format)),
            value_schema: value.map(|v| (v.schema_id, v.format)),
        }
    }

    /// In -J output: a decoded key or value is JSON itself, with its schema id beside it.
    fn annotate(&self, json: &mut serde_json::Value) {
        let Some(fields) = json.as_object_mut() else {
            return;
        };
        for (part, schema) in [("key", self.key_schema), ("value", self.value_schema)] {
            let Some((id, format)) = schema else {
                continue;
            };
            let decoded = self
                .record_part(part)
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(serde_json::Value::Null);
            fields.insert(part.to_string(), decoded);
            let encoding = format.schema_type().to_ascii_lowercase();
            fields.insert(format!("{part}_encoding"), encoding.into());
            fields.insert(format!("{part}_schema_id"), id.into());
        }
    }

    fn record_part(&self, part: &str) -> Option<&[u8]> {
        match part {
            "key" => self.record.key.as_deref(),
            _ => self.record.value.as_deref(),
        }
    }
}

/// The record format of `-f` (kcat's tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RecordFormat(Vec<Piece>);

impl RecordFormat {
    /// Parses kcat tokens; `%%` is a percent sign and an unknown token is printed as written.
    fn parse(format: &str) -> RecordFormat {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                let mut buf = [0u8; 4];
                literal.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            let field = match chars.next() {
                Some('t') => Piece::Topic,
                Some('p') => Piece::Partition,
                Some('o') => Piece::Offset,
                Some('T') => Piece::Timestamp,
                Some('k') => Piece::Key,
                Some('K') => Piece::KeyLength,
                Some('s') => Piece::Value,
                Some('S') => Piece::ValueLength,
                Some('h') => Piece::Headers,
                Some('%') | None => {
                    literal.push(b'%');
                    continue;
                }
                Some(other) => {
                    literal.push(b'%');
                    let mut buf = [0u8; 4];
                    literal.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(field);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        RecordFormat(pieces)
    }

    fn write(&self, out: &mut impl Write, r: &ConsumerRecord) -> std::io::Result<()> {
        let len = |b: &Option<bytes::Bytes>| b.as_ref().map_or(-1, |b| b.len() as i64);
        for piece in &self.0 {
            match piece {
                Piece::Literal(bytes) => out.write_all(bytes)?,
                Piece::Topic => out.write_all(r.topic.as_bytes())?,
                Piece::Partition => write!(out, "{}", r.partition)?,
                Piece::Offset => write!(out, "{}", r.offset)?,
                Piece::Timestamp => write!(out, "{}", r.timestamp)?,
                Piece::Key => out.write_all(r.key.as_deref().unwrap_or_default())?,
                Piece::KeyLength => write!(out, "{}", len(&r.key))?,
                Piece::Value => out.write_all(r.value.as_deref().unwrap_or_default())?,
                Piece::ValueLength => write!(out, "{}", len(&r.value))?,
                Piece::Headers => {
                    for (i, (k, v)) in r.headers.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        out.write_all(k.as_bytes())?;
                        out.write_all(b"=")?;
                        out.write_all(v.as_deref().unwrap_or_default())?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_records_own_failures_may_be_skipped() {
        use streamctl_serdes::SerdesError;
        let wrap = |e: SerdesError| anyhow::Error::new(e).context("the value");
        assert!(undecodable(&wrap(SerdesError::NotFramed(
            "magic byte 1".into()
        ))));
        assert!(undecodable(&wrap(SerdesError::Decode("short".into()))));
        let unknown_id = SerdesError::Rejected {
            status: 404,
            code: 40403,
            message: "Schema 9 not found".into(),
        };
        assert!(undecodable(&wrap(unknown_id)));
        // The registry's own trouble stops the read, skip or not.
        assert!(!undecodable(&wrap(SerdesError::Unreachable(
            "refused".into()
        ))));
        let failing = SerdesError::Rejected {
            status: 500,
            code: 50001,
            message: "store".into(),
        };
        assert!(!undecodable(&wrap(failing)));
    }

    #[test]
    fn formats_parse_once_into_literals_and_fields() {
        let f = RecordFormat::parse("%t/%p@%o %k=%s %% %x\n");
        assert_eq!(
            f.0,
            [
                Piece::Topic,
                Piece::Literal(b"/".to_vec()),
                Piece::Partition,
                Piece::Literal(b"@".to_vec()),
                Piece::Offset,
                Piece::Literal(b" ".to_vec()),
                Piece::Key,
                Piece::Literal(b"=".to_vec()),
                Piece::Value,
                Piece::Literal(b" % %x\n".to_vec()),
            ]
        );
        assert_eq!(RecordFormat::parse("%").0, [Piece::Literal(b"%".to_vec())]);
    }

    #[test]
    fn offsets_parse_like_kcat() {
        let start = |s| parse_offset(s).unwrap().start;
        assert_eq!(start("beginning"), Start::Beginning);
        assert_eq!(start("end"), Start::End);
        assert_eq!(start("42"), Start::Offset(42));
        assert_eq!(start("-3"), Start::FromEnd(3));
        assert_eq!(start("@1700"), Start::Time(1700));
        assert_eq!(start("s@1700"), Start::Time(1700));
        assert_eq!(
            parse_offset("e@1800").unwrap(),
            OffsetSpec {
                start: Start::Beginning,
                stop_before_ms: Some(1800)
            }
        );
        assert_eq!(
            parse_offset("@1700:1800").unwrap(),
            OffsetSpec {
                start: Start::Time(1700),
                stop_before_ms: Some(1800)
            }
        );
        for bad in ["soon", "@", "@x", "s@-1", "@5:4", "e@", "@1:2:3"] {
            let e = parse_offset(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }
}
