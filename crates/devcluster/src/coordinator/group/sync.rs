//! SyncGroup (the leader's assignment, stored before it is handed out), Heartbeat,
//! LeaveGroup and the timers (session expiry, pending member ids, the join deadline).

use std::collections::HashMap;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info};

use super::*;

impl Group {
    // --- SyncGroup ------------------------------------------------------------------------

    /// Handles a SyncGroup; the answer goes to `reply`, now or once the assignment is stored.
    pub fn sync(
        &mut self,
        args: SyncArgs,
        reply: oneshot::Sender<SyncResult>,
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let error = if self.state == GroupState::Dead {
            Some(ErrorCode::CoordinatorNotAvailable)
        } else if self.is_static_member_fenced(&args.member_id, args.group_instance_id.as_deref()) {
            Some(ErrorCode::FencedInstanceId)
        } else if !self.members.contains_key(&args.member_id) {
            Some(ErrorCode::UnknownMemberId)
        } else if args.generation_id != self.generation_id {
            Some(ErrorCode::IllegalGeneration)
        } else if args
            .protocol_type
            .as_ref()
            .is_some_and(|t| self.protocol_type.as_ref() != Some(t))
            || args
                .protocol_name
                .as_ref()
                .is_some_and(|n| self.protocol_name.as_ref() != Some(n))
        {
            Some(ErrorCode::InconsistentGroupProtocol)
        } else {
            match self.state {
                GroupState::Empty | GroupState::Dead => Some(ErrorCode::UnknownMemberId),
                GroupState::PreparingRebalance => Some(ErrorCode::RebalanceInProgress),
                GroupState::Stable => {
                    let result = self.sync_result(&args.member_id, ErrorCode::None);
                    if let Some(m) = self.members.get_mut(&args.member_id) {
                        m.heartbeat(now);
                    }
                    send(Some(reply), result);
                    return effects;
                }
                GroupState::CompletingRebalance => {
                    self.park_sync(args, reply, &mut effects);
                    return effects;
                }
            }
        };
        if let Some(error) = error {
            send(Some(reply), SyncResult::error(error));
        }
        effects
    }

    pub(super) fn park_sync(
        &mut self,
        args: SyncArgs,
        reply: oneshot::Sender<SyncResult>,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(m) = self.members.get_mut(&args.member_id) {
            m.awaiting_sync = Some(reply);
        }
        let is_leader = self.leader_id.as_deref() == Some(args.member_id.as_str());
        if !is_leader || self.storing_assignment {
            return;
        }
        info!(group = %self.group_id, generation = self.generation_id, "assignment received from the leader");
        let given: HashMap<String, Bytes> = args.assignments.into_iter().collect();
        let assignment: HashMap<String, Bytes> = self
            .members
            .keys()
            .map(|id| (id.clone(), given.get(id).cloned().unwrap_or_default()))
            .collect();
        self.storing_assignment = true;
        effects.push(Effect::StoreAssignment {
            generation: self.generation_id,
            record: self.metadata_record(Some(&assignment)),
            assignment,
        });
    }

    pub(super) fn sync_result(&self, member_id: &str, error: ErrorCode) -> SyncResult {
        SyncResult {
            error,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    /// The leader's assignment for `generation` was written (or not): on success every
    /// member gets its assignment and the group is Stable; on failure the syncs fail and the
    /// group rebalances. Stale outcomes (another rebalance started) are ignored.
    pub fn assignment_stored(
        &mut self,
        generation: i32,
        assignment: HashMap<String, Bytes>,
        outcome: Result<(), ErrorCode>,
        now: Instant,
    ) -> Vec<Effect> {
        if self.state != GroupState::CompletingRebalance || generation != self.generation_id {
            return Vec::new();
        }
        self.storing_assignment = false;
        match outcome {
            Ok(()) => {
                for (id, m) in &mut self.members {
                    m.assignment = assignment.get(id).cloned().unwrap_or_default();
                }
                self.propagate_assignment(ErrorCode::None, now);
                self.transition(GroupState::Stable);
                info!(group = %self.group_id, generation, "group is stable");
            }
            Err(error) => {
                self.reset_and_propagate_assignment_error(error, now);
                self.maybe_prepare_rebalance(now, "storing the assignment failed");
            }
        }
        let mut effects = Vec::new();
        self.try_complete_join(now, &mut effects);
        effects
    }

    pub(super) fn reset_and_propagate_assignment_error(&mut self, error: ErrorCode, now: Instant) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
        }
        self.propagate_assignment(error, now);
    }

