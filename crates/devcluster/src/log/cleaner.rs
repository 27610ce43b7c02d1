//! Log compaction over segments (Kafka's `Cleaner.doClean`): the closed segments below the
//! first uncleanable offset are rewritten with the record rules of `compact.rs`, adjacent
//! ones grouped into one cleaned segment of at most `segment.bytes` (Kafka's
//! `groupSegmentsBySize`), and swapped in so that a crash at any point leaves either the old
//! segments or the new one (docs/compaction-plan.md §3).
//!
//! A cleaning has three steps, so that the partition lock is held only to look and to swap:
//!
//! ```text
//!  Log::plan_clean   (lock)     which segments, a handle on each one's bytes, aborted txns
//!  CleanPlan::run    (no lock)  offset map, cleaned groups written to .cleaner/ and fsynced
//!  Log::finish_clean (lock)     each group whose old segments are unchanged is swapped in
//! ```
//!
//! The swap of a group whose segments start at B1 < B2 < … < Bk:
//!
//! ```text
//!  1. .cleaner/B1.log, .index, .timeindex, .txnindex   written and fsynced by `run`
//!  2. B1.index.swap, B1.timeindex.swap, B1.txnindex.swap, then
//!     B1.log.swap                        last: the commit point (directory fsynced first)
//!  3. B2 … Bk deleted, oldest first      (directory fsynced)
//!  4. B1.index, B1.timeindex, B1.txnindex, then B1.log   renamed over the old files
//! ```
//!
//! Recovery (`dir::open`, [`recover_swap`]) finishes steps 3 and 4 for every `B.log.swap`
//! it finds, and deletes other swap files and `.cleaner/`: before the commit point the old
//! segments are whole. Deleting oldest first matters: the old segments a crash in step 3
//! leaves are a suffix of the group, which start where the cleaned segment's offsets end
//! and still hold every record that later ones in the group superseded.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use streamctl_protocol::record_batch::{EndTxnMarker, RecordBatch, RecordBatches};

use super::batch;
use super::compact::{clean_batch, BatchContext, Cleaned, OffsetMap};
use super::dir::{self, file_name};
use super::segment::Segment;
use super::store::{io_error, remove_file, Source};
use super::{AbortedTxn, Log, LogError};

/// The directory cleaned segments are written in before they are swapped in.
pub(super) const CLEANER_DIR: &str = ".cleaner";
/// The suffix of a cleaned segment's files between steps 2 and 4.
pub(super) const SWAP_SUFFIX: &str = "swap";
/// The segment files, the `.log` last: its swap is the commit point.
pub(super) const SEGMENT_FILES: [&str; 4] = ["index", "timeindex", "txnindex", "log"];

/// What one cleaning may do, for [`Log::clean`] (the three steps in one call).
#[derive(Clone, Copy, Debug)]
pub struct CleanOptions<'a> {
    /// The first offset that may not be cleaned: the smallest of the high watermark and the
    /// first unstable offset. Only closed segments that end at or below it are cleaned
    /// (never the active one).
    pub upper: i64,
    /// Segments whose newest timestamp is at or after this are too young to clean
    /// (`min.compaction.lag.ms` before now); the cleaning stops at the first one.
    pub young_from: i64,
    /// How the records are cleaned.
    pub run: CleanRun<'a>,
}

/// How [`CleanPlan::run`] cleans records.
#[derive(Clone, Copy)]
pub struct CleanRun<'a> {
    /// The cleaning's wall-clock time, for tombstone delete horizons.
    pub now_ms: i64,
    /// `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// Whether the batch at this base offset is the last data batch of this producer id that
    /// the partition remembers (kept, emptied if need be, so its sequence still checks).
    pub last_of_producer: &'a dyn Fn(i64, i64) -> bool,
    /// Asked between segments: true stops the cleaning (its broker is going away).
    pub stop: &'a dyn Fn() -> bool,
    /// Markers at or past this offset stay, whatever their transaction: replicas whose log
    /// ends below it may still need them to close the transaction (the leader passes the
    /// smallest log end offset of its replicas).
    pub marker_floor: i64,
}

