//! A partition replica hosted on one broker: its log, its role (leader or follower), the ISR
//! it leads with, the high watermark, and idempotent producers' state.
//!
//! ```text
//!  leader:   ProduceRequest ─▶ validate (magic, CRC-32C, count, size) ─▶ assign offsets
//!            ─▶ Log::append ─▶ followers fetch (replica_id, broker epoch) ─▶ HW = min LEO
//!            over the ISR ─▶ watch(Progress) wakes acks=all producers and long polls
//!  follower: fetch loop (replication.rs) ─▶ OffsetForLeaderEpoch truncation (KIP-101/279)
//!            ─▶ append_as_follower ─▶ HW = min(leader HW, LEO), log start = leader's
//! ```
//!
//! The broker never decodes records here: a batch is checked by its header and CRC and
//! stored as received (DESIGN decision 2). The state lock is held only for bookkeeping and
//! the page-cache write, never across an `.await`.
//!
//! # What an acknowledgement relies on
//! An acks=all Produce is answered when the high watermark passes its last offset while this
//! replica still leads at the epoch it appended under, and the ISR then has at least
//! `min.insync.replicas` members (else NOT_ENOUGH_REPLICAS_AFTER_APPEND). That is true
//! because:
//! - **The partition owns its ISR** (Kafka's `Partition.partitionState`): it is changed only
//!   here, by a compare-and-set at the controller on the partition epoch (KIP-497), with the
//!   partition lock held, so the high watermark is never computed from an ISR that a request
//!   copied earlier. A change the controller makes without us (a broker died) only removes
//!   members, which can only hold the high watermark back until it reaches us.
//! - **The high watermark is the smallest log end offset over the whole ISR**, and each
//!   follower's log end offset counts only for the incarnation that reported it (its broker
//!   epoch, KIP-903): a fetch parked by a dead broker cannot speak for its restarted self.
//! - **A follower joins the ISR only once it holds everything below the high watermark and
//!   the leader's epoch start** (KIP-841's rule), vouched for by the broker epoch of the
//!   fetch that showed it.
//! - **Only an ISR member may become leader** (controller), the ISR is on disk before it is
//!   used (`metadata_store`), and every other replica truncates to the new leader's log by
//!   epoch, so a committed record is on the new leader and stays there.
//!
//! DeleteRecords is answered once every ISR member has moved its log start (the low
//! watermark), so a failover cannot bring deleted records back; followers adopt the leader's
//! log start from every fetch response and keep it in their log's checkpoint.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use streamctl_protocol::record_batch::RecordBatches;
use streamctl_protocol::ErrorCode;
use tokio::sync::watch;

use crate::config::TopicConfig;
use crate::controller::PartitionMeta;
use crate::error::ApiError;
use crate::log::{Log, LogConfig, LogError, Storage};

mod batches;
mod cleaning;
mod follower;
mod leader;
mod producer_state;
mod recovery;
mod snapshot;

pub use cleaning::CleanerState;
pub use follower::Truncation;
pub use leader::{FollowerFetch, FollowerFetchRequest};
use producer_state::ProducerStates;
pub use producer_state::{ProducerSummary, Verification};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the log settings of a topic config.
pub fn log_config(config: &TopicConfig) -> LogConfig {
    // A compacted-only topic (`__consumer_offsets`) keeps every segment to the cleaner:
    // deleting old segments by time or size would lose the latest value of keys written long
    // ago (a group's committed offsets).
    let deletes = config
        .get("cleanup.policy")
        .is_none_or(|p| p.split(',').any(|w| w.trim() == "delete"));
    let compaction = config.compacted().then(|| crate::log::Compaction {
        min_cleanable_dirty_ratio_ppm: config.min_cleanable_dirty_ratio_ppm(),
        delete_retention_ms: config.delete_retention_ms(),
        min_compaction_lag_ms: config.min_compaction_lag_ms(),
        max_compaction_lag_ms: config.max_compaction_lag_ms(),
    });
    // A record can be compacted only once its segment is closed, so a compacted topic's
    // segments roll by `max.compaction.lag.ms` too (Kafka's `LogConfig.maxSegmentMs`).
    let lag = compaction.and_then(|c| c.max_compaction_lag_ms);
    let segment_ms = match (config.segment_ms(), lag) {
        (Some(ms), Some(lag)) => Some(ms.min(lag)),
        (ms, lag) => ms.or(lag),
    };
    LogConfig {
        segment_bytes: config.segment_bytes(),
        segment_ms,
        retention_ms: config.retention_ms().filter(|_| deletes),
        retention_bytes: config.retention_bytes().filter(|_| deletes),
        flush_messages: config.flush_messages(),
        flush_ms: config.flush_ms(),
        compaction,
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
    /// Last stable offset at the time of the read (at most the high watermark).
    pub last_stable_offset: i64,
    /// read_committed: the aborted transactions within the returned range, as (producer id,
    /// first offset); `None` for other readers.
    pub aborted: Option<Vec<(i64, i64)>>,
}

/// What a consumer may see (its `isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Everything below the high watermark, aborted transactions included.
    ReadUncommitted,
    /// Only below the last stable offset, with the aborted transactions listed.
    ReadCommitted,
}

