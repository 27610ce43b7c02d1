//! The two sparse indexes of a segment, held in memory and mirrored in files.
//!
//! ```text
//!  .index      entry = relative offset u32 | position u32        (8 bytes, big-endian)
//!  .timeindex  entry = timestamp i64       | relative offset u32 (12 bytes, big-endian)
//! ```
//!
//! Offsets are relative to the segment's base offset, which is why a segment rolls before a
//! relative offset or a position outgrows `u32`. An offset index entry names the base offset
//! of the batch that starts at its position. A time index entry says "the largest timestamp
//! of the segment up to here is `timestamp`, first reached by the batch at `relative offset`";
//! entries are added only when that timestamp grows, so both columns are sorted and the last
//! entry of a sealed segment is the segment's largest timestamp.
//!
//! The segment is the only writer; these types decide nothing about files, they only keep the
//! entries sorted, look them up and (de)serialise them.

/// Bytes of one offset index entry.
pub(super) const OFFSET_ENTRY_SIZE: usize = 8;
/// Bytes of one time index entry.
pub(super) const TIME_ENTRY_SIZE: usize = 12;

/// The position of a batch within its segment, by its base offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OffsetEntry {
    /// Batch base offset minus the segment's base offset.
    pub(super) relative_offset: u32,
    /// Byte position of the batch in the `.log` file.
    pub(super) position: u32,
}

/// The largest timestamp up to some batch, and the batch that first had it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimeEntry {
    /// Largest batch max timestamp so far.
    pub(super) timestamp: i64,
    /// Base offset (relative) of the batch that has it.
    pub(super) relative_offset: u32,
}

/// Sorted offset index entries: relative offsets and positions both strictly increase.
#[derive(Debug, Clone, Default)]
pub(super) struct OffsetIndex {
    entries: Vec<OffsetEntry>,
}

impl OffsetIndex {
    /// Decodes an `.index` file, checking that it is sorted and points inside a `.log` of
    /// `log_size` bytes; `Err` says why the file cannot be trusted.
    pub(super) fn decode(bytes: &[u8], log_size: u64) -> Result<OffsetIndex, String> {
        if bytes.len() % OFFSET_ENTRY_SIZE != 0 {
            return Err(format!(
                "size {} is not a multiple of {OFFSET_ENTRY_SIZE}",
                bytes.len()
            ));
        }
        let mut index = OffsetIndex {
            entries: Vec::with_capacity(bytes.len() / OFFSET_ENTRY_SIZE),
        };
        for chunk in bytes.chunks_exact(OFFSET_ENTRY_SIZE) {
            let (rel, pos) = chunk.split_at(4);
            let entry = OffsetEntry {
                relative_offset: u32_from(rel),
                position: u32_from(pos),
            };
            if u64::from(entry.position) >= log_size {
                return Err(format!(
                    "entry {entry:?} points past the end of the log ({log_size} bytes)"
                ));
            }
            if !index.can_push(entry) {
                return Err(format!("entry {entry:?} is out of order"));
            }
            index.entries.push(entry);
        }
        Ok(index)
    }

    /// Whether `entry` keeps the index sorted.
    fn can_push(&self, entry: OffsetEntry) -> bool {
        self.entries.last().is_none_or(|last| {
            entry.relative_offset > last.relative_offset && entry.position > last.position
        })
    }

    /// Adds an entry after the others; an entry out of order is ignored (returns false), so a
    /// recovery scan may walk over batches that are already indexed.
    pub(super) fn push(&mut self, entry: OffsetEntry) -> bool {
        let ok = self.can_push(entry);
        if ok {
            self.entries.push(entry);
        }
        ok
    }

    /// The last entry whose relative offset is at most `relative_offset`: where a scan for that
    /// offset starts.
    pub(super) fn floor(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let n = self
            .entries
            .partition_point(|e| e.relative_offset <= relative_offset);
        n.checked_sub(1).and_then(|i| self.entries.get(i)).copied()
    }

    /// The first entry whose relative offset is at least `relative_offset`: a position at or
    /// after the end of every batch before that offset.
    pub(super) fn ceiling(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let n = self
            .entries
            .partition_point(|e| e.relative_offset < relative_offset);
        self.entries.get(n).copied()
    }

    /// The last entry.
    pub(super) fn last(&self) -> Option<OffsetEntry> {
        self.entries.last().copied()
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keeps only the entries for batches before `relative_offset`.
    pub(super) fn truncate_before(&mut self, relative_offset: u32) {
        let n = self
            .entries
            .partition_point(|e| e.relative_offset < relative_offset);
        self.entries.truncate(n);
    }

    /// The file bytes of the entries from number `from` on.
    pub(super) fn encode_from(&self, from: usize) -> Vec<u8> {
        let tail = self.entries.get(from..).unwrap_or_default();
        let mut out = Vec::with_capacity(tail.len() * OFFSET_ENTRY_SIZE);
        for e in tail {
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
            out.extend_from_slice(&e.position.to_be_bytes());
        }
        out
    }
}

/// Sorted time index entries: timestamps strictly increase, relative offsets never decrease.
#[derive(Debug, Clone, Default)]
pub(super) struct TimeIndex {
    entries: Vec<TimeEntry>,
}

impl TimeIndex {
    /// Decodes a `.timeindex` file, checking that it is sorted; `Err` says why the file cannot
    /// be trusted.
    pub(super) fn decode(bytes: &[u8]) -> Result<TimeIndex, String> {
        if bytes.len() % TIME_ENTRY_SIZE != 0 {
            return Err(format!(
                "size {} is not a multiple of {TIME_ENTRY_SIZE}",
                bytes.len()
            ));
        }
        let mut index = TimeIndex {
            entries: Vec::with_capacity(bytes.len() / TIME_ENTRY_SIZE),
        };
        for chunk in bytes.chunks_exact(TIME_ENTRY_SIZE) {
            let (ts, rel) = chunk.split_at(8);
            let entry = TimeEntry {
                timestamp: ts.try_into().map(i64::from_be_bytes).unwrap_or(i64::MIN),
                relative_offset: u32_from(rel),
            };
            if !index.push(entry) {
                return Err(format!("entry {entry:?} is out of order"));
            }
        }
        Ok(index)
    }

