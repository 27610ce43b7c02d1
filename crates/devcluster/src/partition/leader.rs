//! The leader's side of a partition: appends, followers' progress, the ISR, the high
//! watermark, and the waits that acknowledgements make on them (see the module docs of
//! `partition.rs` for why each acknowledgement is true).

use bytes::{Bytes, BytesMut};
use streamctl_protocol::record_batch::{EndTxnMarker, RecordBatch};
use streamctl_protocol::ErrorCode;
use tokio::time::Instant;

use super::batches::{set_log_append_time, validate_batches};
use super::producer_state::{SequenceCheck, Verification};
use super::{
    become_follower, not_leader, now_ms, storage_error, AppendInfo, FollowerState, Partition,
    Progress, Role, State,
};
use crate::config::TopicConfig;
use crate::controller::{AlterPartition, IsrCommitter, PartitionMeta};
use crate::error::ApiError;

/// One partition of a follower's fetch, as the leader records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerFetchRequest {
    /// The follower's node id.
    pub follower: i32,
    /// The incarnation that sent the fetch (its broker epoch, KIP-903).
    pub broker_epoch: u64,
    /// The leader epoch the follower fetches under (-1: unchecked).
    pub leader_epoch: i32,
    /// Where it fetches from: it holds everything below.
    pub fetch_offset: i64,
    /// Where its log starts.
    pub log_start_offset: i64,
}

/// What a follower's fetch changed on the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowerFetch {
    /// The high watermark moved forward.
    pub high_watermark_advanced: bool,
    /// The follower was added to the ISR.
    pub isr_expanded: bool,
}

impl State {
    /// HW = the smallest log end offset over the ISR (the leader's included). It only moves
    /// forward.
    pub(super) fn advance_high_watermark(&mut self, me: i32) -> bool {
        let leo = self.log.log_end_offset();
        let candidate = self
            .isr
            .iter()
            .filter(|r| **r != me)
            .map(|r| self.followers.get(r).map_or(-1, |f| f.log_end_offset))
            .fold(leo, i64::min);
        if candidate > self.high_watermark {
            self.set_high_watermark(candidate);
            true
        } else {
            false
        }
    }
}

impl Partition {
    /// Validates the batches of a produce request, assigns offsets and appends them.
    /// `min_isr` is `min.insync.replicas` for acks=all (0 otherwise): with fewer ISR members
    /// the request is refused before anything is written (NOT_ENOUGH_REPLICAS), checked
    /// against this partition's own ISR under its lock.
    pub fn append_as_leader(
        &self,
        records: &Bytes,
        config: &TopicConfig,
        min_isr: usize,
    ) -> Result<AppendInfo, ApiError> {
        self.append_verified(records, config, min_isr, None)
    }

    /// Starts a KIP-890 verification of `producer_id` at `epoch` before its transactional
    /// batch: the guard to pass to [`Partition::append_verified`] once its coordinator
    /// confirmed (or, with `epoch_bump`, transactions v2, made) the partition part of the
    /// transaction. `None`: its transaction is open here already. An epoch older than one
    /// being verified is INVALID_PRODUCER_EPOCH.
    pub fn start_verification(
        &self,
        producer_id: i64,
        epoch: i16,
        epoch_bump: bool,
    ) -> Result<Option<u64>, ApiError> {
        self.lock()
            .producers
            .start_verification(producer_id, epoch, epoch_bump)
    }

