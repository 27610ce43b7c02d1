//! The records of `__consumer_offsets`, in Kafka's own formats, so a dev cluster's offsets
//! topic reads like a Kafka broker's (and tools that decode it, e.g. Kafka's
//! `kafka-console-consumer --formatter`, understand it).
//!
//! ```text
//!  key   = version int16 | body            value = version int16 | body (null = tombstone)
//!  key v0/v1  OffsetCommitKey   group string | topic string | partition int32
//!  key v2     GroupMetadataKey  group string
//!
//!  OffsetCommitValue    v0 offset | metadata | commitTimestamp
//!                       v1 offset | metadata | commitTimestamp | expireTimestamp
//!                       v2 offset | metadata | commitTimestamp
//!                       v3 offset | leaderEpoch | metadata | commitTimestamp
//!                       v4 as v3, flexible (compact strings, tagged fields)
//!  GroupMetadataValue   protocolType | generation | protocol? | leader? | [v2+ currentStateTimestamp]
//!                       | members: memberId | [v3+ groupInstanceId?] | clientId | clientHost
//!                                  | [v1+ rebalanceTimeout] | sessionTimeout | subscription | assignment
//!                       v4 as v3, flexible
//! ```
//!
//! The schemas are Kafka's `OffsetCommitKey`, `OffsetCommitValue`, `GroupMetadataKey` and
//! `GroupMetadataValue` (`group-coordinator/src/main/resources/common/message/`). We write
//! value version 3 of both, what Kafka 2.1–3.x brokers write, so every Kafka-era tool reads
//! them; we read versions 0–4. Keys of types 3–8 and 16 are consumer-protocol groups'
//! (KIP-848), in [`consumer`]; other types (share and streams groups) are skipped on load.

pub mod consumer;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use streamctl_protocol::primitives::{get_tagged_fields, put_empty_tagged_fields, Ctx, Field};
use streamctl_protocol::{DecodeError, EncodeError};

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The value version written for offsets (Kafka 2.1+; no expire timestamp).
pub const OFFSET_VALUE_VERSION: i16 = 3;
/// The value version written for group metadata (Kafka 2.3+; static members).
pub const GROUP_VALUE_VERSION: i16 = 3;

fn plain(version: i16) -> Ctx {
    Ctx {
        version,
        flexible: false,
        nullable: false,
    }
}

fn value_ctx(version: i16, nullable: bool) -> Ctx {
    Ctx {
        version,
        flexible: version >= 4,
        nullable,
    }
}

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A committed offset (key versions 0 and 1; we write 1, as Kafka does).
    Offset {
        /// The group id.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A group's metadata (key version 2).
    Group {
        /// The group id.
        group: String,
    },
}

impl RecordKey {
    /// The group the record belongs to.
    pub fn group(&self) -> &str {
        match self {
            RecordKey::Offset { group, .. } | RecordKey::Group { group } => group,
        }
    }

    /// The key's bytes.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        match self {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                buf.put_i16(1);
                group.encode(&mut buf, plain(1))?;
                topic.encode(&mut buf, plain(1))?;
                partition.encode(&mut buf, plain(1))?;
            }
            RecordKey::Group { group } => {
                buf.put_i16(2);
                group.encode(&mut buf, plain(2))?;
            }
        }
        Ok(buf.freeze())
    }

    /// Decodes a key; `None` for a key version this coordinator does not use.
    pub fn decode(mut buf: Bytes) -> Result<Option<RecordKey>, DecodeError> {
        let version = i16::decode(&mut buf, plain(0))?;
        let c = plain(version);
        Ok(match version {
            0 | 1 => Some(RecordKey::Offset {
                group: String::decode(&mut buf, c)?,
                topic: String::decode(&mut buf, c)?,
                partition: i32::decode(&mut buf, c)?,
            }),
            2 => Some(RecordKey::Group {
                group: String::decode(&mut buf, c)?,
            }),
            _ => None,
        })
    }
}

/// A committed offset (Kafka's `OffsetCommitValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// The committed offset: the next record the group will read.
    pub offset: i64,
    /// The leader epoch of the last consumed record, or -1 (v3+).
    pub leader_epoch: i32,
    /// Client metadata kept with the offset.
    pub metadata: String,
    /// When the commit was made (ms since the epoch).
    pub commit_timestamp: i64,
    /// When the offset expires, or -1 (v1 only; retention is not implemented).
    pub expire_timestamp: i64,
}