impl Isolation {
    /// The level of a Fetch or ListOffsets request (1 = read_committed, anything else
    /// read_uncommitted, as Kafka reads it).
    pub fn from_level(level: i8) -> Self {
        if level == 1 {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
        }
    }
}

/// Who may read up to where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Consumers see only committed data: below the high watermark, or the last stable
    /// offset under read_committed.
    Consumer(Isolation),
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

/// What waiters watch: the high watermark, whether this replica still leads, and the leader
/// state acknowledgements depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The high watermark.
    pub high_watermark: i64,
    /// The leader epoch of the current role.
    pub leader_epoch: i32,
    /// Whether this replica is the leader.
    pub is_leader: bool,
    /// Leader: members of the committed ISR (for `min.insync.replicas` after an append).
    pub isr_size: usize,
    /// Leader: the smallest log start offset over the ISR (DeleteRecords' low watermark).
    pub low_watermark: i64,
}

/// A leader's view of one follower.
#[derive(Debug, Clone, Copy)]
struct FollowerState {
    /// The incarnation whose fetches this state describes; a fetch of an older one is stale.
    broker_epoch: u64,
    /// The follower's log end offset (its last fetch offset); -1 until it fetches.
    log_end_offset: i64,
    /// The follower's log start offset, from its last fetch; -1 until it fetches.
    log_start_offset: i64,
    /// Last time the follower was caught up (Kafka's lastCaughtUpTimeMs).
    last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch, and that fetch's time.
    last_fetch_leader_leo: i64,
    last_fetch_ms: i64,
}

impl FollowerState {
    fn new(broker_epoch: u64, now: i64) -> Self {
        Self {
            broker_epoch,
            log_end_offset: -1,
            log_start_offset: -1,
            last_caught_up_ms: now,
            last_fetch_leader_leo: -1,
            last_fetch_ms: now,
        }
    }
}

#[derive(Debug)]
struct State {
    log: Log,
    high_watermark: i64,
    role: Role,
    leader_epoch: i32,
    /// Leader only: the ISR as last committed by the controller, and that commit's
    /// partition epoch. ISR changes go through `leader.rs`, under this state's lock.
    isr: Vec<i32>,
    partition_epoch: i32,
    /// Leader only: the log end offset when this leadership began (KIP-207). Until the high
    /// watermark reaches it, offsets this leader reports to clients could be lower than what
    /// the previous leader already reported.
    epoch_start_offset: i64,
    /// Leader only: every other replica's progress.
    followers: HashMap<i32, FollowerState>,
    /// (epoch, first offset written under it), ascending.
    epochs: Vec<(i32, i64)>,
    /// Follower only: the leader epoch to ask the leader about (OffsetForLeaderEpoch) before
    /// fetching again; `None` once the log is reconciled with the leader.
    truncation: Option<i32>,
    /// Idempotent producers' recent batches, for sequence checks and duplicate detection.
    producers: ProducerStates,
    /// Where the last rebuild of the derived state started replaying the log (see
    /// `recovery.rs`): the latest usable snapshot, else the log start.
    replayed_from: i64,
    /// The last rebuild of the derived state failed part way: no snapshot may be taken of it.
    rebuild_failed: bool,
    /// What the cleaner did to this replica (`cleaning.rs`).
    cleaner: cleaning::CleanerTotals,
    /// Removed from this broker (`Partition::close`): nothing more is swapped into its log.
    closed: bool,
}

