//! WriteTxnMarkers: v1 (broker to broker; Kafka 4 removed v0).
//!
//! A transaction coordinator asks this broker, as leader, to end a producer's transaction on
//! some partitions: each gets a control batch (COMMIT or ABORT marker, stamped with the
//! coordinator epoch), all appended first and answered once the partitions' in-sync replicas
//! have them, as acks=all writes with `min.insync.replicas` (NOT_ENOUGH_REPLICAS and timeouts
//! make the coordinator retry). A marker of an older producer epoch is INVALID_PRODUCER_EPOCH, of an older
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

/// How long markers wait for the in-sync replicas: well under the coordinator's answer
/// timeout (`inter_broker.rs`), so a slow ISR gets an answer (REQUEST_TIMED_OUT, retried)
/// rather than a dropped connection and a second writer of the same markers.
const MARKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers a WriteTxnMarkers request: every marker is appended first, then the answer waits
/// once for all of them to reach their ISRs.
pub async fn handle(
    ctx: &RequestContext<'_>,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let deadline = Instant::now() + MARKER_TIMEOUT;
    let mut appended = Vec::new();
    let mut markers = Vec::with_capacity(req.markers.len());
    for (m_index, m) in req.markers.iter().enumerate() {
        let marker = EndTxnMarker {
            commit: m.transaction_result,
            coordinator_epoch: m.coordinator_epoch,
        };
        let mut topics = Vec::with_capacity(m.topics.len());
        for (t_index, t) in m.topics.iter().enumerate() {
            let mut partitions = Vec::with_capacity(t.partition_indexes.len());
            for (p_index, p) in t.partition_indexes.iter().enumerate() {
                let code = match append(ctx, &t.name, *p, m.producer_id, m.producer_epoch, &marker)
                {
                    Ok(written) => {
                        appended.push(((m_index, t_index, p_index), written));
                        0
                    }
                    Err(e) => e.code.code(),
                };
                partitions.push(WritableTxnMarkerPartitionResult {
                    partition_index: *p,
                    error_code: code,
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
    if !appended.is_empty() {
        ctx.broker.replicas.data_arrived.notify_waiters();
    }
    for ((m, t, p), written) in appended {
        let result = written.durable(ctx, deadline).await;
        if let Some(slot) = markers
            .get_mut(m)
            .and_then(|m| m.topics.get_mut(t))
            .and_then(|t| t.partitions.get_mut(p))
        {
            slot.error_code = result.err().map_or(0, |e| e.code.code());
        }
    }
    WriteTxnMarkersResponse {
        markers,
        ..Default::default()
    }
}

/// A marker appended on this leader, not yet known to be on its ISR.
struct Written {
    replica: std::sync::Arc<crate::partition::Partition>,
    info: crate::partition::AppendInfo,
    min_isr: usize,
    producer_id: i64,
    commit: bool,
}

impl Written {
    /// Waits until the ISR has the marker; a marker on `__consumer_offsets` then ends the
    /// producer's pending offsets of the groups there.
    async fn durable(self, ctx: &RequestContext<'_>, deadline: Instant) -> Result<(), ApiError> {
        self.replica
            .wait_for_commit(
                self.info.last_offset,
                self.info.leader_epoch,
                self.min_isr,
                deadline,
            )
            .await?;
        if self.replica.topic == OFFSETS_TOPIC {
            ctx.broker
                .coordinator
                .transaction_ended(
                    self.replica.partition,
                    self.producer_id,
                    self.commit,
                    self.info.base_offset,
                )
                .await;
        }
        Ok(())
    }
}

fn append(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    marker: &EndTxnMarker,
) -> Result<Written, ApiError> {
    let leader = ctx.broker.replicas.leader_replica(topic, partition)?;
    let min_isr = leader.config.min_insync_replicas();
    let info = leader
        .partition
        .append_marker(producer_id, producer_epoch, marker, min_isr)?;
    Ok(Written {
        replica: leader.partition,
        info,
        min_isr,
        producer_id,
        commit: marker.commit,
    })
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