impl OffsetCommitValue {
    /// The value's bytes, at [`OFFSET_VALUE_VERSION`].
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        self.encode_version(OFFSET_VALUE_VERSION)
    }

    /// The value's bytes at `version` (0–4).
    pub fn encode_version(&self, version: i16) -> Result<Bytes, EncodeError> {
        let c = value_ctx(version, false);
        let mut buf = BytesMut::new();
        buf.put_i16(version);
        self.offset.encode(&mut buf, c)?;
        if version >= 3 {
            self.leader_epoch.encode(&mut buf, c)?;
        }
        self.metadata.encode(&mut buf, c)?;
        self.commit_timestamp.encode(&mut buf, c)?;
        if version == 1 {
            self.expire_timestamp.encode(&mut buf, c)?;
        }
        if c.flexible {
            put_empty_tagged_fields(&mut buf);
        }
        Ok(buf.freeze())
    }

    /// Decodes a value of any version 0–4.
    pub fn decode(mut buf: Bytes) -> Result<OffsetCommitValue, DecodeError> {
        let version = check_version(&mut buf, "offset commit value")?;
        let c = value_ctx(version, false);
        let offset = i64::decode(&mut buf, c)?;
        let leader_epoch = if version >= 3 {
            i32::decode(&mut buf, c)?
        } else {
            -1
        };
        let metadata = String::decode(&mut buf, c)?;
        let commit_timestamp = i64::decode(&mut buf, c)?;
        let expire_timestamp = if version == 1 {
            i64::decode(&mut buf, c)?
        } else {
            -1
        };
        if c.flexible {
            get_tagged_fields(&mut buf, |_, _| Ok(()))?;
        }
        Ok(OffsetCommitValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
            expire_timestamp,
        })
    }
}

/// One member in a group's metadata record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadata {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// The static member's `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
    /// The client id of the member's JoinGroup.
    pub client_id: String,
    /// The member's address, as Kafka writes it (`/127.0.0.1`).
    pub client_host: String,
    /// The member's rebalance timeout in ms (v1+).
    pub rebalance_timeout: i32,
    /// The member's session timeout in ms.
    pub session_timeout: i32,
    /// The member's metadata for the group's protocol (a consumer's subscription).
    pub subscription: Bytes,
    /// The member's assignment from the leader.
    pub assignment: Bytes,
}

/// A group's state after a rebalance (Kafka's `GroupMetadataValue`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataValue {
    /// The protocol type, e.g. `consumer`; empty for a group only committing offsets.
    pub protocol_type: String,
    /// The generation.
    pub generation: i32,
    /// The selected protocol (assignor), if the group has members.
    pub protocol: Option<String>,
    /// The leader's member id, if the group has members.
    pub leader: Option<String>,
    /// When the group entered its current state (v2+), or -1.
    pub current_state_timestamp: i64,
    /// The members with their subscription and assignment.
    pub members: Vec<MemberMetadata>,
}