impl CleanRun<'_> {
    fn check_stop(&self) -> Result<(), LogError> {
        if (self.stop)() {
            return Err(LogError::Io {
                action: "clean",
                path: PathBuf::new(),
                source: std::io::Error::new(std::io::ErrorKind::Interrupted, "broker stopping"),
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for CleanRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanRun")
            .field("now_ms", &self.now_ms)
            .field("delete_retention_ms", &self.delete_retention_ms)
            .finish_non_exhaustive()
    }
}

/// What a cleaning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// Old segments replaced (a group of several counts each).
    pub segments: usize,
    /// Bytes of the cleaned range before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Keys in the offset map.
    pub keys: usize,
    /// Where the next cleaning's dirty section starts.
    pub cleaned_to: i64,
}

/// Which segment: its base, end and size, which do not change while it is sealed. A group
/// is swapped in only if its old segments are still exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SegmentId {
    base: i64,
    next: i64,
    size: u64,
}

impl SegmentId {
    fn of(segment: &Segment) -> Self {
        SegmentId {
            base: segment.base_offset(),
            next: segment.next_offset(),
            size: segment.size(),
        }
    }
}

/// One cleanable segment, readable without the log.
#[derive(Debug)]
struct Copy {
    id: SegmentId,
    source: Source,
    path: PathBuf,
    aborted: Vec<AbortedTxn>,
    retention_timestamp: i64,
}

/// What [`Log::plan_clean`] found to clean; [`CleanPlan::run`] cleans it.
#[derive(Debug)]
pub struct CleanPlan {
    dir: Option<PathBuf>,
    generation: u64,
    first_dirty: i64,
    index_interval_bytes: usize,
    max_group_bytes: u64,
    segments: Vec<Copy>,
    /// Every aborted transaction the log knows, whichever segment holds its marker (often
    /// the active one, past what is cleaned): Kafka's `collectAbortedTransactions`.
    aborted: Vec<AbortedTxn>,
    /// The oldest producer-state snapshot: a rebuild from it replays the log after it, and
    /// must find there the marker of every transaction the snapshot has open. Markers at or
    /// past it therefore stay.
    oldest_snapshot: i64,
}

/// A cleaned group, waiting for [`Log::finish_clean`].
#[derive(Debug)]
struct Group {
    old: Vec<SegmentId>,
    /// The cleaned segment (in `.cleaner/` on disk); `None` when nothing changed.
    new: Option<Segment>,
}

/// The result of [`CleanPlan::run`].
#[derive(Debug)]
pub struct CleanedLog {
    generation: u64,
    groups: Vec<Group>,
    cleaned_to: i64,
    stats: CleanStats,
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

    /// Where the last cleaning stopped: segments from here on are dirty.
    pub fn first_dirty_offset(&self) -> i64 {
        self.first_dirty
    }

    /// The oldest first-batch timestamp of the closed dirty segments (Kafka's
    /// `maxCompactionDelay`), for `max.compaction.lag.ms`.
    pub fn earliest_dirty_timestamp(&self) -> Option<i64> {
        self.sealed
            .iter()
            .filter(|s| s.base_offset() >= self.first_dirty)
            .filter_map(Segment::first_batch_timestamp)
            .filter(|ts| *ts > 0)
            .min()
    }

    /// Cleans in one call: [`Log::plan_clean`], [`CleanPlan::run`], [`Log::finish_clean`].
    pub fn clean(&mut self, options: CleanOptions<'_>) -> Result<CleanStats, LogError> {
        match self.plan_clean(options.upper, options.young_from)? {
            None => Ok(CleanStats {
                cleaned_to: self.first_dirty,
                ..CleanStats::default()
            }),
            Some(plan) => {
                let cleaned = plan.run(&options.run)?;
                self.finish_clean(cleaned)
            }
        }
    }

    /// The closed segments below `upper` and older than `young_from`, with handles to read
    /// them by. `None` when there are none, or when the aborted-transaction indexes cannot
    /// be trusted yet (the partition is rebuilding them): aborted data could not be told
    /// apart.
    pub fn plan_clean(&self, upper: i64, young_from: i64) -> Result<Option<CleanPlan>, LogError> {
        if self.aborted_untrusted_from().is_some() || self.swap_unfinished {
            return Ok(None);
        }
        let mut segments = Vec::new();
        for s in self.cleanable_segments(upper, young_from) {
            segments.push(Copy {
                id: SegmentId::of(s),
                source: s.source()?,
                path: s.log_path().to_path_buf(),
                aborted: s.aborted().to_vec(),
                retention_timestamp: s.retention_timestamp(),
            });
        }
        if segments.is_empty() {
            return Ok(None);
        }
        Ok(Some(CleanPlan {
            dir: self.dir.clone(),
            generation: self.generation,
            first_dirty: self.first_dirty,
            index_interval_bytes: self.config.index_interval_bytes,
            max_group_bytes: self.config.segment_bytes,
            segments,
            aborted: self
                .segments()
                .flat_map(|s| s.aborted().iter().copied())
                .collect(),
            oldest_snapshot: self
                .snapshot_offsets()
                .into_iter()
                .min()
                .unwrap_or(i64::MAX),
        }))
    }

