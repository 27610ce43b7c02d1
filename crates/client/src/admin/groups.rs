//! Consumer groups in the admin client: list, describe, committed offsets and lag, offset
//! resets and deletion, plus DeleteRecords.
//!
//! ```text
//!   list_groups ──ListGroups──▶ every broker (each answers for the groups it coordinates)
//!   describe_group / delete_group / group_offsets / commit_group_offsets
//!        ──FindCoordinator(group)──▶ coordinator ──DescribeGroups / DeleteGroups /
//!                                                  OffsetFetch / OffsetCommit
//!   group_lag = group_offsets + describe_group (members) + ListOffsets(latest) on leaders
//!   plan_offset_reset = group_offsets + ListOffsets(earliest, latest, by time) ── a plan;
//!                       commit_group_offsets(plan) carries it out (empty groups only)
//! ```
//!
//! A coordinator that is loading or moving (`COORDINATOR_LOAD_IN_PROGRESS`,
//! `NOT_COORDINATOR`, `COORDINATOR_NOT_AVAILABLE`) is looked up again until
//! `request.timeout.ms` passes; every other error is returned with the group's name.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use streamctl_protocol::messages::delete_records::{
    DeleteRecordsRequestPartition, DeleteRecordsRequestTopic,
};
use streamctl_protocol::messages::offset_commit::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use streamctl_protocol::messages::{
    DeleteGroupsRequest, DeleteRecordsRequest, DescribeGroupsRequest, ListGroupsRequest,
    OffsetCommitRequest,
};
use streamctl_protocol::{ApiKey, DecodeError, ErrorCode};

use super::Admin;
use crate::backoff::Backoff;
use crate::connection::Connection;
use crate::consumer::assignor::decode_assignment;
use crate::consumer::offsets::{
    find_coordinator, list_offsets, offset_fetch_request, EARLIEST, LATEST,
};
use crate::consumer::{IsolationLevel, TopicPartition};
use crate::error::{Disconnect, Error, Result};

/// The admin reads watermarks as Java's admin does by default: the high watermark, not the
/// last stable offset.
const READ_UNCOMMITTED: IsolationLevel = IsolationLevel::ReadUncommitted;

/// A group as [`Admin::list_groups`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// The protocol type: `consumer` for consumer groups, empty for groups that only commit.
    pub protocol_type: String,
    /// The state (`Stable`, `Empty`, …) when the broker reports it (ListGroups v4+).
    pub state: Option<String>,
    /// The group's type (`classic`, `consumer`) when the broker reports it (ListGroups v5+,
    /// KIP-848).
    pub group_type: Option<String>,
    /// The node id of the broker coordinating the group.
    pub coordinator: i32,
}

/// A group as [`Admin::describe_group`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty` or `Dead` for a
    /// classic group; `Empty`, `Assigning`, `Reconciling` or `Stable` for a consumer-protocol
    /// group.
    pub state: String,
    /// `classic` or `consumer` (KIP-848).
    pub group_type: String,
    /// The group epoch (consumer-protocol groups).
    pub group_epoch: Option<i32>,
    /// The epoch of the coordinator's target assignment (consumer-protocol groups).
    pub assignment_epoch: Option<i32>,
    /// The protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// The assignor chosen by the group (`range`, `cooperative-sticky`, …) while it has
    /// members; the coordinator's assignor (`uniform`, `range`) for a consumer-protocol group.
    pub protocol: String,
    /// The members, by member id.
    pub members: Vec<MemberDescription>,
}

/// A member of a [`GroupDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberDescription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its static membership id (KIP-345), if any.
    pub group_instance_id: Option<String>,
    /// The `client.id` it sent.
    pub client_id: String,
    /// The address it connects from.
    pub client_host: String,
    /// The partitions assigned to it, by topic (empty for groups of another protocol type).
    pub assignment: BTreeMap<String, Vec<i32>>,
    /// Its epoch (consumer-protocol groups).
    pub member_epoch: Option<i32>,
    /// What the coordinator wants it to own once it has reconciled (consumer-protocol
    /// groups): partitions here but not in `assignment` are still owned by someone else.
    pub target_assignment: Option<BTreeMap<String, Vec<i32>>>,
}

