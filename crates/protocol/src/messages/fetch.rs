//! Fetch (API key 1): v4–v16, flexible from v12.
//!
//! v7 adds incremental fetch sessions (KIP-227), v11 rack-aware reads (KIP-392), v12 the tagged
//! diverging-epoch/leader/snapshot hints (KIP-595); from v13 topics are named by id only
//! (KIP-516), v15 moves the replica id into the tagged `replica_state` (KIP-903) and v16 adds
//! `node_endpoints` for leader discovery (KIP-951).

use bytes::Bytes;
use uuid::Uuid;

kafka_struct! {
    /// A follower's identity, sent by brokers only (v15+).
    pub struct FetchRequestReplicaState {
        /// The replica's broker id, or -1 for a consumer.
        replica_id: i32 [15.., default -1],
        /// The replica's broker epoch, or -1 if unknown.
        replica_epoch: i64 [15.., default -1],
    }
}

kafka_struct! {
    /// A partition to fetch from.
    pub struct FetchRequestPartition {
        /// The partition index.
        partition: i32 [4..],
        /// The leader epoch the fetcher believes current, or -1 to skip fencing.
        current_leader_epoch: i32 [9.., default -1],
        /// The offset to fetch from.
        fetch_offset: i64 [4..],
        /// The epoch of the last fetched record, for divergence checks, or -1.
        last_fetched_epoch: i32 [12.., default -1],
        /// The follower's log start offset (followers only), or -1.
        log_start_offset: i64 [5.., default -1],
        /// The most bytes to return for this partition.
        partition_max_bytes: i32 [4..],
    }
}

kafka_struct! {
    /// A topic to fetch from.
    pub struct FetchRequestTopic {
        /// The topic name (up to v12).
        topic: String [4..=12],
        /// The topic id (v13+).
        topic_id: Uuid [13..],
        /// The partitions to fetch.
        partitions: Vec<FetchRequestPartition> [4..],
    }
}

kafka_struct! {
    /// Partitions to drop from an incremental fetch session.
    pub struct FetchRequestForgottenTopic {
        /// The topic name (up to v12).
        topic: String [7..=12],
        /// The topic id (v13+).
        topic_id: Uuid [13..],
        /// The partition indexes to forget.
        partitions: Vec<i32> [7..],
    }
}

kafka_message! {
    /// Asks partition leaders (or preferred replicas) for records.
    pub struct FetchRequest: Fetch, versions 4..=16, flexible 12 {
        /// The cluster id the sender expects, or null to skip the check.
        cluster_id: Option<String> [12.., nullable 12.., tag 0, default None],
        /// The follower's broker id, or -1 for a consumer (up to v14).
        replica_id: i32 [4..=14, default -1],
        /// The follower's identity (v15+, brokers only).
        replica_state: FetchRequestReplicaState [15.., tag 1],
        /// The longest the broker may wait for `min_bytes`, in ms.
        max_wait_ms: i32 [4..],
        /// The fewest bytes to accumulate before answering.
        min_bytes: i32 [4..],
        /// The most bytes to return overall (KIP-74; the first batch may exceed it).
        max_bytes: i32 [4.., default i32::MAX],
        /// 0 = read uncommitted, 1 = read committed (only up to the last stable offset).
        isolation_level: i8 [4.., default 0],
        /// The fetch session id, or 0 for a full fetch outside a session.
        session_id: i32 [7.., default 0],
        /// The fetch session epoch, or -1 for a full fetch outside a session.
        session_epoch: i32 [7.., default -1],
        /// The topics to fetch.
        topics: Vec<FetchRequestTopic> [4..],
        /// Partitions to remove from the fetch session.
        forgotten_topics_data: Vec<FetchRequestForgottenTopic> [7..],
        /// The consumer's rack, for reading from a nearby replica.
        rack_id: String [11..],
    }
}

