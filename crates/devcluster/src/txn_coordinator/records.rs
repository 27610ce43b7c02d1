//! The records of `__transaction_state`, in Kafka's own formats (`TransactionLogKey`,
//! `TransactionLogValue` in `transaction-coordinator/src/main/resources/common/message/`),
//! so a dev cluster's transaction log reads like a Kafka broker's.
//!
//! ```text
//!  key   = version int16 (0) | transactional_id string
//!  value = version int16 | producer_id int64 | producer_epoch int16 | timeout_ms int32
//!          | status int8 | partitions nullable [topic string, partition_ids [int32]]
//!          | last_update_ms int64 | start_ms int64
//!          v1: flexible, tagged 0 previous_producer_id, 1 next_producer_id,
//!              2 client_transaction_version
//!  a null value (tombstone) removes the transactional id
//! ```
//!
//! We write value version 1, what Kafka writes once the cluster's `transaction.version` is 1
//! or more (the dev cluster finalizes 2), with the tagged fields that differ from their
//! defaults; we read 0 and 1.

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_protocol::primitives::{
    get_tagged_fields, put_empty_tagged_fields, put_tagged_fields, Ctx, Field,
};
use streamctl_protocol::{DecodeError, EncodeError};

use super::metadata::TxnState;

/// The internal topic holding transaction state.
pub const TRANSACTION_TOPIC: &str = "__transaction_state";

/// The value version written.
pub const VALUE_VERSION: i16 = 1;

fn ctx(version: i16, nullable: bool) -> Ctx {
    Ctx {
        version,
        flexible: version >= 1,
        nullable,
    }
}

/// The key of a `__transaction_state` record: the transactional id.
pub fn encode_key(transactional_id: &str) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    transactional_id
        .to_string()
        .encode(&mut buf, ctx(0, false))?;
    Ok(buf.freeze())
}

/// The transactional id of a key; `None` for a key version this coordinator does not know.
pub fn decode_key(mut buf: Bytes) -> Result<Option<String>, DecodeError> {
    let version = i16::decode(&mut buf, ctx(0, false))?;
    if version != 0 {
        return Ok(None);
    }
    String::decode(&mut buf, ctx(0, false)).map(Some)
}

/// One topic's partitions in a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnTopic {
    /// The topic.
    pub topic: String,
    /// Its partitions in the transaction.
    pub partitions: Vec<i32>,
}

impl Field for TxnTopic {
    fn encode(&self, buf: &mut BytesMut, c: Ctx) -> Result<(), EncodeError> {
        self.topic.encode(buf, c)?;
        self.partitions.encode(buf, c)?;
        if c.flexible {
            put_empty_tagged_fields(buf);
        }
        Ok(())
    }

    fn decode(buf: &mut Bytes, c: Ctx) -> Result<Self, DecodeError> {
        let topic = String::decode(buf, c)?;
        let partitions = Vec::<i32>::decode(buf, c)?;
        if c.flexible {
            get_tagged_fields(buf, |_, _| Ok(()))?;
        }
        Ok(TxnTopic { topic, partitions })
    }
}

/// A transactional id's state as logged (Kafka's `TransactionLogValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogValue {
    /// The producer id in use.
    pub producer_id: i64,
    /// The producer id before the last rotation, or -1 (v1 tagged field 0).
    pub previous_producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// `transaction.timeout.ms` the producer asked for.
    pub timeout_ms: i32,
    /// The state.
    pub state: TxnState,
    /// The partitions in the transaction; `None` (null) for Empty, as Kafka writes it.
    pub partitions: Option<Vec<TxnTopic>>,
    /// Last change (ms since the epoch).
    pub last_update_ms: i64,
    /// When the transaction started, or -1.
    pub start_ms: i64,
    /// The producer id a transactions-v2 end whose epoch ran out moves to on completion, or
    /// -1 (v1 tagged field 1).
    pub next_producer_id: i64,
    /// The transaction protocol the producer's last transaction used: 0 (v1 protocol) or 2
    /// (KIP-890 transactions v2) (v1 tagged field 2).
    pub client_version: i16,
}