/// One partition of a group's position, from [`Admin::group_lag`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset, `None` when the group committed nothing for it.
    pub committed: Option<i64>,
    /// The high watermark, `None` when the leader could not be asked.
    pub end_offset: Option<i64>,
    /// `end_offset - committed` (never below 0), when both are known.
    pub lag: Option<i64>,
    /// The member the partition is assigned to, if any.
    pub member_id: Option<String>,
}

/// Where [`Admin::plan_offset_reset`] moves a group's offsets (kafka-consumer-groups'
/// `--to-earliest`, `--to-latest`, `--to-offset`, `--to-datetime`, `--shift-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetResetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// This offset, clamped into `[log start, high watermark]`.
    Offset(i64),
    /// The first offset whose timestamp is at or after these milliseconds since the epoch
    /// (the high watermark when none is).
    Timestamp(i64),
    /// The committed offset moved by this much (clamped as for `Offset`); partitions with
    /// nothing committed start from the high watermark.
    ShiftBy(i64),
}

/// One row of an offset reset plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffsetResetPlan {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset committed now, if any.
    pub current: Option<i64>,
    /// The offset the reset commits.
    pub target: i64,
}

impl Admin {
    /// Every group of the cluster, sorted by id: each broker is asked for the groups it
    /// coordinates. A broker that cannot be reached fails the call (a partial list would
    /// silently hide groups).
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let mut groups = Vec::new();
        for node in self.brokers().await? {
            let response = retry_coordinator(self, "ListGroups", || async move {
                let response = self
                    .cluster
                    .connection(node)
                    .await?
                    .call(ListGroupsRequest::default())
                    .await?;
                check_named(response.error_code, None, "ListGroups")?;
                Ok(response)
            })
            .await?;
            groups.extend(response.groups.into_iter().map(|g| GroupListing {
                group_id: g.group_id,
                protocol_type: g.protocol_type,
                state: Some(g.group_state).filter(|s| !s.is_empty()),
                group_type: Some(g.group_type).filter(|t| !t.is_empty()),
                coordinator: node,
            }));
        }
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(groups)
    }

    /// A group's state, protocol and members with their assignments: from
    /// ConsumerGroupDescribe for a consumer-protocol group (KIP-848; with epochs and each
    /// member's target), else from DescribeGroups.
    ///
    /// A group the cluster does not know is described as `Dead` with no members, as Kafka
    /// does; use [`Admin::list_groups`] to tell whether it exists.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        if let Some(d) = self.describe_consumer_protocol_group(group).await? {
            return Ok(d);
        }
        let described = retry_coordinator(self, "DescribeGroups", || async move {
            let response = self
                .coordinator(group)
                .await?
                .call(DescribeGroupsRequest {
                    groups: vec![group.to_string()],
                    ..Default::default()
                })
                .await?;
            let described = result_for(response.groups, group, "DescribeGroups", |x| &x.group_id)?;
            check_group(described.error_code, None, group)?;
            Ok(described)
        })
        .await?;
        let consumer = described.protocol_type == "consumer";
        let members = described
            .members
            .into_iter()
            .map(|m| {
                let mut assignment: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                if consumer {
                    // A member whose assignment cannot be read still shows up, unassigned.
                    for tp in decode_assignment(&m.member_assignment).unwrap_or_default() {
                        assignment.entry(tp.topic).or_default().push(tp.partition);
                    }
                }
                for partitions in assignment.values_mut() {
                    partitions.sort_unstable();
                }
                MemberDescription {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    assignment,
                    member_epoch: None,
                    target_assignment: None,
                }
            })
            .collect();
        Ok(GroupDescription {
            group_id: described.group_id,
            state: described.group_state,
            group_type: "classic".to_string(),
            group_epoch: None,
            assignment_epoch: None,
            protocol_type: described.protocol_type,
            protocol: described.protocol_data,
            members,
        })
    }

    /// Deletes a group and its committed offsets. Only an empty group can be deleted: one
    /// with members gets `NON_EMPTY_GROUP`, an unknown one `GROUP_ID_NOT_FOUND`.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        retry_coordinator(self, "DeleteGroups", || async move {
            let response = self
                .coordinator(group)
                .await?
                .call(DeleteGroupsRequest {
                    groups_names: vec![group.to_string()],
                    ..Default::default()
                })
                .await?;
            let result = result_for(response.results, group, "DeleteGroups", |x| &x.group_id)?;
            check_group(result.error_code, None, group)
        })
        .await
    }

    /// Every offset the group has committed, by partition.
    ///
    /// Asks for all of them at once (OffsetFetch with no topics, v2+). A broker that does not
    /// serve that form answers something undecodable (librdkafka's mock cluster answers with
    /// a null topic list); then every partition of every topic is asked for by name.
    pub async fn group_offsets(&self, group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
        if let Some(all) = self.fetch_group_offsets(group, None).await? {
            return Ok(all);
        }
        tracing::warn!(
            group,
            "the broker does not serve OffsetFetch for all topics; asking per partition"
        );
        let topics: Vec<(String, Vec<i32>)> = self
            .metadata(None)
            .await?
            .topics
            .into_iter()
            .filter_map(|t| {
                let partitions = t.partitions.iter().map(|p| p.partition_index).collect();
                Some((t.name?, partitions))
            })
            .collect();
        self.fetch_group_offsets(group, Some(&topics))
            .await?
            .ok_or_else(|| {
                Error::InvalidResponse(format!(
                    "the coordinator of group {group} answers OffsetFetch undecodably"
                ))
            })
    }

    /// The group's committed offsets of `topics` (`None`: all it committed); `Ok(None)` when
    /// the answer to the all-topics form could not be decoded.
    async fn fetch_group_offsets(
        &self,
        group: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Result<Option<BTreeMap<TopicPartition, i64>>> {
        retry_coordinator(self, "OffsetFetch", || async move {
            let connection = self.coordinator(group).await?;
            let version = connection
                .negotiated_version(ApiKey::OffsetFetch)
                .unwrap_or(1);
            let response = connection
                .call(offset_fetch_request(group, topics, false))
                .await;
            let response = match response {
                // The answer to the all-topics form had a null topic list (librdkafka's mock
                // cluster): that form is not served. Any other decode failure is an error.
                Err(Error::ConnectionLost {
                    reason: Disconnect::Decode(DecodeError::UnexpectedNull { .. }),
                    ..
                }) if topics.is_none() => return Ok(None),
                // Not worth retrying: the same answer would come back.
                Err(Error::ConnectionLost {
                    reason: Disconnect::Decode(e),
                    broker,
                }) => {
                    return Err(Error::InvalidResponse(format!(
                        "broker {broker} answered OffsetFetch v{version} undecodably: {e}"
                    )))
                }
                other => other?,
            };
            let mut rows = Vec::new();
            if version >= 8 {
                for g in response.groups.into_iter().filter(|g| g.group_id == group) {
                    check_group(g.error_code, None, group)?;
                    for t in g.topics {
                        for p in t.partitions {
                            rows.push((t.name.clone(), p.partition_index, p.committed_offset));
                            check_partition(p.error_code, &t.name, p.partition_index)?;
                        }
                    }
                }
            } else {
                check_group(response.error_code, None, group)?;
                for t in response.topics {
                    for p in t.partitions {
                        rows.push((t.name.clone(), p.partition_index, p.committed_offset));
                        check_partition(p.error_code, &t.name, p.partition_index)?;
                    }
                }
            }
            Ok(Some(
                rows.into_iter()
                    .filter(|(_, _, offset)| *offset >= 0)
                    .map(|(topic, partition, offset)| {
                        (TopicPartition::new(topic, partition), offset)
                    })
                    .collect(),
            ))
        })
        .await
    }

    /// The group's committed offset, the partition's end and the lag for every partition the
    /// group committed or has assigned, sorted by topic and partition.
    pub async fn group_lag(&self, group: &str) -> Result<Vec<PartitionLag>> {
        let committed = self.group_offsets(group).await?;
        // Without DescribeGroups (librdkafka's mock cluster) the lag has no owners.
        let members = match self.describe_group(group).await {
            Ok(described) => described.members,
            Err(Error::UnsupportedVersion { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut owner: BTreeMap<TopicPartition, String> = BTreeMap::new();
        for m in &members {
            for (topic, partitions) in &m.assignment {
                for &p in partitions {
                    owner.insert(TopicPartition::new(topic.clone(), p), m.member_id.clone());
                }
            }
        }
        let partitions: BTreeSet<TopicPartition> =
            committed.keys().chain(owner.keys()).cloned().collect();
        let ends = self.end_offsets(&partitions).await;
        Ok(partitions
            .into_iter()
            .map(|tp| {
                let committed = committed.get(&tp).copied();
                let end_offset = ends.get(&tp).copied();
                let lag = match (committed, end_offset) {
                    (Some(c), Some(e)) => Some(e.saturating_sub(c).max(0)),
                    _ => None,
                };
                PartitionLag {
                    member_id: owner.get(&tp).cloned(),
                    topic: tp.topic,
                    partition: tp.partition,
                    committed,
                    end_offset,
                    lag,
                }
            })
            .collect())
    }

    /// What resetting `group`'s offsets to `spec` would commit, for every partition of
    /// `topics` (every partition the group committed when `topics` is empty). Nothing is
    /// changed: pass the plan to [`Admin::commit_group_offsets`].
    pub async fn plan_offset_reset(
        &self,
        group: &str,
        topics: &[String],
        spec: OffsetResetSpec,
    ) -> Result<Vec<OffsetResetPlan>> {
        let committed = self.group_offsets(group).await?;
        let mut partitions: BTreeSet<TopicPartition> = BTreeSet::new();
        if topics.is_empty() {
            partitions.extend(committed.keys().cloned());
        } else {
            for topic in topics {
                let metadata = self.cluster.partitions_for(topic).await?;
                partitions.extend(
                    metadata
                        .partitions
                        .iter()
                        .map(|p| TopicPartition::new(topic.clone(), p.partition)),
                );
            }
        }
        let query = |ts: i64| -> Vec<(TopicPartition, i64)> {
            partitions.iter().map(|tp| (tp.clone(), ts)).collect()
        };
        let earliest = list_offsets(&self.cluster, &query(EARLIEST), READ_UNCOMMITTED).await?;
        let latest = list_offsets(&self.cluster, &query(LATEST), READ_UNCOMMITTED).await?;
        let by_time = match spec {
            OffsetResetSpec::Timestamp(ms) => {
                Some(list_offsets(&self.cluster, &query(ms), READ_UNCOMMITTED).await?)
            }
            _ => None,
        };
        let mut plan = Vec::with_capacity(partitions.len());
        for tp in partitions {
            let low = earliest.get(&tp).map_or(0, |(o, _)| *o);
            let high = latest.get(&tp).map_or(low, |(o, _)| *o).max(low);
            let current = committed.get(&tp).copied();
            let target = match spec {
                OffsetResetSpec::Earliest => low,
                OffsetResetSpec::Latest => high,
                OffsetResetSpec::Offset(o) => o.clamp(low, high),
                OffsetResetSpec::ShiftBy(n) => current
                    .map_or(high, |c| c.saturating_add(n))
                    .clamp(low, high),
                OffsetResetSpec::Timestamp(_) => by_time
                    .as_ref()
                    .and_then(|m| m.get(&tp))
                    .map(|(o, _)| *o)
                    .filter(|o| *o >= 0)
                    .map_or(high, |o| o.clamp(low, high)),
            };
            plan.push(OffsetResetPlan {
                topic: tp.topic,
                partition: tp.partition,
                current,
                target,
            });
        }
        Ok(plan)
    }

    /// Commits `offsets` for `group` as an administrator (no generation, no member id), as
    /// `kafka-consumer-groups --reset-offsets --execute` does. The group must have no active
    /// members: the coordinator refuses otherwise, and this checks first to say so plainly
    /// (unless the broker lacks DescribeGroups, as librdkafka's mock cluster does: then the
    /// coordinator's refusal is the check).
    pub async fn commit_group_offsets(
        &self,
        group: &str,
        offsets: &[OffsetResetPlan],
    ) -> Result<()> {
        let described = match self.describe_group(group).await {
            Ok(described) => Some(described),
            // Only a broker with no DescribeGroups at all; one whose versions merely do not
            // overlap ours is still an error.
            Err(e @ Error::UnsupportedVersion { .. }) => {
                let coordinator = self.coordinator(group).await?;
                if coordinator
                    .broker_versions(ApiKey::DescribeGroups)
                    .is_some()
                {
                    return Err(e);
                }
                tracing::warn!(group, "the broker lacks DescribeGroups: cannot check the group is empty before committing");
                None
            }
            Err(e) => return Err(e),
        };
        if let Some(described) = described.filter(|d| !matches!(d.state.as_str(), "Empty" | "Dead"))
        {
            return Err(Error::Broker {
                code: ErrorCode::NonEmptyGroup,
                message: Some(format!(
                    "group {group} is {} with {} member(s); stop its consumers first",
                    described.state,
                    described.members.len()
                )),
                topic: None,
                partition: None,
            });
        }
        let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for row in offsets {
            by_topic
                .entry(row.topic.as_str())
                .or_default()
                .push(OffsetCommitRequestPartition {
                    partition_index: row.partition,
                    committed_offset: row.target,
                    committed_leader_epoch: -1,
                    committed_metadata: Some(String::new()),
                    ..Default::default()
                });
        }
        let request = OffsetCommitRequest {
            group_id: group.to_string(),
            generation_id_or_member_epoch: -1,
            member_id: String::new(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: by_topic
                .into_iter()
                .map(|(name, partitions)| OffsetCommitRequestTopic {
                    name: name.to_string(),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        retry_coordinator(self, "OffsetCommit", || {
            let request = request.clone();
            async move {
                let response = self.coordinator(group).await?.call(request).await?;
                for t in &response.topics {
                    for p in &t.partitions {
                        check_partition(p.error_code, &t.name, p.partition_index)?;
                    }
                }
                Ok(())
            }
        })
        .await
    }

    /// Deletes the records of `topic`'s partitions below the given offsets (-1: below the
    /// high watermark) and returns each partition's new log start offset.
    pub async fn delete_records(
        &self,
        topic: &str,
        before: &[(i32, i64)],
    ) -> Result<BTreeMap<i32, i64>> {
        let mut by_leader: BTreeMap<i32, Vec<(i32, i64)>> = BTreeMap::new();
        for &(partition, offset) in before {
            let leader = self.cluster.leader_for(topic, partition).await?;
            by_leader
                .entry(leader.node_id)
                .or_default()
                .push((partition, offset));
        }
        let mut out = BTreeMap::new();
        for (leader, parts) in by_leader {
            let response = self
                .cluster
                .connection(leader)
                .await?
                .call(DeleteRecordsRequest {
                    topics: vec![DeleteRecordsRequestTopic {
                        name: topic.to_string(),
                        partitions: parts
                            .iter()
                            .map(|&(partition_index, offset)| DeleteRecordsRequestPartition {
                                partition_index,
                                offset,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }],
                    timeout_ms: self.timeout_ms(),
                    ..Default::default()
                })
                .await?;
            for t in response.topics.into_iter().filter(|t| t.name == topic) {
                for p in t.partitions {
                    let code = ErrorCode::from_code(p.error_code);
                    if !code.is_ok() {
                        self.cluster
                            .on_partition_error(topic, p.partition_index, code);
                    }
                    check_partition(p.error_code, topic, p.partition_index)?;
                    out.insert(p.partition_index, p.low_watermark);
                }
            }
        }
        Ok(out)
    }

    /// The high watermarks of `partitions`; partitions whose leader cannot be asked are left
    /// out rather than failing the whole call.
    async fn end_offsets(
        &self,
        partitions: &BTreeSet<TopicPartition>,
    ) -> BTreeMap<TopicPartition, i64> {
        let query: Vec<(TopicPartition, i64)> =
            partitions.iter().map(|tp| (tp.clone(), LATEST)).collect();
        match list_offsets(&self.cluster, &query, READ_UNCOMMITTED).await {
            Ok(found) => found.into_iter().map(|(tp, (o, _))| (tp, o)).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "end offsets unavailable");
                BTreeMap::new()
            }
        }
    }

    /// A connection to `group`'s coordinator.
    pub(super) async fn coordinator(&self, group: &str) -> Result<Connection> {
        find_coordinator(&self.cluster, group).await
    }

    /// The node ids of every broker, from fresh metadata: for the requests each broker
    /// answers only for what it coordinates (ListGroups, ListTransactions).
    pub(super) async fn brokers(&self) -> Result<Vec<i32>> {
        self.cluster.refresh(std::iter::empty::<&str>()).await?;
        Ok(self
            .cluster
            .snapshot()
            .brokers()
            .map(|b| b.node_id)
            .collect())
    }
}

/// Runs `call` again while the coordinator is loading or moving, until `request.timeout.ms`.
pub(super) async fn retry_coordinator<T, F, Fut>(
    admin: &Admin,
    what: &str,
    mut call: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let config = admin.cluster.config();
    let deadline = crate::backoff::deadline_after(config.request_timeout);
    let mut attempts = Backoff::new(config.retry_backoff, config.retry_backoff_max).attempts();
    loop {
        let error = match call().await {
            Ok(v) => return Ok(v),
            Err(e) if is_coordinator_moving(&e) => e,
            Err(e) => return Err(e),
        };
        let delay = attempts.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            tracing::debug!(what, error = %error, "coordinator still unavailable");
            return Err(error);
        }
        tokio::time::sleep(delay).await;
    }
}

fn is_coordinator_moving(e: &Error) -> bool {
    matches!(
        e.code(),
        Some(
            ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::NotCoordinator
                | ErrorCode::CoordinatorNotAvailable
        )
    ) || (e.code().is_none() && e.is_retriable())
}

/// `Ok(())` for error code 0, otherwise the broker error naming the group.
/// The answer for `group` among a response's per-group results.
pub(super) fn result_for<T>(
    results: Vec<T>,
    group: &str,
    api: &str,
    id: impl Fn(&T) -> &str,
) -> Result<T> {
    results.into_iter().find(|r| id(r) == group).ok_or_else(|| {
        Error::InvalidResponse(format!(
            "the {api} response has no result for group {group}"
        ))
    })
}

pub(super) fn check_group(code: i16, message: Option<String>, group: &str) -> Result<()> {
    check_named(code, message, &format!("group {group}"))
}

/// `Ok(())` for error code 0, otherwise the broker error naming `subject` (a group, a
/// transactional id, the request).
pub(super) fn check_named(code: i16, message: Option<String>, subject: &str) -> Result<()> {
    let code = ErrorCode::from_code(code);
    if code.is_ok() {
        return Ok(());
    }
    let message = match message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{subject}: {m}"),
        None => subject.to_string(),
    };
    Err(Error::Broker {
        code,
        message: Some(message),
        topic: None,
        partition: None,
    })
}

fn check_partition(code: i16, topic: &str, partition: i32) -> Result<()> {
    let code = ErrorCode::from_code(code);
    if code.is_ok() {
        Ok(())
    } else {
        Err(Error::broker_for(code, None, topic, Some(partition)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_errors_name_the_group() {
        assert!(check_group(0, None, "g").is_ok());
        let e = check_group(68, None, "g").unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NonEmptyGroup));
        assert!(e.to_string().contains("group g"), "{e}");
        assert!(is_coordinator_moving(&Error::broker(
            ErrorCode::CoordinatorLoadInProgress
        )));
        assert!(!is_coordinator_moving(&Error::broker(
            ErrorCode::GroupIdNotFound
        )));
    }
}
