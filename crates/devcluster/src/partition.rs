//! A partition replica hosted on one broker: its log, its role (leader or follower), the
//! high watermark, and the produce-side checks.
//!
//! ```text
//!  leader:   ProduceRequest ─▶ validate (magic, CRC-32C, count, size) ─▶ assign offsets
//!            ─▶ Log::append ─▶ followers fetch (replica_id) ─▶ HW = min LEO over the ISR
//!            ─▶ watch(HW) wakes acks=all producers and long-polling consumers
//!  follower: fetch loop (replication.rs) ─▶ append_as_follower ─▶ HW = min(leader HW, LEO)
//! ```
//!
//! The broker never decodes records here: a batch is checked by its header and CRC and
//! stored as received (DESIGN decision 2). The state lock is held only for bookkeeping and
//! the page-cache write, never across an `.await`. A leader-epoch cache (epoch → first
//! offset) answers OffsetForLeaderEpoch, which followers use to truncate a divergent tail
//! after a leader change (KIP-101).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use streamctl_protocol::record_batch::{RecordBatch, RecordBatches};
use streamctl_protocol::ErrorCode;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::TopicConfig;
use crate::controller::ApiError;
use crate::log::{Log, LogConfig, LogError, Storage};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the log settings of a topic config.
pub fn log_config(config: &TopicConfig) -> LogConfig {
    // A compacted-only topic (`__consumer_offsets`) keeps every segment: compaction is not
    // implemented, and deleting old segments by time or size would lose the latest value of
    // keys written long ago (a group's committed offsets).
    let deletes = config
        .get("cleanup.policy")
        .is_none_or(|p| p.split(',').any(|w| w.trim() == "delete"));
    LogConfig {
        segment_bytes: config.segment_bytes(),
        segment_ms: config.segment_ms(),
        retention_ms: config.retention_ms().filter(|_| deletes),
        retention_bytes: config.retention_bytes().filter(|_| deletes),
        flush_messages: config.flush_messages(),
        flush_ms: config.flush_ms(),
        ..LogConfig::default()
    }
}

/// What an append did, for the Produce response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// Broker time stamped on the batches, or -1 under CreateTime.
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
    /// The leader epoch the batches were written under.
    pub leader_epoch: i32,
}

/// What a read returned, for the Fetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadInfo {
    /// Whole record batches.
    pub records: Bytes,
    /// High watermark at the time of the read.
    pub high_watermark: i64,
    /// Log start offset at the time of the read.
    pub log_start_offset: i64,
    /// Log end offset at the time of the read.
    pub log_end_offset: i64,
}

/// Who may read up to where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Consumers see only committed data (below the high watermark).
    Consumer,
    /// Followers replicate everything the leader has.
    Replica,
}

/// This replica's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not yet told (just opened).
    Unassigned,
    /// Accepts produce requests and serves fetches.
    Leader,
    /// Copies the leader's log.
    Follower {
        /// The leader's node id.
        leader: i32,
    },
}

/// What waiters watch: the high watermark and whether this replica still leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The high watermark.
    pub high_watermark: i64,
    /// The leader epoch of the current role.
    pub leader_epoch: i32,
    /// Whether this replica is the leader.
    pub is_leader: bool,
}

/// A leader's view of one follower.
#[derive(Debug, Clone, Copy)]
struct FollowerState {
    /// The follower's log end offset (its last fetch offset); -1 until it fetches.
    log_end_offset: i64,
    /// Last time the follower was caught up (Kafka's lastCaughtUpTimeMs).
    last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch, and that fetch's time.
    last_fetch_leader_leo: i64,
    last_fetch_ms: i64,
}

/// What a follower's fetch changed on the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowerFetch {
    /// The high watermark moved forward.
    pub high_watermark_advanced: bool,
    /// The follower is out of the ISR but has caught up: it should be added back.
    pub expand_isr: bool,
}

