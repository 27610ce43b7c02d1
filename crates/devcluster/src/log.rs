//! The log of one partition: the storage of the dev cluster's brokers (DESIGN decision 6).
//!
//! ```text
//!  <partition dir>/
//!    00000000000000000000.log        sealed segments: whole v2 batches, as received
//!    00000000000000000000.index
//!    00000000000000000000.timeindex
//!    00000000000000000000.txnindex   transactions aborted by markers in the segment
//!    00000000000000004242.log        the active segment: appends go here
//!    00000000000000004242.index
//!    00000000000000004242.timeindex
//!    00000000000000004242.txnindex
//!    00000000000000004242.snapshot   the partition's derived state below 4242 (taken at a roll)
//!    log-start-offset                raised by DeleteRecords, so that it survives a restart
//!
//!  one segment (base offset 4242):
//!
//!   .log  pos 0          pos 1130        pos 4390        pos 8500
//!         ┌─────────────┬───────────────┬───────────────┬──────────────┬─────────┐
//!         │ batch 4242  │ batch 4250    │ batch 4301    │ batch 4377   │ ...     │
//!         │ -4249       │ -4300         │ -4376         │ -4400        │         │
//!         └─────────────┴───────────────┴───────────────┴──────────────┴─────────┘
//!                                       ▲                              ▲
//!   .index      (relative offset, position), one entry per ≥ index.interval.bytes:
//!               (59, 4390) ─────────────┘                              │
//!               (135, 8500) ───────────────────────────────────────────┘
//!   .timeindex  (largest timestamp so far, relative offset of its batch)
//! ```
//!
//! Reading `offset` 4310: binary-search the segments by base offset, then the segment's
//! `.index` for the last entry at or below 4310 (`(59, 4390)`), then walk the batch headers
//! from there to the batch whose last offset reaches 4310 (the one at 4390), and read whole
//! batches from it in one call. A fetch from the middle of a batch returns the whole batch,
//! as in Kafka: batches are stored and served as the bytes that came in, never split or
//! rewritten (DESIGN decision 2), so reads never copy record by record.
//!
//! Writes reach the OS (the page cache) before `append` returns, which is what an ack
//! promises (DESIGN decision 6); `flush.messages`/`flush.ms` add an fsync. After a crash,
//! [`Log::open`] checks the active segment batch by batch (length, magic, CRC-32C) and cuts
//! it at the first batch that is not whole — a torn write — then rebuilds its indexes. Older
//! segments keep their indexes when they look sound, and only their last few batches are
//! checked.
//!
//! [`Storage::Memory`] keeps the same segments in `Vec`s, so a test against memory runs the
//! same rolling, indexing, retention and truncation code as a broker on disk.
//!
//! Kafka behaviour followed: KIP-74 (a fetch returns at least one whole batch), KIP-33 (the
//! time index), KIP-107 (DeleteRecords and the log start offset), `segment.ms` measured from
//! the first batch's timestamp, and retention never touching the active segment.

mod batch;
mod cleaner;
pub(crate) mod compact;
mod derived;
mod dir;
mod index;
mod retention;
mod segment;
mod snapshots;
mod store;
mod txn_index;

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;

pub use cleaner::{CleanOptions, CleanPlan, CleanRun, CleanStats, CleanedLog};
use segment::Segment;
use snapshots::Snapshots;
pub use txn_index::AbortedTxn;

/// Where a partition's log keeps its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory only: gone with the [`Log`]. For tests and throwaway clusters.
    Memory,
    /// In this partition's own directory, which the log creates if needed and owns.
    Disk(PathBuf),
}

/// The topic configs that shape a partition's log, with Kafka's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: a segment rolls before it would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: a segment rolls once its first batch is this much older than the batch
    /// being appended. `None` never rolls on time.
    pub segment_ms: Option<i64>,
    /// `retention.ms`: sealed segments whose newest batch is older are deleted. `None` keeps
    /// them forever (Kafka's -1).
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: the oldest sealed segments are deleted while the log stays at least
    /// this large without them. `None` is unlimited (Kafka's -1).
    pub retention_bytes: Option<u64>,
    /// `index.interval.bytes`: bytes of batches between two offset index entries.
    pub index_interval_bytes: usize,
    /// `flush.messages`: fsync after this many records. `None` leaves it to the OS.
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync when the last one is this old. `None` leaves it to the OS.
    pub flush_ms: Option<i64>,
    /// How the cleaner compacts the log; `None` unless `cleanup.policy` includes `compact`.
    pub compaction: Option<Compaction>,
}

