//! The data layer: a background task that polls the cluster and posts [`Snapshot`]s.
//!
//! ```text
//!  every --refresh (or on Request::Refresh / after a broker operation):
//!    Metadata (all topics) ──▶ brokers up, leaders, replicas, ISR, offline
//!    ListOffsets earliest+latest ──▶ watermarks of the watched (visible) topics, plus a
//!      (+ latest read_committed:      rotating slice of the others (ROTATION partitions/tick)
//!       the last stable offset)
//!    ListGroups, then DescribeGroups + lag for up to GROUP_BUDGET groups (rotating)
//!    ListTransactions, then DescribeTransactions for up to TXN_BUDGET open ones
//!    GET /v1/cluster on the devcluster admin plane (which brokers run)
//!  ──Action::Data(snapshot)──▶ the event loop ──▶ App::update
//! ```
//!
//! Every network call has a deadline, so a dead broker slows a poll down but never stalls
//! the task; the UI keeps drawing from the last snapshot meanwhile.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use streamctl_client::admin::TransactionFilter;
use streamctl_client::consumer::offsets::{list_offsets, EARLIEST, LATEST};
use streamctl_client::consumer::{IsolationLevel, TopicPartition};
use streamctl_client::Admin;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::app::{Action, BrokerOp, Watch};
use super::model::{
    BrokerView, GroupDetail, GroupView, LagView, MemberView, PartitionView, Snapshot, TopicView,
    TxnView,
};
use crate::devadmin::DevAdmin;

/// Partitions outside the visible topics whose watermarks are fetched per tick.
const ROTATION: usize = 512;
/// Groups described (with lag) per tick.
const GROUP_BUDGET: usize = 50;
/// Open transactions described per tick (the rest keep their last description).
const TXN_BUDGET: usize = 50;
/// The deadline of each step of a poll.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A topic's last watermarks: when they were fetched, and each partition's.
type Watermarks = (Instant, Vec<Marks>);

/// One partition's watermarks.
#[derive(Debug, Clone, Copy)]
struct Marks {
    partition: i32,
    low: Option<i64>,
    high: Option<i64>,
    stable: Option<i64>,
}

/// What the event loop asks of the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollRequest {
    /// Poll now.
    Refresh,
    /// Run a devcluster broker operation, then poll.
    Broker(i32, BrokerOp),
}

/// The poller's state between ticks.
#[derive(Debug)]
pub struct Poller {
    admin: Admin,
    dev: Option<DevAdmin>,
    actions: mpsc::UnboundedSender<Action>,
    watch: watch::Receiver<Watch>,
    /// Every broker ever seen, so one that went down is still listed (as down).
    known: BTreeMap<i32, BrokerView>,
    /// Last watermarks per topic.
    watermarks: HashMap<String, Watermarks>,
    /// Where the next rotating slice of topics starts.
    topic_cursor: usize,
    /// Where the next slice of groups starts.
    group_cursor: usize,
    /// Last group views, kept for groups outside this tick's slice.
    groups: HashMap<String, GroupView>,
    /// Last transaction views, kept for those not described this tick.
    transactions: HashMap<String, TxnView>,
}

impl Poller {
    /// A poller posting to `actions`, fetching in detail what `watch` says.
    pub fn new(
        admin: Admin,
        dev: Option<DevAdmin>,
        actions: mpsc::UnboundedSender<Action>,
        watch: watch::Receiver<Watch>,
    ) -> Self {
        Self {
            admin,
            dev,
            actions,
            watch,
            known: BTreeMap::new(),
            watermarks: HashMap::new(),
            topic_cursor: 0,
            group_cursor: 0,
            groups: HashMap::new(),
            transactions: HashMap::new(),
        }
    }

