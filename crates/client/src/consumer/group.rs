//! The group member: one background task per consumer with a `group.id`, speaking Kafka's
//! classic group protocol with the coordinator, or the consumer protocol (KIP-848,
//! `group.protocol=consumer`, in [`consumer_protocol`]).
//!
//! ```text
//!  FindCoordinator ─▶ JoinGroup(protocols: one per assignor, each with our subscription)
//!     MEMBER_ID_REQUIRED ─▶ rejoin with the given id (KIP-394)
//!  leader? ─▶ decode members' subscriptions ─▶ assignor ─▶ SyncGroup(assignments) ─▶ ours
//!  eager:        revoke everything before joining, assign the new set after SyncGroup
//!  cooperative:  keep what stays; revoke only what left (then rejoin at once), assign what
//!                is new (KIP-429)
//!  stable: Heartbeat every heartbeat.interval.ms; auto-commit every auto.commit.interval.ms;
//!          REBALANCE_IN_PROGRESS ─▶ rejoin; UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION ─▶
//!          partitions lost (listener.on_lost), rejoin; NOT_COORDINATOR ─▶ rediscover
//!  close:  commit (auto-commit), listener.on_revoked, LeaveGroup (not for static members,
//!          whose partitions wait for them through session.timeout.ms, KIP-345)
//!  unsubscribe: the same, then wait for a new subscription; `Consumer::unsubscribe`
//!          returns once it is done (even if the application subscribed again meanwhile)
//! ```
//!
//! The listener runs in this task, so while it runs no heartbeat is sent: keep it shorter
//! than `session.timeout.ms`. It may commit: commits go straight to the coordinator.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::messages::join_group::JoinGroupRequestProtocol;
use streamctl_protocol::messages::leave_group::LeaveGroupRequestMember;
use streamctl_protocol::messages::sync_group::SyncGroupRequestAssignment;
use streamctl_protocol::messages::{
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, SyncGroupRequest,
};
use streamctl_protocol::{ApiKey, ErrorCode};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::assignor::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
};
use super::{offsets, Consumer, ConsumerInner, Generation, Subscription, TopicPartition};
use crate::backoff::Backoff;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// The future a listener method returns.
pub type ListenerFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Told about partitions moving in and out of this consumer in rebalances.
///
/// Methods are async and may use the consumer (commit, seek, position). They run in the
/// group task, one at a time.
pub trait RebalanceListener: Send + Sync {
    /// Partitions newly assigned (after a rebalance; with the cooperative protocol only the
    /// added ones, possibly none). None of their records is fetched or handed out before
    /// this returns: a seek here decides where reading starts.
    fn on_assigned<'a>(
        &'a self,
        consumer: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        let _ = (consumer, partitions);
        Box::pin(async {})
    }

    /// Partitions about to be taken away; they are still owned, so committing their
    /// positions here is safe.
    fn on_revoked<'a>(
        &'a self,
        consumer: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        let _ = (consumer, partitions);
        Box::pin(async {})
    }

    /// Partitions already owned by someone else (the member was expelled from the group):
    /// committing them fails. By default the same as [`RebalanceListener::on_revoked`].
    fn on_lost<'a>(
        &'a self,
        consumer: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        self.on_revoked(consumer, partitions)
    }
}

/// Why a join attempt did not produce an assignment.
enum JoinError {
    /// Try again right away (a new member id, a rebalance that moved on).
    Retry,
    /// Try again after backoff.
    Backoff(Error),
    /// Stop for good (fenced by another static member).
    Fatal(Error),
}

struct Member {
    inner: Arc<ConsumerInner>,
    /// A handle for the listener (sharing the consumer's state, not owning its tasks).
    view: Consumer,
    group_id: String,
    member_id: String,
    generation_id: i32,
    /// What the group assigned us and we still own.
    owned: BTreeSet<TopicPartition>,
    /// The topics of our last join, and their partition counts when we led.
    joined_topics: BTreeSet<String>,
    joined_counts: BTreeMap<String, i32>,
    cooperative: bool,
    in_group: bool,
}

