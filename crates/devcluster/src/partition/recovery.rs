//! Rebuilding what a replica derives from its log — the leader-epoch cache, the producer state
//! and the aborted-transaction indexes — when it opens and after a truncation, from the
//! latest snapshot and the log after it; and taking those snapshots.
//!
//! What each piece rests on:
//! - A snapshot at offset X holds the state derived from every batch below X. It is taken
//!   after the batches are learned (at a segment roll and at a clean shutdown), and the log
//!   drops it when it cuts below X or restarts, so it always describes the log it sits in.
//! - The `.txnindex` entry of an ABORT marker is written when the marker is learned, before
//!   any later snapshot, so the entries below a snapshot are complete; entries from the
//!   snapshot on are rebuilt by the replay. A segment opened without a sound `.txnindex`
//!   sends the replay back to a snapshot at or below its base, or to the log start.
//! - Replay starts at the log start when no usable snapshot exists, which is what opening
//!   did before snapshots existed; a snapshot below the log start is not used, since the
//!   batches after it (markers among them) are gone and cannot be replayed.

use bytes::Bytes;
use streamctl_protocol::record_batch::RecordBatches;

use super::producer_state::ProducerStates;
use super::{snapshot, storage_error, State};
use crate::error::ApiError;

impl State {
    /// Records the leader epochs, producers and aborted transactions of batches appended at
    /// the end of the log, and snapshots them once the log has rolled a segment.
    pub(super) fn learn_from_batches(&mut self, batches: &Bytes) -> Result<(), ApiError> {
        self.learn(batches)?;
        if self.log.snapshot_due() {
            self.write_snapshot();
        }
        Ok(())
    }

    fn learn(&mut self, batches: &Bytes) -> Result<(), ApiError> {
        for batch in RecordBatches::new(batches.clone()).flatten() {
            let epoch = batch.partition_leader_epoch();
            if epoch >= 0 && self.epochs.last().is_none_or(|(e, _)| *e < epoch) {
                self.epochs.push((epoch, batch.base_offset()));
            }
        }
        for txn in self.producers.learn(batches) {
            self.log.record_aborted(txn).map_err(storage_error)?;
        }
        Ok(())
    }

    /// Snapshots the derived state at the log end, unless a rebuild of it failed (the state
    /// is then partial until a rebuild succeeds, and must not be taken for the log's).
    pub(super) fn write_snapshot(&mut self) {
        if self.rebuild_failed {
            return;
        }
        let payload = snapshot::encode(&self.epochs, &self.producers);
        self.log.write_snapshot(&payload);
    }

    /// Forgets what a truncation removed: epochs starting at or after `offset`, and producer
    /// batches and transactions written there (a retry of them must be appended again).
    ///
    /// Producer state is rebuilt from the latest snapshot and the log after it, as Kafka
    /// rebuilds it: cutting it back in memory cannot know what a removed marker replaced (the
    /// epoch it bumped, the transaction it ended), and a producer forgotten with its epoch
    /// would let a fenced zombie write again.
    pub(super) fn forget_from(&mut self, offset: i64) -> Result<(), ApiError> {
        self.epochs.retain(|(_, start)| *start < offset);
        let hw = self.high_watermark.min(self.log.log_end_offset());
        self.rebuild(false)?;
        self.set_high_watermark(hw);
        Ok(())
    }

    /// Rebuilds the derived state at open (`with_epochs`: the epoch cache too, which a
    /// truncation keeps).
    pub(super) fn rebuild(&mut self, with_epochs: bool) -> Result<(), ApiError> {
        self.rebuild_failed = true;
        let start = self.log.log_start_offset();
        let end = self.log.log_end_offset();
        // Below the first untrusted `.txnindex` the entries are complete; entries below the
        // log start are never read, so a bound under it only rules out older snapshots.
        let bound = self
            .log
            .aborted_untrusted_from()
            .map_or(end, |o| o.min(end))
            .max(start);
        let restored = self
            .log
            .snapshot_within(start, bound)
            .and_then(|(at, payload)| {
                let derived = snapshot::decode(&payload);
                if derived.is_none() {
                    tracing::warn!(offset = at, "ignoring a snapshot in an unknown format");
                }
                Some((at, derived?))
            });
        let from = match restored {
            Some((at, derived)) => {
                if with_epochs {
                    self.epochs = derived.epochs;
                }
                self.producers = derived.producers;
                at
            }
            None => {
                if with_epochs {
                    self.epochs.clear();
                }
                self.producers = ProducerStates::default();
                start
            }
        };
        // Before any index entry is forgotten, the snapshots that count on those entries go
        // (durably): a crash during the replay then replays from `from` again. This also
        // removes any snapshot above the log end (batches lost in a crash, or cut away),
        // which `snapshot_within` never picks.
        self.log
            .remove_snapshots_above(from)
            .map_err(storage_error)?;
        self.log.forget_aborted_from(from).map_err(storage_error)?;
        self.replay(from)?;
        self.producers.forget_below(start);
        self.replayed_from = from;
        self.rebuild_failed = false;
        tracing::debug!(from, end, "rebuilt partition state");
        if from < end || self.log.snapshot_due() {
            // The next open starts from here instead.
            self.write_snapshot();
        }
        Ok(())
    }

    /// Learns the batches from `offset` to the log end.
    fn replay(&mut self, mut offset: i64) -> Result<(), ApiError> {
        let end = self.log.log_end_offset();
        while offset < end {
            let chunk = self
                .log
                .read(offset, 1 << 20, end, true)
                .map_err(storage_error)?;
            let Some(next) = RecordBatches::new(chunk.clone())
                .flatten()
                .last()
                .map(|b| b.next_offset())
                .filter(|next| *next > offset)
            else {
                break;
            };
            self.learn(&chunk)?;
            offset = next;
        }
        Ok(())
    }
}
