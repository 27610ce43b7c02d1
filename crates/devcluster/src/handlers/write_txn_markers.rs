//! WriteTxnMarkers: v1 (broker to broker; Kafka 4 removed v0).
//!
//! A transaction coordinator asks this broker, as leader, to end a producer's transaction on
//! some partitions: each gets a control batch (COMMIT or ABORT marker, stamped with the
//! coordinator epoch), answered once the partition's in-sync replicas have it, as an acks=all
//! write with `min.insync.replicas` (NOT_ENOUGH_REPLICAS and timeouts make the coordinator
//! retry). A marker of an older producer epoch is INVALID_PRODUCER_EPOCH, of an older
//! coordinator epoch TRANSACTION_COORDINATOR_FENCED (see `partition/producer_state.rs`).
//! A marker on a `__consumer_offsets` partition then ends the producer's pending offsets of
//! every group there (COMMIT makes them the groups' offsets, ABORT drops them).

use std::time::Duration;

use streamctl_protocol::messages::write_txn_markers::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use streamctl_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use streamctl_protocol::record_batch::EndTxnMarker;
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;

use super::RequestContext;
use crate::coordinator::records::OFFSETS_TOPIC;
use crate::error::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 1);

/// How long a marker waits for the in-sync replicas (Kafka uses `request.timeout.ms`).
const MARKER_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers a WriteTxnMarkers request.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let deadline = Instant::now() + MARKER_TIMEOUT;
    let mut markers = Vec::with_capacity(req.markers.len());
    for m in &req.markers {
        let marker = EndTxnMarker {
            commit: m.transaction_result,
            coordinator_epoch: m.coordinator_epoch,
        };
        let mut topics = Vec::with_capacity(m.topics.len());
        for t in &m.topics {
            let mut partitions = Vec::with_capacity(t.partition_indexes.len());
            for p in &t.partition_indexes {
                let written = write(ctx, &t.name, *p, m.producer_id, m.producer_epoch, &marker, deadline).await;
                partitions.push(WritableTxnMarkerPartitionResult {
                    partition_index: *p,
                    error_code: written.err().map_or(0, |e| e.code.code()),
                    ..Default::default()
                });
            }
            topics.push(WritableTxnMarkerTopicResult {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            });
        }
        markers.push(WritableTxnMarkerResult {
            producer_id: m.producer_id,
            topics,
            ..Default::default()
        });
    }
    WriteTxnMarkersResponse {
        markers,
        ..Default::default()
    }
}

async fn write(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    marker: &EndTxnMarker,
    deadline: Instant,
) -> Result<(), ApiError> {
    let leader = ctx.broker.replicas.leader_replica(topic, partition)?;
    let min_isr = leader.config.min_insync_replicas();
    let info = leader
        .partition
        .append_marker(producer_id, producer_epoch, marker, min_isr)?;
    ctx.broker.replicas.data_arrived.notify_waiters();
    leader
        .partition
        .wait_for_commit(info.last_offset, info.leader_epoch, min_isr, deadline)
        .await?;
    if topic == OFFSETS_TOPIC {
        ctx.broker
            .coordinator
            .transaction_ended(partition, producer_id, marker.commit)
            .await;
    }
    Ok(())
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: every partition of every marker gets it. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &WriteTxnMarkersRequest,
    _version: i16,
    code: ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    Some(
        WriteTxnMarkersResponse {
            markers: req
                .markers
                .iter()
                .map(|m| WritableTxnMarkerResult {
                    producer_id: m.producer_id,
                    topics: m
                        .topics
                        .iter()
                        .map(|t| WritableTxnMarkerTopicResult {
                            name: t.name.clone(),
                            partitions: t
                                .partition_indexes
                                .iter()
                                .map(|p| WritableTxnMarkerPartitionResult {
                                    partition_index: *p,
                                    error_code: code.code(),
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
    )
}
