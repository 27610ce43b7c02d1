//! The consumer: fetching, positions, consumer groups and offset commits.
//!
//! ```text
//!  consumer.poll(timeout) / consumer.stream()      ── hands out buffered records, moves positions
//!     ▲ records per partition (decoded, skipped below the position)
//!  fetcher task: partitions grouped by leader ─▶ one Fetch in flight per broker (long poll,
//!               fetch.min.bytes / fetch.max.wait.ms), next Fetch sent while the application
//!               still reads the last answer; errors ─▶ metadata hooks, auto.offset.reset
//!  group task (group.id set and subscribe() called): FindCoordinator ─▶ JoinGroup ─▶ assignor
//!               (leader) ─▶ SyncGroup ─▶ Heartbeat every heartbeat.interval.ms, auto-commit
//!               every auto.commit.interval.ms, listener calls, LeaveGroup on close
//! ```
//!
//! ```no_run
//! use std::time::Duration;
//! use streamctl_client::consumer::Consumer;
//!
//! # async fn demo() -> streamctl_client::Result<()> {
//! let consumer = Consumer::builder("localhost:9092")
//!     .group_id("billing")
//!     .enable_auto_commit(false)
//!     .build()
//!     .await?;
//! consumer.subscribe(["orders"])?;
//! loop {
//!     let records = consumer.poll(Duration::from_secs(1)).await?;
//!     for r in &records {
//!         println!("{}-{}@{}: {:?}", r.topic, r.partition, r.offset, r.value);
//!     }
//!     consumer.commit().await?;
//! }
//! # }
//! ```
//!
//! Groups use Kafka's classic protocol with the `consumer` protocol type, so our members
//! share groups with Java, librdkafka and every other Kafka client; the assignors are
//! `range`, `roundrobin` and `cooperative-sticky` (KIP-429 incremental rebalancing). Static
//! membership (KIP-345) is `group.instance.id`. Kafka's property names are accepted too:
//! `ConsumerBuilder::set("fetch.max.wait.ms", "100")`.

mod aborted;
pub mod assignor;
mod config;
pub(crate) mod fetcher;
pub(crate) mod group;
pub mod offsets;
mod record;
mod state;
mod stream;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use streamctl_protocol::ErrorCode;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::metadata::Cluster;

pub use assignor::{
    Assignor, CooperativeStickyAssignor, MemberSubscription, RangeAssignor, RoundRobinAssignor,
};
pub use config::{
    assignor_by_name, ConsumerBuilder, ConsumerConfig, GroupProtocol, IsolationLevel, OffsetReset,
};
pub use group::{ListenerFuture, RebalanceListener};
pub use record::{ConsumerRecord, TopicPartition};

/// A consumer's group membership, for offsets committed inside a transaction (Java's
/// `ConsumerGroupMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The generation the consumer is in, or -1 outside group management.
    pub generation_id: i32,
    /// Its member id, or empty.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}
pub(crate) use state::ConsumerInner;
pub(crate) use state::{Generation, State, Subscription};
pub use stream::RecordStream;

impl ConsumerBuilder {
    /// Connects to the cluster and starts the fetcher. The group is joined on
    /// [`Consumer::subscribe`].
    pub async fn build(self) -> Result<Consumer> {
        self.config.validate()?;
        let cluster = Cluster::connect(self.config.client.clone()).await?;
        let inner = Arc::new(ConsumerInner {
            cluster,
            config: self.config,
            listener: self.listener,
            state: Mutex::new(State::default()),
            records_ready: Notify::new(),
            fetch_wake: Notify::new(),
            group_wake: Notify::new(),
            unsubscribed: Notify::new(),
            group_task: std::sync::OnceLock::new(),
            coordinator: tokio::sync::Mutex::new(None),
            stop: CancellationToken::new(),
        });
        let fetcher = tokio::spawn(fetcher::run(inner.clone()));
        // The group task exists whenever there is a group: it joins on subscribe, and
        // auto-commits manually assigned partitions too.
        let group = inner.config.group_id.is_some().then(|| {
            let view = Consumer {
                inner: inner.clone(),
                tasks: Arc::new(Mutex::new(Tasks {
                    fetcher: None,
                    group: None,
                })),
            };
            let task = tokio::spawn(group::run(inner.clone(), view));
            let _ = inner.group_task.set(task.id());
            task
        });
        Ok(Consumer {
            inner,
            tasks: Arc::new(Mutex::new(Tasks {
                fetcher: Some(fetcher),
                group,
            })),
        })
    }
}

