//! What the leader checks and rewrites in the batches of a Produce request before they reach
//! the log: header, CRC-32C, record count and size, timestamps, and the LogAppendTime stamp.
//!
//! Records stay opaque (shared DESIGN decision 2) except where a rule needs them: a compacted
//! topic refuses records without a key, so its batches are decoded; and a topic that sets
//! `message.timestamp.before.max.ms` has every record's timestamp checked, since the header
//! only holds the newest. The default timestamp rule (`message.timestamp.after.max.ms`, one
//! hour into the future) needs only that newest timestamp.

use bytes::Bytes;
use streamctl_protocol::record_batch::{RecordBatch, RecordBatches, TimestampType};
use streamctl_protocol::ErrorCode;

use crate::config::TopicConfig;
use crate::error::ApiError;

/// Stamps a batch with the broker's time (`message.timestamp.type=LogAppendTime`): sets the
/// timestamp-type attribute bit and the max timestamp, then recomputes the CRC, which covers
/// both. Consumers then report this time for every record of the batch.
pub(super) fn set_log_append_time(batch: &mut [u8], ts: i64) -> Result<(), ApiError> {
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
pub(super) fn validate_batches(
    records: &Bytes,
    config: &TopicConfig,
) -> Result<Vec<RecordBatch>, ApiError> {
    let corrupt = |why: String| ApiError::new(ErrorCode::CorruptMessage, why);
    let now = crate::partition::now_ms();
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
        check_records(&batch, config, now)?;
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

/// Kafka's per-record rules (`LogValidator.validateRecord`): a compacted topic refuses a
/// record without a key (INVALID_RECORD); a CreateTime topic refuses a timestamp outside
/// `[now - message.timestamp.before.max.ms, now + message.timestamp.after.max.ms]`, and a
/// producer may not claim LogAppendTime (INVALID_TIMESTAMP). Control batches are the
/// coordinator's and are not checked.
fn check_records(batch: &RecordBatch, config: &TopicConfig, now: i64) -> Result<(), ApiError> {
    if batch.is_control() {
        return Ok(());
    }
    let create_time = !config.log_append_time();
    if create_time && batch.timestamp_type() == TimestampType::LogAppendTime {
        return Err(ApiError::new(
            ErrorCode::InvalidTimestamp,
            "the producer set the LogAppendTime timestamp type, which only brokers may set",
        ));
    }
    let before = config.timestamp_before_max_ms();
    let after = config.timestamp_after_max_ms();
    let out_of_range =
        |ts: i64| ts != -1 && (now.saturating_sub(ts) > before || ts.saturating_sub(now) > after);
    let refuse = |ts: i64, offset: i64| {
        ApiError::new(
            ErrorCode::InvalidTimestamp,
            format!(
                "timestamp {ts} of the record at offset delta {offset} is out of range: it should be within [{}, {}]",
                now.saturating_sub(before),
                now.saturating_add(after)
            ),
        )
    };
    // The header's newest timestamp settles the upper bound for every record.
    if create_time && batch.max_timestamp().saturating_sub(now) > after {
        return Err(refuse(
            batch.max_timestamp(),
            i64::from(batch.last_offset_delta()),
        ));
    }
    let check_each_timestamp = create_time && before < i64::MAX;
    if !config.compacted() && !check_each_timestamp {
        return Ok(());
    }
    let records = batch
        .records(config.max_message_bytes().saturating_mul(4).max(1 << 20))
        .map_err(|e| ApiError::new(ErrorCode::CorruptMessage, e.to_string()))?;
    for record in records {
        let record = record.map_err(|e| ApiError::new(ErrorCode::CorruptMessage, e.to_string()))?;
        let delta = record.offset.saturating_sub(batch.base_offset());
        if config.compacted() && record.key.is_none() {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                format!(
                    "a compacted topic cannot accept a record without a key (offset delta {delta})"
                ),
            ));
        }
        if check_each_timestamp && out_of_range(record.timestamp) {
            return Err(refuse(record.timestamp, delta));
        }
    }
    Ok(())
}