impl TxnLogValue {
    /// The value's bytes at [`VALUE_VERSION`].
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let c = ctx(VALUE_VERSION, true);
        let mut buf = BytesMut::new();
        buf.put_i16(VALUE_VERSION);
        self.producer_id.encode(&mut buf, c)?;
        self.producer_epoch.encode(&mut buf, c)?;
        self.timeout_ms.encode(&mut buf, c)?;
        self.state.id().encode(&mut buf, c)?;
        self.partitions.encode(&mut buf, c)?;
        self.last_update_ms.encode(&mut buf, c)?;
        self.start_ms.encode(&mut buf, c)?;
        if c.flexible {
            // Tagged fields are written only when they differ from their defaults.
            let mut tagged = Vec::new();
            for (tag, value, default) in [
                (0, self.previous_producer_id, -1),
                (1, self.next_producer_id, -1),
            ] {
                if value != default {
                    let mut data = BytesMut::new();
                    value.encode(&mut data, c)?;
                    tagged.push((tag, data));
                }
            }
            if self.client_version != 0 {
                let mut data = BytesMut::new();
                self.client_version.encode(&mut data, c)?;
                tagged.push((2, data));
            }
            put_tagged_fields(&mut buf, tagged, &[])?;
        }
        Ok(buf.freeze())
    }

    /// Decodes a value of version 0 or 1.
    pub fn decode(mut buf: Bytes) -> Result<TxnLogValue, DecodeError> {
        let version = i16::decode(&mut buf, ctx(0, false))?;
        if !(0..=1).contains(&version) {
            return Err(DecodeError::Invalid {
                what: "transaction log value",
                reason: format!("unknown version {version}"),
            });
        }
        let c = ctx(version, true);
        let producer_id = i64::decode(&mut buf, c)?;
        let producer_epoch = i16::decode(&mut buf, c)?;
        let timeout_ms = i32::decode(&mut buf, c)?;
        let status = i8::decode(&mut buf, c)?;
        let state = TxnState::from_id(status).ok_or_else(|| DecodeError::Invalid {
            what: "transaction log value",
            reason: format!("unknown transaction status {status}"),
        })?;
        let partitions = Option::<Vec<TxnTopic>>::decode(&mut buf, c)?;
        let last_update_ms = i64::decode(&mut buf, c)?;
        let start_ms = i64::decode(&mut buf, c)?;
        let (mut previous_producer_id, mut next_producer_id, mut client_version) = (-1, -1, 0);
        if c.flexible {
            get_tagged_fields(&mut buf, |tag, mut data| {
                match tag {
                    0 => previous_producer_id = i64::decode(&mut data, c)?,
                    1 => next_producer_id = i64::decode(&mut data, c)?,
                    2 => client_version = i16::decode(&mut data, c)?,
                    _ => {}
                }
                Ok(())
            })?;
        }
        Ok(TxnLogValue {
            producer_id,
            previous_producer_id,
            producer_epoch,
            timeout_ms,
            state,
            partitions,
            last_update_ms,
            start_ms,
            next_producer_id,
            client_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(state: TxnState, partitions: Option<Vec<TxnTopic>>) -> TxnLogValue {
        TxnLogValue {
            producer_id: 1000,
            previous_producer_id: -1,
            producer_epoch: 2,
            timeout_ms: 60_000,
            state,
            partitions,
            last_update_ms: 5,
            start_ms: 4,
            next_producer_id: -1,
            client_version: 0,
        }
    }

    #[test]
    fn values_round_trip_and_match_the_schema_byte_for_byte() {
        let v = value(
            TxnState::Ongoing,
            Some(vec![TxnTopic {
                topic: "t".into(),
                partitions: vec![0, 2],
            }]),
        );
        let bytes = v.encode().unwrap();
        let mut expected = vec![0, 1]; // version 1: compact strings and arrays
        expected.extend_from_slice(&1000i64.to_be_bytes());
        expected.extend_from_slice(&2i16.to_be_bytes());
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1); // Ongoing
        expected.push(2); // one topic
        expected.extend_from_slice(&[2, b't']);
        expected.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 2, 0]); // [0, 2], no tags
        expected.extend_from_slice(&5i64.to_be_bytes());
        expected.extend_from_slice(&4i64.to_be_bytes());
        expected.push(0); // no tagged fields: all at their defaults
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(TxnLogValue::decode(bytes).unwrap(), v);
        let empty = value(TxnState::Empty, None);
        let bytes = empty.encode().unwrap();
        assert_eq!(TxnLogValue::decode(bytes).unwrap(), empty);
        // Tagged fields away from their defaults come back.
        let rotated = TxnLogValue {
            previous_producer_id: 6,
            next_producer_id: 1001,
            client_version: 2,
            ..value(TxnState::PrepareCommit, Some(Vec::new()))
        };
        let bytes = rotated.encode().unwrap();
        assert_eq!(TxnLogValue::decode(bytes).unwrap(), rotated);
    }

    #[test]
    fn version_1_with_tagged_fields_is_read() {
        // v1, written by hand from the schema: compact strings and arrays, tagged 0 and 2.
        let mut b = vec![0, 1];
        b.extend_from_slice(&7i64.to_be_bytes());
        b.extend_from_slice(&3i16.to_be_bytes());
        b.extend_from_slice(&1000i32.to_be_bytes());
        b.push(4); // CompleteCommit
        b.extend_from_slice(&[2, 2, b'x', 2, 0, 0, 0, 9, 0]); // [{x, [9]}]
        b.extend_from_slice(&11i64.to_be_bytes());
        b.extend_from_slice(&10i64.to_be_bytes());
        b.push(2); // two tagged fields
        b.extend_from_slice(&[0, 8]);
        b.extend_from_slice(&6i64.to_be_bytes());
        b.extend_from_slice(&[2, 2, 0, 2]);
        let v = TxnLogValue::decode(Bytes::from(b)).unwrap();
        assert_eq!(v.previous_producer_id, 6);
        assert_eq!((v.next_producer_id, v.client_version), (-1, 2));
        assert_eq!(v.state, TxnState::CompleteCommit);
        assert_eq!(
            v.partitions,
            Some(vec![TxnTopic {
                topic: "x".into(),
                partitions: vec![9]
            }])
        );
        assert!(TxnLogValue::decode(Bytes::from_static(&[0, 9])).is_err());
        assert!(TxnLogValue::decode(Bytes::from_static(&[0, 0, 1])).is_err());
    }

    #[test]
    fn keys_round_trip() {
        let k = encode_key("app-1").unwrap();
        assert_eq!(&k[..], &[0, 0, 0, 5, b'a', b'p', b'p', b'-', b'1']);
        assert_eq!(decode_key(k).unwrap().as_deref(), Some("app-1"));
        assert_eq!(decode_key(Bytes::from_static(&[0, 1, 0, 0])).unwrap(), None);
    }
}
