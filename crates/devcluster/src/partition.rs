//! A partition replica hosted on one broker: its log, watermarks and the produce-side checks.
//!
//! ```text
//!  ProduceRequest records ─▶ validate (magic, CRC-32C, count, size)
//!                          ─▶ assign offsets (rewrite baseOffset; LogAppendTime if configured)
//!                          ─▶ Log::append ─▶ advance high watermark ─▶ wake fetchers
//! ```
//!
//! The broker never decodes records here: a batch is checked by its header and CRC and
//! stored as received (DESIGN decision 2). The state lock is held only for bookkeeping and
//! the page-cache write, never across an `.await`.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use streamctl_protocol::record_batch::{RecordBatch, RecordBatches};
use streamctl_protocol::ErrorCode;

use crate::config::TopicConfig;
use crate::controller::ApiError;
use crate::log::{Log, LogConfig, LogError, Storage};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the log settings of a topic config.
pub fn log_config(config: &TopicConfig) -> LogConfig {
    LogConfig {
        segment_bytes: config.segment_bytes(),
        segment_ms: config.segment_ms(),
        retention_ms: config.retention_ms(),
        retention_bytes: config.retention_bytes(),
        flush_messages: config.flush_messages(),
        flush_ms: config.flush_ms(),
        ..LogConfig::default()
    }
}

/// What an append did, for the Produce response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// Broker time stamped on the batches, or -1 under CreateTime.
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
}

/// What a read returned, for the Fetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadInfo {
    /// Whole record batches.
    pub records: Bytes,
    /// High watermark at the time of the read.
    pub high_watermark: i64,
    /// Log start offset at the time of the read.
    pub log_start_offset: i64,
    /// Log end offset at the time of the read.
    pub log_end_offset: i64,
}

#[derive(Debug)]
struct State {
    log: Log,
    high_watermark: i64,
}

/// A partition replica on this broker.
#[derive(Debug)]
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    state: Mutex<State>,
}

/// Upper bound on a batch's decompressed size when the broker must look inside it.
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

fn storage_error(e: LogError) -> ApiError {
    match e {
        LogError::OffsetOutOfRange { .. } => {
            ApiError::new(ErrorCode::OffsetOutOfRange, e.to_string())
        }
        other => ApiError::new(ErrorCode::KafkaStorageError, other.to_string()),
    }
}

impl Partition {
    /// Opens (or creates and recovers) the replica's log.
    pub fn open(
        topic: &str,
        partition: i32,
        storage: Storage,
        config: &TopicConfig,
    ) -> Result<Self, ApiError> {
        let log = Log::open(storage, log_config(config)).map_err(storage_error)?;
        // Without followers yet, everything on the leader's log is committed.
        let high_watermark = log.log_end_offset();
        Ok(Self {
            topic: topic.to_string(),
            partition,
            state: Mutex::new(State {
                log,
                high_watermark,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates the batches of a produce request, assigns offsets and appends them.
    pub fn append_as_leader(
        &self,
        records: &Bytes,
        config: &TopicConfig,
        leader_epoch: i32,
    ) -> Result<AppendInfo, ApiError> {
        let batches = validate_batches(records, config)?;
        let log_append_time = if config.log_append_time() {
            now_ms()
        } else {
            -1
        };
        let mut state = self.lock();
        let base_offset = state.log.log_end_offset();
        let mut next = base_offset;
        let mut out = BytesMut::with_capacity(records.len());
        for batch in &batches {
            let start = out.len();
            out.extend_from_slice(batch.as_bytes());
            let count = i64::from(batch.last_offset_delta()) + 1;
            if let Some(raw) = out.get_mut(start..) {
                streamctl_protocol::record_batch::rewrite_base_offset(raw, next)
                    .and_then(|()| {
                        streamctl_protocol::record_batch::rewrite_partition_leader_epoch(
                            raw,
                            leader_epoch,
                        )
                    })
                    .map_err(|e| ApiError::new(ErrorCode::CorruptMessage, e.to_string()))?;
                if log_append_time >= 0 {
                    set_log_append_time(raw, log_append_time)?;
                }
            }
            next += count;
        }
        state.log.append(&out).map_err(storage_error)?;
        // Single-replica commit rule until followers replicate: the leader's log end is the
        // high watermark.
        state.high_watermark = state.log.log_end_offset();
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time,
            log_start_offset: state.log.log_start_offset(),
        })
    }

    /// Reads whole batches from `offset`, bounded by the high watermark.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<ReadInfo, ApiError> {
        let state = self.lock();
        let records = state
            .log
            .read(offset, max_bytes, state.high_watermark, min_one)
            .map_err(storage_error)?;
        Ok(ReadInfo {
            records,
            high_watermark: state.high_watermark,
            log_start_offset: state.log.log_start_offset(),
            log_end_offset: state.log.log_end_offset(),
        })
    }

    /// (log start offset, high watermark, log end offset).
    pub fn offsets(&self) -> (i64, i64, i64) {
        let s = self.lock();
        (
            s.log.log_start_offset(),
            s.high_watermark,
            s.log.log_end_offset(),
        )
    }

    /// The earliest offset whose timestamp is at or after `ts`, with that timestamp.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, ApiError> {
        self.lock()
            .log
            .offset_for_timestamp(ts)
            .map_err(storage_error)
    }

    /// The largest timestamp in the log and the offset of its batch.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.lock().log.max_timestamp()
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark).
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ApiError> {
        let mut s = self.lock();
        let target = if offset == -1 {
            s.high_watermark
        } else {
            offset
        };
        if target < s.log.log_start_offset() || target > s.high_watermark {
            return Err(ApiError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "offset {target} is outside [{}, {}]",
                    s.log.log_start_offset(),
                    s.high_watermark
                ),
            ));
        }
        s.log.delete_records_before(target).map_err(storage_error)
    }

    /// Applies time and size retention; returns the number of segments deleted.
    pub fn apply_retention(&self, now: i64) -> Result<usize, ApiError> {
        self.lock().log.apply_retention(now).map_err(storage_error)
    }

    /// Flushes the log to disk.
    pub fn flush(&self) -> Result<(), ApiError> {
        self.lock().log.flush().map_err(storage_error)
    }

    /// Removes the replica's files (topic deletion).
    pub fn delete(self) -> Result<(), ApiError> {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        state.log.delete().map_err(storage_error)
    }
}

