//! The fetcher: one background task keeping a Fetch in flight to every broker that leads an
//! assigned partition, and resolving positions.
//!
//! ```text
//!  loop (woken by poll, seek, assign, pause/resume, an answer, or a retry timer):
//!    partitions without a position ─▶ resolve task: committed offset (OffsetFetch) or
//!                                     auto.offset.reset (ListOffsets); none ─▶ error to poll
//!    fetchable partitions (positioned, not paused, no Fetch in flight, buffer below
//!    max.partition.fetch.bytes) grouped by leader ─▶ per broker without a Fetch in flight:
//!        Fetch(fetch.min.bytes, fetch.max.wait.ms, fetch.max.bytes, per-partition bytes),
//!        topic ids from v13; decoded (and decompressed) in the broker's own task
//!    answers ─▶ records after the fetch offset appended to the partition's buffer
//!               (control batches skipped; under read_committed also aborted transactions,
//!               see `aborted.rs`)
//!               NOT_LEADER / FENCED_LEADER_EPOCH / UNKNOWN_TOPIC / lost connection ─▶
//!                   metadata hooks, retry after retry.backoff.ms at the new leader
//!               OFFSET_OUT_OF_RANGE ─▶ auto.offset.reset (earliest / latest / none → error)
//! ```
//!
//! Pipelining: a partition is fetched again while the application still holds records of it,
//! up to `max.partition.fetch.bytes` buffered, so the next answer is usually there when
//! `poll` asks. A seek bumps the partition's epoch; answers for an older epoch are dropped.
//! Fetch sessions (KIP-227) are not used: every Fetch is a full fetch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
use streamctl_protocol::messages::FetchRequest;
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, warn};
use uuid::Uuid;

use super::aborted::{AbortedTransactions, Verdict};
use super::{
    offsets, record_size, ConsumerConfig, ConsumerInner, ConsumerRecord, OffsetReset,
    TopicPartition,
};
use crate::error::{Error, Result};
use crate::metadata::Leader;

/// Decompressed batches larger than this are refused (a hostile or corrupt batch must not
/// exhaust memory).
const MAX_DECOMPRESSED: usize = 256 << 20;

/// One partition in a Fetch: where to fetch from and under which seek epoch.
#[derive(Debug, Clone)]
struct FetchTarget {
    tp: TopicPartition,
    fetch_offset: i64,
    seek_epoch: u64,
    leader_epoch: i32,
}

/// What a partition's fetch came back with.
#[derive(Debug)]
pub(crate) enum PartitionOutcome {
    Records {
        records: Vec<ConsumerRecord>,
        next_offset: i64,
        high_watermark: i64,
    },
    Error(ErrorCode),
    Fatal(Error),
}

/// What a finished background job reports to the fetcher loop.
#[derive(Debug)]
enum Done {
    Fetch {
        node: i32,
        /// Every partition the request asked for (some may be missing from `results`).
        sent: Vec<FetchTarget>,
        results: Vec<(FetchTarget, PartitionOutcome)>,
        /// The request failed as a whole (connection or version): every partition retries.
        failed: Option<Error>,
    },
    Resolved {
        results: Vec<(TopicPartition, u64, Result<i64>)>,
    },
}

/// The fetcher task; returns when the consumer closes.
pub async fn run(inner: Arc<ConsumerInner>) {
    let mut jobs: JoinSet<Done> = JoinSet::new();
    let mut busy_brokers: HashSet<i32> = HashSet::new();
    loop {
        let wake = inner.fetch_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let now = Instant::now();
        start_resolving(&inner, &mut jobs);
        let next_retry = start_fetches(&inner, &mut jobs, &mut busy_brokers, now).await;
        let sleep = next_retry.unwrap_or_else(|| now + Duration::from_secs(1));
        tokio::select! {
            () = inner.stop.cancelled() => {
                jobs.abort_all();
                return;
            }
            () = &mut wake => {}
            () = tokio::time::sleep_until(sleep) => {}
            Some(done) = jobs.join_next(), if !jobs.is_empty() => {
                match done {
                    Ok(done) => apply(&inner, done, &mut busy_brokers),
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => warn!(error = %e, "a fetch job failed"),
                }
            }
        }
    }
}