    /// Polls every `interval` and on request, until the request channel closes.
    pub async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<PollRequest>,
        interval: Duration,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if self.watch.borrow().paused {
                        continue;
                    }
                }
                request = requests.recv() => match request {
                    None => return,
                    Some(PollRequest::Refresh) => {}
                    Some(PollRequest::Broker(id, op)) => self.broker(id, op).await,
                },
            }
            let snapshot = self.poll().await;
            if self.actions.send(Action::Data(Box::new(snapshot))).is_err() {
                return;
            }
        }
    }

    async fn broker(&self, id: i32, op: BrokerOp) {
        let Some(dev) = &self.dev else {
            return;
        };
        let status = match dev.broker(id, op.path()).await {
            Ok(_) => format!("broker {id}: {} done", op.path()),
            Err(e) => format!("broker {id}: {} failed: {e:#}", op.path()),
        };
        let _ = self.actions.send(Action::Status(status));
    }

    /// One poll of everything the screens show.
    pub async fn poll(&mut self) -> Snapshot {
        let watch = self.watch.borrow().clone();
        let mut snapshot = Snapshot::default();
        let cluster = self.admin.cluster().clone();
        match tokio::time::timeout(STEP_TIMEOUT, cluster.refresh_all()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => snapshot.errors.push(format!("metadata: {e}")),
            Err(_) => snapshot.errors.push("metadata: timed out".into()),
        }
        let md = cluster.snapshot();
        snapshot.cluster_id = md.cluster_id().map(str::to_string);
        snapshot.controller = md.controller_id();
        let live: HashSet<i32> = md.brokers().map(|b| b.node_id).collect();
        for b in md.brokers() {
            self.known.insert(
                b.node_id,
                BrokerView {
                    id: b.node_id,
                    host: b.host.clone(),
                    port: b.port,
                    rack: b.rack.clone(),
                    up: true,
                },
            );
        }
        let mut topics: Vec<TopicView> = md
            .topics()
            .map(|t| TopicView {
                name: t.name.clone(),
                internal: t.is_internal,
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| PartitionView {
                        partition: p.partition,
                        leader: p.leader_id,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        offline: p.offline_replicas.clone(),
                        low_watermark: None,
                        high_watermark: None,
                        last_stable_offset: None,
                        dirty_ppm: None,
                    })
                    .collect(),
                watermarks_at: None,
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        // Brokers that only appear as replicas were seen by someone; list them too.
        for id in topics
            .iter()
            .flat_map(|t| &t.partitions)
            .flat_map(|p| &p.replicas)
        {
            self.known.entry(*id).or_insert_with(|| BrokerView {
                id: *id,
                host: "?".into(),
                port: 0,
                rack: None,
                up: false,
            });
        }
        for b in self.known.values_mut() {
            b.up = live.contains(&b.id);
        }
        if let Some(dev) = &self.dev {
            match tokio::time::timeout(STEP_TIMEOUT, dev.cluster()).await {
                Ok(Ok(state)) => {
                    snapshot.admin_plane = Some(true);
                    for t in &state.topics {
                        let Some(view) = topics.iter_mut().find(|v| v.name == t.name) else {
                            continue;
                        };
                        for (p, view) in t.partitions.iter().zip(view.partitions.iter_mut()) {
                            view.dirty_ppm = p
                                .cleaner
                                .as_ref()
                                .map(|c| (c.dirty_ratio() * 1_000_000.0) as u32);
                        }
                    }
                    for b in state.brokers {
                        let view = self.known.entry(b.id).or_insert_with(|| BrokerView {
                            id: b.id,
                            host: b.host.clone(),
                            port: i32::from(b.port),
                            rack: None,
                            up: b.running,
                        });
                        view.up = b.running;
                        if view.host == "?" {
                            view.host = b.host;
                            view.port = i32::from(b.port);
                        }
                    }
                }
                Ok(Err(e)) => {
                    snapshot.admin_plane = Some(false);
                    snapshot.errors.push(format!("admin plane: {e:#}"));
                }
                Err(_) => {
                    snapshot.admin_plane = Some(false);
                    snapshot.errors.push("admin plane: timed out".into());
                }
            }
        }
        snapshot.brokers = self.known.values().cloned().collect();

        self.fetch_watermarks(&mut topics, &watch, &live, &mut snapshot.errors)
            .await;
        snapshot.topics = topics;
        self.fetch_groups(&watch, &mut snapshot).await;
        self.fetch_transactions(&mut snapshot).await;
        snapshot.at = Some(Instant::now());
        snapshot
    }

    async fn fetch_watermarks(
        &mut self,
        topics: &mut [TopicView],
        watch: &Watch,
        live: &HashSet<i32>,
        errors: &mut Vec<String>,
    ) {
        let watched: HashSet<&str> = watch.topics.iter().map(String::as_str).collect();
        let mut chosen: Vec<usize> = Vec::new();
        for (i, t) in topics.iter().enumerate() {
            if watched.contains(t.name.as_str()) {
                chosen.push(i);
            }
        }
        // A rotating slice of the other topics, so the overview's rate and the messages
        // column fill in over a few ticks without asking for every partition each time.
        let n = topics.len();
        let mut budget = ROTATION;
        let mut scanned = 0;
        while budget > 0 && scanned < n {
            let i = (self.topic_cursor + scanned) % n;
            scanned += 1;
            if let Some(t) = topics.get(i) {
                if !watched.contains(t.name.as_str()) {
                    budget = budget.saturating_sub(t.partitions.len().max(1));
                    chosen.push(i);
                }
            }
        }
        if n > 0 {
            self.topic_cursor = (self.topic_cursor + scanned) % n;
        }
        // Only partitions with a live leader: a dead one would hold the request until its
        // timeout, and its watermarks are unknown anyway.
        let query: Vec<TopicPartition> = chosen
            .iter()
            .filter_map(|&i| topics.get(i))
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.leader.is_some_and(|l| live.contains(&l)))
                    .map(|p| TopicPartition::new(t.name.clone(), p.partition))
            })
            .collect();
        if !query.is_empty() {
            let cluster = self.admin.cluster();
            let earliest: Vec<(TopicPartition, i64)> =
                query.iter().map(|tp| (tp.clone(), EARLIEST)).collect();
            let latest: Vec<(TopicPartition, i64)> =
                query.iter().map(|tp| (tp.clone(), LATEST)).collect();
            let (low, high, stable) = tokio::join!(
                tokio::time::timeout(
                    STEP_TIMEOUT,
                    list_offsets(cluster, &earliest, IsolationLevel::ReadUncommitted)
                ),
                tokio::time::timeout(
                    STEP_TIMEOUT,
                    list_offsets(cluster, &latest, IsolationLevel::ReadUncommitted)
                ),
                tokio::time::timeout(
                    STEP_TIMEOUT,
                    list_offsets(cluster, &latest, IsolationLevel::ReadCommitted)
                ),
            );
            let at = Instant::now();
            match (low, high) {
                (Ok(Ok(low)), Ok(Ok(high))) => {
                    // The last stable offset is extra: a broker without transactions answers
                    // the high watermark, one that fails leaves the column empty.
                    let stable = stable.ok().and_then(Result::ok).unwrap_or_default();
                    for &i in &chosen {
                        let Some(t) = topics.get(i) else { continue };
                        let marks = t
                            .partitions
                            .iter()
                            .map(|p| {
                                let tp = TopicPartition::new(t.name.clone(), p.partition);
                                Marks {
                                    partition: p.partition,
                                    low: low.get(&tp).map(|(o, _)| *o),
                                    high: high.get(&tp).map(|(o, _)| *o),
                                    stable: stable.get(&tp).map(|(o, _)| *o),
                                }
                            })
                            .collect();
                        self.watermarks.insert(t.name.clone(), (at, marks));
                    }
                }
                (Ok(Err(e)), _) | (_, Ok(Err(e))) => errors.push(format!("watermarks: {e}")),
                _ => errors.push("watermarks: timed out".into()),
            }
        }
        for t in topics.iter_mut() {
            if let Some((at, marks)) = self.watermarks.get(&t.name) {
                t.watermarks_at = Some(*at);
                for p in &mut t.partitions {
                    if let Some(m) = marks.iter().find(|m| m.partition == p.partition) {
                        p.low_watermark = m.low;
                        p.high_watermark = m.high;
                        p.last_stable_offset = m.stable;
                    }
                }
            }
        }
    }

    async fn fetch_groups(&mut self, watch: &Watch, snapshot: &mut Snapshot) {
        let listed = match tokio::time::timeout(STEP_TIMEOUT, self.admin.list_groups()).await {
            Ok(Ok(l)) => l,
            failed => {
                snapshot.errors.push(match failed {
                    Ok(Err(e)) => format!("groups: {e}"),
                    _ => "groups: timed out".into(),
                });
                // The last known groups stay on screen (a broker may be down mid-poll).
                snapshot.groups = (!self.groups.is_empty()).then(|| {
                    let mut g: Vec<GroupView> = self.groups.values().cloned().collect();
                    g.sort_by(|a, b| a.group_id.cmp(&b.group_id));
                    g
                });
                return;
            }
        };
        let ids: Vec<String> = listed.iter().map(|g| g.group_id.clone()).collect();
        let mut slice: Vec<String> = Vec::new();
        if let Some(g) = &watch.group {
            slice.push(g.clone());
        }
        let n = ids.len();
        for k in 0..n.min(GROUP_BUDGET) {
            if let Some(id) = ids.get((self.group_cursor + k) % n) {
                if !slice.contains(id) {
                    slice.push(id.clone());
                }
            }
        }
        if n > 0 {
            self.group_cursor = (self.group_cursor + GROUP_BUDGET) % n;
        }
        let mut tasks = JoinSet::new();
        for id in slice {
            let admin = self.admin.clone();
            tasks.spawn(async move {
                let described = tokio::time::timeout(STEP_TIMEOUT, admin.describe_group(&id)).await;
                let lag = tokio::time::timeout(STEP_TIMEOUT, admin.group_lag(&id)).await;
                (id, described, lag)
            });
        }
        let mut fresh: HashMap<String, (Option<GroupDetail>, Option<Vec<LagView>>)> =
            HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((id, described, lag)) = joined else {
                continue;
            };
            let detail = match described {
                Ok(Ok(d)) => Some(GroupDetail {
                    group_id: d.group_id,
                    state: d.state,
                    protocol: d.protocol,
                    epochs: d.group_epoch.zip(d.assignment_epoch),
                    members: d
                        .members
                        .into_iter()
                        .map(|m| {
                            let next: BTreeMap<String, Vec<i32>> = m
                                .target_assignment
                                .iter()
                                .flatten()
                                .map(|(t, ps)| {
                                    let owned = m.assignment.get(t);
                                    let missing = ps
                                        .iter()
                                        .filter(|p| owned.is_none_or(|o| !o.contains(p)))
                                        .copied()
                                        .collect();
                                    (t.clone(), missing)
                                })
                                .collect();
                            MemberView {
                                member_id: m.member_id,
                                client_id: m.client_id,
                                client_host: m.client_host,
                                epoch: m.member_epoch,
                                owns: partitions_text(&m.assignment),
                                next: partitions_text(&next),
                            }
                        })
                        .collect(),
                }),
                Ok(Err(e)) => {
                    snapshot.errors.push(format!("group {id}: {e}"));
                    None
                }
                Err(_) => None,
            };
            let lag = match lag {
                Ok(Ok(rows)) => Some(
                    rows.into_iter()
                        .map(|l| LagView {
                            topic: l.topic,
                            partition: l.partition,
                            committed: l.committed,
                            end_offset: l.end_offset,
                            lag: l.lag,
                            member_id: l.member_id,
                        })
                        .collect(),
                ),
                _ => None,
            };
            fresh.insert(id, (detail, lag));
        }
        let mut groups = Vec::with_capacity(listed.len());
        for g in listed {
            let previous = self.groups.get(&g.group_id);
            let (detail, lag) = fresh.remove(&g.group_id).unwrap_or((None, None));
            let view = GroupView {
                state: detail
                    .as_ref()
                    .map(|d| d.state.clone())
                    .or(g.state.clone())
                    .or_else(|| previous.map(|p| p.state.clone()))
                    .unwrap_or_else(|| "-".into()),
                members: detail
                    .as_ref()
                    .map(|d| d.members.len())
                    .or_else(|| previous.and_then(|p| p.members)),
                lag: lag.or_else(|| previous.and_then(|p| p.lag.clone())),
                protocol_type: g.protocol_type,
                group_type: g.group_type,
                group_id: g.group_id,
            };
            if watch.group.as_deref() == Some(view.group_id.as_str()) {
                snapshot.group_detail = detail;
            }
            groups.push(view);
        }
        self.groups = groups
            .iter()
            .map(|g| (g.group_id.clone(), g.clone()))
            .collect();
        snapshot.groups = Some(groups);
    }

    async fn fetch_transactions(&mut self, snapshot: &mut Snapshot) {
        let filter = TransactionFilter::default();
        let listed =
            match tokio::time::timeout(STEP_TIMEOUT, self.admin.list_transactions(&filter)).await {
                Ok(Ok(l)) => l,
                failed => {
                    snapshot.errors.push(match failed {
                        Ok(Err(e)) => format!("transactions: {e}"),
                        _ => "transactions: timed out".into(),
                    });
                    snapshot.transactions = (!self.transactions.is_empty()).then(|| {
                        let mut t: Vec<TxnView> = self.transactions.values().cloned().collect();
                        t.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
                        t
                    });
                    return;
                }
            };
        let mut views: Vec<TxnView> = listed
            .into_iter()
            .map(|t| TxnView {
                transactional_id: t.transactional_id,
                state: t.state,
                producer_id: t.producer_id,
                coordinator: t.coordinator,
                started_ms: None,
                timeout_ms: None,
                partitions: Vec::new(),
            })
            .collect();
        // Open transactions are what people look for; describe those (up to the budget).
        let mut tasks = JoinSet::new();
        for v in views.iter().filter(|v| v.open()).take(TXN_BUDGET) {
            let admin = self.admin.clone();
            let id = v.transactional_id.clone();
            tasks.spawn(async move {
                let described =
                    tokio::time::timeout(STEP_TIMEOUT, admin.describe_transaction(&id)).await;
                (id, described)
            });
        }
        let mut described = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((id, Ok(Ok(d)))) = joined {
                described.insert(id, d);
            }
        }
        for v in &mut views {
            if let Some(d) = described.remove(&v.transactional_id) {
                v.started_ms = d.start_time_ms;
                v.timeout_ms = Some(d.timeout_ms);
                v.partitions = d
                    .partitions
                    .iter()
                    .flat_map(|(t, ps)| ps.iter().map(move |p| format!("{t}-{p}")))
                    .collect();
            } else if let Some(previous) = self
                .transactions
                .get(&v.transactional_id)
                .filter(|p| p.open() && v.open() && p.producer_id == v.producer_id)
            {
                v.started_ms = previous.started_ms;
                v.timeout_ms = previous.timeout_ms;
                v.partitions = previous.partitions.clone();
            }
        }
        self.transactions = views
            .iter()
            .map(|v| (v.transactional_id.clone(), v.clone()))
            .collect();
        snapshot.transactions = Some(views);
    }
}

/// Partitions by topic as `topic[0,1] other[2]`, empty topics left out.
fn partitions_text(a: &BTreeMap<String, Vec<i32>>) -> String {
    a.iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(t, ps)| {
            let ids: Vec<String> = ps.iter().map(i32::to_string).collect();
            format!("{t}[{}]", ids.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
