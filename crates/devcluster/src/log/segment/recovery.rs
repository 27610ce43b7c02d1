//! Opening a segment that is on disk: reading its two indexes, checking its tail batch by batch
//! (CRC included) and cutting it at the first batch that is not whole, rebuilding the indexes
//! when they cannot be trusted; and writing new index entries back to their files.

use super::*;

impl Segment {
    /// Reads both index files; `Err` says why they cannot be trusted.
    pub(super) fn load_indexes(&mut self) -> Result<(), String> {
        let Store::Disk(files) = &self.store else {
            return Ok(());
        };
        // An index has at most one entry per batch (plus the time index's final entry), and a
        // batch is at least a header: anything longer is garbage, and is not read into memory.
        let max_batches = self.size / HEADER_SIZE as u64 + 2;
        let read = |file: &File, entry_size: usize, path: &Path| -> Result<Vec<u8>, String> {
            let len = file
                .metadata()
                .map_err(|e| format!("cannot stat {}: {e}", path.display()))?
                .len();
            if len > max_batches.saturating_mul(entry_size as u64) {
                return Err(format!(
                    "{} is {len} bytes, too long for the segment",
                    path.display()
                ));
            }
            let mut buf = vec![0; usize::try_from(len).map_err(|e| e.to_string())?];
            file.read_exact_at(&mut buf, 0)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(buf)
        };
        let index = read(&files.index, OFFSET_ENTRY_SIZE, &files.index_path)?;
        let time_index = read(&files.time_index, TIME_ENTRY_SIZE, &files.time_index_path)?;
        self.index = OffsetIndex::decode(&index, self.size)
            .map_err(|e| format!("{}: {e}", files.index_path.display()))?;
        self.time_index = TimeIndex::decode(&time_index)
            .map_err(|e| format!("{}: {e}", files.time_index_path.display()))?;
        self.index_persisted = self.index.len();
        self.time_index_persisted = self.time_index.len();
        // Both get their first entry together; without the time entries the segment's largest
        // timestamp would be guessed from its tail alone.
        if self.index.last().is_some() && self.time_index.last().is_none() {
            return Err(format!(
                "{} is empty while the offset index is not",
                files.time_index_path.display()
            ));
        }
        Ok(())
    }

    /// Recomputes what the segment knows about its tail by checking its batches (CRC included)
    /// from the last offset index entry on, or from the start when `full` (which also rebuilds
    /// both indexes); cuts the segment at the first batch that is not whole.
    pub(super) fn recover(
        &mut self,
        index_interval_bytes: usize,
        mut full: bool,
    ) -> Result<(), LogError> {
        loop {
            let (start, expected) = match self.index.last() {
                Some(entry) if !full => {
                    // Time index entries after the last offset index entry were the final
                    // entry of a sealed segment (or belong to truncated batches): the scan
                    // recomputes them.
                    self.time_index.truncate_after(entry.relative_offset);
                    self.max_timestamp = self
                        .time_index
                        .last()
                        .map(|t| (t.timestamp, self.base_offset + i64::from(t.relative_offset)));
                    // Only `segment.ms` uses it, once this segment is active again after a
                    // truncation; a first header that cannot be read means rolling by
                    // wall-clock time instead, not a failed open.
                    self.rolling_timestamp = self.header_at(0).ok().map(|h| h.max_timestamp);
                    (
                        u64::from(entry.position),
                        self.base_offset + i64::from(entry.relative_offset),
                    )
                }
                _ => {
                    full = true;
                    self.index = OffsetIndex::default();
                    self.time_index.clear();
                    self.max_timestamp = None;
                    self.rolling_timestamp = None;
                    (0, self.base_offset)
                }
            };
            self.next_offset = expected;
            self.bytes_since_last_index = 0;
            let (end, fault) = self.scan(start, expected, index_interval_bytes)?;
            if let Some(reason) = fault {
                if !full && end == start {
                    // The index points at something that is not the batch it names: the
                    // index is what is wrong, not the data.
                    tracing::warn!(
                        path = %self.log_path.display(),
                        position = start,
                        reason,
                        "offset index points at a bad batch, rebuilding it"
                    );
                    full = true;
                    continue;
                }
                tracing::warn!(
                    path = %self.log_path.display(),
                    position = end,
                    truncated_bytes = self.size - end,
                    reason,
                    "truncated torn tail"
                );
                self.store.set_len(end, &self.log_path)?;
                self.size = end;
                self.dirty = true;
            }
            break;
        }
        if full {
            // The files hold the old entries: rewrite them whole.
            self.cut_index_files(0, 0)?;
        } else {
            self.cut_index_files(self.index.len(), self.time_index.len())?;
        }
        self.persist_indexes();
        Ok(())
    }