/// Starts a lookup for every partition that needs a position.
fn start_resolving(inner: &Arc<ConsumerInner>, jobs: &mut JoinSet<Done>) {
    let todo: Vec<(TopicPartition, u64, bool)> = {
        let mut state = inner.state();
        state
            .assignment
            .iter_mut()
            .filter(|(_, p)| p.position.is_none() && !p.resolving && !p.needs_seek)
            .filter(|(_, p)| !p.assigning || p.position_wanted)
            .filter(|(_, p)| p.retry_at.is_none_or(|at| at <= Instant::now()))
            .map(|(tp, p)| {
                p.resolving = true;
                (tp.clone(), p.seek_epoch, p.reset_only)
            })
            .collect()
    };
    if todo.is_empty() {
        return;
    }
    let inner = inner.clone();
    jobs.spawn(async move {
        let tps: Vec<TopicPartition> = todo
            .iter()
            .filter(|(_, _, reset_only)| !reset_only)
            .map(|(tp, _, _)| tp.clone())
            .collect();
        let committed = if inner.config.group_id.is_some() {
            offsets::fetch_committed(&inner, &tps).await
        } else {
            Ok(BTreeMap::new())
        };
        let committed = match committed {
            Ok(c) => c,
            Err(e) => {
                return Done::Resolved {
                    results: todo
                        .into_iter()
                        .map(|(tp, ep, _)| (tp, ep, Err(e.clone())))
                        .collect(),
                }
            }
        };
        let missing: Vec<TopicPartition> = todo
            .iter()
            .map(|(tp, _, _)| tp)
            .filter(|tp| !committed.contains_key(*tp))
            .cloned()
            .collect();
        let reset = reset_offsets(&inner, &missing).await;
        let results = todo
            .into_iter()
            .map(|(tp, ep, _)| {
                let r = match committed.get(&tp) {
                    Some(&o) => Ok(o),
                    None => match &reset {
                        Ok(found) => found.get(&tp).copied().ok_or_else(|| super::no_offset(&tp)),
                        Err(e) => Err(e.clone()),
                    },
                };
                (tp, ep, r)
            })
            .collect();
        Done::Resolved { results }
    });
}

/// Offsets by `auto.offset.reset`; `none` is an error per partition.
async fn reset_offsets(
    inner: &ConsumerInner,
    partitions: &[TopicPartition],
) -> Result<BTreeMap<TopicPartition, i64>> {
    let ts = match inner.config.auto_offset_reset {
        OffsetReset::Earliest => offsets::EARLIEST,
        OffsetReset::Latest => offsets::LATEST,
        OffsetReset::None => return Ok(BTreeMap::new()),
    };
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let query: Vec<(TopicPartition, i64)> = partitions.iter().map(|tp| (tp.clone(), ts)).collect();
    let found = offsets::list_offsets(&inner.cluster, &query, inner.config.isolation_level).await?;
    Ok(found.into_iter().map(|(tp, (o, _))| (tp, o)).collect())
}

