//! Log compaction over segments (Kafka's `Cleaner.doClean`): the closed segments below the
//! first uncleanable offset are rewritten with the record rules of `compact.rs`, one cleaned
//! segment for each old one, and swapped in so that a crash at any point leaves either the
//! old segment or the new one (docs/compaction-plan.md §3):
//!
//! ```text
//!  1. .cleaner/B.log, .index, .timeindex, .txnindex   the cleaned segment, written and fsynced
//!  2. B.index.swap, B.timeindex.swap, B.txnindex.swap  moved next to the old segment, then
//!     B.log.swap                                       last: the commit point (dir fsynced)
//!  3. B.index, B.timeindex, B.txnindex, then B.log     renamed over the old files (dir fsynced)
//! ```
//!
//! Recovery (`dir::open`) finishes step 3 for every `B.log.swap` it finds, and deletes other
//! swap files and `.cleaner/`: before the commit point the old segment is whole.

use std::fs;
use std::path::Path;

use streamctl_protocol::record_batch::{RecordBatch, RecordBatches};

use super::batch;
use super::compact::{clean_batch, BatchContext, Cleaned, OffsetMap};
use super::dir::{self, file_name};
use super::segment::Segment;
use super::store::io_error;
use super::{AbortedTxn, Log, LogError};

/// The directory cleaned segments are written in before they are swapped in.
pub(super) const CLEANER_DIR: &str = ".cleaner";
/// The suffix of a cleaned segment's files between steps 2 and 3.
pub(super) const SWAP_SUFFIX: &str = "swap";
/// The segment files, the `.log` last: its swap is the commit point.
pub(super) const SEGMENT_FILES: [&str; 4] = ["index", "timeindex", "txnindex", "log"];

/// What one cleaning is allowed to do.
#[derive(Clone, Copy)]
pub struct CleanOptions<'a> {
    /// The first offset that may not be cleaned: the smallest of the high watermark, the
    /// first unstable offset and the `min.compaction.lag.ms` bound. Only closed segments that
    /// end at or below it are cleaned (never the active one).
    pub upper: i64,
    /// Segments whose newest timestamp is at or after this are too young to clean
    /// (`min.compaction.lag.ms` before now); the cleaning stops at the first one.
    pub young_from: i64,
    /// The cleaning's wall-clock time, for tombstone delete horizons.
    pub now_ms: i64,
    /// `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// Whether the batch at this base offset is the last data batch of this producer id that
    /// the partition remembers (kept, emptied if need be, so its sequence still checks).
    pub last_of_producer: &'a dyn Fn(i64, i64) -> bool,
}

impl std::fmt::Debug for CleanOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanOptions")
            .field("upper", &self.upper)
            .field("now_ms", &self.now_ms)
            .field("delete_retention_ms", &self.delete_retention_ms)
            .finish_non_exhaustive()
    }
}

/// What a cleaning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// Segments rewritten.
    pub segments: usize,
    /// Bytes of the cleaned range before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Keys in the offset map.
    pub keys: usize,
}

impl Log {
    /// Bytes of the closed segments below `upper` that were cleaned before and that were
    /// written since (`(clean, dirty)`), for `min.cleanable.dirty.ratio`.
    pub fn cleanable_bytes(&self, upper: i64, young_from: i64) -> (u64, u64) {
        let mut clean = 0;
        let mut dirty = 0;
        for s in self.cleanable_segments(upper, young_from) {
            if s.base_offset() < self.first_dirty {
                clean += s.size();
            } else {
                dirty += s.size();
            }
        }
        (clean, dirty)
    }

    /// Compacts the closed segments below `options.upper` (see the module docs). Nothing is
    /// done, and nothing lost, when the aborted-transaction indexes cannot be trusted yet
    /// (the partition is rebuilding them): aborted data could not be told apart.
    pub fn clean(&mut self, options: CleanOptions<'_>) -> Result<CleanStats, LogError> {
        let mut stats = CleanStats::default();
        if self.aborted_untrusted_from().is_some() {
            return Ok(stats);
        }
        let cleanable = self
            .cleanable_segments(options.upper, options.young_from)
            .count();
        if cleanable == 0 {
            return Ok(stats);
        }
        let aborted: Vec<AbortedTxn> = self
            .segments()
            .flat_map(|s| s.aborted().iter().copied())
            .collect();
        let is_aborted = |b: &RecordBatch| {
            b.is_transactional()
                && aborted.iter().any(|t| {
                    t.producer_id == b.producer_id()
                        && (t.first_offset..=t.last_offset).contains(&b.base_offset())
                })
        };
        // The offset map over the dirty section.
        let mut map = OffsetMap::default();
        let mut contents = Vec::with_capacity(cleanable);
        for segment in self.sealed.iter().take(cleanable) {
            let bytes = segment_bytes(segment)?;
            if segment.base_offset() >= self.first_dirty {
                for b in RecordBatches::new(bytes.clone()) {
                    let b = b.map_err(|e| corrupt(segment, e.to_string()))?;
                    map.add(&b, is_aborted(&b))
                        .map_err(|reason| corrupt(segment, reason))?;
                }
            }
            contents.push(bytes);
        }
        stats.keys = map.len();
        for (i, bytes) in contents.into_iter().enumerate() {
            let Some(segment) = self.sealed.get(i) else {
                break;
            };
            let mut out = Vec::with_capacity(bytes.len());
            let mut changed = false;
            for b in RecordBatches::new(bytes.clone()) {
                let b = b.map_err(|e| corrupt(segment, e.to_string()))?;
                let cx = BatchContext {
                    aborted: is_aborted(&b),
                    last_of_producer: b.producer_id() >= 0
                        && (options.last_of_producer)(b.producer_id(), b.base_offset()),
                    now_ms: options.now_ms,
                    delete_retention_ms: options.delete_retention_ms,
                };
                match clean_batch(&b, &map, cx).map_err(|reason| corrupt(segment, reason))? {
                    Cleaned::Unchanged => out.extend_from_slice(b.as_bytes()),
                    Cleaned::Rewritten(new) => {
                        changed = true;
                        out.extend_from_slice(&new);
                    }
                    Cleaned::Removed => changed = true,
                }
            }
            stats.bytes_before += bytes.len() as u64;
            stats.bytes_after += out.len() as u64;
            if changed {
                self.replace_segment(i, &out)?;
                stats.segments += 1;
            }
        }
        self.first_dirty = self
            .sealed
            .get(cleanable.saturating_sub(1))
            .map_or(self.first_dirty, Segment::next_offset)
            .max(self.first_dirty);
        Ok(stats)
    }