#[derive(Debug)]
struct State {
    log: Log,
    high_watermark: i64,
    role: Role,
    leader_epoch: i32,
    /// Leader only: every other replica's progress.
    followers: HashMap<i32, FollowerState>,
    /// (epoch, first offset written under it), ascending.
    epochs: Vec<(i32, i64)>,
    /// Follower only: must reconcile its log with the new leader before fetching.
    needs_truncation: bool,
    /// Idempotent producers' recent batches, for sequence checks and duplicate detection.
    producers: HashMap<i64, ProducerEntry>,
    /// Leader only: followers this leader asked to add to the ISR, counted in the high
    /// watermark from that moment (Kafka's "maximal ISR", KIP-497). Otherwise a request
    /// still holding the ISR from before the expansion could advance the high watermark past
    /// the new member's log, and if that member is then elected (it may be the preferred
    /// leader) the records it lacks were acknowledged and are lost.
    proposed_isr: Vec<i32>,
}

/// How many recent batches per producer are remembered for duplicate detection (Kafka keeps
/// five, matching `max.in.flight.requests.per.connection` with idempotence).
const PRODUCER_BATCHES_KEPT: usize = 5;

/// An idempotent producer's state on one partition.
#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    epoch: i16,
    /// (first sequence, last sequence, base offset) of the latest batches, oldest first.
    recent: std::collections::VecDeque<(i32, i32, i64)>,
}

/// The sequence check's verdict for one batch.
enum SequenceCheck {
    /// Not idempotent, or the next expected sequence.
    Append,
    /// Already written at this base offset: answer success without writing again.
    Duplicate(i64),
}

impl ProducerEntry {
    fn record(&mut self, epoch: i16, first: i32, last: i32, base_offset: i64) {
        if epoch != self.epoch {
            self.recent.clear();
            self.epoch = epoch;
        }
        self.recent.push_back((first, last, base_offset));
        while self.recent.len() > PRODUCER_BATCHES_KEPT {
            self.recent.pop_front();
        }
    }
}

impl State {
    fn progress(&self) -> Progress {
        Progress {
            high_watermark: self.high_watermark,
            leader_epoch: self.leader_epoch,
            is_leader: self.role == Role::Leader,
        }
    }

    /// Records the leader epochs and idempotent producers' sequences of batches appended at
    /// the end of the log (by a follower, or when rebuilding state at open), so a follower
    /// that becomes leader detects duplicates like the old leader would have.
    fn learn_from_batches(&mut self, batches: &Bytes) {
        for batch in RecordBatches::new(batches.clone()).flatten() {
            let epoch = batch.partition_leader_epoch();
            if epoch >= 0 && self.epochs.last().is_none_or(|(e, _)| *e < epoch) {
                self.epochs.push((epoch, batch.base_offset()));
            }
            if batch.producer_id() >= 0 && batch.base_sequence() >= 0 {
                self.producers
                    .entry(batch.producer_id())
                    .or_default()
                    .record(
                        batch.producer_epoch(),
                        batch.base_sequence(),
                        batch.last_sequence(),
                        batch.base_offset(),
                    );
            }
        }
    }

    /// Forgets what a truncation removed: epochs starting at or after `offset`, and producer
    /// batches written there (a retry of them must be appended again).
    fn forget_from(&mut self, offset: i64) {
        self.epochs.retain(|(_, start)| *start < offset);
        for entry in self.producers.values_mut() {
            entry.recent.retain(|(_, _, base)| *base < offset);
        }
        let leo = self.log.log_end_offset();
        self.high_watermark = self.high_watermark.min(leo);
    }

