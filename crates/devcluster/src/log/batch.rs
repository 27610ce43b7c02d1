//! Just enough of a v2 record batch header for the log: where a batch ends, which offsets and
//! timestamps it covers, and whether its bytes are whole.
//!
//! The log works on `&[u8]` straight from a produce request or a file, so it reads the fixed
//! 61-byte header itself instead of wrapping every batch in a `Bytes` for
//! [`streamctl_protocol::record_batch::RecordBatch`]. The layout is documented there.

use std::fmt;

use streamctl_protocol::record_batch::{LOG_OVERHEAD, MAGIC, RECORD_BATCH_OVERHEAD};

/// Bytes of a batch header: what must be read to learn a batch's size and offsets.
pub(super) const HEADER_SIZE: usize = RECORD_BATCH_OVERHEAD;

const BATCH_LENGTH_AT: usize = 8;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// The CRC covers everything from `attributes` on.
const CRC_FROM: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const MAX_TIMESTAMP_AT: usize = 35;
const RECORD_COUNT_AT: usize = 57;

/// The header fields the log needs, read from a batch whose shape was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BatchHeader {
    /// Offset of the first record.
    pub(super) base_offset: i64,
    /// Size of the whole batch, `LOG_OVERHEAD` included.
    pub(super) size: usize,
    /// Offset of the last record; `base_offset + lastOffsetDelta`, checked not to overflow.
    pub(super) last_offset: i64,
    /// Largest record timestamp, or the append time.
    pub(super) max_timestamp: i64,
    /// Records the batch claims; only used to count messages for `flush.messages`.
    pub(super) record_count: i32,
    /// CRC-32C stored in the header.
    crc: u32,
}

impl BatchHeader {
    /// The offset after the batch.
    pub(super) fn next_offset(&self) -> i64 {
        // `parse_header` rejects a last offset of i64::MAX, so this cannot overflow.
        self.last_offset.saturating_add(1)
    }
}

/// Why bytes are not a whole, valid batch. Recovery truncates at the first one; an append
/// rejects the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BatchFault {
    /// The bytes end before the header or the batch does.
    Truncated { needed: usize },
    /// `batchLength` is smaller than a header or negative.
    BadLength(i32),
    /// A magic byte other than 2 (legacy message sets are not stored).
    BadMagic(i8),
    /// Offsets that are negative or overflow.
    BadOffsets {
        base_offset: i64,
        last_offset_delta: i32,
    },
    /// The stored CRC-32C does not match the bytes.
    BadCrc { stored: u32, computed: u32 },
}

impl fmt::Display for BatchFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchFault::Truncated { needed } => {
                write!(f, "batch cut short: {needed} more bytes needed")
            }
            BatchFault::BadLength(length) => write!(f, "bad batch length {length}"),
            BatchFault::BadMagic(magic) => write!(f, "unsupported magic {magic}"),
            BatchFault::BadOffsets {
                base_offset,
                last_offset_delta,
            } => write!(
                f,
                "bad offsets: base offset {base_offset}, last offset delta {last_offset_delta}"
            ),
            BatchFault::BadCrc { stored, computed } => write!(
                f,
                "crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
        }
    }
}

fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
}

fn i64_at(buf: &[u8], at: usize) -> Option<i64> {
    array(buf, at).map(i64::from_be_bytes)
}

fn i32_at(buf: &[u8], at: usize) -> Option<i32> {
    array(buf, at).map(i32::from_be_bytes)
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    array(buf, at).map(u32::from_be_bytes)
}

