//! JoinGroup and the join phase of a rebalance: member ids (KIP-394), static members
//! (KIP-345), protocol checks and selection, the initial delay (KIP-134), and the end of the
//! join phase that starts a generation.

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info};

use super::*;

impl Group {
    // --- JoinGroup ------------------------------------------------------------------------

    /// Handles a JoinGroup; the answer goes to `reply`, now or when the join phase completes.
    pub fn join(
        &mut self,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let session = duration_ms(args.session_timeout_ms);
        if args.session_timeout_ms < 0
            || session < self.config.min_session_timeout
            || session > self.config.max_session_timeout
        {
            send(
                Some(reply),
                JoinResult::error(&args.member_id, ErrorCode::InvalidSessionTimeout),
            );
        } else if self.state == GroupState::Dead {
            // Deleted or unloaded meanwhile: the member rediscovers the coordinator.
            send(
                Some(reply),
                JoinResult::error(&args.member_id, ErrorCode::CoordinatorNotAvailable),
            );
        } else if !self.supports_protocols(&args.member_id, &args.protocol_type, &args.protocols) {
            send(
                Some(reply),
                JoinResult::error(&args.member_id, ErrorCode::InconsistentGroupProtocol),
            );
        } else if args.member_id.is_empty() {
            self.join_unknown_member(args, reply, now);
        } else {
            self.join_known_member(args, reply, now);
        }
        self.try_complete_join(now, &mut effects);
        effects
    }

    pub(super) fn join_unknown_member(
        &mut self,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let prefix = args.group_instance_id.as_deref().unwrap_or(&args.client_id);
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let known_static = args
            .group_instance_id
            .as_ref()
            .and_then(|i| self.static_members.get(i))
            .cloned();
        if let Some(old_id) = known_static {
            self.replace_static_member(&old_id, new_id, args, reply, now);
        } else if args.require_known_member_id {
            // KIP-394: the member proves it is alive by rejoining with this id.
            let expiry = now + duration_ms(args.session_timeout_ms);
            self.pending_members.insert(new_id.clone(), expiry);
            send(
                Some(reply),
                JoinResult::error(&new_id, ErrorCode::MemberIdRequired),
            );
        } else {
            self.add_member_and_rebalance(new_id, args, reply, now);
        }
    }