    /// [`Partition::append_as_leader`] for a transactional produce request: a batch that
    /// opens the producer's transaction here needs `verification` to hold the producer's
    /// current guard (INVALID_TXN_STATE otherwise). `None` skips verification.
    pub fn append_verified(
        &self,
        records: &Bytes,
        config: &TopicConfig,
        min_isr: usize,
        verification: Option<Verification>,
    ) -> Result<AppendInfo, ApiError> {
        let batches = validate_batches(records, config)?;
        let log_append_time = if config.log_append_time() {
            now_ms()
        } else {
            -1
        };
        let mut state = self.lock();
        self.check_appendable(&state, min_isr)?;
        let leader_epoch = state.leader_epoch;
        // Idempotence: a retried batch that was already written is answered from memory.
        let mut duplicate = None;
        for batch in &batches {
            match state.producers.check(batch, verification)? {
                SequenceCheck::Duplicate(offset) => {
                    duplicate = Some((offset, batch.last_offset_delta()))
                }
                SequenceCheck::Append if duplicate.is_some() => {
                    return Err(ApiError::new(
                        ErrorCode::OutOfOrderSequenceNumber,
                        "a request mixes duplicate and new batches",
                    ))
                }
                SequenceCheck::Append => {}
            }
        }
        if let Some((offset, last_delta)) = duplicate {
            return Ok(AppendInfo {
                base_offset: offset,
                last_offset: offset + i64::from(last_delta),
                log_append_time: -1,
                log_start_offset: state.log.log_start_offset(),
                leader_epoch,
            });
        }
        self.write(&mut state, &batches, log_append_time)
    }

