//! A group's committed offsets, of either group type: what OffsetCommit writes and
//! OffsetFetch reads, applied in log order, and the offsets committed inside transactions
//! (TxnOffsetCommit, KIP-98), which stay invisible until the producer's marker reaches the
//! group's `__consumer_offsets` partition. COMMIT makes them the group's offsets (unless a
//! later write of the same partition was applied already), ABORT drops them (Kafka's
//! `GroupMetadata.prepareTxnOffsetCommit` / `completePendingTxnOffsetCommit`).

use std::collections::{BTreeMap, HashMap, VecDeque};

/// A committed offset in the group's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The offset.
    pub offset: i64,
    /// The leader epoch the client reported, or -1.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
    /// When it was committed (ms since the epoch).
    pub commit_timestamp: i64,
}

/// One transaction's offsets: (topic, partition) → (offset, the log offset of its record).
pub type TxnOffsets = BTreeMap<(String, i32), (CommittedOffset, i64)>;

/// Markers remembered per producer: enough for an offsets write still completing when the
/// next few transactions of its producer have ended.
const MARKERS_KEPT: usize = 16;

/// One group's offsets (see the module docs).
#[derive(Debug, Default)]
pub struct Offsets {
    /// Committed offsets by (topic, partition).
    committed: BTreeMap<(String, i32), CommittedOffset>,
    /// The log offset of the last record applied per (topic, partition), commits and
    /// deletions alike: a commit that becomes durable after a later write never overrides it.
    last_write: HashMap<(String, i32), i64>,
    /// Offsets committed inside open transactions, per producer id, with their log offsets.
    pending_txn: HashMap<i64, TxnOffsets>,
    /// The last markers seen per producer (log offset, commit), for offsets whose write
    /// completes after the marker that ended their transaction.
    ended_txns: HashMap<i64, VecDeque<(i64, bool)>>,
}

impl Offsets {
    /// Applies a committed offset written at `record_offset` in the log, unless a later
    /// write for the partition was applied already.
    pub fn apply(
        &mut self,
        topic: &str,
        partition: i32,
        value: CommittedOffset,
        record_offset: i64,
    ) {
        let key = (topic.to_string(), partition);
        if self
            .last_write
            .get(&key)
            .is_some_and(|w| *w > record_offset)
        {
            return;
        }
        self.last_write.insert(key.clone(), record_offset);
        self.committed.insert(key, value);
    }

    /// Removes a committed offset whose tombstone was written at `record_offset`.
    pub fn delete(&mut self, topic: &str, partition: i32, record_offset: i64) -> bool {
        let key = (topic.to_string(), partition);
        if self
            .last_write
            .get(&key)
            .is_some_and(|w| *w > record_offset)
        {
            return false;
        }
        self.last_write.insert(key.clone(), record_offset);
        self.committed.remove(&key).is_some()
    }

    /// The committed offset of a partition.
    pub fn get(&self, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.committed.get(&(topic.to_string(), partition))
    }

    /// Every committed offset, by (topic, partition).
    pub fn all(&self) -> &BTreeMap<(String, i32), CommittedOffset> {
        &self.committed
    }

    /// Forgets every offset (the group was deleted).
    pub fn clear(&mut self) {
        self.committed.clear();
        self.pending_txn.clear();
    }

    /// Records an offset written in `producer_id`'s transaction at `record_offset`. If a
    /// marker of the producer past that record was seen already (the marker's news overtook
    /// the write's), the transaction it belongs to has ended: the offset is applied or dropped
    /// at once by that marker's outcome.
    pub fn add_pending_txn(
        &mut self,
        producer_id: i64,
        topic: &str,
        partition: i32,
        value: CommittedOffset,
        record_offset: i64,
    ) {
        let ended = self
            .ended_txns
            .get(&producer_id)
            .and_then(|markers| markers.iter().find(|(at, _)| *at > record_offset))
            .map(|(_, commit)| *commit);
        match ended {
            Some(true) => self.apply(topic, partition, value, record_offset),
            Some(false) => {}
            None => {
                self.pending_txn
                    .entry(producer_id)
                    .or_default()
                    .insert((topic.to_string(), partition), (value, record_offset));
            }
        }
    }