    /// Kafka's idempotent-producer rules for one batch (KIP-98): a newer producer epoch must
    /// start at sequence 0, an older one is fenced, a batch equal to one of the last five is a
    /// duplicate (answered with its original offset), anything else must be the next sequence.
    fn check_sequence(&self, batch: &RecordBatch) -> Result<SequenceCheck, ApiError> {
        let (pid, epoch, first) = (
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        );
        if pid < 0 || first < 0 {
            return Ok(SequenceCheck::Append);
        }
        let out_of_order = |expected: i32| {
            ApiError::new(
                ErrorCode::OutOfOrderSequenceNumber,
                format!("producer {pid}: sequence {first} where {expected} was expected"),
            )
        };
        let Some(entry) = self.producers.get(&pid) else {
            return if first == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(out_of_order(0))
            };
        };
        if epoch < entry.epoch {
            return Err(ApiError::new(
                ErrorCode::InvalidProducerEpoch,
                format!(
                    "producer {pid}: epoch {epoch} is older than {}",
                    entry.epoch
                ),
            ));
        }
        if epoch > entry.epoch {
            return if first == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(out_of_order(0))
            };
        }
        let last = batch.last_sequence();
        if let Some((_, _, offset)) = entry
            .recent
            .iter()
            .find(|(f, l, _)| *f == first && *l == last)
        {
            return Ok(SequenceCheck::Duplicate(*offset));
        }
        let expected = entry
            .recent
            .back()
            .map_or(0, |(_, l, _)| if *l == i32::MAX { 0 } else { l + 1 });
        if first == expected {
            Ok(SequenceCheck::Append)
        } else {
            Err(out_of_order(expected))
        }
    }

    /// HW = the smallest log end offset in the ISR (the leader's included).
    fn advance_high_watermark(&mut self, me: i32, isr: &[i32]) -> bool {
        let leo = self.log.log_end_offset();
        let candidate = isr
            .iter()
            .chain(self.proposed_isr.iter().filter(|r| !isr.contains(r)))
            .filter(|r| **r != me)
            .map(|r| self.followers.get(r).map_or(-1, |f| f.log_end_offset))
            .fold(leo, i64::min);
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            true
        } else {
            false
        }
    }
}

/// A partition replica on this broker.
#[derive(Debug)]
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Topic id (a re-created topic of the same name is a different partition).
    pub topic_id: uuid::Uuid,
    /// Partition index.
    pub partition: i32,
    /// This broker's node id.
    node_id: i32,
    state: Mutex<State>,
    progress: watch::Sender<Progress>,
}

/// Upper bound on a batch's decompressed size when the broker must look inside it.
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

fn storage_error(e: LogError) -> ApiError {
    ApiError::new(e.error_code(), e.to_string())
}

fn not_leader(p: &Partition, role: Role) -> ApiError {
    let who = match role {
        Role::Follower { leader } => format!("leader is {leader}"),
        _ => "no leader known here".to_string(),
    };
    ApiError::new(
        ErrorCode::NotLeaderOrFollower,
        format!(
            "broker {} is not the leader of {}-{} ({who})",
            p.node_id, p.topic, p.partition
        ),
    )
}

