//! `streamctl dev up`: a Kafka-compatible cluster on this machine, in the foreground.
//!
//! Prints `BROKERS=host:port,…` and `ADMIN=http://…` on stdout (scripts read them), then runs
//! until Ctrl-C or SIGTERM. Data lives in `--data-dir` (default `~/.local/share/streamctl/dev`)
//! so a restart brings every topic and record back; `--in-memory` keeps nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use streamctl_devcluster::DevCluster;

use crate::cli::{DevArgs, DevCommand, DevUpArgs};

/// Runs a `dev` subcommand.
pub async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DevCommand::Up(up) => up_foreground(up).await,
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("streamctl/dev")
}

async fn up_foreground(args: DevUpArgs) -> anyhow::Result<ExitCode> {
    let mut builder = DevCluster::builder()
        .brokers(args.count)
        .host(args.host.clone())
        .base_port(args.port)
        .admin_port(args.admin_port);
    let data_dir = if args.in_memory {
        None
    } else {
        Some(args.data_dir.unwrap_or_else(default_data_dir))
    };
    builder = match &data_dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    let started = std::time::Instant::now();
    let cluster =
        builder.start().await.with_context(|| {
            format!(
            "cannot start the dev cluster on ports {}..{} (is another Kafka running? try --port 0)",
            args.port,
            args.port.saturating_add(args.count as u16).saturating_sub(1)
        )
        })?;
    println!("BROKERS={}", cluster.bootstrap_servers());
    if let Some(url) = cluster.admin_url() {
        println!("ADMIN={url}");
    }
    eprintln!(
        "dev cluster up: {} brokers in {:?}, data {}; Ctrl-C stops it",
        args.count,
        started.elapsed(),
        data_dir
            .as_ref()
            .map_or("in memory".to_string(), |d| d.display().to_string())
    );
    wait_for_signal().await?;
    eprintln!("stopping…");
    cluster.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}
