//! ConsumerGroupHeartbeat: a member joins, heartbeats, acknowledges revocations and leaves
//! (Kafka's `GroupMetadataManager.consumerGroupHeartbeat`).
//!
//! Every change is a record made through [`ConsumerGroup::emit`], so the state after the
//! call is what replaying the returned records gives. The caller works on a copy of the
//! group and keeps it only if the records reach the log.

use std::collections::{BTreeSet, HashMap};

use streamctl_protocol::ErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use super::assignor::{self, MemberSpec};
use super::reconcile::{reconcile, Inputs};
use super::{ms_duration, Assignment, ConsumerConfig, ConsumerGroup, Member, MemberState};
use crate::controller::ClusterMetadata;
use crate::coordinator::records::consumer::{ConsumerRecord, RegexValue};
use crate::partition::now_ms;

/// Epoch of a member leaving the group.
pub const LEAVE_EPOCH: i32 = -1;
/// Epoch of a static member leaving for a while (it keeps its partitions).
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// One ConsumerGroupHeartbeat, with what the connection knows of the client.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatArgs {
    /// The request version.
    pub api_version: i16,
    /// The member id (empty on a v0 first join).
    pub member_id: String,
    /// 0 to join, -1/-2 to leave, else the member's epoch.
    pub member_epoch: i32,
    /// `group.instance.id`; `None`: not static, or unchanged.
    pub instance_id: Option<String>,
    /// `client.rack`; `None`: unchanged.
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    /// `None`: unchanged.
    pub subscribed_topic_names: Option<Vec<String>>,
    /// `None`: unchanged; empty: none.
    pub subscribed_topic_regex: Option<String>,
    /// `None`: unchanged.
    pub server_assignor: Option<String>,
    /// What the member owns; `None`: unchanged since its last heartbeat.
    pub owned: Option<Assignment>,
    /// The client id of the connection.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatAnswer {
    /// The member id (generated for a v0 member that sent none).
    pub member_id: String,
    /// The member's epoch now.
    pub member_epoch: i32,
    /// How often to heartbeat.
    pub heartbeat_interval_ms: i32,
    /// The partitions the member may own now; `None`: unchanged.
    pub assignment: Option<Assignment>,
}

