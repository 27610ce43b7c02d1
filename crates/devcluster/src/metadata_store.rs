//! Persists cluster metadata (topics, ids, assignments, configs, leader and partition epochs,
//! ISRs) and the producer-id block in the data directory, so a cluster restarted on the same
//! directory brings every topic back and never reuses an id or an epoch.
//!
//! The controller writes here *before* it publishes a change (see `controller.rs` for what
//! relies on it). Each file is rewritten whole: written to a temporary file, fsynced, renamed
//! over the old one, and the directory fsynced, so a crash leaves the old or the new file,
//! never a torn one. Metadata is small and changes rarely.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::TopicConfig;
use crate::controller::{ClusterMetadata, PartitionMeta, TopicMeta};

const TOPICS_FILE: &str = "topics.json";
const PRODUCER_IDS_FILE: &str = "producer-ids.json";
/// Where producer ids start for a data directory written before ids were persisted.
const LEGACY_PRODUCER_ID_START: i64 = 1 << 32;

#[derive(Debug, Serialize, Deserialize)]
struct StoredTopic {
    name: String,
    topic_id: uuid::Uuid,
    configs: BTreeMap<String, String>,
    /// Replicas per partition, preferred leader first.
    replicas: Vec<Vec<i32>>,
    /// Leader epoch per partition, so epochs keep increasing across restarts.
    leader_epochs: Vec<i32>,
    /// In-sync replicas per partition: after a crash only these may lead, since a replica
    /// that had fallen out of sync lacks records the others acknowledged. Missing in files
    /// written before it existed (every replica is then taken as in sync).
    #[serde(default)]
    isr: Vec<Vec<i32>>,
    /// Partition epoch per partition (KIP-497); missing in older files.
    #[serde(default)]
    partition_epochs: Vec<i32>,
}

/// The producer-id block: every id below `next_block` may have been handed out.
#[derive(Debug, Serialize, Deserialize)]
struct StoredProducerIds {
    next_block: i64,
}

/// What a data directory holds for the controller.
#[derive(Debug, Default)]
pub struct Stored {
    /// Topics, with every partition's leader and partition epochs already bumped: a restart
    /// is a leader change.
    pub topics: Vec<TopicMeta>,
    /// The first producer id that was never reserved (so never handed out).
    pub next_producer_id_block: i64,
}

/// The stored form of the metadata, as the text written to `topics.json`.
pub fn encode(md: &ClusterMetadata) -> String {
    let topics: Vec<StoredTopic> = md
        .topics
        .values()
        .map(|t| StoredTopic {
            name: t.name.clone(),
            topic_id: t.topic_id,
            configs: t.config.overrides.clone(),
            replicas: t.partitions.iter().map(|p| p.replicas.clone()).collect(),
            leader_epochs: t.partitions.iter().map(|p| p.leader_epoch).collect(),
            isr: t.partitions.iter().map(|p| p.isr.clone()).collect(),
            partition_epochs: t.partitions.iter().map(|p| p.partition_epoch).collect(),
        })
        .collect();
    // Serialising plain strings, numbers and vectors cannot fail.
    serde_json::to_string_pretty(&topics).unwrap_or_default()
}

/// Reads what the directory holds; an empty directory holds nothing.
pub fn load(dir: &Path) -> std::io::Result<Stored> {
    let topics = match read(dir, TOPICS_FILE)? {
        None => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<StoredTopic>>(&text)
            .map_err(|e| invalid(TOPICS_FILE, e))?
            .into_iter()
            .map(restored_topic)
            .collect(),
    };
    let next_producer_id_block = match read(dir, PRODUCER_IDS_FILE)? {
        // A data directory of an older version, which handed out ids from 0 at every start:
        // its logs may hold any small id, so start far above them.
        None if !topics.is_empty() => LEGACY_PRODUCER_ID_START,
        None => 0,
        Some(text) => {
            serde_json::from_str::<StoredProducerIds>(&text)
                .map_err(|e| invalid(PRODUCER_IDS_FILE, e))?
                .next_block
        }
    };
    Ok(Stored {
        topics,
        next_producer_id_block,
    })
}

fn read(dir: &Path, name: &str) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn invalid(name: &str, e: serde_json::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}: {e}"))
}

fn restored_topic(s: StoredTopic) -> TopicMeta {
    TopicMeta {
        is_internal: s.name.starts_with("__"),
        partitions: s
            .replicas
            .iter()
            .enumerate()
            .map(|(i, replicas)| {
                let isr = restored_isr(replicas, s.isr.get(i));
                PartitionMeta {
                    partition: i as i32,
                    // The first in-sync replica in preference order; the others catch up
                    // from it and rejoin the ISR.
                    leader: isr.first().copied().unwrap_or(-1),
                    // A restart is a leader change: bump the epochs.
                    leader_epoch: s.leader_epochs.get(i).copied().unwrap_or(0) + 1,
                    partition_epoch: s.partition_epochs.get(i).copied().unwrap_or(0) + 1,
                    replicas: replicas.clone(),
                    isr,
                }
            })
            .collect(),
        name: s.name,
        topic_id: s.topic_id,
        config: TopicConfig {
            overrides: s.configs,
        },
    }
}

/// The stored ISR in replica order, or every replica when none was stored (older files) or
/// it names none of them.
fn restored_isr(replicas: &[i32], stored: Option<&Vec<i32>>) -> Vec<i32> {
    let isr: Vec<i32> = replicas
        .iter()
        .filter(|r| stored.is_some_and(|s| s.contains(r)))
        .copied()
        .collect();
    if isr.is_empty() {
        replicas.to_vec()
    } else {
        isr
    }
}

/// Replaces `topics.json` with `text` (from [`encode`]).
pub fn write_topics(dir: &Path, text: &str) -> std::io::Result<()> {
    replace(dir, TOPICS_FILE, text.as_bytes())
}

/// Records that every producer id below `next_block` may be handed out.
pub fn write_producer_id_block(dir: &Path, next_block: i64) -> std::io::Result<()> {
    let text = serde_json::to_string(&StoredProducerIds { next_block }).unwrap_or_default();
    replace(dir, PRODUCER_IDS_FILE, text.as_bytes())
}

/// Write, fsync, rename, fsync the directory: after a crash the file is old or new, whole.
fn replace(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_out_of_sync_replicas_out_of_the_isr_and_the_lead() {
        assert_eq!(restored_isr(&[1, 2, 3], Some(&vec![3, 2])), vec![2, 3]);
        assert_eq!(restored_isr(&[1, 2, 3], None), vec![1, 2, 3]);
        assert_eq!(restored_isr(&[1, 2, 3], Some(&vec![])), vec![1, 2, 3]);
        assert_eq!(restored_isr(&[1, 2, 3], Some(&vec![9])), vec![1, 2, 3]);
    }
}
