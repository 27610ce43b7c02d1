//! A group coordinator's I/O on its `__consumer_offsets` partition, over the shared internal
//! topic plumbing (`internal_topic.rs`): how failed writes map to each API's error, and
//! loading the partition back into groups (last write wins per key, a null value deletes)
//! when this broker becomes its leader.

use std::collections::BTreeMap;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tracing::{debug, warn};

use super::consumer::ConsumerGroup;
use super::offsets::{CommittedOffset, TxnOffsets};
use super::records::consumer::ConsumerRecord;
use super::records::{GroupMetadataValue, OffsetCommitValue, RecordKey};
use crate::error::ApiError;
use crate::internal_topic::{read_records, LogEntry};
use crate::partition::Partition;

/// Kafka's mapping of a failed offset write to the OffsetCommit error
/// (`GroupMetadataManager.storeOffsets`).
pub fn offset_write_error(e: &ApiError) -> ErrorCode {
    match e.code {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge
        | ErrorCode::RecordListTooLarge
        | ErrorCode::InvalidFetchSize => ErrorCode::InvalidCommitOffsetSize,
        other => other,
    }
}

/// Kafka's mapping of a failed group-metadata write to the SyncGroup error
/// (`GroupMetadataManager.storeGroup`).
pub fn group_write_error(e: &ApiError) -> ErrorCode {
    match e.code {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge
        | ErrorCode::RecordListTooLarge
        | ErrorCode::InvalidFetchSize => ErrorCode::UnknownServerError,
        other => other,
    }
}

/// One group as found in the log.
#[derive(Debug, Clone, Default)]
pub struct LoadedGroup {
    /// The last metadata record, unless deleted since.
    pub metadata: Option<GroupMetadataValue>,
    /// Committed offsets with the log offset of their record.
    pub offsets: BTreeMap<(String, i32), (CommittedOffset, i64)>,
    /// Offsets of transactions still open at the log end, per producer id.
    pub pending_txn: BTreeMap<i64, TxnOffsets>,
    /// The consumer-protocol group its records describe, if any were read.
    pub consumer: Option<ConsumerGroup>,
}

impl LoadedGroup {
    /// The consumer-protocol group, if the log leaves one (its records were not all
    /// tombstoned, and no classic group record came after them).
    pub fn consumer_group(&self) -> Option<&ConsumerGroup> {
        self.consumer.as_ref().filter(|g| g.exists())
    }
}

/// Reads a whole `__consumer_offsets` partition into its groups, and the log end offset it
/// read up to (records there may not be committed yet). Offsets written inside a
/// transaction wait for the producer's marker: COMMIT applies them (a later record of the
/// partition still wins), ABORT drops them; those still open at the end stay pending.
pub async fn load(replica: &Partition) -> Result<(BTreeMap<String, LoadedGroup>, i64), ApiError> {
    let mut groups: BTreeMap<String, LoadedGroup> = BTreeMap::new();
    // Only the coordinator appends (and it waits for this load), so this is where the read
    // below ends.
    let end = replica.offsets().2;
    let records = read_records(replica, |entry| match entry {
        LogEntry::Record {
            key,
            value,
            offset,
            transaction,
        } => apply(&mut groups, key, value, offset, transaction),
        LogEntry::Marker {
            producer_id,
            commit,
        } => {
            for g in groups.values_mut() {
                let Some(pending) = g.pending_txn.remove(&producer_id) else {
                    continue;
                };
                if !commit {
                    continue;
                }
                for (key, (value, at)) in pending {
                    if g.offsets.get(&key).is_none_or(|(_, last)| *last < at) {
                        g.offsets.insert(key, (value, at));
                    }
                }
            }
        }
    })
    .await?;
    groups.retain(|_, g| {
        g.metadata.is_some()
            || !g.offsets.is_empty()
            || !g.pending_txn.is_empty()
            || g.consumer_group().is_some()
    });
    debug!(
        partition = replica.partition,
        records,
        groups = groups.len(),
        "loaded __consumer_offsets partition"
    );
    Ok((groups, end))
}