impl Partition {
    /// Opens (or creates and recovers) the replica's log.
    pub fn open(
        topic: &str,
        topic_id: uuid::Uuid,
        partition: i32,
        node_id: i32,
        storage: Storage,
        config: &TopicConfig,
    ) -> Result<Self, ApiError> {
        let log = Log::open(storage, log_config(config)).map_err(storage_error)?;
        let mut state = State {
            high_watermark: log.log_start_offset(),
            log,
            role: Role::Unassigned,
            leader_epoch: -1,
            followers: HashMap::new(),
            epochs: Vec::new(),
            needs_truncation: false,
            producers: HashMap::new(),
            proposed_isr: Vec::new(),
        };
        rebuild_epochs(&mut state)?;
        let (progress, _) = watch::channel(state.progress());
        Ok(Self {
            topic: topic.to_string(),
            topic_id,
            partition,
            node_id,
            state: Mutex::new(state),
            progress,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, state: &State) {
        self.progress.send_if_modified(|p| {
            let new = state.progress();
            let changed = *p != new;
            *p = new;
            changed
        });
    }

    /// The current role and leader epoch.
    pub fn role(&self) -> (Role, i32) {
        let s = self.lock();
        (s.role, s.leader_epoch)
    }

    /// Becomes (or stays) the leader at `epoch`. Followers start as caught up now, so a
    /// new leader does not drop them from the ISR before they had a chance to fetch.
    pub fn make_leader(&self, epoch: i32, replicas: &[i32], isr: &[i32]) {
        let mut s = self.lock();
        if s.role == Role::Leader && s.leader_epoch == epoch {
            return;
        }
        let now = now_ms();
        s.role = Role::Leader;
        s.leader_epoch = epoch;
        s.needs_truncation = false;
        s.proposed_isr.clear();
        s.followers = replicas
            .iter()
            .filter(|r| **r != self.node_id)
            .map(|r| {
                (
                    *r,
                    FollowerState {
                        log_end_offset: -1,
                        last_caught_up_ms: now,
                        last_fetch_leader_leo: -1,
                        last_fetch_ms: now,
                    },
                )
            })
            .collect();
        let leo = s.log.log_end_offset();
        if s.epochs.last().is_none_or(|(e, _)| *e < epoch) {
            s.epochs.push((epoch, leo));
        }
        s.advance_high_watermark(self.node_id, isr);
        self.publish(&s);
    }

    /// Becomes (or stays) a follower of `leader` at `epoch`; the next fetch first truncates.
    pub fn make_follower(&self, epoch: i32, leader: i32) {
        let mut s = self.lock();
        if s.role == (Role::Follower { leader }) && s.leader_epoch == epoch {
            return;
        }
        s.role = Role::Follower { leader };
        s.leader_epoch = epoch;
        s.followers.clear();
        s.proposed_isr.clear();
        s.needs_truncation = true;
        self.publish(&s);
    }

    /// Follower: reconcile the log with the leader by epoch (OffsetForLeaderEpoch) before the
    /// next fetch, as after a leader change.
    pub fn reconcile_with_leader(&self) {
        let mut s = self.lock();
        if matches!(s.role, Role::Follower { .. }) {
            s.needs_truncation = true;
            self.publish(&s);
        }
    }

    /// Validates the batches of a produce request, assigns offsets and appends them.
    pub fn append_as_leader(
        &self,
        records: &Bytes,
        config: &TopicConfig,
        isr: &[i32],
    ) -> Result<AppendInfo, ApiError> {
        let batches = validate_batches(records, config)?;
        let log_append_time = if config.log_append_time() {
            now_ms()
        } else {
            -1
        };
        let mut state = self.lock();
        if state.role != Role::Leader {
            return Err(not_leader(self, state.role));
        }
        let leader_epoch = state.leader_epoch;
        // Idempotence: a retried batch that was already written is answered from memory.
        let mut duplicate = None;
        for batch in &batches {
            match state.check_sequence(batch)? {
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
        let base_offset = state.log.log_end_offset();
        let mut next = base_offset;
        let mut out = BytesMut::with_capacity(records.len());
        for batch in &batches {
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
        state.learn_from_batches(&out.freeze());
        state.advance_high_watermark(self.node_id, isr);
        self.publish(&state);
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time,
            log_start_offset: state.log.log_start_offset(),
            leader_epoch,
        })
    }

    /// Appends batches fetched from the leader (offsets already assigned).
    pub fn append_as_follower(
        &self,
        records: &Bytes,
        leader_high_watermark: i64,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        if !matches!(s.role, Role::Follower { .. }) {
            return Err(not_leader(self, s.role));
        }
        // A fetch response may end with a partial batch; store whole batches only.
        let mut whole = RecordBatches::new(records.clone());
        let mut len = 0;
        for b in whole.by_ref() {
            match b {
                Ok(b) => len += b.size(),
                Err(e) => return Err(ApiError::new(ErrorCode::CorruptMessage, e.to_string())),
            }
        }
        if len > 0 {
            let batches = records.slice(..len);
            s.log.append(&batches).map_err(storage_error)?;
            s.learn_from_batches(&batches);
        }
        let hw = leader_high_watermark.min(s.log.log_end_offset());
        if hw > s.high_watermark {
            s.high_watermark = hw;
        }
        self.publish(&s);
        Ok(())
    }

    /// Leader: records a follower's fetch at `fetch_offset` (it holds everything below).
    pub fn record_follower_fetch(
        &self,
        follower: i32,
        fetch_offset: i64,
        isr: &[i32],
    ) -> Result<FollowerFetch, ApiError> {
        let mut s = self.lock();
        if s.role != Role::Leader {
            return Err(not_leader(self, s.role));
        }
        let now = now_ms();
        let leo = s.log.log_end_offset();
        let Some(f) = s.followers.get_mut(&follower) else {
            return Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "broker {follower} is not a replica of {}-{}",
                    self.topic, self.partition
                ),
            ));
        };
        f.log_end_offset = fetch_offset.min(leo);
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
        let advanced = s.advance_high_watermark(self.node_id, isr);
        let epoch_start = s.epochs.last().map_or(0, |(_, start)| *start);
        let expand = !isr.contains(&follower)
            && follower_leo >= s.high_watermark
            && follower_leo >= epoch_start;
        if expand && !s.proposed_isr.contains(&follower) {
            s.proposed_isr.push(follower);
        }
        if advanced {
            self.publish(&s);
        }
        Ok(FollowerFetch {
            high_watermark_advanced: advanced,
            expand_isr: expand,
        })
    }

