//! `streamctl txn list|describe|producers`: the transactions of a cluster and the producers
//! that hold a partition's last stable offset back (kafka-transactions.sh's `list`,
//! `describe` and `describe-producers`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use streamctl_client::admin::TransactionFilter;
use streamctl_client::protocol::ErrorCode;

use crate::cli::{Format, Global, TxnArgs, TxnCommand};
use crate::commands::cluster::admin;
use crate::output;

/// Runs a `txn` subcommand.
pub async fn run(global: &Global, args: TxnArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TxnCommand::List {
            states,
            producer_ids,
            running_longer_than,
        } => {
            let filter = TransactionFilter {
                states,
                producer_ids,
                running_longer_than_ms: running_longer_than
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            };
            list(global, &filter).await
        }
        TxnCommand::Describe { transactional_id } => describe(global, &transactional_id).await,
        TxnCommand::Producers { topic, partition } => producers(global, &topic, partition).await,
    }
}

async fn list(global: &Global, filter: &TransactionFilter) -> anyhow::Result<ExitCode> {
    let listed = admin(global)
        .await?
        .list_transactions(filter)
        .await
        .context("cannot list transactions")?;
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|t| {
            vec![
                t.transactional_id.clone(),
                t.producer_id.to_string(),
                t.state.clone(),
                t.coordinator.to_string(),
            ]
        })
        .collect();
    let document = json!(listed
        .iter()
        .map(|t| json!({
            "transactional_id": t.transactional_id,
            "producer_id": t.producer_id,
            "state": t.state,
            "coordinator": t.coordinator,
        }))
        .collect::<Vec<_>>());
    output::listing(
        global.format,
        &document,
        &["TRANSACTIONAL ID", "PRODUCER ID", "STATE", "COORDINATOR"],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn describe(global: &Global, transactional_id: &str) -> anyhow::Result<ExitCode> {
    let d = admin(global)
        .await?
        .describe_transaction(transactional_id)
        .await
        .map_err(|e| {
            let what = if e.code() == Some(ErrorCode::TransactionalIdNotFound) {
                format!(
                    "transactional id '{transactional_id}' does not exist \
                     (list them with: streamctl txn list)"
                )
            } else {
                format!("cannot describe transactional id '{transactional_id}'")
            };
            anyhow::Error::new(e).context(what)
        })?;
    let mut out = std::io::stdout().lock();
    match global.format {
        format @ (Format::Json | Format::Yaml) => output::document(
            &mut out,
            format,
            &json!({
                "transactional_id": d.transactional_id,
                "state": d.state,
                "producer_id": d.producer_id,
                "producer_epoch": d.producer_epoch,
                "timeout_ms": d.timeout_ms,
                "start_time_ms": d.start_time_ms,
                "partitions": d.partitions,
                "coordinator": d.coordinator,
            }),
        )?,
        Format::Text => {
            writeln!(out, "transactional id: {}", d.transactional_id)?;
            writeln!(out, "state:            {}", d.state)?;
            writeln!(
                out,
                "producer:         {} (epoch {})",
                d.producer_id, d.producer_epoch
            )?;
            writeln!(out, "timeout:          {} ms", d.timeout_ms)?;
            match d.start_time_ms {
                Some(start) => {
                    let running = output::now_ms().saturating_sub(start).max(0);
                    writeln!(
                        out,
                        "started:          {} UTC ({} ms ago)",
                        output::timestamp(start),
                        running
                    )?;
                }
                None => writeln!(out, "started:          -")?,
            }
            writeln!(out, "coordinator:      {}", d.coordinator)?;
            let partitions: Vec<String> = d
                .partitions
                .iter()
                .map(|(t, ps)| format!("{t}[{}]", output::ids(ps)))
                .collect();
            writeln!(
                out,
                "partitions:       {}",
                if partitions.is_empty() {
                    "-".to_string()
                } else {
                    partitions.join(" ")
                }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn producers(global: &Global, topic: &str, partition: i32) -> anyhow::Result<ExitCode> {
    let found = admin(global)
        .await?
        .describe_producers(topic, partition)
        .await
        .with_context(|| format!("cannot describe the producers of {topic}-{partition}"))?;
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|p| {
            vec![
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.last_sequence.to_string(),
                if p.last_timestamp < 0 {
                    "-".to_string()
                } else {
                    output::timestamp(p.last_timestamp)
                },
                p.coordinator_epoch.to_string(),
                p.current_txn_start_offset
                    .map_or_else(|| "-".to_string(), |o| o.to_string()),
            ]
        })
        .collect();
    let document = json!({
        "topic": topic,
        "partition": partition,
        "producers": found.iter().map(|p| json!({
            "producer_id": p.producer_id,
            "producer_epoch": p.producer_epoch,
            "last_sequence": p.last_sequence,
            "last_timestamp": p.last_timestamp,
            "coordinator_epoch": p.coordinator_epoch,
            "current_txn_start_offset": p.current_txn_start_offset,
        })).collect::<Vec<_>>(),
    });
    output::listing(
        global.format,
        &document,
        &[
            "PRODUCER ID",
            "EPOCH",
            "LAST SEQUENCE",
            "LAST TIMESTAMP (UTC)",
            "COORDINATOR EPOCH",
            "OPEN TXN START OFFSET",
        ],
        &rows,
    )?;
    Ok(ExitCode::SUCCESS)
}
