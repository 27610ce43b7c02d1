//! TEMPORARY in-memory log used until the segmented log lands (same API).
#![allow(missing_docs, clippy::missing_errors_doc)]

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use streamctl_protocol::record_batch::RecordBatches;

#[derive(Debug, Clone)]
pub enum Storage {
    Memory,
    Disk(PathBuf),
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_ms: Option<i64>,
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<u64>,
    pub index_interval_bytes: usize,
    pub flush_messages: Option<u64>,
    pub flush_ms: Option<i64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1 << 30,
            segment_ms: None,
            retention_ms: None,
            retention_bytes: None,
            index_interval_bytes: 4096,
            flush_messages: None,
            flush_ms: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error("offset {offset} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("invalid batch: {0}")]
    InvalidBatch(String),
}

#[derive(Debug)]
struct Entry {
    base: i64,
    last: i64,
    max_ts: i64,
    bytes: Bytes,
}

#[derive(Debug)]
pub struct Log {
    batches: Vec<Entry>,
    start: i64,
    end: i64,
}

impl Log {
    pub fn open(_storage: Storage, _config: LogConfig) -> Result<Log, LogError> {
        Ok(Log {
            batches: Vec::new(),
            start: 0,
            end: 0,
        })
    }
    pub fn log_start_offset(&self) -> i64 {
        self.start
    }
    pub fn log_end_offset(&self) -> i64 {
        self.end
    }
    pub fn append(&mut self, batch: &[u8]) -> Result<(), LogError> {
        for b in RecordBatches::new(Bytes::copy_from_slice(batch)) {
            let b = b.map_err(|e| LogError::InvalidBatch(e.to_string()))?;
            self.end = b.last_offset() + 1;
            self.batches.push(Entry {
                base: b.base_offset(),
                last: b.last_offset(),
                max_ts: b.max_timestamp(),
                bytes: b.as_bytes().clone(),
            });
        }
        Ok(())
    }
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper: i64,
        min_one: bool,
    ) -> Result<Bytes, LogError> {
        if offset < self.start || offset > self.end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.start,
                log_end_offset: self.end,
            });
        }
        let mut out = BytesMut::new();
        for e in self
            .batches
            .iter()
            .filter(|e| e.last >= offset && e.last < upper)
        {
            if out.len() + e.bytes.len() > max_bytes && !(min_one && out.is_empty()) {
                break;
            }
            out.extend_from_slice(&e.bytes);
        }
        Ok(out.freeze())
    }
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        Ok(self
            .batches
            .iter()
            .find(|e| e.max_ts >= ts)
            .map(|e| (e.base, e.max_ts)))
    }
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.batches
            .iter()
            .map(|e| (e.max_ts, e.base))
            .max_by_key(|(t, _)| *t)
    }
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        self.batches.retain(|e| e.last < offset);
        self.end = offset;
        Ok(())
    }
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        self.start = offset;
        Ok(offset)
    }
    pub fn apply_retention(&mut self, _now: i64) -> Result<usize, LogError> {
        Ok(0)
    }
    pub fn flush(&mut self) -> Result<(), LogError> {
        Ok(())
    }
    pub fn delete(self) -> Result<(), LogError> {
        Ok(())
    }
}
