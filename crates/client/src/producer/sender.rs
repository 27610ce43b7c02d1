//! The sender: one background task that turns ready batches into ProduceRequests.
//!
//! ```text
//!  loop:
//!    ready batches (front of each unmuted partition queue: full, lingered or flushing)
//!      └─ grouped by leader broker ─▶ one ProduceRequest per broker (many partitions)
//!                                     up to max.in.flight requests per broker
//!    responses (spawned waiters): success → complete records
//!                                 retriable → back to the front of its queue, after backoff
//!                                 fatal or delivery.timeout.ms passed → fail records
//! ```
//!
//! Order per partition holds under retries because a partition has at most one batch in
//! flight (it is "muted" until the answer comes). With idempotence the broker also drops
//! duplicates of a retried batch, so a retry after a lost response writes nothing twice.
//! Sequences are given when a batch is first drained and follow the rules of
//! [`super::idempotence`]: a sequence whose outcome is unknown is never reused, and a
//! partition whose broker lost the producer's state moves to a new epoch instead of wedging.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::produce::{ProduceRequestPartitionData, ProduceRequestTopicData};
use streamctl_protocol::messages::{InitProducerIdRequest, ProduceRequest, ProduceResponse};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use tracing::{debug, trace, warn};

use super::accumulator::{BatchAck, PartitionQueue, ProducerBatch};
use super::idempotence::AttemptOutcome;
pub use super::idempotence::ProducerIdentity;
use super::{Acks, ProducerInner};
use crate::error::{Error, Result};
use crate::metadata::Leader;

/// Asks any broker for a producer id (InitProducerId without a transactional id). `current`
/// is the identity being replaced, if any (KIP-360 lets the broker bump its epoch; a broker
/// may also answer with a new id, which is as good: a new id starts at sequence 0 too).
pub async fn init_producer_id(
    inner: &ProducerInner,
    current: Option<ProducerIdentity>,
) -> Result<ProducerIdentity> {
    let conn = inner.cluster.any_connection().await?;
    let resp = conn
        .call(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: i32::MAX,
            producer_id: current.map_or(-1, |c| c.id),
            producer_epoch: current.map_or(-1, |c| c.epoch),
            ..Default::default()
        })
        .await?;
    Error::check(resp.error_code)?;
    Ok(ProducerIdentity {
        id: resp.producer_id,
        epoch: resp.producer_epoch,
    })
}

/// Replaces the producer's identity when a partition gave it up. Partitions move to the new
/// one lazily, each when its next batch is first drained, so batches already stamped finish
/// under the old one (the broker still knows it) and no sequence is reset under a batch in
/// flight.
async fn maybe_bump_identity(inner: &ProducerInner) {
    let current = {
        let state = inner.identities();
        if !state.bump_requested {
            return;
        }
        state.current
    };
    let Some(current) = current else {
        return;
    };
    // A transactional producer's epoch belongs to its coordinator: the transaction must
    // abort, and the abort asks the coordinator for a new epoch (KIP-360). Until then the
    // partitions that gave up the identity wait.
    if let Some(txn) = &inner.transactions {
        txn.sequence_lost();
        return;
    }
    // Kafka's idempotent producer bumps the epoch locally (KIP-360): the broker takes a
    // higher epoch starting at sequence 0, and fences the old epoch's requests still on
    // their way. Only an exhausted epoch needs a new producer id from the cluster.
    let next = match current.bumped() {
        Some(next) => next,
        None => match init_producer_id(inner, Some(current)).await {
            Ok(next) => next,
            Err(e) => {
                // Still requested: the next loop tries again; the partitions that need a new
                // identity wait (their batches expire at delivery.timeout.ms at worst).
                warn!(error = %e, "cannot get a new producer id; will retry");
                return;
            }
        },
    };
    let mut state = inner.identities();
    if state.current == Some(current) {
        state.current = Some(next);
    }
    state.bump_requested = false;
    warn!(
        producer_id = next.id,
        producer_epoch = next.epoch,
        "a batch's outcome is unknown or the broker lost its sequences; new producer epoch"
    );
}

