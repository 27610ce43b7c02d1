//! The consumer's shared state: the assignment with each partition's position and buffer,
//! the subscription, the group generation, and errors waiting for `poll`.
//!
//! ```text
//!  fetcher ──records, errors──▶ State (std mutex, never held across an await) ──▶ poll/stream
//!  group task ──assign/revoke, generation──▶                                  ◀── seek/pause
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::group::RebalanceListener;
use super::{ConsumerConfig, ConsumerRecord, TopicPartition};
use crate::error::Error;
use crate::metadata::Cluster;

/// What the application subscribed to.
#[derive(Debug, Clone, Default)]
pub(crate) enum Subscription {
    /// Manual assignment (or nothing yet).
    #[default]
    None,
    /// These topics.
    Topics(BTreeSet<String>),
    /// Every topic whose whole name matches.
    Pattern(regex::Regex),
}

/// The consumer's view of one assigned partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    /// The next offset to hand to the application; `None` until initialised from the
    /// committed offset or `auto.offset.reset`.
    pub(crate) position: Option<i64>,
    /// The next offset to fetch (ahead of `position` by what is buffered).
    pub(crate) fetch_offset: i64,
    /// The next offset the application is done with: what auto-commit commits. Records
    /// handed out by one `poll` count as done at the next `poll` (as in Kafka), records of the
    /// stream when the next one is asked for.
    pub(crate) consumed: Option<i64>,
    /// Fetched records not yet handed out.
    pub(crate) buffered: VecDeque<ConsumerRecord>,
    /// Their approximate size, to bound prefetching.
    pub(crate) buffered_bytes: usize,
    /// A Fetch for it is in flight.
    pub(crate) in_flight: bool,
    /// Bumped by every seek: answers for an older epoch are dropped.
    pub(crate) seek_epoch: u64,
    /// `pause`d by the application.
    pub(crate) paused: bool,
    /// Being revoked: nothing more is handed out.
    pub(crate) revoking: bool,
    /// Just assigned by the group, the listener's `on_assigned` still running: nothing is
    /// fetched or handed out yet, and the position is not looked up unless `position()` asks
    /// (as Kafka's consumer: a seek or a commit there decides where reading starts).
    pub(crate) assigning: bool,
    /// `position()` asked for the position of a partition still `assigning`.
    pub(crate) position_wanted: bool,
    /// An offset lookup (committed offset or reset) is in progress.
    pub(crate) resolving: bool,
    /// The position is out of range under `auto.offset.reset=none`: wait for a seek.
    pub(crate) needs_seek: bool,
    /// The position went out of range: resolve it by `auto.offset.reset` only, not from the
    /// committed offset that may have led there.
    pub(crate) reset_only: bool,
    /// The high watermark in the last Fetch answer.
    pub(crate) high_watermark: i64,
    /// No fetch before this instant (after an error).
    pub(crate) retry_at: Option<tokio::time::Instant>,
}

impl PartitionState {
    /// Whether its records may be fetched and handed to the application.
    pub(crate) fn deliverable(&self) -> bool {
        !self.paused && !self.revoking && !self.assigning
    }

    pub(crate) fn seek(&mut self, offset: i64) {
        self.position = Some(offset);
        self.fetch_offset = offset;
        self.buffered.clear();
        self.buffered_bytes = 0;
        self.seek_epoch += 1;
        self.in_flight = false;
        self.needs_seek = false;
        self.resolving = false;
        self.retry_at = None;
    }

    /// With nothing buffered, everything below `fetch_offset` was handed out or skipped
    /// (control batches, aborted transactions, compacted gaps): the position goes there.
    pub(crate) fn advance_past_skipped(&mut self) {
        if self.buffered.is_empty() {
            if let Some(position) = self.position.as_mut() {
                *position = (*position).max(self.fetch_offset);
            }
        }
    }
}

/// The group member's identity in the current generation, for commits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Generation {
    pub(crate) generation_id: i32,
    pub(crate) member_id: String,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) assignment: BTreeMap<TopicPartition, PartitionState>,
    pub(crate) subscription: Subscription,
    /// Errors for the application, returned by the next `poll`.
    pub(crate) errors: VecDeque<Error>,
    pub(crate) generation: Option<Generation>,
    /// Rotates where `poll` starts, so one busy partition does not starve the others.
    pub(crate) next_partition: usize,
    pub(crate) closed: bool,
    /// `unsubscribe` calls that dropped a subscription, and how many of them the group task
    /// has carried out (revoked, committed, left): `unsubscribe` returns once it has.
    pub(crate) unsubscribes: u64,
    pub(crate) unsubscribes_done: u64,
    /// The group task returned (closed, or fenced for good).
    pub(crate) group_task_ended: bool,
}