/// Marks the group task's end (however it ends), for `unsubscribe` not to wait for it.
struct Ended(Arc<ConsumerInner>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.state().group_task_ended = true;
        self.0.unsubscribed.notify_waiters();
    }
}

/// The group task body; returns when the consumer closes or is fenced.
pub async fn run(inner: Arc<ConsumerInner>, view: Consumer) {
    let _ended = Ended(inner.clone());
    let Some(group_id) = inner.config.group_id.clone() else {
        return;
    };
    let cooperative = inner.config.cooperative();
    let mut m = Member {
        inner: inner.clone(),
        view,
        group_id,
        member_id: String::new(),
        generation_id: -1,
        owned: BTreeSet::new(),
        joined_topics: BTreeSet::new(),
        joined_counts: BTreeMap::new(),
        cooperative,
        in_group: false,
    };
    if consumer_protocol::chosen(&m).await {
        match consumer_protocol::run(m).await {
            Some(classic) => m = classic,
            None => return,
        }
    }
    let config = &inner.config;
    let mut attempts =
        Backoff::new(config.client.retry_backoff, config.client.retry_backoff_max).attempts();
    let mut need_join = true;
    let mut next_heartbeat = Instant::now() + config.heartbeat_interval;
    // The last heartbeat the coordinator accepted: past session.timeout.ms without one, the
    // coordinator has expelled us for sure, and the partitions are someone else's.
    let mut last_heartbeat = Instant::now();
    let mut next_commit = Instant::now() + config.auto_commit_interval;
    let metadata_check = config
        .client
        .metadata_max_age
        .min(Duration::from_secs(10))
        .max(Duration::from_millis(500));
    let mut next_metadata_check = Instant::now() + metadata_check;
    loop {
        let wake = inner.group_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        if inner.state().closed || inner.stop.is_cancelled() {
            if m.in_group {
                m.leave("the consumer is closing").await;
            } else {
                m.auto_commit(None).await;
            }
            return;
        }
        if let Some(n) = inner.unsubscribe_pending() {
            m.leave("the consumer unsubscribed").await;
            inner.unsubscribed(n);
            need_join = true;
            continue;
        }
        let subscribed = inner.state().subscription_active();
        if !subscribed {
            if m.in_group {
                m.leave("the consumer unsubscribed").await;
            }
            need_join = true;
        } else if need_join {
            match m.join().await {
                Ok(rejoin) => {
                    attempts.reset();
                    need_join = rejoin;
                    next_heartbeat = Instant::now() + config.heartbeat_interval;
                    last_heartbeat = Instant::now();
                    next_metadata_check = Instant::now() + metadata_check;
                    if rejoin {
                        continue;
                    }
                }
                Err(JoinError::Retry) => continue,
                Err(JoinError::Backoff(e)) => {
                    let delay = attempts.next_delay();
                    debug!(group = %m.group_id, error = %e, delay_ms = delay.as_millis() as u64, "joining the group failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = &mut wake => {}
                        () = inner.stop.cancelled() => {}
                    }
                    continue;
                }
                Err(JoinError::Fatal(e)) => {
                    warn!(group = %m.group_id, error = %e, "left the group for good");
                    m.lose().await;
                    inner.report(e);
                    return;
                }
            }
        }
        let auto_commit = config.enable_auto_commit;
        tokio::select! {
            () = &mut wake => {
                // Subscription changed or closing: the loop top decides.
                if subscribed && m.subscription_changed().await {
                    need_join = true;
                }
            }
            () = inner.stop.cancelled() => {}
            () = tokio::time::sleep_until(next_heartbeat), if subscribed && m.in_group => {
                next_heartbeat = Instant::now() + config.heartbeat_interval;
                match m.heartbeat().await {
                    Ok(()) => last_heartbeat = Instant::now(),
                    Err(code) => {
                        need_join |= m.on_group_error(code).await;
                        if m.in_group && last_heartbeat.elapsed() > config.session_timeout {
                            warn!(group = %m.group_id, "no heartbeat accepted within session.timeout.ms; partitions lost");
                            m.lose().await;
                            need_join = true;
                        }
                    }
                }
            }
            () = tokio::time::sleep_until(next_commit), if auto_commit => {
                next_commit = Instant::now() + config.auto_commit_interval;
                m.auto_commit(None).await;
            }
            () = tokio::time::sleep_until(next_metadata_check), if subscribed && m.in_group => {
                next_metadata_check = Instant::now() + metadata_check;
                if m.subscription_changed().await {
                    info!(group = %m.group_id, "subscribed topics changed; rejoining");
                    need_join = true;
                }
            }
        }
    }
}