/// Sends a Fetch to every broker that leads fetchable partitions and has none in flight.
/// Returns the earliest retry deadline of partitions waiting after an error.
async fn start_fetches(
    inner: &Arc<ConsumerInner>,
    jobs: &mut JoinSet<Done>,
    busy: &mut HashSet<i32>,
    now: Instant,
) -> Option<Instant> {
    let buffer_limit = inner.config.max_partition_fetch_bytes.max(1) as usize;
    let mut next_retry: Option<Instant> = None;
    let candidates: Vec<FetchTarget> = {
        let state = inner.state();
        state
            .assignment
            .iter()
            .filter_map(|(tp, p)| {
                if let Some(at) = p.retry_at.filter(|at| *at > now) {
                    next_retry = Some(next_retry.map_or(at, |n: Instant| n.min(at)));
                    return None;
                }
                let fetchable = p.position.is_some()
                    && !p.in_flight
                    && p.deliverable()
                    && !p.needs_seek
                    && p.buffered_bytes < buffer_limit;
                fetchable.then(|| FetchTarget {
                    tp: tp.clone(),
                    fetch_offset: p.fetch_offset,
                    seek_epoch: p.seek_epoch,
                    leader_epoch: -1,
                })
            })
            .collect()
    };
    if candidates.is_empty() {
        return next_retry;
    }
    let mut by_leader: BTreeMap<i32, Vec<FetchTarget>> = BTreeMap::new();
    for mut target in candidates {
        match inner
            .cluster
            .leader_for(&target.tp.topic, target.tp.partition)
            .await
        {
            Ok(Leader {
                node_id,
                leader_epoch,
            }) => {
                if busy.contains(&node_id) {
                    continue;
                }
                target.leader_epoch = leader_epoch;
                by_leader.entry(node_id).or_default().push(target);
            }
            Err(e) => {
                debug!(topic = %target.tp.topic, partition = target.tp.partition, error = %e, "no leader to fetch from");
                let at = now + inner.config.client.retry_backoff;
                if let Some(p) = inner.state().assignment.get_mut(&target.tp) {
                    p.retry_at = Some(at);
                }
                next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
                if !e.is_retriable() {
                    inner.report(e);
                }
            }
        }
    }
    for (node, mut targets) in by_leader {
        {
            // The leader lookups awaited: a seek, pause or revocation may have come in
            // meanwhile. Only what still matches is sent.
            let mut state = inner.state();
            targets.retain(|t| {
                state.assignment.get_mut(&t.tp).is_some_and(|p| {
                    let current = p.seek_epoch == t.seek_epoch
                        && p.fetch_offset == t.fetch_offset
                        && !p.in_flight
                        && p.deliverable();
                    if current {
                        p.in_flight = true;
                    }
                    current
                })
            });
        }
        if targets.is_empty() {
            continue;
        }
        tracing::trace!(node, partitions = targets.len(), "fetch");
        busy.insert(node);
        let inner = inner.clone();
        jobs.spawn(async move { fetch_from(&inner, node, targets).await });
    }
    next_retry
}

