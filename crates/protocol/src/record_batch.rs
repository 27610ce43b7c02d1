//! Kafka record batches, format v2 ("magic 2", KIP-98), as zero-copy views over their bytes.
//!
//! ```text
//!  offset  field                   type     notes
//!  ──────  ──────────────────────  ───────  ────────────────────────────────────────────────
//!     0    baseOffset              int64    assigned by the leader; NOT covered by the CRC
//!     8    batchLength             int32    bytes after this field
//!    12    partitionLeaderEpoch    int32    set by the leader; NOT covered by the CRC
//!    16    magic                   int8     2
//!    17    crc                     uint32   CRC-32C of everything from attributes to the end
//!    21    attributes              int16    bits 0-2 codec | 3 LogAppendTime | 4 transactional
//!                                           | 5 control
//!    23    lastOffsetDelta         int32
//!    27    baseTimestamp           int64
//!    35    maxTimestamp            int64
//!    43    producerId              int64
//!    51    producerEpoch           int16
//!    53    baseSequence            int32
//!    57    recordCount             int32
//!    61    records                 ...      compressed as a whole when the codec is not none
//!
//!  record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//!          | keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value
//!          | headerCount varint | headers: keyLength varint | key (utf-8)
//!                                         | valueLength varint (-1 = null) | value
//! ```
//!
//! ```text
//!   fetch `records` ──RecordBatches──▶ RecordBatch ──records(max)──▶ Records ──▶ Record
//!                                        │  (decompresses when needed; uncompressed keys and
//!                                        │   values are slices of the batch's own Bytes)
//!   broker produce path: parse ──▶ verify_crc ──▶ set_base_offset ──▶ store the bytes as they are
//!   producer: RecordBatchBuilder::push ... build ──▶ Bytes
//! ```
//!
//! The broker never needs to look inside a batch (DESIGN decision 2): it validates the header
//! and CRC, then assigns offsets by rewriting `baseOffset`, which the CRC leaves out for exactly
//! that reason. Nothing here trusts a length or a count from the input: every one is checked
//! against the bytes present before it is used.

use std::iter::FusedIterator;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::compression::{self, Compression};
use crate::error::{DecodeError, EncodeError};
use crate::primitives::{
    get_varint, get_varlong, put_varint, put_varlong, take_bytes, varint_len, varlong_len,
};