#[derive(Debug)]
struct Tasks {
    fetcher: Option<JoinHandle<()>>,
    group: Option<JoinHandle<()>>,
}

/// A Kafka consumer. Cheap to clone; clones share one assignment and one set of positions.
#[derive(Debug, Clone)]
pub struct Consumer {
    inner: Arc<ConsumerInner>,
    tasks: Arc<Mutex<Tasks>>,
}

impl Consumer {
    /// Starts building a consumer for `bootstrap.servers`.
    pub fn builder(bootstrap_servers: &str) -> ConsumerBuilder {
        let mut config = ConsumerConfig::default();
        config.client = config.client.bootstrap_servers(bootstrap_servers);
        ConsumerBuilder {
            config,
            listener: None,
        }
    }

    /// Starts building a consumer from a full config.
    pub fn with_config(config: ConsumerConfig) -> ConsumerBuilder {
        ConsumerBuilder {
            config,
            listener: None,
        }
    }

    /// The cluster view the consumer uses.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.inner.config
    }

    fn tasks(&self) -> MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Consumes exactly these partitions, without a group (positions start from the
    /// committed offset when `group.id` is set, else from `auto.offset.reset`). Replaces the
    /// previous assignment; an error after `subscribe`.
    pub fn assign(&self, partitions: impl IntoIterator<Item = TopicPartition>) -> Result<()> {
        let mut state = self.inner.state();
        if !matches!(state.subscription, Subscription::None) {
            return Err(Error::InvalidRequest(
                "assign after subscribe: call unsubscribe first".into(),
            ));
        }
        if state.unsubscribes != state.unsubscribes_done {
            return Err(Error::InvalidRequest(
                "assign while the group's partitions are being revoked: await unsubscribe first"
                    .into(),
            ));
        }
        let wanted: BTreeSet<TopicPartition> = partitions.into_iter().collect();
        state.assignment.retain(|tp, _| wanted.contains(tp));
        for tp in wanted {
            state.assignment.entry(tp).or_default();
        }
        drop(state);
        self.inner.fetch_wake.notify_one();
        Ok(())
    }

    /// Joins the group (`group.id`) for these topics; partitions come from the group's
    /// assignor. Calling it again changes the subscription (and rebalances).
    pub fn subscribe<I, S>(&self, topics: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let topics: BTreeSet<String> = topics.into_iter().map(|t| t.as_ref().to_string()).collect();
        self.subscribe_to(Subscription::Topics(topics))
    }

    /// Joins the group for every topic whose whole name matches `pattern` (a regular
    /// expression, as Java's `Pattern`); topics created later are picked up within
    /// `metadata.max.age.ms`.
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<()> {
        let anchored = format!("^(?:{pattern})$");
        let re = regex::Regex::new(&anchored).map_err(|e| {
            Error::InvalidRequest(format!("invalid topic pattern {pattern:?}: {e}"))
        })?;
        self.subscribe_to(Subscription::Pattern(re))
    }

    fn subscribe_to(&self, subscription: Subscription) -> Result<()> {
        if self.inner.config.group_id.is_none() {
            return Err(Error::invalid_config(
                "group.id",
                "",
                "subscribe needs a consumer group (use assign without one)",
            ));
        }
        {
            let mut state = self.inner.state();
            if state.closed {
                return Err(Error::Closed("the consumer"));
            }
            // (Partitions an unsubscribe still revokes are not a manual assignment.)
            let unsubscribing = state.unsubscribes != state.unsubscribes_done;
            if matches!(state.subscription, Subscription::None)
                && !state.assignment.is_empty()
                && !unsubscribing
            {
                return Err(Error::InvalidRequest(
                    "subscribe after assign: call unsubscribe first".into(),
                ));
            }
            state.subscription = subscription;
        }
        self.inner.group_wake.notify_one();
        Ok(())
    }

    /// Drops the manual assignment, or the subscription as Kafka's consumer does: its
    /// partitions stop being handed out at once, the listener's `on_revoked` runs, consumed
    /// positions are committed (with auto-commit) and the group is left (a static member
    /// stays registered). Returns once that is done, which waits for a join in progress to
    /// end first. Called from the rebalance listener, it returns at once and the group task
    /// carries it out after the listener.
    pub async fn unsubscribe(&self) {
        let mine = {
            let mut state = self.inner.state();
            if state.unsubscribes != state.unsubscribes_done {
                // One is under way: wait for it (its partitions are not ours to drop).
                state.unsubscribes
            } else if !state.subscription_active() {
                state.assignment.clear();
                drop(state);
                self.inner.fetch_wake.notify_one();
                return;
            } else {
                state.subscription = Subscription::None;
                for p in state.assignment.values_mut() {
                    p.revoking = true;
                }
                state.unsubscribes += 1;
                state.unsubscribes
            }
        };
        self.inner.group_wake.notify_one();
        if self.inner.in_group_task() {
            return;
        }
        loop {
            let done = self.inner.unsubscribed.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            {
                let state = self.inner.state();
                if state.unsubscribes_done >= mine {
                    return;
                }
                // Fenced for good, or closed: nobody is left to revoke. (A closing group
                // task is still revoking; its end wakes us.)
                if state.group_task_ended {
                    drop(state);
                    self.inner.unsubscribed(mine);
                    return;
                }
            }
            done.await;
        }
    }

    /// The partitions currently assigned.
    pub fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.inner.state().assignment.keys().cloned().collect()
    }

    /// Waits up to `timeout` for records and returns at most `max.poll.records` of them (an
    /// empty batch when none came). Records handed out by earlier calls count as processed
    /// for auto-commit. Errors of the fetcher, of auto-commits and of dropped async commits
    /// are returned here, once each.
    ///
    /// Cancel-safe: records are taken from the buffers only in the step that returns them.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        self.poll_up_to(timeout, self.inner.config.max_poll_records, true)
            .await
    }

    async fn poll_up_to(
        &self,
        timeout: Duration,
        max: usize,
        mark_consumed: bool,
    ) -> Result<Vec<ConsumerRecord>> {
        let inner = &self.inner;
        if mark_consumed {
            let mut state = inner.state();
            for p in state.assignment.values_mut() {
                if p.position.is_some() {
                    p.consumed = p.position;
                }
            }
        }
        let deadline = crate::backoff::deadline_after(timeout);
        loop {
            let notified = inner.records_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = inner.state();
                if let Some(e) = state.errors.pop_front() {
                    return Err(e);
                }
                if state.closed {
                    return Err(Error::Closed("the consumer"));
                }
                let out = take_records(&mut state, max);
                tracing::trace!(
                    records = out.len(),
                    buffered = state
                        .assignment
                        .values()
                        .map(|p| p.buffered.len())
                        .sum::<usize>(),
                    "poll"
                );
                if !out.is_empty() {
                    drop(state);
                    inner.fetch_wake.notify_one();
                    return Ok(out);
                }
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
            }
        }
    }

    /// The records as an endless stream (errors as items, the stream goes on after them).
    pub fn stream(&self) -> RecordStream {
        RecordStream::new(self.clone())
    }

    /// Sets the next offset to hand out for an assigned partition.
    pub fn seek(&self, partition: &TopicPartition, offset: i64) -> Result<()> {
        let mut state = self.inner.state();
        let Some(p) = state.assignment.get_mut(partition) else {
            return Err(not_assigned(partition));
        };
        p.seek(offset);
        debug!(topic = %partition.topic, partition = partition.partition, offset, "seek");
        drop(state);
        self.inner.fetch_wake.notify_one();
        Ok(())
    }

    /// Moves these partitions (all assigned ones when empty) to their log start offsets.
    pub async fn seek_to_beginning(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_to(partitions, offsets::EARLIEST).await
    }

    /// Moves these partitions (all assigned ones when empty) to their log end offsets.
    pub async fn seek_to_end(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_to(partitions, offsets::LATEST).await
    }

    async fn seek_to(&self, partitions: &[TopicPartition], timestamp: i64) -> Result<()> {
        let targets: Vec<TopicPartition> = if partitions.is_empty() {
            self.assignment().into_iter().collect()
        } else {
            partitions.to_vec()
        };
        for tp in &targets {
            if !self.inner.state().assignment.contains_key(tp) {
                return Err(not_assigned(tp));
            }
        }
        let query: Vec<(TopicPartition, i64)> =
            targets.iter().map(|tp| (tp.clone(), timestamp)).collect();
        let found = offsets::list_offsets(
            &self.inner.cluster,
            &query,
            self.inner.config.isolation_level,
        )
        .await?;
        for (tp, (offset, _)) in found {
            // A partition revoked meanwhile is simply skipped.
            let _ = self.seek(&tp, offset);
        }
        Ok(())
    }

    /// For each partition, the earliest offset whose timestamp is at least the given one
    /// (ms since the epoch), with that record's timestamp; `None` when no record is that
    /// recent.
    pub async fn offsets_for_times(
        &self,
        timestamps: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> Result<BTreeMap<TopicPartition, Option<(i64, i64)>>> {
        let query: Vec<(TopicPartition, i64)> = timestamps.into_iter().collect();
        let found = offsets::list_offsets(
            &self.inner.cluster,
            &query,
            self.inner.config.isolation_level,
        )
        .await?;
        Ok(query
            .into_iter()
            .map(|(tp, _)| {
                let hit = found.get(&tp).copied().filter(|(offset, _)| *offset >= 0);
                (tp, hit)
            })
            .collect())
    }

    /// The log start offsets (`beginning_offsets`) of partitions.
    pub async fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.boundary(partitions, offsets::EARLIEST).await
    }

    /// The log end offsets (high watermarks) of partitions.
    pub async fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.boundary(partitions, offsets::LATEST).await
    }

    async fn boundary(
        &self,
        partitions: &[TopicPartition],
        timestamp: i64,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let query: Vec<(TopicPartition, i64)> = partitions
            .iter()
            .map(|tp| (tp.clone(), timestamp))
            .collect();
        let found = offsets::list_offsets(
            &self.inner.cluster,
            &query,
            self.inner.config.isolation_level,
        )
        .await?;
        Ok(found.into_iter().map(|(tp, (o, _))| (tp, o)).collect())
    }

    /// Stops handing out and fetching records of these partitions (they stay assigned).
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, true)
    }

    /// Undoes [`Consumer::pause`].
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, false)
    }

    fn set_paused(&self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        let mut state = self.inner.state();
        for tp in partitions {
            if !state.assignment.contains_key(tp) {
                return Err(not_assigned(tp));
            }
        }
        for tp in partitions {
            if let Some(p) = state.assignment.get_mut(tp) {
                p.paused = paused;
            }
        }
        drop(state);
        self.inner.fetch_wake.notify_one();
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> BTreeSet<TopicPartition> {
        let state = self.inner.state();
        state
            .assignment
            .iter()
            .filter(|(_, p)| p.paused)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The next offset `poll` hands out for a partition, waiting (up to
    /// `request.timeout.ms`) for it to be resolved from the committed offset or
    /// `auto.offset.reset`.
    pub async fn position(&self, partition: &TopicPartition) -> Result<i64> {
        let timeout = self.inner.config.client.request_timeout;
        let deadline = crate::backoff::deadline_after(timeout);
        loop {
            let notified = self.inner.records_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.inner.state();
                let Some(p) = state.assignment.get_mut(partition) else {
                    return Err(not_assigned(partition));
                };
                if let Some(position) = p.position {
                    return Ok(position);
                }
                if p.needs_seek {
                    return Err(no_offset(partition));
                }
                p.position_wanted = true;
            }
            self.inner.fetch_wake.notify_one();
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Error::Timeout {
                        what: format!("the position of {partition}"),
                        timeout,
                    })
                }
            }
        }
    }

    /// The committed offsets of the group for these partitions (`None`: nothing committed).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
        let found = offsets::fetch_committed(&self.inner, partitions).await?;
        Ok(partitions
            .iter()
            .map(|tp| (tp.clone(), found.get(tp).copied()))
            .collect())
    }

    /// Commits the positions of every assigned partition (everything `poll` handed out) and
    /// waits for the coordinator's answer.
    pub async fn commit(&self) -> Result<()> {
        let offsets: Vec<(TopicPartition, i64)> = {
            let state = self.inner.state();
            state
                .assignment
                .iter()
                .filter_map(|(tp, p)| Some((tp.clone(), p.position?)))
                .collect()
        };
        self.commit_offsets(offsets).await
    }

    /// Commits `record.offset + 1` for the record's partition.
    pub async fn commit_record(&self, record: &ConsumerRecord) -> Result<()> {
        self.commit_offsets([(record.topic_partition(), record.offset + 1)])
            .await
    }

    /// The group membership a transactional producer commits this consumer's offsets under
    /// ([`Producer::send_offsets_to_transaction`](crate::Producer::send_offsets_to_transaction)):
    /// the coordinator refuses them if the consumer left its generation (a zombie).
    pub fn group_metadata(&self) -> Result<ConsumerGroupMetadata> {
        let group_id = self.inner.config.group_id.clone().ok_or_else(|| {
            Error::invalid_config("group.id", "", "group metadata needs a group.id")
        })?;
        let state = self.inner.state();
        // A member (subscribed, or revoking on unsubscribe), as commits are attributed.
        let (generation_id, member_id) = match &state.generation {
            Some(g) => (g.generation_id, g.member_id.clone()),
            None => (-1, String::new()),
        };
        Ok(ConsumerGroupMetadata {
            group_id,
            generation_id,
            member_id,
            group_instance_id: self.inner.config.group_instance_id.clone(),
        })
    }

    /// The position of every assigned partition that has one (the next offset to read).
    pub fn positions(&self) -> Vec<(TopicPartition, i64)> {
        self.inner
            .state()
            .assignment
            .iter()
            .filter_map(|(tp, p)| Some((tp.clone(), p.position?)))
            .collect()
    }

    /// Commits explicit offsets (the next offset to read, as Kafka defines a commit).
    pub async fn commit_offsets(
        &self,
        offsets: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> Result<()> {
        let offsets: Vec<(TopicPartition, i64)> = offsets.into_iter().collect();
        offsets::commit(&self.inner, &offsets).await
    }

    /// Starts committing the current positions and returns at once. Await the handle for
    /// the outcome; if the handle is dropped, a failure is returned by the next `poll`.
    pub fn commit_async(&self) -> CommitHandle {
        let offsets: Vec<(TopicPartition, i64)> = {
            let state = self.inner.state();
            state
                .assignment
                .iter()
                .filter_map(|(tp, p)| Some((tp.clone(), p.position?)))
                .collect()
        };
        self.commit_offsets_async(offsets)
    }

    /// Starts committing explicit offsets; see [`Consumer::commit_async`].
    pub fn commit_offsets_async(
        &self,
        offsets: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> CommitHandle {
        let offsets: Vec<(TopicPartition, i64)> = offsets.into_iter().collect();
        let inner = self.inner.clone();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let result = offsets::commit(&inner, &offsets).await;
            if let Err(Err(e)) = tx.send(result) {
                warn!(error = %e, "asynchronous commit failed");
                inner.report(e);
            }
        });
        CommitHandle { rx }
    }

    /// Commits (with auto-commit), tells the listener, leaves the group (unless static) and
    /// stops the background tasks, waiting at most `timeout`.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        let group = {
            let mut state = self.inner.state();
            if state.closed {
                return Ok(());
            }
            state.closed = true;
            drop(state);
            self.tasks().group.take()
        };
        let mut result = Ok(());
        // Without a group there is nothing to commit or leave.
        if let Some(mut task) = group {
            self.inner.group_wake.notify_one();
            if tokio::time::timeout(timeout, &mut task).await.is_err() {
                self.inner.stop.cancel();
                task.abort();
                result = Err(Error::Timeout {
                    what: "closing the consumer (leaving the group)".into(),
                    timeout,
                });
            }
        }
        self.inner.stop.cancel();
        self.inner.records_ready.notify_waiters();
        let fetcher = self.tasks().fetcher.take();
        if let Some(t) = fetcher {
            let _ = t.await;
        }
        debug!("consumer closed");
        result
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        // The last handle is gone without close(): stop the tasks rather than leak them.
        if let Some(t) = self.fetcher.take() {
            t.abort();
        }
        if let Some(t) = self.group.take() {
            t.abort();
        }
    }
}