impl GroupMetadataValue {
    /// The value's bytes, at [`GROUP_VALUE_VERSION`].
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        self.encode_version(GROUP_VALUE_VERSION)
    }

    /// The value's bytes at `version` (0–4).
    pub fn encode_version(&self, version: i16) -> Result<Bytes, EncodeError> {
        let c = value_ctx(version, false);
        let n = value_ctx(version, true);
        let mut buf = BytesMut::new();
        buf.put_i16(version);
        self.protocol_type.encode(&mut buf, c)?;
        self.generation.encode(&mut buf, c)?;
        self.protocol.encode(&mut buf, n)?;
        self.leader.encode(&mut buf, n)?;
        if version >= 2 {
            self.current_state_timestamp.encode(&mut buf, c)?;
        }
        let count = i32::try_from(self.members.len()).map_err(|_| EncodeError::TooLong {
            what: "group members",
            length: self.members.len(),
        })?;
        if c.flexible {
            streamctl_protocol::primitives::put_uvarint(&mut buf, count as u32 + 1);
        } else {
            buf.put_i32(count);
        }
        for m in &self.members {
            m.member_id.encode(&mut buf, c)?;
            if version >= 3 {
                m.group_instance_id.encode(&mut buf, n)?;
            }
            m.client_id.encode(&mut buf, c)?;
            m.client_host.encode(&mut buf, c)?;
            if version >= 1 {
                m.rebalance_timeout.encode(&mut buf, c)?;
            }
            m.session_timeout.encode(&mut buf, c)?;
            m.subscription.encode(&mut buf, c)?;
            m.assignment.encode(&mut buf, c)?;
            if c.flexible {
                put_empty_tagged_fields(&mut buf);
            }
        }
        if c.flexible {
            put_empty_tagged_fields(&mut buf);
        }
        Ok(buf.freeze())
    }

    /// Decodes a value of any version 0–4.
    pub fn decode(mut buf: Bytes) -> Result<GroupMetadataValue, DecodeError> {
        let version = check_version(&mut buf, "group metadata value")?;
        let c = value_ctx(version, false);
        let n = value_ctx(version, true);
        let protocol_type = String::decode(&mut buf, c)?;
        let generation = i32::decode(&mut buf, c)?;
        let protocol = Option::<String>::decode(&mut buf, n)?;
        let leader = Option::<String>::decode(&mut buf, n)?;
        let current_state_timestamp = if version >= 2 {
            i64::decode(&mut buf, c)?
        } else {
            -1
        };
        let count = if c.flexible {
            i64::from(streamctl_protocol::primitives::get_uvarint(&mut buf)?) - 1
        } else {
            i64::from(i32::decode(&mut buf, c)?)
        };
        // Every member takes at least a few bytes, so the count cannot exceed what remains.
        let count = usize::try_from(count)
            .ok()
            .filter(|n| *n <= buf.remaining())
            .ok_or(DecodeError::BadLength {
                what: "group members",
                length: count,
            })?;
        let mut members = Vec::with_capacity(count);
        for _ in 0..count {
            let member_id = String::decode(&mut buf, c)?;
            let group_instance_id = if version >= 3 {
                Option::<String>::decode(&mut buf, n)?
            } else {
                None
            };
            let client_id = String::decode(&mut buf, c)?;
            let client_host = String::decode(&mut buf, c)?;
            let rebalance_timeout = if version >= 1 {
                i32::decode(&mut buf, c)?
            } else {
                -1
            };
            let session_timeout = i32::decode(&mut buf, c)?;
            let subscription = Bytes::decode(&mut buf, c)?;
            let assignment = Bytes::decode(&mut buf, c)?;
            if c.flexible {
                get_tagged_fields(&mut buf, |_, _| Ok(()))?;
            }
            members.push(MemberMetadata {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout: if rebalance_timeout < 0 {
                    session_timeout
                } else {
                    rebalance_timeout
                },
                session_timeout,
                subscription,
                assignment,
            });
        }
        if c.flexible {
            get_tagged_fields(&mut buf, |_, _| Ok(()))?;
        }
        Ok(GroupMetadataValue {
            protocol_type,
            generation,
            protocol,
            leader,
            current_state_timestamp,
            members,
        })
    }
}

fn check_version(buf: &mut Bytes, what: &'static str) -> Result<i16, DecodeError> {
    let version = i16::decode(buf, plain(0))?;
    if !(0..=4).contains(&version) {
        return Err(DecodeError::Invalid {
            what,
            reason: format!("unknown version {version}"),
        });
    }
    Ok(version)
}

/// The topics of a consumer's subscription (Kafka's `ConsumerProtocolSubscription`: version
/// int16, then topics as an array of strings, then fields this needs not read). Every version
/// so far starts the same way. `None` when the bytes are not a subscription.
pub fn subscription_topics(metadata: &Bytes) -> Option<Vec<String>> {
    let mut buf = metadata.clone();
    let version = i16::decode(&mut buf, plain(0)).ok()?;
    if version < 0 {
        return None;
    }
    Vec::<String>::decode(&mut buf, plain(version)).ok()
}

