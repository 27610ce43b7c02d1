//! The actor's side of consumer-protocol groups: heartbeats run on a copy of the group,
//! whose records are appended to the log before the copy replaces the group; the answer
//! waits until the in-sync replicas have the records (or, for a heartbeat that wrote
//! nothing, the last write the answer depends on).
//!
//! What an answered heartbeat rests on: its records, and every earlier record of the group,
//! are below the partition's high watermark, so a coordinator that takes over replays them
//! and knows the member's epoch and assignment. Records appended but not acknowledged stay
//! applied (they are in the leader's log and will be committed, or the leader loses the
//! partition and a new coordinator loads what survived); only a refused append leaves the
//! group as it was.

use std::sync::Arc;

use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{info, warn};

use super::{encode_consumer, Actor, Membership};
use crate::controller::ClusterMetadata;
use crate::coordinator::consumer::{
    ClassicJoin, ConsumerGroup, HeartbeatAnswer, HeartbeatArgs, Refusal,
};
use crate::coordinator::group::{
    Effect, Group, GroupState, JoinArgs, JoinResult, MemberIdentity, SyncArgs, SyncResult,
};
use crate::coordinator::records::consumer::ConsumerRecord;
use crate::coordinator::records::RecordKey;
use crate::coordinator::store::group_write_error;

impl Actor {
    /// The classic group a JoinGroup goes to: an empty consumer-protocol group becomes a
    /// classic one (its records tombstoned) when a new member joins, as in Kafka; a
    /// consumer-protocol group with members answers INCONSISTENT_GROUP_PROTOCOL.
    pub(super) fn classic_for_join(&mut self, member_id: &str) -> Result<&mut Group, ErrorCode> {
        if let Membership::Consumer(g) = &self.group {
            if !g.members().is_empty() {
                return Err(ErrorCode::InconsistentGroupProtocol);
            }
            // Only a new member's join converts the group (a stale member id is refused
            // without touching it).
            if !member_id.is_empty() {
                return Err(ErrorCode::UnknownMemberId);
            }
            let tombstones = g.tombstones();
            if let Err(e) = self.append_consumer(&tombstones, &[]) {
                warn!(group = %self.group_id, error = %e.1, "converting to a classic group failed");
                return Err(e.0);
            }
            info!(group = %self.group_id, "empty consumer group converted to a classic group");
            self.group = Membership::Classic(Group::new(
                self.group_id.clone(),
                self.classic_config.clone(),
            ));
        }
        match &mut self.group {
            Membership::Classic(g) => Ok(g),
            Membership::Consumer(_) => Err(ErrorCode::InconsistentGroupProtocol),
        }
    }

    /// A group's timers: the classic group's, or fencing consumer-protocol members whose
    /// session or revocation time ran out.
    pub(super) fn on_timer(&mut self, now: Instant) -> Vec<Effect> {
        let group = match &mut self.group {
            Membership::Classic(g) => return g.on_timer(now),
            Membership::Consumer(g) => g,
        };
        group.prune_deadlines();
        let expired = group.expired(now);
        if expired.is_empty() {
            return Vec::new();
        }
        let ids: Vec<String> = expired.iter().map(|(m, _)| m.clone()).collect();
        let Some(md) = self.log.metadata() else {
            // The broker is stopping; do not spin on the passed deadlines meanwhile.
            group.postpone(&ids, now + self.consumer_config.heartbeat_interval);
            return Vec::new();
        };
        let mut next = group.clone();
        let records = next.remove_members(&ids, &md);
        match self.append_consumer(&records, &[]) {
            Ok(()) => {
                for (m, why) in &expired {
                    info!(group = %self.group_id, member = %m, "member fenced: {why}");
                }
                self.group = Membership::Consumer(next);
                self.maybe_downgrade(now);
            }
            Err((_, e)) => {
                // Try again a heartbeat interval later rather than at once.
                warn!(group = %self.group_id, error = %e, "fencing members failed");
                if let Membership::Consumer(g) = &mut self.group {
                    g.postpone(&ids, now + self.consumer_config.heartbeat_interval);
                }
            }
        }
        Vec::new()
    }

