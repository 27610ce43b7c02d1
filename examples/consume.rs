//! Consumes a topic as a member of a consumer group, committing after each batch.
//!
//! ```sh
//! cargo run -p streamctl-examples --example consume                # in-process 3-broker cluster
//! cargo run -p streamctl-examples --example consume -- --brokers localhost:9092 --topic demo --group demo-readers
//! ```
//! Without `--brokers` it starts a dev cluster in this process and writes a few records first,
//! so there is something to read. Stops after `--idle-ms` (default 2000) without records.

use std::time::Duration;

use streamctl_client::consumer::{Consumer, ListenerFuture, OffsetReset, RebalanceListener};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::TopicPartition;
use streamctl_examples::{Flags, Result, Target};

/// Prints partitions moving in and out; commits nothing itself (the loop commits per batch).
struct PrintRebalances;

impl RebalanceListener for PrintRebalances {
    fn on_assigned<'a>(
        &'a self,
        _: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        println!("assigned: {}", list(partitions));
        Box::pin(async {})
    }

    fn on_revoked<'a>(
        &'a self,
        consumer: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        println!("revoked:  {}", list(partitions));
        // Still ours: commit what we read of them so the next owner starts after it.
        Box::pin(async move {
            if let Err(e) = consumer.commit().await {
                eprintln!("commit on revoke failed: {e}");
            }
        })
    }
}

fn list(partitions: &[TopicPartition]) -> String {
    let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let topic = flags.value("--topic").unwrap_or("demo");
    let group = flags.value("--group").unwrap_or("demo-readers");
    let idle = Duration::from_millis(flags.parse_or("--idle-ms", 2000)?);
    let target = Target::from_flags(&flags, topic, 3).await?;
    if target.is_in_process() {
        // A fresh cluster is empty: write a few records so there is something to read.
        let producer = Producer::builder(&target.brokers).build().await?;
        for (i, customer) in ["alice", "bob", "carol", "alice", "bob", "alice"]
            .iter()
            .enumerate()
        {
            let value = format!("order {i} for {customer}");
            let record = Record::new(topic)
                .key(customer.as_bytes())
                .value(value.as_bytes());
            producer.send(record).await?;
        }
        producer.close(Duration::from_secs(5)).await?;
    }

    let consumer = Consumer::builder(&target.brokers)
        .group_id(group)
        .enable_auto_commit(false)
        .auto_offset_reset(OffsetReset::Earliest)
        .rebalance_listener(PrintRebalances)
        .build()
        .await?;
    consumer.subscribe([topic])?;
    let mut total = 0usize;
    let mut quiet = Duration::ZERO;
    while quiet < idle {
        let records = consumer.poll(Duration::from_millis(250)).await?;
        if records.is_empty() {
            // Idle time counts once the group has given us partitions.
            if !consumer.assignment().is_empty() {
                quiet += Duration::from_millis(250);
            }
            continue;
        }
        quiet = Duration::ZERO;
        for r in &records {
            println!(
                "{}-{} @ {:>4}  {:>6} = {}",
                r.topic,
                r.partition,
                r.offset,
                text(r.key.as_deref()),
                text(r.value.as_deref())
            );
        }
        total += records.len();
        // Manual commit: everything this poll returned is processed.
        consumer.commit().await?;
    }
    let assigned: Vec<TopicPartition> = consumer.assignment().into_iter().collect();
    for (tp, offset) in consumer.committed(&assigned).await? {
        println!(
            "committed {tp}: {}",
            offset.map_or("-".into(), |o| o.to_string())
        );
    }
    println!(
        "read {total} records; idle for {} ms, closing",
        idle.as_millis()
    );
    consumer.close(Duration::from_secs(10)).await?;
    target.shutdown().await;
    Ok(())
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(
        || "null".into(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}