/// Java's `String.hashCode` over UTF-16 code units, which Kafka uses to place a group.
pub fn java_string_hashcode(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The `__consumer_offsets` partition of a group: Kafka's
/// `Utils.abs(groupId.hashCode) % partitions`, where `Utils.abs(Integer.MIN_VALUE)` is 0.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    let h = java_string_hashcode(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes_match_java() {
        // Values printed by Java's String.hashCode.
        assert_eq!(java_string_hashcode(""), 0);
        assert_eq!(java_string_hashcode("hello"), 99_162_322);
        assert_eq!(java_string_hashcode("abc"), 96_354);
        assert_eq!(java_string_hashcode("Aa"), 2112);
        assert_eq!(java_string_hashcode("BB"), 2112);
        assert_eq!(java_string_hashcode("Hello World!"), -969_099_747);
        assert_eq!(java_string_hashcode("polygenelubricants"), i32::MIN);
        // Outside the BMP Java hashes the two surrogates: 0xD83D * 31 + 0xDE00.
        assert_eq!(java_string_hashcode("\u{1F600}"), 1_772_899);
    }

    #[test]
    fn partition_for_uses_kafka_abs() {
        assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
        assert_eq!(partition_for("Hello World!", 50), 969_099_747 % 50);
        // Utils.abs(Integer.MIN_VALUE) is 0, not MIN_VALUE.
        assert_eq!(partition_for("polygenelubricants", 10), 0);
        assert_eq!(partition_for("anything", 1), 0);
    }

    #[test]
    fn keys_round_trip_with_kafka_versions() {
        let k = RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 7,
        };
        let bytes = k.encode().unwrap();
        assert_eq!(
            &bytes[..],
            &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 7],
            "version 1, then group, topic, partition"
        );
        assert_eq!(RecordKey::decode(bytes).unwrap(), Some(k));
        let g = RecordKey::Group { group: "g".into() };
        let bytes = g.encode().unwrap();
        assert_eq!(&bytes[..], &[0, 2, 0, 1, b'g']);
        assert_eq!(RecordKey::decode(bytes).unwrap(), Some(g));
        // Version 0 offset keys (Kafka 0.8.2) read the same way.
        let v0 = Bytes::from_static(&[0, 0, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 1]);
        assert!(matches!(
            RecordKey::decode(v0).unwrap(),
            Some(RecordKey::Offset { partition: 1, .. })
        ));
        // KIP-848 records are skipped, not errors.
        assert_eq!(
            RecordKey::decode(Bytes::from_static(&[0, 3, 0, 1, b'g'])).unwrap(),
            None
        );
        assert!(RecordKey::decode(Bytes::from_static(&[0, 1, 0, 9, b'g'])).is_err());
    }

    #[test]
    fn offset_values_in_every_version() {
        let v = OffsetCommitValue {
            offset: 42,
            leader_epoch: 3,
            metadata: "m".into(),
            commit_timestamp: 1_000,
            expire_timestamp: -1,
        };
        let v3 = v.encode().unwrap();
        // version | offset | leaderEpoch | metadata | commitTimestamp
        let mut want = vec![0, 3];
        want.extend_from_slice(&42i64.to_be_bytes());
        want.extend_from_slice(&3i32.to_be_bytes());
        want.extend_from_slice(&[0, 1, b'm']);
        want.extend_from_slice(&1_000i64.to_be_bytes());
        assert_eq!(&v3[..], &want[..]);
        for version in 0..=4 {
            let bytes = v.encode_version(version).unwrap();
            let back = OffsetCommitValue::decode(bytes).unwrap();
            assert_eq!(back.offset, 42, "v{version}");
            assert_eq!(back.metadata, "m");
            assert_eq!(back.commit_timestamp, 1_000);
            assert_eq!(back.leader_epoch, if version >= 3 { 3 } else { -1 });
        }
        // v4 is flexible: compact string (length + 1) and an empty tag section at the end.
        let v4 = v.encode_version(4).unwrap();
        assert_eq!(v4.len(), 2 + 8 + 4 + 2 + 8 + 1);
        assert!(OffsetCommitValue::decode(Bytes::from_static(&[0, 9])).is_err());
        assert!(OffsetCommitValue::decode(Bytes::from_static(&[0, 3, 0])).is_err());
    }

    #[test]
    fn group_values_in_every_version() {
        let v = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            current_state_timestamp: 77,
            members: vec![MemberMetadata {
                member_id: "m-1".into(),
                group_instance_id: Some("i-1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300_000,
                session_timeout: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let back = GroupMetadataValue::decode(v.encode().unwrap()).unwrap();
        assert_eq!(back, v);
        let back = GroupMetadataValue::decode(v.encode_version(4).unwrap()).unwrap();
        assert_eq!(back, v);
        let v0 = GroupMetadataValue::decode(v.encode_version(0).unwrap()).unwrap();
        assert_eq!(v0.members[0].group_instance_id, None);
        assert_eq!(
            v0.members[0].rebalance_timeout, 45_000,
            "v0: the session timeout"
        );
        assert_eq!(v0.current_state_timestamp, -1);
        // An empty group: null protocol and leader.
        let empty = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 6,
            ..Default::default()
        };
        let bytes = empty.encode().unwrap();
        assert_eq!(GroupMetadataValue::decode(bytes).unwrap(), empty);
        // A member count larger than the bytes is refused before allocating.
        let mut hostile = BytesMut::new();
        hostile.put_i16(3);
        hostile.put_i16(0);
        hostile.put_i32(1);
        hostile.put_i16(-1);
        hostile.put_i16(-1);
        hostile.put_i64(0);
        hostile.put_i32(i32::MAX);
        assert!(GroupMetadataValue::decode(hostile.freeze()).is_err());
    }

    #[test]
    fn consumer_subscription_topics() {
        // ConsumerProtocolSubscription v1: topics ["a", "bc"], user data null, no owned.
        let mut b = BytesMut::new();
        b.put_i16(1);
        b.put_i32(2);
        b.put_slice(&[0, 1, b'a', 0, 2, b'b', b'c']);
        b.put_i32(-1);
        b.put_i32(0);
        assert_eq!(
            subscription_topics(&b.freeze()),
            Some(vec!["a".to_string(), "bc".to_string()])
        );
        assert_eq!(subscription_topics(&Bytes::from_static(b"x")), None);
    }
}