/// The magic byte of the record batch format this module implements.
pub const MAGIC: i8 = 2;
/// Bytes in front of every batch that `batchLength` does not count: `baseOffset` and
/// `batchLength` itself (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// The size of a v2 batch header, i.e. of a batch without records.
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// `producerId` of a batch from a producer that is neither idempotent nor transactional.
pub const NO_PRODUCER_ID: i64 = -1;
/// `producerEpoch` of a batch without a producer id.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// `baseSequence` of a batch without a producer id.
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` before a leader has stamped the batch.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// The timestamp of a batch without records.
pub const NO_TIMESTAMP: i64 = -1;

// Field positions within a batch.
const BASE_OFFSET_AT: usize = 0;
const BATCH_LENGTH_AT: usize = 8;
const PARTITION_LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const PRODUCER_ID_AT: usize = 43;

/// The smallest `batchLength` a v2 batch can have (a header and no records).
const MIN_BATCH_LENGTH: usize = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD;

/// The fewest bytes one record takes: a one-byte length, attributes, timestamp delta, offset
/// delta, key length, value length and header count.
const MIN_RECORD_SIZE: usize = 7;
/// The fewest bytes one record header takes: key length and value length.
const MIN_HEADER_SIZE: usize = 2;

const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;
/// The base timestamp is a delete horizon (KIP-534), set by the log cleaner.
const DELETE_HORIZON_BIT: i16 = 1 << 6;

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer when the record was created.
    #[default]
    CreateTime,
    /// Set by the broker when the batch was appended; every record then carries the batch's
    /// `maxTimestamp`.
    LogAppendTime,
}

/// The decoded header of a v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordBatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Length of the batch after the `batchLength` field.
    pub batch_length: i32,
    /// Epoch of the leader that appended the batch.
    pub partition_leader_epoch: i32,
    /// Format version; always [`MAGIC`] for a parsed batch.
    pub magic: i8,
    /// CRC-32C stored in the batch.
    pub crc: u32,
    /// Codec, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp the record timestamp deltas are relative to.
    pub base_timestamp: i64,
    /// Largest record timestamp (or the append time with [`TimestampType::LogAppendTime`]).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, or [`NO_PRODUCER_ID`].
    pub producer_id: i64,
    /// Producer epoch, or [`NO_PRODUCER_EPOCH`].
    pub producer_epoch: i16,
    /// Sequence number of the first record, or [`NO_SEQUENCE`].
    pub base_sequence: i32,
    /// Number of records the batch says it holds.
    pub record_count: i32,
}

impl RecordBatchHeader {
    /// Reads a header from the front of `src`, which must hold [`RECORD_BATCH_OVERHEAD`] bytes.
    fn read(mut src: &[u8]) -> Result<Self, DecodeError> {
        if src.len() < RECORD_BATCH_OVERHEAD {
            return Err(DecodeError::Truncated {
                what: "record batch header",
                needed: RECORD_BATCH_OVERHEAD - src.len(),
            });
        }
        Ok(RecordBatchHeader {
            base_offset: src.get_i64(),
            batch_length: src.get_i32(),
            partition_leader_epoch: src.get_i32(),
            magic: src.get_i8(),
            crc: src.get_u32(),
            attributes: src.get_i16(),
            last_offset_delta: src.get_i32(),
            base_timestamp: src.get_i64(),
            max_timestamp: src.get_i64(),
            producer_id: src.get_i64(),
            producer_epoch: src.get_i16(),
            base_sequence: src.get_i32(),
            record_count: src.get_i32(),
        })
    }

    /// Writes the header as [`RECORD_BATCH_OVERHEAD`] bytes.
    fn to_bytes(self) -> [u8; RECORD_BATCH_OVERHEAD] {
        let mut out = [0u8; RECORD_BATCH_OVERHEAD];
        let mut dst = out.as_mut_slice();
        dst.put_i64(self.base_offset);
        dst.put_i32(self.batch_length);
        dst.put_i32(self.partition_leader_epoch);
        dst.put_i8(self.magic);
        dst.put_u32(self.crc);
        dst.put_i16(self.attributes);
        dst.put_i32(self.last_offset_delta);
        dst.put_i64(self.base_timestamp);
        dst.put_i64(self.max_timestamp);
        dst.put_i64(self.producer_id);
        dst.put_i16(self.producer_epoch);
        dst.put_i32(self.base_sequence);
        dst.put_i32(self.record_count);
        out
    }
}

/// One v2 record batch: its bytes, untouched, and its decoded header.
///
/// Parsing checks the header's shape (length, magic, codec) but not the CRC, which costs a
/// pass over the whole batch: call [`RecordBatch::verify_crc`] where corruption matters (the
/// broker on produce, a consumer with `check.crcs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// The whole batch, from `baseOffset` to the last record byte.
    bytes: Bytes,
    /// Decoded once so that accessors need not re-read (or re-check) the bytes.
    header: RecordBatchHeader,
}

impl RecordBatch {
    /// Takes one whole batch off the front of `buf` without copying it.
    ///
    /// On error `buf` is left as it was. A batch cut short is [`DecodeError::Truncated`]; use
    /// [`RecordBatches`] to walk a fetch response's `records`, where a cut last batch is legal.
    pub fn parse(buf: &mut Bytes) -> Result<RecordBatch, DecodeError> {
        let size = batch_size(buf)?;
        if buf.len() < size {
            return Err(DecodeError::Truncated {
                what: "record batch",
                needed: size - buf.len(),
            });
        }
        let bytes = buf.slice(..size);
        let header = RecordBatchHeader::read(&bytes)?;
        Compression::from_attributes(header.attributes)?;
        buf.advance(size);
        Ok(RecordBatch { bytes, header })
    }

