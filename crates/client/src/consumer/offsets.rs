//! Offsets: ListOffsets (log start/end, offsets for times), and the group's committed
//! offsets (OffsetFetch, OffsetCommit) through the group coordinator.
//!
//! ```text
//!  list_offsets(tp → timestamp) ── grouped by leader ──▶ ListOffsets ──▶ offset, timestamp
//!  commit(tp → offset) ── coordinator() ──▶ OffsetCommit(generation, member id) ──▶ per-partition
//!  fetch_committed(tps) ── coordinator() ──▶ OffsetFetch                             errors
//!  coordinator(): FindCoordinator(group) on any broker ──▶ dedicated connection, kept until
//!                 NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / a lost connection
//! ```
//!
//! Retriable errors (a moved leader or coordinator, a lost connection) are retried with
//! `retry.backoff.ms` until `request.timeout.ms` passes; others are returned naming the topic
//! and partition.

use std::collections::{BTreeMap, HashMap};

use streamctl_protocol::messages::find_coordinator::FindCoordinatorResponse;
use streamctl_protocol::messages::list_offsets::{ListOffsetsPartition, ListOffsetsTopic};
use streamctl_protocol::messages::offset_commit::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use streamctl_protocol::messages::offset_fetch::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use streamctl_protocol::messages::{
    FindCoordinatorRequest, ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use tracing::debug;

use super::{ConsumerInner, IsolationLevel, TopicPartition};
use crate::backoff::Backoff;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::metadata::Cluster;

/// ListOffsets' timestamp for the log start offset.
pub const EARLIEST: i64 = -2;
/// ListOffsets' timestamp for the log end offset (high watermark).
pub const LATEST: i64 = -1;

/// Coordinator errors that mean "find the coordinator again".
pub(crate) fn is_coordinator_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
    )
}

