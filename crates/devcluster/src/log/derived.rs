//! What the log keeps for the state its partition derives from it: each segment's
//! aborted-transaction index, and the snapshots (see `txn_index.rs` and `snapshots.rs`; the
//! partition's `recovery.rs` decides when to write and how to use them).

use bytes::Bytes;

use super::{dir, AbortedTxn, Log, LogError, Segment};

impl Log {
    /// Records a transaction aborted by the marker at `txn.last_offset`, in the `.txnindex`
    /// of the segment holding the marker; markers are recorded in log order.
    pub fn record_aborted(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        let segment = std::iter::once(&mut self.active)
            .chain(self.sealed.iter_mut().rev())
            .find(|s| s.base_offset() <= txn.last_offset);
        match segment {
            Some(segment) => segment.push_aborted(txn),
            None => Ok(()),
        }
    }

    /// The aborted transactions that a read_committed fetch from `fetch_offset`, returning
    /// offsets below `upper`, must list (Kafka's `collectAbortedTxns`): those ending at or
    /// after the fetch offset and starting before `upper`. The search stops at an entry whose
    /// last stable offset reaches `upper`: every transaction that started before `upper` had
    /// ended by then.
    pub fn aborted_between(&self, fetch_offset: i64, upper: i64) -> Vec<AbortedTxn> {
        let mut found = Vec::new();
        for txn in self
            .segments_from(fetch_offset)
            .flat_map(|s| s.aborted().iter())
            .filter(|t| t.last_offset >= fetch_offset)
        {
            if txn.first_offset < upper {
                found.push(*txn);
            }
            if txn.last_stable_offset >= upper {
                break;
            }
        }
        found
    }

    /// The first offset from which the aborted-transaction indexes cannot be trusted (a
    /// segment was opened without a sound `.txnindex`), `None` when all can. The partition
    /// rebuilds them by replaying the log from at or below it.
    pub fn aborted_untrusted_from(&self) -> Option<i64> {
        self.segments()
            .find(|s| !s.aborted_trusted())
            .map(Segment::base_offset)
    }

    /// Forgets the aborted transactions whose marker is at or after `offset`, before the
    /// partition replays the log from there and records them again.
    pub fn forget_aborted_from(&mut self, offset: i64) -> Result<(), LogError> {
        // Entries below the log start are never read, so a replay from there rebuilds all
        // that matters.
        for segment in self
            .sealed
            .iter_mut()
            .chain(std::iter::once(&mut self.active))
        {
            let rebuilt = segment.base_offset().max(self.log_start_offset) >= offset;
            segment.forget_aborted_from(offset, rebuilt)?;
        }
        Ok(())
    }

    /// Stores `payload`, the partition's state derived from every batch so far, as the
    /// snapshot at the log end offset (see `snapshots.rs`).
    ///
    /// The `.txnindex` files are fsynced first: the snapshot vouches for every entry below
    /// it (recovery rebuilds only the entries above), so a crash that keeps the snapshot must
    /// keep them too. Rolls are rare, so this costs little.
    pub fn write_snapshot(&mut self, payload: &[u8]) {
        for segment in self
            .sealed
            .iter_mut()
            .chain(std::iter::once(&mut self.active))
        {
            if let Err(error) = segment.flush_aborted() {
                tracing::warn!(%error, "cannot sync an aborted-transaction index; no snapshot");
                return;
            }
        }
        let offset = self.log_end_offset();
        self.snapshots.write(offset, payload);
        self.snapshot_due = false;
    }

    /// Removes the snapshots above `offset`, durably: they describe batches that are gone, or
    /// index entries about to be rebuilt.
    pub fn remove_snapshots_above(&mut self, offset: i64) -> Result<(), LogError> {
        match (self.snapshots.remove_above(offset), &self.dir) {
            (true, Some(dir)) => dir::sync(dir),
            _ => Ok(()),
        }
    }

    /// Whether a segment rolled since the last snapshot: the partition then takes one, as
    /// Kafka does at every roll, so that opening replays about one segment.
    pub fn snapshot_due(&self) -> bool {
        self.snapshot_due
    }

    /// The newest readable snapshot at an offset in `[min, max]`, as (offset, payload).
    pub fn snapshot_within(&mut self, min: i64, max: i64) -> Option<(i64, Bytes)> {
        self.snapshots.latest_within(min, max)
    }

    /// The offsets of the snapshots held, oldest first.
    pub fn snapshot_offsets(&self) -> Vec<i64> {
        self.snapshots.offsets()
    }
}
