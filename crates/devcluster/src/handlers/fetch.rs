//! Fetch: v4–v16.
//!
//! Reads whole batches from each partition's leader replica up to the high watermark:
//! a fetch from the middle of a batch returns the whole batch (clients skip the records
//! before their offset). Byte limits follow KIP-74: `partition_max_bytes` per partition and
//! `max_bytes` in total, except that the first batch found is returned even when larger, so
//! a consumer can always make progress. Long poll: when fewer than `min_bytes` are ready,
//! the request waits up to `max_wait_ms` for new data (woken by appends, never by sleeping).
//! Fetch sessions (KIP-227): the broker declines to create them (answers session id 0), which
//! clients treat as "keep sending full fetches"; an incremental fetch gets
//! FETCH_SESSION_ID_NOT_FOUND.
//! Follower fetches (`replica_id` >= 0, or `replica_state` from v15) read up to the log end,
//! and their fetch offset tells the leader the follower's log end offset: that is how the
//! high watermark advances and how a caught-up follower rejoins the ISR. From v15 they carry
//! the follower's broker epoch (KIP-903): a fetch of an earlier incarnation of the follower
//! is answered STALE_BROKER_EPOCH and changes nothing. A follower's long poll also ends when
//! a high watermark it fetches moves, so followers learn it promptly.
//! read_committed (`isolation_level` 1) reads up to the last stable offset and lists the
//! aborted transactions within what it returns; the broker never filters records, the
//! client skips aborted batches (Kafka's split, KIP-98). `last_stable_offset` is answered
//! for both levels.

use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::messages::fetch::{
    FetchResponseAbortedTransaction, FetchResponseLeaderIdAndEpoch, FetchResponsePartition, FetchResponseTopic,
};
use streamctl_protocol::messages::{FetchRequest, FetchResponse};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;

use super::RequestContext;
use crate::error::ApiError;
use crate::partition::{check_leader_epoch, FollowerFetchRequest, Isolation, Reader};

/// Versions served.
pub const VERSIONS: (i16, i16) = (4, 16);

/// Longest long-poll accepted, whatever the client asks (Kafka has no cap; a dev cluster
/// should not hold a connection for minutes).
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

/// Answers a Fetch request.
pub async fn handle(ctx: &RequestContext<'_>, req: FetchRequest) -> FetchResponse {
    if req.session_id != 0 {
        return FetchResponse {
            error_code: ErrorCode::FetchSessionIdNotFound.code(),
            ..Default::default()
        };
    }
    let max_wait =
        Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + max_wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    // The follower incarnation this fetch speaks for (KIP-903): the broker epoch it carries
    // (v15+), else the sender's epoch when it arrived. A long poll may outlive the broker
    // that sent it, and must then stop speaking for the broker's next incarnation.
    let follower = replica_id(&req, ctx.version()).map(|id| {
        let carried = u64::try_from(req.replica_state.replica_epoch).ok();
        match carried.filter(|_| ctx.version() >= 15) {
            Some(epoch) => (id, epoch),
            None => (id, ctx.broker.controller.broker_epoch(id)),
        }
    });
    let mut first_high_watermarks = None;
    loop {
        // Register for wake-ups before reading so an append between the read and the wait
        // is not missed.
        let notified = ctx.broker.replicas.data_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let (response, bytes, any_error) = read_all(ctx, &req, follower);
        // A follower also gets an answer as soon as a high watermark or log start moves (see
        // `watermarks`).
        let high_watermarks = follower.map(|_| watermarks(&response));
        let hw_moved = match (&first_high_watermarks, &high_watermarks) {
            (Some(first), Some(now)) => first != now,
            _ => false,
        };
        if first_high_watermarks.is_none() {
            first_high_watermarks = high_watermarks;
        }
        if bytes >= min_bytes.max(1) || any_error || hw_moved || Instant::now() >= deadline {
            return response;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            // Deadline reached without new data: answer with what there is now.
            return read_all(ctx, &req, follower).0;
        }
    }
}

/// Each partition's high watermark and log start in a response: a follower's long poll ends
/// when they move, since followers must learn both (a lagging high watermark delays a new
/// leader, KIP-207; a log start they have not adopted delays DeleteRecords).
fn watermarks(response: &FetchResponse) -> Vec<(i64, i64)> {
    response
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (p.high_watermark, p.log_start_offset))
        })
        .collect()
}