/// Looks up offsets by timestamp (or [`EARLIEST`] / [`LATEST`]) on the partitions' leaders.
/// Returns `(offset, timestamp)` per partition; offset -1 when no record is that recent.
pub async fn list_offsets(
    cluster: &Cluster,
    query: &[(TopicPartition, i64)],
    isolation_level: IsolationLevel,
) -> Result<BTreeMap<TopicPartition, (i64, i64)>> {
    let config = cluster.config();
    let deadline = crate::backoff::deadline_after(config.request_timeout);
    let mut attempts = Backoff::new(config.retry_backoff, config.retry_backoff_max).attempts();
    let mut left: Vec<(TopicPartition, i64)> = query.to_vec();
    let mut out = BTreeMap::new();
    loop {
        let mut retry: Vec<(TopicPartition, i64)> = Vec::new();
        let mut last_error = None;
        let mut by_leader: HashMap<i32, Vec<(TopicPartition, i64, i32)>> = HashMap::new();
        for (tp, ts) in &left {
            match cluster.leader_for(&tp.topic, tp.partition).await {
                Ok(leader) => by_leader.entry(leader.node_id).or_default().push((
                    tp.clone(),
                    *ts,
                    leader.leader_epoch,
                )),
                Err(e) if e.is_retriable() => {
                    last_error = Some(e);
                    retry.push((tp.clone(), *ts));
                }
                Err(e) => return Err(e),
            }
        }
        for (node, parts) in by_leader {
            let mut topics: BTreeMap<String, Vec<ListOffsetsPartition>> = BTreeMap::new();
            for (tp, ts, epoch) in &parts {
                topics
                    .entry(tp.topic.clone())
                    .or_default()
                    .push(ListOffsetsPartition {
                        partition_index: tp.partition,
                        current_leader_epoch: *epoch,
                        timestamp: *ts,
                        ..Default::default()
                    });
            }
            let request = ListOffsetsRequest {
                replica_id: -1,
                isolation_level: isolation_level.as_i8(),
                topics: topics
                    .into_iter()
                    .map(|(name, partitions)| ListOffsetsTopic {
                        name,
                        partitions,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let response = match cluster.connection(node).await {
                Ok(conn) => conn.call(request).await,
                Err(e) => Err(e),
            };
            let response = match response {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    cluster.on_connection_lost(node);
                    retry.extend(parts.iter().map(|(tp, ts, _)| (tp.clone(), *ts)));
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            for topic in response.topics {
                for p in topic.partitions {
                    let tp = TopicPartition::new(topic.name.clone(), p.partition_index);
                    let Some((_, ts, _)) = parts.iter().find(|(t, _, _)| *t == tp) else {
                        continue;
                    };
                    let code = ErrorCode::from_code(p.error_code);
                    if code.is_ok() {
                        out.insert(tp, (p.offset, p.timestamp));
                        continue;
                    }
                    let error = Error::broker_for(code, None, tp.topic.clone(), Some(tp.partition));
                    cluster.on_partition_error(&tp.topic, tp.partition, code);
                    if code.is_retriable() || cluster_metadata_error(code) {
                        retry.push((tp, *ts));
                        last_error = Some(error);
                    } else {
                        return Err(error);
                    }
                }
            }
        }
        if retry.is_empty() {
            return Ok(out);
        }
        let delay = attempts.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            return Err(last_error.unwrap_or(Error::Timeout {
                what: "ListOffsets".into(),
                timeout: config.request_timeout,
            }));
        }
        tokio::time::sleep(delay).await;
        left = retry;
    }
}

fn cluster_metadata_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
    )
}

/// Key type of a group coordinator in FindCoordinator.
pub(crate) const GROUP_KEY: i8 = 0;
/// Key type of a transaction coordinator in FindCoordinator.
pub(crate) const TRANSACTION_KEY: i8 = 1;

/// Finds the group coordinator and opens a dedicated connection to it.
pub(crate) async fn find_coordinator(cluster: &Cluster, group_id: &str) -> Result<Connection> {
    find_coordinator_of(cluster, GROUP_KEY, group_id).await
}

/// Finds the coordinator of `key` (a group id, or a transactional id with
/// [`TRANSACTION_KEY`]) and opens a dedicated connection to it.
pub(crate) async fn find_coordinator_of(
    cluster: &Cluster,
    key_type: i8,
    group_id: &str,
) -> Result<Connection> {
    Ok(find_coordinator_node(cluster, key_type, group_id).await?.1)
}

/// [`find_coordinator_of`], also naming the coordinator's node id.
pub(crate) async fn find_coordinator_node(
    cluster: &Cluster,
    key_type: i8,
    group_id: &str,
) -> Result<(i32, Connection)> {
    let conn = cluster.any_connection().await?;
    let version = conn
        .negotiated_version(ApiKey::FindCoordinator)
        .unwrap_or(0);
    let response: FindCoordinatorResponse = conn
        .call(FindCoordinatorRequest {
            key: group_id.to_string(),
            key_type,
            coordinator_keys: vec![group_id.to_string()],
            ..Default::default()
        })
        .await?;
    let (code, message, node_id, host, port) = if version >= 4 {
        let Some(c) = response.coordinators.into_iter().next() else {
            return Err(Error::broker(ErrorCode::CoordinatorNotAvailable));
        };
        (c.error_code, c.error_message, c.node_id, c.host, c.port)
    } else {
        (
            response.error_code,
            response.error_message,
            response.node_id,
            response.host,
            response.port,
        )
    };
    let code = ErrorCode::from_code(code);
    if !code.is_ok() {
        return Err(Error::Broker {
            code,
            message: message.filter(|m| !m.is_empty()),
            topic: None,
            partition: None,
        });
    }
    let address = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    debug!(key = group_id, key_type, node_id, broker = %address, "found the coordinator");
    Ok((
        node_id,
        Connection::connect(&address, cluster.config()).await?,
    ))
}

/// The coordinator connection, discovered if needed.
pub(crate) async fn coordinator(inner: &ConsumerInner) -> Result<Connection> {
    let group_id = group_id(inner)?;
    let mut slot = inner.coordinator.lock().await;
    if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
        return Ok(c.clone());
    }
    let conn = find_coordinator(&inner.cluster, group_id).await?;
    *slot = Some(conn.clone());
    Ok(conn)
}

/// Forgets the coordinator (it moved or its connection failed).
pub(crate) async fn coordinator_lost(inner: &ConsumerInner) {
    if let Some(c) = inner.coordinator.lock().await.take() {
        c.close();
    }
}