kafka_struct! {
    /// A transaction aborted within the returned records.
    pub struct FetchResponseAbortedTransaction {
        /// The producer id of the aborted transaction.
        producer_id: i64 [4..],
        /// The first offset of the aborted transaction.
        first_offset: i64 [4..],
    }
}

kafka_struct! {
    /// Where the fetcher's log diverges from the leader's.
    pub struct FetchResponseEpochEndOffset {
        /// The largest epoch not past the fetcher's last fetched epoch.
        epoch: i32 [12.., default -1],
        /// The end offset of that epoch; the fetcher truncates to it.
        end_offset: i64 [12.., default -1],
    }
}

kafka_struct! {
    /// The current leader, when the fetched replica is not it.
    pub struct FetchResponseLeaderIdAndEpoch {
        /// The leader's broker id, or -1 if unknown.
        leader_id: i32 [12.., default -1],
        /// The leader's epoch, or -1 if unknown.
        leader_epoch: i32 [12.., default -1],
    }
}

kafka_struct! {
    /// The snapshot a fetcher must load because the offset was truncated away (KRaft).
    pub struct FetchResponseSnapshotId {
        /// The snapshot's end offset.
        end_offset: i64 [4.., default -1],
        /// The snapshot's epoch.
        epoch: i32 [4.., default -1],
    }
}

kafka_struct! {
    /// A broker's address, for leaders named in the response (v16+).
    pub struct FetchResponseNodeEndpoint {
        /// The broker id.
        node_id: i32 [16..],
        /// The broker's host name.
        host: String [16..],
        /// The broker's port.
        port: i32 [16..],
        /// The broker's rack, or null.
        rack: Option<String> [16.., nullable 16.., default None],
    }
}

kafka_struct! {
    /// The data and offsets of one fetched partition.
    pub struct FetchResponsePartition {
        /// The partition index.
        partition_index: i32 [4..],
        /// The error code, or 0.
        error_code: i16 [4..],
        /// The high watermark: the end of the committed log.
        high_watermark: i64 [4..],
        /// The last stable offset; read-committed consumers stop here.
        last_stable_offset: i64 [4.., default -1],
        /// The log start offset.
        log_start_offset: i64 [5.., default -1],
        /// Where the fetcher must truncate to, when its log diverged.
        diverging_epoch: FetchResponseEpochEndOffset [12.., tag 0],
        /// The current leader, sent with `NOT_LEADER_OR_FOLLOWER` and `FENCED_LEADER_EPOCH`.
        current_leader: FetchResponseLeaderIdAndEpoch [12.., tag 1],
        /// The snapshot to load when the fetch offset is below the log start.
        snapshot_id: FetchResponseSnapshotId [12.., tag 2],
        /// Transactions aborted within the records (read committed only), or null.
        aborted_transactions: Option<Vec<FetchResponseAbortedTransaction>>
            [4.., nullable 4.., default Some(Vec::new())],
        /// The replica the consumer should fetch from next, or -1 for the leader.
        preferred_read_replica: i32 [11.., default -1],
        /// The record batches, or null.
        records: Option<Bytes> [4.., nullable 4.., default Some(Bytes::new())],
    }
}

kafka_struct! {
    /// The fetched partitions of one topic.
    pub struct FetchResponseTopic {
        /// The topic name (up to v12).
        topic: String [4..=12],
        /// The topic id (v13+).
        topic_id: Uuid [13..],
        /// The fetched partitions.
        partitions: Vec<FetchResponsePartition> [4..],
    }
}

kafka_message! {
    /// The records and offsets returned by a fetch.
    pub struct FetchResponse: Fetch, versions 4..=16, flexible 12 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [4..],
        /// The top-level error code (fetch session errors), or 0.
        error_code: i16 [7..],
        /// The fetch session id, or 0 when not in a session.
        session_id: i32 [7.., default 0],
        /// The fetched topics.
        responses: Vec<FetchResponseTopic> [4..],
        /// Addresses of the leaders named in `current_leader` (v16+).
        node_endpoints: Vec<FetchResponseNodeEndpoint> [16.., tag 0],
    }
}
