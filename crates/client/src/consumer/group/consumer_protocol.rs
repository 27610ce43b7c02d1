//! The consumer group protocol (KIP-848, `group.protocol=consumer`): the coordinator
//! computes the assignment and the member reconciles towards it, one heartbeat at a time.
//!
//! ```text
//!  ConsumerGroupHeartbeat(epoch 0, subscription, rebalance timeout, owned = ∅) ─▶ epoch, target
//!  reconcile: revoke what left the target (listener.on_revoked, commit), then take what is
//!             new (listener.on_assigned), then heartbeat at once with what we own (the ack)
//!  stable: heartbeat every heartbeat_interval_ms the coordinator gives; fields that did
//!          not change since the last accepted heartbeat are sent as null
//!  FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID ─▶ partitions lost (listener.on_lost), rejoin
//!          with epoch 0 and a full request
//!  close:  revoke everything (commit), leave with epoch -1 (-2 for a static member, whose
//!          partitions wait for it through the session timeout)
//!  unsubscribe: the same, then wait for a new subscription (which joins with epoch 0)
//! ```
//!
//! Commits carry the member epoch (OffsetCommit v9+). The member id is generated here once
//! and kept for the consumer's life, as KIP-1082 asks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use streamctl_protocol::messages::consumer_group_heartbeat::ConsumerGroupHeartbeatTopicPartitions;
use streamctl_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::{ms, Member};
use crate::backoff::Backoff;
use crate::consumer::{offsets, Generation, TopicPartition};
use crate::error::Error;

/// Epoch of a member leaving.
const LEAVE_EPOCH: i32 = -1;
/// Epoch of a static member leaving for a while.
const STATIC_LEAVE_EPOCH: i32 = -2;

/// What the coordinator last accepted from us: fields equal to it are sent as null.
#[derive(Default)]
struct Sent {
    topics: Option<Vec<String>>,
    owned: Option<BTreeMap<Uuid, BTreeSet<i32>>>,
}

struct Heartbeats {
    m: Member,
    epoch: i32,
    interval: Duration,
    /// Send every field next time (joining, or after an error left us unsure what the
    /// coordinator saw).
    full: bool,
    sent: Sent,
    /// What we own, by topic id (as the coordinator speaks).
    owned: BTreeMap<Uuid, BTreeSet<i32>>,
    /// The coordinator's last assignment, by topic id; partitions of topics our metadata
    /// does not know yet wait here.
    target: BTreeMap<Uuid, BTreeSet<i32>>,
    /// The names of the topics we own, as they were when assigned.
    names: BTreeMap<Uuid, String>,
}

/// Whether the group should speak the consumer protocol: as configured, or for `auto`
/// whether the coordinator serves ConsumerGroupHeartbeat (retrying while it cannot be found).
pub(super) async fn chosen(m: &Member) -> bool {
    use crate::consumer::GroupProtocol;
    let inner = &m.inner;
    match inner.config.group_protocol {
        GroupProtocol::Classic => false,
        GroupProtocol::Consumer => true,
        GroupProtocol::Auto => {
            let config = &inner.config.client;
            let mut attempts =
                Backoff::new(config.retry_backoff, config.retry_backoff_max).attempts();
            loop {
                match offsets::coordinator(inner).await {
                    Ok(conn) => {
                        let served = conn
                            .broker_versions(ApiKey::ConsumerGroupHeartbeat)
                            .is_some();
                        info!(group = %m.group_id, consumer_protocol = served, "group.protocol=auto");
                        return served;
                    }
                    Err(e) => {
                        if inner.stop.is_cancelled() || inner.state().closed {
                            return false;
                        }
                        debug!(group = %m.group_id, error = %e, "no coordinator yet");
                        tokio::select! {
                            () = tokio::time::sleep(attempts.next_delay()) => {}
                            () = inner.stop.cancelled() => return false,
                        }
                    }
                }
            }
        }
    }
}