/// The sender task body; returns when the producer closes and nothing is left, or when
/// aborted.
pub async fn run(inner: Arc<ProducerInner>) {
    let in_flight: Arc<std::sync::Mutex<HashMap<i32, usize>>> = Arc::default();
    loop {
        let wake = inner.wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();

        maybe_bump_identity(&inner).await;
        let now = Instant::now();
        expire(&inner, now);
        // Topics with retried batches: their leader may have moved. `partitions_for`
        // refreshes only what the cache marked stale (errors, lost connections).
        for topic in retried_topics(&inner) {
            if let Err(e) = inner.cluster.partitions_for(&topic).await {
                debug!(topic, error = %e, "metadata refresh for the producer failed");
            }
        }
        let Collected {
            ready,
            next: next_deadline,
            need_metadata,
            failed,
        } = collect_ready(&inner, &in_flight, now);
        for (batch, e) in failed {
            finish(&inner, batch, Err(e));
        }
        // A transaction that can only abort sends nothing more: what is queued fails (also
        // behind a batch that was in flight when the abort began).
        if inner.transactions.as_ref().is_some_and(|t| t.is_doomed()) {
            fail_unsent(
                &inner,
                &Error::transaction(
                    crate::error::TransactionErrorKind::Abortable,
                    "the transaction is being aborted",
                ),
            );
        }
        if !need_metadata.is_empty() {
            if let Err(e) = inner
                .cluster
                .refresh(need_metadata.iter().map(String::as_str))
                .await
            {
                debug!(error = %e, "metadata refresh for the producer failed");
            }
        }
        for (node, batches) in ready {
            send_to(&inner, &in_flight, node, batches).await;
        }
        if inner.closing.load(Ordering::Acquire) && inner.accumulator().is_idle() {
            return;
        }
        let sleep_until = next_deadline.unwrap_or_else(|| now + Duration::from_secs(1));
        tokio::select! {
            () = &mut wake => {}
            () = tokio::time::sleep_until(sleep_until) => {}
            () = inner.stop.cancelled() => return,
        }
    }
}

/// Fails queued batches older than `delivery.timeout.ms` (a batch in flight waits for its
/// answer). They go through [`finish`], which settles their sequences.
fn expire(inner: &ProducerInner, now: Instant) {
    let timeout = inner.config.delivery_timeout;
    let mut expired = Vec::new();
    {
        let mut acc = inner.accumulator();
        for queues in acc.topics.values_mut() {
            for q in queues.values_mut() {
                if q.muted {
                    continue;
                }
                while q
                    .batches
                    .front()
                    .is_some_and(|b| now.duration_since(b.created) >= timeout)
                {
                    if let Some(b) = q.batches.pop_front() {
                        expired.push(b);
                    }
                }
            }
        }
    }
    for b in expired {
        let what = format!(
            "delivery of {} records to {}-{}",
            b.record_count, b.topic, b.partition
        );
        finish(inner, b, Err(Error::Timeout { what, timeout }));
    }
    if !inner.accumulator().is_idle() {
        return;
    }
    inner.idle.notify_waiters();
}

/// Topics whose next batch is a retry.
fn retried_topics(inner: &ProducerInner) -> Vec<String> {
    let acc = inner.accumulator();
    acc.topics
        .iter()
        .filter(|(_, queues)| {
            queues
                .values()
                .any(|q| !q.muted && q.batches.front().is_some_and(|b| b.attempts > 0))
        })
        .map(|(t, _)| t.to_string())
        .collect()
}

type Ready = HashMap<i32, Vec<ProducerBatch>>;