/// One Fetch to one broker, decoded.
async fn fetch_from(inner: &ConsumerInner, node: i32, targets: Vec<FetchTarget>) -> Done {
    let config = &inner.config;
    let conn = match inner.cluster.connection(node).await {
        Ok(c) => c,
        Err(e) => {
            // The broker may be gone: whatever it led must be looked up again.
            inner.cluster.on_connection_lost(node);
            return Done::Fetch {
                node,
                sent: targets,
                results: Vec::new(),
                failed: Some(e),
            };
        }
    };
    let version = conn.negotiated_version(ApiKey::Fetch).unwrap_or(4);
    let by_ids = version >= 13;
    let snapshot = inner.cluster.snapshot();
    let mut topics: BTreeMap<String, Vec<FetchRequestPartition>> = BTreeMap::new();
    for t in &targets {
        topics
            .entry(t.tp.topic.clone())
            .or_default()
            .push(FetchRequestPartition {
                partition: t.tp.partition,
                current_leader_epoch: t.leader_epoch,
                fetch_offset: t.fetch_offset,
                partition_max_bytes: config.max_partition_fetch_bytes,
                ..Default::default()
            });
    }
    let mut ids: HashMap<Uuid, String> = HashMap::new();
    let request_topics = topics
        .into_iter()
        .map(|(topic, partitions)| {
            let topic_id = snapshot.topic(&topic).map_or(Uuid::nil(), |t| t.topic_id);
            ids.insert(topic_id, topic.clone());
            FetchRequestTopic {
                topic,
                topic_id,
                partitions,
                ..Default::default()
            }
        })
        .collect();
    let request = fetch_request(config, request_topics);
    let timeout = config.client.request_timeout + config.fetch_max_wait;
    let response = match conn.call_with_timeout(request, timeout).await {
        Ok(r) => r,
        Err(e) => {
            if e.code().is_none() {
                inner.cluster.on_connection_lost(node);
            }
            return Done::Fetch {
                node,
                sent: targets,
                results: Vec::new(),
                failed: Some(e),
            };
        }
    };
    let top = ErrorCode::from_code(response.error_code);
    if !top.is_ok() {
        return Done::Fetch {
            node,
            sent: targets,
            results: Vec::new(),
            failed: Some(Error::broker(top)),
        };
    }
    let mut results = Vec::with_capacity(targets.len());
    for topic in response.responses {
        let name = if by_ids {
            match ids.get(&topic.topic_id) {
                Some(n) => n.clone(),
                None => continue,
            }
        } else {
            topic.topic
        };
        for p in topic.partitions {
            let Some(target) = targets
                .iter()
                .find(|t| t.tp.partition == p.partition_index && t.tp.topic == name)
            else {
                continue;
            };
            let code = ErrorCode::from_code(p.error_code);
            if !code.is_ok() {
                if p.current_leader.leader_id >= 0 {
                    inner.cluster.update_leader(
                        &name,
                        p.partition_index,
                        Leader {
                            node_id: p.current_leader.leader_id,
                            leader_epoch: p.current_leader.leader_epoch,
                        },
                    );
                }
                results.push((target.clone(), PartitionOutcome::Error(code)));
                continue;
            }
            // Under read_uncommitted the list is null and, if a broker sent one anyway,
            // ignored: only read_committed filters.
            let aborted: Option<Vec<(i64, i64)>> =
                config.isolation_level.read_committed().then(|| {
                    p.aborted_transactions
                        .iter()
                        .flatten()
                        .map(|a| (a.producer_id, a.first_offset))
                        .collect()
                });
            let outcome = decode(
                &Arc::from(name.as_str()),
                p.partition_index,
                target.fetch_offset,
                p.records.unwrap_or_default(),
                p.high_watermark,
                aborted.as_deref(),
            );
            results.push((target.clone(), outcome));
        }
    }
    Done::Fetch {
        node,
        sent: targets,
        results,
        failed: None,
    }
}

/// A consumer's full Fetch (no session) for these topics, with its limits and isolation
/// level.
fn fetch_request(config: &ConsumerConfig, topics: Vec<FetchRequestTopic>) -> FetchRequest {
    FetchRequest {
        replica_id: -1,
        max_wait_ms: i32::try_from(config.fetch_max_wait.as_millis()).unwrap_or(i32::MAX),
        min_bytes: config.fetch_min_bytes,
        max_bytes: config.fetch_max_bytes,
        isolation_level: config.isolation_level.as_i8(),
        session_id: 0,
        session_epoch: -1,
        topics,
        ..Default::default()
    }
}

