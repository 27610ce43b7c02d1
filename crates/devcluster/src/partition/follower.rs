//! The follower's side of a partition: reconciling its log with a new leader by epoch
//! (KIP-101, with KIP-279's rounds), appending what it fetched, and adopting the leader's
//! high watermark and log start offset.
//!
//! Every change here is checked against the leadership it was asked for (the leader epoch
//! the fetch or the epoch query was sent under): an answer from a leader this replica no
//! longer follows could otherwise append a deposed leader's records after the new leader's
//! truncation point, and the new leader would then count this replica as holding records it
//! does not have.

use bytes::Bytes;
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::ErrorCode;

use super::{storage_error, Partition, Role, State};
use crate::error::ApiError;

/// What reconciling with the leader decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The log is reconciled: fetch from the log end.
    Done,
    /// Ask the leader again about this (older) epoch (KIP-279).
    AskAgain(i32),
}

impl State {
    fn follows_at(&self, epoch: i32) -> bool {
        matches!(self.role, Role::Follower { .. }) && self.leader_epoch == epoch
    }

    fn truncate(&mut self, offset: i64) -> Result<(), ApiError> {
        if offset < self.log.log_end_offset() {
            self.log.truncate_to(offset).map_err(storage_error)?;
            self.forget_from(offset)?;
        }
        Ok(())
    }
}

fn moved_on(p: &Partition, s: &State, asked: i32) -> ApiError {
    ApiError::new(
        ErrorCode::FencedLeaderEpoch,
        format!(
            "{}-{}: answer for leader epoch {asked}, but this replica is now at {} ({:?})",
            p.topic, p.partition, s.leader_epoch, s.role
        ),
    )
}

impl Partition {
    /// Follower: the epoch to ask the leader about before fetching, if the log is not yet
    /// reconciled with the leader at `leader_epoch`.
    pub fn pending_truncation(&self, leader_epoch: i32) -> Option<i32> {
        let s = self.lock();
        if s.follows_at(leader_epoch) {
            s.truncation
        } else {
            None
        }
    }

    /// Follower: applies the leader's OffsetForLeaderEpoch answer (`leader_epoch_found`,
    /// `leader_end_offset`) to our question about `asked`, following Kafka's
    /// `AbstractFetcherThread.getOffsetTruncationState`:
    /// - the leader knows no epoch at or below ours: truncate to our high watermark;
    /// - it answers with our epoch: truncate to the smaller end offset;
    /// - it answers with an epoch we do not have: cut to where our largest epoch below it
    ///   ends, and ask again about that epoch;
    /// - we have no epoch at or below its answer: truncate to its end offset.
    pub fn truncate_after_epoch_check(
        &self,
        leader_epoch: i32,
        asked: i32,
        leader_epoch_found: i32,
        leader_end_offset: i64,
    ) -> Result<Truncation, ApiError> {
        let mut s = self.lock();
        if !s.follows_at(leader_epoch) || s.truncation != Some(asked) {
            return Err(moved_on(self, &s, leader_epoch));
        }
        let leo = s.log.log_end_offset();
        let decision = if asked < 0 {
            // Nothing written under any epoch: nothing can diverge.
            Truncation::Done
        } else if leader_epoch_found < 0 || leader_end_offset < 0 {
            let hw = s.high_watermark;
            s.truncate(hw)?;
            Truncation::Done
        } else {
            match s.end_offset_for(leader_epoch_found) {
                Some((ours, our_end)) if ours == leader_epoch_found => {
                    s.truncate(our_end.min(leader_end_offset).min(leo))?;
                    Truncation::Done
                }
                Some((ours, our_end)) => {
                    s.truncate(our_end.min(leo))?;
                    Truncation::AskAgain(ours)
                }
                None => {
                    s.truncate(leader_end_offset.min(leo))?;
                    Truncation::Done
                }
            }
        };
        s.truncation = match decision {
            Truncation::Done => None,
            Truncation::AskAgain(epoch) => Some(epoch),
        };
        self.publish(&s);
        Ok(decision)
    }