/// What [`collect_ready`] found.
struct Collected {
    /// Batches to send, by leader.
    ready: Ready,
    /// The next linger or backoff deadline.
    next: Option<Instant>,
    /// Topics whose leaders are unknown.
    need_metadata: Vec<String>,
    /// Batches that could not be given a new stamp (to fail outside the lock).
    failed: Vec<(ProducerBatch, Error)>,
}

/// Takes the ready front batches of unmuted partitions whose leader is known and has room
/// for another request, and stamps idempotent batches that need it (under the accumulator
/// lock, so no other batch of the partition can be stamped or settled meanwhile).
fn collect_ready(
    inner: &ProducerInner,
    in_flight: &std::sync::Mutex<HashMap<i32, usize>>,
    now: Instant,
) -> Collected {
    let snapshot = inner.cluster.snapshot();
    let idempotent = inner.config.enable_idempotence;
    let current = inner.identities().current;
    let mut failed = Vec::new();
    let flushing =
        inner.flushing.load(Ordering::Acquire) > 0 || inner.closing.load(Ordering::Acquire);
    let linger = inner.config.linger;
    let max_in_flight = inner.config.max_in_flight;
    let max_request = inner.config.max_request_size;
    let mut ready: Ready = HashMap::new();
    let mut request_bytes: HashMap<i32, usize> = HashMap::new();
    let mut next: Option<Instant> = None;
    let mut need_metadata = Vec::new();
    let inflight = in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut acc = inner.accumulator();
    // Partitions in a rotating order (Java's `drainIndex`): when the in-flight slots or the
    // request size run out, the same partitions must not win every time while the others
    // wait until their delivery timeout.
    let mut order: Vec<(Arc<str>, i32)> = acc
        .topics
        .iter()
        .flat_map(|(t, queues)| queues.keys().map(move |p| (t.clone(), *p)))
        .collect();
    if !order.is_empty() {
        let start = inner.drain_index.fetch_add(1, Ordering::Relaxed) % order.len();
        order.rotate_left(start);
    }
    let leader_of = |topic: &str, partition: i32| {
        snapshot
            .topic(topic)
            .and_then(|t| t.partition(partition))
            .and_then(|p| p.leader_id)
    };
    // As Java's `ready`/`drain`: a broker is sent to once one of its partitions has a batch
    // that is due (full, lingered, retried or flushed), and then every partition it leads
    // sends its front batch, due or not, in the same request.
    let mut due_nodes: Vec<i32> = Vec::new();
    for (topic, partition) in &order {
        let Some(q) = acc.topics.get(topic).and_then(|qs| qs.get(partition)) else {
            continue;
        };
        let Some(front) = q.batches.front().filter(|_| !q.muted) else {
            continue;
        };
        if front.retry_after.is_some_and(|at| at > now) {
            continue;
        }
        if flushing || due_at(q, front, inner.config.batch_size, linger) <= now {
            if let Some(node) = leader_of(topic, *partition) {
                if !due_nodes.contains(&node) {
                    due_nodes.push(node);
                }
            }
        }
    }
    for (topic, partition) in &order {
        {
            let Some(q) = acc
                .topics
                .get_mut(topic)
                .and_then(|queues| queues.get_mut(partition))
            else {
                continue;
            };
            if q.muted {
                continue;
            }
            let Some(front) = q.batches.front() else {
                continue;
            };
            if let Some(at) = front.retry_after.filter(|at| *at > now) {
                next = Some(next.map_or(at, |n| n.min(at)));
                continue;
            }
            let leader = leader_of(topic, *partition);
            if !leader.is_some_and(|node| due_nodes.contains(&node)) {
                // Not due, or due with no leader known (asked for below).
                let at = due_at(q, front, inner.config.batch_size, linger);
                if leader.is_some() || !(flushing || at <= now) {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    continue;
                }
            }
            let Some(node) = leader else {
                if !need_metadata
                    .iter()
                    .any(|t: &String| t.as_str() == &**topic)
                {
                    need_metadata.push(topic.to_string());
                }
                continue;
            };
            if inflight.get(&node).copied().unwrap_or(0) >= max_in_flight {
                continue;
            }
            let front_size = front.size;
            let used = request_bytes.entry(node).or_default();
            if *used > 0 && *used + front_size > max_request {
                next = Some(now);
                continue;
            }
            if idempotent {
                // Without an identity (or while the partition waits for a new one) nothing
                // can be stamped; the bump wakes the sender again.
                let Some(current) = current else {
                    continue;
                };
                let Some(front) = q.batches.front_mut() else {
                    continue;
                };
                if front.stamp.is_none() || front.resequence {
                    let Some(stamp) = q.sequences.assign(current, front.record_count) else {
                        continue;
                    };
                    // A batch the broker lost the state of is sent again under the new
                    // identity from 0. If an earlier attempt was in fact written (and the
                    // state then lost, e.g. by retention), this writes it twice: Kafka
                    // accepts that risk, since the alternative is a partition that refuses
                    // every later batch.
                    if front.resequence {
                        warn!(topic = %topic, partition = *partition, producer_epoch = stamp.identity.epoch, "resending a batch from sequence 0 under a new producer epoch");
                    }
                    if let Err(e) = front.restamp(stamp) {
                        if let Some(batch) = q.batches.pop_front() {
                            q.muted = true;
                            failed.push((batch, e));
                        }
                        continue;
                    }
                }
            }
            *used += front_size;
            if let Some(batch) = q.batches.pop_front() {
                q.muted = true;
                trace!(topic = %topic, partition = *partition, node, records = batch.record_count, bytes = batch.size, full = batch.full, behind = q.batches.len(), waited_us = now.saturating_duration_since(batch.created).as_micros() as u64, "drained");
                ready.entry(node).or_default().push(batch);
            }
        }
    }
    Collected {
        ready,
        next,
        need_metadata,
        failed,
    }
}