impl State {
    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn low_watermark(&self, me: i32) -> i64 {
        let own = self.log.log_start_offset();
        self.isr
            .iter()
            .filter(|r| **r != me)
            .map(|r| self.followers.get(r).map_or(-1, |f| f.log_start_offset))
            .fold(own, i64::min)
    }

    fn progress(&self, me: i32) -> Progress {
        let leader = self.is_leader();
        Progress {
            high_watermark: self.high_watermark,
            leader_epoch: self.leader_epoch,
            is_leader: leader,
            isr_size: if leader { self.isr.len() } else { 0 },
            low_watermark: if leader { self.low_watermark(me) } else { -1 },
        }
    }

    /// The latest epoch this replica has written under, -1 for none.
    fn latest_epoch(&self) -> i32 {
        self.epochs.last().map_or(-1, |(e, _)| *e)
    }

    /// The largest epoch at or below `epoch` and where it ends here (the next epoch's start,
    /// or the log end for the latest), as Kafka's `LeaderEpochFileCache.endOffsetFor`.
    fn end_offset_for(&self, epoch: i32) -> Option<(i32, i64)> {
        let i = self.epochs.iter().rposition(|(e, _)| *e <= epoch)?;
        let found = self.epochs.get(i).map(|(e, _)| *e)?;
        let end = self
            .epochs
            .get(i + 1)
            .map_or(self.log.log_end_offset(), |(_, start)| *start);
        Some((found, end))
    }

    /// The last stable offset (see `producer_state.rs`).
    fn last_stable_offset(&self) -> i64 {
        self.producers
            .last_stable_offset(self.high_watermark, self.log.log_start_offset())
    }

    /// Where a consumer's view ends: the last stable offset under read_committed, else the
    /// high watermark.
    fn fetchable_end(&self, isolation: Isolation) -> i64 {
        match isolation {
            Isolation::ReadUncommitted => self.high_watermark,
            Isolation::ReadCommitted => self.last_stable_offset(),
        }
    }

    /// Moves the high watermark (either way: a truncation can lower it) and lets the
    /// transactions whose marker is now below it stop holding the last stable offset back.
    fn set_high_watermark(&mut self, high_watermark: i64) {
        self.high_watermark = high_watermark;
        self.producers.on_high_watermark(high_watermark);
    }