    /// Leader: ISR members that have not caught up for `lag_ms`, to be dropped.
    pub fn lagging_followers(&self, lag_ms: i64, isr: &[i32]) -> Vec<i32> {
        let s = self.lock();
        if s.role != Role::Leader {
            return Vec::new();
        }
        let now = now_ms();
        isr.iter()
            .filter(|r| **r != self.node_id)
            .filter(|r| {
                s.followers
                    .get(r)
                    .is_some_and(|f| now - f.last_caught_up_ms > lag_ms)
            })
            .copied()
            .collect()
    }

    /// Leader: the controller refused to add `follower` to the ISR; stop counting it.
    pub fn isr_expansion_refused(&self, follower: i32, isr: &[i32]) {
        let mut s = self.lock();
        s.proposed_isr.retain(|r| *r != follower);
        if s.role == Role::Leader && s.advance_high_watermark(self.node_id, isr) {
            self.publish(&s);
        }
    }

    /// Leader: re-evaluates the high watermark after the ISR changed.
    pub fn isr_changed(&self, isr: &[i32]) -> bool {
        let mut s = self.lock();
        if s.role != Role::Leader {
            return false;
        }
        // Members now in the ISR need no proposal; the others' proposals are still open.
        s.proposed_isr.retain(|r| !isr.contains(r));
        let advanced = s.advance_high_watermark(self.node_id, isr);
        if advanced {
            self.publish(&s);
        }
        advanced
    }

    /// Follower: whether the log must be reconciled with the leader before fetching, and the
    /// latest epoch it holds (for OffsetForLeaderEpoch).
    pub fn pending_truncation(&self) -> Option<i32> {
        let s = self.lock();
        s.needs_truncation
            .then(|| s.epochs.last().map_or(-1, |(e, _)| *e))
    }

    /// Follower: truncates to the leader's end offset for our latest epoch (if below our
    /// log end) and marks the log reconciled.
    pub fn truncate_after_epoch_check(&self, end_offset: i64) -> Result<(), ApiError> {
        let mut s = self.lock();
        if end_offset >= 0 && end_offset < s.log.log_end_offset() {
            s.log.truncate_to(end_offset).map_err(storage_error)?;
            s.forget_from(end_offset);
        }
        s.needs_truncation = false;
        self.publish(&s);
        Ok(())
    }

    /// Follower: the leader has no data at our log end (OFFSET_OUT_OF_RANGE): move to where
    /// the leader's log is (truncate back, or restart at the leader's log start).
    pub fn reset_to(&self, offset: i64) -> Result<(), ApiError> {
        let mut s = self.lock();
        if s.log.log_end_offset() < offset {
            // Below the leader's log start: everything we have is gone on the leader.
            s.log.restart_at(offset).map_err(storage_error)?;
        } else {
            s.log.truncate_to(offset).map_err(storage_error)?;
        }
        s.forget_from(offset);
        self.publish(&s);
        Ok(())
    }

    /// OffsetForLeaderEpoch: the largest epoch <= `epoch` and the offset where it ended (the
    /// next epoch's start, or the log end for the latest). (-1, -1) when unknown.
    pub fn epoch_end_offset(&self, epoch: i32) -> (i32, i64) {
        let s = self.lock();
        let Some(i) = s.epochs.iter().rposition(|(e, _)| *e <= epoch) else {
            return (-1, -1);
        };
        let found = s.epochs.get(i).map_or(-1, |(e, _)| *e);
        let end = s
            .epochs
            .get(i + 1)
            .map_or(s.log.log_end_offset(), |(_, start)| *start);
        (found, end)
    }