/// The settings of a compacted topic's cleaning (`cleaner.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// `min.cleanable.dirty.ratio`, in millionths: the share of the cleanable bytes written
    /// since the last cleaning that starts one.
    pub min_cleanable_dirty_ratio_ppm: u32,
    /// `delete.retention.ms`: how long tombstones stay once cleaned.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: segments with a record younger than this are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a dirty record older than this makes a cleaning due whatever
    /// the dirty ratio; `None` for no bound.
    pub max_compaction_lag_ms: Option<i64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        const WEEK_MS: i64 = 7 * 24 * 60 * 60 * 1000;
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(WEEK_MS),
            retention_ms: Some(WEEK_MS),
            retention_bytes: None,
            index_interval_bytes: 4096,
            flush_messages: None,
            flush_ms: None,
            compaction: None,
        }
    }
}

impl LogConfig {
    /// Sets one config by its Kafka topic-config name (`"retention.ms"`, `"segment.bytes"`,
    /// ...), so that configs from CreateTopics or IncrementalAlterConfigs apply as given. A
    /// negative `retention.*` means unlimited, as in Kafka. Returns `Ok(false)` for a name
    /// that is not a log config, leaving the config as it was.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, LogError> {
        let invalid = || LogError::InvalidConfig {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        let int = || value.trim().parse::<i64>().map_err(|_| invalid());
        let non_negative = || int().and_then(|v| if v < 0 { Err(invalid()) } else { Ok(v) });
        match name {
            "segment.bytes" => self.segment_bytes = non_negative()?.unsigned_abs(),
            "segment.ms" => self.segment_ms = Some(non_negative()?),
            "retention.ms" => self.retention_ms = Some(int()?).filter(|v| *v >= 0),
            "retention.bytes" => {
                self.retention_bytes = u64::try_from(int()?).ok();
            }
            "index.interval.bytes" => {
                self.index_interval_bytes =
                    usize::try_from(non_negative()?).map_err(|_| invalid())?;
            }
            "flush.messages" => self.flush_messages = Some(non_negative()?.unsigned_abs()),
            "flush.ms" => self.flush_ms = Some(non_negative()?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A file could not be read, written, created or removed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done: `"read"`, `"write"`, `"create"`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Stored bytes are not what the log wrote, where it cannot just cut them off.
    #[error("corrupt {} at byte {position}: {reason}", path.display())]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte position in the file.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// A read, truncation or DeleteRecords named an offset the log does not hold.
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}] of the log")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// The first offset the log serves.
        log_start_offset: i64,
        /// The offset the next batch will get.
        log_end_offset: i64,
    },
    /// Appended bytes are not whole, valid v2 batches.
    #[error("invalid record batch at byte {position} of the append: {reason}")]
    InvalidBatch {
        /// Byte position of the bad batch in the appended bytes.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An appended batch does not start where the log ends (offsets are assigned by the
    /// caller, and must be contiguous).
    #[error("batch base offset {found} does not follow log end offset {expected}")]
    UnexpectedBaseOffset {
        /// The offset the next batch must start at.
        expected: i64,
        /// The batch's base offset.
        found: i64,
    },
    /// A batch is larger than a whole segment may be.
    #[error("record batch of {size} bytes is larger than segment.bytes {segment_bytes}")]
    BatchTooLarge {
        /// The batch's size.
        size: usize,
        /// The configured `segment.bytes`.
        segment_bytes: u64,
    },
    /// A config value that the log cannot use.
    #[error("invalid value {value:?} for config {name}")]
    InvalidConfig {
        /// The Kafka config name.
        name: String,
        /// The value given.
        value: String,
    },
}

impl LogError {
    /// The Kafka error code a broker answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            LogError::InvalidBatch { .. } | LogError::UnexpectedBaseOffset { .. } => {
                ErrorCode::CorruptMessage
            }
            LogError::BatchTooLarge { .. } => ErrorCode::RecordListTooLarge,
            LogError::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            LogError::Io { .. } | LogError::Corrupt { .. } => ErrorCode::KafkaStorageError,
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// The log of one partition: segments of whole record batches, oldest first.
///
/// Not internally synchronised: the broker keeps it behind the partition's lock. Every method
/// does bounded work inline (page-cache I/O), so it may be called under that lock but never
/// across an `.await`.
#[derive(Debug)]
pub struct Log {
    /// The partition directory; `None` in memory.
    dir: Option<PathBuf>,
    config: LogConfig,
    /// Segments before the active one, oldest first.
    sealed: VecDeque<Segment>,
    /// The segment appends go to; a separate field so that a log always has one.
    active: Segment,
    /// First offset served; at or above the first segment's base offset.
    log_start_offset: i64,
    /// Records appended since the last fsync, for `flush.messages`.
    unflushed_messages: u64,
    /// Whether anything was written since the last fsync, for `flush.ms`.
    unflushed: bool,
    /// Wall-clock time of the last fsync, for `flush.ms`.
    last_flush_ms: i64,
    /// Segment files were created or removed since the directory was last fsynced.
    dir_dirty: bool,
    /// The partition's snapshots of what it derives from the log.
    snapshots: Snapshots,
    /// A segment rolled since the last snapshot.
    snapshot_due: bool,
    /// Where the last cleaning stopped: segments from here on are dirty (`cleaner.rs`). Kept
    /// in memory only, so after a restart every segment is dirty once (cleaning again is
    /// harmless).
    first_dirty: i64,
    /// Bumped when the log is cut or restarted, so that a cleaning planned before is not
    /// swapped in after (`cleaner.rs`).
    generation: u64,
    /// A cleaned segment's swap passed its commit point and then failed: the files are
    /// between states that only recovery (the next open) finishes, so nothing may truncate
    /// the log or clean it again until then.
    swap_unfinished: bool,
}

impl Log {
    /// Opens the partition's log, creating it if it does not exist and recovering it if it
    /// does (see the module docs).
    pub fn open(storage: Storage, config: LogConfig) -> Result<Log, LogError> {
        let (dir, sealed, active, log_start_offset) = match storage {
            Storage::Memory => (None, VecDeque::new(), Segment::create(None, 0)?, 0),
            Storage::Disk(dir) => {
                let (sealed, active, log_start_offset) = dir::open(&dir, &config)?;
                (Some(dir), sealed, active, log_start_offset)
            }
        };
        let snapshots = Snapshots::open(dir.as_deref())?;
        Ok(Log {
            dir,
            config,
            sealed,
            active,
            log_start_offset,
            unflushed_messages: 0,
            unflushed: false,
            last_flush_ms: now_ms(),
            dir_dirty: true,
            snapshots,
            snapshot_due: false,
            first_dirty: log_start_offset,
            generation: 0,
            swap_unfinished: false,
        })
    }

