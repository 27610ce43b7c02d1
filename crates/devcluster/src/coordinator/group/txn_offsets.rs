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

    /// Records an offset written in `producer_id`'s transaction at `record_offset`.
    pub fn add_pending_txn_offset(
        &mut self,
        producer_id: i64,
        topic: &str,
        partition: i32,
        value: CommittedOffset,
        record_offset: i64,
    ) {
        self.pending_txn
            .entry(producer_id)
            .or_default()
            .insert((topic.to_string(), partition), (value, record_offset));
    }

    /// The producer's transaction ended: its offsets become the group's on commit.
    pub fn complete_txn(&mut self, producer_id: i64, commit: bool) {
        let Some(offsets) = self.pending_txn.remove(&producer_id) else {
            return;
        };
        if commit {
            for ((topic, partition), (value, record_offset)) in offsets {
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