    /// Parses `bytes` as exactly one batch; bytes after it are an error.
    pub fn from_bytes(mut bytes: Bytes) -> Result<RecordBatch, DecodeError> {
        let batch = RecordBatch::parse(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(DecodeError::Invalid {
                what: "record batch",
                reason: format!("{} bytes follow the batch", bytes.len()),
            });
        }
        Ok(batch)
    }

    /// The decoded header.
    pub fn header(&self) -> &RecordBatchHeader {
        &self.header
    }

    /// The whole batch as it is on the wire and on disk.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The whole batch, giving up the view.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Size of the whole batch in bytes, [`LOG_OVERHEAD`] included.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.header.base_offset
    }

    /// `batchLength`: the size of the batch after that field.
    pub fn batch_length(&self) -> i32 {
        self.header.batch_length
    }

    /// Epoch of the leader that appended the batch.
    pub fn partition_leader_epoch(&self) -> i32 {
        self.header.partition_leader_epoch
    }

    /// The format version, always [`MAGIC`].
    pub fn magic(&self) -> i8 {
        self.header.magic
    }

    /// The CRC-32C stored in the batch.
    pub fn crc(&self) -> u32 {
        self.header.crc
    }

    /// The raw attribute bits.
    pub fn attributes(&self) -> i16 {
        self.header.attributes
    }

    /// Offset of the last record minus the base offset.
    pub fn last_offset_delta(&self) -> i32 {
        self.header.last_offset_delta
    }

    /// Timestamp the record timestamp deltas are relative to.
    pub fn base_timestamp(&self) -> i64 {
        self.header.base_timestamp
    }

    /// Largest record timestamp, or the log append time.
    pub fn max_timestamp(&self) -> i64 {
        self.header.max_timestamp
    }

    /// Producer id, or [`NO_PRODUCER_ID`].
    pub fn producer_id(&self) -> i64 {
        self.header.producer_id
    }

    /// Producer epoch, or [`NO_PRODUCER_EPOCH`].
    pub fn producer_epoch(&self) -> i16 {
        self.header.producer_epoch
    }

    /// Sequence number of the first record, or [`NO_SEQUENCE`].
    pub fn base_sequence(&self) -> i32 {
        self.header.base_sequence
    }

    /// Sequence number of the last record. Sequences wrap from `i32::MAX` to 0, as in Kafka's
    /// `DefaultRecordBatch.incrementSequence`.
    pub fn last_sequence(&self) -> i32 {
        let base = self.header.base_sequence;
        if base == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        // In i64 so that hostile values cannot overflow; honest ones are non-negative.
        let last = i64::from(base) + i64::from(self.header.last_offset_delta);
        let max = i64::from(i32::MAX);
        (if last > max { last - max - 1 } else { last }) as i32
    }

    /// Number of records the batch says it holds.
    pub fn record_count(&self) -> i32 {
        self.header.record_count
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.header
            .base_offset
            .wrapping_add(i64::from(self.header.last_offset_delta))
    }

    /// The offset after this batch, where a consumer fetches next.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The codec of the records section.
    pub fn compression(&self) -> Compression {
        // Checked in `parse`; the fallback is never taken.
        Compression::from_attributes(self.header.attributes).unwrap_or_default()
    }

    /// What the timestamps mean.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.header.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.header.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records (transaction markers), not user data.
    pub fn is_control(&self) -> bool {
        self.header.attributes & CONTROL_BIT != 0
    }

    /// The CRC-32C of the batch as it is now.
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(self.bytes.get(ATTRIBUTES_AT..).unwrap_or_default())
    }

    /// Checks the stored CRC against the batch's contents.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let computed = self.compute_crc();
        if computed != self.header.crc {
            return Err(DecodeError::CrcMismatch {
                stored: self.header.crc,
                computed,
            });
        }
        Ok(())
    }

    /// Sets `baseOffset`, as a leader does when it appends the batch. The CRC stays valid.
    ///
    /// Copies the batch only when its bytes are shared with another `Bytes`.
    pub fn set_base_offset(&mut self, base_offset: i64) {
        self.header.base_offset = base_offset;
        self.patch(BASE_OFFSET_AT, &base_offset.to_be_bytes());
    }

    /// Sets `partitionLeaderEpoch`, as a leader does when it appends the batch. The CRC stays
    /// valid.
    pub fn set_partition_leader_epoch(&mut self, epoch: i32) {
        self.header.partition_leader_epoch = epoch;
        self.patch(PARTITION_LEADER_EPOCH_AT, &epoch.to_be_bytes());
    }

    fn patch(&mut self, at: usize, value: &[u8]) {
        let bytes = std::mem::take(&mut self.bytes);
        let mut owned = bytes
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(shared.as_ref()));
        if let Some(dst) = owned.get_mut(at..at + value.len()) {
            dst.copy_from_slice(value);
        }
        self.bytes = owned.freeze();
    }

    /// The records of the batch, decompressing them first if needed, into at most
    /// `max_decompressed` bytes (the limit does not apply to uncompressed batches, whose
    /// records are already in memory).
    ///
    /// The count and lengths are checked as the iterator goes: it yields an error, and then
    /// stops, at the first record that does not fit.
    pub fn records(&self, max_decompressed: usize) -> Result<Records, DecodeError> {
        let body = self
            .bytes
            .slice(RECORD_BATCH_OVERHEAD.min(self.bytes.len())..);
        let data = match self.compression() {
            Compression::None => body,
            codec => Bytes::from(compression::decompress(codec, &body, max_decompressed)?),
        };
        let count = self.header.record_count;
        let Ok(count_usize) = usize::try_from(count) else {
            return Err(DecodeError::Invalid {
                what: "record batch",
                reason: format!("negative record count {count}"),
            });
        };
        if count_usize > data.len() / MIN_RECORD_SIZE {
            return Err(DecodeError::Invalid {
                what: "record batch",
                reason: format!(
                    "record count {count} does not fit in {} bytes of records",
                    data.len()
                ),
            });
        }
        Ok(Records {
            data,
            remaining: count_usize,
            base_offset: self.header.base_offset,
            base_timestamp: self.header.base_timestamp,
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then_some(self.header.max_timestamp),
            done: false,
        })
    }
}

