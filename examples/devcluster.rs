//! Starts a three-broker dev cluster in this process and prints its bootstrap servers.
//!
//! ```sh
//! cargo run -p streamctl-examples --example devcluster             # localhost:9092-9094, until Ctrl-C
//! cargo run -p streamctl-examples --example devcluster -- --port 0 # free ports
//! cargo run --release -p streamctl-examples --example devcluster -- --once
//!     # free ports; start, print start-up time and idle memory, stop
//! ```

use std::time::{Duration, Instant};

use streamctl_devcluster::DevCluster;
use streamctl_examples::{Flags, Result};

/// Resident memory of this process in KiB (Linux), for the footprint line.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let once = flags.has("--once");
    let port: u16 = flags.parse_or("--port", if once { 0 } else { 9092 })?;
    let rss_before = rss_kib();
    let started = Instant::now();
    let cluster = DevCluster::builder()
        .brokers(3)
        .host("localhost")
        .base_port(port)
        .in_memory()
        .start()
        .await?;
    let elapsed = started.elapsed();
    println!("BROKERS={}", cluster.bootstrap_servers());
    println!("started 3 brokers in {elapsed:?}");
    if once {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
            println!("idle RSS: {after} KiB for the whole process ({before} KiB before start)");
        }
    } else {
        println!("press Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    cluster.shutdown().await;
    Ok(())
}