    /// ConsumerGroupHeartbeat (see the module docs).
    pub(super) fn consumer_heartbeat(
        &mut self,
        args: HeartbeatArgs,
        md: &Arc<ClusterMetadata>,
        reply: oneshot::Sender<Result<HeartbeatAnswer, Refusal>>,
        now: Instant,
    ) {
        let not_found = |why: &str| Err((ErrorCode::GroupIdNotFound, why.to_string()));
        // Records that go before the group's own: the classic group's tombstone when a
        // classic group becomes a consumer-protocol group, and the converted group.
        let mut before = Vec::new();
        let mut converting = false;
        let mut next = match &self.group {
            Membership::Consumer(g) => g.clone(),
            Membership::Classic(g) => {
                if args.member_epoch != 0 {
                    let _ = reply.send(not_found(&format!(
                        "Group {} is not a consumer group.",
                        self.group_id
                    )));
                    return;
                }
                if g.generation_id() > 0 || !g.protocol_type().is_empty() {
                    match (RecordKey::Group {
                        group: self.group_id.clone(),
                    })
                    .encode()
                    {
                        Ok(key) => before.push((key, None)),
                        Err(e) => {
                            let _ = reply.send(Err((ErrorCode::UnknownServerError, e.to_string())));
                            return;
                        }
                    }
                }
                if g.state() == GroupState::Empty {
                    ConsumerGroup::new(&self.group_id)
                } else {
                    // Online upgrade (Kafka 4): the classic members carry on as classic
                    // members of the consumer-protocol group.
                    let converted = g
                        .upgrade_view()
                        .ok_or(())
                        .and_then(|(generation, members)| {
                            ConsumerGroup::from_classic(
                                &self.group_id,
                                generation,
                                &members,
                                md,
                                now,
                            )
                            .map_err(|_| ())
                        });
                    let Ok((converted, records)) = converted else {
                        let _ = reply.send(not_found(&format!(
                            "Cannot upgrade the classic group {} to a consumer group: its members are not consumers, or their subscriptions or assignments cannot be read or carry custom assignor data.",
                            self.group_id
                        )));
                        return;
                    };
                    match encode_consumer(&self.group_id, &records) {
                        Ok(encoded) => before.extend(encoded),
                        Err(e) => {
                            let _ = reply.send(Err((ErrorCode::UnknownServerError, e.to_string())));
                            return;
                        }
                    }
                    converting = true;
                    converted
                }
            }
        };
        let (records, answer) = match next.heartbeat(&args, md, &self.consumer_config, now) {
            Ok(out) => out,
            Err(refusal) => {
                // A group this join created (it holds nothing) goes again, as Kafka rolls
                // the creation back.
                if let Membership::Classic(g) = &mut self.group {
                    if g.holds_nothing() && self.offsets.all().is_empty() {
                        g.mark_dead();
                    }
                }
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        if records.is_empty() && before.is_empty() {
            // Nothing new, but the timers moved: keep the copy.
            self.group = Membership::Consumer(next);
            self.reply_after_last_write(reply, answer);
            return;
        }
        match self.append_consumer(&records, &before) {
            Ok(()) => {
                if converting {
                    info!(group = %self.group_id, "classic group upgraded online to the consumer protocol");
                    if let Membership::Classic(g) = &mut self.group {
                        // Members waiting in a join or sync rejoin, into the new group.
                        g.fail_parked(ErrorCode::RebalanceInProgress);
                    }
                }
                self.group = Membership::Consumer(next);
                self.reply_after_last_write(reply, answer);
                self.maybe_downgrade(now);
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    /// Kafka 4's online downgrade: once only classic members are left, the group becomes a
    /// classic group again (its consumer-protocol records tombstoned, a classic group record
    /// written) and rebalances, so the members rejoin it by the classic protocol.
    fn maybe_downgrade(&mut self, now: Instant) {
        let Membership::Consumer(g) = &self.group else {
            return;
        };
        if !g.only_classic_members() {
            return;
        }
        let Some(md) = self.log.metadata() else {
            return;
        };
        let Some(value) = g.to_classic(&md) else {
            return;
        };
        let key = RecordKey::Group {
            group: self.group_id.clone(),
        };
        let (Ok(key), Ok(encoded)) = (key.encode(), value.encode()) else {
            return;
        };
        let tombstones = g.tombstones();
        let mut records = match encode_consumer(&self.group_id, &tombstones) {
            Ok(r) => r,
            Err(_) => return,
        };
        records.push((key, Some(encoded)));
        match self.log.append(&records) {
            Ok(appended) => {
                self.last_write = Some(appended);
                let mut classic = Group::loaded(
                    self.group_id.clone(),
                    self.classic_config.clone(),
                    Some(value),
                    now,
                );
                classic.rebalance(now, "the last consumer-protocol member left");
                info!(group = %self.group_id, "only classic members left: back to a classic group");
                self.group = Membership::Classic(classic);
            }
            Err(e) => {
                warn!(group = %self.group_id, error = %e.message, "downgrading to a classic group failed");
            }
        }
    }

    /// Appends records of the group (after `before`, already encoded) as one batch and
    /// remembers the write; a refused append is the heartbeat's error.
    fn append_consumer(
        &mut self,
        records: &[ConsumerRecord],
        before: &[(bytes::Bytes, Option<bytes::Bytes>)],
    ) -> Result<(), Refusal> {
        let mut encoded = before.to_vec();
        encoded.extend(
            encode_consumer(&self.group_id, records)
                .map_err(|e| (ErrorCode::UnknownServerError, e.to_string()))?,
        );
        if encoded.is_empty() {
            return Ok(());
        }
        let appended = self
            .log
            .append(&encoded)
            .map_err(|e| (group_write_error(&e), e.message.clone()))?;
        self.last_write = Some(appended);
        Ok(())
    }

    /// Answers a heartbeat once the group's last write is durable.
    fn reply_after_last_write(
        &self,
        reply: oneshot::Sender<Result<HeartbeatAnswer, Refusal>>,
        answer: HeartbeatAnswer,
    ) {
        self.after_last_write(reply, Ok(answer), |code| {
            Err((code, "the group's state is not durable yet".to_string()))
        });
    }
}

/// Classic-protocol members of a consumer-protocol group (`consumer/classic.rs`).
impl Actor {
    /// JoinGroup into a consumer-protocol group with members.
    pub(super) fn classic_join_consumer_group(
        &mut self,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if args.protocol_type != "consumer" || args.protocols.is_empty() {
            let _ = reply.send(JoinResult::error(
                &args.member_id,
                ErrorCode::InconsistentGroupProtocol,
            ));
            return;
        }
        let min = self.classic_config.min_session_timeout.as_millis();
        let max = self.classic_config.max_session_timeout.as_millis();
        let session = u128::try_from(args.session_timeout_ms).unwrap_or(0);
        if session < min || session > max {
            let _ = reply.send(JoinResult::error(
                &args.member_id,
                ErrorCode::InvalidSessionTimeout,
            ));
            return;
        }
        let unknown_member = args.member_id.is_empty();
        let mut member_id = args.member_id.clone();
        if member_id.is_empty() {
            member_id = format!("{}-{}", args.client_id, uuid::Uuid::new_v4());
            if args.require_known_member_id {
                let _ = reply.send(JoinResult::error(&member_id, ErrorCode::MemberIdRequired));
                return;
            }
        }
        let (Membership::Consumer(group), Some(md)) = (&self.group, self.log.metadata()) else {
            let _ = reply.send(JoinResult::error(
                &member_id,
                ErrorCode::CoordinatorNotAvailable,
            ));
            return;
        };
        let join = ClassicJoin {
            member_id: member_id.clone(),
            instance_id: args.group_instance_id.clone(),
            session_timeout_ms: args.session_timeout_ms,
            rebalance_timeout_ms: args.rebalance_timeout_ms,
            protocols: args.protocols.clone(),
            client_id: args.client_id.clone(),
            client_host: args.client_host.clone(),
            unknown_member,
        };
        let mut next = group.clone();
        let (records, joined) = match next.classic_join(&join, &md, &self.consumer_config, now) {
            Ok(out) => out,
            Err(code) => {
                let _ = reply.send(JoinResult::error(&member_id, code));
                return;
            }
        };
        if let Err((code, _)) = self.append_consumer(&records, &[]) {
            let _ = reply.send(JoinResult::error(&member_id, code));
            return;
        }
        self.group = Membership::Consumer(next);
        // Every classic member is its own leader of nothing: no member list, no leader.
        let answer = JoinResult {
            error: ErrorCode::None,
            generation_id: joined.generation,
            protocol_type: Some("consumer".into()),
            protocol_name: Some(joined.protocol),
            leader: String::new(),
            skip_assignment: false,
            member_id,
            members: Vec::new(),
        };
        let failed = |code: ErrorCode, id: &str| JoinResult::error(id, code);
        let id = answer.member_id.clone();
        self.after_last_write(reply, answer, move |code| failed(code, &id));
        // A classic static member may have replaced the last consumer-protocol member.
        self.maybe_downgrade(now);
    }

    /// SyncGroup from a classic member of a consumer-protocol group.
    pub(super) fn classic_sync_consumer_group(
        &mut self,
        args: &SyncArgs,
        reply: oneshot::Sender<SyncResult>,
    ) {
        let (Membership::Consumer(group), Some(md)) = (&self.group, self.log.metadata()) else {
            let _ = reply.send(SyncResult::error(ErrorCode::CoordinatorNotAvailable));
            return;
        };
        if args
            .protocol_type
            .as_deref()
            .is_some_and(|t| t != "consumer")
        {
            let _ = reply.send(SyncResult::error(ErrorCode::InconsistentGroupProtocol));
            return;
        }
        let mut next = group.clone();
        let synced = next.classic_sync(
            &args.member_id,
            args.group_instance_id.as_deref(),
            (args.generation_id, args.protocol_name.as_deref()),
            &md,
            Instant::now(),
        );
        if synced.is_ok() {
            // Only the session moved: nothing to write.
            self.group = Membership::Consumer(next);
        }
        match synced {
            Ok(assignment) => {
                let answer = SyncResult {
                    error: ErrorCode::None,
                    protocol_type: Some("consumer".into()),
                    protocol_name: args.protocol_name.clone(),
                    assignment,
                };
                self.after_last_write(reply, answer, SyncResult::error);
            }
            Err(code) => {
                let _ = reply.send(SyncResult::error(code));
            }
        }
    }

    /// LeaveGroup of classic members of a consumer-protocol group: they are removed at once
    /// (one group epoch bump).
    pub(super) fn classic_leave_consumer_group(
        &mut self,
        members: &[MemberIdentity],
        reply: oneshot::Sender<(ErrorCode, Vec<ErrorCode>)>,
    ) {
        let (Membership::Consumer(group), Some(md)) = (&self.group, self.log.metadata()) else {
            let _ = reply.send((ErrorCode::CoordinatorNotAvailable, Vec::new()));
            return;
        };
        let mut errors = Vec::with_capacity(members.len());
        let mut leaving = Vec::new();
        for who in members {
            let found = match &who.group_instance_id {
                Some(instance) => match group.static_member(instance) {
                    Some(known) if who.member_id.is_empty() || who.member_id == known => Ok(known),
                    Some(_) => Err(ErrorCode::FencedInstanceId),
                    None => Err(ErrorCode::UnknownMemberId),
                },
                None => Ok(who.member_id.clone()),
            };
            // LeaveGroup is the classic protocol's: a consumer-protocol member leaves by its
            // own heartbeat (Kafka answers UNKNOWN_MEMBER_ID here).
            let found = found.and_then(|id| match group.members().get(&id) {
                Some(m) if m.classic.is_some() => Ok(id),
                _ => Err(ErrorCode::UnknownMemberId),
            });
            match found {
                Ok(id) => {
                    leaving.push(id);
                    errors.push(ErrorCode::None);
                }
                Err(e) => errors.push(e),
            }
        }
        let mut next = group.clone();
        let records = next.remove_members(&leaving, &md);
        if let Err((code, _)) = self.append_consumer(&records, &[]) {
            let _ = reply.send((code, Vec::new()));
            return;
        }
        self.group = Membership::Consumer(next);
        self.after_last_write(reply, (ErrorCode::None, errors), |code| (code, Vec::new()));
        self.maybe_downgrade(Instant::now());
    }

    /// Answers once the group's last write is durable, or with `failed` if it is not.
    fn after_last_write<T: Send + 'static>(
        &self,
        reply: oneshot::Sender<T>,
        answer: T,
        failed: impl FnOnce(ErrorCode) -> T + Send + 'static,
    ) {
        let last = match (&self.last_write, self.loaded_end) {
            (Some(last), _) => last.clone(),
            (None, Some(end)) if end > 0 => match self.log.waiter(end - 1) {
                Ok(w) => w,
                Err(e) => {
                    let _ = reply.send(failed(group_write_error(&e)));
                    return;
                }
            },
            (None, _) => {
                let _ = reply.send(answer);
                return;
            }
        };
        self.spawn_waiter(async move {
            let outcome = match last.durable().await {
                Ok(()) => answer,
                Err(e) => failed(group_write_error(&e)),
            };
            let _ = reply.send(outcome);
        });
    }
}
