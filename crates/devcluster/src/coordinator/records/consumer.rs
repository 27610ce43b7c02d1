//! The records of consumer-protocol groups (KIP-848) in `__consumer_offsets`, in Kafka's
//! formats (`group-coordinator/src/main/resources/common/message/ConsumerGroup*.json`).
//!
//! ```text
//!  key   = type int16 | GroupId string [| MemberId string | RegularExpression string]
//!  value = version int16 (0) | flexible body (compact strings, tagged fields); null = tombstone
//!
//!   3 ConsumerGroupMetadata           Epoch, MetadataHash (tag 0)
//!   4 ConsumerGroupPartitionMetadata  (Kafka 4.0; read and dropped, we keep the hash instead)
//!   5 ConsumerGroupMemberMetadata     instance, rack, client, subscription, assignor, classic?
//!   6 ConsumerGroupTargetAssignmentMetadata  AssignmentEpoch
//!   7 ConsumerGroupTargetAssignmentMember    TopicPartitions
//!   8 ConsumerGroupCurrentMemberAssignment   MemberEpoch, PreviousMemberEpoch, State,
//!                                            AssignedPartitions, PartitionsPendingRevocation
//!  16 ConsumerGroupRegularExpression  Topics, Version, Timestamp
//! ```
//!
//! [`ConsumerRecord`] is one such record as the group state machine writes and replays it;
//! the same value is written to the log and applied to memory, so a coordinator that loads
//! the partition rebuilds exactly the state the old one answered from.

use bytes::{BufMut, Bytes, BytesMut};
use streamctl_protocol::primitives::{Ctx, Field};
use streamctl_protocol::{kafka_struct, DecodeError, EncodeError};
use uuid::Uuid;

/// The value version every consumer-group record is written and read at.
const VALUE_VERSION: i16 = 0;

const FLEXIBLE: Ctx = Ctx {
    version: VALUE_VERSION,
    flexible: true,
    nullable: false,
};

kafka_struct! {
    /// A group's epoch (`ConsumerGroupMetadataValue`).
    pub struct GroupEpochValue {
        /// The group epoch.
        epoch: i32 [0..],
        /// A hash of the subscribed topics' metadata (Kafka 4.1+, KIP-1101).
        metadata_hash: i64 [0.., tag 0, default 0],
    }
}

kafka_struct! {
    /// A protocol a classic member supports.
    pub struct ClassicProtocol {
        /// The protocol name.
        name: String [0..],
        /// Its metadata (a `ConsumerProtocolSubscription`).
        metadata: Bytes [0..],
    }
}

kafka_struct! {
    /// What a member speaking the classic protocol inside a consumer group joined with.
    pub struct ClassicMemberMetadata {
        /// Its session timeout.
        session_timeout_ms: i32 [0..],
        /// Its protocols.
        supported_protocols: Vec<ClassicProtocol> [0..],
    }
}

kafka_struct! {
    /// A member's subscription and identity (`ConsumerGroupMemberMetadataValue`).
    pub struct MemberValue {
        /// `group.instance.id`.
        instance_id: Option<String> [0.., nullable 0..],
        /// `client.rack`.
        rack_id: Option<String> [0.., nullable 0..],
        /// The client id.
        client_id: String [0..],
        /// The client host.
        client_host: String [0..],
        /// Topics subscribed to by name, sorted.
        subscribed_topic_names: Vec<String> [0..],
        /// The subscription's regular expression, if any.
        subscribed_topic_regex: Option<String> [0.., nullable 0..],
        /// The rebalance timeout.
        rebalance_timeout_ms: i32 [0.., default -1],
        /// The server assignor the member asked for.
        server_assignor: Option<String> [0.., nullable 0..],
        /// Set when the member speaks the classic protocol.
        classic_member_metadata: Option<ClassicMemberMetadata> [0.., nullable 0.., tag 0, default None],
    }
}

kafka_struct! {
    /// Partitions of one topic.
    pub struct TopicPartitions {
        /// The topic id.
        topic_id: Uuid [0..],
        /// The partitions.
        partitions: Vec<i32> [0..],
    }
}

kafka_struct! {
    /// A member's target assignment (`ConsumerGroupTargetAssignmentMemberValue`).
    pub struct TargetValue {
        /// The partitions.
        topic_partitions: Vec<TopicPartitions> [0..],
    }
}