    /// Adds an entry if its timestamp is larger than the last one's (and its offset not
    /// smaller); returns whether it was added.
    pub(super) fn push(&mut self, entry: TimeEntry) -> bool {
        let ok = self.entries.last().is_none_or(|last| {
            entry.timestamp > last.timestamp && entry.relative_offset >= last.relative_offset
        });
        if ok {
            self.entries.push(entry);
        }
        ok
    }

    /// The last entry with a timestamp below `timestamp`: every batch up to its offset is older
    /// than `timestamp`, so a search for it may start there.
    pub(super) fn below(&self, timestamp: i64) -> Option<TimeEntry> {
        let n = self.entries.partition_point(|e| e.timestamp < timestamp);
        n.checked_sub(1).and_then(|i| self.entries.get(i)).copied()
    }

    /// The last entry.
    pub(super) fn last(&self) -> Option<TimeEntry> {
        self.entries.last().copied()
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keeps only the entries whose relative offset is at most `relative_offset`.
    pub(super) fn truncate_after(&mut self, relative_offset: u32) {
        let n = self
            .entries
            .partition_point(|e| e.relative_offset <= relative_offset);
        self.entries.truncate(n);
    }

    /// Removes every entry.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The file bytes of the entries from number `from` on.
    pub(super) fn encode_from(&self, from: usize) -> Vec<u8> {
        let tail = self.entries.get(from..).unwrap_or_default();
        let mut out = Vec::with_capacity(tail.len() * TIME_ENTRY_SIZE);
        for e in tail {
            out.extend_from_slice(&e.timestamp.to_be_bytes());
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
        }
        out
    }
}

/// A big-endian u32 from a 4-byte chunk (the callers split exact chunks).
fn u32_from(bytes: &[u8]) -> u32 {
    bytes.try_into().map(u32::from_be_bytes).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_index(entries: &[(u32, u32)]) -> OffsetIndex {
        let mut index = OffsetIndex::default();
        for &(relative_offset, position) in entries {
            assert!(index.push(OffsetEntry {
                relative_offset,
                position
            }));
        }
        index
    }

    #[test]
    fn offset_index_lookups() {
        let index = offset_index(&[(10, 4_000), (20, 8_100), (35, 12_300)]);
        assert_eq!(index.floor(9), None);
        assert_eq!(index.floor(10).map(|e| e.position), Some(4_000));
        assert_eq!(index.floor(34).map(|e| e.position), Some(8_100));
        assert_eq!(index.floor(1_000).map(|e| e.position), Some(12_300));
        assert_eq!(index.ceiling(0).map(|e| e.position), Some(4_000));
        assert_eq!(index.ceiling(11).map(|e| e.position), Some(8_100));
        assert_eq!(index.ceiling(36), None);
    }

    #[test]
    fn offset_index_round_trip_and_checks() {
        let index = offset_index(&[(10, 4_000), (20, 8_100)]);
        let bytes = index.encode_from(0);
        assert_eq!(bytes.len(), 2 * OFFSET_ENTRY_SIZE);
        let decoded = OffsetIndex::decode(&bytes, 10_000).unwrap();
        assert_eq!(decoded.last(), index.last());
        assert_eq!(index.encode_from(1), bytes[OFFSET_ENTRY_SIZE..]);
        // Pointing past the log, cut short, out of order.
        assert!(OffsetIndex::decode(&bytes, 8_100).is_err());
        assert!(OffsetIndex::decode(&bytes[..12], 10_000).is_err());
        let mut swapped = index.encode_from(1);
        swapped.extend(index.encode_from(0).get(..OFFSET_ENTRY_SIZE).unwrap());
        assert!(OffsetIndex::decode(&swapped, 10_000).is_err());
        let mut index = index;
        assert!(!index.push(OffsetEntry {
            relative_offset: 20,
            position: 9_000
        }));
        index.truncate_before(20);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn time_index_lookups_and_checks() {
        let mut index = TimeIndex::default();
        for (timestamp, relative_offset) in [(100, 0), (250, 7), (300, 9)] {
            assert!(index.push(TimeEntry {
                timestamp,
                relative_offset
            }));
        }
        // Not larger than the last timestamp: ignored.
        assert!(!index.push(TimeEntry {
            timestamp: 300,
            relative_offset: 12
        }));
        assert_eq!(index.below(100), None);
        assert_eq!(index.below(101).map(|e| e.relative_offset), Some(0));
        assert_eq!(index.below(300).map(|e| e.relative_offset), Some(7));
        let decoded = TimeIndex::decode(&index.encode_from(0)).unwrap();
        assert_eq!(decoded.last(), index.last());
        assert!(TimeIndex::decode(&index.encode_from(0)[..20]).is_err());
        index.truncate_after(7);
        assert_eq!(index.len(), 2);
        index.clear();
        assert_eq!(index.last(), None);
    }
}
