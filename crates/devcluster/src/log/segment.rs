//! One segment of a partition log: a `.log` of whole batches, its two sparse indexes, and
//! what the log needs to know about it without reading it (offsets, size, timestamps).
//!
//! The same code serves both storages: [`Store`] is the only place that knows whether the
//! bytes are in a file or in a `Vec`, so a test against memory exercises every decision that a
//! disk-backed log makes, recovery aside.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use streamctl_protocol::record_batch::RecordBatch;

use super::batch::{self, BatchHeader, HEADER_SIZE};
use super::dir::file_name;
use super::index::{
    OffsetEntry, OffsetIndex, TimeEntry, TimeIndex, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE,
};
use super::store::{io_error, remove_file, Files, Source, Store, Window};
use super::txn_index::{AbortedTxn, TxnIndex};
use super::{now_ms, LogConfig, LogError};

mod recovery;

/// Cap on decompressing one batch to find the exact record for a timestamp lookup. Past it
/// the lookup answers with the batch's first offset, which is still a correct place to seek.
const MAX_DECOMPRESSED_FOR_LOOKUP: usize = 64 << 20;

/// One segment. Offsets in it run from `base_offset` to `next_offset - 1` without gaps, and its
/// `.log` holds exactly `size` bytes of whole batches.
#[derive(Debug)]
pub(super) struct Segment {
    /// Offset of the first batch; also the file name.
    base_offset: i64,
    /// Offset after the last batch (`base_offset` when empty).
    next_offset: i64,
    /// Bytes of whole batches in the `.log`.
    size: u64,
    /// The `.log` path (a `memory:` name for memory segments), for errors and warnings.
    log_path: PathBuf,
    store: Store,
    index: OffsetIndex,
    time_index: TimeIndex,
    /// The transactions aborted by markers in this segment.
    txn_index: TxnIndex,
    /// Whether `txn_index` was found sound at open (always, for a created segment).
    txn_index_trusted: bool,
    /// Index entries already written to the files; the rest are written on the next append.
    index_persisted: usize,
    time_index_persisted: usize,
    /// Largest batch max timestamp and the base offset of the first batch that has it.
    max_timestamp: Option<(i64, i64)>,
    /// Max timestamp of the first batch: `segment.ms` counts from it, as Kafka does, so that a
    /// segment's age follows record time rather than wall-clock time.
    rolling_timestamp: Option<i64>,
    /// Wall-clock time the segment object was made, for `segment.ms` without timestamps.
    created_ms: i64,
    /// Wall-clock time of the last write (the file's mtime at open), for time retention of
    /// batches without timestamps.
    last_modified_ms: i64,
    /// Bytes appended since the last offset index entry.
    bytes_since_last_index: u64,
    /// Written since the last fsync.
    dirty: bool,
}

impl Segment {
    /// Creates an empty segment at `base_offset`, in memory when `dir` is `None`.
    pub(super) fn create(dir: Option<&Path>, base_offset: i64) -> Result<Segment, LogError> {
        let txn_index =
            TxnIndex::create(dir.map(|dir| dir.join(file_name(base_offset, "txnindex"))))?;
        let (log_path, store) = match dir {
            None => (
                PathBuf::from(format!("memory:{}", file_name(base_offset, "log"))),
                Store::Memory(Vec::new()),
            ),
            Some(dir) => {
                let log_path = dir.join(file_name(base_offset, "log"));
                let index_path = dir.join(file_name(base_offset, "index"));
                let time_index_path = dir.join(file_name(base_offset, "timeindex"));
                let create = |path: &Path| {
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(path)
                        .map_err(io_error("create", path))
                };
                let files = Files {
                    log: create(&log_path)?,
                    index: create(&index_path)?,
                    time_index: create(&time_index_path)?,
                    index_path,
                    time_index_path,
                };
                (log_path, Store::Disk(files))
            }
        };
        let now = now_ms();
        Ok(Segment {
            base_offset,
            next_offset: base_offset,
            size: 0,
            log_path,
            store,
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            txn_index,
            txn_index_trusted: true,
            index_persisted: 0,
            time_index_persisted: 0,
            max_timestamp: None,
            rolling_timestamp: None,
            created_ms: now,
            last_modified_ms: now,
            bytes_since_last_index: 0,
            dirty: true,
        })
    }