impl Member {
    /// The topics we subscribe to now (a pattern is matched against every topic in the
    /// cluster, internal ones excepted).
    async fn topics(&self) -> BTreeSet<String> {
        let subscription = self.inner.state().subscription.clone();
        match subscription {
            Subscription::None => BTreeSet::new(),
            Subscription::Topics(t) => t,
            Subscription::Pattern(re) => {
                if let Err(e) = self.inner.cluster.refresh_all().await {
                    debug!(error = %e, "metadata refresh for a pattern subscription failed");
                }
                self.inner
                    .cluster
                    .snapshot()
                    .topics()
                    .filter(|t| !t.is_internal && re.is_match(&t.name))
                    .map(|t| t.name.clone())
                    .collect()
            }
        }
    }

    async fn subscription_changed(&self) -> bool {
        let topics = self.topics().await;
        if topics != self.joined_topics {
            return true;
        }
        if !self.joined_counts.is_empty() {
            // As the leader, a topic that grew needs a new assignment.
            let counts = super::partition_counts(&self.inner.cluster, topics.iter().cloned()).await;
            return counts
                .iter()
                .any(|(t, n)| self.joined_counts.get(t).is_some_and(|old| old != n));
        }
        false
    }

    /// Joins and syncs; returns whether to rejoin right away (cooperative revocation).
    async fn join(&mut self) -> Result<bool, JoinError> {
        let inner = self.inner.clone();
        if !self.cooperative && !self.owned.is_empty() {
            let all: Vec<TopicPartition> = self.owned.iter().cloned().collect();
            self.revoke(&all).await;
        }
        let topics = self.topics().await;
        let conn = offsets::coordinator(&inner)
            .await
            .map_err(JoinError::Backoff)?;
        let response = self.join_group(&conn, &topics).await?;
        self.member_id = response.member_id.clone();
        self.generation_id = response.generation_id;
        self.joined_topics = topics;
        self.joined_counts.clear();
        let protocol = response.protocol_name.clone().unwrap_or_default();
        let assignments = if response.leader == response.member_id && !response.skip_assignment {
            self.assign_as_leader(&response, &protocol).await?
        } else {
            Vec::new()
        };
        let assigned = self.sync_group(&conn, &protocol, assignments).await?;
        {
            let mut state = inner.state();
            state.generation = Some(Generation {
                generation_id: self.generation_id,
                member_id: self.member_id.clone(),
            });
        }
        self.in_group = true;
        info!(group = %self.group_id, generation = self.generation_id, member = %self.member_id, protocol = %protocol, partitions = assigned.len(), "joined the group");
        let revoked: Vec<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        let mut rejoin = false;
        if !revoked.is_empty() {
            // Cooperative: give these up, then rejoin so their new owner gets them.
            self.revoke(&revoked).await;
            rejoin = true;
        }
        self.take(&added).await;
        Ok(rejoin)
    }

    /// How long a JoinGroup or SyncGroup may take: the rebalance plus a request timeout.
    fn rebalance_call_timeout(&self) -> Duration {
        let config = &self.inner.config;
        config.max_poll_interval + config.client.request_timeout
    }