/// Decodes a partition's records, skipping those before `fetch_offset` (a fetch from the
/// middle of a batch returns the whole batch), control batches and, under read_committed
/// (`aborted` is the answer's `(producer_id, first_offset)` list), batches of aborted
/// transactions. `next_offset` goes past everything skipped.
pub(crate) fn decode(
    topic: &Arc<str>,
    partition: i32,
    fetch_offset: i64,
    records: bytes::Bytes,
    high_watermark: i64,
    aborted: Option<&[(i64, i64)]>,
) -> PartitionOutcome {
    let mut out = Vec::new();
    let mut next_offset = fetch_offset;
    let mut filter = aborted.map(|a| AbortedTransactions::new(a.iter().copied()));
    for batch in RecordBatches::new(records) {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                return PartitionOutcome::Fatal(Error::broker_for(
                    ErrorCode::CorruptMessage,
                    Some(format!(
                        "undecodable record batch at offset {next_offset}: {e}"
                    )),
                    &**topic,
                    Some(partition),
                ))
            }
        };
        // Every batch goes through the filter, in log order, even one before the fetch
        // offset: an ABORT marker there still ends its producer's aborted range (as Java).
        let verdict = filter.as_mut().map_or(Verdict::Keep, |f| f.judge(&batch));
        if batch.next_offset() <= next_offset {
            continue;
        }
        if batch.is_control() || verdict == Verdict::Aborted {
            next_offset = batch.next_offset();
            continue;
        }
        let decoded = match batch.records(MAX_DECOMPRESSED) {
            Ok(r) => r,
            Err(e) => {
                return PartitionOutcome::Fatal(Error::broker_for(
                    ErrorCode::CorruptMessage,
                    Some(format!(
                        "undecodable records at offset {}: {e}",
                        batch.base_offset()
                    )),
                    &**topic,
                    Some(partition),
                ))
            }
        };
        for record in decoded {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    return PartitionOutcome::Fatal(Error::broker_for(
                        ErrorCode::CorruptMessage,
                        Some(format!(
                            "undecodable record after offset {next_offset}: {e}"
                        )),
                        &**topic,
                        Some(partition),
                    ))
                }
            };
            if record.offset < fetch_offset {
                continue;
            }
            out.push(ConsumerRecord {
                topic: Arc::clone(topic),
                partition,
                offset: record.offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|h| (h.key, h.value))
                    .collect(),
            });
        }
        // Compaction can leave gaps: the batch's end, not the last record, is where to go on.
        next_offset = batch.next_offset();
    }
    PartitionOutcome::Records {
        records: out,
        next_offset,
        high_watermark,
    }
}

