//! Encoding: [`RecordBatchBuilder`] writes records into one buffer and `build` finishes the
//! batch (compression, header, CRC).

use super::*;

/// Builds one v2 batch: records are encoded straight into one buffer as they are pushed, and
/// `build` compresses that buffer (if asked) and fills in the header and CRC.
///
/// ```
/// # use streamctl_protocol::compression::Compression;
/// # use streamctl_protocol::record_batch::{HeaderRef, RecordBatch, RecordBatchBuilder};
/// let mut builder = RecordBatchBuilder::new(Compression::Lz4).base_offset(42);
/// builder.push(1_700_000_000_000, Some(b"key"), Some(b"value"), &[HeaderRef::new("trace", b"1")])?;
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
    /// Records pushed so far.
    record_count: i32,
    /// The offset delta of the next record pushed with [`push`](Self::push): one past the
    /// last record's (equal to the count unless records were pushed with gaps).
    next_offset_delta: i32,
    /// Overrides the header's `lastOffsetDelta` (a compacted batch keeps its original one).
    last_offset_delta: Option<i32>,
    /// The first record's timestamp, which the others are stored relative to (as Kafka's Java
    /// producer does); the delete horizon instead when one is set.
    base_timestamp: Option<i64>,
    /// Whether `base_timestamp` is a delete horizon (KIP-534), flagged in the attributes.
    delete_horizon: bool,
    /// The largest timestamp pushed, for the header's `maxTimestamp`.
    max_timestamp: i64,
    /// The header's `maxTimestamp` under LogAppendTime, when set explicitly.
    append_time: Option<i64>,
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
            next_offset_delta: 0,
            last_offset_delta: None,
            base_timestamp: None,
            delete_horizon: false,
            max_timestamp: NO_TIMESTAMP,
            append_time: None,
        }
    }

    /// A builder for a copy of `batch` that will hold some of its records (the log cleaner's
    /// rewrite, as Kafka's `buildRetainedRecordsInto`): same base offset, producer fields,
    /// leader epoch, codec and flags, and the same `lastOffsetDelta` however many records are
    /// kept, so the producer's last sequence survives compaction. Push the kept records with
    /// [`push_record`](Self::push_record). Under LogAppendTime the batch keeps its append time.
    pub fn retaining(batch: &RecordBatch) -> Self {
        let h = batch.header();
        let mut builder = Self::new(batch.compression())
            .base_offset(h.base_offset)
            .producer(h.producer_id, h.producer_epoch, h.base_sequence)
            .partition_leader_epoch(h.partition_leader_epoch)
            .timestamp_type(batch.timestamp_type())
            .transactional(batch.is_transactional())
            .control(batch.is_control());
        builder.last_offset_delta = Some(h.last_offset_delta);
        if batch.timestamp_type() == TimestampType::LogAppendTime {
            builder.append_time = Some(h.max_timestamp);
        }
        builder
    }

    /// Stores `horizon_ms` (when the batch's tombstones and markers may be removed, KIP-534)
    /// as the base timestamp and flags it; record timestamps are unchanged, stored relative to
    /// it. Call before pushing records.
    pub fn delete_horizon(mut self, horizon_ms: i64) -> Self {
        self.base_timestamp = Some(horizon_ms);
        self.delete_horizon = true;
        self
    }

    /// Appends a decoded record at its own offset (which must be past the last one pushed and
    /// within the batch's offsets) with its own timestamp, key, value and headers.
    pub fn push_record(&mut self, record: &Record) -> Result<(), EncodeError> {
        let delta = record
            .offset
            .checked_sub(self.base_offset)
            .and_then(|d| i32::try_from(d).ok())
            .filter(|d| *d >= self.next_offset_delta)
            .ok_or(EncodeError::Invalid {
                what: "record offset",
                reason: format!(
                    "offset {} is not after the last record of a batch based at {}",
                    record.offset, self.base_offset
                ),
            })?;
        let headers: Vec<HeaderRef<'_>> = record.headers.iter().map(HeaderRef::from).collect();
        self.push_at(
            delta,
            record.timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            &headers,
        )
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
        headers: &[HeaderRef<'_>],
    ) -> Result<(), EncodeError> {
        self.push_at(self.next_offset_delta, timestamp, key, value, headers)
    }

    fn push_at(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[HeaderRef<'_>],
    ) -> Result<(), EncodeError> {
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
        for header in headers {
            size +=
                varint_len(length_i32(header.key.len(), "record header key")?) + header.key.len();
            size += nullable_len(header.value, "record header value")?;
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
        for header in headers {
            put_varint(buf, header.key.len() as i32); // checked above
            buf.put_slice(header.key.as_bytes());
            put_nullable(buf, header.value);
        }

        self.record_count += 1;
        self.next_offset_delta = offset_delta + 1;
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
        if self.delete_horizon {
            attributes |= DELETE_HORIZON_BIT;
        }
        let header = RecordBatchHeader {
            base_offset: self.base_offset,
            batch_length,
            partition_leader_epoch: self.partition_leader_epoch,
            magic: MAGIC,
            crc: 0,
            attributes,
            last_offset_delta: self
                .last_offset_delta
                .unwrap_or((self.next_offset_delta - 1).max(0)),
            base_timestamp: self.base_timestamp.unwrap_or(NO_TIMESTAMP),
            max_timestamp: self.append_time.unwrap_or(self.max_timestamp),
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
