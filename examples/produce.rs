//! Produces keyed records and prints where each landed.
//!
//! ```sh
//! cargo run -p streamctl-examples --example produce                      # in-process 3-broker cluster
//! cargo run -p streamctl-examples --example produce -- --brokers localhost:9092 --topic demo
//! ```

use std::time::Duration;

use streamctl_client::producer::{HeaderRef, Producer, Record};
use streamctl_examples::{Flags, Result, Target};

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let topic = flags.value("--topic").unwrap_or("demo");
    let target = Target::from_flags(&flags, topic, 3).await?;
    let producer = Producer::builder(&target.brokers).build().await?;
    let mut deliveries = Vec::new();
    for (i, customer) in ["alice", "bob", "carol", "alice", "bob", "alice"]
        .iter()
        .enumerate()
    {
        let value = format!("order {i} for {customer}");
        let headers = [HeaderRef::new("source", "example")];
        let record = Record::new(topic)
            .key(customer.as_bytes())
            .value(value.as_bytes())
            .headers(&headers);
        deliveries.push((customer, producer.send(record).await?));
    }
    for (customer, delivery) in deliveries {
        let m = delivery.await?;
        println!(
            "{customer:>6} -> {}-{} @ offset {}",
            m.topic, m.partition, m.offset
        );
    }
    producer.close(Duration::from_secs(5)).await?;
    target.shutdown().await;
    Ok(())
}
