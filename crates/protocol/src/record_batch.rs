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

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// One record header. Kafka allows several with the same key, so they are kept as a list in
/// their order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header key; bytes that are not UTF-8 are replaced by U+FFFD, as Java's client does.
    pub key: String,
    /// The header value; `None` is a null value, not an empty one.
    pub value: Option<Bytes>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp (the batch's append time under [`TimestampType::LogAppendTime`]).
    pub timestamp: i64,
    /// The key; `None` is a null key.
    pub key: Option<Bytes>,
    /// The value; `None` is a null value (a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// The headers, in order, duplicates kept.
    pub headers: Vec<Header>,
}

/// The records of one batch, decoded one at a time.
#[derive(Debug, Clone)]
pub struct Records {
    /// The records section not yet decoded (decompressed if the batch was compressed).
    data: Bytes,
    /// How many records the batch still claims.
    remaining: usize,
    /// The batch's `baseOffset`, which record offset deltas are added to.
    base_offset: i64,
    /// The batch's `baseTimestamp`, which record timestamp deltas are added to.
    base_timestamp: i64,
    /// The batch's `maxTimestamp`, which replaces every record timestamp under LogAppendTime.
    log_append_time: Option<i64>,
    /// Set after the last item (an error or the last record), so the iterator is fused.
    done: bool,
}

impl Records {
    /// How many records the batch still claims to hold.
    pub fn remaining_count(&self) -> usize {
        self.remaining
    }

    fn decode_next(&mut self) -> Result<Record, DecodeError> {
        let length = get_varint(&mut self.data)?;
        let length = usize::try_from(length)
            .ok()
            .filter(|&len| len <= self.data.len())
            .ok_or(DecodeError::BadLength {
                what: "record",
                length: i64::from(length),
            })?;
        let mut body = self.data.split_to(length);
        take_bytes(&mut body, 1, "record attributes")?;
        let timestamp_delta = get_varlong(&mut body)?;
        let offset_delta = get_varint(&mut body)?;
        let key = get_nullable_bytes(&mut body, "record key")?;
        let value = get_nullable_bytes(&mut body, "record value")?;
        let header_count = get_varint(&mut body)?;
        let header_count = usize::try_from(header_count)
            .ok()
            .filter(|&n| n <= body.len() / MIN_HEADER_SIZE)
            .ok_or(DecodeError::BadLength {
                what: "record header count",
                length: i64::from(header_count),
            })?;
        let mut headers = Vec::with_capacity(header_count);
        for _ in 0..header_count {
            let key_len = get_varint(&mut body)?;
            let key_len = usize::try_from(key_len)
                .ok()
                .filter(|&len| len <= body.len())
                .ok_or(DecodeError::BadLength {
                    what: "record header key",
                    length: i64::from(key_len),
                })?;
            // Lossy like Java's `Utils.utf8` (`new String(bytes, UTF_8)`): librdkafka lets
            // producers write any bytes as a header key, and refusing them would make the
            // record unreadable here while every Java consumer reads it.
            let key = String::from_utf8_lossy(&body.split_to(key_len)).into_owned();
            let value = get_nullable_bytes(&mut body, "record header value")?;
            headers.push(Header { key, value });
        }
        if !body.is_empty() {
            return Err(DecodeError::Invalid {
                what: "record",
                reason: format!("{} bytes left over after its fields", body.len()),
            });
        }
        Ok(Record {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: self
                .log_append_time
                .unwrap_or_else(|| self.base_timestamp.wrapping_add(timestamp_delta)),
            key,
            value,
            headers,
        })
    }
}

fn get_nullable_bytes(buf: &mut Bytes, what: &'static str) -> Result<Option<Bytes>, DecodeError> {
    let len = get_varint(buf)?;
    if len == -1 {
        return Ok(None);
    }
    match usize::try_from(len) {
        Ok(n) if n <= buf.len() => Ok(Some(buf.split_to(n))),
        _ => Err(DecodeError::BadLength {
            what,
            length: i64::from(len),
        }),
    }
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.remaining == 0 {
            self.done = true;
            // Kafka's Java client rejects a batch with bytes after its last record, too.
            if self.data.is_empty() {
                return None;
            }
            return Some(Err(DecodeError::Invalid {
                what: "record batch",
                reason: format!("{} bytes follow the last record", self.data.len()),
            }));
        }
        self.remaining -= 1;
        let result = self.decode_next();
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (0, Some(self.remaining.saturating_add(1)))
        }
    }
}

impl FusedIterator for Records {}

// ---------------------------------------------------------------------------------------------
// Building batches
// ---------------------------------------------------------------------------------------------