    /// KIP-345: a static member rejoining without its member id replaces the old one, which
    /// is fenced from then on. A stable group does not rebalance for it unless the selected
    /// protocol would change.
    pub(super) fn replace_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let Some(mut member) = self.members.remove(old_id) else {
            send(
                Some(reply),
                JoinResult::error(&args.member_id, ErrorCode::UnknownMemberId),
            );
            return;
        };
        info!(group = %self.group_id, old = %old_id, new = %new_id, "static member rejoined with a new member id");
        send(
            member.awaiting_join.take(),
            JoinResult::error(old_id, ErrorCode::FencedInstanceId),
        );
        send(
            member.awaiting_sync.take(),
            SyncResult::error(ErrorCode::FencedInstanceId),
        );
        let previous_leader = self.leader_id.clone();
        if self.leader_id.as_deref() == Some(old_id) {
            self.leader_id = Some(new_id.clone());
        }
        if let Some(instance) = &args.group_instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        member.member_id = new_id.clone();
        member.client_id = args.client_id;
        member.client_host = args.client_host;
        member.session_timeout = duration_ms(args.session_timeout_ms);
        member.rebalance_timeout = duration_ms(args.rebalance_timeout_ms);
        member.heartbeat(now);
        member.protocols = args.protocols;
        self.members.insert(new_id.clone(), member);
        match self.state {
            GroupState::Stable => {
                if self.select_protocol() != self.protocol_name {
                    self.set_awaiting_join(&new_id, reply);
                    self.maybe_prepare_rebalance(now, "a static member changed its protocols");
                } else if self.leader_id.as_deref() == Some(new_id.as_str())
                    && args.supports_skip_assignment
                {
                    // KIP-814: the leader learns it leads but keeps the current assignment.
                    let mut result = self.join_result(&new_id, None, true);
                    result.skip_assignment = true;
                    send(Some(reply), result);
                } else {
                    // The old leader id is returned so a replaced leader does not compute an
                    // assignment that a stable group would never distribute.
                    let result = self.join_result(&new_id, previous_leader.as_deref(), false);
                    send(Some(reply), result);
                }
            }
            GroupState::CompletingRebalance | GroupState::PreparingRebalance => {
                self.set_awaiting_join(&new_id, reply);
                self.maybe_prepare_rebalance(now, "a static member rejoined");
            }
            GroupState::Empty | GroupState::Dead => {
                send(
                    Some(reply),
                    JoinResult::error("", ErrorCode::UnknownMemberId),
                );
            }
        }
    }

    pub(super) fn join_known_member(
        &mut self,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let member_id = args.member_id.clone();
        if self.pending_members.contains_key(&member_id) {
            self.add_member_and_rebalance(member_id, args, reply, now);
            return;
        }
        let instance = args.group_instance_id.as_deref();
        if self.is_static_member_fenced(&member_id, instance) {
            send(
                Some(reply),
                JoinResult::error(&member_id, ErrorCode::FencedInstanceId),
            );
            return;
        }
        let unknown_instance = instance.is_some_and(|i| !self.static_members.contains_key(i));
        if !self.members.contains_key(&member_id) || unknown_instance {
            send(
                Some(reply),
                JoinResult::error(&member_id, ErrorCode::UnknownMemberId),
            );
            return;
        }
        let is_leader = self.leader_id.as_deref() == Some(member_id.as_str());
        let matches = self
            .members
            .get(&member_id)
            .is_some_and(|m| m.matches(&args.protocols));
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(args, reply, now);
            }
            GroupState::CompletingRebalance if matches => {
                // It missed the JoinGroup answer: send it again.
                let result = self.join_result(&member_id, None, is_leader);
                send(Some(reply), result);
            }
            GroupState::Stable if !is_leader && matches => {
                let result = self.join_result(&member_id, None, false);
                send(Some(reply), result);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                // Changed metadata, or the leader asking for a new assignment (e.g. its topic
                // metadata changed): rebalance.
                self.update_member_and_rebalance(args, reply, now);
            }
            GroupState::Empty | GroupState::Dead => {
                send(
                    Some(reply),
                    JoinResult::error(&member_id, ErrorCode::UnknownMemberId),
                );
            }
        }
    }

    pub(super) fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if self.members.is_empty() {
            self.protocol_type = Some(args.protocol_type.clone());
        }
        if self.state == GroupState::PreparingRebalance && self.generation_id == 0 {
            self.new_member_added = true;
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member_id.clone());
        }
        match &args.group_instance_id {
            Some(instance) => {
                self.static_members
                    .insert(instance.clone(), member_id.clone());
            }
            None => {
                self.pending_members.remove(&member_id);
            }
        }
        debug!(group = %self.group_id, member = %member_id, "member joined");
        self.members.insert(
            member_id.clone(),
            Member {
                member_id,
                group_instance_id: args.group_instance_id,
                client_id: args.client_id,
                client_host: args.client_host,
                session_timeout: duration_ms(args.session_timeout_ms),
                rebalance_timeout: duration_ms(args.rebalance_timeout_ms),
                protocols: args.protocols,
                assignment: Bytes::new(),
                awaiting_join: Some(reply),
                awaiting_sync: None,
                heartbeat_deadline: now + NEW_MEMBER_JOIN_TIMEOUT,
                is_new: true,
            },
        );
        self.maybe_prepare_rebalance(now, "a member joined");
    }

    pub(super) fn set_awaiting_join(
        &mut self,
        member_id: &str,
        reply: oneshot::Sender<JoinResult>,
    ) {
        if let Some(m) = self.members.get_mut(member_id) {
            // A parked join from the same member is superseded; its requester gave up on it.
            m.awaiting_join = Some(reply);
        }
    }

    pub(super) fn update_member_and_rebalance(
        &mut self,
        args: JoinArgs,
        reply: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if let Some(m) = self.members.get_mut(&args.member_id) {
            m.protocols = args.protocols;
            m.session_timeout = duration_ms(args.session_timeout_ms);
            m.rebalance_timeout = duration_ms(args.rebalance_timeout_ms);
            m.client_id = args.client_id;
            m.client_host = args.client_host;
            m.awaiting_join = Some(reply);
        }
        self.maybe_prepare_rebalance(now, "a member rejoined");
    }

    pub(super) fn maybe_prepare_rebalance(&mut self, now: Instant, reason: &str) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(now, reason);
        }
    }

    pub(super) fn prepare_rebalance(&mut self, now: Instant, reason: &str) {
        if self.state == GroupState::CompletingRebalance {
            self.reset_and_propagate_assignment_error(ErrorCode::RebalanceInProgress, now);
        }
        self.storing_assignment = false;
        if self.state == GroupState::Empty {
            let delay = self.config.initial_rebalance_delay;
            self.initial_delay = Some(InitialDelay {
                remaining: self.rebalance_timeout().saturating_sub(delay),
            });
            self.join_deadline = Some(now + delay);
        } else {
            self.initial_delay = None;
            self.join_deadline = Some(now + self.rebalance_timeout());
        }
        info!(group = %self.group_id, generation = self.generation_id, reason, "preparing to rebalance");
        self.transition(GroupState::PreparingRebalance);
    }

    pub(super) fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub(super) fn try_complete_join(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if self.state == GroupState::PreparingRebalance
            && self.initial_delay.is_none()
            && self.has_all_members_joined()
        {
            self.complete_join(now, effects);
        }
    }

    /// Ends the join phase (Kafka's `onCompleteJoin`): dynamic members that did not rejoin
    /// are removed, the next generation starts and every parked join is answered.
    pub(super) fn complete_join(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let laggards: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in laggards {
            info!(group = %self.group_id, member = %id, "removing a member that did not rejoin in time");
            self.remove_member(&id);
        }
        if !self.members.is_empty() && !self.elect_joined_leader() {
            // Only absent static members are left: wait another rebalance timeout for them
            // (their sessions expire meanwhile if they are really gone).
            self.initial_delay = None;
            self.join_deadline = Some(now + self.rebalance_timeout());
            return;
        }
        self.join_deadline = None;
        self.initial_delay = None;
        self.new_member_added = false;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = None;
            self.transition(GroupState::Empty);
            info!(group = %self.group_id, generation = self.generation_id, "group is empty");
            effects.push(Effect::StoreGroup(self.metadata_record(None)));
            return;
        }
        self.protocol_name = self.select_protocol();
        self.subscribed_topics = self.compute_subscribed_topics();
        self.transition(GroupState::CompletingRebalance);
        info!(group = %self.group_id, generation = self.generation_id, members = self.members.len(), protocol = ?self.protocol_name, "join phase complete");
        let leader = self.leader_id.clone();
        let all = self.current_member_metadata();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let is_leader = leader.as_deref() == Some(id.as_str());
            let mut result = self.join_result(&id, None, false);
            if is_leader {
                result.members = all.clone();
            }
            if let Some(m) = self.members.get_mut(&id) {
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(result);
                    m.heartbeat(now);
                    m.is_new = false;
                }
            }
        }
    }

    /// Kafka's `maybeElectNewJoinedLeader`: a leader that did not rejoin is replaced by one
    /// that did. False when nobody rejoined.
    pub(super) fn elect_joined_leader(&mut self) -> bool {
        let leader_joined = self
            .leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.awaiting_join.is_some());
        if leader_joined {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(m) => {
                self.leader_id = Some(m.member_id.clone());
                true
            }
            None => false,
        }
    }

    pub(super) fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let mut m = self.members.remove(member_id)?;
        if let Some(instance) = &m.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        // Parked requests of a removed member learn it is gone; the client rejoins.
        send(
            m.awaiting_join.take(),
            JoinResult::error("", ErrorCode::UnknownMemberId),
        );
        send(
            m.awaiting_sync.take(),
            SyncResult::error(ErrorCode::UnknownMemberId),
        );
        Some(m)
    }

    /// Removes a member (leave, expiry) and moves the group on (Kafka's
    /// `removeMemberAndUpdateGroup`).
    pub(super) fn remove_member_and_update(
        &mut self,
        member_id: &str,
        now: Instant,
        effects: &mut Vec<Effect>,
    ) {
        if self.remove_member(member_id).is_none() {
            return;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(now, "a member left");
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, effects),
            GroupState::Empty | GroupState::Dead => {}
        }
    }
}