/// The size of the batch at the front of `buf` ([`LOG_OVERHEAD`] included), from its header,
/// after checking the header's shape. Does not check that the whole batch is present.
fn batch_size(buf: &[u8]) -> Result<usize, DecodeError> {
    let length = buf
        .get(BATCH_LENGTH_AT..LOG_OVERHEAD)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_be_bytes)
        .ok_or(DecodeError::Truncated {
            what: "record batch length",
            needed: LOG_OVERHEAD.saturating_sub(buf.len()),
        })?;
    // Legacy message sets (magic 0 and 1) are shorter than a v2 header, so the magic is looked
    // at before the minimum length to name the real problem.
    if let Some(&magic) = buf.get(MAGIC_AT) {
        let magic = magic as i8;
        if magic != MAGIC {
            return Err(DecodeError::UnsupportedMagic(magic));
        }
    }
    match usize::try_from(length) {
        Ok(len) if len >= MIN_BATCH_LENGTH => Ok(LOG_OVERHEAD + len),
        _ => Err(DecodeError::BadLength {
            what: "record batch",
            length: i64::from(length),
        }),
    }
}

/// Sets `baseOffset` of the batch at the front of `batch` in place (the CRC does not cover it).
pub fn rewrite_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), DecodeError> {
    rewrite(
        batch,
        BASE_OFFSET_AT,
        &base_offset.to_be_bytes(),
        "base offset",
    )
}