/// Applies one record: the last write for a key wins and a null value deletes it. Records
/// this coordinator cannot read are skipped with a warning rather than failing the load.
fn apply(
    groups: &mut BTreeMap<String, LoadedGroup>,
    key: Option<Bytes>,
    value: Option<Bytes>,
    record_offset: i64,
    transaction: Option<i64>,
) {
    let Some(mut key) = key else { return };
    if let Some(&kind) = key.first_chunk::<2>() {
        let kind = i16::from_be_bytes(kind);
        if ConsumerRecord::is_consumer_type(kind) {
            let mut body = key.slice(2..);
            match ConsumerRecord::decode(kind, &mut body, value) {
                Ok((group, record)) => {
                    let g = groups.entry(group.clone()).or_default();
                    let consumer = g.consumer.get_or_insert_with(|| ConsumerGroup::new(&group));
                    consumer.replay(&record);
                    if matches!(record, ConsumerRecord::GroupEpoch(Some(_))) {
                        // The group is a consumer-protocol group from here on.
                        g.metadata = None;
                    }
                }
                Err(e) => {
                    warn!(offset = record_offset, error = %e, "skipping an unreadable consumer group record");
                }
            }
            return;
        }
    }
    let key = match RecordKey::decode(std::mem::take(&mut key)) {
        Ok(Some(k)) => k,
        Ok(None) => return,
        Err(e) => {
            warn!(offset = record_offset, error = %e, "skipping an unreadable __consumer_offsets key");
            return;
        }
    };
    let group = groups.entry(key.group().to_string()).or_default();
    match key {
        RecordKey::Offset {
            topic, partition, ..
        } => match value.map(OffsetCommitValue::decode) {
            None => {
                group.offsets.remove(&(topic, partition));
            }
            Some(Ok(v)) => {
                let committed = CommittedOffset {
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: v.metadata,
                    commit_timestamp: v.commit_timestamp,
                };
                let target = match transaction {
                    Some(producer_id) => group.pending_txn.entry(producer_id).or_default(),
                    None => &mut group.offsets,
                };
                target.insert((topic, partition), (committed, record_offset));
            }
            Some(Err(e)) => {
                warn!(offset = record_offset, error = %e, "skipping an unreadable offset commit value");
            }
        },
        RecordKey::Group { .. } => match value.map(GroupMetadataValue::decode) {
            None => group.metadata = None,
            Some(Ok(v)) => {
                // A classic group from here on (a downgrade tombstoned the other).
                group.consumer = None;
                group.metadata = Some(v);
            }
            Some(Err(e)) => {
                warn!(offset = record_offset, error = %e, "skipping an unreadable group metadata value");
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicConfig;
    use crate::coordinator::records::OFFSETS_TOPIC;
    use crate::log::Storage;
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::record_batch::RecordBatchBuilder;

    fn offset_record(group: &str, partition: i32, offset: i64) -> (Bytes, Option<Bytes>) {
        let key = RecordKey::Offset {
            group: group.into(),
            topic: "t".into(),
            partition,
        };
        let value = OffsetCommitValue {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 1,
            expire_timestamp: -1,
        };
        (key.encode().unwrap(), Some(value.encode().unwrap()))
    }

    fn append(p: &Partition, records: &[(Bytes, Option<Bytes>)]) {
        let mut b = RecordBatchBuilder::new(Compression::None);
        for (k, v) in records {
            b.push(1, Some(k), v.as_deref(), &[]).unwrap();
        }
        p.append_as_leader(&b.build().unwrap(), &TopicConfig::default(), 0)
            .unwrap();
    }

    #[tokio::test]
    async fn load_applies_records_in_order() {
        let p = Partition::open(
            OFFSETS_TOPIC,
            uuid::Uuid::new_v4(),
            0,
            1,
            Storage::Memory,
            &TopicConfig::default(),
        )
        .unwrap();
        p.make_leader(&crate::controller::PartitionMeta {
            partition: 0,
            leader: 1,
            leader_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
            partition_epoch: 0,
        });
        let group_key = RecordKey::Group { group: "a".into() }.encode().unwrap();
        let meta = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 3,
            ..Default::default()
        };
        append(
            &p,
            &[
                offset_record("a", 0, 5),
                offset_record("a", 1, 7),
                (group_key.clone(), Some(meta.encode().unwrap())),
            ],
        );
        // Later writes win; a tombstone deletes; group b ends up deleted entirely.
        let tombstone_a1 = (offset_record("a", 1, 0).0, None);
        append(
            &p,
            &[
                offset_record("a", 0, 9),
                tombstone_a1,
                offset_record("b", 0, 1),
                (Bytes::from_static(&[0, 9, 0, 0]), None), // unknown key version: skipped
            ],
        );
        append(&p, &[(offset_record("b", 0, 0).0, None)]);
        let (groups, end) = load(&p).await.unwrap();
        assert_eq!(end, 8);
        assert_eq!(groups.keys().collect::<Vec<_>>(), vec!["a"]);
        let a = &groups["a"];
        assert_eq!(a.metadata.as_ref().unwrap().generation, 3);
        let offsets: Vec<_> = a
            .offsets
            .iter()
            .map(|((t, p), (c, at))| (t.as_str(), *p, c.offset, *at))
            .collect();
        assert_eq!(offsets, vec![("t", 0, 9, 3)]);
    }

    #[test]
    fn write_errors_map_as_kafka_does() {
        let e = |code| ApiError::new(code, "x");
        assert_eq!(
            offset_write_error(&e(ErrorCode::NotLeaderOrFollower)),
            ErrorCode::NotCoordinator
        );
        assert_eq!(
            offset_write_error(&e(ErrorCode::NotEnoughReplicas)),
            ErrorCode::CoordinatorNotAvailable
        );
        assert_eq!(
            offset_write_error(&e(ErrorCode::MessageTooLarge)),
            ErrorCode::InvalidCommitOffsetSize
        );
        assert_eq!(
            offset_write_error(&e(ErrorCode::RequestTimedOut)),
            ErrorCode::RequestTimedOut
        );
        assert_eq!(
            group_write_error(&e(ErrorCode::RequestTimedOut)),
            ErrorCode::CoordinatorNotAvailable
        );
    }
}
