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
use crate::coordinator::consumer::{ConsumerGroup, HeartbeatAnswer, HeartbeatArgs, Refusal};
use crate::coordinator::group::{Effect, Group, GroupState};
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
        // Records that go before the group's own: the classic group's tombstone when an
        // empty classic group becomes a consumer-protocol group.
        let mut before = Vec::new();
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
                if g.state() != GroupState::Empty {
                    let _ = reply.send(not_found(&format!(
                        "Group {} is a classic group with members; upgrading it online is not supported yet.",
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
                ConsumerGroup::new(&self.group_id)
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
                self.group = Membership::Consumer(next);
                self.reply_after_last_write(reply, answer);
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
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

    /// Answers once the group's last write is durable.
    fn reply_after_last_write(
        &self,
        reply: oneshot::Sender<Result<HeartbeatAnswer, Refusal>>,
        answer: HeartbeatAnswer,
    ) {
        let last = match (&self.last_write, self.loaded_end) {
            (Some(last), _) => last.clone(),
            (None, Some(end)) if end > 0 => match self.log.waiter(end - 1) {
                Ok(w) => w,
                Err(e) => {
                    let _ = reply.send(Err((group_write_error(&e), e.message.clone())));
                    return;
                }
            },
            (None, _) => {
                let _ = reply.send(Ok(answer));
                return;
            }
        };
        self.spawn_waiter(async move {
            let outcome = match last.durable().await {
                Ok(()) => Ok(answer),
                Err(e) => Err((group_write_error(&e), e.message.clone())),
            };
            let _ = reply.send(outcome);
        });
    }
}