/// Sets `partitionLeaderEpoch` of the batch at the front of `batch` in place (the CRC does not
/// cover it).
pub fn rewrite_partition_leader_epoch(batch: &mut [u8], epoch: i32) -> Result<(), DecodeError> {
    rewrite(
        batch,
        PARTITION_LEADER_EPOCH_AT,
        &epoch.to_be_bytes(),
        "partition leader epoch",
    )
}

/// Sets `producerId`, `producerEpoch` and `baseSequence` of the batch at the front of `batch`
/// in place and recomputes its CRC, which covers them.
///
/// An idempotent producer needs this when the broker has lost its sequence state (KIP-360):
/// the batch is sent again under a new epoch or producer id, starting at sequence 0.
pub fn rewrite_producer_state(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<(), DecodeError> {
    let size = batch_size(batch)?;
    let have = batch.len();
    let Some(whole) = batch.get_mut(..size) else {
        return Err(DecodeError::Truncated {
            what: "record batch",
            needed: size.saturating_sub(have),
        });
    };
    let mut fields = [0u8; 14];
    let mut dst = fields.as_mut_slice();
    dst.put_i64(producer_id);
    dst.put_i16(producer_epoch);
    dst.put_i32(base_sequence);
    // `batch_size` guarantees a whole header, so these ranges exist; `get_mut` keeps it so.
    if let Some(dst) = whole.get_mut(PRODUCER_ID_AT..PRODUCER_ID_AT + fields.len()) {
        dst.copy_from_slice(&fields);
    }
    let crc = crc32c::crc32c(whole.get(ATTRIBUTES_AT..).unwrap_or_default());
    if let Some(dst) = whole.get_mut(CRC_AT..CRC_AT + 4) {
        dst.copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}

fn rewrite(
    batch: &mut [u8],
    at: usize,
    value: &[u8],
    what: &'static str,
) -> Result<(), DecodeError> {
    // Refuse anything that is not a v2 batch header: writing offsets into a legacy message set
    // or into random bytes would corrupt it silently.
    batch_size(batch)?;
    let len = batch.len();
    let dst = batch
        .get_mut(at..at + value.len())
        .ok_or(DecodeError::Truncated {
            what,
            needed: (at + value.len()).saturating_sub(len),
        })?;
    dst.copy_from_slice(value);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Splitting a `records` field into batches
// ---------------------------------------------------------------------------------------------

/// The batches of a `records` field (a produce request's or a fetch response's), in order.
///
/// A fetch response may end with a partial batch: the broker copies whole log segments up to
/// the fetch size without cutting at batch boundaries. The iterator stops silently there;
/// [`RecordBatches::remaining`] tells how many bytes were left over. A malformed batch yields
/// one error and ends the iteration.
#[derive(Debug, Clone)]
pub struct RecordBatches {
    /// What has not been handed out yet.
    buf: Bytes,
    /// Set after an error, so that a corrupt batch is reported once.
    failed: bool,
}

impl RecordBatches {
    /// Walks the batches in `records`.
    pub fn new(records: Bytes) -> Self {
        RecordBatches {
            buf: records,
            failed: false,
        }
    }

    /// The bytes not handed out: after the end of iteration, the trailing partial batch (if
    /// any) or the corrupt batch.
    pub fn remaining(&self) -> &Bytes {
        &self.buf
    }
}

impl Iterator for RecordBatches {
    type Item = Result<RecordBatch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        if self.buf.len() < LOG_OVERHEAD {
            return None;
        }
        match batch_size(&self.buf) {
            Ok(size) if size > self.buf.len() => return None,
            Ok(_) => {}
            // A partial batch may be too short to show its magic; with the magic present, a
            // legacy or corrupt batch is an error even at the end.
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let result = RecordBatch::parse(&mut self.buf);
        self.failed = result.is_err();
        Some(result)
    }
}

impl FusedIterator for RecordBatches {}

mod builder;
mod control;
mod records;

pub use builder::RecordBatchBuilder;
pub use control::{control_record_type, EndTxnMarker, CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT};
pub use records::{Header, HeaderRef, Record, Records};

#[cfg(test)]
mod tests;