/// When the front batch of a partition's queue is due to be sent: at once when it is full
/// (or has batches behind it) or is being retried, else once it has lingered.
fn due_at(
    q: &PartitionQueue,
    front: &ProducerBatch,
    batch_size: usize,
    linger: Duration,
) -> Instant {
    if q.batches.len() > 1 || front.full || front.size >= batch_size || front.attempts > 0 {
        front.created
    } else {
        front.created + linger
    }
}

/// Builds and sends one ProduceRequest to `node`; a spawned task handles the answer.
async fn send_to(
    inner: &Arc<ProducerInner>,
    in_flight: &Arc<std::sync::Mutex<HashMap<i32, usize>>>,
    node: i32,
    mut batches: Vec<ProducerBatch>,
) {
    // Close the batches (encoded once, with the stamp collect_ready gave them).
    let mut topic_data: Vec<ProduceRequestTopicData> = Vec::new();
    let mut failed = Vec::new();
    let mut kept = Vec::with_capacity(batches.len());
    for mut batch in batches.drain(..) {
        match batch.close(inner.transactions.is_some()) {
            Ok(bytes) => {
                let pd = ProduceRequestPartitionData {
                    index: batch.partition,
                    records: Some(bytes),
                    ..Default::default()
                };
                match topic_data.iter_mut().find(|t| *t.name == *batch.topic) {
                    Some(t) => t.partition_data.push(pd),
                    None => topic_data.push(ProduceRequestTopicData {
                        name: batch.topic.to_string(),
                        partition_data: vec![pd],
                        ..Default::default()
                    }),
                }
                batch.attempts += 1;
                kept.push(batch);
            }
            Err(e) => failed.push((batch, e)),
        }
    }
    for (batch, e) in failed {
        finish(inner, batch, Err(e));
    }
    if kept.is_empty() {
        return;
    }
    let request = ProduceRequest {
        transactional_id: inner.transactions.as_ref().map(|t| t.id.clone()),
        acks: inner.config.acks.code(),
        timeout_ms: i32::try_from(inner.config.request_timeout().as_millis()).unwrap_or(i32::MAX),
        topic_data,
        ..Default::default()
    };
    let conn = match inner.cluster.connection(node).await {
        Ok(c) => c,
        Err(e) => {
            debug!(broker = node, error = %e, "producer cannot reach the leader");
            inner.cluster.on_connection_lost(node);
            for b in kept {
                retry_or_fail(inner, b, e.clone(), AttemptOutcome::NotWritten);
            }
            return;
        }
    };
    if inner.config.acks == Acks::None {
        let result = conn.send_no_response(request).await;
        for b in kept {
            match &result {
                Ok(()) => finish(
                    inner,
                    b,
                    Ok(BatchAck {
                        base_offset: -1,
                        log_append_time: -1,
                    }),
                ),
                Err(e) => retry_or_fail(inner, b, e.clone(), AttemptOutcome::Unknown),
            }
        }
        return;
    }
    // A transactions-v2 producer says so with Produce v12: the leader adds the partitions.
    let v2 = inner.transactions.as_ref().is_some_and(|t| t.uses_v2());
    let sent = if v2 {
        conn.send_at(request, super::transactions::V2_PRODUCE).await
    } else {
        conn.send(request).await
    };
    let pending = match sent {
        Ok(p) => p,
        Err(e) => {
            // `send` fails only before the request is handed to the connection's writer.
            for b in kept {
                retry_or_fail(inner, b, e.clone(), AttemptOutcome::NotWritten);
            }
            return;
        }
    };
    *in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(node)
        .or_default() += 1;
    let inner = inner.clone();
    let in_flight = in_flight.clone();
    tokio::spawn(async move {
        let response = pending.response().await;
        if let Some(n) = in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&node)
        {
            *n = n.saturating_sub(1);
        }
        match response {
            Ok(resp) => handle_response(&inner, node, kept, resp),
            Err(e) => {
                // A timeout or a lost connection: the broker may have written the batches.
                inner.cluster.on_connection_lost(node);
                for b in kept {
                    retry_or_fail(&inner, b, e.clone(), AttemptOutcome::Unknown);
                }
            }
        }
        inner.wake.notify_one();
    });
}