    /// The closed segments that may be cleaned: from the first, while they end at or below
    /// `upper` and are older than `young_from`.
    fn cleanable_segments(&self, upper: i64, young_from: i64) -> impl Iterator<Item = &Segment> {
        self.sealed
            .iter()
            .take_while(move |s| s.next_offset() <= upper && s.retention_timestamp() < young_from)
    }

    /// Replaces sealed segment `i` by one holding `batches` (its cleaned batches, in order,
    /// gaps allowed) and the same aborted-transaction entries (markers are kept).
    fn replace_segment(&mut self, i: usize, batches: &[u8]) -> Result<(), LogError> {
        let Some(old) = self.sealed.get(i) else {
            return Ok(());
        };
        let base = old.base_offset();
        let aborted: Vec<AbortedTxn> = old.aborted().to_vec();
        let interval = self.config.index_interval_bytes;
        let headers = batch_headers(batches).map_err(|reason| corrupt(old, reason))?;
        let now = super::now_ms();
        let new = match self.dir.clone() {
            None => {
                let mut new = Segment::create(None, base)?;
                new.append(batches, &headers, interval, now)?;
                for t in aborted {
                    new.push_aborted(t)?;
                }
                new.seal();
                new
            }
            Some(dir) => {
                let staging = dir.join(CLEANER_DIR);
                fs::create_dir_all(&staging).map_err(io_error("create", &staging))?;
                {
                    let mut new = Segment::create(Some(&staging), base)?;
                    new.append(batches, &headers, interval, now)?;
                    for t in aborted {
                        new.push_aborted(t)?;
                    }
                    new.seal();
                    new.flush()?;
                    new.flush_aborted()?;
                }
                // Step 2: next to the old segment, the `.log` last (the commit point), made
                // durable only after the others are.
                for suffix in SEGMENT_FILES {
                    if suffix == "log" {
                        dir::sync(&dir)?;
                    }
                    let from = staging.join(file_name(base, suffix));
                    let to = swap_path(&dir, base, suffix);
                    fs::rename(&from, &to).map_err(io_error("rename", &from))?;
                }
                dir::sync(&dir)?;
                // Step 3: over the old files, the `.log` last.
                finish_swap(&dir, base)?;
                Segment::open(&dir, base, false, interval)?
            }
        };
        if let Some(slot) = self.sealed.get_mut(i) {
            // The old segment's files were replaced by rename: dropping it only closes them.
            *slot = new;
        }
        Ok(())
    }
}

/// `<dir>/<base>.<suffix>.swap`.
pub(super) fn swap_path(dir: &Path, base: i64, suffix: &str) -> std::path::PathBuf {
    dir.join(format!("{}.{SWAP_SUFFIX}", file_name(base, suffix)))
}

/// Step 3 of a swap whose `.log.swap` exists: renames every swap file of `base` that is
/// still there over the segment's file, the `.log` last, then fsyncs the directory.
pub(super) fn finish_swap(dir: &Path, base: i64) -> Result<(), LogError> {
    for suffix in SEGMENT_FILES {
        if suffix == "log" {
            // The new indexes are in place before the new `.log` is.
            dir::sync(dir)?;
        }
        let from = swap_path(dir, base, suffix);
        if from.exists() {
            let to = dir.join(file_name(base, suffix));
            fs::rename(&from, &to).map_err(io_error("rename", &from))?;
        }
    }
    dir::sync(dir)
}

/// Every byte of a segment's batches.
fn segment_bytes(segment: &Segment) -> Result<bytes::Bytes, LogError> {
    let mut out = Vec::with_capacity(usize::try_from(segment.size()).unwrap_or(0));
    segment.read_batches(0, i64::MAX, usize::MAX, true, &mut out)?;
    Ok(bytes::Bytes::from(out))
}

fn batch_headers(batches: &[u8]) -> Result<Vec<batch::BatchHeader>, String> {
    let mut headers = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = batches.get(pos..).filter(|r| !r.is_empty()) {
        let h = batch::check_batch(rest).map_err(|fault| fault.to_string())?;
        pos += h.size;
        headers.push(h);
    }
    Ok(headers)
}

fn corrupt(segment: &Segment, reason: String) -> LogError {
    LogError::Corrupt {
        path: segment.log_path().to_path_buf(),
        position: 0,
        reason,
    }
}