    /// Appends a coordinator's own records (Kafka's `AppendOrigin.COORDINATOR`): a group's
    /// offsets written inside a transaction carry the producer's id and epoch with sequence 0
    /// every time, so no sequence check applies; they still end or join the producer's
    /// transaction on this partition like any transactional batch. Refused
    /// (NOT_LEADER_OR_FOLLOWER) unless this replica still leads at `leader_epoch`, the epoch
    /// the coordinator loaded its state under (Kafka checks the coordinator epoch under its
    /// state lock for the same reason): a write decided under an older leadership must not
    /// land after a newer load read the log.
    pub fn append_as_coordinator(
        &self,
        batch: &Bytes,
        min_isr: usize,
        leader_epoch: i32,
    ) -> Result<AppendInfo, ApiError> {
        let batches = validate_batches(batch, &TopicConfig::default())?;
        let mut state = self.lock();
        self.check_appendable(&state, min_isr)?;
        if state.leader_epoch != leader_epoch {
            return Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "{}-{} is at leader epoch {}, the write was decided at {leader_epoch}",
                    self.topic, self.partition, state.leader_epoch
                ),
            ));
        }
        for batch in &batches {
            state.producers.check_coordinator_batch(batch)?;
        }
        self.write(&mut state, &batches, -1)
    }

    /// Writes a transaction marker for `producer_id` (WriteTxnMarkers): a control batch
    /// stamped with the leader's clock, after Kafka's epoch checks (see
    /// `ProducerStates::check_marker`). `min_isr` as for [`Partition::append_as_leader`].
    pub fn append_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        marker: &EndTxnMarker,
        min_isr: usize,
    ) -> Result<AppendInfo, ApiError> {
        let bytes = marker
            .batch(producer_id, producer_epoch, now_ms())
            .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        let batch = RecordBatch::from_bytes(bytes)
            .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        let mut state = self.lock();
        self.check_appendable(&state, min_isr)?;
        state
            .producers
            .check_marker(producer_id, producer_epoch, marker)?;
        self.write(&mut state, &[batch], -1)
    }

    /// This replica leads and has `min_isr` in-sync replicas (NOT_ENOUGH_REPLICAS otherwise,
    /// before anything is written).
    fn check_appendable(&self, state: &State, min_isr: usize) -> Result<(), ApiError> {
        if !state.is_leader() {
            return Err(not_leader(self, state.role));
        }
        if state.isr.len() < min_isr {
            return Err(ApiError::new(
                ErrorCode::NotEnoughReplicas,
                format!(
                    "{}-{} has {} in-sync replicas, min.insync.replicas is {min_isr}",
                    self.topic,
                    self.partition,
                    state.isr.len()
                ),
            ));
        }
        Ok(())
    }

    /// Assigns offsets from the log end, stamps the leader epoch (and LogAppendTime when
    /// `log_append_time` >= 0), appends, and learns what was written.
    fn write(
        &self,
        state: &mut State,
        batches: &[RecordBatch],
        log_append_time: i64,
    ) -> Result<AppendInfo, ApiError> {
        let leader_epoch = state.leader_epoch;
        let base_offset = state.log.log_end_offset();
        let mut next = base_offset;
        let mut out = BytesMut::with_capacity(batches.iter().map(RecordBatch::size).sum());
        for batch in batches {
            let start = out.len();
            out.extend_from_slice(batch.as_bytes());
            let count = i64::from(batch.last_offset_delta()) + 1;
            if let Some(raw) = out.get_mut(start..) {
                streamctl_protocol::record_batch::rewrite_base_offset(raw, next)
                    .and_then(|()| {
                        streamctl_protocol::record_batch::rewrite_partition_leader_epoch(
                            raw,
                            leader_epoch,
                        )
                    })
                    .map_err(|e| ApiError::new(ErrorCode::CorruptMessage, e.to_string()))?;
                if log_append_time >= 0 {
                    set_log_append_time(raw, log_append_time)?;
                }
            }
            next += count;
        }
        state.log.append(&out).map_err(storage_error)?;
        state.learn_from_batches(&out.freeze())?;
        state.advance_high_watermark(self.node_id);
        self.publish(state);
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time,
            log_start_offset: state.log.log_start_offset(),
            leader_epoch,
        })
    }

    /// Leader: records a follower's fetch (it holds everything below its fetch offset);
    /// adds the follower to the ISR through `controller` once it has caught up.
    ///
    /// A fetch from an older incarnation than one already seen is refused
    /// (STALE_BROKER_EPOCH): it cannot speak for the restarted broker. A newer incarnation
    /// starts from nothing: what the old one held proves nothing about the new one.
    pub fn record_follower_fetch(
        &self,
        follower: &FollowerFetchRequest,
        controller: &dyn IsrCommitter,
    ) -> Result<FollowerFetch, ApiError> {
        let FollowerFetchRequest {
            follower,
            broker_epoch,
            leader_epoch,
            fetch_offset,
            log_start_offset,
        } = *follower;
        let mut s = self.lock();
        if !s.is_leader() {
            return Err(not_leader(self, s.role));
        }
        // Checked again under the lock: the handler's check used a metadata snapshot.
        super::check_leader_epoch(leader_epoch, s.leader_epoch)?;
        let now = now_ms();
        let leo = s.log.log_end_offset();
        if fetch_offset > leo {
            // Progress is credited only for offsets this log has: a fetch from beyond the end
            // proves nothing (the follower then truncates to our high watermark).
            return Err(ApiError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "{}-{}: fetch offset {fetch_offset} is beyond the log end {leo}",
                    self.topic, self.partition
                ),
            ));
        }
        let Some(f) = s.followers.get_mut(&follower) else {
            return Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "broker {follower} is not a replica of {}-{}",
                    self.topic, self.partition
                ),
            ));
        };
        if broker_epoch < f.broker_epoch {
            return Err(ApiError::new(
                ErrorCode::StaleBrokerEpoch,
                format!(
                    "broker {follower} epoch {broker_epoch} is older than {} already seen",
                    f.broker_epoch
                ),
            ));
        }
        if broker_epoch > f.broker_epoch {
            *f = FollowerState {
                last_caught_up_ms: f.last_caught_up_ms,
                ..FollowerState::new(broker_epoch, now)
            };
        }
        f.log_end_offset = fetch_offset;
        f.log_start_offset = log_start_offset;
        // Kafka's rule: caught up now if at the leader's end; caught up as of the previous
        // fetch if it reached where the leader's end was then.
        if fetch_offset >= leo {
            f.last_caught_up_ms = now;
        } else if f.last_fetch_leader_leo >= 0 && fetch_offset >= f.last_fetch_leader_leo {
            f.last_caught_up_ms = f.last_caught_up_ms.max(f.last_fetch_ms);
        }
        f.last_fetch_leader_leo = leo;
        f.last_fetch_ms = now;
        let follower_leo = f.log_end_offset;
        let follower_start = f.log_start_offset;
        let mut outcome = FollowerFetch {
            high_watermark_advanced: s.advance_high_watermark(self.node_id),
            isr_expanded: false,
        };
        // KIP-841's eligibility: the follower holds everything committed, everything of this
        // leader's epoch so far, and does not hold records the leader has deleted.
        let caught_up = follower_leo >= s.high_watermark
            && follower_leo >= s.epoch_start_offset
            && follower_start >= s.log.log_start_offset();
        if caught_up && !s.isr.contains(&follower) {
            let mut isr = s.isr.clone();
            isr.push(follower);
            tracing::info!(
                broker = self.node_id,
                topic = %self.topic,
                partition = self.partition,
                follower,
                "follower caught up; expanding ISR"
            );
            match self.alter_isr(&mut s, controller, isr, vec![(follower, broker_epoch)]) {
                Ok(()) => outcome.isr_expanded = true,
                Err(e) => {
                    tracing::debug!(broker = self.node_id, topic = %self.topic, partition = self.partition, error = %e, "ISR expansion refused")
                }
            }
        }
        self.publish(&s);
        Ok(outcome)
    }

    /// Leader: drops from the ISR the followers that have not caught up for `lag_ms`.
    /// Returns who was dropped, if anyone.
    pub fn shrink_isr(
        &self,
        controller: &dyn IsrCommitter,
        lag_ms: i64,
    ) -> Result<Option<Vec<i32>>, ApiError> {
        let mut s = self.lock();
        if !s.is_leader() {
            return Ok(None);
        }
        let now = now_ms();
        let lagging: Vec<i32> = s
            .isr
            .iter()
            .filter(|r| **r != self.node_id)
            .filter(|r| {
                s.followers
                    .get(r)
                    .is_some_and(|f| now - f.last_caught_up_ms > lag_ms)
            })
            .copied()
            .collect();
        if lagging.is_empty() {
            return Ok(None);
        }
        let isr = s
            .isr
            .iter()
            .filter(|r| !lagging.contains(r))
            .copied()
            .collect();
        self.alter_isr(&mut s, controller, isr, Vec::new())?;
        self.publish(&s);
        Ok(Some(lagging))
    }

    /// Proposes `isr` to the controller from the state it was built on (leader and partition
    /// epochs) and installs what it committed. The partition lock is held throughout, so no
    /// high watermark is computed from a half-changed ISR; the controller never calls back
    /// into a partition, so the lock order (partition, then controller) cannot deadlock.
    fn alter_isr(
        &self,
        s: &mut State,
        controller: &dyn IsrCommitter,
        isr: Vec<i32>,
        added: Vec<(i32, u64)>,
    ) -> Result<(), ApiError> {
        let committed = controller.alter_partition(AlterPartition {
            topic: &self.topic,
            partition: self.partition,
            leader: self.node_id,
            leader_epoch: s.leader_epoch,
            partition_epoch: s.partition_epoch,
            isr,
            added,
        })?;
        self.install_committed(s, &committed);
        Ok(())
    }

    /// Installs a partition state the controller just committed. It may hand leadership to
    /// the preferred replica: this replica then follows at once, rather than keep leading at
    /// an epoch the cluster has moved past.
    fn install_committed(&self, s: &mut State, committed: &PartitionMeta) {
        if committed.leader == self.node_id && committed.leader_epoch == s.leader_epoch {
            s.isr.clone_from(&committed.isr);
            s.partition_epoch = committed.partition_epoch;
            s.advance_high_watermark(self.node_id);
        } else if committed.leader >= 0 {
            become_follower(s, committed.leader_epoch, committed.leader);
        }
    }

    /// Waits until the high watermark passes `offset` (acks=all) while this replica still
    /// leads at `epoch`, until `deadline`. The write is then on every ISR member; with fewer
    /// than `min_isr` of them it answers NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka does. A
    /// high watermark seen under another epoch proves nothing about this append (the log may
    /// have been truncated and refilled since), so leadership changes answer
    /// NOT_LEADER_OR_FOLLOWER.
    pub async fn wait_for_commit(
        &self,
        offset: i64,
        epoch: i32,
        min_isr: usize,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let p = self
            .wait_for(
                epoch,
                deadline,
                |p| p.high_watermark > offset,
                |_| format!("the in-sync replicas did not acknowledge offset {offset} in time"),
            )
            .await?;
        if p.isr_size < min_isr {
            return Err(ApiError::new(
                ErrorCode::NotEnoughReplicasAfterAppend,
                format!(
                    "{}-{}: offset {offset} was written but the ISR has {} members, min.insync.replicas is {min_isr}",
                    self.topic, self.partition, p.isr_size
                ),
            ));
        }
        Ok(())
    }

    /// Waits until every ISR member's log starts at or after `offset` (DeleteRecords), while
    /// this replica leads at `epoch`. Returns the low watermark reached.
    pub async fn wait_for_low_watermark(
        &self,
        offset: i64,
        epoch: i32,
        deadline: Instant,
    ) -> Result<i64, ApiError> {
        self.wait_for(
            epoch,
            deadline,
            |p| p.low_watermark >= offset,
            |p| {
                format!(
                    "the in-sync replicas did not delete up to {offset} in time (low watermark {})",
                    p.low_watermark
                )
            },
        )
        .await
        .map(|p| p.low_watermark)
    }

    /// Waits until `done` holds while this replica leads at `epoch`, or answers
    /// NOT_LEADER_OR_FOLLOWER once it does not, REQUEST_TIMED_OUT at `deadline`.
    async fn wait_for(
        &self,
        epoch: i32,
        deadline: Instant,
        done: impl Fn(&Progress) -> bool,
        timed_out: impl Fn(&Progress) -> String,
    ) -> Result<Progress, ApiError> {
        let mut rx = self.progress.subscribe();
        let waited = tokio::time::timeout_at(
            deadline,
            rx.wait_for(|p| done(p) || !p.is_leader || p.leader_epoch != epoch),
        )
        .await;
        match waited {
            Err(_) => {
                let last = *self.progress.borrow();
                Err(ApiError::new(
                    ErrorCode::RequestTimedOut,
                    format!("{}-{}: {}", self.topic, self.partition, timed_out(&last)),
                ))
            }
            Ok(Err(_)) => Err(not_leader(self, Role::Unassigned)),
            Ok(Ok(p)) if p.is_leader && p.leader_epoch == epoch => Ok(*p),
            Ok(Ok(_)) => Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "{}-{}: leadership moved while waiting",
                    self.topic, self.partition
                ),
            )),
        }
    }

    /// DeleteRecords on the leader: moves the log start offset to `offset` (-1 = the high
    /// watermark). Returns the new log start and the leader epoch it happened under.
    /// Followers follow from their next fetch; see
    /// [`wait_for_low_watermark`](Self::wait_for_low_watermark).
    pub fn delete_records_before(&self, offset: i64) -> Result<(i64, i32), ApiError> {
        let mut s = self.lock();
        if !s.is_leader() {
            return Err(not_leader(self, s.role));
        }
        let target = if offset == -1 {
            s.high_watermark
        } else {
            offset
        };
        if target < s.log.log_start_offset() || target > s.high_watermark {
            return Err(ApiError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "offset {target} is outside [{}, {}]",
                    s.log.log_start_offset(),
                    s.high_watermark
                ),
            ));
        }
        let start = s.log.delete_records_before(target).map_err(storage_error)?;
        s.producers.forget_below(start);
        self.publish(&s);
        Ok((start, s.leader_epoch))
    }
}
