//! Followers replicate over the wire, as Kafka brokers do.
//!
//! ```text
//!  broker (follower) ── one fetch loop per other broker ──▶ that broker (leader)
//!     1. for partitions newly followed: OffsetForLeaderEpoch(our latest epoch)
//!        → truncate a divergent tail (KIP-101), asking again about older epochs when the
//!          leader answers with one we do not have (KIP-279)
//!     2. Fetch v15 (replica_state = our id and broker epoch (KIP-903), fetch_offset = our
//!        log end, log_start_offset = ours, long poll)
//!        → append whole batches, take the leader's high watermark and log start
//! ```
//!
//! Every answer is applied only if this replica still follows the same leader at the same
//! epoch as when it asked (see `partition/follower.rs`).
//!
//! The leader learns each follower's log end offset from its fetch offset (see
//! `handlers/fetch.rs`), so the high watermark and the ISR move on the leader alone. The set
//! of partitions a loop fetches is recomputed from metadata on every round, so leader changes
//! need no restart of the loops; a partition newly followed cuts the round's long poll short.

use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::fetch::{
    FetchRequestPartition, FetchRequestReplicaState, FetchRequestTopic,
};
use streamctl_protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochRequestPartition, OffsetForLeaderEpochRequestTopic,
};
use streamctl_protocol::messages::{
    FetchRequest, FetchResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    ResponseBody,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::broker::BrokerShared;
use crate::controller::{ClusterMetadata, PartitionMeta, TopicMeta};
use crate::inter_broker::{peer_address, PeerConnection};
use crate::partition::{Partition, Truncation};

/// Fetch version followers use: topic ids, and the broker epoch in `replica_state`.
const FETCH_VERSION: i16 = 15;
/// How long a follower waits after a fetch whose every partition was refused.
const FETCH_BACKOFF: Duration = Duration::from_millis(100);
/// OffsetForLeaderEpoch version followers use.
const EPOCH_VERSION: i16 = 4;
/// Bytes a follower asks for per partition and in total.
const PARTITION_MAX_BYTES: i32 = 1 << 20;
const MAX_BYTES: i32 = 10 << 20;

/// Runs one fetch loop per other broker until `stop`.
pub async fn run(shared: Arc<BrokerShared>, stop: CancellationToken) {
    let others: Vec<i32> = shared
        .metadata()
        .brokers
        .keys()
        .copied()
        .filter(|id| *id != shared.node_id)
        .collect();
    // A JoinSet aborts every loop when this task is aborted (a killed broker): a loop left
    // running could append to the dead incarnation's log after a restart opened the same
    // files.
    let mut loops = tokio::task::JoinSet::new();
    for leader in others {
        loops.spawn(fetch_loop(shared.clone(), leader, stop.clone()));
    }
    while loops.join_next().await.is_some() {}
}

/// A partition this broker follows on `leader`.
struct Followed {
    replica: Arc<Partition>,
    topic: String,
    topic_id: uuid::Uuid,
    leader_epoch: i32,
}

/// The partitions (topic, partition) metadata has `node_id` follow on `leader`.
fn to_follow(
    md: &ClusterMetadata,
    node_id: i32,
    leader: i32,
) -> impl Iterator<Item = (&TopicMeta, &PartitionMeta)> {
    let alive = md.brokers.get(&leader).is_some_and(|b| b.alive);
    md.topics
        .values()
        .filter(move |_| alive)
        .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
        .filter(move |(_, p)| p.leader == leader && p.replicas.contains(&node_id))
}

/// Resolves once metadata has this broker follow a partition on `leader` that `parts` lacks,
/// or follow one of them at a new leader epoch.
async fn newly_followed(
    shared: &BrokerShared,
    leader: i32,
    parts: &[Followed],
    metadata: &mut tokio::sync::watch::Receiver<Arc<ClusterMetadata>>,
) {
    loop {
        if metadata.changed().await.is_err() {
            // The controller is gone (the cluster is stopping): nothing new will come.
            std::future::pending::<()>().await;
        }
        let md = metadata.borrow_and_update().clone();
        let known = |t: &TopicMeta, p: &PartitionMeta| {
            parts.iter().any(|f| {
                f.topic_id == t.topic_id
                    && f.replica.partition == p.partition
                    && f.leader_epoch == p.leader_epoch
            })
        };
        if to_follow(&md, shared.node_id, leader).any(|(t, p)| !known(t, p)) {
            return;
        }
    }
}

fn followed(shared: &BrokerShared, leader: i32) -> Vec<Followed> {
    let md = shared.metadata();
    let mut out = Vec::new();
    for (t, p) in to_follow(&md, shared.node_id, leader) {
        match shared.replicas.ensure_role(t, p) {
            Ok(replica) => out.push(Followed {
                replica,
                topic: t.name.clone(),
                topic_id: t.topic_id,
                leader_epoch: p.leader_epoch,
            }),
            Err(e) => {
                warn!(broker = shared.node_id, topic = %t.name, partition = p.partition, error = %e, "cannot open follower replica")
            }
        }
    }
    out
}

async fn fetch_loop(shared: Arc<BrokerShared>, leader: i32, stop: CancellationToken) {
    let mut metadata = shared.controller.subscribe();
    let mut conn: Option<PeerConnection> = None;
    let mut backoff = Duration::from_millis(20);
    loop {
        if stop.is_cancelled() {
            return;
        }
        let parts = followed(&shared, leader);
        if parts.is_empty() {
            conn = None;
            tokio::select! {
                () = stop.cancelled() => return,
                r = metadata.changed() => if r.is_err() { return },
            }
            continue;
        }
        if conn.is_none() {
            let md = shared.metadata();
            let Some(addr) = peer_address(&md, leader) else {
                continue;
            };
            let client_id = format!("broker-{}-replica-fetcher", shared.node_id);
            match PeerConnection::connect(&addr, client_id).await {
                Ok(c) => {
                    conn = Some(c);
                    backoff = Duration::from_millis(20);
                }
                Err(_) => {
                    debug!(broker = shared.node_id, leader, %addr, "cannot reach leader; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                        r = metadata.changed() => if r.is_err() { return },
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let round = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            r = fetch_round(&shared, c, &parts) => Some(r),
            () = newly_followed(&shared, leader, &parts, &mut metadata) => None,
        };
        let Some(round) = round else {
            // A partition to follow appeared (or a new leader epoch) while the long poll
            // waits: drop the poll rather than let the new partition's first fetch wait up
            // to replica.fetch.wait.max.ms (a new group's first commit waits on it). The
            // answer is lost with the connection, which is harmless: nothing is applied
            // until an answer is whole, and the next fetch asks from the same offsets.
            conn = None;
            continue;
        };
        if let Err(e) = round {
            debug!(broker = shared.node_id, leader, error = %e, "replica fetch failed; reconnecting");
            conn = None;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }
}

/// One round: reconcile newly followed partitions, then one long-polling fetch.
async fn fetch_round(
    shared: &BrokerShared,
    conn: &mut PeerConnection,
    parts: &[Followed],
) -> Result<(), String> {
    truncate_divergent(conn, shared.node_id, parts).await?;
    let mut topics: Vec<FetchRequestTopic> = Vec::new();
    for f in parts {
        if f.replica.pending_truncation(f.leader_epoch).is_some() {
            continue;
        }
        let (log_start, _, leo) = f.replica.offsets();
        let partition = FetchRequestPartition {
            partition: f.replica.partition,
            current_leader_epoch: f.leader_epoch,
            fetch_offset: leo,
            log_start_offset: log_start,
            partition_max_bytes: PARTITION_MAX_BYTES,
            ..Default::default()
        };
        match topics.iter_mut().find(|t| t.topic_id == f.topic_id) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(FetchRequestTopic {
                topic_id: f.topic_id,
                partitions: vec![partition],
                ..Default::default()
            }),
        }
    }
    if topics.is_empty() {
        return Ok(());
    }
    let wait = i32::try_from(shared.config.replica_fetch_wait_max.as_millis()).unwrap_or(500);
    let req = FetchRequest {
        replica_state: FetchRequestReplicaState {
            replica_id: shared.node_id,
            replica_epoch: i64::try_from(shared.replicas.broker_epoch).unwrap_or(i64::MAX),
            ..Default::default()
        },
        max_wait_ms: wait,
        min_bytes: 1,
        max_bytes: MAX_BYTES,
        topics,
        ..Default::default()
    };
    let resp: FetchResponse = conn
        .call(ApiKey::Fetch, FETCH_VERSION, req.into())
        .await
        .and_then(|b| match b {
            ResponseBody::Fetch(r) => Ok(r),
            _ => Err("unexpected response type".to_string()),
        })?;
    if resp.error_code != 0 {
        return Err(format!(
            "fetch error {}",
            ErrorCode::from_code(resp.error_code)
        ));
    }
    let mut appended = false;
    let mut served = 0usize;
    for t in &resp.responses {
        for p in &t.partitions {
            let Some(f) = parts
                .iter()
                .find(|f| f.topic_id == t.topic_id && f.replica.partition == p.partition_index)
            else {
                continue;
            };
            match ErrorCode::from_code(p.error_code) {
                ErrorCode::None => {
                    served += 1;
                    let records = p.records.clone().unwrap_or_default();
                    match f.replica.append_as_follower(
                        f.leader_epoch,
                        &records,
                        p.high_watermark,
                        p.log_start_offset,
                    ) {
                        Ok(()) => {
                            appended |= !records.is_empty();
                            shared.metrics.replication_bytes_in.fetch_add(
                                records.len() as u64,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                        }
                        Err(e) if e.code == ErrorCode::FencedLeaderEpoch => {
                            debug!(broker = shared.node_id, topic = %f.topic, partition = p.partition_index, error = %e, "fetch answer for a leadership this replica left")
                        }
                        Err(e) => {
                            warn!(broker = shared.node_id, topic = %f.topic, partition = p.partition_index, error = %e, "follower append failed")
                        }
                    }
                }
                ErrorCode::OffsetOutOfRange => {
                    let (_, _, leo) = f.replica.offsets();
                    let target = out_of_range_target(leo, p.high_watermark, p.log_start_offset);
                    info!(broker = shared.node_id, topic = %f.topic, partition = p.partition_index, log_end_offset = leo, leader_high_watermark = p.high_watermark, ?target, "fetch offset out of range on the leader");
                    match target {
                        Some(target) => {
                            if let Err(e) = f.replica.reset_to(f.leader_epoch, target) {
                                warn!(broker = shared.node_id, error = %e, "follower reset failed");
                            }
                        }
                        // The answer does not say where the leader's log is: reconcile by
                        // leader epoch (OffsetForLeaderEpoch) before fetching again.
                        None => f.replica.reconcile_with_leader(),
                    }
                }
                other => {
                    debug!(broker = shared.node_id, topic = %f.topic, partition = p.partition_index, error = %other, "follower fetch refused; waiting for metadata")
                }
            }
        }
    }
    if appended {
        shared.replicas.data_arrived.notify_waiters();
    }
    if served == 0 {
        // Every partition was refused (a leader change not yet seen here, a fenced epoch):
        // the leader answers such fetches at once, so wait a little instead of spinning
        // (Kafka's replica.fetch.backoff.ms).
        tokio::time::sleep(FETCH_BACKOFF).await;
    }
    Ok(())
}

/// Where a follower whose fetch offset the leader refused (OFFSET_OUT_OF_RANGE) moves its
/// log: back to the leader's high watermark when it is ahead of it (what is above may not be
/// the leader's), or to the leader's log start when it is behind it. `None` when the answer
/// does not carry the leader's offsets (-1): never guess, since truncating below the high
/// watermark would drop acknowledged records from a replica that may still lead.
fn out_of_range_target(leo: i64, high_watermark: i64, log_start_offset: i64) -> Option<i64> {
    if high_watermark < 0 {
        None
    } else if leo > high_watermark {
        Some(high_watermark)
    } else if log_start_offset > leo {
        Some(log_start_offset)
    } else {
        None
    }
}

/// KIP-101: before fetching from a new leader, ask it where our latest epoch ended and cut
/// anything we have beyond that (writes of an old leader that never committed).
async fn truncate_divergent(
    conn: &mut PeerConnection,
    node_id: i32,
    parts: &[Followed],
) -> Result<(), String> {
    let pending: Vec<(&Followed, i32)> = parts
        .iter()
        .filter_map(|f| {
            f.replica
                .pending_truncation(f.leader_epoch)
                .map(|epoch| (f, epoch))
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<OffsetForLeaderEpochRequestTopic> = Vec::new();
    for (f, epoch) in &pending {
        if *epoch < 0 {
            // Nothing written under any epoch: nothing to truncate.
            apply_truncation(f, -1, -1, -1);
            continue;
        }
        let partition = OffsetForLeaderEpochRequestPartition {
            partition: f.replica.partition,
            current_leader_epoch: f.leader_epoch,
            leader_epoch: *epoch,
            ..Default::default()
        };
        match topics.iter_mut().find(|t| t.topic == f.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(OffsetForLeaderEpochRequestTopic {
                topic: f.topic.clone(),
                partitions: vec![partition],
                ..Default::default()
            }),
        }
    }
    if topics.is_empty() {
        return Ok(());
    }
    let req = OffsetForLeaderEpochRequest {
        replica_id: node_id,
        topics,
        ..Default::default()
    };
    let resp: OffsetForLeaderEpochResponse = conn
        .call(ApiKey::OffsetForLeaderEpoch, EPOCH_VERSION, req.into())
        .await
        .and_then(|b| match b {
            ResponseBody::OffsetForLeaderEpoch(r) => Ok(r),
            _ => Err("unexpected response type".to_string()),
        })?;
    for t in &resp.topics {
        for p in &t.partitions {
            let Some((f, asked)) = pending
                .iter()
                .find(|(f, _)| f.topic == t.topic && f.replica.partition == p.partition)
            else {
                continue;
            };
            if p.error_code == 0 {
                apply_truncation(f, *asked, p.leader_epoch, p.end_offset);
            }
        }
    }
    Ok(())
}

/// Applies the leader's answer about epoch `asked`; a replica that moved on meanwhile keeps
/// its state (it asks its new leader next round).
fn apply_truncation(f: &Followed, asked: i32, leader_epoch: i32, end_offset: i64) {
    match f
        .replica
        .truncate_after_epoch_check(f.leader_epoch, asked, leader_epoch, end_offset)
    {
        Ok(Truncation::Done) => {}
        Ok(Truncation::AskAgain(epoch)) => {
            debug!(topic = %f.topic, partition = f.replica.partition, epoch, "leader lacks our epoch; asking about an older one (KIP-279)")
        }
        Err(e) => {
            debug!(topic = %f.topic, partition = f.replica.partition, error = %e, "epoch answer for a leadership this replica left")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::out_of_range_target;

    #[test]
    fn an_out_of_range_follower_never_truncates_below_the_high_watermark_or_guesses() {
        // Ahead of the leader: back to its high watermark.
        assert_eq!(out_of_range_target(120, 100, 0), Some(100));
        // Behind the leader's log start (retention): start over there.
        assert_eq!(out_of_range_target(10, 100, 50), Some(50));
        // An answer without the leader's offsets (-1) used to truncate the whole log to 0,
        // leaving an empty replica in the ISR: now it reconciles by epoch instead.
        assert_eq!(out_of_range_target(120, -1, -1), None);
        assert_eq!(out_of_range_target(80, 100, 0), None);
    }
}