    /// Opens the segment at `base_offset` in `dir` and recovers it: an `active` segment is
    /// checked batch by batch and its indexes rebuilt; an older one keeps its indexes if they
    /// look sound and only the batches after the last index entry are checked.
    pub(super) fn open(
        dir: &Path,
        base_offset: i64,
        active: bool,
        index_interval_bytes: usize,
    ) -> Result<Segment, LogError> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let index_path = dir.join(file_name(base_offset, "index"));
        let time_index_path = dir.join(file_name(base_offset, "timeindex"));
        let open = |path: &Path, create: bool| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(path)
                .map_err(io_error("open", path))
        };
        // A missing index is created empty below, which must not pass for a sound one.
        let indexes_exist = index_path.exists() && time_index_path.exists();
        let log = open(&log_path, false)?;
        let metadata = log.metadata().map_err(io_error("stat", &log_path))?;
        let last_modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .unwrap_or_else(now_ms);
        let files = Files {
            log,
            index: open(&index_path, true)?,
            time_index: open(&time_index_path, true)?,
            index_path,
            time_index_path,
        };
        let mut segment = Segment {
            base_offset,
            next_offset: base_offset,
            size: metadata.len(),
            log_path,
            store: Store::Disk(files),
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            txn_index: TxnIndex::default(),
            txn_index_trusted: false,
            index_persisted: 0,
            time_index_persisted: 0,
            max_timestamp: None,
            rolling_timestamp: None,
            created_ms: now_ms(),
            last_modified_ms,
            bytes_since_last_index: 0,
            dirty: false,
        };
        let loaded = if indexes_exist {
            segment.load_indexes()
        } else {
            Err("an index file is missing".to_owned())
        };
        let full = active
            || match loaded {
                Ok(()) => false,
                Err(reason) => {
                    tracing::warn!(
                        path = %segment.log_path.display(),
                        reason,
                        "rebuilding the indexes of a segment"
                    );
                    true
                }
            };
        segment.recover(index_interval_bytes, full)?;
        (segment.txn_index, segment.txn_index_trusted) = TxnIndex::open(
            dir.join(file_name(base_offset, "txnindex")),
            base_offset,
            segment.next_offset,
        )?;
        if !active {
            segment.seal();
        }
        Ok(segment)
    }

    pub(super) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub(super) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// The transactions aborted by markers in this segment, in marker order.
    pub(super) fn aborted(&self) -> &[AbortedTxn] {
        self.txn_index.entries()
    }

    /// Whether [`aborted`](Self::aborted) can be trusted: false for a segment opened without a
    /// sound `.txnindex`, until the partition rebuilds it.
    pub(super) fn aborted_trusted(&self) -> bool {
        self.txn_index_trusted
    }

    /// Forces the aborted-transaction index to disk if it changed since the last time.
    pub(super) fn flush_aborted(&mut self) -> Result<(), LogError> {
        self.txn_index.flush()
    }

    /// Records a transaction aborted by a marker in this segment (after every one recorded).
    pub(super) fn push_aborted(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        self.txn_index.push(txn)
    }

    /// Forgets the aborted transactions whose marker is at or after `offset`, for the
    /// partition to record them again; `rebuilt`: that makes the whole index trusted again.
    pub(super) fn forget_aborted_from(
        &mut self,
        offset: i64,
        rebuilt: bool,
    ) -> Result<(), LogError> {
        self.txn_index_trusted |= rebuilt;
        self.txn_index.truncate_from(offset)
    }

    pub(super) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Largest batch max timestamp and the base offset of the batch that has it.
    pub(super) fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.max_timestamp
    }

    /// The first batch's largest timestamp (Kafka's `getFirstBatchTimestampForSegments`),
    /// for `max.compaction.lag.ms`; `None` for an empty segment.
    pub(super) fn first_batch_timestamp(&self) -> Option<i64> {
        if self.size == 0 {
            return None;
        }
        self.rolling_timestamp
            .or_else(|| self.header_at(0).ok().map(|h| h.max_timestamp))
    }

    /// A copy of the segment's bytes that can be read without the log: the bytes themselves
    /// in memory, a second handle on the same file on disk (sealed segments never change, and
    /// the handle keeps the old file readable even after a swap renames over it).
    pub(super) fn source(&self) -> Result<Source, LogError> {
        self.store.source(&self.log_path)
    }

    /// The time retention compares with: the largest timestamp, or the last write time when
    /// the batches carry none (Kafka's `largestTimestamp`).
    pub(super) fn retention_timestamp(&self) -> i64 {
        match self.max_timestamp {
            Some((ts, _)) if ts >= 0 => ts,
            _ => self.last_modified_ms,
        }
    }

    /// Whether the batch `h` must go to a new segment, given `run_bytes` more bytes (starting
    /// with a batch of max timestamp `run_first_timestamp`) about to be appended before it.
    pub(super) fn should_roll(
        &self,
        run_bytes: u64,
        run_first_timestamp: Option<i64>,
        h: &BatchHeader,
        config: &LogConfig,
        now_ms: i64,
    ) -> bool {
        let size = self.size.saturating_add(run_bytes);
        if size == 0 {
            // An empty segment takes any batch: there is nowhere better to put it.
            return false;
        }
        if !self.fits(h, size) || size.saturating_add(h.size as u64) > config.segment_bytes {
            return true;
        }
        config.segment_ms.is_some_and(|segment_ms| {
            let waited = match self.rolling_timestamp.or(run_first_timestamp) {
                Some(first) if first >= 0 => h.max_timestamp.saturating_sub(first),
                _ => now_ms.saturating_sub(self.created_ms),
            };
            waited > segment_ms
        })
    }

    /// Appends `data`, the whole batches described by `headers` (checked, contiguous from
    /// `next_offset`, and fitting this segment).
    pub(super) fn append(
        &mut self,
        data: &[u8],
        headers: &[BatchHeader],
        index_interval_bytes: usize,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let start = self.size;
        if let Err(error) = self.store.write_at(start, data, &self.log_path) {
            // A partial write would leave bytes the log does not account for; recovery would
            // drop them anyway, but reads before that must not see them.
            if let Err(cut) = self.store.set_len(start, &self.log_path) {
                tracing::warn!(error = %cut, "cannot cut a partial write");
            }
            return Err(error);
        }
        let mut pos = start;
        for h in headers {
            self.apply_batch(h, pos, index_interval_bytes);
            pos += h.size as u64;
        }
        self.size = pos;
        self.last_modified_ms = now_ms;
        self.dirty = true;
        self.persist_indexes();
        Ok(())
    }

    /// Called when the segment stops being the active one: records its largest timestamp as the
    /// last time index entry, so that a reopen knows it without scanning.
    pub(super) fn seal(&mut self) {
        if let Some((timestamp, offset)) = self.max_timestamp {
            self.time_index.push(TimeEntry {
                timestamp,
                relative_offset: u32::try_from(offset - self.base_offset).unwrap_or(u32::MAX),
            });
        }
        self.persist_indexes();
    }

    /// Reads the header of the batch at `pos`, which must lie wholly inside the segment.
    fn header_at(&self, pos: u64) -> Result<BatchHeader, LogError> {
        let corrupt = |reason: String| LogError::Corrupt {
            path: self.log_path.clone(),
            position: pos,
            reason,
        };
        if pos.saturating_add(HEADER_SIZE as u64) > self.size {
            return Err(corrupt(
                "batch header runs past the end of the segment".into(),
            ));
        }
        let mut buf = [0u8; HEADER_SIZE];
        self.store.read_exact_at(pos, &mut buf, &self.log_path)?;
        let h = batch::parse_header(&buf).map_err(|fault| corrupt(fault.to_string()))?;
        if pos.saturating_add(h.size as u64) > self.size {
            return Err(corrupt(format!(
                "batch of {} bytes runs past the end of the segment",
                h.size
            )));
        }
        Ok(h)
    }

    /// Position of the batch that contains `offset` (or the first one after it), `None` if the
    /// segment ends before `offset`. Scans headers from the nearest index entry, so at most
    /// about `index.interval.bytes` of them.
    pub(super) fn position_of(&self, offset: i64) -> Result<Option<u64>, LogError> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let relative =
            u32::try_from(offset.saturating_sub(self.base_offset).max(0)).unwrap_or(u32::MAX);
        let mut pos = self
            .index
            .floor(relative)
            .map_or(0, |e| u64::from(e.position));
        while pos < self.size {
            let h = self.header_at(pos)?;
            if h.last_offset >= offset {
                return Ok(Some(pos));
            }
            pos += h.size as u64;
        }
        Ok(None)
    }

    /// Whether a batch of this segment holds `offset` (false in a gap compaction left).
    pub(super) fn holds(&self, offset: i64) -> Result<bool, LogError> {
        match self.position_of(offset)? {
            Some(pos) => Ok(self.header_at(pos)?.base_offset <= offset),
            None => Ok(false),
        }
    }

    /// A position no visible batch ends after: batches from there on start at or after
    /// `upper_bound`.
    fn position_limit(&self, upper_bound: i64) -> u64 {
        if upper_bound >= self.next_offset {
            return self.size;
        }
        match upper_bound.checked_sub(self.base_offset) {
            Some(relative) if relative > 0 => {
                let relative = u32::try_from(relative).unwrap_or(u32::MAX);
                self.index
                    .ceiling(relative)
                    .map_or(self.size, |e| u64::from(e.position))
            }
            _ => 0,
        }
    }

    /// Appends to `out` the whole batches from `start` (a batch position) whose last offset is
    /// below `upper_bound`, while `out` stays within `max_bytes` — except that with `min_one`
    /// an empty `out` takes the first batch whatever its size. Returns whether the read may go
    /// on into the next segment (it reached this one's end without hitting a limit).
    ///
    /// The bytes are read with one call and cut at the last whole batch, rather than batch
    /// by batch: the common fetch reads many small batches.
    pub(super) fn read_batches(
        &self,
        start: u64,
        upper_bound: i64,
        max_bytes: usize,
        min_one: bool,
        out: &mut Vec<u8>,
    ) -> Result<bool, LogError> {
        if start >= self.size {
            return Ok(true);
        }
        let limit = self.position_limit(upper_bound).min(self.size);
        if start >= limit {
            return Ok(false);
        }
        let avail = limit - start;
        let budget = max_bytes.saturating_sub(out.len()) as u64;
        let mut want = avail.min(budget);
        if min_one && out.is_empty() {
            want = want.max(self.header_at(start)?.size as u64).min(avail);
        }
        let want = usize::try_from(want).unwrap_or(usize::MAX);
        if want == 0 {
            return Ok(false);
        }
        let old_len = out.len();
        out.resize(old_len.saturating_add(want), 0);
        self.store.read_exact_at(
            start,
            out.get_mut(old_len..).unwrap_or_default(),
            &self.log_path,
        )?;
        let mut cut = 0usize;
        let mut stopped = false;
        loop {
            let rest = out.get(old_len.saturating_add(cut)..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            if rest.len() < HEADER_SIZE {
                stopped = true;
                break;
            }
            let h = batch::parse_header(rest).map_err(|fault| LogError::Corrupt {
                path: self.log_path.clone(),
                position: start + cut as u64,
                reason: fault.to_string(),
            })?;
            if h.last_offset >= upper_bound || h.size > rest.len() {
                stopped = true;
                break;
            }
            cut += h.size;
        }
        out.truncate(old_len + cut);
        Ok(!stopped && start + cut as u64 == self.size)
    }

    /// The first record at or after `min_offset` with a timestamp at or after `timestamp`, as
    /// `(offset, timestamp)`.
    pub(super) fn find_timestamp(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<(i64, i64)>, LogError> {
        if self.max_timestamp.is_none_or(|(max, _)| max < timestamp) {
            return Ok(None);
        }
        // Every batch up to the entry's is older than `timestamp`, so the search starts there.
        let from = self
            .time_index
            .below(timestamp)
            .map_or(self.base_offset, |e| {
                self.base_offset + i64::from(e.relative_offset)
            })
            .max(min_offset);
        let Some(mut pos) = self.position_of(from)? else {
            return Ok(None);
        };
        while pos < self.size {
            let h = self.header_at(pos)?;
            if h.max_timestamp >= timestamp && h.last_offset >= min_offset {
                return self
                    .record_at_timestamp(pos, &h, timestamp, min_offset)
                    .map(Some);
            }
            pos += h.size as u64;
        }
        Ok(None)
    }

    /// The exact record of a batch that answers a timestamp lookup. Kafka answers with the
    /// record, not the batch, so the batch is decoded; if it cannot be (its CRC passed, so it
    /// is the producer's encoding), its first offset is still a correct place to seek.
    fn record_at_timestamp(
        &self,
        pos: u64,
        h: &BatchHeader,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<(i64, i64), LogError> {
        let fallback = (h.base_offset.max(min_offset), h.max_timestamp);
        let mut buf = vec![0; h.size];
        self.store.read_exact_at(pos, &mut buf, &self.log_path)?;
        let Ok(records) = RecordBatch::from_bytes(Bytes::from(buf))
            .and_then(|batch| batch.records(MAX_DECOMPRESSED_FOR_LOOKUP))
        else {
            return Ok(fallback);
        };
        for record in records {
            match record {
                Ok(r) if r.timestamp >= timestamp && r.offset >= min_offset => {
                    return Ok((r.offset, r.timestamp));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(fallback)
    }

    /// Drops the batch that contains `offset` and everything after it.
    pub(super) fn truncate_to(
        &mut self,
        offset: i64,
        index_interval_bytes: usize,
    ) -> Result<(), LogError> {
        let Some(pos) = self.position_of(offset)? else {
            return Ok(());
        };
        let h = self.header_at(pos)?;
        self.store.set_len(pos, &self.log_path)?;
        self.size = pos;
        self.dirty = true;
        self.last_modified_ms = now_ms();
        match u32::try_from(h.base_offset - self.base_offset) {
            Ok(relative) if relative > 0 => {
                self.index.truncate_before(relative);
                self.time_index.truncate_after(relative - 1);
            }
            _ => {
                self.index = OffsetIndex::default();
                self.time_index.clear();
            }
        }
        self.cut_index_files(self.index.len(), self.time_index.len())?;
        // Offsets, timestamps and the bytes since the last entry are recomputed from the
        // (now shorter) tail.
        self.recover(index_interval_bytes, false)?;
        self.txn_index.truncate_from(self.next_offset)
    }

    /// Forces the segment's files to disk if it was written since the last time.
    pub(super) fn flush(&mut self) -> Result<(), LogError> {
        if let (true, Store::Disk(files)) = (self.dirty, &self.store) {
            files
                .log
                .sync_data()
                .map_err(io_error("sync", &self.log_path))?;
            files
                .index
                .sync_data()
                .map_err(io_error("sync", &files.index_path))?;
            files
                .time_index
                .sync_data()
                .map_err(io_error("sync", &files.time_index_path))?;
        }
        self.txn_index.flush()?;
        self.dirty = false;
        Ok(())
    }

    /// Deletes the segment's files. The `.log` goes first: an index left without it is removed
    /// at the next open, while a `.log` without an index would just be reindexed.
    pub(super) fn delete(self) -> Result<(), LogError> {
        let Store::Disk(files) = self.store else {
            return Ok(());
        };
        let txn_index = self.txn_index;
        let Files {
            log,
            index,
            time_index,
            index_path,
            time_index_path,
        } = files;
        drop((log, index, time_index));
        // A swap that a failed cleaning committed but did not finish must not bring this
        // segment back at the next open: its `.log.swap` goes first.
        for suffix in ["log", "index", "timeindex", "txnindex"] {
            let swap = self.log_path.with_extension(format!("{suffix}.swap"));
            if swap.exists() {
                remove_file(&swap)?;
            }
        }
        remove_file(&self.log_path)?;
        for path in [index_path, time_index_path] {
            if let Err(error) = remove_file(&path) {
                tracing::warn!(%error, "cannot remove an index file");
            }
        }
        if let Err(error) = txn_index.delete() {
            tracing::warn!(%error, "cannot remove an index file");
        }
        Ok(())
    }
}