/// Reads and checks the header at the front of `buf` (at least [`HEADER_SIZE`] bytes); the
/// rest of the batch need not be there and the CRC is not checked.
pub(super) fn parse_header(buf: &[u8]) -> Result<BatchHeader, BatchFault> {
    // Every field lies inside the first HEADER_SIZE bytes, so once that many are present no
    // field read below can come up short.
    fn field<T>(value: Option<T>) -> Result<T, BatchFault> {
        value.ok_or(BatchFault::Truncated { needed: 0 })
    }
    if buf.len() < HEADER_SIZE {
        return Err(BatchFault::Truncated {
            needed: HEADER_SIZE - buf.len(),
        });
    }
    let base_offset = field(i64_at(buf, 0))?;
    let length = field(i32_at(buf, BATCH_LENGTH_AT))?;
    let magic = field(buf.get(MAGIC_AT).map(|&m| m as i8))?;
    // A torn tail usually reads as zeros, which is a bad length; check it first so that the
    // warning names that rather than the magic.
    let size = usize::try_from(length)
        .ok()
        .filter(|&len| len >= HEADER_SIZE - LOG_OVERHEAD)
        .and_then(|len| len.checked_add(LOG_OVERHEAD))
        .ok_or(BatchFault::BadLength(length))?;
    if magic != MAGIC {
        return Err(BatchFault::BadMagic(magic));
    }
    let last_offset_delta = field(i32_at(buf, LAST_OFFSET_DELTA_AT))?;
    let last_offset = Some(base_offset)
        .filter(|&base| base >= 0 && last_offset_delta >= 0)
        .and_then(|base| base.checked_add(i64::from(last_offset_delta)))
        // The next offset must exist too.
        .filter(|&last| last < i64::MAX)
        .ok_or(BatchFault::BadOffsets {
            base_offset,
            last_offset_delta,
        })?;
    Ok(BatchHeader {
        base_offset,
        size,
        last_offset,
        max_timestamp: field(i64_at(buf, MAX_TIMESTAMP_AT))?,
        record_count: field(i32_at(buf, RECORD_COUNT_AT))?,
        crc: field(u32_at(buf, CRC_AT))?,
    })
}

/// Checks that `buf` starts with one whole batch whose CRC-32C matches, and returns its
/// header; bytes after the batch are left alone.
pub(super) fn check_batch(buf: &[u8]) -> Result<BatchHeader, BatchFault> {
    let header = parse_header(buf)?;
    let batch = buf.get(..header.size).ok_or(BatchFault::Truncated {
        needed: header.size.saturating_sub(buf.len()),
    })?;
    let computed = crc32c::crc32c(batch.get(CRC_FROM..).unwrap_or_default());
    if computed != header.crc {
        return Err(BatchFault::BadCrc {
            stored: header.crc,
            computed,
        });
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch with `count` records of 10 bytes of payload each, built by the protocol crate.
    fn batch(base_offset: i64, count: usize) -> Vec<u8> {
        use streamctl_protocol::compression::Compression;
        use streamctl_protocol::record_batch::RecordBatchBuilder;
        let mut builder = RecordBatchBuilder::new(Compression::None).base_offset(base_offset);
        for i in 0..count {
            builder
                .push(1_000 + i as i64, None, Some(b"0123456789"), &[])
                .unwrap();
        }
        builder.build().unwrap().to_vec()
    }

    #[test]
    fn header_of_a_built_batch() {
        let bytes = batch(40, 3);
        let header = check_batch(&bytes).unwrap();
        assert_eq!(header.base_offset, 40);
        assert_eq!(header.last_offset, 42);
        assert_eq!(header.next_offset(), 43);
        assert_eq!(header.size, bytes.len());
        assert_eq!(header.max_timestamp, 1_002);
        assert_eq!(header.record_count, 3);
    }

    #[test]
    fn faults() {
        let bytes = batch(0, 2);
        assert!(matches!(
            check_batch(&bytes[..bytes.len() - 1]),
            Err(BatchFault::Truncated { needed: 1 })
        ));
        assert!(matches!(
            parse_header(&bytes[..30]),
            Err(BatchFault::Truncated { needed: 31 })
        ));
        assert_eq!(
            parse_header(&[0; HEADER_SIZE]),
            Err(BatchFault::BadLength(0))
        );
        let mut bad = bytes.clone();
        bad[MAGIC_AT] = 1;
        assert_eq!(check_batch(&bad), Err(BatchFault::BadMagic(1)));
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        assert!(matches!(check_batch(&bad), Err(BatchFault::BadCrc { .. })));
        let mut bad = bytes;
        bad[..8].copy_from_slice(&(-5i64).to_be_bytes());
        assert!(matches!(
            check_batch(&bad),
            Err(BatchFault::BadOffsets { .. })
        ));
    }
}
