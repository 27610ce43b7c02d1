//! Persists cluster metadata (topics, ids, assignments, configs) in the data directory, so a
//! cluster restarted on the same directory brings every topic back.
//!
//! The file is rewritten whole (write to a temporary file, then rename) after each change;
//! metadata is small and changes rarely, and a rename never leaves a half-written file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::cluster::ClusterError;
use crate::config::TopicConfig;
use crate::controller::{ClusterMetadata, Controller, PartitionMeta, TopicMeta};

const FILE: &str = "topics.json";

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
}

fn to_stored(md: &ClusterMetadata) -> Vec<StoredTopic> {
    md.topics
        .values()
        .map(|t| StoredTopic {
            name: t.name.clone(),
            topic_id: t.topic_id,
            configs: t.config.overrides.clone(),
            replicas: t.partitions.iter().map(|p| p.replicas.clone()).collect(),
            leader_epochs: t.partitions.iter().map(|p| p.leader_epoch).collect(),
            isr: t.partitions.iter().map(|p| p.isr.clone()).collect(),
        })
        .collect()
}

/// Loads stored topics into the controller (before brokers start).
pub fn restore(dir: &Path, controller: &Controller) -> Result<(), ClusterError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ClusterError::DataDir { path, source }),
    };
    let stored: Vec<StoredTopic> =
        serde_json::from_str(&text).map_err(|e| ClusterError::DataDir {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
    let topics = stored
        .into_iter()
        .map(|s| TopicMeta {
            is_internal: s.name.starts_with("__"),
            partitions: s
                .replicas
                .iter()
                .enumerate()
                .map(|(i, replicas)| {
                    let isr = restored_isr(replicas, s.isr.get(i));
                    PartitionMeta {
                        partition: i as i32,
                        // The first in-sync replica in preference order; the others catch
                        // up from it and rejoin the ISR.
                        leader: isr.first().copied().unwrap_or(-1),
                        // A restart is a leader change: bump the epoch.
                        leader_epoch: s.leader_epochs.get(i).copied().unwrap_or(0) + 1,
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
        })
        .collect();
    controller.restore_topics(topics);
    Ok(())
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

fn write(dir: &Path, md: &ClusterMetadata) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&to_stored(md)).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(FILE))
}

/// Writes the metadata file now and after every change until `stop`.
pub fn spawn_persister(dir: PathBuf, controller: Arc<Controller>, stop: CancellationToken) {
    let mut rx = controller.subscribe();
    tokio::spawn(async move {
        let mut last_topics = None;
        loop {
            let md = rx.borrow_and_update().clone();
            let stored = serde_json::to_string(&to_stored(&md)).ok();
            if stored != last_topics {
                if let Err(e) = write(&dir, &md) {
                    warn!(dir = %dir.display(), error = %e, "cannot persist cluster metadata");
                }
                last_topics = stored;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                changed = rx.changed() => if changed.is_err() { return },
            }
        }
    });
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