/// Builds one v2 batch: records are encoded straight into one buffer as they are pushed, and
/// `build` compresses that buffer (if asked) and fills in the header and CRC.
///
/// ```
/// # use streamctl_protocol::compression::Compression;
/// # use streamctl_protocol::record_batch::{RecordBatch, RecordBatchBuilder};
/// let mut builder = RecordBatchBuilder::new(Compression::Lz4).base_offset(42);
/// let trace: &[u8] = b"1";
/// builder.push(1_700_000_000_000, Some(b"key"), Some(b"value"), &[("trace", Some(trace))])?;
/// builder.push(1_700_000_000_001, Some(b"key"), None, &[])?; // a tombstone
/// let batch = RecordBatch::from_bytes(builder.build()?)?;
/// batch.verify_crc()?;
/// assert_eq!(batch.last_offset(), 43);
/// let records: Vec<_> = batch.records(1 << 20)?.collect::<Result<_, _>>()?;
/// assert_eq!(records[1].value, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    /// Codec applied to the records section by `build`.
    compression: Compression,
    // Header fields, written by `build` as given (see `RecordBatchHeader`).
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    // Attribute bits, written by `build`.
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
    /// Header space followed by the encoded records; for an uncompressed batch this becomes the
    /// batch itself, without another copy.
    buf: Vec<u8>,
    /// Records pushed so far, which is also the next record's offset delta.
    record_count: i32,
    /// The first record's timestamp, which the others are stored relative to (as Kafka's Java
    /// producer does).
    base_timestamp: Option<i64>,
    /// The largest timestamp pushed, for the header's `maxTimestamp`.
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// A builder for a batch compressed with `compression`, with no producer id, base offset 0
    /// and CreateTime timestamps.
    pub fn new(compression: Compression) -> Self {
        Self::with_capacity(compression, 0)
    }

    /// Like [`new`](Self::new), with room reserved for `capacity` bytes of records, so a
    /// producer filling a batch up to `batch.size` does not regrow the buffer on the way.
    pub fn with_capacity(compression: Compression, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(RECORD_BATCH_OVERHEAD.saturating_add(capacity));
        buf.resize(RECORD_BATCH_OVERHEAD, 0);
        RecordBatchBuilder {
            compression,
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            timestamp_type: TimestampType::CreateTime,
            transactional: false,
            control: false,
            buf,
            record_count: 0,
            base_timestamp: None,
            max_timestamp: NO_TIMESTAMP,
        }
    }

    /// Sets the offset of the first record (producers leave it 0; the leader assigns it).
    pub fn base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the idempotent producer's id, epoch and first sequence number.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Sets what the timestamps mean.
    pub fn timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.timestamp_type = timestamp_type;
        self
    }

    /// Sets the partition leader epoch (written by leaders, not producers).
    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Marks the batch as part of a transaction.
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as holding control records (transaction markers).
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Number of records pushed.
    pub fn len(&self) -> usize {
        usize::try_from(self.record_count).unwrap_or_default()
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// Size of the batch so far before compression, header included; what a producer compares
    /// with `batch.size`.
    pub fn uncompressed_size(&self) -> usize {
        self.buf.len()
    }

    /// Appends a record. Its offset is the next one after the records already pushed.
    pub fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<(), EncodeError> {
        let offset_delta = self.record_count;
        if offset_delta == i32::MAX {
            return Err(EncodeError::TooLong {
                what: "record batch",
                length: self.len(),
            });
        }
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp);
        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);

        // The length prefix comes first, so the size is computed before anything is written;
        // nothing is allocated per record.
        let mut size = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
        size += nullable_len(key, "record key")?;
        size += nullable_len(value, "record value")?;
        size += varint_len(length_i32(headers.len(), "record headers")?);
        for (header_key, header_value) in headers {
            size +=
                varint_len(length_i32(header_key.len(), "record header key")?) + header_key.len();
            size += nullable_len(*header_value, "record header value")?;
        }
        let size_i32 = length_i32(size, "record")?;

        let buf = &mut self.buf;
        buf.reserve(varint_len(size_i32) + size);
        put_varint(buf, size_i32);
        buf.put_i8(0); // record attributes: unused by Kafka
        put_varlong(buf, timestamp_delta);
        put_varint(buf, offset_delta);
        put_nullable(buf, key);
        put_nullable(buf, value);
        put_varint(buf, headers.len() as i32); // checked above
        for (header_key, header_value) in headers {
            put_varint(buf, header_key.len() as i32); // checked above
            buf.put_slice(header_key.as_bytes());
            put_nullable(buf, *header_value);
        }

        self.record_count += 1;
        self.max_timestamp = if self.record_count == 1 {
            timestamp
        } else {
            self.max_timestamp.max(timestamp)
        };
        Ok(())
    }

    /// Finishes the batch: compresses the records and writes the header and CRC.
    ///
    /// An empty builder gives a batch with no records and `lastOffsetDelta` 0, so that its next
    /// offset is still past its base offset and a consumer reading it cannot stall on it.
    pub fn build(self) -> Result<Bytes, EncodeError> {
        let mut out = match self.compression {
            Compression::None => self.buf,
            codec => {
                let records = self.buf.get(RECORD_BATCH_OVERHEAD..).unwrap_or_default();
                let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + records.len() / 2);
                out.resize(RECORD_BATCH_OVERHEAD, 0);
                compression::compress(codec, records, &mut out)?;
                out
            }
        };
        let batch_length = length_i32(out.len() - LOG_OVERHEAD, "record batch")?;
        let mut attributes = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if self.control {
            attributes |= CONTROL_BIT;
        }
        let header = RecordBatchHeader {
            base_offset: self.base_offset,
            batch_length,
            partition_leader_epoch: self.partition_leader_epoch,
            magic: MAGIC,
            crc: 0,
            attributes,
            last_offset_delta: (self.record_count - 1).max(0),
            base_timestamp: self.base_timestamp.unwrap_or(NO_TIMESTAMP),
            max_timestamp: self.max_timestamp,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
            record_count: self.record_count,
        };
        let header = header.to_bytes();
        if let Some(dst) = out.get_mut(..RECORD_BATCH_OVERHEAD) {
            dst.copy_from_slice(&header);
        }
        let crc = crc32c::crc32c(out.get(ATTRIBUTES_AT..).unwrap_or_default());
        if let Some(dst) = out.get_mut(CRC_AT..ATTRIBUTES_AT) {
            dst.copy_from_slice(&crc.to_be_bytes());
        }
        Ok(Bytes::from(out))
    }
}