    /// The first offset the log serves (raised by retention and DeleteRecords).
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended batch gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active.next_offset()
    }

    /// Bytes of batches held, over all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments().map(Segment::size).sum()
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }

    /// The config in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Replaces the config (IncrementalAlterConfigs); it applies from the next append or
    /// retention pass.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Refuses a change that a failed swap's recovery could undo (see `swap_unfinished`).
    fn refuse_if_swap_unfinished(&self) -> Result<(), LogError> {
        if self.swap_unfinished {
            return Err(LogError::Corrupt {
                path: self.dir.clone().unwrap_or_default(),
                position: 0,
                reason: "a cleaned segment's swap failed half way; restart the broker to finish it"
                    .to_string(),
            });
        }
        Ok(())
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.iter().chain(std::iter::once(&self.active))
    }

    /// The segments from the one that may hold `offset` on.
    fn segments_from(&self, offset: i64) -> impl Iterator<Item = &Segment> {
        let skip = if self.active.base_offset() <= offset {
            self.sealed.len()
        } else {
            self.sealed
                .partition_point(|s| s.base_offset() <= offset)
                .saturating_sub(1)
        };
        self.sealed
            .iter()
            .skip(skip)
            .chain(std::iter::once(&self.active))
    }

    fn out_of_range(&self, offset: i64) -> LogError {
        LogError::OffsetOutOfRange {
            offset,
            log_start_offset: self.log_start_offset,
            log_end_offset: self.log_end_offset(),
        }
    }

    /// Appends one or more whole v2 batches whose base offsets the caller has already
    /// assigned, contiguous from [`log_end_offset`](Self::log_end_offset).
    ///
    /// Every batch is checked (length, magic, CRC-32C, offsets) before anything is written,
    /// so an append is all or nothing: a batch stored with a bad CRC would make the next
    /// recovery cut the log there, dropping every later batch with it. The bytes reach the OS
    /// before this returns; they are fsynced when `flush.messages` or `flush.ms` say so.
    pub fn append(&mut self, batches: &[u8]) -> Result<(), LogError> {
        self.append_checked(batches, false)
    }

    /// [`append`](Self::append) for a follower copying its leader's log: a batch may start
    /// past the log end offset, since log compaction leaves gaps between batches (Kafka's
    /// `appendAsFollower` requires only increasing offsets).
    pub fn append_replicated(&mut self, batches: &[u8]) -> Result<(), LogError> {
        self.append_checked(batches, true)
    }

    fn append_checked(&mut self, batches: &[u8], gaps: bool) -> Result<(), LogError> {
        let mut headers = Vec::new();
        let mut pos = 0usize;
        let mut expected = self.log_end_offset();
        while let Some(rest) = batches.get(pos..).filter(|rest| !rest.is_empty()) {
            let h = batch::check_batch(rest).map_err(|fault| LogError::InvalidBatch {
                position: pos,
                reason: fault.to_string(),
            })?;
            if h.base_offset < expected || (h.base_offset > expected && !gaps) {
                return Err(LogError::UnexpectedBaseOffset {
                    expected,
                    found: h.base_offset,
                });
            }
            if h.size as u64 > self.config.segment_bytes {
                return Err(LogError::BatchTooLarge {
                    size: h.size,
                    segment_bytes: self.config.segment_bytes,
                });
            }
            headers.push(h);
            pos += h.size;
            expected = h.next_offset();
        }
        if headers.is_empty() {
            return Ok(());
        }

        // Batches that land in the same segment are written with one call.
        let now = now_ms();
        let mut run_from = 0usize; // index in `headers` of the run's first batch
        let mut run_pos = 0usize; // its byte position in `batches`
        let mut run_bytes = 0usize;
        for (i, h) in headers.iter().enumerate() {
            let run = headers.get(run_from..i).unwrap_or_default();
            let run_first_timestamp = run.first().map(|first| first.max_timestamp);
            if self
                .active
                .should_roll(run_bytes as u64, run_first_timestamp, h, &self.config, now)
            {
                self.write_run(batches, run_pos, run, now)?;
                self.roll(h.base_offset)?;
                run_from = i;
                run_pos += run_bytes;
                run_bytes = 0;
            }
            run_bytes += h.size;
        }
        let run = headers.get(run_from..).unwrap_or_default();
        self.write_run(batches, run_pos, run, now)?;

        let records: u64 = headers
            .iter()
            .map(|h| u64::try_from(h.record_count).unwrap_or(0))
            .sum();
        self.unflushed_messages = self.unflushed_messages.saturating_add(records);
        self.unflushed = true;
        let flush_due = self
            .config
            .flush_messages
            .is_some_and(|n| self.unflushed_messages >= n)
            || self
                .config
                .flush_ms
                .is_some_and(|ms| now.saturating_sub(self.last_flush_ms) >= ms);
        if flush_due {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the batches `run`, found at `pos` in `batches`, to the active segment.
    fn write_run(
        &mut self,
        batches: &[u8],
        pos: usize,
        run: &[batch::BatchHeader],
        now: i64,
    ) -> Result<(), LogError> {
        if run.is_empty() {
            return Ok(());
        }
        let len: usize = run.iter().map(|h| h.size).sum();
        let data =
            batches
                .get(pos..pos.saturating_add(len))
                .ok_or_else(|| LogError::InvalidBatch {
                    position: pos,
                    reason: format!("{len} bytes of batches do not fit the append"),
                })?;
        self.active
            .append(data, run, self.config.index_interval_bytes, now)
    }

    /// Seals the active segment and starts a new one at `base_offset`.
    fn roll(&mut self, base_offset: i64) -> Result<(), LogError> {
        let next = Segment::create(self.dir.as_deref(), base_offset)?;
        let mut sealed = std::mem::replace(&mut self.active, next);
        sealed.seal();
        tracing::debug!(
            path = %sealed.log_path().display(),
            size = sealed.size(),
            next_base_offset = base_offset,
            "rolled segment"
        );
        self.sealed.push_back(sealed);
        self.dir_dirty = true;
        self.snapshot_due = true;
        Ok(())
    }

    /// Whole batches from the one containing `offset` on: as many as fit in `max_bytes`, but
    /// with `min_one` at least the first one whatever its size (KIP-74), and only batches
    /// whose last offset is below `upper_bound` (the high watermark for consumers, the log end
    /// offset for followers). `offset == log_end_offset` gives no bytes; an offset outside
    /// `[log_start_offset, log_end_offset]` is [`LogError::OffsetOutOfRange`].
    ///
    /// The first batch may start before `offset` (a fetch from the middle of a batch, or from
    /// a log start offset inside one): clients skip the records before the offset they asked
    /// for, as with Kafka.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper_bound: i64,
        min_one: bool,
    ) -> Result<Bytes, LogError> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(self.out_of_range(offset));
        }
        let upper_bound = upper_bound.min(log_end_offset);
        if offset >= upper_bound {
            return Ok(Bytes::new());
        }
        let mut out = Vec::new();
        let mut first = true;
        for segment in self.segments_from(offset) {
            let start = if std::mem::take(&mut first) {
                match segment.position_of(offset)? {
                    Some(pos) => pos,
                    // `offset` is past this segment's last batch: the next one has it.
                    None => continue,
                }
            } else {
                0
            };
            if !segment.read_batches(start, upper_bound, max_bytes, min_one, &mut out)? {
                break;
            }
        }
        Ok(Bytes::from(out))
    }

    /// The first record at or after the log start offset whose timestamp is at least
    /// `timestamp`, as `(offset, timestamp)` — ListOffsets by timestamp. `None` if there is
    /// none. The broker hides an answer at or above the high watermark.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in self.segments() {
            if segment.next_offset() <= self.log_start_offset
                || segment
                    .max_timestamp()
                    .is_none_or(|(max, _)| max < timestamp)
            {
                continue;
            }
            if let Some(found) = segment.find_timestamp(timestamp, self.log_start_offset)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The largest batch timestamp in the log and the base offset of the first batch that has
    /// it, for ListOffsets `MAX_TIMESTAMP` (-3, KIP-734). `None` for an empty log.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let mut max: Option<(i64, i64)> = None;
        for (timestamp, offset) in self.segments().filter_map(Segment::max_timestamp) {
            if max.is_none_or(|(m, _)| timestamp > m) {
                max = Some((timestamp, offset));
            }
        }
        max
    }

    /// Drops every batch at and after `offset` (a follower truncating on a leader change).
    ///
    /// A batch is the unit stored, so one that contains `offset` goes whole: the log end
    /// offset becomes that batch's base offset. Leaders' epoch boundaries and high watermarks
    /// fall between batches, so in practice it is `offset`. Truncating below the first segment
    /// empties the log and restarts it at `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        self.refuse_if_swap_unfinished()?;
        if offset < 0 {
            return Err(self.out_of_range(offset));
        }
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        // First, so that a crash in the middle cannot leave a snapshot of removed batches.
        self.remove_snapshots_above(offset)?;
        let first_base = self.sealed.front().unwrap_or(&self.active).base_offset();
        if offset < first_base {
            // The new segment cannot clash with an old one: they all start above `offset`.
            let fresh = Segment::create(self.dir.as_deref(), offset)?;
            let old = std::mem::replace(&mut self.active, fresh);
            // Newest first, so that a crash in the middle leaves a log without holes.
            for segment in std::iter::once(old).chain(self.sealed.drain(..).rev()) {
                segment.delete()?;
            }
        } else {
            // A cut in a gap that log compaction left leaves the log ending at `offset`, as
            // Kafka's does, so that no offset below it is ever given out again. (A cut inside
            // a batch takes the whole batch, and the log ends at its base.)
            let in_gap = match self.segments_from(offset).next() {
                Some(segment) => !segment.holds(offset)?,
                None => false,
            };
            // Whole segments after `offset` go, newest first, then the one holding it is cut.
            while self.active.base_offset() > offset {
                let Some(previous) = self.sealed.pop_back() else {
                    break;
                };
                std::mem::replace(&mut self.active, previous).delete()?;
            }
            self.active
                .truncate_to(offset, self.config.index_interval_bytes)?;
            if in_gap && self.log_end_offset() < offset {
                self.roll(offset)?;
            }
        }
        // What is appended from here on is dirty, whatever was cleaned before.
        self.first_dirty = self.first_dirty.min(offset);
        self.generation += 1;
        self.dir_dirty = true;
        tracing::info!(
            path = %self.active.log_path().display(),
            offset,
            log_end_offset = self.log_end_offset(),
            "truncated log"
        );
        let log_start_offset = self.log_start_offset.min(self.log_end_offset());
        self.set_log_start_offset(log_start_offset)
    }

    /// Empties the log and restarts it at `offset` (a follower whose log ends before the
    /// leader's log start: none of what it has is still on the leader).
    pub fn restart_at(&mut self, offset: i64) -> Result<(), LogError> {
        self.refuse_if_swap_unfinished()?;
        if offset < 0 {
            return Err(self.out_of_range(offset));
        }
        // None of the old log's state carries over to the new one.
        self.remove_snapshots_above(i64::MIN)?;
        let fresh = Segment::create(self.dir.as_deref(), offset)?;
        let old = std::mem::replace(&mut self.active, fresh);
        for segment in std::iter::once(old).chain(self.sealed.drain(..).rev()) {
            segment.delete()?;
        }
        self.dir_dirty = true;
        self.first_dirty = offset;
        self.generation += 1;
        self.set_log_start_offset(offset)
    }

    /// DeleteRecords: raises the log start offset to `offset` (at most the log end offset) and
    /// deletes the sealed segments wholly below it. Returns the new log start offset; an
    /// offset at or below the current one changes nothing.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        self.refuse_if_swap_unfinished()?;
        if offset < 0 || offset > self.log_end_offset() {
            return Err(self.out_of_range(offset));
        }
        if offset > self.log_start_offset {
            self.set_log_start_offset(offset)?;
            self.delete_segments_below_start()?;
        }
        Ok(self.log_start_offset)
    }

    /// Sets the log start offset and records it on disk when it changed.
    fn set_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        if offset == self.log_start_offset {
            return Ok(());
        }
        self.log_start_offset = offset;
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        dir::write_log_start_offset(dir, offset)
    }

    /// Forces everything written so far to disk (and the directory, if segments came or went).
    pub fn flush(&mut self) -> Result<(), LogError> {
        for segment in self
            .sealed
            .iter_mut()
            .chain(std::iter::once(&mut self.active))
        {
            segment.flush()?;
        }
        if let (true, Some(dir)) = (self.dir_dirty, &self.dir) {
            dir::sync(dir)?;
        }
        self.dir_dirty = false;
        self.unflushed_messages = 0;
        self.unflushed = false;
        self.last_flush_ms = now_ms();
        Ok(())
    }

    /// Flushes if `flush.ms` has passed since the last flush and something is unflushed; for
    /// a periodic task, since appends alone do not notice time passing on an idle partition.
    /// Returns whether it flushed.
    pub fn flush_if_due(&mut self, now_ms: i64) -> Result<bool, LogError> {
        let due = self.unflushed
            && self
                .config
                .flush_ms
                .is_some_and(|ms| now_ms.saturating_sub(self.last_flush_ms) >= ms);
        if due {
            self.flush()?;
        }
        Ok(due)
    }

    /// Removes the partition's directory and everything in it (topic deletion).
    pub fn delete(self) -> Result<(), LogError> {
        let Log {
            dir,
            sealed,
            active,
            ..
        } = self;
        // Close the files before removing them.
        drop((sealed, active));
        let Some(dir) = dir else {
            return Ok(());
        };
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(LogError::Io {
                action: "remove",
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod cleaner_tests;
#[cfg(test)]
mod tests;