fn not_assigned(partition: &TopicPartition) -> Error {
    Error::InvalidRequest(format!("{partition} is not assigned to this consumer"))
}

pub(crate) fn no_offset(partition: &TopicPartition) -> Error {
    Error::broker_for(
        ErrorCode::OffsetOutOfRange,
        Some("no valid offset and auto.offset.reset is none: seek first".into()),
        partition.topic.clone(),
        Some(partition.partition),
    )
}

/// Takes up to `max` records round-robin over the partitions that may hand out.
fn take_records(state: &mut State, max: usize) -> Vec<ConsumerRecord> {
    let mut out = Vec::new();
    let n = state.assignment.len();
    if n == 0 {
        return out;
    }
    let start = state.next_partition % n;
    state.next_partition = state.next_partition.wrapping_add(1);
    let keys: Vec<TopicPartition> = state
        .assignment
        .iter()
        .filter(|(_, p)| !p.buffered.is_empty() && p.deliverable())
        .map(|(tp, _)| tp.clone())
        .collect();
    if keys.is_empty() {
        return out;
    }
    let start = start % keys.len();
    for tp in keys.iter().cycle().skip(start).take(keys.len()) {
        let Some(p) = state.assignment.get_mut(tp) else {
            continue;
        };
        while out.len() < max {
            let Some(r) = p.buffered.pop_front() else {
                break;
            };
            p.buffered_bytes = p.buffered_bytes.saturating_sub(record_size(&r));
            match p.position {
                Some(pos) if r.offset < pos => continue,
                _ => {}
            }
            p.position = Some(r.offset + 1);
            out.push(r);
        }
        p.advance_past_skipped();
        if out.len() >= max {
            break;
        }
    }
    out
}

pub(crate) fn record_size(r: &ConsumerRecord) -> usize {
    40 + r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len)
}

/// The outcome of [`Consumer::commit_async`].
#[derive(Debug)]
pub struct CommitHandle {
    rx: oneshot::Receiver<Result<()>>,
}

impl Future for CommitHandle {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed("the consumer's commit task"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Partitions per topic, from metadata, for the topics given.
pub(crate) async fn partition_counts(
    cluster: &Cluster,
    topics: impl IntoIterator<Item = String>,
) -> HashMap<String, i32> {
    let mut out = HashMap::new();
    for topic in topics {
        match cluster.partitions_for(&topic).await {
            Ok(md) => {
                out.insert(topic, md.partition_count() as i32);
            }
            Err(e) => debug!(topic, error = %e, "no metadata for a subscribed topic"),
        }
    }
    out
}

#[cfg(test)]
mod tests;