fn handle_response(
    inner: &ProducerInner,
    node: i32,
    batches: Vec<ProducerBatch>,
    resp: ProduceResponse,
) {
    for batch in batches {
        let part = resp
            .responses
            .iter()
            .filter(|t| *t.name == *batch.topic)
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == batch.partition);
        let Some(p) = part else {
            let e = Error::Broker {
                code: ErrorCode::UnknownServerError,
                message: Some("the response does not mention the partition".into()),
                topic: Some(batch.topic.to_string()),
                partition: Some(batch.partition),
            };
            retry_or_fail(inner, batch, e, AttemptOutcome::Unknown);
            continue;
        };
        let code = ErrorCode::from_code(p.error_code);
        if code.is_ok() || code == ErrorCode::DuplicateSequenceNumber {
            let ack = BatchAck {
                base_offset: p.base_offset,
                log_append_time: p.log_append_time_ms,
            };
            finish(inner, batch, Ok(ack));
            continue;
        }
        let e = Error::Broker {
            code,
            message: p.error_message.clone(),
            topic: Some(batch.topic.to_string()),
            partition: Some(batch.partition),
        };
        if matches!(
            code,
            ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge
        ) && batch.record_count > 1
        {
            split_and_requeue(inner, batch, e);
            continue;
        }
        if p.current_leader.leader_id >= 0 {
            inner.cluster.update_leader(
                &batch.topic,
                batch.partition,
                Leader {
                    node_id: p.current_leader.leader_id,
                    leader_epoch: p.current_leader.leader_epoch,
                },
            );
        } else {
            inner
                .cluster
                .on_partition_error(&batch.topic, batch.partition, code);
        }
        debug!(broker = node, topic = %batch.topic, partition = batch.partition, error = %e, "produce failed");
        retry_or_fail(inner, batch, e, AttemptOutcome::of_code(code));
    }
}

