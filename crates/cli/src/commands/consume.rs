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
use serde_json::json;
use streamctl_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};

use crate::cli::{ConsumeArgs, Global};

/// Where to start reading, from `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Beginning,
    End,
    Offset(i64),
    FromEnd(i64),
}

fn parse_start(s: &str) -> anyhow::Result<Start> {
    Ok(match s {
        "beginning" => Start::Beginning,
        "end" => Start::End,
        n => match n.parse::<i64>() {
            Ok(v) if v >= 0 => Start::Offset(v),
            Ok(v) => Start::FromEnd(-v),
            Err(_) => bail!("-o {s}: expected beginning, end, an offset or -N"),
        },
    })
}

/// Runs `streamctl consume`.
pub async fn run(global: &Global, args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let start = parse_start(&args.offset)?;
    let mut config = ConsumerConfig::default();
    // Reading must not create topics: a typo should say the topic does not exist.
    config.set("allow.auto.create.topics", "false")?;
    crate::config::apply_global(global, |k, v| config.set(k, v).map(|_| ()))?;
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
    let consumer = Consumer::with_config(config)
        .build()
        .await
        .with_context(|| {
            format!(
                "cannot connect to {} (is the cluster up? start one with: streamctl dev up)",
                global.brokers
            )
        })?;

    let mut ends: Option<BTreeMap<TopicPartition, i64>> = None;
    if args.group.is_some() {
        consumer.subscribe(args.topics.iter().map(String::as_str))?;
    } else {
        let mut partitions = Vec::new();
        for topic in &args.topics {
            let md = consumer
                .cluster()
                .partitions_for(topic)
                .await
                .with_context(|| {
                    format!(
                        "topic '{topic}' cannot be read (list topics with: streamctl topic list)"
                    )
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
        consumer.assign(partitions.clone())?;
        let end = consumer.end_offsets(&partitions).await?;
        match start {
            Start::Beginning => consumer.seek_to_beginning(&partitions).await?,
            Start::End => consumer.seek_to_end(&partitions).await?,
            Start::Offset(o) => {
                for tp in &partitions {
                    consumer.seek(tp, o)?;
                }
            }
            Start::FromEnd(n) => {
                let begin = consumer.beginning_offsets(&partitions).await?;
                for tp in &partitions {
                    let e = end.get(tp).copied().unwrap_or(0);
                    let b = begin.get(tp).copied().unwrap_or(0);
                    consumer.seek(tp, (e - n).max(b))?;
                }
            }
        }
        ends = Some(end);
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let format = args
        .record_format
        .as_deref()
        .map(unescape)
        .unwrap_or_else(|| "%s\n".to_string());
    let mut printed = 0u64;
    // Next offset per partition of what was printed: what a group commits.
    let mut done: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let mut committed_at = std::time::Instant::now();
    let result: anyhow::Result<()> = async {
        loop {
            if args.group.is_some()
                && !done.is_empty()
                && committed_at.elapsed() >= consumer.config().auto_commit_interval
            {
                // A crash now loses at most one interval of progress (printed again by
                // whoever takes the partitions over); a failed commit is retried next time.
                if let Err(e) = commit_owned(&consumer, &mut done).await {
                    tracing::warn!(error = %e, "committing the printed offsets failed; retrying later");
                }
                committed_at = std::time::Instant::now();
            }
            if args.count.is_some_and(|c| printed >= c) {
                return Ok(());
            }
            if args.exit_at_end {
                if ends.is_none() && args.group.is_some() {
                    let assigned: Vec<TopicPartition> = consumer.assignment().into_iter().collect();
                    if !assigned.is_empty() {
                        ends = Some(consumer.end_offsets(&assigned).await?);
                    }
                }
                if let Some(end) = &ends {
                    if at_end(&consumer, end).await? {
                        return Ok(());
                    }
                }
            }
            let records = consumer.poll(Duration::from_millis(500)).await?;
            for r in &records {
                if args.count.is_some_and(|c| printed >= c) {
                    break;
                }
                if args.json {
                    serde_json::to_writer(&mut out, &to_json(r))?;
                    out.write_all(b"\n")?;
                } else {
                    write_formatted(&mut out, &format, r)?;
                }
                printed += 1;
                done.insert(
                    TopicPartition::new(r.topic.clone(), r.partition),
                    r.offset + 1,
                );
            }
            out.flush()?;
        }
    }
    .await;
    out.flush().ok();
    if args.group.is_some() && result.is_ok() && !done.is_empty() {
        commit_owned(&consumer, &mut done)
            .await
            .context("committing the printed offsets")?;
    }
    let _ = consumer.close(Duration::from_secs(5)).await;
    result?;
    Ok(ExitCode::SUCCESS)
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

fn write_formatted(out: &mut impl Write, format: &str, r: &ConsumerRecord) -> std::io::Result<()> {
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            out.write_all(c.encode_utf8(&mut buf).as_bytes())?;
            continue;
        }
        match chars.next() {
            Some('t') => out.write_all(r.topic.as_bytes())?,
            Some('p') => write!(out, "{}", r.partition)?,
            Some('o') => write!(out, "{}", r.offset)?,
            Some('T') => write!(out, "{}", r.timestamp)?,
            Some('k') => out.write_all(r.key.as_deref().unwrap_or_default())?,
            Some('K') => write!(out, "{}", r.key.as_ref().map_or(-1, |k| k.len() as i64))?,
            Some('s') => out.write_all(r.value.as_deref().unwrap_or_default())?,
            Some('S') => write!(out, "{}", r.value.as_ref().map_or(-1, |v| v.len() as i64))?,
            Some('h') => {
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(k.as_bytes())?;
                    out.write_all(b"=")?;
                    out.write_all(v.as_deref().unwrap_or_default())?;
                }
            }
            Some('%') => out.write_all(b"%")?,
            Some(other) => write!(out, "%{other}")?,
            None => out.write_all(b"%")?,
        }
    }
    Ok(())
}

/// Bytes as JSON: a string when they are UTF-8, else base64 with an encoding field beside.
fn bytes_json(b: Option<&[u8]>) -> (serde_json::Value, &'static str) {
    match b {
        None => (serde_json::Value::Null, "utf8"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (json!(s), "utf8"),
            Err(_) => (json!(base64(b)), "base64"),
        },
    }
}

fn to_json(r: &ConsumerRecord) -> serde_json::Value {
    let (key, key_encoding) = bytes_json(r.key.as_deref());
    let (value, value_encoding) = bytes_json(r.value.as_deref());
    let headers: Vec<serde_json::Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            let (value, encoding) = bytes_json(v.as_deref());
            json!({"key": k, "value": value, "encoding": encoding})
        })
        .collect();
    json!({
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": headers,
    })
}

/// Standard base64 with padding (RFC 4648), for bytes that are not UTF-8.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn offsets_parse_like_kcat() {
        assert_eq!(parse_start("beginning").unwrap(), Start::Beginning);
        assert_eq!(parse_start("end").unwrap(), Start::End);
        assert_eq!(parse_start("42").unwrap(), Start::Offset(42));
        assert_eq!(parse_start("-3").unwrap(), Start::FromEnd(3));
        assert!(parse_start("soon").is_err());
    }
}
