//! A consume-transform-produce service with exactly-once output: it reads `--input` as a
//! member of `--group`, writes each record's value upper-cased to `--output`, and commits
//! the output and the input offsets in one transaction. Kill it at any point (even with
//! SIGKILL mid-transaction) and start it again: the next instance fences the old one, the
//! open transaction is aborted, and processing resumes from the last committed offsets, so
//! a read_committed reader of the output sees every input record exactly once.
//!
//! ```sh
//! cargo run -p streamctl-examples --bin exactly-once          # in-process 3-broker cluster
//! cargo run -p streamctl-examples --bin exactly-once -- --brokers localhost:9092 \
//!     --input orders --output orders-upper --group upper --transactional-id upper-1
//! ```
//! Without `--brokers` it starts a dev cluster in this process and writes `--demo-records`
//! (default 1000) input records first. It stops after `--idle-ms` without input (default:
//! never with `--brokers`, 2000 ms in-process); a transaction takes the records of one poll,
//! at most `--batch` (default 500).
//!
//! Why each step is there:
//! - `transactional.id` is stable per instance: a restarted instance fences its predecessor
//!   (InitProducerId bumps the epoch) and the coordinator aborts what that one left open.
//! - `group.instance.id` is the same id (static membership): the restarted instance takes its
//!   predecessor's partitions back at once, without waiting for a session timeout.
//! - The input is read with `isolation.level=read_committed`, so output of an upstream
//!   transactional job is only seen once committed, and the consumer waits for pending
//!   transactional offset commits (KIP-447) before it resumes.
//! - The offsets sent are the ones after the records processed, under the group generation
//!   they were polled in: a member that lost its partitions in a rebalance cannot commit
//!   them (the group coordinator refuses, the transaction aborts). Records read across a
//!   rebalance are read again rather than committed under either generation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamctl_client::consumer::{
    Consumer, ConsumerGroupMetadata, ConsumerRecord, IsolationLevel, OffsetReset,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::{TopicPartition, TransactionErrorKind};
use streamctl_examples::{Flags, Result, Target};

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let input = flags.value("--input").unwrap_or("input").to_string();
    let output = flags.value("--output").unwrap_or("output").to_string();
    let group = flags.value("--group").unwrap_or("exactly-once").to_string();
    let id = flags
        .value("--transactional-id")
        .unwrap_or("exactly-once-1")
        .to_string();
    let batch: usize = flags.parse_or("--batch", 500)?;
    let target = Target::from_flags(&flags, &input, 3).await?;
    let idle_default = if target.is_in_process() { 2000 } else { 0 };
    let idle_ms: u64 = flags.parse_or("--idle-ms", idle_default)?;
    if target.is_in_process() {
        write_demo_input(
            &target.brokers,
            &input,
            flags.parse_or("--demo-records", 1000)?,
        )
        .await?;
    }

    let producer = Producer::builder(&target.brokers)
        .transactional_id(&id)
        .build()
        .await?;
    // Fences an older instance with this id and ends whatever it left open.
    producer.init_transactions().await?;
    let consumer = Consumer::builder(&target.brokers)
        .group_id(&group)
        .group_instance_id(&id)
        .isolation_level(IsolationLevel::ReadCommitted)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(batch)
        .build()
        .await?;
    consumer.subscribe([input.as_str()])?;
    println!("{id}: reading {input} in group {group}, writing {output}");

    let mut transactions = 0u64;
    let mut processed = 0u64;
    let mut last_input = Instant::now();
    loop {
        let generation = consumer.group_metadata()?;
        // One poll per transaction; `max.poll.records` is `--batch`.
        let records = consumer.poll(Duration::from_millis(200)).await?;
        let now = consumer.group_metadata()?;
        if (now.generation_id, &now.member_id) != (generation.generation_id, &generation.member_id)
        {
            // The group rebalanced (or was joined) while these were read: some may belong to
            // partitions no longer ours. Read again from the committed offsets, under one
            // generation.
            rewind(&consumer, &records)?;
            continue;
        }
        if records.is_empty() {
            if idle_ms > 0 && last_input.elapsed() >= Duration::from_millis(idle_ms) {
                break;
            }
            continue;
        }
        last_input = Instant::now();
        match transaction(&producer, &generation, &output, &records).await {
            Ok(()) => {
                transactions += 1;
                processed += records.len() as u64;
                println!(
                    "{id}: committed transaction {transactions}: {} records",
                    records.len()
                );
            }
            Err(e) if e.transaction_kind() == Some(TransactionErrorKind::Abortable) => {
                // Nothing of it is visible; read the same records again.
                eprintln!("{id}: aborting: {e}");
                producer.abort_transaction().await?;
                rewind(&consumer, &records)?;
            }
            // Fenced (a newer instance took over) or fatal: this instance must stop.
            Err(e) => return Err(e.into()),
        }
    }
    println!("{id}: idle for {idle_ms} ms after {processed} records in {transactions} transactions; stopping");
    consumer.close(Duration::from_secs(5)).await?;
    producer.close(Duration::from_secs(5)).await?;
    target.shutdown().await;
    Ok(())
}

/// One transaction: the records transformed into `output`, and the input offsets after them
/// committed with the group generation they were read in.
async fn transaction(
    producer: &Producer,
    generation: &ConsumerGroupMetadata,
    output: &str,
    records: &[ConsumerRecord],
) -> streamctl_client::Result<()> {
    producer.begin_transaction().await?;
    let mut next: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for r in records {
        let upper = r.value.as_deref().unwrap_or_default().to_ascii_uppercase();
        let mut out = Record::new(output).value(&upper);
        if let Some(key) = r.key.as_deref() {
            out = out.key(key);
        }
        // The delivery futures are not awaited one by one: the commit waits for them all
        // and fails if any record failed.
        drop(producer.send(out).await?);
        let after = next.entry(r.topic_partition()).or_default();
        *after = (*after).max(r.offset + 1);
    }
    let offsets: Vec<(TopicPartition, i64)> = next.into_iter().collect();
    producer
        .send_offsets_to_transaction(&offsets, generation)
        .await?;
    let mut attempts = 0;
    loop {
        match producer.commit_transaction().await {
            // A commit whose outcome is unknown (a timeout) is asked again: the coordinator
            // answers for the transaction it already decided.
            Err(e) if e.transaction_kind().is_none() && e.is_retriable() && attempts < 3 => {
                attempts += 1;
            }
            done => return done,
        }
    }
}

/// Every partition still assigned back to the first of `records` read from it, so they are
/// read again (nothing of them was committed).
fn rewind(consumer: &Consumer, records: &[ConsumerRecord]) -> Result<()> {
    let mut first: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for r in records {
        let offset = first.entry(r.topic_partition()).or_insert(r.offset);
        *offset = (*offset).min(r.offset);
    }
    let assigned = consumer.assignment();
    for (tp, offset) in first {
        if assigned.contains(&tp) {
            consumer.seek(&tp, offset)?;
        }
    }
    Ok(())
}

/// The in-process demo's input: `n` records `record-0` … with keys `key-0` ….
async fn write_demo_input(brokers: &str, topic: &str, n: usize) -> Result<()> {
    let producer = Producer::builder(brokers).build().await?;
    for i in 0..n {
        let key = format!("key-{i}");
        let value = format!("record-{i}");
        drop(
            producer
                .send(
                    Record::new(topic)
                        .key(key.as_bytes())
                        .value(value.as_bytes()),
                )
                .await?,
        );
    }
    producer.flush().await;
    producer.close(Duration::from_secs(5)).await?;
    println!("wrote {n} demo records to {topic}");
    Ok(())
}
