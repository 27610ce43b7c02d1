//! The partition's side of log compaction (`log/cleaner.rs` does the work): when a cleaning
//! is due, what it may touch, and the running totals that `topic describe`, `/metrics` and
//! the TUI show.
//!
//! As in Kafka only what is committed and stable is cleaned: closed segments below the high
//! watermark and the last stable offset, none holding a record younger than
//! `min.compaction.lag.ms`. A cleaning is due when more than `min.cleanable.dirty.ratio` of
//! those bytes were written since the last one, or when a dirty segment's first record is
//! older than `max.compaction.lag.ms` (Kafka's `grabFilthiestCompactedLog`). Every replica
//! cleans its own log; they agree on what a consumer reads because they clean the same
//! committed records by the same rules.
//!
//! The partition lock is held only to plan and to swap: a big `__consumer_offsets` segment
//! is read and rewritten while produce and fetch go on.

use std::sync::PoisonError;
use std::time::Instant;

use crate::error::ApiError;
use crate::log::{CleanRun, CleanStats, Compaction};

use super::{storage_error, Partition, State};

/// What the cleaner has done to one replica, and how dirty the replica is now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CleanerState {
    /// Where the last cleaning stopped (Kafka's cleaner checkpoint): offsets from here on
    /// are dirty.
    pub cleaned_to: i64,
    /// Cleanable bytes cleaned before and written since.
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// Cleanings since the replica opened, and the bytes they read and left.
    pub runs: u64,
    pub bytes_read: u64,
    pub bytes_left: u64,
    /// Wall-clock time the last cleaning ended, and how long it took.
    pub last_run_ms: Option<i64>,
    pub last_duration_ms: u64,
}

/// Running totals kept in the partition state.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CleanerTotals {
    runs: u64,
    bytes_read: u64,
    bytes_left: u64,
    last_run_ms: Option<i64>,
    last_duration_ms: u64,
}

impl State {
    /// `(upper, young_from)`: the first offset that may not be cleaned, and the time from
    /// which a segment is too young to be.
    fn cleanable_bounds(&self, now: i64, compaction: &Compaction) -> (i64, i64) {
        let upper = self.last_stable_offset().min(self.high_watermark);
        // Kafka bounds the cleaning by time only when a lag is set.
        let young_from = if compaction.min_compaction_lag_ms > 0 {
            now.saturating_sub(compaction.min_compaction_lag_ms)
        } else {
            i64::MAX
        };
        (upper, young_from)
    }

    /// Markers at or past this offset stay (`CleanRun::marker_floor`): on a leader, the
    /// smallest log end offset of its replicas (nothing while one has not fetched yet), so
    /// a replica catching up still reads how each transaction it holds data of ended. A
    /// follower knows no other replica's log: its own high watermark (Kafka guards neither;
    /// `delete.retention.ms` is its only margin).
    fn marker_floor(&self) -> i64 {
        if !self.is_leader() {
            return self.high_watermark;
        }
        // Every other assigned replica is in `followers`, at -1 until it has fetched.
        self.followers
            .values()
            .map(|f| f.log_end_offset)
            .fold(self.log.log_end_offset(), i64::min)
            .max(0)
    }

    /// Whether a cleaning is due (see the module docs).
    fn cleaning_due(&self, now: i64, compaction: &Compaction, clean: u64, dirty: u64) -> bool {
        if dirty == 0 {
            return false;
        }
        // Kafka's test is strict: a ratio of 0 cleans whenever anything is dirty.
        let by_ratio = u128::from(dirty) * 1_000_000
            > u128::from(compaction.min_cleanable_dirty_ratio_ppm) * u128::from(clean + dirty);
        let by_lag = compaction.max_compaction_lag_ms.is_some_and(|lag| {
            self.log
                .earliest_dirty_timestamp()
                .is_some_and(|ts| ts < now.saturating_sub(lag))
        });
        by_ratio || by_lag
    }
}

impl Partition {
    /// Compacts the log when its topic is compacted and a cleaning is due (see the module
    /// docs). `None` when nothing was due. `stop` is asked between segments: a broker going
    /// away ends its cleaning early, before anything is swapped in.
    pub fn clean(&self, now: i64, stop: &dyn Fn() -> bool) -> Result<Option<CleanStats>, ApiError> {
        // One cleaning of a replica at a time: the staging directory is the cleaning's.
        let _only = self.cleaning.lock().unwrap_or_else(PoisonError::into_inner);
        let started = Instant::now();
        let (plan, compaction, last_batches, marker_floor) = {
            let s = self.lock();
            let Some(compaction) = s.log.config().compaction else {
                return Ok(None);
            };
            // Until the aborted transactions are known again, aborted data cannot be told
            // from committed data.
            if s.rebuild_failed || s.closed {
                return Ok(None);
            }
            let (upper, young_from) = s.cleanable_bounds(now, &compaction);
            let (clean, dirty) = s.log.cleanable_bytes(upper, young_from);
            if !s.cleaning_due(now, &compaction, clean, dirty) {
                return Ok(None);
            }
            let Some(plan) = s.log.plan_clean(upper, young_from).map_err(storage_error)? else {
                return Ok(None);
            };
            (
                plan,
                compaction,
                s.producers.last_batches(),
                s.marker_floor(),
            )
        };
        let cleaned = plan
            .run(&CleanRun {
                now_ms: now,
                delete_retention_ms: compaction.delete_retention_ms,
                // A producer that wrote again meanwhile has a newer last batch: keeping the
                // old one too is only a batch more.
                last_of_producer: &|producer_id, base_offset| {
                    last_batches.get(&producer_id) == Some(&base_offset)
                },
                stop: &|| stop() || self.lock().closed,
                marker_floor,
            })
            .map_err(storage_error)?;
        let mut s = self.lock();
        if s.closed {
            // The replica was removed meanwhile; its directory may be another's now.
            s.log.discard_clean(cleaned);
            return Ok(None);
        }
        let stats = s.log.finish_clean(cleaned).map_err(storage_error)?;
        let totals = &mut s.cleaner;
        totals.runs += 1;
        totals.bytes_read += stats.bytes_before;
        totals.bytes_left += stats.bytes_after;
        totals.last_run_ms = Some(super::now_ms());
        totals.last_duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(Some(stats))
    }

    /// Marks the replica removed from this broker: a cleaning running on it swaps nothing in.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// The cleaner's state of this replica; `None` unless its topic is compacted.
    pub fn cleaner_state(&self, now: i64) -> Option<CleanerState> {
        let s = self.lock();
        let compaction = s.log.config().compaction?;
        let (upper, young_from) = s.cleanable_bounds(now, &compaction);
        let (clean_bytes, dirty_bytes) = s.log.cleanable_bytes(upper, young_from);
        let t = s.cleaner;
        Some(CleanerState {
            cleaned_to: s.log.first_dirty_offset(),
            clean_bytes,
            dirty_bytes,
            runs: t.runs,
            bytes_read: t.bytes_read,
            bytes_left: t.bytes_left,
            last_run_ms: t.last_run_ms,
            last_duration_ms: t.last_duration_ms,
        })
    }
}