/// A refused heartbeat: the error and its message.
pub type Refusal = (ErrorCode, String);

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    (code, message.into())
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// The request checks Kafka makes before touching the group (INVALID_REQUEST and
/// UNSUPPORTED_ASSIGNOR).
pub fn validate(
    args: &HeartbeatArgs,
    group_id: &str,
    config: &ConsumerConfig,
) -> Result<(), Refusal> {
    let invalid = |m: &str| refuse(ErrorCode::InvalidRequest, m);
    if blank(group_id) {
        return Err(invalid("GroupId can't be empty."));
    }
    if blank(&args.member_id)
        && (args.api_version >= 1 || args.member_epoch > 0 || args.member_epoch == LEAVE_EPOCH)
    {
        return Err(invalid("MemberId can't be empty."));
    }
    if args.instance_id.as_deref().is_some_and(blank) {
        return Err(invalid("InstanceId can't be empty."));
    }
    if args.rack_id.as_deref().is_some_and(blank) {
        return Err(invalid("RackId can't be empty."));
    }
    match args.member_epoch {
        0 => {
            if args.rebalance_timeout_ms == -1 {
                return Err(invalid(
                    "RebalanceTimeoutMs must be provided in first request.",
                ));
            }
            if args.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                return Err(invalid("TopicPartitions must be empty when (re-)joining."));
            }
            if args.subscribed_topic_names.is_none() && args.subscribed_topic_regex.is_none() {
                return Err(invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                ));
            }
        }
        STATIC_LEAVE_EPOCH if args.instance_id.is_none() => {
            return Err(invalid("InstanceId can't be null."));
        }
        e if e < STATIC_LEAVE_EPOCH => {
            return Err(invalid(format!("MemberEpoch is invalid: {e}.").as_str()));
        }
        _ => {}
    }
    if let Some(a) = &args.server_assignor {
        if !config.assignors.contains(a) {
            return Err(refuse(
                ErrorCode::UnsupportedAssignor,
                format!(
                    "ServerAssignor {a} is not supported. Supported assignors: {}.",
                    config.assignors.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Kafka's member epoch check (with KAFKA-19233: epoch 0 rejoins a member that still
/// exists): an older epoch is accepted only as the previous one, from a member owning a
/// subset of what it was given (its answer was lost).
fn check_epoch(m: &Member, received: i32, owned: Option<&Assignment>) -> Result<(), Refusal> {
    let fenced = || {
        refuse(
            ErrorCode::FencedMemberEpoch,
            format!(
                "The consumer group member has a smaller or larger member epoch ({received}) than the one known by the group coordinator ({}).",
                m.epoch
            ),
        )
    };
    if received == 0 || received == m.epoch {
        return Ok(());
    }
    if received > m.epoch {
        return Err(fenced());
    }
    let subset = owned.is_some_and(|o| {
        o.iter()
            .all(|(t, ps)| m.assigned.get(t).is_some_and(|a| ps.is_subset(a)) || ps.is_empty())
    });
    if received == m.previous_epoch && subset {
        Ok(())
    } else {
        Err(fenced())
    }
}

pub(super) fn topic_ids(names: &BTreeSet<String>, md: &ClusterMetadata) -> BTreeSet<Uuid> {
    names
        .iter()
        .filter_map(|n| md.topic(n).map(|t| t.topic_id))
        .collect()
}

/// Resolves a regular expression against the cluster's topics (a full match, as Kafka's
/// RE2/J `matches`).
fn resolve(pattern: &str, md: &ClusterMetadata) -> Result<Vec<String>, Refusal> {
    let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        refuse(
            ErrorCode::InvalidRegularExpression,
            format!("SubscribedTopicRegex `{pattern}` is not a valid regular expression: {e}."),
        )
    })?;
    Ok(md
        .topics
        .keys()
        .filter(|t| re.is_match(t))
        .cloned()
        .collect())
}

impl ConsumerGroup {
    /// Handles one heartbeat (see the module docs): the records to write and the answer.
    pub fn heartbeat(
        &mut self,
        args: &HeartbeatArgs,
        md: &ClusterMetadata,
        config: &ConsumerConfig,
        now: Instant,
    ) -> Result<(Vec<ConsumerRecord>, HeartbeatAnswer), Refusal> {
        let interval = i32::try_from(config.heartbeat_interval.as_millis()).unwrap_or(i32::MAX);
        if args.member_epoch == LEAVE_EPOCH || args.member_epoch == STATIC_LEAVE_EPOCH {
            let records = self.leave(args, md)?;
            return Ok((
                records,
                HeartbeatAnswer {
                    member_id: args.member_id.clone(),
                    member_epoch: args.member_epoch,
                    heartbeat_interval_ms: interval,
                    assignment: None,
                },
            ));
        }
        let joining = args.member_epoch == 0;
        let member_id = if args.member_id.is_empty() {
            Uuid::new_v4().simple().to_string()
        } else {
            args.member_id.clone()
        };
        let mut records = Vec::new();
        let existing = self.find_member(args, &member_id, &mut records)?;
        if existing.is_none() && self.members.len() >= config.max_size {
            return Err(refuse(
                ErrorCode::GroupMaxSizeReached,
                format!(
                    "The consumer group has reached its maximum capacity of {} members.",
                    config.max_size
                ),
            ));
        }
        let old = existing.clone().unwrap_or_else(|| Member::new(&member_id));
        let mut updated = old.clone();
        if args.instance_id.is_some() {
            updated.instance_id.clone_from(&args.instance_id);
        }
        if args.rack_id.is_some() {
            updated.rack_id.clone_from(&args.rack_id);
        }
        if args.rebalance_timeout_ms != -1 {
            updated.rebalance_timeout_ms = args.rebalance_timeout_ms;
        }
        if let Some(names) = &args.subscribed_topic_names {
            updated.subscribed_topic_names = names.iter().cloned().collect();
        }
        if let Some(r) = &args.subscribed_topic_regex {
            updated.subscribed_topic_regex.clone_from(r);
        }
        if args.server_assignor.is_some() {
            updated.server_assignor.clone_from(&args.server_assignor);
        }
        updated.client_id.clone_from(&args.client_id);
        updated.client_host.clone_from(&args.client_host);
        updated.classic = None;
        let names_changed = updated.subscribed_topic_names != old.subscribed_topic_names;
        let regex_changed = updated.subscribed_topic_regex != old.subscribed_topic_regex;
        // A new regular expression must compile before anything is written.
        let new_regex = (regex_changed
            && !updated.subscribed_topic_regex.is_empty()
            && !self.regexes.contains_key(&updated.subscribed_topic_regex))
        .then(|| resolve(&updated.subscribed_topic_regex, md))
        .transpose()?;
        if existing.is_none() || updated.value() != old.value() {
            self.emit(
                &mut records,
                ConsumerRecord::Member(member_id.clone(), Some(updated.value())),
            );
        }
        let mut bump = self.epoch == 0 || names_changed;
        if regex_changed {
            let old_regex = &old.subscribed_topic_regex;
            if !old_regex.is_empty()
                && !self
                    .members
                    .values()
                    .any(|m| &m.subscribed_topic_regex == old_regex)
            {
                self.emit(&mut records, ConsumerRecord::Regex(old_regex.clone(), None));
            }
            if let Some(topics) = new_regex {
                self.emit(
                    &mut records,
                    ConsumerRecord::Regex(
                        updated.subscribed_topic_regex.clone(),
                        Some(RegexValue {
                            topics,
                            version: md.version as i64,
                            timestamp: now_ms(),
                            ..Default::default()
                        }),
                    ),
                );
            }
            bump = true;
        }
        bump |= self.refresh_regexes(md, &mut records);
        let hash = self.compute_metadata_hash(md);
        if bump || hash != self.metadata_hash {
            self.bump_epoch(hash, &mut records);
        }
        if self.epoch > self.target_epoch {
            self.update_target(md, config, &mut records);
        }
        let member = self.members.get(&member_id).cloned().unwrap_or(updated);
        let target = self.target.get(&member_id).cloned().unwrap_or_default();
        let subscribed = topic_ids(&self.subscribed_topics(&member), md);
        let next = {
            let inputs = Inputs {
                target_epoch: self.target_epoch,
                target: &target,
                owned: args.owned.as_ref(),
                subscribed: &subscribed,
                subscription_changed: names_changed || regex_changed,
                owner: |t, p| self.owner(t, p),
            };
            reconcile(&member, &inputs).map_err(|code| {
                refuse(
                    code,
                    "The member's state is unknown and it still owns partitions.",
                )
            })?
        };
        let changed_current = existing.is_none() || next.current_value() != member.current_value();
        if changed_current {
            self.emit(
                &mut records,
                ConsumerRecord::Current(member_id.clone(), Some(next.current_value())),
            );
        }
        // As Kafka: the revocation clock restarts whenever the member is given something
        // (else) to revoke, and stops once it has nothing left to revoke.
        if next.state != MemberState::UnrevokedPartitions {
            self.revocation_deadlines.remove(&member_id);
        } else if changed_current {
            self.revocation_deadlines.insert(
                member_id.clone(),
                (now + ms_duration(next.rebalance_timeout_ms), next.epoch),
            );
        }
        self.sessions
            .insert(member_id.clone(), now + config.session_timeout);
        let full = args.rebalance_timeout_ms != -1
            && (args.subscribed_topic_names.is_some() || args.subscribed_topic_regex.is_some())
            && args.owned.is_some();
        let changed = existing
            .as_ref()
            .is_none_or(|e| e.assigned != next.assigned);
        Ok((
            records,
            HeartbeatAnswer {
                member_id,
                member_epoch: next.epoch,
                heartbeat_interval_ms: interval,
                assignment: (joining || full || changed).then(|| next.assigned.clone()),
            },
        ))
    }

    /// The member a heartbeat is from, checked (Kafka's `getOrMaybeSubscribe…Member`):
    /// `None` for a new member. A static member rejoining under a new member id takes over
    /// the old one's place and target (records for that are added to `records`).
    fn find_member(
        &mut self,
        args: &HeartbeatArgs,
        member_id: &str,
        records: &mut Vec<ConsumerRecord>,
    ) -> Result<Option<Member>, Refusal> {
        let joining = args.member_epoch == 0;
        let unknown = || {
            refuse(
                ErrorCode::UnknownMemberId,
                format!(
                    "Member {member_id} is not a member of group {}.",
                    self.group_id
                ),
            )
        };
        let Some(instance) = &args.instance_id else {
            return match self.members.get(member_id) {
                Some(m) => {
                    check_epoch(m, args.member_epoch, args.owned.as_ref())?;
                    Ok(Some(m.clone()))
                }
                None if joining => Ok(None),
                None => Err(unknown()),
            };
        };
        let known = self.static_members.get(instance).cloned();
        match known {
            Some(old) if old == member_id => {
                let m = self.members.get(&old).ok_or_else(unknown)?;
                check_epoch(m, args.member_epoch, args.owned.as_ref())?;
                Ok(Some(m.clone()))
            }
            Some(old) if joining => {
                let old_member = self.members.get(&old).cloned().ok_or_else(unknown)?;
                if old_member.epoch != STATIC_LEAVE_EPOCH && old_member.classic.is_none() {
                    return Err(refuse(
                        ErrorCode::UnreleasedInstanceId,
                        format!("Static member {old} with instance id {instance} is not released yet."),
                    ));
                }
                let mut copy = old_member.clone();
                copy.member_id = member_id.to_string();
                copy.epoch = 0;
                copy.previous_epoch = 0;
                copy.state = MemberState::Stable;
                let target = self.target.get(&old).cloned().unwrap_or_default();
                self.emit(records, ConsumerRecord::Current(old.clone(), None));
                self.emit(records, ConsumerRecord::Target(old.clone(), None));
                self.emit(records, ConsumerRecord::Member(old.clone(), None));
                self.emit(records, ConsumerRecord::Member(member_id.to_string(), Some(copy.value())));
                self.emit(records, Self::target_record(member_id, &target));
                self.emit(records, ConsumerRecord::Current(member_id.to_string(), Some(copy.current_value())));
                self.sessions.remove(&old);
                self.revocation_deadlines.remove(&old);
                Ok(Some(copy))
            }
            Some(_) => Err(refuse(
                ErrorCode::FencedInstanceId,
                format!("Static member {member_id} with instance id {instance} was fenced by another member."),
            )),
            None if joining => Ok(self.members.get(member_id).cloned()),
            None => Err(unknown()),
        }
    }

    /// A leave (epoch -1: the member goes; -2: a static member goes for a while and keeps
    /// its partitions until its session expires).
    fn leave(
        &mut self,
        args: &HeartbeatArgs,
        md: &ClusterMetadata,
    ) -> Result<Vec<ConsumerRecord>, Refusal> {
        let id = match &args.instance_id {
            Some(instance) => {
                let Some(known) = self.static_members.get(instance).cloned() else {
                    return Err(refuse(
                        ErrorCode::UnknownMemberId,
                        format!("Instance id {instance} is unknown."),
                    ));
                };
                if known != args.member_id {
                    return Err(refuse(
                        ErrorCode::FencedInstanceId,
                        format!("Static member {} with instance id {instance} was fenced by another member.", args.member_id),
                    ));
                }
                known
            }
            None if self.members.contains_key(&args.member_id) => args.member_id.clone(),
            None => {
                return Err(refuse(
                    ErrorCode::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {}.",
                        args.member_id, self.group_id
                    ),
                ))
            }
        };
        if args.member_epoch == LEAVE_EPOCH {
            return Ok(self.remove_members(&[id], md));
        }
        let Some(mut m) = self.members.get(&id).cloned() else {
            return Err(refuse(
                ErrorCode::UnknownMemberId,
                format!("Member {id} is unknown."),
            ));
        };
        m.epoch = STATIC_LEAVE_EPOCH;
        m.pending_revocation.clear();
        let mut records = Vec::new();
        self.emit(
            &mut records,
            ConsumerRecord::Current(id.clone(), Some(m.current_value())),
        );
        self.revocation_deadlines.remove(&id);
        Ok(records)
    }

    /// Resolves again the regular expressions in use when the topics changed since: true
    /// when one matches other topics now (the group epoch must move).
    fn refresh_regexes(&mut self, md: &ClusterMetadata, records: &mut Vec<ConsumerRecord>) -> bool {
        let stale: Vec<String> = self
            .regexes
            .iter()
            .filter(|(_, v)| v.version != md.version as i64)
            .map(|(r, _)| r.clone())
            .collect();
        let mut changed = false;
        for r in stale {
            let Ok(topics) = resolve(&r, md) else {
                continue;
            };
            if self.regexes.get(&r).is_some_and(|v| v.topics != topics) {
                self.emit(
                    records,
                    ConsumerRecord::Regex(
                        r,
                        Some(RegexValue {
                            topics,
                            version: md.version as i64,
                            timestamp: now_ms(),
                            ..Default::default()
                        }),
                    ),
                );
                changed = true;
            }
        }
        changed
    }

    /// Computes the target assignment at the group epoch: records for the members whose
    /// target changed, then the target epoch.
    pub(super) fn update_target(
        &mut self,
        md: &ClusterMetadata,
        config: &ConsumerConfig,
        records: &mut Vec<ConsumerRecord>,
    ) {
        let specs: Vec<MemberSpec> = self
            .members
            .values()
            .map(|m| MemberSpec {
                member_id: m.member_id.clone(),
                instance_id: m.instance_id.clone(),
                topics: topic_ids(&self.subscribed_topics(m), md),
                previous: self.target.get(&m.member_id).cloned().unwrap_or_default(),
            })
            .collect();
        let partitions: HashMap<Uuid, i32> = specs
            .iter()
            .flat_map(|s| s.topics.iter().copied())
            .filter_map(|id| {
                md.topic_by_id(id)
                    .map(|t| (id, i32::try_from(t.partitions.len()).unwrap_or(i32::MAX)))
            })
            .collect();
        let name = self.assignor_name(config);
        let targets = assignor::assign(&name, &specs, &partitions);
        for (id, a) in targets {
            if self.target.get(&id) != Some(&a) {
                self.emit(records, Self::target_record(&id, &a));
            }
        }
        let epoch = self.epoch;
        self.emit(records, Self::target_epoch_record(epoch));
    }
}