/// State shared by the consumer handle, the fetcher and the group task.
pub struct ConsumerInner {
    pub(crate) cluster: Cluster,
    pub(crate) config: ConsumerConfig,
    pub(crate) listener: Option<Arc<dyn RebalanceListener>>,
    /// A std mutex, held only for bookkeeping, never across an await.
    pub(crate) state: Mutex<State>,
    /// Wakes `poll`: records or an error arrived.
    pub(crate) records_ready: Notify,
    /// Wakes the fetcher: positions, assignment or buffers changed.
    pub(crate) fetch_wake: Notify,
    /// Wakes the group task: the subscription changed or the consumer closes.
    pub(crate) group_wake: Notify,
    /// Wakes `unsubscribe`: the group task carried an unsubscribe out.
    pub(crate) unsubscribed: Notify,
    /// The group task's id: the rebalance listener runs in it.
    pub(crate) group_task: std::sync::OnceLock<tokio::task::Id>,
    /// The connection to the group coordinator, dedicated (not pooled), because a JoinGroup
    /// can wait for a whole rebalance and a broker answers a connection's requests in order.
    pub(crate) coordinator: tokio::sync::Mutex<Option<crate::connection::Connection>>,
    /// Stops the fetcher and the group task.
    pub(crate) stop: CancellationToken,
}

impl fmt::Debug for ConsumerInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerInner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ConsumerInner {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn report(&self, error: Error) {
        self.state().errors.push_back(error);
        self.records_ready.notify_waiters();
        self.records_ready.notify_one();
    }

    /// Whether an `unsubscribe` waits for the group task, which then has to revoke the
    /// partitions and leave (even when the application subscribed again meanwhile).
    pub(crate) fn unsubscribe_pending(&self) -> Option<u64> {
        let state = self.state();
        (state.unsubscribes != state.unsubscribes_done).then_some(state.unsubscribes)
    }

    /// Whether this runs in the group task (the rebalance listener does).
    pub(crate) fn in_group_task(&self) -> bool {
        tokio::task::try_id().is_some_and(|id| self.group_task.get() == Some(&id))
    }

    /// The group task carried out the unsubscribes up to `n`: partitions still marked for
    /// revocation (the member was not in the group) go, and `unsubscribe` returns.
    pub(crate) fn unsubscribed(&self, n: u64) {
        let mut state = self.state();
        state.assignment.retain(|_, p| !p.revoking);
        state.unsubscribes_done = state.unsubscribes_done.max(n);
        drop(state);
        self.unsubscribed.notify_waiters();
        self.fetch_wake.notify_one();
    }

    /// Adds partitions the group assigned (without positions: the fetcher resolves them),
    /// held back from fetching until [`ConsumerInner::release`].
    pub(crate) fn add_partitions(&self, partitions: &[TopicPartition]) {
        let mut state = self.state();
        for tp in partitions {
            state.assignment.entry(tp.clone()).or_default().assigning = true;
        }
        drop(state);
        self.fetch_wake.notify_one();
    }

    /// The listener is done with newly assigned partitions: fetch them.
    pub(crate) fn release(&self, partitions: &[TopicPartition]) {
        let mut state = self.state();
        for tp in partitions {
            if let Some(p) = state.assignment.get_mut(tp) {
                p.assigning = false;
            }
        }
        drop(state);
        self.fetch_wake.notify_one();
    }

    pub(crate) fn remove_partitions(&self, partitions: &[TopicPartition]) {
        let mut state = self.state();
        for tp in partitions {
            state.assignment.remove(tp);
        }
    }

    /// Positions the application is done with, for auto-commit.
    pub(crate) fn consumed_offsets(
        &self,
        only: Option<&[TopicPartition]>,
    ) -> Vec<(TopicPartition, i64)> {
        let state = self.state();
        state
            .assignment
            .iter()
            .filter(|(tp, _)| only.is_none_or(|o| o.contains(tp)))
            .filter_map(|(tp, p)| Some((tp.clone(), p.consumed?)))
            .collect()
    }
}