/// Applies a finished job to the partition states.
fn apply(inner: &Arc<ConsumerInner>, done: Done, busy: &mut HashSet<i32>) {
    let retry_at = Instant::now() + inner.config.client.retry_backoff;
    match done {
        Done::Resolved { results } => {
            let mut state = inner.state();
            let mut errors = Vec::new();
            for (tp, epoch, result) in results {
                let Some(p) = state.assignment.get_mut(&tp) else {
                    continue;
                };
                if p.seek_epoch != epoch || p.position.is_some() {
                    continue;
                }
                p.resolving = false;
                match result {
                    Ok(offset) => {
                        debug!(topic = %tp.topic, partition = tp.partition, offset, "position resolved");
                        p.seek(offset);
                        p.reset_only = false;
                        p.consumed = p.consumed.or(Some(offset));
                    }
                    Err(e) if e.is_retriable() => {
                        debug!(topic = %tp.topic, partition = tp.partition, error = %e, "position lookup failed; retrying");
                        p.retry_at = Some(retry_at);
                    }
                    Err(e) => {
                        if e.code() == Some(ErrorCode::OffsetOutOfRange) {
                            p.needs_seek = true;
                        } else {
                            p.retry_at = Some(retry_at);
                        }
                        errors.push(e);
                    }
                }
            }
            state.errors.extend(errors);
            drop(state);
            inner.records_ready.notify_waiters();
            inner.records_ready.notify_one();
        }
        Done::Fetch {
            node,
            sent,
            results,
            failed,
        } => {
            busy.remove(&node);
            let mut state = inner.state();
            // Every partition marked in flight on this broker and not answered goes back.
            let answered: HashSet<TopicPartition> =
                results.iter().map(|(t, _)| t.tp.clone()).collect();
            if let Some(e) = &failed {
                debug!(node, error = %e, "fetch failed");
            }
            let mut got_records = false;
            let mut reset: Vec<TopicPartition> = Vec::new();
            for (target, outcome) in results {
                let Some(p) = state.assignment.get_mut(&target.tp) else {
                    continue;
                };
                if p.seek_epoch != target.seek_epoch {
                    continue;
                }
                p.in_flight = false;
                if p.fetch_offset != target.fetch_offset {
                    continue;
                }
                match outcome {
                    PartitionOutcome::Records {
                        records,
                        next_offset,
                        high_watermark,
                    } => {
                        p.high_watermark = high_watermark;
                        p.fetch_offset = next_offset.max(p.fetch_offset);
                        if !records.is_empty() {
                            got_records = true;
                            p.buffered_bytes += records.iter().map(record_size).sum::<usize>();
                            p.buffered.extend(records);
                        } else if p.buffered.is_empty() {
                            // Only skipped batches (markers, aborted transactions): nothing
                            // to hand out, but the position moves past them, as in Java, so
                            // commits and `position` do not stay behind a marker.
                            p.advance_past_skipped();
                        }
                    }
                    PartitionOutcome::Error(ErrorCode::OffsetOutOfRange) => {
                        debug!(topic = %target.tp.topic, partition = target.tp.partition, offset = target.fetch_offset, "fetch offset out of range");
                        reset.push(target.tp.clone());
                    }
                    PartitionOutcome::Error(code) => {
                        if !inner.cluster.on_partition_error(
                            &target.tp.topic,
                            target.tp.partition,
                            code,
                        ) && !code.is_retriable()
                            && code != ErrorCode::NetworkException
                        {
                            state.errors.push_back(Error::broker_for(
                                code,
                                None,
                                target.tp.topic.clone(),
                                Some(target.tp.partition),
                            ));
                        }
                        if let Some(p) = state.assignment.get_mut(&target.tp) {
                            p.retry_at = Some(retry_at);
                        }
                    }
                    PartitionOutcome::Fatal(e) => {
                        warn!(topic = %target.tp.topic, partition = target.tp.partition, error = %e, "fetch failed");
                        p.retry_at = Some(retry_at);
                        state.errors.push_back(e);
                    }
                }
            }
            // Partitions of a failed request, or that the broker did not mention: retry.
            for target in sent.iter().filter(|t| !answered.contains(&t.tp)) {
                if let Some(p) = state.assignment.get_mut(&target.tp) {
                    if p.seek_epoch == target.seek_epoch && p.in_flight {
                        p.in_flight = false;
                        if failed.is_some() {
                            p.retry_at = Some(retry_at);
                        }
                    }
                }
            }
            for tp in &reset {
                if let Some(p) = state.assignment.get_mut(tp) {
                    match inner.config.auto_offset_reset {
                        OffsetReset::None => {
                            p.needs_seek = true;
                            state.errors.push_back(Error::broker_for(
                                ErrorCode::OffsetOutOfRange,
                                Some("the position is out of range and auto.offset.reset is none: seek first".into()),
                                tp.topic.clone(),
                                Some(tp.partition),
                            ));
                        }
                        _ => {
                            debug!(topic = %tp.topic, partition = tp.partition, "offset out of range; resetting");
                            // Forget the position: the resolver applies auto.offset.reset
                            // (committed offsets are skipped: they led here).
                            p.position = None;
                            p.resolving = false;
                            p.seek_epoch += 1;
                            p.buffered.clear();
                            p.buffered_bytes = 0;
                            p.reset_only = true;
                        }
                    }
                }
            }
            let has_errors = !state.errors.is_empty();
            drop(state);
            if got_records || has_errors {
                inner.records_ready.notify_waiters();
                inner.records_ready.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use streamctl_protocol::Message;

    use super::*;
    use crate::consumer::IsolationLevel;

    /// The isolation level as a broker reads it off the wire, at the first Fetch version
    /// that has it and at the newest.
    #[test]
    fn the_fetch_request_carries_the_isolation_level() {
        for (level, wire) in [
            (IsolationLevel::ReadUncommitted, 0),
            (IsolationLevel::ReadCommitted, 1),
        ] {
            let config = ConsumerConfig {
                isolation_level: level,
                ..Default::default()
            };
            let request = fetch_request(&config, Vec::new());
            for version in [4, FetchRequest::MAX_VERSION] {
                let mut buf = BytesMut::new();
                request.encode_to(&mut buf, version).unwrap();
                let read = FetchRequest::decode_from(&mut buf.freeze(), version).unwrap();
                assert_eq!(read.isolation_level, wire, "{level} at v{version}");
            }
        }
    }
}
