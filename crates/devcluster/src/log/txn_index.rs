//! A segment's aborted-transaction index: Kafka's `.txnindex`, one entry per transaction whose
//! ABORT marker lies in the segment, in marker order.
//!
//! ```text
//!  entry = version i16 (0) | producer id i64 | first offset i64 | last offset i64
//!          | last stable offset i64                                (34 bytes, big-endian)
//! ```
//!
//! A read_committed fetch lists the aborted transactions that overlap what it returns, so
//! that the client can skip their batches; the entries live with the segment holding the
//! marker, and go when retention deletes it. Entries are written by the partition as it
//! learns each marker (leader and follower alike), to the page cache like the batches, and
//! fsynced with the segment.
//!
//! Every segment has the file, empty when nothing was aborted in it, so that a missing file
//! means "never written" (a log from before this index, or a lost file), which recovery
//! cannot tell from "nothing aborted" otherwise.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::store::{io_error, remove_file};
use super::LogError;

/// Bytes of one entry.
pub(super) const ENTRY_SIZE: usize = 34;
/// The only entry version Kafka defines.
const VERSION: i16 = 0;

/// A transaction aborted on this partition (Kafka's `AbortedTxn`, one `.txnindex` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer that ran it.
    pub producer_id: i64,
    /// The offset of its first batch here.
    pub first_offset: i64,
    /// The offset of its ABORT marker.
    pub last_offset: i64,
    /// The last stable offset once it ended: the first offset of the earliest transaction
    /// of another producer still open then, else the marker's offset + 1. A fetch collecting
    /// entries may stop at one whose value is beyond what it returns.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_SIZE);
        out.extend_from_slice(&VERSION.to_be_bytes());
        for value in [
            self.producer_id,
            self.first_offset,
            self.last_offset,
            self.last_stable_offset,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out
    }

    fn decode(entry: &[u8]) -> Option<AbortedTxn> {
        let version = i16::from_be_bytes(entry.get(..2)?.try_into().ok()?);
        if version != VERSION {
            return None;
        }
        let mut fields = entry
            .get(2..ENTRY_SIZE)?
            .chunks_exact(8)
            .map(|c| c.try_into().ok().map(i64::from_be_bytes));
        Some(AbortedTxn {
            producer_id: fields.next()??,
            first_offset: fields.next()??,
            last_offset: fields.next()??,
            last_stable_offset: fields.next()??,
        })
    }
}

/// The entries of one segment, mirrored in its `.txnindex` file when on disk.
#[derive(Debug, Default)]
pub(super) struct TxnIndex {
    entries: Vec<AbortedTxn>,
    file: Option<(File, PathBuf)>,
    /// Written since the last fsync.
    dirty: bool,
}

impl TxnIndex {
    /// An empty index, in memory when `path` is `None`, else in a new (emptied) file.
    pub(super) fn create(path: Option<PathBuf>) -> Result<TxnIndex, LogError> {
        let file = match path {
            None => None,
            Some(path) => Some((open(&path, true)?, path)),
        };
        Ok(TxnIndex {
            entries: Vec::new(),
            file,
            dirty: true,
        })
    }

    /// Opens the index of the segment holding offsets `[base_offset, next_offset)`, and says
    /// whether it can be trusted: the file exists, is whole entries of a known version, and
    /// every marker lies in the segment, in order. Entries past `next_offset` (the segment
    /// was cut at a torn write) are dropped as the batches were. An index that cannot be
    /// trusted is emptied, for the partition to rebuild from the log.
    pub(super) fn open(
        path: PathBuf,
        base_offset: i64,
        next_offset: i64,
    ) -> Result<(TxnIndex, bool), LogError> {
        let existed = path.exists();
        let file = open(&path, false)?;
        let len = file.metadata().map_err(io_error("stat", &path))?.len();
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.read_exact_at(&mut buf, 0)
            .map_err(io_error("read", &path))?;
        let decoded = decode_all(&buf, base_offset);
        let sound = existed && decoded.is_some();
        let mut index = TxnIndex {
            entries: decoded.unwrap_or_default(),
            file: Some((file, path)),
            dirty: false,
        };
        if !sound {
            if existed {
                tracing::warn!(
                    path = %index.path_display(),
                    "ignoring an unreadable aborted-transaction index"
                );
            }
            index.entries.clear();
            index.cut_file()?;
        } else {
            index.truncate_from(next_offset)?;
        }
        Ok((index, sound))
    }

    fn path_display(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(String::new, |(_, p)| p.display().to_string())
    }

