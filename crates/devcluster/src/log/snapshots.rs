//! Snapshots of what a partition derives from its log (producer state, leader epochs), taken
//! as segments roll and at a clean shutdown, so that opening a partition replays only the log
//! after the latest one instead of the whole log (Kafka's `<offset>.snapshot` files).
//!
//! ```text
//!  <partition dir>/00000000000000004242.snapshot   state derived from offsets [.., 4242)
//!
//!  file = version i16 (1) | CRC-32C u32 of the payload | payload
//! ```
//!
//! The log only stores and checks them; the payload is the partition's business. What makes a
//! snapshot usable is that it describes this log: the log removes snapshots above a
//! truncation point and all of them when it restarts empty, and the partition ignores one
//! above the log end (the tail it described was lost) or below the log start (it cannot
//! replay from there). A snapshot that is torn or unreadable is deleted and an older one (or
//! the whole log) used instead, so snapshots are written without fsync: losing one only costs
//! replay time. The format is streamctl's own (Kafka's keeps less per producer).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::dir::{file_name, parse_base_offset};
use super::store::{io_error, remove_file};
use super::LogError;

const SUFFIX: &str = "snapshot";
const TMP_SUFFIX: &str = "snapshot.tmp";
const VERSION: i16 = 1;
/// Snapshots kept: the newest, and older ones for a truncation that goes below it.
const KEPT: usize = 3;

/// The partition's snapshots, by offset.
#[derive(Debug, Default)]
pub(super) struct Snapshots {
    /// The partition directory; `None` keeps the payloads in `memory`.
    dir: Option<PathBuf>,
    /// Offset → payload in memory, or `None` for a file not read yet.
    held: BTreeMap<i64, Option<Bytes>>,
}

impl Snapshots {
    /// The snapshots in `dir` (removing unfinished writes), or none in memory.
    pub(super) fn open(dir: Option<&Path>) -> Result<Snapshots, LogError> {
        let mut held = BTreeMap::new();
        if let Some(dir) = dir {
            for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
                let entry = entry.map_err(io_error("list", dir))?;
                let name = entry.file_name();
                let Some((stem, suffix)) = name.to_str().and_then(|n| n.split_once('.')) else {
                    continue;
                };
                match (parse_base_offset(stem), suffix) {
                    (Some(offset), SUFFIX) => {
                        held.insert(offset, None);
                    }
                    (Some(_), TMP_SUFFIX) => remove_file(&entry.path())?,
                    _ => {}
                }
            }
        }
        Ok(Snapshots {
            dir: dir.map(Path::to_path_buf),
            held,
        })
    }

    /// Stores `payload` as the snapshot at `offset`, replacing one there, and drops the oldest
    /// beyond the few kept. A write that fails is only a warning: the log is intact, and the
    /// next open replays more of it.
    pub(super) fn write(&mut self, offset: i64, payload: &[u8]) {
        if let Some(dir) = &self.dir {
            let path = dir.join(file_name(offset, SUFFIX));
            let tmp = dir.join(file_name(offset, TMP_SUFFIX));
            let mut framed = Vec::with_capacity(payload.len() + 6);
            framed.extend_from_slice(&VERSION.to_be_bytes());
            framed.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
            framed.extend_from_slice(payload);
            if let Err(error) = fs::write(&tmp, &framed).and_then(|()| fs::rename(&tmp, &path)) {
                tracing::warn!(path = %path.display(), %error, "cannot write a producer-state snapshot");
                return;
            }
            self.held.insert(offset, None);
        } else {
            self.held
                .insert(offset, Some(Bytes::copy_from_slice(payload)));
        }
        while self.held.len() > KEPT {
            let Some((&oldest, _)) = self.held.iter().next() else {
                break;
            };
            self.remove(oldest);
        }
    }

    /// The newest readable snapshot at an offset in `[min, max]`, as (offset, payload).
    pub(super) fn latest_within(&mut self, min: i64, max: i64) -> Option<(i64, Bytes)> {
        if min > max {
            return None;
        }
        let candidates: Vec<i64> = self.held.range(min..=max).rev().map(|(o, _)| *o).collect();
        for offset in candidates {
            if let Some(payload) = self.read(offset) {
                return Some((offset, payload));
            }
            self.remove(offset);
        }
        None
    }

    /// Removes every snapshot above `offset`; returns whether there was one.
    pub(super) fn remove_above(&mut self, offset: i64) -> bool {
        let above: Vec<i64> = self
            .held
            .range(offset.saturating_add(1)..)
            .map(|(o, _)| *o)
            .collect();
        for &o in &above {
            self.remove(o);
        }
        !above.is_empty()
    }

    /// The offsets held, oldest first (for tests and the admin plane).
    pub(super) fn offsets(&self) -> Vec<i64> {
        self.held.keys().copied().collect()
    }

    fn read(&self, offset: i64) -> Option<Bytes> {
        let Some(dir) = &self.dir else {
            return self.held.get(&offset).cloned().flatten();
        };
        let path = dir.join(file_name(offset, SUFFIX));
        let framed = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read a snapshot");
                return None;
            }
        };
        let version = framed
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .map(i16::from_be_bytes);
        let crc = framed
            .get(2..6)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes);
        let payload = framed.get(6..).unwrap_or_default();
        if version != Some(VERSION) || crc != Some(crc32c::crc32c(payload)) {
            tracing::warn!(path = %path.display(), "ignoring a torn or unknown snapshot");
            return None;
        }
        Some(Bytes::copy_from_slice(payload))
    }

    fn remove(&mut self, offset: i64) {
        self.held.remove(&offset);
        if let Some(dir) = &self.dir {
            let path = dir.join(file_name(offset, SUFFIX));
            if let Err(error) = remove_file(&path) {
                tracing::warn!(%error, "cannot remove a snapshot");
            }
        }
    }
}