/// A batch the broker refused as too large (which wrote none of it) is split, and its parts
/// go first in its queue, in order; a batch that cannot be split fails with `error`.
///
/// The refused batch's sequences are settled as a batch that failed for good settles them
/// (given back, or a new identity if an attempt may have been written), and the parts are
/// drained as new batches and stamped then: a refused range is never shared out ahead of
/// time, so a part that fails later cannot strand the others on a dead stamp. The partition
/// remembers the refused size, so the batches that wait behind it stop growing past half
/// of it.
fn split_and_requeue(inner: &ProducerInner, batch: ProducerBatch, error: Error) {
    let (topic, partition, records, size) = (
        batch.topic.clone(),
        batch.partition,
        batch.record_count,
        batch.size,
    );
    let (stamp, maybe_written) = (batch.stamp, batch.maybe_written || batch.resequence);
    // A producer being closed reads its queues no more: fail instead of queueing parts.
    if inner.stop.is_cancelled() {
        finish(inner, batch, Err(error));
        return;
    }
    let parts = match batch.split(inner.config.batch_size) {
        Ok(parts) => parts,
        Err(batch) => {
            retry_or_fail(inner, *batch, error, AttemptOutcome::NotWritten);
            return;
        }
    };
    debug!(topic = %topic, partition, records, parts = parts.len(), "batch too large for the broker: split");
    let mut acc = inner.accumulator();
    acc.outstanding += parts.len().saturating_sub(1);
    let Some(q) = acc
        .topics
        .get_mut(&*topic)
        .and_then(|q| q.get_mut(&partition))
    else {
        drop(acc);
        for part in parts {
            finish(inner, part, Err(error.clone()));
        }
        return;
    };
    let bump_from = stamp
        .filter(|_| inner.config.enable_idempotence)
        .and_then(|stamp| settle_failed(q, stamp, records, maybe_written));
    q.refused_size = Some(q.refused_size.map_or(size, |r| r.min(size)));
    for part in parts.into_iter().rev() {
        q.batches.push_front(part);
    }
    q.muted = false;
    drop(acc);
    if let Some(from) = bump_from {
        inner.identities().request_bump(from);
    }
    inner.wake.notify_one();
}

/// Puts a batch back at the front of its queue for another attempt, or fails it.
/// `outcome` is what the failed attempt tells about the batch having been written.
fn retry_or_fail(
    inner: &ProducerInner,
    mut batch: ProducerBatch,
    error: Error,
    outcome: AttemptOutcome,
) {
    let sequenced = inner.config.enable_idempotence && batch.stamp.is_some();
    match outcome {
        AttemptOutcome::Unknown => batch.maybe_written = true,
        AttemptOutcome::NotWritten => {}
        // A transactional producer's epoch is its coordinator's: the transaction must abort
        // (Java fails these batches too); the abort asks for a new epoch.
        AttemptOutcome::LostSequenceState if sequenced && inner.transactions.is_some() => {
            if let Some(stamp) = batch.stamp {
                inner.identities().request_bump(stamp.identity);
            }
            if let Some(txn) = &inner.transactions {
                txn.sequence_lost();
            }
            finish(inner, batch, Err(error));
            return;
        }
        // The broker has no state (or other state) for our sequence: this attempt was not
        // written, and no attempt under this identity will be. Retry under a new one.
        AttemptOutcome::LostSequenceState if sequenced => {
            warn!(topic = %batch.topic, partition = batch.partition, error = %error, "the broker lost the producer's sequence state");
            batch.resequence = true;
        }
        AttemptOutcome::LostSequenceState => {}
    }
    let elapsed = batch.created.elapsed();
    let retriable = error.is_retriable() || batch.resequence;
    if !retriable
        || batch.attempts > inner.config.retries
        || elapsed >= inner.config.delivery_timeout
    {
        if !retriable {
            warn!(topic = %batch.topic, partition = batch.partition, error = %error, "produce failed permanently");
        }
        finish(inner, batch, Err(error));
        return;
    }
    let backoff = inner.cluster.config().retry_backoff;
    let factor = 2u32.saturating_pow(batch.attempts.saturating_sub(1).min(10));
    let delay = backoff
        .saturating_mul(factor)
        .min(inner.cluster.config().retry_backoff_max);
    batch.retry_after = Some(Instant::now() + delay);
    let mut acc = inner.accumulator();
    if let Some(q) = acc
        .topics
        .get_mut(&*batch.topic)
        .and_then(|q| q.get_mut(&batch.partition))
    {
        let bump_from = match batch.stamp {
            Some(stamp) if batch.resequence && q.sequences.on_unknown(stamp) => {
                Some(stamp.identity)
            }
            _ => None,
        };
        q.muted = false;
        q.batches.push_front(batch);
        drop(acc);
        if let Some(from) = bump_from {
            inner.identities().request_bump(from);
        }
        // The sender may be asleep with no deadline: it must learn this retry's backoff.
        inner.wake.notify_one();
    } else {
        drop(acc);
        finish(inner, batch, Err(error));
    }
}