fn group_id(inner: &ConsumerInner) -> Result<&str> {
    inner
        .config
        .group_id
        .as_deref()
        .ok_or_else(|| Error::invalid_config("group.id", "", "committed offsets need a group.id"))
}

/// Commits offsets for the group, retrying coordinator moves within `request.timeout.ms`.
pub(crate) async fn commit(inner: &ConsumerInner, offsets: &[(TopicPartition, i64)]) -> Result<()> {
    let group = group_id(inner)?.to_string();
    if offsets.is_empty() {
        return Ok(());
    }
    let config = &inner.config.client;
    let deadline = crate::backoff::deadline_after(config.request_timeout);
    let mut attempts = Backoff::new(config.retry_backoff, config.retry_backoff_max).attempts();
    loop {
        let (generation, subscribed) = {
            let state = inner.state();
            (state.generation.clone(), state.subscription_active())
        };
        let (generation_id, member_id) = match (&generation, subscribed) {
            // A member (subscribed, or revoking its partitions on unsubscribe).
            (Some(g), _) => (g.generation_id, g.member_id.clone()),
            // Manual assignment: a commit outside any generation, as Kafka's simple consumer.
            (None, false) => (-1, String::new()),
            (None, true) => {
                return Err(Error::broker_for(
                    ErrorCode::RebalanceInProgress,
                    Some("the consumer is not in a generation of the group yet".into()),
                    group.clone(),
                    None,
                ))
            }
        };
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, offset) in offsets {
            topics
                .entry(tp.topic.as_str())
                .or_default()
                .push(OffsetCommitRequestPartition {
                    partition_index: tp.partition,
                    committed_offset: *offset,
                    committed_leader_epoch: -1,
                    committed_metadata: Some(String::new()),
                    ..Default::default()
                });
        }
        let request = OffsetCommitRequest {
            group_id: group.clone(),
            generation_id_or_member_epoch: generation_id,
            member_id,
            group_instance_id: inner.config.group_instance_id.clone(),
            retention_time_ms: -1,
            topics: topics
                .into_iter()
                .map(|(name, partitions)| OffsetCommitRequestTopic {
                    name: name.to_string(),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let result = match coordinator(inner).await {
            Ok(conn) => conn.call(request).await,
            Err(e) => Err(e),
        };
        // A stale member epoch (KIP-848: a heartbeat moved the epoch meanwhile) is retried
        // with the member's new epoch, on the same coordinator.
        let mut keep_coordinator = false;
        let retry_error = match result {
            Ok(response) => {
                let mut retry = None;
                for t in &response.topics {
                    for p in &t.partitions {
                        let code = ErrorCode::from_code(p.error_code);
                        if code.is_ok() {
                            continue;
                        }
                        let error =
                            Error::broker_for(code, None, t.name.clone(), Some(p.partition_index));
                        if is_coordinator_error(code)
                            || code == ErrorCode::CoordinatorLoadInProgress
                        {
                            retry = Some(error);
                        } else if code == ErrorCode::StaleMemberEpoch {
                            keep_coordinator = true;
                            retry = Some(error);
                        } else {
                            return Err(error);
                        }
                    }
                }
                match retry {
                    None => {
                        debug!(group = %group, partitions = offsets.len(), "committed");
                        // What the application committed, it is done with: a later
                        // auto-commit (which commits `consumed`) must not go below it.
                        let mut state = inner.state();
                        for (tp, offset) in offsets {
                            if let Some(p) = state.assignment.get_mut(tp) {
                                p.consumed = Some(p.consumed.map_or(*offset, |c| c.max(*offset)));
                            }
                        }
                        return Ok(());
                    }
                    Some(e) => e,
                }
            }
            Err(e) if e.is_retriable() => e,
            Err(e) => return Err(e),
        };
        if !keep_coordinator {
            coordinator_lost(inner).await;
        }
        let delay = attempts.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            return Err(retry_error);
        }
        tokio::time::sleep(delay).await;
    }
}

/// The group's committed offsets for these partitions (absent: nothing committed).
pub(crate) async fn fetch_committed(
    inner: &ConsumerInner,
    partitions: &[TopicPartition],
) -> Result<BTreeMap<TopicPartition, i64>> {
    let group = group_id(inner)?.to_string();
    let mut out = BTreeMap::new();
    if partitions.is_empty() {
        return Ok(out);
    }
    let config = &inner.config.client;
    let deadline = crate::backoff::deadline_after(config.request_timeout);
    let mut attempts = Backoff::new(config.retry_backoff, config.retry_backoff_max).attempts();
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    loop {
        let topics: Vec<(String, Vec<i32>)> = by_topic
            .iter()
            .map(|(name, ps)| (name.to_string(), ps.clone()))
            .collect();
        let request = offset_fetch_request(&group, Some(&topics), true);
        let conn = coordinator(inner).await;
        let result = match &conn {
            Ok(conn) => {
                let version = conn.negotiated_version(ApiKey::OffsetFetch).unwrap_or(1);
                conn.call(request).await.map(|r| (r, version))
            }
            Err(e) => Err(e.clone()),
        };
        let retry_error = match result {
            Ok((response, version)) => {
                // (topic, partition, offset, error) rows from either layout.
                let mut rows = Vec::new();
                let mut top_error = response.error_code;
                if version >= 8 {
                    for g in response.groups {
                        top_error = g.error_code;
                        for t in g.topics {
                            for p in t.partitions {
                                rows.push((
                                    t.name.clone(),
                                    p.partition_index,
                                    p.committed_offset,
                                    p.error_code,
                                ));
                            }
                        }
                    }
                } else {
                    for t in response.topics {
                        for p in t.partitions {
                            rows.push((
                                t.name.clone(),
                                p.partition_index,
                                p.committed_offset,
                                p.error_code,
                            ));
                        }
                    }
                }
                let top = ErrorCode::from_code(top_error);
                let mut retry = None;
                if !top.is_ok() {
                    let e = Error::broker_for(top, None, group.clone(), None);
                    if top.is_retriable() || is_coordinator_error(top) {
                        retry = Some(e);
                    } else {
                        return Err(e);
                    }
                }
                for (topic, partition, offset, code) in rows {
                    let code = ErrorCode::from_code(code);
                    if !code.is_ok() {
                        let e = Error::broker_for(code, None, topic.clone(), Some(partition));
                        if code.is_retriable() {
                            retry = Some(e);
                            continue;
                        }
                        return Err(e);
                    }
                    if offset >= 0 {
                        out.insert(TopicPartition::new(topic, partition), offset);
                    }
                }
                match retry {
                    None => return Ok(out),
                    Some(e) => e,
                }
            }
            Err(e) if e.is_retriable() => e,
            Err(e) => return Err(e),
        };
        if retry_error.code().is_none_or(is_coordinator_error) {
            coordinator_lost(inner).await;
        }
        let delay = attempts.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            return Err(retry_error);
        }
        tokio::time::sleep(delay).await;
    }
}