    /// The producer's marker at log offset `marker_offset` ended its transaction: its offsets
    /// written before the marker become the group's on commit, or are dropped. Offsets
    /// written after it belong to a later transaction and stay pending.
    pub fn complete_txn(&mut self, producer_id: i64, commit: bool, marker_offset: i64) {
        let markers = self.ended_txns.entry(producer_id).or_default();
        markers.push_back((marker_offset, commit));
        while markers.len() > MARKERS_KEPT {
            markers.pop_front();
        }
        let Some(offsets) = self.pending_txn.get_mut(&producer_id) else {
            return;
        };
        let ended: Vec<((String, i32), (CommittedOffset, i64))> = offsets
            .iter()
            .filter(|(_, (_, at))| *at < marker_offset)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, _) in &ended {
            offsets.remove(key);
        }
        if offsets.is_empty() {
            self.pending_txn.remove(&producer_id);
        }
        if commit {
            for ((topic, partition), (value, record_offset)) in ended {
                self.apply(&topic, partition, value, record_offset);
            }
        }
    }

    /// Whether some transaction has an offset of the partition pending (OffsetFetch with
    /// `require_stable` answers UNSTABLE_OFFSET_COMMIT then).
    pub fn is_unstable(&self, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.pending_txn.values().any(|o| o.contains_key(&key))
    }

    /// Every pending transactional offset, for a loaded group.
    pub fn restore_pending_txn(&mut self, pending: BTreeMap<i64, TxnOffsets>) {
        self.pending_txn.extend(pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(offset: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 0,
        }
    }

    #[test]
    fn offsets_apply_in_log_order() {
        let mut o = Offsets::default();
        o.apply("t", 0, committed(5), 10);
        // A commit written earlier but made durable later does not override.
        o.apply("t", 0, committed(3), 8);
        assert_eq!(o.get("t", 0).unwrap().offset, 5);
        assert!(o.delete("t", 0, 11));
        o.apply("t", 0, committed(4), 9);
        assert_eq!(o.get("t", 0), None, "the tombstone is newer");
        o.apply("t", 0, committed(6), 12);
        assert_eq!(o.get("t", 0).unwrap().offset, 6);
    }

    /// Offsets written in a transaction wait for its marker, in log order, whichever news
    /// comes first: a marker ends only what was written before it, and an offset whose write
    /// completes after its transaction's marker was seen is settled by that marker at once.
    #[test]
    fn transactional_offsets_are_settled_by_the_marker_after_them() {
        let mut o = Offsets::default();
        // Written at 10, committed by the marker at 12: applied; an abort at 20 ends a later
        // transaction whose offset (at 15) is dropped.
        o.add_pending_txn(7, "t", 0, committed(100), 10);
        assert!(o.is_unstable("t", 0));
        o.complete_txn(7, true, 12);
        assert!(!o.is_unstable("t", 0));
        assert_eq!(o.get("t", 0).map(|o| o.offset), Some(100));
        // The marker at 20 arrives before the news of the write at 15 (both durable at once).
        o.complete_txn(7, false, 20);
        o.add_pending_txn(7, "t", 0, committed(150), 15);
        assert!(!o.is_unstable("t", 0), "an aborted offset never waits");
        assert_eq!(o.get("t", 0).map(|o| o.offset), Some(100));
        // A write after the last marker waits for the next one; a marker before it ends nothing.
        o.add_pending_txn(7, "t", 1, committed(5), 25);
        o.complete_txn(7, true, 24);
        assert!(o.is_unstable("t", 1));
        o.complete_txn(7, true, 30);
        assert_eq!(o.get("t", 1).map(|o| o.offset), Some(5));
        assert!(!o.is_unstable("t", 1));
    }
}