    /// Follower: reconcile the log with the leader by epoch (OffsetForLeaderEpoch) before the
    /// next fetch, as after a leader change.
    pub fn reconcile_with_leader(&self) {
        let mut s = self.lock();
        if matches!(s.role, Role::Follower { .. }) {
            s.truncation = Some(s.latest_epoch());
        }
    }

    /// Follower: appends batches fetched from the leader at `leader_epoch` (offsets already
    /// assigned), then takes the leader's high watermark (capped by our log end) and moves
    /// our log start up to the leader's (DeleteRecords and retention reach followers this way,
    /// and the log's checkpoint keeps it across restarts).
    pub fn append_as_follower(
        &self,
        leader_epoch: i32,
        records: &Bytes,
        leader_high_watermark: i64,
        leader_log_start_offset: i64,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        if !s.follows_at(leader_epoch) || s.truncation.is_some() {
            return Err(moved_on(self, &s, leader_epoch));
        }
        // A fetch response may end with a partial batch; store whole batches only.
        let mut whole = RecordBatches::new(records.clone());
        let mut len = 0;
        for b in whole.by_ref() {
            match b {
                Ok(b) => len += b.size(),
                Err(e) => return Err(ApiError::new(ErrorCode::CorruptMessage, e.to_string())),
            }
        }
        if len > 0 {
            let batches = records.slice(..len);
            restart_before_straddling_batch(&mut s, &batches)?;
            s.log.append_replicated(&batches).map_err(storage_error)?;
            s.learn_from_batches(&batches)?;
        }
        let leo = s.log.log_end_offset();
        let hw = leader_high_watermark.min(leo);
        if hw > s.high_watermark {
            s.set_high_watermark(hw);
        }
        // The leader's log start is at most its high watermark, so this stays at or below
        // ours once our log reaches it.
        let start = leader_log_start_offset.min(leo).min(s.high_watermark);
        if start > s.log.log_start_offset() {
            s.log.delete_records_before(start).map_err(storage_error)?;
            s.producers.forget_below(start);
        }
        self.publish(&s);
        Ok(())
    }

    /// Follower: the leader has no data at our log end (OFFSET_OUT_OF_RANGE) and says where
    /// its log is: truncate back to `offset`, or restart the log there when ours ends before
    /// it (all we have was deleted on the leader).
    pub fn reset_to(&self, leader_epoch: i32, offset: i64) -> Result<(), ApiError> {
        let mut s = self.lock();
        if !s.follows_at(leader_epoch) {
            return Err(moved_on(self, &s, leader_epoch));
        }
        if s.log.log_end_offset() < offset {
            s.log.restart_at(offset).map_err(storage_error)?;
            s.forget_from(offset)?;
            s.producers.forget_below(offset);
            let hw = s.high_watermark.max(offset);
            s.set_high_watermark(hw);
        } else {
            s.truncate(offset)?;
        }
        self.publish(&s);
        Ok(())
    }
}

/// An empty follower log that starts inside the leader's first batch (DeleteRecords moved
/// the leader's log start into the middle of a batch, and this replica restarted there) is
/// restarted at that batch's base offset, as Kafka's `appendRecordsToFollowerOrFutureReplica`
/// does: a batch is stored whole or not at all, so without this the follower could never
/// append again and would stay out of the ISR for good. The leader's log start, adopted
/// right after, hides the records before it again.
fn restart_before_straddling_batch(s: &mut State, batches: &Bytes) -> Result<(), ApiError> {
    let Some(Ok(first)) = RecordBatches::new(batches.clone()).next() else {
        return Ok(());
    };
    let leo = s.log.log_end_offset();
    if leo == s.log.log_start_offset() && first.base_offset() < leo && first.last_offset() >= leo {
        s.log
            .restart_at(first.base_offset())
            .map_err(storage_error)?;
        s.high_watermark = s.high_watermark.min(first.base_offset());
    }
    Ok(())
}