    /// Swaps in every cleaned group whose old segments are still those that were cleaned
    /// (retention or DeleteRecords may have deleted some meanwhile; a truncation discards
    /// the whole cleaning).
    pub fn finish_clean(&mut self, cleaned: CleanedLog) -> Result<CleanStats, LogError> {
        let mut stats = cleaned.stats;
        if cleaned.generation != self.generation {
            discard(cleaned.groups);
            stats.segments = 0;
            stats.cleaned_to = self.first_dirty;
            return Ok(stats);
        }
        let mut groups = cleaned.groups.into_iter();
        while let Some(group) = groups.next() {
            let Some(new) = group.new else {
                continue;
            };
            let first = group.old.first().map(|id| id.base);
            let at = self
                .sealed
                .iter()
                .position(|s| Some(s.base_offset()) == first);
            let unchanged = at.is_some_and(|at| {
                group.old.len() <= self.sealed.len().saturating_sub(at)
                    && self
                        .sealed
                        .iter()
                        .skip(at)
                        .zip(&group.old)
                        .all(|(s, id)| SegmentId::of(s) == *id)
            });
            match at.filter(|_| unchanged) {
                Some(at) => {
                    if let Err(e) = self.swap_in(at, group.old.len(), new) {
                        discard(groups.collect());
                        return Err(e);
                    }
                }
                None => discard(vec![Group {
                    old: group.old,
                    new: Some(new),
                }]),
            }
        }
        self.first_dirty = self.first_dirty.max(cleaned.cleaned_to);
        stats.cleaned_to = self.first_dirty;
        Ok(stats)
    }

    /// Drops a cleaning without swapping anything in (its staged files are removed).
    pub fn discard_clean(&self, cleaned: CleanedLog) {
        discard(cleaned.groups);
    }

    /// The closed segments that may be cleaned: from the first, while they end at or below
    /// `upper` and are older than `young_from`.
    fn cleanable_segments(&self, upper: i64, young_from: i64) -> impl Iterator<Item = &Segment> {
        self.sealed
            .iter()
            .take_while(move |s| s.next_offset() <= upper && s.retention_timestamp() < young_from)
    }

    /// Replaces the `count` sealed segments from `at` by `new` (steps 2 to 4 on disk). The
    /// in-memory segments change only once the files have: if a step after the commit point
    /// fails, the old segments (whose open files still hold the old bytes) keep being served,
    /// recovery finishes the swap at the next open, and until then the log refuses what could
    /// undo it (`swap_unfinished`).
    fn swap_in(&mut self, at: usize, count: usize, new: Segment) -> Result<(), LogError> {
        let new = match self.dir.clone() {
            None => new,
            Some(dir) => {
                let base = new.base_offset();
                let staging = dir.join(CLEANER_DIR);
                drop(new);
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
                let members: Vec<i64> = self
                    .sealed
                    .iter()
                    .skip(at + 1)
                    .take(count.saturating_sub(1))
                    .map(Segment::base_offset)
                    .collect();
                // From here on the swap is committed: any failure leaves it to recovery.
                let finished = (|| {
                    dir::sync(&dir)?;
                    // Step 3: the rest of the group, oldest first, each unlink durable
                    // before the next, so what a crash leaves is a suffix of the group.
                    for member in members {
                        for suffix in SEGMENT_FILES.iter().rev() {
                            remove_file(&dir.join(file_name(member, suffix)))?;
                        }
                        dir::sync(&dir)?;
                    }
                    // Step 4: over the first one's files, the `.log` last.
                    finish_swap(&dir, base)?;
                    Segment::open(&dir, base, false, self.config.index_interval_bytes)
                })();
                match finished {
                    Ok(segment) => segment,
                    Err(e) => {
                        self.swap_unfinished = true;
                        return Err(e);
                    }
                }
            }
        };
        // The old segments' files are gone or replaced: dropping them only closes them.
        for _ in 1..count {
            self.sealed.remove(at + 1);
        }
        if let Some(slot) = self.sealed.get_mut(at) {
            *slot = new;
        }
        Ok(())
    }
}