kafka_struct! {
    /// The target assignment's epoch (`ConsumerGroupTargetAssignmentMetadataValue`).
    pub struct TargetEpochValue {
        /// The group epoch the target was computed at.
        assignment_epoch: i32 [0..],
    }
}

kafka_struct! {
    /// What a member owns now (`ConsumerGroupCurrentMemberAssignmentValue`).
    pub struct CurrentValue {
        /// The epoch the member must send.
        member_epoch: i32 [0..],
        /// The epoch before the last bump (a member whose answer was lost sends it).
        previous_member_epoch: i32 [0..],
        /// 0 stable, 1 unrevoked partitions, 2 unreleased partitions.
        state: i8 [0..],
        /// The partitions the member owns.
        assigned_partitions: Vec<TopicPartitions> [0..],
        /// The partitions it must give up.
        partitions_pending_revocation: Vec<TopicPartitions> [0..],
    }
}

kafka_struct! {
    /// The topics a regular expression matched (`ConsumerGroupRegularExpressionValue`).
    pub struct RegexValue {
        /// The matching topics, sorted.
        topics: Vec<String> [0..],
        /// The metadata version they were resolved at.
        version: i64 [0..],
        /// When (ms since the epoch).
        timestamp: i64 [0..],
    }
}

/// One consumer-group record; `None` values are tombstones.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumerRecord {
    /// Type 3: the group epoch.
    GroupEpoch(Option<GroupEpochValue>),
    /// Type 4: Kafka 4.0's subscription metadata; only ever read (and tombstoned).
    PartitionMetadata,
    /// Type 5: a member's subscription.
    Member(String, Option<MemberValue>),
    /// Type 6: the target assignment's epoch.
    TargetEpoch(Option<TargetEpochValue>),
    /// Type 7: a member's target assignment.
    Target(String, Option<TargetValue>),
    /// Type 8: a member's current assignment and epoch.
    Current(String, Option<CurrentValue>),
    /// Type 16: a resolved regular expression.
    Regex(String, Option<RegexValue>),
}

fn key_ctx(version: i16) -> Ctx {
    Ctx {
        version,
        flexible: false,
        nullable: false,
    }
}

fn encode_value<T: Field>(value: &T) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    value.encode(&mut buf, FLEXIBLE)?;
    Ok(buf.freeze())
}

fn decode_value<T: Field>(value: Option<Bytes>) -> Result<Option<T>, DecodeError> {
    let Some(mut buf) = value else {
        return Ok(None);
    };
    let version = i16::decode(&mut buf, key_ctx(0))?;
    if version != VALUE_VERSION {
        return Err(DecodeError::Invalid {
            what: "consumer group record value",
            reason: format!("unknown version {version}"),
        });
    }
    T::decode(&mut buf, FLEXIBLE).map(Some)
}

impl ConsumerRecord {
    /// The record's key bytes for `group`, and its value bytes (`None`: a tombstone).
    pub fn encode(&self, group: &str) -> Result<(Bytes, Option<Bytes>), EncodeError> {
        let mut key = BytesMut::new();
        let (kind, second): (i16, Option<&str>) = match self {
            ConsumerRecord::GroupEpoch(_) => (3, None),
            ConsumerRecord::PartitionMetadata => (4, None),
            ConsumerRecord::Member(m, _) => (5, Some(m)),
            ConsumerRecord::TargetEpoch(_) => (6, None),
            ConsumerRecord::Target(m, _) => (7, Some(m)),
            ConsumerRecord::Current(m, _) => (8, Some(m)),
            ConsumerRecord::Regex(r, _) => (16, Some(r)),
        };
        key.put_i16(kind);
        group.to_string().encode(&mut key, key_ctx(kind))?;
        if let Some(s) = second {
            s.to_string().encode(&mut key, key_ctx(kind))?;
        }
        let value = match self {
            ConsumerRecord::GroupEpoch(v) => v.as_ref().map(encode_value),
            ConsumerRecord::PartitionMetadata => None,
            ConsumerRecord::Member(_, v) => v.as_ref().map(encode_value),
            ConsumerRecord::TargetEpoch(v) => v.as_ref().map(encode_value),
            ConsumerRecord::Target(_, v) => v.as_ref().map(encode_value),
            ConsumerRecord::Current(_, v) => v.as_ref().map(encode_value),
            ConsumerRecord::Regex(_, v) => v.as_ref().map(encode_value),
        }
        .transpose()?;
        Ok((key.freeze(), value))
    }