/// The member's task under the consumer protocol; returns when the consumer closes or is
/// fenced for good, or gives the member back for the classic protocol when
/// `group.protocol=auto` finds the coordinator cannot do it after all.
pub(super) async fn run(mut m: Member) -> Option<Member> {
    m.member_id = Uuid::new_v4().simple().to_string();
    let inner = m.inner.clone();
    let config = &inner.config;
    let mut h = Heartbeats {
        m,
        epoch: 0,
        interval: config.heartbeat_interval,
        full: true,
        sent: Sent::default(),
        owned: BTreeMap::new(),
        target: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    let mut attempts =
        Backoff::new(config.client.retry_backoff, config.client.retry_backoff_max).attempts();
    let mut fenced_in_a_row = 0u32;
    let mut next_heartbeat = Instant::now();
    let mut last_accepted = Instant::now();
    let mut next_commit = Instant::now() + config.auto_commit_interval;
    let topics_check = config
        .client
        .metadata_max_age
        .min(Duration::from_secs(10))
        .max(Duration::from_millis(500));
    let mut next_topics_check = Instant::now() + topics_check;
    loop {
        let wake = inner.group_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        if inner.state().closed || inner.stop.is_cancelled() {
            h.leave().await;
            return None;
        }
        if let Some(n) = inner.unsubscribe_pending() {
            h.leave().await;
            inner.unsubscribed(n);
            continue;
        }
        let subscribed = inner.state().subscription_active();
        if !subscribed && h.m.in_group {
            h.leave().await;
        }
        tokio::select! {
            () = &mut wake => {
                // A new subscription (or closing): tell the coordinator now.
                next_heartbeat = Instant::now();
            }
            () = inner.stop.cancelled() => {}
            () = tokio::time::sleep_until(next_heartbeat), if subscribed => {
                match h.heartbeat().await {
                    Ok(ack) => {
                        attempts.reset();
                        fenced_in_a_row = 0;
                        last_accepted = Instant::now();
                        next_heartbeat = if ack { Instant::now() } else { Instant::now() + h.interval };
                    }
                    Err(Outcome::Rejoin) => {
                        // At once the first time; a coordinator that keeps fencing the
                        // rejoin (before KAFKA-19233, until the old member's session ends)
                        // is asked again with backoff.
                        fenced_in_a_row += 1;
                        next_heartbeat = if fenced_in_a_row > 1 {
                            Instant::now() + attempts.next_delay()
                        } else {
                            Instant::now()
                        };
                    }
                    Err(Outcome::Fallback(why)) => {
                        info!(group = %h.m.group_id, reason = %why, "group.protocol=auto: the classic protocol after all");
                        return Some(h.m);
                    }
                    Err(Outcome::Retry) => {
                        next_heartbeat = Instant::now() + attempts.next_delay();
                        if h.m.in_group && last_accepted.elapsed() > config.session_timeout {
                            warn!(group = %h.m.group_id, "no heartbeat accepted within the session timeout; partitions lost");
                            h.lost().await;
                        }
                    }
                    Err(Outcome::Fatal(e)) => {
                        warn!(group = %h.m.group_id, error = %e, "left the group for good");
                        h.lost().await;
                        inner.report(e);
                        return None;
                    }
                }
            }
            () = tokio::time::sleep_until(next_commit), if config.enable_auto_commit => {
                next_commit = Instant::now() + config.auto_commit_interval;
                h.m.auto_commit(None).await;
            }
            () = tokio::time::sleep_until(next_topics_check), if subscribed => {
                // A pattern subscription may match new topics: the next heartbeat says so.
                next_topics_check = Instant::now() + topics_check;
                let topics: Vec<String> = h.m.topics().await.into_iter().collect();
                if h.sent.topics.as_ref() != Some(&topics) {
                    next_heartbeat = Instant::now();
                }
            }
        }
    }
}

/// Why a heartbeat did not go through.
enum Outcome {
    /// Fenced: the partitions were lost; join again at once.
    Rejoin,
    /// Try again after a backoff.
    Retry,
    /// Give up (fenced by another static member, the broker cannot do it, a bad config).
    Fatal(Error),
    /// `group.protocol=auto`, and the coordinator cannot take us in this protocol (it does
    /// not serve it, or the group is a classic group with members): the classic protocol.
    Fallback(String),
}

impl Heartbeats {
    fn request(&self, topics: &[String]) -> ConsumerGroupHeartbeatRequest {
        let config = &self.m.inner.config;
        let full = self.full || self.epoch == 0;
        ConsumerGroupHeartbeatRequest {
            group_id: self.m.group_id.clone(),
            member_id: self.m.member_id.clone(),
            member_epoch: self.epoch,
            instance_id: config.group_instance_id.clone(),
            rebalance_timeout_ms: if full {
                ms(config.max_poll_interval)
            } else {
                -1
            },
            subscribed_topic_names: (full || self.sent.topics.as_deref() != Some(topics))
                .then(|| topics.to_vec()),
            server_assignor: if full {
                config.group_remote_assignor.clone()
            } else {
                None
            },
            topic_partitions: (full || self.sent.owned.as_ref() != Some(&self.owned)).then(|| {
                if self.epoch == 0 {
                    Vec::new()
                } else {
                    to_wire(&self.owned)
                }
            }),
            ..Default::default()
        }
    }

    /// One heartbeat; `Ok(true)` when we must heartbeat again at once (to acknowledge a
    /// reconciliation step).
    async fn heartbeat(&mut self) -> Result<bool, Outcome> {
        let inner = self.m.inner.clone();
        let topics: Vec<String> = self.m.topics().await.into_iter().collect();
        let request = self.request(&topics);
        let conn = match offsets::coordinator(&inner).await {
            Ok(c) => c,
            Err(e) => {
                debug!(group = %self.m.group_id, error = %e, "no coordinator");
                self.full = true;
                return Err(Outcome::Retry);
            }
        };
        let sent_topics = request.subscribed_topic_names.clone();
        let sent_owned = request
            .topic_partitions
            .is_some()
            .then(|| self.owned.clone());
        let response: ConsumerGroupHeartbeatResponse = match conn.call(request).await {
            Ok(r) => r,
            Err(Error::UnsupportedVersion { .. }) => {
                return Err(self.unsupported());
            }
            Err(e) => {
                debug!(group = %self.m.group_id, error = %e, "heartbeat failed");
                offsets::coordinator_lost(&inner).await;
                self.full = true;
                return Err(Outcome::Retry);
            }
        };
        let code = ErrorCode::from_code(response.error_code);
        if !code.is_ok() {
            return Err(self.on_error(code, response.error_message).await);
        }
        if let Some(id) = response.member_id.filter(|id| !id.is_empty()) {
            self.m.member_id = id;
        }
        // A success answer always carries a positive epoch; anything else is ignored.
        if response.member_epoch > 0 {
            self.epoch = response.member_epoch;
        }
        self.full = false;
        if let Some(t) = sent_topics {
            self.sent.topics = Some(t);
        }
        if let Some(o) = sent_owned {
            self.sent.owned = Some(o);
        }
        if let Ok(ms) = u64::try_from(response.heartbeat_interval_ms) {
            if ms > 0 {
                self.interval = Duration::from_millis(ms);
            }
        }
        self.m.in_group = true;
        inner.state().generation = Some(Generation {
            generation_id: self.epoch,
            member_id: self.m.member_id.clone(),
        });
        if let Some(a) = response.assignment {
            let mut target: BTreeMap<Uuid, BTreeSet<i32>> = BTreeMap::new();
            for tp in a.topic_partitions {
                target.entry(tp.topic_id).or_default().extend(tp.partitions);
            }
            target.retain(|_, ps| !ps.is_empty());
            self.target = target;
        }
        Ok(self.reconcile().await)
    }

    /// The coordinator does not serve the protocol: the classic one under `auto` (before
    /// the first join), else an error for good.
    fn unsupported(&self) -> Outcome {
        if self.may_fall_back() {
            return Outcome::Fallback(
                "the coordinator does not serve ConsumerGroupHeartbeat".into(),
            );
        }
        Outcome::Fatal(Error::Broker {
            code: ErrorCode::UnsupportedVersion,
            message: Some(format!(
                "group {}: the coordinator does not serve the consumer group protocol (KIP-848); use group.protocol=classic or auto",
                self.m.group_id
            )),
            topic: None,
            partition: None,
        })
    }

    /// Whether `group.protocol=auto` may still choose the classic protocol: nothing joined.
    fn may_fall_back(&self) -> bool {
        self.m.inner.config.group_protocol == crate::consumer::GroupProtocol::Auto
            && !self.m.in_group
            && self.epoch == 0
    }

    async fn on_error(&mut self, code: ErrorCode, message: Option<String>) -> Outcome {
        let inner = self.m.inner.clone();
        self.full = true;
        let error = || Error::Broker {
            code,
            message: Some(format!(
                "group {}{}",
                self.m.group_id,
                message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )),
            topic: None,
            partition: None,
        };
        match code {
            ErrorCode::FencedMemberEpoch | ErrorCode::UnknownMemberId => {
                info!(group = %self.m.group_id, error = %code, "fenced; partitions lost, rejoining");
                self.lost().await;
                Outcome::Rejoin
            }
            ErrorCode::GroupIdNotFound if self.may_fall_back() => {
                Outcome::Fallback("the group is a classic group with members".into())
            }
            ErrorCode::FencedInstanceId
            | ErrorCode::UnreleasedInstanceId
            | ErrorCode::GroupMaxSizeReached
            | ErrorCode::GroupIdNotFound
            | ErrorCode::InvalidRequest
            | ErrorCode::UnsupportedAssignor
            | ErrorCode::InvalidRegularExpression
            | ErrorCode::GroupAuthorizationFailed => Outcome::Fatal(error()),
            ErrorCode::UnsupportedVersion => self.unsupported(),
            code if offsets::is_coordinator_error(code) => {
                offsets::coordinator_lost(&inner).await;
                Outcome::Retry
            }
            code if code.is_retriable() => Outcome::Retry,
            _ => {
                inner.report(error());
                Outcome::Retry
            }
        }
    }

    /// Moves towards the target: revoke first, then assign. Returns whether what we own
    /// changed (the coordinator must hear it at once).
    async fn reconcile(&mut self) -> bool {
        let inner = self.m.inner.clone();
        // Topics we own keep the name they were assigned under (a metadata answer that
        // leaves them out, or their deletion, must not hide them); new ones are named from
        // metadata, and wait while it does not know them.
        let mut names = self.names.clone();
        let unknown =
            |names: &BTreeMap<Uuid, String>| self.target.keys().any(|id| !names.contains_key(id));
        if unknown(&names) {
            for id in self.target.keys() {
                if let Some(n) = inner.cluster.topic_name(*id) {
                    names.entry(*id).or_insert(n);
                }
            }
        }
        if unknown(&names) {
            if let Err(e) = inner.cluster.refresh_all().await {
                debug!(error = %e, "metadata refresh for assigned topic ids failed");
            }
            for id in self.target.keys() {
                if let Some(n) = inner.cluster.topic_name(*id) {
                    names.entry(*id).or_insert(n);
                }
            }
        }
        let named = |a: &BTreeMap<Uuid, BTreeSet<i32>>| -> BTreeSet<(Uuid, i32)> {
            a.iter()
                .filter(|(id, _)| names.contains_key(id))
                .flat_map(|(id, ps)| ps.iter().map(move |p| (*id, *p)))
                .collect()
        };
        let target = named(&self.target);
        let owned: BTreeSet<(Uuid, i32)> = self
            .owned
            .iter()
            .flat_map(|(id, ps)| ps.iter().map(move |p| (*id, *p)))
            .collect();
        let tp = |(id, p): &(Uuid, i32)| TopicPartition {
            topic: names.get(id).cloned().unwrap_or_default(),
            partition: *p,
        };
        let revoked: Vec<(Uuid, i32)> = owned.difference(&target).copied().collect();
        let added: Vec<(Uuid, i32)> = target.difference(&owned).copied().collect();
        if revoked.is_empty() && added.is_empty() {
            return false;
        }
        if !revoked.is_empty() {
            let partitions: Vec<TopicPartition> = revoked.iter().map(tp).collect();
            self.m.revoke(&partitions).await;
            for (id, p) in &revoked {
                if let Some(ps) = self.owned.get_mut(id) {
                    ps.remove(p);
                }
            }
        }
        for (id, _) in &added {
            if let Some(n) = names.get(id) {
                self.names.insert(*id, n.clone());
            }
        }
        if !added.is_empty() {
            let partitions: Vec<TopicPartition> = added.iter().map(tp).collect();
            for (id, p) in &added {
                self.owned.entry(*id).or_default().insert(*p);
            }
            self.m.take(&partitions).await;
        }
        self.owned.retain(|_, ps| !ps.is_empty());
        self.names.retain(|id, _| self.owned.contains_key(id));
        info!(group = %self.m.group_id, epoch = self.epoch, revoked = revoked.len(), added = added.len(), owned = self.m.owned.len(), "reconciled");
        true
    }

    /// Every partition is someone else's already: tell the listener, start over at epoch 0.
    async fn lost(&mut self) {
        self.m.lose().await;
        self.owned.clear();
        self.names.clear();
        self.target.clear();
        self.epoch = 0;
        self.full = true;
        self.sent = Sent::default();
    }

    /// Revokes everything (committing) and leaves: epoch -1, or -2 for a static member.
    async fn leave(&mut self) {
        if !self.m.in_group {
            self.m.auto_commit(None).await;
            return;
        }
        let all: Vec<TopicPartition> = self.m.owned.iter().cloned().collect();
        self.m.revoke(&all).await;
        self.owned.clear();
        self.names.clear();
        self.m.in_group = false;
        self.m.inner.state().generation = None;
        let inner = self.m.inner.clone();
        let epoch = if inner.config.group_instance_id.is_some() {
            STATIC_LEAVE_EPOCH
        } else {
            LEAVE_EPOCH
        };
        let request = ConsumerGroupHeartbeatRequest {
            group_id: self.m.group_id.clone(),
            member_id: self.m.member_id.clone(),
            member_epoch: epoch,
            instance_id: inner.config.group_instance_id.clone(),
            ..Default::default()
        };
        if let Ok(conn) = offsets::coordinator(&inner).await {
            match conn.call(request).await {
                Ok(r) if r.error_code == 0 => {
                    info!(group = %self.m.group_id, member = %self.m.member_id, epoch, "left the group")
                }
                Ok(r) => {
                    debug!(group = %self.m.group_id, error = %ErrorCode::from_code(r.error_code), "leave refused")
                }
                Err(e) => debug!(group = %self.m.group_id, error = %e, "leave failed"),
            }
        }
        self.epoch = 0;
        self.full = true;
        self.sent = Sent::default();
        self.target.clear();
    }
}

fn to_wire(a: &BTreeMap<Uuid, BTreeSet<i32>>) -> Vec<ConsumerGroupHeartbeatTopicPartitions> {
    a.iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(id, ps)| ConsumerGroupHeartbeatTopicPartitions {
            topic_id: *id,
            partitions: ps.iter().copied().collect(),
            ..Default::default()
        })
        .collect()
}