    /// Checks the batches from `start`, whose base offset must be `expected`, to the end,
    /// indexing each as an append would. Returns where the whole batches end and, if that is
    /// before the end of the segment, why.
    pub(super) fn scan(
        &mut self,
        start: u64,
        mut expected: i64,
        index_interval_bytes: usize,
    ) -> Result<(u64, Option<String>), LogError> {
        let mut window = Window::default();
        let mut pos = start;
        while pos < self.size {
            let checked = {
                let head = window.read(&self.store, &self.log_path, self.size, pos, HEADER_SIZE)?;
                match batch::parse_header(head) {
                    Err(fault) => Err(fault.to_string()),
                    // Checked before reading it, so that a garbage length in a torn tail does
                    // not pull the rest of the segment into memory.
                    Ok(h) if pos.saturating_add(h.size as u64) > self.size => Err(format!(
                        "batch of {} bytes runs past the end of the segment",
                        h.size
                    )),
                    Ok(h) => {
                        let whole =
                            window.read(&self.store, &self.log_path, self.size, pos, h.size)?;
                        batch::check_batch(whole).map_err(|fault| fault.to_string())
                    }
                }
            };
            let h = match checked {
                // A batch may start past the previous one's end: log compaction leaves
                // gaps. One that starts before it overlaps it, which no write makes.
                Ok(h) if h.base_offset < expected => Err(format!(
                    "batch base offset {} where at least {expected} was expected",
                    h.base_offset
                )),
                Ok(h) if !self.fits(&h, pos) => Err(format!(
                    "batch at offset {} does not fit the segment's u32 index",
                    h.base_offset
                )),
                other => other,
            };
            match h {
                Ok(h) => {
                    self.apply_batch(&h, pos, index_interval_bytes);
                    pos += h.size as u64;
                    expected = h.next_offset();
                }
                Err(reason) => return Ok((pos, Some(reason))),
            }
        }
        Ok((pos, None))
    }

    /// Whether a batch at `pos` can be indexed: relative offsets and positions are u32.
    pub(super) fn fits(&self, h: &BatchHeader, pos: u64) -> bool {
        let end = pos.saturating_add(h.size as u64);
        h.base_offset >= self.base_offset
            && h.last_offset - self.base_offset <= i64::from(u32::MAX)
            && end <= u64::from(u32::MAX)
    }

    /// Accounts for a batch written at `pos` (checked to [`fit`](Self::fits)): offsets,
    /// timestamps and index entries. Does not change `size`.
    pub(super) fn apply_batch(&mut self, h: &BatchHeader, pos: u64, index_interval_bytes: usize) {
        let relative = |offset: i64| u32::try_from(offset - self.base_offset).unwrap_or(u32::MAX);
        if self
            .max_timestamp
            .is_none_or(|(max, _)| h.max_timestamp > max)
        {
            self.max_timestamp = Some((h.max_timestamp, h.base_offset));
        }
        if pos == 0 {
            self.rolling_timestamp = Some(h.max_timestamp);
        }
        if self.bytes_since_last_index >= index_interval_bytes as u64 {
            // Out-of-order pushes are ignored: a recovery scan walks over the batch of the
            // last entry again.
            self.index.push(OffsetEntry {
                relative_offset: relative(h.base_offset),
                position: u32::try_from(pos).unwrap_or(u32::MAX),
            });
            if let Some((timestamp, offset)) = self.max_timestamp {
                self.time_index.push(TimeEntry {
                    timestamp,
                    relative_offset: relative(offset),
                });
            }
            self.bytes_since_last_index = 0;
        }
        self.bytes_since_last_index = self.bytes_since_last_index.saturating_add(h.size as u64);
        self.next_offset = h.next_offset();
    }

    /// Cuts the index files to their first `keep_index` and `keep_time` entries (after a
    /// truncation, or to 0 before a rebuild rewrites them). Unlike appending entries this must
    /// not fail quietly: a stale entry left in a file could point into other batches later.
    pub(super) fn cut_index_files(
        &mut self,
        keep_index: usize,
        keep_time: usize,
    ) -> Result<(), LogError> {
        let Store::Disk(files) = &self.store else {
            return Ok(());
        };
        // Never longer than what was written: entries not yet in the file are appended by
        // `persist_indexes`, and a hole of zeros would make the file look corrupt.
        let keep_index = keep_index.min(self.index_persisted);
        let keep_time = keep_time.min(self.time_index_persisted);
        files
            .index
            .set_len((keep_index * OFFSET_ENTRY_SIZE) as u64)
            .map_err(io_error("truncate", &files.index_path))?;
        files
            .time_index
            .set_len((keep_time * TIME_ENTRY_SIZE) as u64)
            .map_err(io_error("truncate", &files.time_index_path))?;
        self.index_persisted = keep_index;
        self.time_index_persisted = keep_time;
        Ok(())
    }

    /// Writes the index entries that are not in the files yet. A failure is only a warning:
    /// the in-memory index stays complete, the entries are retried on the next append, and a
    /// sparser or cut index on disk is rebuilt or simply scanned further at the next open.
    pub(super) fn persist_indexes(&mut self) {
        let Store::Disk(files) = &self.store else {
            self.index_persisted = self.index.len();
            self.time_index_persisted = self.time_index.len();
            return;
        };
        if self.index_persisted < self.index.len() {
            let bytes = self.index.encode_from(self.index_persisted);
            let at = (self.index_persisted * OFFSET_ENTRY_SIZE) as u64;
            match files.index.write_all_at(&bytes, at) {
                Ok(()) => self.index_persisted = self.index.len(),
                Err(error) => tracing::warn!(
                    path = %files.index_path.display(),
                    %error,
                    "cannot write offset index entries"
                ),
            }
        }
        if self.time_index_persisted < self.time_index.len() {
            let bytes = self.time_index.encode_from(self.time_index_persisted);
            let at = (self.time_index_persisted * TIME_ENTRY_SIZE) as u64;
            match files.time_index.write_all_at(&bytes, at) {
                Ok(()) => self.time_index_persisted = self.time_index.len(),
                Err(error) => tracing::warn!(
                    path = %files.time_index_path.display(),
                    %error,
                    "cannot write time index entries"
                ),
            }
        }
    }
}
