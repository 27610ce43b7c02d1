//! Produces keyed records and prints where each landed.
//!
//! ```sh
//! cargo run -p streamctl-examples --example produce                      # in-process 3-broker cluster
//! cargo run -p streamctl-examples --example produce -- --brokers localhost:9092 --topic demo
//! ```

use std::time::Duration;

use streamctl_client::producer::{Producer, Record};
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
    let topic = arg("--topic").unwrap_or_else(|| "demo".into());
    // Without --brokers, bring a cluster up in this process.
    let (cluster, brokers) = match arg("--brokers") {
        Some(b) => (None, b),
        None => {
            let c = DevCluster::builder().brokers(3).in_memory().start().await?;
            c.create_topic(&topic, 3, 3)?;
            let b = c.bootstrap_servers();
            (Some(c), b)
        }
    };
    let producer = Producer::builder(&brokers).build().await?;
    let mut deliveries = Vec::new();
    for (i, customer) in ["alice", "bob", "carol", "alice", "bob", "alice"]
        .iter()
        .enumerate()
    {
        let value = format!("order {i} for {customer}");
        let headers: [(&str, Option<&[u8]>); 1] = [("source", Some(b"example"))];
        let record = Record::new(&topic)
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
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    Ok(())
}