    /// Reads whole batches from `offset`: consumers up to the high watermark, followers up
    /// to the log end.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        reader: Reader,
    ) -> Result<ReadInfo, ApiError> {
        let state = self.lock();
        let upper = match reader {
            Reader::Consumer => state.high_watermark,
            Reader::Replica => state.log.log_end_offset(),
        };
        let records = state
            .log
            .read(offset, max_bytes, upper, min_one)
            .map_err(storage_error)?;
        Ok(ReadInfo {
            records,
            high_watermark: state.high_watermark,
            log_start_offset: state.log.log_start_offset(),
            log_end_offset: state.log.log_end_offset(),
        })
    }

    /// Waits until the high watermark passes `offset` (acks=all), while this replica still
    /// leads at `epoch`, until `deadline`.
    pub async fn wait_for_commit(
        &self,
        offset: i64,
        epoch: i32,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let mut rx = self.progress.subscribe();
        let waited = tokio::time::timeout_at(
            deadline,
            rx.wait_for(|p| p.high_watermark > offset || !p.is_leader || p.leader_epoch != epoch),
        )
        .await;
        match waited {
            Err(_) => Err(ApiError::new(
                ErrorCode::RequestTimedOut,
                format!(
                    "{}-{}: the in-sync replicas did not acknowledge offset {offset} in time",
                    self.topic, self.partition
                ),
            )),
            Ok(Err(_)) => Err(not_leader(self, Role::Unassigned)),
            Ok(Ok(p)) if p.high_watermark > offset => Ok(()),
            Ok(Ok(_)) => Err(ApiError::new(
                ErrorCode::NotLeaderOrFollower,
                format!(
                    "{}-{}: leadership moved before offset {offset} was committed",
                    self.topic, self.partition
                ),
            )),
        }
    }

    /// (log start offset, high watermark, log end offset).
    pub fn offsets(&self) -> (i64, i64, i64) {
        let s = self.lock();
        (
            s.log.log_start_offset(),
            s.high_watermark,
            s.log.log_end_offset(),
        )
    }

    /// The earliest offset whose timestamp is at or after `ts`, with that timestamp.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, ApiError> {
        self.lock()
            .log
            .offset_for_timestamp(ts)
            .map_err(storage_error)
    }

    /// The largest timestamp in the log and the offset of its batch.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.lock().log.max_timestamp()
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark).
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ApiError> {
        let mut s = self.lock();
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
        s.log.delete_records_before(target).map_err(storage_error)
    }

    /// The log's current settings.
    pub fn log_config(&self) -> LogConfig {
        self.lock().log.config().clone()
    }

    /// Adopts a topic's (possibly altered) config for the log: retention, segments, flushing.
    pub fn set_config(&self, config: &TopicConfig) {
        let mut s = self.lock();
        let wanted = log_config(config);
        if s.log.config() != &wanted {
            s.log.set_config(wanted);
        }
    }

    /// Applies time and size retention; returns the number of segments deleted.
    pub fn apply_retention(&self, now: i64) -> Result<usize, ApiError> {
        self.lock().log.apply_retention(now).map_err(storage_error)
    }

    /// Flushes the log to disk.
    pub fn flush(&self) -> Result<(), ApiError> {
        self.lock().log.flush().map_err(storage_error)
    }

    /// Removes the replica's files (topic deletion).
    pub fn delete(self) -> Result<(), ApiError> {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        state.log.delete().map_err(storage_error)
    }
}

/// Rebuilds the leader-epoch cache from the batches' partitionLeaderEpoch fields at open.
fn rebuild_epochs(state: &mut State) -> Result<(), ApiError> {
    let mut offset = state.log.log_start_offset();
    let end = state.log.log_end_offset();
    while offset < end {
        let chunk = state
            .log
            .read(offset, 1 << 20, end, true)
            .map_err(storage_error)?;
        if chunk.is_empty() {
            break;
        }
        let mut next = offset;
        for b in RecordBatches::new(chunk.clone()).flatten() {
            next = b.next_offset();
        }
        state.learn_from_batches(&chunk);
        if next <= offset {
            break;
        }
        offset = next;
    }
    Ok(())
}

