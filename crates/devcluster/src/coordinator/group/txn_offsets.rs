//! Offsets committed inside a transaction (TxnOffsetCommit, KIP-98): kept per producer and
//! invisible to OffsetFetch until the producer's marker reaches the group's
//! `__consumer_offsets` partition; COMMIT makes them the group's offsets (unless a later
//! write of the same partition was applied already), ABORT drops them (Kafka's
//! `GroupMetadata.prepareTxnOffsetCommit` / `completePendingTxnOffsetCommit`).

use std::collections::BTreeMap;

use streamctl_protocol::ErrorCode;

use super::{CommittedOffset, Group, GroupState};

/// One transaction's offsets: (topic, partition) → (offset, the log offset of its record).
pub type TxnOffsets = BTreeMap<(String, i32), (CommittedOffset, i64)>;

/// Markers remembered per producer: enough for an offsets write still completing when the
/// next few transactions of its producer have ended.
const MARKERS_KEPT: usize = 16;

impl Group {
    /// Checks a TxnOffsetCommit's member fields (Kafka's `doTxnCommitOffsets`): unlike a
    /// plain commit, an empty member id or a negative generation skips the check.
    pub fn validate_txn_commit(
        &self,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if self.is_static_member_fenced(member_id, group_instance_id) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if !member_id.is_empty() && !self.members.contains_key(member_id) {
            return Err(ErrorCode::UnknownMemberId);
        }
        if generation_id >= 0 && generation_id != self.generation_id {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    /// Records an offset written in `producer_id`'s transaction at `record_offset`. If a
    /// marker of the producer past that record was seen already (the marker's news overtook
    /// the write's), the transaction it belongs to has ended: the offset is applied or dropped
    /// at once by that marker's outcome.
    pub fn add_pending_txn_offset(
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
            Some(true) => self.apply_offset(topic, partition, value, record_offset),
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
                self.apply_offset(&topic, partition, value, record_offset);
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