/// Stamps a batch with the broker's time (`message.timestamp.type=LogAppendTime`): sets the
/// timestamp-type attribute bit and the max timestamp, then recomputes the CRC, which covers
/// both. Consumers then report this time for every record of the batch.
fn set_log_append_time(batch: &mut [u8], ts: i64) -> Result<(), ApiError> {
    const ATTRIBUTES: usize = 21;
    const MAX_TIMESTAMP: usize = 35;
    const CRC: usize = 17;
    let short = || {
        ApiError::new(
            ErrorCode::CorruptMessage,
            "record batch header is truncated",
        )
    };
    let attrs = batch
        .get(ATTRIBUTES..ATTRIBUTES + 2)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .ok_or_else(short)?;
    let attrs = i16::from_be_bytes(attrs) | 0x08;
    batch
        .get_mut(ATTRIBUTES..ATTRIBUTES + 2)
        .ok_or_else(short)?
        .copy_from_slice(&attrs.to_be_bytes());
    batch
        .get_mut(MAX_TIMESTAMP..MAX_TIMESTAMP + 8)
        .ok_or_else(short)?
        .copy_from_slice(&ts.to_be_bytes());
    let crc = crc32c::crc32c(batch.get(ATTRIBUTES..).ok_or_else(short)?);
    batch
        .get_mut(CRC..CRC + 4)
        .ok_or_else(short)?
        .copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Checks every batch of a produce request by header and CRC; returns them.
fn validate_batches(records: &Bytes, config: &TopicConfig) -> Result<Vec<RecordBatch>, ApiError> {
    let corrupt = |why: String| ApiError::new(ErrorCode::CorruptMessage, why);
    let mut batches = Vec::new();
    let mut iter = RecordBatches::new(records.clone());
    for batch in iter.by_ref() {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        if batch.size() > config.max_message_bytes() {
            return Err(ApiError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "batch of {} bytes exceeds max.message.bytes {}",
                    batch.size(),
                    config.max_message_bytes()
                ),
            ));
        }
        batch.verify_crc().map_err(|e| corrupt(e.to_string()))?;
        let count = batch.record_count();
        if count <= 0 || i64::from(batch.last_offset_delta()) != i64::from(count) - 1 {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                format!(
                    "record count {count} does not match last offset delta {}",
                    batch.last_offset_delta()
                ),
            ));
        }
        batches.push(batch);
    }
    if !iter.remaining().is_empty() {
        return Err(corrupt(format!(
            "{} trailing bytes do not form a whole record batch",
            iter.remaining().len()
        )));
    }
    if batches.is_empty() {
        return Err(corrupt("produce request carries no record batch".into()));
    }
    Ok(batches)
}
