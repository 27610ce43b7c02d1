//! Produce: v3–v11 (advertised from v0; older versions are refused by the codec).
//!
//! Validates each batch by header and CRC-32C (magic 2, record count, `max.message.bytes`),
//! assigns offsets by rewriting the base offset, stamps LogAppendTime when the topic asks for
//! it, and appends. acks=0 sends no response; acks=1 and acks=-1 answer after the append
//! (the high watermark follows the leader's log until followers replicate).
//! Not implemented yet: idempotent sequence checks and transactions.

use streamctl_protocol::messages::produce::{ProduceResponsePartition, ProduceResponseTopic};
use streamctl_protocol::messages::{ProduceRequest, ProduceResponse};
use streamctl_protocol::ErrorCode;
use tracing::debug;

use super::RequestContext;
use crate::controller::ApiError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (3, 11);

/// Answers a Produce request; `None` for acks=0.
pub async fn handle(ctx: &RequestContext<'_>, req: ProduceRequest) -> Option<ProduceResponse> {
    let broker = ctx.broker;
    let invalid_acks = !(-1..=1).contains(&req.acks);
    let mut responses = Vec::with_capacity(req.topic_data.len());
    let mut appended = false;
    for topic in &req.topic_data {
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for pd in &topic.partition_data {
            let result = if invalid_acks {
                Err(ApiError::new(
                    ErrorCode::InvalidRequiredAcks,
                    format!("acks must be -1, 0 or 1, got {}", req.acks),
                ))
            } else {
                append(ctx, &topic.name, pd.index, pd.records.as_ref())
            };
            partitions.push(match result {
                Ok(info) => {
                    appended = true;
                    ProduceResponsePartition {
                        index: pd.index,
                        base_offset: info.base_offset,
                        log_append_time_ms: info.log_append_time,
                        log_start_offset: info.log_start_offset,
                        ..Default::default()
                    }
                }
                Err(e) => {
                    debug!(broker = broker.node_id, topic = %topic.name, partition = pd.index, error = %e, "produce refused");
                    ProduceResponsePartition {
                        index: pd.index,
                        error_code: e.code.code(),
                        base_offset: -1,
                        error_message: Some(e.message),
                        ..Default::default()
                    }
                }
            });
        }
        responses.push(ProduceResponseTopic {
            name: topic.name.clone(),
            partition_responses: partitions,
            ..Default::default()
        });
    }
    if appended {
        broker.data_arrived.notify_waiters();
    }
    (req.acks != 0).then(|| ProduceResponse {
        responses,
        ..Default::default()
    })
}

fn append(
    ctx: &RequestContext<'_>,
    topic: &str,
    partition: i32,
    records: Option<&bytes::Bytes>,
) -> Result<crate::partition::AppendInfo, ApiError> {
    let leader = ctx.broker.leader_replica(topic, partition)?;
    let records =
        records.ok_or_else(|| ApiError::new(ErrorCode::CorruptMessage, "null records"))?;
    leader
        .partition
        .append_as_leader(records, &leader.topic.config, leader.leader_epoch)
}