impl CleanPlan {
    /// Bytes of the segments to clean.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.id.size).sum()
    }

    /// Builds the offset map over the dirty segments and writes the cleaned groups (on disk,
    /// to `.cleaner/`, fsynced). Touches nothing the log reads, so it runs without the
    /// partition lock; only one cleaning of a log may run at a time.
    pub fn run(self, run: &CleanRun<'_>) -> Result<CleanedLog, LogError> {
        let staging = self.dir.as_ref().map(|dir| dir.join(CLEANER_DIR));
        if let Some(staging) = &staging {
            // What an earlier cleaning left there was never swapped in.
            if staging.exists() {
                fs::remove_dir_all(staging).map_err(io_error("remove", staging))?;
            }
            // Not `create_dir_all`: a partition directory deleted meanwhile stays deleted.
            fs::create_dir(staging).map_err(io_error("create", staging))?;
        }
        let aborted = &self.aborted;
        let is_aborted = |b: &RecordBatch| {
            b.is_transactional()
                && aborted.iter().any(|t| {
                    t.producer_id == b.producer_id()
                        && (t.first_offset..=t.last_offset).contains(&b.base_offset())
                })
        };
        let mut map = OffsetMap::default();
        // A segment holding the first dirty offset (a log start DeleteRecords moved, a
        // truncation) is read whole: a larger map only removes more superseded records.
        for segment in self
            .segments
            .iter()
            .filter(|s| s.id.next > self.first_dirty)
        {
            run.check_stop()?;
            for b in RecordBatches::new(segment.read()?) {
                let b = b.map_err(|e| corrupt(&segment.path, e.to_string()))?;
                map.add(&b, is_aborted(&b))
                    .map_err(|reason| corrupt(&segment.path, reason))?;
            }
        }
        let mut stats = CleanStats {
            keys: map.len(),
            ..CleanStats::default()
        };
        let mut groups = Vec::new();
        // Producers whose open transaction (up to its marker) has a batch in the log: the
        // segments are read in offset order, from the first, so a marker found with none is
        // the marker of a transaction whose data an earlier cleaning removed.
        let mut txn_has_data: HashMap<i64, bool> = HashMap::new();
        for members in group_by_size(&self.segments, self.max_group_bytes) {
            let mut new: Option<Segment> = None;
            let mut changed = members.len() > 1;
            for segment in members {
                run.check_stop()?;
                let bytes = segment.read()?;
                let mut out = Vec::with_capacity(bytes.len());
                let mut removed_markers = Vec::new();
                for b in RecordBatches::new(bytes.clone()) {
                    let b = b.map_err(|e| corrupt(&segment.path, e.to_string()))?;
                    let marker_floor = run.marker_floor.min(self.oldest_snapshot);
                    let marker_of_empty_txn = if b.is_control() {
                        // Other control records, and markers that cannot be read, stay.
                        let marker = EndTxnMarker::parse(&b).ok().flatten().is_some();
                        let had_data =
                            marker && txn_has_data.remove(&b.producer_id()).unwrap_or(false);
                        marker && !had_data && b.base_offset() < marker_floor
                    } else {
                        if b.is_transactional() {
                            txn_has_data.insert(b.producer_id(), true);
                        }
                        false
                    };
                    let cx = BatchContext {
                        aborted: is_aborted(&b),
                        marker_of_empty_txn,
                        last_of_producer: b.producer_id() >= 0
                            && (run.last_of_producer)(b.producer_id(), b.base_offset()),
                        now_ms: run.now_ms,
                        delete_retention_ms: run.delete_retention_ms,
                    };
                    match clean_batch(&b, &map, cx)
                        .map_err(|reason| corrupt(&segment.path, reason))?
                    {
                        Cleaned::Unchanged => out.extend_from_slice(b.as_bytes()),
                        Cleaned::Rewritten(rewritten) => {
                            changed = true;
                            out.extend_from_slice(&rewritten);
                        }
                        Cleaned::Removed => {
                            changed = true;
                            if b.is_control() {
                                removed_markers.push(b.base_offset());
                            }
                        }
                    }
                }
                stats.bytes_before += bytes.len() as u64;
                stats.bytes_after += out.len() as u64;
                if !changed {
                    // A group of one segment that cleaning leaves as it is.
                    break;
                }
                let target = match &mut new {
                    Some(target) => target,
                    None => new.insert(Segment::create(staging.as_deref(), segment.id.base)?),
                };
                let headers =
                    batch_headers(&out).map_err(|reason| corrupt(&segment.path, reason))?;
                target.append(
                    &out,
                    &headers,
                    self.index_interval_bytes,
                    segment.retention_timestamp,
                )?;
                // An entry stays with its marker.
                for t in &segment.aborted {
                    if !removed_markers.contains(&t.last_offset) {
                        target.push_aborted(*t)?;
                    }
                }
            }
            let old = members.iter().map(|s| s.id).collect::<Vec<_>>();
            let new = match new {
                Some(mut new) if changed => {
                    new.seal();
                    new.flush()?;
                    new.flush_aborted()?;
                    stats.segments += old.len();
                    Some(new)
                }
                _ => None,
            };
            groups.push(Group { old, new });
        }
        let cleaned_to = self
            .segments
            .last()
            .map_or(self.first_dirty, |s| s.id.next)
            .max(self.first_dirty);
        Ok(CleanedLog {
            generation: self.generation,
            groups,
            cleaned_to,
            stats,
        })
    }
}