impl super::State {
    /// Whether the consumer is subscribed (commits carry the generation) rather than
    /// manually assigned.
    pub(crate) fn subscription_active(&self) -> bool {
        !matches!(self.subscription, super::Subscription::None)
    }
}

/// An OffsetFetch for one group: `topics` by name and partitions (`None`: every partition the
/// group committed, v2+), in both the v0–v7 and the v8+ layout (the encoder writes the one
/// of the version sent).
pub(crate) fn offset_fetch_request(
    group: &str,
    topics: Option<&[(String, Vec<i32>)]>,
    require_stable: bool,
) -> OffsetFetchRequest {
    OffsetFetchRequest {
        group_id: group.to_string(),
        topics: topics.map(|ts| {
            ts.iter()
                .map(|(name, ps)| OffsetFetchRequestTopic {
                    name: name.clone(),
                    partition_indexes: ps.clone(),
                    ..Default::default()
                })
                .collect()
        }),
        groups: vec![OffsetFetchRequestGroup {
            group_id: group.to_string(),
            topics: topics.map(|ts| {
                ts.iter()
                    .map(|(name, ps)| OffsetFetchRequestTopics {
                        name: name.clone(),
                        partition_indexes: ps.clone(),
                        ..Default::default()
                    })
                    .collect()
            }),
            ..Default::default()
        }],
        require_stable,
        ..Default::default()
    }
}
