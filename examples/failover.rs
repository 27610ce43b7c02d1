//! Failover time: a leader is killed while a producer writes with acks=all; prints the time
//! from the kill to the first acknowledged acks=all record (the producer finds the new
//! leader through metadata and retries). Five rounds; the killed broker is restarted and
//! allowed to rejoin the ISR between rounds.
//!
//! `cargo run --release -p streamctl-examples --example failover`

use std::time::{Duration, Instant};

use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_devcluster::DevCluster;

#[tokio::main]
async fn main() -> streamctl_examples::Result<()> {
    let cluster = DevCluster::builder().brokers(3).in_memory().start().await?;
    cluster.create_topic("failover", 1, 3)?;
    println!("setup: 3-broker in-process devcluster, topic failover (1 partition, RF 3), acks=all, linger.ms=0, retry.backoff.ms=100");
    let producer = Producer::builder(&cluster.bootstrap_servers())
        .acks(Acks::All)
        .linger(Duration::ZERO)
        .build()
        .await?;
    let mut times = Vec::new();
    for round in 0..5 {
        // Warm: a few acknowledged writes on the current leader.
        for _ in 0..10 {
            producer
                .send(Record::new("failover").value(b"before"))
                .await?
                .await?;
        }
        let leader = cluster
            .controller()
            .snapshot()
            .partition("failover", 0)
            .map_or(-1, |p| p.leader);
        let killed = Instant::now();
        cluster.kill_broker(leader).await?;
        let m = producer
            .send(Record::new("failover").value(b"after"))
            .await?
            .await?;
        let took = killed.elapsed();
        let new_leader = cluster
            .controller()
            .snapshot()
            .partition("failover", 0)
            .map_or(-1, |p| p.leader);
        println!("round {round}: killed leader {leader}; first acks=all record acknowledged by leader {new_leader} at offset {} after {took:?}", m.offset);
        times.push(took);
        cluster.start_broker(leader).await?;
        // Wait on the controller's watch until the ISR is whole again.
        let mut rx = cluster.controller().subscribe();
        tokio::time::timeout(
            Duration::from_secs(30),
            rx.wait_for(|md| {
                md.partition("failover", 0)
                    .is_some_and(|p| p.isr.len() == 3)
            }),
        )
        .await??;
    }
    times.sort();
    if let (Some(min), Some(median), Some(max)) =
        (times.first(), times.get(times.len() / 2), times.last())
    {
        println!(
            "failover: median {median:?}, min {min:?}, max {max:?} over {} rounds",
            times.len()
        );
    }
    producer.close(Duration::from_secs(5)).await?;
    cluster.shutdown().await;
    Ok(())
}
