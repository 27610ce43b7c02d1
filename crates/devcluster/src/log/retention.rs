//! Retention: deleting whole sealed segments by time, by size and below the log start offset.

use super::{Log, LogError, Segment};

impl Log {
    /// Deletes sealed segments by time (`retention.ms`, against each segment's newest
    /// timestamp) and then by size (`retention.bytes`), oldest first, and those wholly below
    /// the log start offset; never the active segment, and never a segment holding an offset
    /// at or above `upto` (a leader passes its high watermark, as Kafka does: records not yet
    /// on every ISR member must not vanish before they are acknowledged). Returns how many
    /// went.
    pub fn apply_retention(&mut self, now_ms: i64, upto: i64) -> Result<usize, LogError> {
        // Deleting a segment whose cleaned copy waits for recovery would take the copy too.
        if self.swap_unfinished {
            return Ok(0);
        }
        let mut deleted = self.delete_segments_below_start()?;
        if let Some(retention_ms) = self.config.retention_ms.filter(|ms| *ms >= 0) {
            while self.oldest_wholly_below(upto)
                && self
                    .sealed
                    .front()
                    .is_some_and(|s| now_ms.saturating_sub(s.retention_timestamp()) > retention_ms)
            {
                self.delete_oldest()?;
                deleted += 1;
            }
        }
        if let Some(retention_bytes) = self.config.retention_bytes {
            let mut size = self.size_bytes();
            while let Some(oldest) = self
                .sealed
                .front()
                .filter(|_| self.oldest_wholly_below(upto))
                .map(Segment::size)
                .filter(|&oldest| size.saturating_sub(oldest) >= retention_bytes)
            {
                self.delete_oldest()?;
                size = size.saturating_sub(oldest);
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Whether the oldest sealed segment ends at or below `offset` (the next segment starts
    /// there or earlier).
    fn oldest_wholly_below(&self, offset: i64) -> bool {
        let next = self
            .sealed
            .get(1)
            .map_or_else(|| self.active.base_offset(), Segment::base_offset);
        !self.sealed.is_empty() && next <= offset
    }

    /// Deletes the sealed segments whose batches all lie below the log start offset.
    pub(super) fn delete_segments_below_start(&mut self) -> Result<usize, LogError> {
        let mut deleted = 0;
        // A segment is wholly below the start when the one after it starts at or below it.
        while !self.sealed.is_empty()
            && self.sealed.get(1).unwrap_or(&self.active).base_offset() <= self.log_start_offset
        {
            self.delete_oldest()?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Deletes the oldest sealed segment and moves the log start offset up to the next one.
    fn delete_oldest(&mut self) -> Result<(), LogError> {
        let Some(oldest) = self.sealed.pop_front() else {
            return Ok(());
        };
        tracing::info!(
            path = %oldest.log_path().display(),
            size = oldest.size(),
            "deleting segment"
        );
        self.dir_dirty = true;
        oldest.delete()?;
        let first_base = self.sealed.front().unwrap_or(&self.active).base_offset();
        if first_base > self.log_start_offset {
            self.set_log_start_offset(first_base)?;
        }
        Ok(())
    }
}
