//! Decoding the records inside a batch: [`Records`] iterates a batch's (decompressed) records
//! section and yields [`Record`]s with their [`Header`]s.

use super::*;

/// One record header. Kafka allows several with the same key, so they are kept as a list in
/// their order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header key; bytes that are not UTF-8 are replaced by U+FFFD, as Java's client does.
    pub key: String,
    /// The header value; `None` is a null value, not an empty one.
    pub value: Option<Bytes>,
}

/// A header to write, borrowing its key and value: what [`RecordBatchBuilder::push`] takes.
///
/// ```
/// # use streamctl_protocol::record_batch::HeaderRef;
/// let headers = [HeaderRef::new("trace-id", b"abc"), HeaderRef::null("deleted-by")];
/// assert_eq!(headers[0].value, Some(&b"abc"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRef<'a> {
    /// The header key.
    pub key: &'a str,
    /// The header value; `None` is a null value, not an empty one.
    pub value: Option<&'a [u8]>,
}

impl<'a> HeaderRef<'a> {
    /// A header with a value (`b"…"` literals, `&[u8]`, `&Vec<u8>` and `&str.as_bytes()` all fit).
    pub fn new(key: &'a str, value: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        Self {
            key,
            value: Some(value.as_ref()),
        }
    }

    /// A header whose value is null.
    pub fn null(key: &'a str) -> Self {
        Self { key, value: None }
    }
}

impl<'a> From<&'a Header> for HeaderRef<'a> {
    fn from(h: &'a Header) -> Self {
        Self {
            key: &h.key,
            value: h.value.as_deref(),
        }
    }
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
    pub(super) data: Bytes,
    /// How many records the batch still claims.
    pub(super) remaining: usize,
    /// The batch's `baseOffset`, which record offset deltas are added to.
    pub(super) base_offset: i64,
    /// The batch's `baseTimestamp`, which record timestamp deltas are added to.
    pub(super) base_timestamp: i64,
    /// The batch's `maxTimestamp`, which replaces every record timestamp under LogAppendTime.
    pub(super) log_append_time: Option<i64>,
    /// Set after the last item (an error or the last record), so the iterator is fused.
    pub(super) done: bool,
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