fn length_i32(len: usize, what: &'static str) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong { what, length: len })
}

/// Bytes taken by a nullable length prefix and its data.
fn nullable_len(data: Option<&[u8]>, what: &'static str) -> Result<usize, EncodeError> {
    Ok(match data {
        None => varint_len(-1),
        Some(d) => varint_len(length_i32(d.len(), what)?) + d.len(),
    })
}

/// Writes a nullable length prefix and data; the length was checked by [`nullable_len`].
fn put_nullable(buf: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        None => put_varint(buf, -1),
        Some(d) => {
            put_varint(buf, d.len() as i32);
            buf.put_slice(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records as owned tuples, to compare decoders without caring about `Bytes` identity.
    type Flat = (
        i64,
        i64,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Vec<(String, Option<Vec<u8>>)>,
    );

    fn flat(r: &Record) -> Flat {
        (
            r.offset,
            r.timestamp,
            r.key.as_ref().map(|b| b.to_vec()),
            r.value.as_ref().map(|b| b.to_vec()),
            r.headers
                .iter()
                .map(|h| (h.key.clone(), h.value.as_ref().map(|b| b.to_vec())))
                .collect(),
        )
    }

    fn decode_all(batch: &RecordBatch) -> Vec<Flat> {
        batch
            .records(1 << 24)
            .unwrap()
            .map(|r| flat(&r.unwrap()))
            .collect()
    }

    /// A few records covering null keys, null values, empty values, duplicate and null-valued
    /// headers and a timestamp that goes backwards.
    fn sample_records(base_offset: i64) -> Vec<Flat> {
        let dup: Vec<(String, Option<Vec<u8>>)> = vec![
            ("trace".into(), Some(b"a".to_vec())),
            ("trace".into(), Some(b"b".to_vec())),
            ("empty".into(), None),
        ];
        vec![
            (
                base_offset,
                1_000,
                Some(b"k1".to_vec()),
                Some(b"v1".to_vec()),
                vec![],
            ),
            (base_offset + 1, 1_005, None, Some(vec![7; 300]), dup),
            (base_offset + 2, 999, Some(b"k3".to_vec()), None, vec![]),
            (
                base_offset + 3,
                2_000,
                None,
                None,
                vec![("h".into(), Some(vec![]))],
            ),
            (base_offset + 4, 1_500, Some(vec![]), Some(vec![]), vec![]),
        ]
    }

    fn build(codec: Compression, records: &[Flat]) -> RecordBatchBuilder {
        let mut b = RecordBatchBuilder::new(codec)
            .base_offset(records.first().map_or(0, |r| r.0))
            .producer(4_000, 3, 17)
            .partition_leader_epoch(9);
        for (_, ts, key, value, headers) in records {
            let headers: Vec<(&str, Option<&[u8]>)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            b.push(*ts, key.as_deref(), value.as_deref(), &headers)
                .unwrap();
        }
        b
    }

    /// Assembles a batch around a given records section, with a correct length and CRC.
    fn assemble(mut header: RecordBatchHeader, body: &[u8]) -> Bytes {
        header.batch_length = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD + body.len()) as i32;
        let mut out = header.to_bytes().to_vec();
        out.extend_from_slice(body);
        let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
        out[CRC_AT..ATTRIBUTES_AT].copy_from_slice(&crc.to_be_bytes());
        Bytes::from(out)
    }

    fn uncompressed_sample() -> RecordBatch {
        RecordBatch::from_bytes(
            build(Compression::None, &sample_records(100))
                .build()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn crc32c_matches_the_known_vector() {
        // The check value of CRC-32C (Castagnoli), from the catalogue of CRC algorithms.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn every_codec_round_trips_through_build_parse_and_records() {
        let records = sample_records(100);
        for codec in Compression::ALL {
            let bytes = build(codec, &records)
                .timestamp_type(TimestampType::CreateTime)
                .transactional(true)
                .build()
                .unwrap();
            let mut buf = bytes.clone();
            let batch = RecordBatch::parse(&mut buf).unwrap();
            assert!(buf.is_empty());
            batch.verify_crc().unwrap();
            assert_eq!(batch.compression(), codec);
            assert_eq!(batch.magic(), MAGIC);
            assert_eq!(batch.base_offset(), 100);
            assert_eq!(batch.last_offset_delta(), 4);
            assert_eq!(batch.last_offset(), 104);
            assert_eq!(batch.next_offset(), 105);
            assert_eq!(batch.record_count(), 5);
            assert_eq!(batch.base_timestamp(), 1_000);
            assert_eq!(batch.max_timestamp(), 2_000);
            assert_eq!(batch.producer_id(), 4_000);
            assert_eq!(batch.producer_epoch(), 3);
            assert_eq!(batch.base_sequence(), 17);
            assert_eq!(batch.last_sequence(), 21);
            assert_eq!(batch.partition_leader_epoch(), 9);
            assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
            assert!(batch.is_transactional());
            assert!(!batch.is_control());
            assert_eq!(batch.size(), bytes.len());
            assert_eq!(batch.batch_length() as usize, bytes.len() - LOG_OVERHEAD);
            assert_eq!(batch.as_bytes(), &bytes);
            assert_eq!(decode_all(&batch), records, "{codec}");
        }
    }

    #[test]
    fn a_preallocated_builder_writes_the_same_bytes() {
        for codec in Compression::ALL {
            let mut plain = RecordBatchBuilder::new(codec);
            let mut reserved = RecordBatchBuilder::with_capacity(codec, 16_384);
            for i in 0..50u8 {
                let value = [i; 37];
                plain.push(1_000, Some(&[i]), Some(&value), &[]).unwrap();
                reserved.push(1_000, Some(&[i]), Some(&value), &[]).unwrap();
            }
            assert_eq!(plain.uncompressed_size(), reserved.uncompressed_size());
            assert_eq!(plain.build().unwrap(), reserved.build().unwrap(), "{codec}");
        }
    }

    #[test]
    fn uncompressed_keys_and_values_are_slices_of_the_batch() {
        let batch = uncompressed_sample();
        let range = batch.as_bytes().as_ptr_range();
        for record in batch.records(0).unwrap() {
            let record = record.unwrap();
            for part in [&record.key, &record.value].into_iter().flatten() {
                if !part.is_empty() {
                    assert!(range.contains(&part.as_ptr()), "copied instead of sliced");
                }
            }
        }
    }

    #[test]
    fn batches_with_snappy_in_both_framings_decode() {
        let records = sample_records(0);
        let plain = build(Compression::None, &records).build().unwrap();
        let header = RecordBatchHeader::read(&plain).unwrap();
        let body = &plain[RECORD_BATCH_OVERHEAD..];
        let snappy_header = RecordBatchHeader {
            attributes: header.attributes | i16::from(Compression::Snappy.id()),
            ..header
        };

        let raw = snap::raw::Encoder::new().compress_vec(body).unwrap();
        // snappy-java's framing, in 64-byte blocks so that there are several.
        let mut xerial = vec![
            0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
        ];
        for chunk in body.chunks(64) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            xerial.extend_from_slice(&(block.len() as u32).to_be_bytes());
            xerial.extend_from_slice(&block);
        }
        for framed in [raw, xerial] {
            let batch = RecordBatch::from_bytes(assemble(snappy_header, &framed)).unwrap();
            batch.verify_crc().unwrap();
            assert_eq!(batch.compression(), Compression::Snappy);
            assert_eq!(decode_all(&batch), records);
        }
    }

    #[test]
    fn a_decompression_bomb_over_the_cap_is_an_error() {
        // One record with a 4 MiB value of zeros compresses to almost nothing.
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut b = RecordBatchBuilder::new(codec);
            b.push(0, None, Some(&vec![0u8; 4 << 20]), &[]).unwrap();
            let bytes = b.build().unwrap();
            assert!(bytes.len() < 512 << 10, "{codec}: {}", bytes.len());
            let batch = RecordBatch::from_bytes(bytes).unwrap();
            let err = batch.records(1 << 20).unwrap_err();
            assert!(
                matches!(err, DecodeError::Decompression { .. }),
                "{codec}: {err}"
            );
            assert_eq!(batch.records(5 << 20).unwrap().count(), 1);
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_crc_except_in_the_fields_it_leaves_out() {
        for codec in [Compression::None, Compression::Zstd] {
            let bytes = build(codec, &sample_records(0)).build().unwrap();
            for at in 0..bytes.len() {
                let mut corrupt = bytes.to_vec();
                corrupt[at] ^= 0x10;
                let Ok(batch) = RecordBatch::from_bytes(Bytes::from(corrupt)) else {
                    continue; // the header no longer parses: also caught
                };
                let covered = at >= ATTRIBUTES_AT || (CRC_AT..ATTRIBUTES_AT).contains(&at);
                assert_eq!(batch.verify_crc().is_err(), covered, "{codec} byte {at}");
            }
        }
    }

    #[test]
    fn offsets_and_leader_epochs_are_rewritten_without_touching_the_crc() {
        let mut batch = uncompressed_sample();
        let crc = batch.crc();
        batch.set_base_offset(1_000_000);
        batch.set_partition_leader_epoch(77);
        batch.verify_crc().unwrap();
        assert_eq!(batch.crc(), crc);
        let reparsed = RecordBatch::from_bytes(batch.as_bytes().clone()).unwrap();
        assert_eq!(reparsed.header(), batch.header());
        assert_eq!(reparsed.base_offset(), 1_000_000);
        assert_eq!(reparsed.partition_leader_epoch(), 77);
        let offsets: Vec<i64> = decode_all(&reparsed).iter().map(|r| r.0).collect();
        assert_eq!(
            offsets,
            vec![1_000_000, 1_000_001, 1_000_002, 1_000_003, 1_000_004]
        );

        // A batch whose bytes are shared is copied, and the other holder sees no change.
        let shared = batch.as_bytes().clone();
        batch.set_base_offset(5);
        assert_eq!(
            RecordBatch::from_bytes(shared).unwrap().base_offset(),
            1_000_000
        );
        assert_eq!(batch.base_offset(), 5);

        // The in-place form, as a log writes into its own buffer.
        let mut raw = batch.as_bytes().to_vec();
        rewrite_base_offset(&mut raw, 9).unwrap();
        rewrite_partition_leader_epoch(&mut raw, 3).unwrap();
        let b = RecordBatch::from_bytes(Bytes::from(raw)).unwrap();
        b.verify_crc().unwrap();
        assert_eq!((b.base_offset(), b.partition_leader_epoch()), (9, 3));
        assert!(rewrite_base_offset(&mut [0u8; 5], 1).is_err());
        let mut legacy = vec![0u8; 40];
        legacy[11] = 28;
        legacy[MAGIC_AT] = 1;
        assert_eq!(
            rewrite_base_offset(&mut legacy, 1),
            Err(DecodeError::UnsupportedMagic(1))
        );
    }

    #[test]
    fn a_truncated_batch_is_an_error_and_leaves_the_input_alone() {
        let bytes = build(Compression::Gzip, &sample_records(0))
            .build()
            .unwrap();
        for len in 0..bytes.len() {
            let mut cut = bytes.slice(..len);
            let err = RecordBatch::parse(&mut cut).unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "length {len}: {err}"
            );
            assert_eq!(cut.len(), len);
        }
    }

    #[test]
    fn header_checks() {
        let bytes = uncompressed_sample().into_bytes();
        let with = |at: usize, value: &[u8]| {
            let mut b = bytes.to_vec();
            b[at..at + value.len()].copy_from_slice(value);
            Bytes::from(b)
        };
        assert_eq!(
            RecordBatch::from_bytes(with(MAGIC_AT, &[1])),
            Err(DecodeError::UnsupportedMagic(1))
        );
        assert!(matches!(
            RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &(-1i32).to_be_bytes())),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &48i32.to_be_bytes())),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            RecordBatch::from_bytes(with(BATCH_LENGTH_AT, &i32::MAX.to_be_bytes())),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            RecordBatch::from_bytes(with(ATTRIBUTES_AT + 1, &[6])),
            Err(DecodeError::UnknownCompression(6))
        );
        let mut two = bytes.to_vec();
        two.push(0);
        assert!(matches!(
            RecordBatch::from_bytes(Bytes::from(two)),
            Err(DecodeError::Invalid { .. })
        ));
    }

    #[test]
    fn record_counts_and_lengths_are_checked() {
        let plain = build(Compression::None, &sample_records(0))
            .build()
            .unwrap();
        let header = RecordBatchHeader::read(&plain).unwrap();
        let body = plain[RECORD_BATCH_OVERHEAD..].to_vec();
        let with_count = |count: i32| {
            RecordBatch::from_bytes(assemble(
                RecordBatchHeader {
                    record_count: count,
                    ..header
                },
                &body,
            ))
            .unwrap()
        };

        // A count claiming more records than the bytes can hold fails before iterating.
        assert!(matches!(
            with_count(i32::MAX).records(0),
            Err(DecodeError::Invalid { .. })
        ));
        assert!(with_count(-1).records(0).is_err());
        // One more than present: the five decode, then the sixth is cut short.
        let results: Vec<_> = with_count(6).records(0).unwrap().collect();
        assert_eq!(results.len(), 6);
        assert!(results[..5].iter().all(Result::is_ok));
        assert!(results[5].is_err());
        // One fewer: bytes are left after the last record.
        let results: Vec<_> = with_count(4).records(0).unwrap().collect();
        assert_eq!(results.len(), 5);
        assert!(matches!(results[4], Err(DecodeError::Invalid { .. })));

        // A record length that disagrees with the record's fields (longer, then shorter).
        let mut long = body.clone();
        long[0] = 0x7e; // varint 63, while the first record is shorter and the rest follows
        let mut records = RecordBatch::from_bytes(assemble(header, &long))
            .unwrap()
            .records(0)
            .unwrap();
        assert!(records.next().unwrap().is_err());
        assert!(
            records.next().is_none(),
            "the iterator stops after an error"
        );
        // A record length reaching past the end of the records.
        let header_one = RecordBatchHeader {
            record_count: 1,
            ..header
        };
        let cut = RecordBatch::from_bytes(assemble(header_one, &body[..MIN_RECORD_SIZE]))
            .unwrap()
            .records(0)
            .unwrap()
            .next()
            .unwrap();
        assert!(
            matches!(cut, Err(DecodeError::BadLength { what: "record", .. })),
            "{cut:?}"
        );
        // A record length shorter than the record's fields.
        let mut short = body.clone();
        short[0] -= 2;
        assert!(RecordBatch::from_bytes(assemble(header, &short))
            .unwrap()
            .records(0)
            .unwrap()
            .next()
            .unwrap()
            .is_err());
    }

    #[test]
    fn log_append_time_gives_every_record_the_batch_timestamp() {
        let plain = build(Compression::None, &sample_records(0))
            .build()
            .unwrap();
        let mut header = RecordBatchHeader::read(&plain).unwrap();
        header.attributes |= TIMESTAMP_TYPE_BIT;
        header.max_timestamp = 424_242;
        let batch =
            RecordBatch::from_bytes(assemble(header, &plain[RECORD_BATCH_OVERHEAD..])).unwrap();
        assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
        assert!(decode_all(&batch).iter().all(|r| r.1 == 424_242));
    }

    #[test]
    fn header_keys_that_are_not_utf8_are_read_like_java_reads_them() {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.push(0, None, None, &[("ab", None)]).unwrap();
        let mut bytes = b.build().unwrap().to_vec();
        let at = bytes.windows(2).rposition(|w| w == b"ab").unwrap();
        bytes[at] = 0xff;
        let batch = RecordBatch::from_bytes(Bytes::from(bytes)).unwrap();
        let record = batch.records(0).unwrap().next().unwrap().unwrap();
        assert_eq!(record.headers[0].key, "\u{FFFD}b");
    }

    #[test]
    fn control_flag_and_empty_builder() {
        let batch = RecordBatch::from_bytes(
            RecordBatchBuilder::new(Compression::None)
                .base_offset(7)
                .control(true)
                .build()
                .unwrap(),
        )
        .unwrap();
        assert!(batch.is_control());
        assert_eq!(batch.record_count(), 0);
        assert_eq!(batch.size(), RECORD_BATCH_OVERHEAD);
        assert_eq!(batch.base_timestamp(), NO_TIMESTAMP);
        assert!(batch.next_offset() > batch.base_offset());
        assert_eq!(batch.records(0).unwrap().count(), 0);
    }

    #[test]
    fn sequences_wrap_like_kafka() {
        let mut b = RecordBatchBuilder::new(Compression::None).producer(1, 0, i32::MAX - 1);
        for _ in 0..4 {
            b.push(0, None, None, &[]).unwrap();
        }
        let batch = RecordBatch::from_bytes(b.build().unwrap()).unwrap();
        // MAX-1, MAX, 0, 1
        assert_eq!(batch.last_sequence(), 1);
        let none =
            RecordBatch::from_bytes(RecordBatchBuilder::new(Compression::None).build().unwrap())
                .unwrap();
        assert_eq!(none.last_sequence(), NO_SEQUENCE);
    }

    #[test]
    fn fetch_records_split_into_batches_and_a_partial_tail_is_dropped() {
        let first = build(Compression::None, &sample_records(0))
            .build()
            .unwrap();
        let second = build(Compression::Lz4, &sample_records(5)).build().unwrap();
        let third = build(Compression::Snappy, &sample_records(10))
            .build()
            .unwrap();
        let mut all = [&first[..], &second[..], &third[..]].concat();
        let whole = all.len();

        let batches: Vec<_> = RecordBatches::new(Bytes::from(all.clone()))
            .collect::<Result<_, _>>()
            .unwrap();
        let offsets: Vec<i64> = batches.iter().map(RecordBatch::base_offset).collect();
        assert_eq!(offsets, vec![0, 5, 10]);

        // Every cut inside the third batch yields the first two and stops quietly.
        for cut in first.len() + second.len()..whole {
            let mut iter = RecordBatches::new(Bytes::from(all[..cut].to_vec()));
            let got: Vec<_> = iter.by_ref().collect::<Result<_, _>>().unwrap();
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(iter.remaining().len(), cut - first.len() - second.len());
        }

        // A corrupt length in the middle is an error, reported once.
        let at = first.len() + BATCH_LENGTH_AT;
        all[at..at + 4].copy_from_slice(&10i32.to_be_bytes());
        let results: Vec<_> = RecordBatches::new(Bytes::from(all)).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(DecodeError::BadLength { .. })));
    }

    // -----------------------------------------------------------------------------------------
    // Differential tests against kafka-protocol 0.18
    // -----------------------------------------------------------------------------------------

    mod oracle {
        //! Glue to kafka-protocol's record codec. kafka-protocol is built here without its
        //! codec features, so compressed batches go through its custom-compression hooks with
        //! codecs written in this file straight on the underlying crates: snappy in Java's
        //! xerial framing, lz4 and zstd as frames, gzip as one member.
        use std::io::{Read, Write};

        use bytes::{BufMut, Bytes, BytesMut};
        use kafka_protocol::protocol::StrBytes;
        use kafka_protocol::records::{
            Compression as KCompression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder,
            RecordEncodeOptions, TimestampType as KTimestampType,
        };

        use super::Flat;
        use crate::compression::Compression;

        pub fn codec(c: Compression) -> KCompression {
            match c {
                Compression::None => KCompression::None,
                Compression::Gzip => KCompression::Gzip,
                Compression::Snappy => KCompression::Snappy,
                Compression::Lz4 => KCompression::Lz4,
                Compression::Zstd => KCompression::Zstd,
            }
        }

        fn compress(codec: KCompression, input: &[u8]) -> Vec<u8> {
            match codec {
                KCompression::None => input.to_vec(),
                KCompression::Gzip => {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(input).unwrap();
                    e.finish().unwrap()
                }
                KCompression::Snappy => {
                    let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
                    for chunk in input.chunks(32 * 1024) {
                        let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                        out.extend_from_slice(&block);
                    }
                    out
                }
                KCompression::Lz4 => {
                    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                    e.write_all(input).unwrap();
                    e.finish().unwrap()
                }
                KCompression::Zstd => ruzstd::encoding::compress_to_vec(
                    input,
                    ruzstd::encoding::CompressionLevel::Uncompressed,
                ),
            }
        }

        fn decompress(codec: KCompression, input: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            match codec {
                KCompression::None => out.extend_from_slice(input),
                KCompression::Gzip => {
                    flate2::read::GzDecoder::new(input)
                        .read_to_end(&mut out)
                        .unwrap();
                }
                KCompression::Snappy => {
                    out = snap::raw::Decoder::new().decompress_vec(input).unwrap()
                }
                KCompression::Lz4 => {
                    lz4_flex::frame::FrameDecoder::new(input)
                        .read_to_end(&mut out)
                        .unwrap();
                }
                KCompression::Zstd => {
                    ruzstd::decoding::StreamingDecoder::new(input)
                        .unwrap()
                        .read_to_end(&mut out)
                        .unwrap();
                }
            }
            out
        }

        pub struct Producer {
            pub id: i64,
            pub epoch: i16,
            pub base_sequence: i32,
            pub leader_epoch: i32,
            pub transactional: bool,
        }

        pub fn encode(c: Compression, records: &[Flat], p: &Producer) -> Bytes {
            let base = records[0].0;
            let records: Vec<KRecord> = records
                .iter()
                .map(|(offset, timestamp, key, value, headers)| KRecord {
                    transactional: p.transactional,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: p.leader_epoch,
                    producer_id: p.id,
                    producer_epoch: p.epoch,
                    timestamp_type: KTimestampType::Creation,
                    offset: *offset,
                    sequence: p.base_sequence + (offset - base) as i32,
                    timestamp: *timestamp,
                    key: key.clone().map(Bytes::from),
                    value: value.clone().map(Bytes::from),
                    headers: headers
                        .iter()
                        .map(|(k, v)| {
                            (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from))
                        })
                        .collect(),
                })
                .collect();
            let options = RecordEncodeOptions {
                version: 2,
                compression: codec(c),
            };
            let mut buf = BytesMut::new();
            let compressor = |records: &mut BytesMut, out: &mut BytesMut, codec: KCompression| {
                out.put_slice(&compress(codec, records));
                Ok(())
            };
            RecordBatchEncoder::encode_with_custom_compression(
                &mut buf,
                &records,
                &options,
                Some(compressor),
            )
            .unwrap();
            buf.freeze()
        }

        pub fn decode(batch: &Bytes) -> Vec<Flat> {
            let mut buf = batch.clone();
            let decompressor =
                |body: &mut Bytes, codec: KCompression| Ok(Bytes::from(decompress(codec, body)));
            let set =
                RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(decompressor))
                    .unwrap();
            assert!(buf.is_empty());
            set.records
                .iter()
                .map(|r| {
                    (
                        r.offset,
                        r.timestamp,
                        r.key.as_ref().map(|b| b.to_vec()),
                        r.value.as_ref().map(|b| b.to_vec()),
                        r.headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
                            .collect(),
                    )
                })
                .collect()
        }

        /// kafka-protocol's own codecs (no hooks) for uncompressed batches.
        pub fn decode_plain(batch: &Bytes) -> usize {
            let mut buf = batch.clone();
            RecordBatchDecoder::decode(&mut buf).unwrap().records.len()
        }
    }

    /// Records kafka-protocol can represent: its headers are a map, so keys must be unique, and
    /// its base timestamp is the minimum, so the first record carries the smallest timestamp
    /// (which also makes the uncompressed bytes comparable).
    fn oracle_records(base_offset: i64) -> Vec<Flat> {
        vec![
            (
                base_offset,
                500,
                Some(b"k1".to_vec()),
                Some(b"v1".to_vec()),
                vec![],
            ),
            (
                base_offset + 1,
                1_005,
                None,
                Some(vec![7; 300]),
                vec![
                    ("trace".into(), Some(b"a".to_vec())),
                    ("span".into(), Some(b"b".to_vec())),
                    ("empty".into(), None),
                ],
            ),
            (base_offset + 2, 999, Some(b"k3".to_vec()), None, vec![]),
            (
                base_offset + 3,
                2_000,
                None,
                None,
                vec![("h".into(), Some(vec![]))],
            ),
            (base_offset + 4, 1_500, Some(vec![]), Some(vec![]), vec![]),
        ]
    }

    const PRODUCER: oracle::Producer = oracle::Producer {
        id: 4_000,
        epoch: 3,
        base_sequence: 17,
        leader_epoch: 9,
        transactional: true,
    };

    #[test]
    fn differential_kafka_protocol_encodes_we_decode() {
        for codec in Compression::ALL {
            let records = oracle_records(1_000);
            let bytes = oracle::encode(codec, &records, &PRODUCER);
            let batch = RecordBatch::from_bytes(bytes).unwrap();
            batch.verify_crc().unwrap();
            assert_eq!(batch.compression(), codec);
            assert_eq!(batch.base_offset(), 1_000);
            assert_eq!(batch.last_offset(), 1_004);
            assert_eq!(batch.record_count(), 5);
            assert_eq!(batch.max_timestamp(), 2_000);
            assert_eq!(batch.base_timestamp(), 500);
            assert_eq!(batch.producer_id(), PRODUCER.id);
            assert_eq!(batch.producer_epoch(), PRODUCER.epoch);
            assert_eq!(batch.base_sequence(), PRODUCER.base_sequence);
            assert_eq!(batch.partition_leader_epoch(), PRODUCER.leader_epoch);
            assert!(batch.is_transactional());
            assert_eq!(decode_all(&batch), records, "{codec}");
        }
    }

    #[test]
    fn differential_we_encode_kafka_protocol_decodes() {
        for codec in Compression::ALL {
            let records = oracle_records(1_000);
            let bytes = build(codec, &records).transactional(true).build().unwrap();
            assert_eq!(oracle::decode(&bytes), records, "{codec}");
        }
        // kafka-protocol's built-in path for uncompressed batches, without hooks.
        let bytes = build(Compression::None, &oracle_records(0))
            .build()
            .unwrap();
        assert_eq!(oracle::decode_plain(&bytes), 5);
    }

    #[test]
    fn differential_uncompressed_batches_are_byte_identical() {
        let records = oracle_records(1_000);
        let ours = build(Compression::None, &records)
            .transactional(true)
            .build()
            .unwrap();
        let theirs = oracle::encode(Compression::None, &records, &PRODUCER);
        assert_eq!(ours, theirs);
    }

    // -----------------------------------------------------------------------------------------
    // Hostile input
    // -----------------------------------------------------------------------------------------

    fn exercise(bytes: Bytes) {
        for batch in RecordBatches::new(bytes.clone()) {
            let Ok(batch) = batch else { break };
            let _ = batch.verify_crc();
            let _ = (
                batch.last_offset(),
                batch.next_offset(),
                batch.last_sequence(),
            );
            if let Ok(records) = batch.records(1 << 16) {
                for record in records {
                    let _ = record;
                }
            }
        }
        let mut buf = bytes;
        let _ = RecordBatch::parse(&mut buf);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            exercise(Bytes::from(data));
        }

        #[test]
        fn random_bytes_behind_a_valid_header_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            codec in 0u8..5,
            count in any::<i32>(),
            attributes in any::<i16>(),
        ) {
            // Random records behind a header that parses, so the record decoder is reached.
            let header = RecordBatchHeader {
                base_offset: i64::MAX - 2,
                batch_length: 0,
                partition_leader_epoch: 0,
                magic: MAGIC,
                crc: 0,
                attributes: (attributes & !0x07) | i16::from(codec),
                last_offset_delta: i32::MAX,
                base_timestamp: i64::MIN,
                max_timestamp: i64::MAX,
                producer_id: -1,
                producer_epoch: -1,
                base_sequence: i32::MAX,
                record_count: count % 64,
            };
            exercise(assemble(header, &body));
        }

        #[test]
        fn corrupted_valid_batches_never_panic(
            codec in 0u8..5,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let codec = Compression::from_id(codec).unwrap();
            let mut bytes = build(codec, &sample_records(0)).build().unwrap().to_vec();
            for (at, xor) in flips {
                // Mostly inside the records, where the header checks do not reach.
                let len = bytes.len();
                bytes[at % len] ^= xor;
            }
            exercise(Bytes::from(bytes));
        }

        #[test]
        fn built_batches_round_trip(
            codec in 0u8..5,
            records in proptest::collection::vec(
                (
                    any::<i64>(),
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                    proptest::collection::vec(
                        ("[a-z]{0,5}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))),
                        0..4,
                    ),
                ),
                1..20,
            ),
        ) {
            let codec = Compression::from_id(codec).unwrap();
            let flats: Vec<Flat> = records
                .into_iter()
                .enumerate()
                .map(|(i, (ts, k, v, h))| (i as i64, ts, k, v, h))
                .collect();
            let batch = RecordBatch::from_bytes(build(codec, &flats).build().unwrap()).unwrap();
            batch.verify_crc().unwrap();
            prop_assert_eq!(batch.max_timestamp(), flats.iter().map(|r| r.1).max().unwrap());
            prop_assert_eq!(decode_all(&batch), flats);
        }
    }
}