    /// Decodes a record whose key has type `kind` (3–8 or 16), the type already read from
    /// `key`: returns the group id and the record.
    pub fn decode(
        kind: i16,
        key: &mut Bytes,
        value: Option<Bytes>,
    ) -> Result<(String, ConsumerRecord), DecodeError> {
        let c = key_ctx(kind);
        let group = String::decode(key, c)?;
        let mut second = || String::decode(key, c);
        let record = match kind {
            3 => ConsumerRecord::GroupEpoch(decode_value(value)?),
            4 => ConsumerRecord::PartitionMetadata,
            5 => ConsumerRecord::Member(second()?, decode_value(value)?),
            6 => ConsumerRecord::TargetEpoch(decode_value(value)?),
            7 => ConsumerRecord::Target(second()?, decode_value(value)?),
            8 => ConsumerRecord::Current(second()?, decode_value(value)?),
            16 => ConsumerRecord::Regex(second()?, decode_value(value)?),
            other => {
                return Err(DecodeError::Invalid {
                    what: "consumer group record key",
                    reason: format!("type {other} is not a consumer group record"),
                })
            }
        };
        Ok((group, record))
    }

    /// Whether a key type belongs to consumer groups.
    pub fn is_consumer_type(kind: i16) -> bool {
        (3..=8).contains(&kind) || kind == 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: ConsumerRecord) {
        let (key, value) = r.encode("g").unwrap();
        let mut k = key.clone();
        let kind = i16::decode(&mut k, key_ctx(0)).unwrap();
        assert!(ConsumerRecord::is_consumer_type(kind));
        let (group, back) = ConsumerRecord::decode(kind, &mut k, value).unwrap();
        assert_eq!(group, "g");
        assert_eq!(back, r);
    }

    #[test]
    fn records_round_trip() {
        round_trip(ConsumerRecord::GroupEpoch(Some(GroupEpochValue {
            epoch: 3,
            metadata_hash: 77,
            ..Default::default()
        })));
        round_trip(ConsumerRecord::Member(
            "m".into(),
            Some(MemberValue {
                instance_id: Some("i".into()),
                client_id: "c".into(),
                subscribed_topic_names: vec!["a".into(), "b".into()],
                rebalance_timeout_ms: 300_000,
                classic_member_metadata: Some(ClassicMemberMetadata {
                    session_timeout_ms: 45_000,
                    supported_protocols: vec![ClassicProtocol {
                        name: "range".into(),
                        metadata: Bytes::from_static(b"x"),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ));
        round_trip(ConsumerRecord::Current(
            "m".into(),
            Some(CurrentValue {
                member_epoch: 4,
                previous_member_epoch: 3,
                state: 1,
                assigned_partitions: vec![TopicPartitions {
                    topic_id: Uuid::from_u128(9),
                    partitions: vec![0, 2],
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ));
        round_trip(ConsumerRecord::Target("m".into(), None));
        round_trip(ConsumerRecord::Regex("^t.*".into(), None));
    }

    /// The bytes Kafka writes: the key's type, then classic strings; the value's version,
    /// then compact fields and an empty tag buffer.
    #[test]
    fn bytes_follow_kafka_layout() {
        let (key, value) = ConsumerRecord::TargetEpoch(Some(TargetEpochValue {
            assignment_epoch: 5,
            ..Default::default()
        }))
        .encode("g")
        .unwrap();
        assert_eq!(&key[..], &[0, 6, 0, 1, b'g']);
        assert_eq!(&value.unwrap()[..], &[0, 0, 0, 0, 0, 5, 0]);
        let (key, value) = ConsumerRecord::Current("m".into(), None)
            .encode("g")
            .unwrap();
        assert_eq!(&key[..], &[0, 8, 0, 1, b'g', 0, 1, b'm']);
        assert_eq!(value, None);
    }

    #[test]
    fn unknown_value_versions_are_refused() {
        let mut key = Bytes::from_static(&[0, 1, b'g']);
        let err = ConsumerRecord::decode(
            3,
            &mut key,
            Some(Bytes::from_static(&[0, 1, 0, 0, 0, 1, 0])),
        );
        assert!(err.is_err());
    }
}
