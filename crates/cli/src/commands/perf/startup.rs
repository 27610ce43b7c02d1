//! `perf startup`: time from `DevCluster::start()` until every broker answers, and RSS.

use super::*;

/// Resident memory of this process in KiB (Linux `/proc/self/status`).
pub(super) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `perf startup`: starts an in-memory dev cluster on free ports and times it until every
/// broker has answered a Metadata request, then reads this process's resident memory
/// after `--idle-ms` of idling.
pub(super) async fn startup(o: StartupOptions) -> anyhow::Result<ExitCode> {
    if o.count == 0 {
        bail!("--brokers must be at least 1");
    }
    let rss_before = rss_kib();
    let started = Instant::now();
    let cluster = DevCluster::builder()
        .brokers(o.count)
        .base_port(0)
        .in_memory()
        .start()
        .await
        .context("cannot start the dev cluster")?;
    let start_returned = started.elapsed();
    // Each broker on its own: a Metadata answer from every one of them.
    let asks: Vec<_> = cluster
        .brokers()
        .into_iter()
        .map(|b| {
            let addr = b.addrs().first().map(ToString::to_string);
            tokio::spawn(async move {
                let addr = addr.context("a broker has no address")?;
                let config = ClientConfig::default().bootstrap_servers(&addr);
                Cluster::connect(config)
                    .await
                    .with_context(|| format!("broker {addr} did not answer Metadata"))?;
                anyhow::Ok(())
            })
        })
        .collect();
    for a in asks {
        a.await.context("a Metadata probe failed")??;
    }
    let answered = started.elapsed();
    tokio::time::sleep(Duration::from_millis(o.idle_ms)).await;
    let rss = rss_kib();
    cluster.shutdown().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "brokers": o.count,
                "start_ms": ms(start_returned),
                "metadata_ms": ms(answered),
                "idle_rss_kib": rss,
                "rss_before_start_kib": rss_before,
                "idle_ms": o.idle_ms,
            })
        );
    } else {
        println!(
            "setup: {} in-memory brokers in this process, free ports on loopback",
            o.count
        );
        println!(
            "start(): {:.1} ms; every broker answered Metadata: {:.1} ms after start()",
            ms(start_returned),
            ms(answered)
        );
        match (rss, rss_before) {
            (Some(r), Some(b)) => println!(
                "idle RSS after {} ms: {:.1} MiB for the whole process ({:.1} MiB before start)",
                o.idle_ms,
                r as f64 / 1024.0,
                b as f64 / 1024.0
            ),
            _ => println!("idle RSS: unknown (no /proc/self/status)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
