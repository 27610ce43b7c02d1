//! Transaction markers: the control records that end a transaction on a partition (KIP-98).
//!
//! ```text
//!  control batch: attributes transactional | control, no compression, base sequence -1,
//!                 producer id and epoch of the transaction, one record at offset delta 0
//!  record key    = version i16 (0) | type i16 (0 ABORT, 1 COMMIT)
//!  record value  = version i16 (0) | coordinator epoch i32
//! ```
//!
//! Layouts from Kafka's `ControlRecordType` and `EndTransactionMarker`. Readers accept any
//! key version >= 0 (as Java does: newer versions only append fields) and ignore value bytes
//! after the coordinator epoch.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Record, RecordBatch, RecordBatchBuilder};
use crate::compression::Compression;
use crate::error::{DecodeError, EncodeError};

/// Control record type of an ABORT marker.
pub const CONTROL_TYPE_ABORT: i16 = 0;
/// Control record type of a COMMIT marker.
pub const CONTROL_TYPE_COMMIT: i16 = 1;

/// What an end-of-transaction marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
    /// The epoch of the transaction coordinator that wrote it; a partition refuses markers of
    /// an older coordinator epoch than the last it saw from the producer.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// The control batch holding this marker for `producer_id`/`producer_epoch`, stamped with
    /// `timestamp_ms` (the writing leader's clock). Its base offset is 0; the log assigns one.
    pub fn batch(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        timestamp_ms: i64,
    ) -> Result<Bytes, EncodeError> {
        let mut key = BytesMut::with_capacity(4);
        key.put_i16(0);
        key.put_i16(if self.commit {
            CONTROL_TYPE_COMMIT
        } else {
            CONTROL_TYPE_ABORT
        });
        let mut value = BytesMut::with_capacity(6);
        value.put_i16(0);
        value.put_i32(self.coordinator_epoch);
        let mut builder = RecordBatchBuilder::new(Compression::None)
            .producer(producer_id, producer_epoch, -1)
            .transactional(true)
            .control(true);
        builder.push(timestamp_ms, Some(&key), Some(&value), &[])?;
        builder.build()
    }

    /// The marker in a control batch: `Ok(None)` when the batch is not a control batch or its
    /// record is of another control type; an error when it cannot be read.
    pub fn parse(batch: &RecordBatch) -> Result<Option<EndTxnMarker>, DecodeError> {
        let Some((kind, record)) = control_record(batch)? else {
            return Ok(None);
        };
        let commit = match kind {
            CONTROL_TYPE_ABORT => false,
            CONTROL_TYPE_COMMIT => true,
            _ => return Ok(None),
        };
        let coordinator_epoch = match record.value.as_deref() {
            Some([_, _, e0, e1, e2, e3, ..]) => i32::from_be_bytes([*e0, *e1, *e2, *e3]),
            _ => return Err(invalid("its value is not version | coordinator epoch")),
        };
        Ok(Some(EndTxnMarker {
            commit,
            coordinator_epoch,
        }))
    }
}

/// The control type of a control batch's record (Java's `ControlRecordType.parse`, which
/// reads the key only): `Ok(None)` for a data batch.
pub fn control_record_type(batch: &RecordBatch) -> Result<Option<i16>, DecodeError> {
    Ok(control_record(batch)?.map(|(kind, _)| kind))
}

fn control_record(batch: &RecordBatch) -> Result<Option<(i16, Record)>, DecodeError> {
    if !batch.is_control() {
        return Ok(None);
    }
    // A marker batch holds one small record; the cap only guards the decoder.
    let record = batch
        .records(1 << 16)?
        .next()
        .ok_or_else(|| invalid("it holds no record"))??;
    match record.key.as_deref() {
        Some([v0, v1, t0, t1, ..]) if i16::from_be_bytes([*v0, *v1]) >= 0 => {
            let kind = i16::from_be_bytes([*t0, *t1]);
            Ok(Some((kind, record)))
        }
        _ => Err(invalid("its key is not version | type")),
    }
}

fn invalid(reason: &str) -> DecodeError {
    DecodeError::Invalid {
        what: "control batch",
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_batch::RecordBatches;

    fn first(bytes: Bytes) -> RecordBatch {
        RecordBatches::new(bytes).next().unwrap().unwrap()
    }

    #[test]
    fn markers_round_trip_with_kafkas_layout() {
        for commit in [true, false] {
            let m = EndTxnMarker {
                commit,
                coordinator_epoch: 7,
            };
            let batch = first(m.batch(42, 3, 1_000).unwrap());
            assert!(batch.is_control() && batch.is_transactional());
            assert_eq!((batch.producer_id(), batch.producer_epoch()), (42, 3));
            assert_eq!(batch.base_sequence(), -1);
            assert_eq!(EndTxnMarker::parse(&batch).unwrap(), Some(m));
            let record = batch.records(1 << 16).unwrap().next().unwrap().unwrap();
            let kind: u8 = if commit { 1 } else { 0 };
            assert_eq!(record.key.as_deref(), Some(&[0, 0, 0, kind][..]));
            assert_eq!(record.value.as_deref(), Some(&[0, 0, 0, 0, 0, 7][..]));
        }
    }

    #[test]
    fn data_batches_and_unknown_control_types_are_not_markers() {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.push(1, None, Some(b"v".as_slice()), &[]).unwrap();
        assert_eq!(
            EndTxnMarker::parse(&first(b.build().unwrap())).unwrap(),
            None
        );
        let mut b = RecordBatchBuilder::new(Compression::None).control(true);
        b.push(1, Some(&[0, 0, 0, 5][..]), Some(b"".as_slice()), &[])
            .unwrap();
        assert_eq!(
            EndTxnMarker::parse(&first(b.build().unwrap())).unwrap(),
            None
        );
        let mut b = RecordBatchBuilder::new(Compression::None).control(true);
        b.push(1, Some(&[0][..]), None, &[]).unwrap();
        assert!(EndTxnMarker::parse(&first(b.build().unwrap())).is_err());
    }
}