    /// KIP-207: a new leader whose high watermark has not reached the start of its epoch
    /// cannot tell clients where the committed log ends.
    fn check_high_watermark_caught_up(&self) -> Result<(), ApiError> {
        if self.is_leader() && self.high_watermark < self.epoch_start_offset {
            return Err(ApiError::new(
                ErrorCode::OffsetNotAvailable,
                format!(
                    "the new leader's high watermark {} has not reached its epoch start offset {}",
                    self.high_watermark, self.epoch_start_offset
                ),
            ));
        }
        Ok(())
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
    /// Held by the one cleaning of this replica that may run (`cleaning.rs`).
    cleaning: Mutex<()>,
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
            isr: Vec::new(),
            partition_epoch: -1,
            epoch_start_offset: 0,
            followers: HashMap::new(),
            epochs: Vec::new(),
            truncation: None,
            producers: ProducerStates::default(),
            replayed_from: 0,
            rebuild_failed: false,
            cleaner: cleaning::CleanerTotals::default(),
            closed: false,
        };
        state.rebuild(true)?;
        let (progress, _) = watch::channel(state.progress(node_id));
        Ok(Self {
            topic: topic.to_string(),
            topic_id,
            partition,
            node_id,
            state: Mutex::new(state),
            progress,
            cleaning: Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, state: &State) {
        let new = state.progress(self.node_id);
        self.progress.send_if_modified(|p| {
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

    /// The ISR this replica leads with (empty unless it leads).
    pub fn isr(&self) -> Vec<i32> {
        let s = self.lock();
        if s.is_leader() {
            s.isr.clone()
        } else {
            Vec::new()
        }
    }

    /// Becomes (or stays) the leader as `meta` says. A snapshot older than what this replica
    /// already knows changes nothing; a newer partition epoch at the same leader epoch brings
    /// the ISR the controller changed without us (a member died). Followers start as caught
    /// up now, so a new leader does not drop them from the ISR before they had a chance to
    /// fetch, but count in the high watermark only once they fetch.
    pub fn make_leader(&self, meta: &PartitionMeta) {
        let mut s = self.lock();
        if meta.leader_epoch < s.leader_epoch {
            return;
        }
        if s.is_leader() && s.leader_epoch == meta.leader_epoch {
            if meta.partition_epoch > s.partition_epoch {
                s.isr.clone_from(&meta.isr);
                s.partition_epoch = meta.partition_epoch;
                s.advance_high_watermark(self.node_id);
                self.publish(&s);
            }
            return;
        }
        let now = now_ms();
        s.role = Role::Leader;
        s.leader_epoch = meta.leader_epoch;
        s.isr.clone_from(&meta.isr);
        s.partition_epoch = meta.partition_epoch;
        s.truncation = None;
        s.followers = meta
            .replicas
            .iter()
            .filter(|r| **r != self.node_id)
            .map(|r| (*r, FollowerState::new(0, now)))
            .collect();
        let leo = s.log.log_end_offset();
        s.epoch_start_offset = leo;
        if s.epochs.last().is_none_or(|(e, _)| *e < meta.leader_epoch) {
            s.epochs.push((meta.leader_epoch, leo));
        }
        s.advance_high_watermark(self.node_id);
        self.publish(&s);
    }

    /// Becomes (or stays) a follower of `leader` at `epoch`; before fetching it reconciles
    /// its log with the leader's by epoch. An older epoch than known changes nothing.
    pub fn make_follower(&self, epoch: i32, leader: i32) {
        let mut s = self.lock();
        if epoch < s.leader_epoch
            || (s.role == (Role::Follower { leader }) && s.leader_epoch == epoch)
        {
            return;
        }
        become_follower(&mut s, epoch, leader);
        self.publish(&s);
    }

    /// Reads whole batches from `offset`: consumers up to the high watermark (the last
    /// stable offset under read_committed, with the aborted transactions in what is
    /// returned), followers up to the log end.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        reader: Reader,
    ) -> Result<ReadInfo, ApiError> {
        let state = self.lock();
        let upper = match reader {
            Reader::Consumer(isolation) => state.fetchable_end(isolation),
            Reader::Replica => state.log.log_end_offset(),
        };
        let records = state
            .log
            .read(offset, max_bytes, upper, min_one)
            .map_err(storage_error)?;
        let aborted = (reader == Reader::Consumer(Isolation::ReadCommitted)).then(|| {
            // Kafka bounds the search by the end of what is returned.
            let end = RecordBatches::new(records.clone())
                .flatten()
                .last()
                .map_or(offset, |b| b.next_offset());
            state
                .log
                .aborted_between(offset, end)
                .into_iter()
                .map(|t| (t.producer_id, t.first_offset))
                .collect()
        });
        Ok(ReadInfo {
            records,
            high_watermark: state.high_watermark,
            log_start_offset: state.log.log_start_offset(),
            log_end_offset: state.log.log_end_offset(),
            last_stable_offset: state.last_stable_offset(),
            aborted,
        })
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

    /// Bytes of record batches this replica holds, over all its segments.
    pub fn size_bytes(&self) -> u64 {
        self.lock().log.size_bytes()
    }

    /// ListOffsets "latest": the high watermark (the last stable offset under
    /// read_committed), or OFFSET_NOT_AVAILABLE while a new leader's high watermark is below
    /// its epoch start (KIP-207), since it could be lower than what the previous leader
    /// already reported and "latest" must not go backwards.
    pub fn latest_offset(&self, isolation: Isolation) -> Result<i64, ApiError> {
        let s = self.lock();
        s.check_high_watermark_caught_up()?;
        Ok(s.fetchable_end(isolation))
    }

    /// The earliest offset below the consumer's view (see [`Partition::latest_offset`]) whose
    /// timestamp is at or after `ts`, with that timestamp (KIP-207 applies, as for "latest").
    pub fn offset_for_timestamp(
        &self,
        ts: i64,
        isolation: Isolation,
    ) -> Result<Option<(i64, i64)>, ApiError> {
        let s = self.lock();
        s.check_high_watermark_caught_up()?;
        let found = s.log.offset_for_timestamp(ts).map_err(storage_error)?;
        let end = s.fetchable_end(isolation);
        Ok(found.filter(|(offset, _)| *offset < end))
    }

    /// The largest timestamp in the log and the offset of its batch, if that batch is within
    /// the consumer's view (as Kafka: an uncommitted batch is not revealed).
    pub fn max_timestamp(&self, isolation: Isolation) -> Result<Option<(i64, i64)>, ApiError> {
        let s = self.lock();
        s.check_high_watermark_caught_up()?;
        let end = s.fetchable_end(isolation);
        Ok(s.log.max_timestamp().filter(|(_, offset)| *offset < end))
    }

    /// OffsetForLeaderEpoch on the leader (Kafka's `endOffsetFor`): the largest epoch at or
    /// below `epoch` and the offset where it ended; for an epoch older than any known, the
    /// requested epoch and the first known epoch's start; (-1, -1) when unknown.
    pub fn epoch_end_offset(&self, epoch: i32) -> (i32, i64) {
        let s = self.lock();
        if epoch < 0 {
            return (-1, -1);
        }
        match (s.end_offset_for(epoch), s.epochs.first()) {
            (Some(found), _) => found,
            (None, Some((_, first_start))) => (epoch, *first_start),
            (None, None) => (-1, -1),
        }
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
        let mut s = self.lock();
        // Only committed records may go, on every replica (as Kafka): a follower that becomes
        // leader must still hold what the old leader acknowledged.
        let upto = s.high_watermark;
        let deleted = s.log.apply_retention(now, upto).map_err(storage_error)?;
        if deleted > 0 {
            self.publish(&s);
        }
        Ok(deleted)
    }

    /// Forgets idempotent producers idle for `expiration_ms` (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, now: i64, expiration_ms: i64) {
        self.lock().producers.expire(now, expiration_ms);
    }

    /// How many idempotent producers this replica remembers.
    pub fn producer_count(&self) -> usize {
        self.lock().producers.len()
    }

    /// Every producer this replica remembers (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerSummary> {
        self.lock().producers.describe()
    }

    /// Snapshots the derived state and flushes the log to disk, at a clean shutdown: the
    /// next open replays nothing.
    pub fn flush(&self) -> Result<(), ApiError> {
        let mut s = self.lock();
        s.write_snapshot();
        s.log.flush().map_err(storage_error)
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

/// KIP-320: a client that knows a newer epoch than ours talks to a stale leader
/// (UNKNOWN_LEADER_EPOCH, retry later); one with an older epoch must refresh metadata
/// (FENCED_LEADER_EPOCH). -1 skips the check.
pub fn check_leader_epoch(requested: i32, current: i32) -> Result<(), ApiError> {
    if requested < 0 || requested == current {
        return Ok(());
    }
    let (code, why) = if requested > current {
        (ErrorCode::UnknownLeaderEpoch, "newer than")
    } else {
        (ErrorCode::FencedLeaderEpoch, "older than")
    };
    Err(ApiError::new(
        code,
        format!("leader epoch {requested} is {why} the current epoch {current}"),
    ))
}

/// Turns `s` into a follower of `leader` at `epoch`, to reconcile by epoch before fetching.
fn become_follower(s: &mut State, epoch: i32, leader: i32) {
    s.role = Role::Follower { leader };
    s.leader_epoch = epoch;
    s.isr.clear();
    s.followers.clear();
    s.truncation = Some(s.latest_epoch());
}

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_tests;
