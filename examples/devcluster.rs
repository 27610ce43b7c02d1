//! Starts a three-broker dev cluster in this process and prints its bootstrap servers.
//!
//! ```sh
//! cargo run -p streamctl-examples --example devcluster            # ephemeral ports, until Ctrl-C
//! cargo run -p streamctl-examples --example devcluster -- --once  # start, print, stop
//! ```

use streamctl_devcluster::DevCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let once = std::env::args().any(|a| a == "--once");
    let started = std::time::Instant::now();
    let cluster = DevCluster::builder().brokers(3).in_memory().start().await?;
    println!("started 3 brokers in {:?}", started.elapsed());
    println!("BROKERS={}", cluster.bootstrap_servers());
    if !once {
        println!("press Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    cluster.shutdown().await;
    Ok(())
}