impl Copy {
    fn read(&self) -> Result<Bytes, LogError> {
        self.source.read(self.id.size, &self.path)
    }
}

/// Adjacent segments whose old sizes add up to at most `max_bytes` and whose offsets fit one
/// segment's relative offsets (Kafka's `groupSegmentsBySize`); a segment larger than
/// `max_bytes` is a group of its own.
fn group_by_size(segments: &[Copy], max_bytes: u64) -> Vec<&[Copy]> {
    let mut groups = Vec::new();
    let mut rest = segments;
    while let Some(first) = rest.first() {
        let mut bytes = 0u64;
        let len = rest
            .iter()
            .enumerate()
            .take_while(|(i, s)| {
                bytes += s.id.size;
                *i == 0
                    || (bytes <= max_bytes
                        && s.id.next.saturating_sub(first.id.base) <= i64::from(i32::MAX))
            })
            .count();
        let (group, tail) = rest.split_at(len);
        groups.push(group);
        rest = tail;
    }
    groups
}

/// Removes the staged files of groups that will not be swapped in.
fn discard(groups: Vec<Group>) {
    for group in groups {
        if let Some(new) = group.new {
            if let Err(error) = new.delete() {
                tracing::warn!(%error, "cannot remove a cleaned segment that was not swapped in");
            }
        }
    }
}

/// `<dir>/<base>.<suffix>.swap`.
pub(super) fn swap_path(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{}.{SWAP_SUFFIX}", file_name(base, suffix)))
}

/// Step 4 of a swap whose `.log.swap` exists: renames every swap file of `base` that is
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

/// Recovery of a committed swap at `base` (its `.log.swap` exists): step 3 for the segments
/// `bases` lists that the cleaned segment covers (it ends where its last batch does), then
/// step 4.
pub(super) fn recover_swap(dir: &Path, base: i64, bases: &[i64]) -> Result<(), LogError> {
    let swap = swap_path(dir, base, "log");
    let data = fs::read(&swap).map_err(io_error("read", &swap))?;
    let mut end = base;
    let mut pos = 0usize;
    // The swap was fsynced before it was committed; a batch that does not check ends it,
    // as recovery would cut the segment there.
    while let Some(h) = data
        .get(pos..)
        .filter(|r| !r.is_empty())
        .and_then(|rest| batch::check_batch(rest).ok())
    {
        pos += h.size;
        end = h.next_offset();
    }
    for &covered in bases.iter().filter(|b| **b > base && **b < end) {
        tracing::warn!(
            base = covered,
            "removing a segment that a committed cleaning replaced"
        );
        for suffix in SEGMENT_FILES.iter().rev() {
            remove_file(&dir.join(file_name(covered, suffix)))?;
        }
    }
    dir::sync(dir)?;
    finish_swap(dir, base)
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

fn corrupt(path: &Path, reason: String) -> LogError {
    LogError::Corrupt {
        path: path.to_path_buf(),
        position: 0,
        reason,
    }
}
