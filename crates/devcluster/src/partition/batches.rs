//! What the leader checks and rewrites in the batches of a Produce request before they reach
//! the log: header, CRC-32C, record count and size (never the records themselves, DESIGN
//! decision 2), and the LogAppendTime stamp.

use bytes::Bytes;
use streamctl_protocol::record_batch::{RecordBatch, RecordBatches};
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