    /// The entries, in marker order.
    pub(super) fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// Adds an entry whose marker comes after every other one here.
    pub(super) fn push(&mut self, txn: AbortedTxn) -> Result<(), LogError> {
        let pos = (self.entries.len() * ENTRY_SIZE) as u64;
        self.entries.push(txn);
        self.dirty = true;
        let Some((file, path)) = &self.file else {
            return Ok(());
        };
        if let Err(e) = file.write_all_at(&txn.encode(), pos) {
            // The entry stays in memory, so fetches stay right until a restart; the file is
            // removed so that the next open rebuilds it rather than trusting it without this
            // entry (which would show aborted records to read_committed consumers).
            let error = io_error("write", path)(e);
            tracing::error!(%error, "cannot write the aborted-transaction index; removing it");
            remove_file(path)?;
            return Err(error);
        }
        Ok(())
    }

    /// Drops the entries whose marker is at or after `offset`.
    pub(super) fn truncate_from(&mut self, offset: i64) -> Result<(), LogError> {
        let keep = self.entries.partition_point(|t| t.last_offset < offset);
        if keep == self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(keep);
        self.cut_file()
    }

    /// Makes the file as long as the entries held (which only ever shrink here).
    fn cut_file(&mut self) -> Result<(), LogError> {
        self.dirty = true;
        let Some((file, path)) = &self.file else {
            return Ok(());
        };
        file.set_len((self.entries.len() * ENTRY_SIZE) as u64)
            .map_err(io_error("truncate", path))
    }

    /// Forces the file to disk if it was written since the last time.
    pub(super) fn flush(&mut self) -> Result<(), LogError> {
        if let (true, Some((file, path))) = (self.dirty, &self.file) {
            file.sync_data().map_err(io_error("sync", path))?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Removes the file (the segment is deleted).
    pub(super) fn delete(self) -> Result<(), LogError> {
        match self.file {
            Some((file, path)) => {
                drop(file);
                remove_file(&path)
            }
            None => Ok(()),
        }
    }
}

fn open(path: &Path, truncate: bool) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(|e: io::Error| io_error("open", path)(e))
}

/// The entries of a whole file, if it is whole entries of a known version with markers at or
/// after `base_offset`, in order.
fn decode_all(buf: &[u8], base_offset: i64) -> Option<Vec<AbortedTxn>> {
    if buf.len() % ENTRY_SIZE != 0 {
        return None;
    }
    let entries: Vec<AbortedTxn> = buf
        .chunks_exact(ENTRY_SIZE)
        .map(AbortedTxn::decode)
        .collect::<Option<_>>()?;
    let ordered = entries.windows(2).all(|w| match w {
        [a, b] => a.last_offset < b.last_offset,
        _ => true,
    });
    let sane = entries
        .iter()
        .all(|t| t.last_offset >= base_offset && t.first_offset <= t.last_offset);
    (ordered && sane).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: 7,
            first_offset: first,
            last_offset: last,
            last_stable_offset: last + 1,
        }
    }

    #[test]
    fn entries_round_trip_in_kafkas_layout() {
        let t = txn(5, 9);
        let bytes = t.encode();
        assert_eq!(&bytes[..2], &[0, 0], "version 0");
        assert_eq!(&bytes[2..10], &7i64.to_be_bytes());
        assert_eq!(AbortedTxn::decode(&bytes), Some(t));
    }

    #[test]
    fn a_file_that_is_not_whole_ordered_entries_is_not_trusted() {
        let good: Vec<u8> = [txn(0, 3), txn(4, 8)]
            .iter()
            .flat_map(|t| t.encode())
            .collect();
        assert_eq!(decode_all(&good, 0).map(|e| e.len()), Some(2));
        assert!(
            decode_all(&good[..ENTRY_SIZE + 3], 0).is_none(),
            "torn entry"
        );
        assert!(decode_all(&good, 4).is_none(), "marker before the segment");
        let backwards: Vec<u8> = [txn(4, 8), txn(0, 3)]
            .iter()
            .flat_map(|t| t.encode())
            .collect();
        assert!(decode_all(&backwards, 0).is_none());
        let mut bad_version = good.clone();
        bad_version[1] = 9;
        assert!(decode_all(&bad_version, 0).is_none());
    }

    #[test]
    fn open_drops_entries_past_the_segment_end_and_distrusts_a_missing_file() {
        let dir = crate::test_support::TempDir::new("txnindex");
        let path = dir.path().join("x.txnindex");
        let (_, sound) = TxnIndex::open(path.clone(), 0, 100).unwrap();
        assert!(!sound, "a missing file is created, not trusted");
        let mut index = TxnIndex::create(Some(path.clone())).unwrap();
        index.push(txn(0, 3)).unwrap();
        index.push(txn(4, 8)).unwrap();
        drop(index);
        let (index, sound) = TxnIndex::open(path.clone(), 0, 8).unwrap();
        assert!(sound);
        assert_eq!(index.entries(), &[txn(0, 3)], "the marker at 8 was cut off");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), ENTRY_SIZE as u64);
    }
}