/// One pass over every requested partition; returns the response, the record bytes in it
/// and whether any partition had an error (errors are answered at once, not long-polled).
fn read_all(
    ctx: &RequestContext<'_>,
    req: &FetchRequest,
    follower: Option<(i32, u64)>,
) -> (FetchResponse, usize, bool) {
    let version = ctx.version();
    let md = ctx.broker.metadata();
    let mut remaining = usize::try_from(req.max_bytes).unwrap_or(0);
    let mut total = 0usize;
    let mut any_error = false;
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name = if version >= 13 {
            md.topic_by_id(t.topic_id).map(|m| m.name.clone())
        } else {
            Some(t.topic.clone())
        };
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let result = match &name {
                None => Err(ApiError::new(ErrorCode::UnknownTopicId, "unknown topic id")),
                Some(n) => {
                    read_partition(ctx, n, p, remaining, total == 0, follower, req.isolation_level)
                }
            };
            partitions.push(match result {
                Ok(part) => {
                    let n = part.records.as_ref().map_or(0, Bytes::len);
                    total += n;
                    remaining = remaining.saturating_sub(n);
                    part
                }
                Err(e) => {
                    any_error = true;
                    let mut part = FetchResponsePartition {
                        partition_index: p.partition,
                        error_code: e.code.code(),
                        high_watermark: -1,
                        records: None,
                        aborted_transactions: None,
                        ..Default::default()
                    };
                    if e.code == ErrorCode::OffsetOutOfRange {
                        // Where our log is, so a follower moves there instead of guessing.
                        if let Some(local) = name
                            .as_deref()
                            .and_then(|n| ctx.broker.replicas.leader_replica(n, p.partition).ok())
                        {
                            let (log_start, high_watermark, _) = local.partition.offsets();
                            part.high_watermark = high_watermark;
                            part.log_start_offset = log_start;
                        }
                    }
                    if let Some(leader) = name.as_deref().and_then(|n| md.partition(n, p.partition))
                    {
                        if matches!(
                            e.code,
                            ErrorCode::NotLeaderOrFollower | ErrorCode::FencedLeaderEpoch
                        ) {
                            part.current_leader = FetchResponseLeaderIdAndEpoch {
                                leader_id: leader.leader,
                                leader_epoch: leader.leader_epoch,
                                ..Default::default()
                            };
                        }
                    }
                    part
                }
            });
        }
        responses.push(FetchResponseTopic {
            topic: t.topic.clone(),
            topic_id: t.topic_id,
            partitions,
            ..Default::default()
        });
    }
    let response = FetchResponse {
        responses,
        ..Default::default()
    };
    (response, total, any_error)
}

/// The fetching follower's node id, or None for a consumer.
pub(crate) fn replica_id(req: &FetchRequest, version: i16) -> Option<i32> {
    let id = if version >= 15 {
        req.replica_state.replica_id
    } else {
        req.replica_id
    };
    (id >= 0).then_some(id)
}

fn read_partition(
    ctx: &RequestContext<'_>,
    topic: &str,
    p: &streamctl_protocol::messages::fetch::FetchRequestPartition,
    remaining: usize,
    first: bool,
    replica: Option<(i32, u64)>,
    isolation_level: i8,
) -> Result<FetchResponsePartition, ApiError> {
    let leader = ctx.broker.replicas.leader_replica(topic, p.partition)?;
    check_leader_epoch(p.current_leader_epoch, leader.leader_epoch)?;
    let max = usize::try_from(p.partition_max_bytes)
        .unwrap_or(0)
        .min(remaining);
    let reader = match replica {
        Some((follower, follower_epoch)) => {
            if ctx.broker.controller.broker_epoch(follower) != follower_epoch {
                return Err(ApiError::new(
                    ErrorCode::StaleBrokerEpoch,
                    format!("broker {follower} epoch {follower_epoch} is not its current incarnation"),
                ));
            }
            let outcome = leader.partition.record_follower_fetch(
                &FollowerFetchRequest {
                    follower,
                    broker_epoch: follower_epoch,
                    leader_epoch: p.current_leader_epoch,
                    fetch_offset: p.fetch_offset,
                    log_start_offset: p.log_start_offset,
                },
                ctx.broker.controller.as_ref(),
            )?;
            if outcome.isr_expanded {
                ctx.broker
                    .metrics
                    .isr_expands
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if outcome.high_watermark_advanced || outcome.isr_expanded {
                ctx.broker.replicas.data_arrived.notify_waiters();
            }
            Reader::Replica
        }
        None => Reader::Consumer(Isolation::from_level(isolation_level)),
    };
    let read = leader.partition.read(p.fetch_offset, max, first, reader)?;
    Ok(FetchResponsePartition {
        partition_index: p.partition,
        error_code: 0,
        high_watermark: read.high_watermark,
        last_stable_offset: read.last_stable_offset,
        log_start_offset: read.log_start_offset,
        aborted_transactions: read.aborted.map(|list| {
            list.into_iter()
                .map(|(producer_id, first_offset)| FetchResponseAbortedTransaction {
                    producer_id,
                    first_offset,
                    ..Default::default()
                })
                .collect()
        }),
        records: Some(read.records),
        ..Default::default()
    })
}

/// This API's answer to a request failing with `code` (an injected fault), without executing
/// it: the code goes where Kafka puts this API's errors. `None`: no answer can be built.
pub(crate) fn error_response(
    req: &streamctl_protocol::messages::FetchRequest,
    _version: i16,
    code: streamctl_protocol::ErrorCode,
    _md: &crate::controller::ClusterMetadata,
) -> Option<streamctl_protocol::messages::ResponseBody> {
    use streamctl_protocol::messages::fetch::*;
    use streamctl_protocol::messages::ResponseBody;
    let error_code = code.code();
    let response: ResponseBody = FetchResponse {
        // A top-level error would hide the partitions; Kafka puts partition errors there.
        responses: req
            .topics
            .iter()
            .map(|t| FetchResponseTopic {
                topic: t.topic.clone(),
                topic_id: t.topic_id,
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| FetchResponsePartition {
                        partition_index: p.partition,
                        error_code,
                        high_watermark: -1,
                        records: None,
                        aborted_transactions: None,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into();
    Some(response)
}