/// Settles the sequences of a stamped batch that will not be sent again under its stamp:
/// given back if no attempt can have been written, else the partition needs a new identity.
/// Returns the identity to bump from, if any.
fn settle_failed(
    q: &mut PartitionQueue,
    stamp: super::idempotence::Stamp,
    record_count: usize,
    maybe_written: bool,
) -> Option<ProducerIdentity> {
    let needs_bump = if maybe_written {
        q.sequences.on_unknown(stamp)
    } else {
        q.sequences.on_refused(stamp, record_count)
    };
    needs_bump.then_some(stamp.identity)
}

/// Completes a batch, unmutes its partition and settles its sequences.
fn finish(inner: &ProducerInner, batch: ProducerBatch, result: Result<BatchAck>) {
    let mut bump_from = None;
    {
        let mut acc = inner.accumulator();
        if let Some(q) = acc
            .topics
            .get_mut(&*batch.topic)
            .and_then(|q| q.get_mut(&batch.partition))
        {
            q.muted = false;
            // A stamped batch that failed for good leaves its sequences behind. If every
            // attempt was refused before the append they are given back; if any may have
            // been written (or the broker lost the state), reusing them could make the broker
            // answer a new batch as a duplicate of this one and drop it, so the partition
            // takes a new identity instead (KIP-360 / KIP-588).
            if let (Some(stamp), Err(_), true) =
                (batch.stamp, &result, inner.config.enable_idempotence)
            {
                let maybe_written = batch.maybe_written || batch.resequence;
                bump_from = settle_failed(q, stamp, batch.record_count, maybe_written);
            }
        }
        acc.outstanding = acc.outstanding.saturating_sub(1);
        if acc.is_idle() {
            inner.idle.notify_waiters();
        }
    }
    if let Some(from) = bump_from {
        inner.identities().request_bump(from);
    }
    if let (Some(txn), Err(e)) = (&inner.transactions, &result) {
        txn.record_failed(e);
    }
    batch.finish(result);
    inner.wake.notify_one();
}

/// Fails the batches of partitions with nothing in flight (an aborted transaction's), through
/// [`finish`] so their sequences are settled. A partition with a batch in flight keeps its
/// queue: failing batches behind it would unmute it under the one in flight; the abort's
/// flush sends them before the transaction ends.
pub(super) fn fail_unsent(inner: &ProducerInner, error: &Error) {
    let unsent: Vec<ProducerBatch> = {
        let mut acc = inner.accumulator();
        acc.topics
            .values_mut()
            .flat_map(|q| q.values_mut())
            .filter(|q| !q.muted)
            .flat_map(|q| q.batches.drain(..))
            .collect()
    };
    for batch in unsent {
        finish(inner, batch, Err(error.clone()));
    }
}