    pub(super) fn propagate_assignment(&mut self, error: ErrorCode, now: Instant) {
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.sync_result(&id, error);
            if let Some(m) = self.members.get_mut(&id) {
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(result);
                    // Its session restarts now: it may have run out while it was parked.
                    m.heartbeat(now);
                }
            }
        }
    }

    // --- Heartbeat, LeaveGroup ------------------------------------------------------------

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        now: Instant,
    ) -> ErrorCode {
        if self.state == GroupState::Dead {
            return ErrorCode::CoordinatorNotAvailable;
        }
        if self.is_static_member_fenced(member_id, group_instance_id) {
            return ErrorCode::FencedInstanceId;
        }
        let state = self.state;
        let generation = self.generation_id;
        let Some(m) = self.members.get_mut(member_id) else {
            return ErrorCode::UnknownMemberId;
        };
        if generation_id != generation {
            return ErrorCode::IllegalGeneration;
        }
        match state {
            GroupState::Empty | GroupState::Dead => ErrorCode::UnknownMemberId,
            GroupState::PreparingRebalance => {
                m.heartbeat(now);
                ErrorCode::RebalanceInProgress
            }
            // Clients may heartbeat between their JoinGroup and SyncGroup answers.
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.heartbeat(now);
                ErrorCode::None
            }
        }
    }

    /// Handles a LeaveGroup: a group-level error, or one error per member.
    pub fn leave(
        &mut self,
        leaving: &[MemberIdentity],
        now: Instant,
    ) -> (ErrorCode, Vec<ErrorCode>, Vec<Effect>) {
        let mut effects = Vec::new();
        if self.state == GroupState::Dead {
            return (ErrorCode::CoordinatorNotAvailable, Vec::new(), effects);
        }
        let mut errors = Vec::with_capacity(leaving.len());
        for who in leaving {
            let instance = who.group_instance_id.as_deref();
            let error = if !who.member_id.is_empty()
                && self.is_static_member_fenced(&who.member_id, instance)
            {
                ErrorCode::FencedInstanceId
            } else if self.pending_members.remove(&who.member_id).is_some() {
                self.try_complete_join(now, &mut effects);
                ErrorCode::None
            } else {
                let by_instance = instance.and_then(|i| self.static_members.get(i)).cloned();
                match by_instance.or_else(|| {
                    self.members
                        .contains_key(&who.member_id)
                        .then(|| who.member_id.clone())
                }) {
                    Some(id) => {
                        info!(group = %self.group_id, member = %id, "member left");
                        self.remove_member_and_update(&id, now, &mut effects);
                        ErrorCode::None
                    }
                    None => ErrorCode::UnknownMemberId,
                }
            };
            errors.push(error);
        }
        // A rebalance with nobody left to wait for completes now (the group becomes Empty).
        self.try_complete_join(now, &mut effects);
        (ErrorCode::None, errors, effects)
    }

    // --- Timers ---------------------------------------------------------------------------

    /// The next time [`Group::on_timer`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let members = self.members.values().filter_map(Member::expiry);
        let pending = self.pending_members.values().copied();
        members.chain(pending).chain(self.join_deadline).min()
    }

    /// Expires sessions, pending member ids and the join phase due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::new();
        let expired_pending: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired_pending {
            debug!(group = %self.group_id, member = %id, "pending member id expired");
            self.pending_members.remove(&id);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.alive(now))
            .map(|m| m.member_id.clone())
            .collect();
        for id in expired {
            info!(group = %self.group_id, member = %id, "session expired; removing the member");
            self.remove_member_and_update(&id, now, &mut effects);
        }
        if self.state == GroupState::PreparingRebalance
            && self.join_deadline.is_some_and(|d| d <= now)
        {
            match self.initial_delay {
                Some(delay) if self.new_member_added && !delay.remaining.is_zero() => {
                    // More members came during the delay: wait once more, within the
                    // rebalance timeout.
                    self.new_member_added = false;
                    let next = self.config.initial_rebalance_delay.min(delay.remaining);
                    self.initial_delay = Some(InitialDelay {
                        remaining: delay.remaining.saturating_sub(next),
                    });
                    self.join_deadline = Some(now + next);
                }
                _ => self.complete_join(now, &mut effects),
            }
        }
        self.try_complete_join(now, &mut effects);
        effects
    }
}