    /// Sends JoinGroup with this member's subscription (and, cooperatively, what it owns);
    /// an error answer says whether to retry at once, back off, or give up.
    async fn join_group(
        &mut self,
        conn: &Connection,
        topics: &BTreeSet<String>,
    ) -> Result<JoinGroupResponse, JoinError> {
        let inner = self.inner.clone();
        let config = &inner.config;
        let topic_list: Vec<String> = topics.iter().cloned().collect();
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        let protocols = config
            .assignors
            .iter()
            .map(|a| JoinGroupRequestProtocol {
                name: a.name().to_string(),
                metadata: encode_subscription(
                    &topic_list,
                    if self.cooperative { &owned } else { &[] },
                ),
                ..Default::default()
            })
            .collect();
        let request = JoinGroupRequest {
            group_id: self.group_id.clone(),
            session_timeout_ms: ms(config.session_timeout),
            rebalance_timeout_ms: ms(config.max_poll_interval),
            member_id: self.member_id.clone(),
            group_instance_id: config.group_instance_id.clone(),
            protocol_type: "consumer".into(),
            protocols,
            reason: None,
            ..Default::default()
        };
        let response = match conn
            .call_with_timeout(request, self.rebalance_call_timeout())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                offsets::coordinator_lost(&inner).await;
                return Err(JoinError::Backoff(e));
            }
        };
        let code = ErrorCode::from_code(response.error_code);
        match code {
            ErrorCode::None => Ok(response),
            ErrorCode::MemberIdRequired => {
                self.member_id = response.member_id;
                Err(JoinError::Retry)
            }
            ErrorCode::UnknownMemberId => {
                self.member_id.clear();
                self.lose().await;
                Err(JoinError::Retry)
            }
            ErrorCode::FencedInstanceId => Err(JoinError::Fatal(self.group_error(code))),
            code if offsets::is_coordinator_error(code) => {
                offsets::coordinator_lost(&inner).await;
                Err(JoinError::Backoff(self.group_error(code)))
            }
            ErrorCode::RebalanceInProgress => Err(JoinError::Retry),
            code if code.is_retriable() => Err(JoinError::Backoff(self.group_error(code))),
            code => {
                let e = self.group_error(code);
                inner.report(e.clone());
                Err(JoinError::Backoff(e))
            }
        }
    }

    /// As the group's leader: every member's partitions, by the assignor the group chose.
    async fn assign_as_leader(
        &mut self,
        response: &JoinGroupResponse,
        protocol: &str,
    ) -> Result<Vec<SyncGroupRequestAssignment>, JoinError> {
        let assignor = self
            .inner
            .config
            .assignors
            .iter()
            .find(|a| a.name() == protocol)
            .cloned();
        let Some(assignor) = assignor else {
            return Err(JoinError::Fatal(Error::InvalidResponse(format!(
                "the group chose assignor {protocol}, which this consumer did not offer"
            ))));
        };
        let mut members = Vec::new();
        for m in &response.members {
            match decode_subscription(&m.member_id, m.group_instance_id.clone(), &m.metadata) {
                Ok(s) => members.push(s),
                Err(e) => {
                    warn!(group = %self.group_id, member = %m.member_id, error = %e, "undecodable subscription; the member gets nothing")
                }
            }
        }
        let all_topics: BTreeSet<String> = members
            .iter()
            .flat_map(|m| m.topics.iter().cloned())
            .collect();
        let counts = super::partition_counts(&self.inner.cluster, all_topics).await;
        let counts: BTreeMap<String, i32> = counts.into_iter().collect();
        self.joined_counts = counts.clone();
        let assigned = assignor.assign(&counts, &members);
        debug!(group = %self.group_id, generation = self.generation_id, protocol = %protocol, members = members.len(), "assigned partitions as the leader");
        Ok(response
            .members
            .iter()
            .map(|m| {
                let tps = assigned.get(&m.member_id).cloned().unwrap_or_default();
                SyncGroupRequestAssignment {
                    member_id: m.member_id.clone(),
                    assignment: encode_assignment(&tps),
                    ..Default::default()
                }
            })
            .collect())
    }

    /// Sends SyncGroup (with the assignments when leading) and returns this member's share.
    async fn sync_group(
        &mut self,
        conn: &Connection,
        protocol: &str,
        assignments: Vec<SyncGroupRequestAssignment>,
    ) -> Result<BTreeSet<TopicPartition>, JoinError> {
        let inner = self.inner.clone();
        let sync = SyncGroupRequest {
            group_id: self.group_id.clone(),
            generation_id: self.generation_id,
            member_id: self.member_id.clone(),
            group_instance_id: inner.config.group_instance_id.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: Some(protocol.to_owned()),
            assignments,
            ..Default::default()
        };
        let response = match conn
            .call_with_timeout(sync, self.rebalance_call_timeout())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                offsets::coordinator_lost(&inner).await;
                return Err(JoinError::Backoff(e));
            }
        };
        let code = ErrorCode::from_code(response.error_code);
        if !code.is_ok() {
            return Err(match code {
                ErrorCode::FencedInstanceId => JoinError::Fatal(self.group_error(code)),
                ErrorCode::RebalanceInProgress => JoinError::Retry,
                _ => {
                    self.on_group_error(code).await;
                    JoinError::Backoff(self.group_error(code))
                }
            });
        }
        match decode_assignment(&response.assignment) {
            Ok(a) => Ok(a.into_iter().collect()),
            Err(e) => {
                inner.report(e.clone());
                Err(JoinError::Backoff(e))
            }
        }
    }

    fn group_error(&self, code: ErrorCode) -> Error {
        Error::Broker {
            code,
            message: Some(format!("group {}", self.group_id)),
            topic: None,
            partition: None,
        }
    }

    /// Handles a group error of Heartbeat or SyncGroup; returns whether to rejoin.
    async fn on_group_error(&mut self, code: ErrorCode) -> bool {
        match code {
            ErrorCode::RebalanceInProgress => true,
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                info!(group = %self.group_id, error = %code, "no longer a member of the current generation; partitions lost");
                if code == ErrorCode::UnknownMemberId {
                    self.member_id.clear();
                }
                self.lose().await;
                true
            }
            ErrorCode::FencedInstanceId => {
                self.lose().await;
                self.inner.report(self.group_error(code));
                true
            }
            code if offsets::is_coordinator_error(code) => {
                offsets::coordinator_lost(&self.inner).await;
                false
            }
            ErrorCode::NetworkException | ErrorCode::RequestTimedOut => {
                offsets::coordinator_lost(&self.inner).await;
                false
            }
            code => {
                self.inner.report(self.group_error(code));
                false
            }
        }
    }

    async fn heartbeat(&mut self) -> Result<(), ErrorCode> {
        let conn = match offsets::coordinator(&self.inner).await {
            Ok(c) => c,
            Err(_) => return Err(ErrorCode::CoordinatorNotAvailable),
        };
        let request = HeartbeatRequest {
            group_id: self.group_id.clone(),
            generation_id: self.generation_id,
            member_id: self.member_id.clone(),
            group_instance_id: self.inner.config.group_instance_id.clone(),
            ..Default::default()
        };
        match conn.call(request).await {
            Ok(r) => match ErrorCode::from_code(r.error_code) {
                ErrorCode::None => Ok(()),
                code => Err(code),
            },
            Err(e) => {
                debug!(group = %self.group_id, error = %e, "heartbeat failed");
                Err(ErrorCode::NetworkException)
            }
        }
    }

    /// Commits what the application consumed (of `only`, or of everything), if auto-commit is
    /// on. Failures go to the application.
    async fn auto_commit(&self, only: Option<&[TopicPartition]>) {
        let inner = &self.inner;
        if !inner.config.enable_auto_commit {
            return;
        }
        let offsets = inner.consumed_offsets(only);
        if offsets.is_empty() {
            return;
        }
        if let Err(e) = offsets::commit(inner, &offsets).await {
            if e.code() == Some(ErrorCode::RebalanceInProgress) {
                // The next auto-commit (or the one on revoke) commits the same positions.
                debug!(group = %self.group_id, error = %e, "auto-commit skipped during a rebalance");
            } else {
                warn!(group = %self.group_id, error = %e, "auto-commit failed");
                inner.report(e);
            }
        }
    }

    /// Takes newly assigned partitions: nothing of them is fetched or handed out before the
    /// listener's `on_assigned` returned (it may seek, as Kafka's consumer allows).
    async fn take(&mut self, partitions: &[TopicPartition]) {
        self.inner.add_partitions(partitions);
        self.owned.extend(partitions.iter().cloned());
        if let Some(listener) = &self.inner.listener {
            listener.on_assigned(&self.view, partitions).await;
        }
        // An unsubscribe that came meanwhile revokes them next: they stay held back.
        if self.inner.unsubscribe_pending().is_none() {
            self.inner.release(partitions);
        }
    }

    /// Gives partitions up: stop handing them out, tell the listener, commit, remove.
    async fn revoke(&mut self, partitions: &[TopicPartition]) {
        {
            let mut state = self.inner.state();
            for tp in partitions {
                if let Some(p) = state.assignment.get_mut(tp) {
                    p.revoking = true;
                }
            }
        }
        if let Some(listener) = &self.inner.listener {
            listener.on_revoked(&self.view, partitions).await;
        }
        self.auto_commit(Some(partitions)).await;
        self.inner.remove_partitions(partitions);
        for tp in partitions {
            self.owned.remove(tp);
        }
        debug!(group = %self.group_id, partitions = partitions.len(), "revoked partitions");
    }

    /// The partitions are someone else's already: tell the listener, drop them.
    async fn lose(&mut self) {
        let lost: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        self.inner.state().generation = None;
        self.in_group = false;
        self.generation_id = -1;
        if lost.is_empty() {
            return;
        }
        {
            let mut state = self.inner.state();
            for tp in &lost {
                if let Some(p) = state.assignment.get_mut(tp) {
                    p.revoking = true;
                }
            }
        }
        if let Some(listener) = &self.inner.listener {
            listener.on_lost(&self.view, &lost).await;
        }
        self.inner.remove_partitions(&lost);
        self.owned.clear();
    }

    /// Commits, revokes everything and leaves the group (static members stay registered).
    async fn leave(&mut self, reason: &str) {
        if !self.in_group {
            return;
        }
        let all: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        self.revoke(&all).await;
        self.in_group = false;
        self.inner.state().generation = None;
        if self.inner.config.group_instance_id.is_some() {
            info!(group = %self.group_id, "static member closing without leaving the group");
            return;
        }
        let Ok(conn) = offsets::coordinator(&self.inner).await else {
            return;
        };
        let request = LeaveGroupRequest {
            group_id: self.group_id.clone(),
            member_id: self.member_id.clone(),
            members: vec![LeaveGroupRequestMember {
                member_id: self.member_id.clone(),
                group_instance_id: None,
                reason: Some(reason.into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let _ = conn.negotiated_version(ApiKey::LeaveGroup);
        match conn.call(request).await {
            Ok(r) if r.error_code == 0 => {
                info!(group = %self.group_id, member = %self.member_id, "left the group")
            }
            Ok(r) => {
                debug!(group = %self.group_id, error = %ErrorCode::from_code(r.error_code), "LeaveGroup refused")
            }
            Err(e) => debug!(group = %self.group_id, error = %e, "LeaveGroup failed"),
        }
        self.member_id.clear();
    }
}

fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

mod consumer_protocol;