/// Stamps a batch with the broker's time (`message.timestamp.type=LogAppendTime`): sets the
/// timestamp-type attribute bit and the max timestamp, then recomputes the CRC, which covers
/// both. Consumers then report this time for every record of the batch.
fn set_log_append_time(batch: &mut [u8], ts: i64) -> Result<(), ApiError> {
    const ATTRIBUTES: usize = 21;
    const MAX_TIMESTAMP: usize = 35;
    const CRC: usize = 17;
    let short = || {
        ApiError::new(
            ErrorCode::CorruptMessage,
            "record batch header is truncated",
        )
    };
    let attrs = batch
        .get(ATTRIBUTES..ATTRIBUTES + 2)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .ok_or_else(short)?;
    let attrs = i16::from_be_bytes(attrs) | 0x08;
    batch
        .get_mut(ATTRIBUTES..ATTRIBUTES + 2)
        .ok_or_else(short)?
        .copy_from_slice(&attrs.to_be_bytes());
    batch
        .get_mut(MAX_TIMESTAMP..MAX_TIMESTAMP + 8)
        .ok_or_else(short)?
        .copy_from_slice(&ts.to_be_bytes());
    let crc = crc32c::crc32c(batch.get(ATTRIBUTES..).ok_or_else(short)?);
    batch
        .get_mut(CRC..CRC + 4)
        .ok_or_else(short)?
        .copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Checks every batch of a produce request by header and CRC; returns them.
fn validate_batches(records: &Bytes, config: &TopicConfig) -> Result<Vec<RecordBatch>, ApiError> {
    let corrupt = |why: String| ApiError::new(ErrorCode::CorruptMessage, why);
    let mut batches = Vec::new();
    let mut iter = RecordBatches::new(records.clone());
    for batch in iter.by_ref() {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        if batch.size() > config.max_message_bytes() {
            return Err(ApiError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "batch of {} bytes exceeds max.message.bytes {}",
                    batch.size(),
                    config.max_message_bytes()
                ),
            ));
        }
        batch.verify_crc().map_err(|e| corrupt(e.to_string()))?;
        let count = batch.record_count();
        if count <= 0 || i64::from(batch.last_offset_delta()) != i64::from(count) - 1 {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                format!(
                    "record count {count} does not match last offset delta {}",
                    batch.last_offset_delta()
                ),
            ));
        }
        batches.push(batch);
    }
    if !iter.remaining().is_empty() {
        return Err(corrupt(format!(
            "{} trailing bytes do not form a whole record batch",
            iter.remaining().len()
        )));
    }
    if batches.is_empty() {
        return Err(corrupt("produce request carries no record batch".into()));
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamctl_protocol::compression::Compression;
    use streamctl_protocol::record_batch::RecordBatchBuilder;

    fn batch(n: usize) -> Bytes {
        let mut b = RecordBatchBuilder::new(Compression::None);
        for _ in 0..n {
            b.push(0, None, Some(b"v".as_slice()), &[]).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn a_proposed_isr_member_holds_the_high_watermark_even_for_a_stale_isr() {
        let config = TopicConfig::default();
        let p = Partition::open("t", uuid::Uuid::nil(), 0, 1, Storage::Memory, &config).unwrap();
        let stale_isr = [1, 2];
        p.make_leader(1, &[1, 2, 3], &stale_isr);
        p.append_as_leader(&batch(10), &config, &stale_isr).unwrap();
        p.record_follower_fetch(2, 10, &stale_isr).unwrap();
        assert_eq!(p.offsets().1, 10);
        // Broker 3 has caught up to the high watermark: its addition is proposed.
        let f = p.record_follower_fetch(3, 10, &stale_isr).unwrap();
        assert!(f.expand_isr);
        // More records; broker 2 has them, broker 3 not yet. A request still holding the ISR
        // from before the expansion must not acknowledge them.
        p.append_as_leader(&batch(5), &config, &stale_isr).unwrap();
        p.record_follower_fetch(2, 15, &stale_isr).unwrap();
        assert_eq!(
            p.offsets().1,
            10,
            "the high watermark passed the proposed member"
        );
        // A refused proposal stops counting it.
        p.isr_expansion_refused(3, &stale_isr);
        assert_eq!(p.offsets().1, 15);
    }
}
