//! Rebalances, measured: the classic group protocol (eager `range`, and `cooperative-sticky`)
//! against the consumer protocol (KIP-848), with our consumer, on one dev cluster. Prints its
//! setup and its numbers.
//!
//! ```sh
//! cargo run --release -p streamctl-examples --example bench-rebalance
//! cargo run --release -p streamctl-examples --example bench-rebalance -- --runs 3 --partitions 100
//! ```
//!
//! 1. **Join, leave, crash** (3 members, 6 partitions): the time from a fourth member's
//!    `subscribe` until the four own all six partitions between them; from a member's
//!    `close` until the other three do; from a member dropped without leaving (a crash: its
//!    heartbeats stop) until the other three do, which the session timeout dominates.
//! 2. **Scale** (`--members` members, `--partitions` partitions, records produced to every
//!    partition all along): one member more joins. For each partition, the longest gap
//!    between two records consumed around the rebalance: the pause a partition sees.
//!    Partitions that keep their owner and partitions that move are reported apart.
//!
//! `BENCH_TRACE=1` prints the members' partition counts every 5 ms of the scale runs.
//!
//! Defaults against defaults: classic members heartbeat every 3 s (`heartbeat.interval.ms`,
//! Java's default); consumer-protocol members as the coordinator says, 1 s in a dev cluster
//! (`--consumer-heartbeat-ms`; Kafka's default is 5 s). Both session timeouts are set to
//! `--session-ms` (10 s) so the crash case ends in reasonable time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamctl_client::consumer::{
    Consumer, ConsumerBuilder, CooperativeStickyAssignor, GroupProtocol, RangeAssignor,
    TopicPartition,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;
use streamctl_examples::{Flags, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Eager,
    Cooperative,
    Consumer,
}

impl Protocol {
    const ALL: [Protocol; 3] = [Protocol::Eager, Protocol::Cooperative, Protocol::Consumer];

    fn name(self) -> &'static str {
        match self {
            Protocol::Eager => "classic, eager (range)",
            Protocol::Cooperative => "classic, cooperative-sticky",
            Protocol::Consumer => "consumer protocol (uniform)",
        }
    }

    fn builder(self, brokers: &str, group: &str, session: Duration) -> ConsumerBuilder {
        let b = Consumer::builder(brokers)
            .group_id(group)
            .enable_auto_commit(false);
        match self {
            Protocol::Eager => b
                .session_timeout(session)
                .assignors(vec![Arc::new(RangeAssignor)]),
            Protocol::Cooperative => b
                .session_timeout(session)
                .assignors(vec![Arc::new(CooperativeStickyAssignor)]),
            Protocol::Consumer => b.group_protocol(GroupProtocol::Consumer),
        }
    }
}

/// When each partition's records were consumed, by any member.
type Seen = Arc<Mutex<HashMap<i32, Vec<Instant>>>>;

/// A member polling in its own task until stopped.
struct Member {
    consumer: Arc<Consumer>,
    task: tokio::task::JoinHandle<()>,
}

fn start(consumer: Consumer, topic: &str, seen: &Seen) -> Result<Member> {
    consumer.subscribe([topic])?;
    let consumer = Arc::new(consumer);
    let (c, seen) = (consumer.clone(), seen.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok(records) = c.poll(Duration::from_millis(100)).await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            if records.is_empty() {
                continue;
            }
            let now = Instant::now();
            let mut seen = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for r in records {
                seen.entry(r.partition).or_default().push(now);
            }
        }
    });
    Ok(Member { consumer, task })
}

impl Member {
    fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.consumer.assignment()
    }

    async fn close(self) {
        self.task.abort();
        let _ = self.consumer.close(Duration::from_secs(30)).await;
    }

    /// Stops without leaving the group: the coordinator learns of it only by its session
    /// timing out.
    fn crash(self) {
        self.task.abort();
        drop(self.consumer);
    }
}

/// Whether the members own every partition once between them, each at least one.
fn owns_all(members: &[Member], partitions: usize) -> bool {
    let sets: Vec<_> = members.iter().map(Member::assignment).collect();
    let union: BTreeSet<_> = sets.iter().flatten().collect();
    let total: usize = sets.iter().map(BTreeSet::len).sum();
    union.len() == partitions && total == partitions && sets.iter().all(|s| !s.is_empty())
}

/// Waits until the members own every partition between them, each at least one; returns
/// how long that took from `since`.
async fn settled(members: &[Member], partitions: usize, since: Instant) -> Result<Duration> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !owns_all(members, partitions) {
        if Instant::now() > deadline {
            let sets: Vec<_> = members.iter().map(Member::assignment).collect();
            return Err(format!("no settled assignment within 120 s: {sets:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(since.elapsed())
}

/// One measured run: a fresh topic, records produced to it all along, and a group of
/// members consuming it.
struct Run {
    brokers: String,
    protocol: Protocol,
    session: Duration,
    topic: String,
    group: String,
    seen: Seen,
    producer: tokio::task::JoinHandle<()>,
    members: Vec<Member>,
}

impl Run {
    /// `n` members of `protocol` on a new topic of `partitions`, settled.
    async fn start(
        brokers: &str,
        (protocol, session): (Protocol, Duration),
        name: &str,
        partitions: i32,
        n: usize,
    ) -> Result<Run> {
        let topic = format!("{name}-{}", protocol as u8);
        let admin =
            streamctl_client::Admin::connect(streamctl_client::ClientConfig::new(brokers)).await?;
        admin.create_topic(&topic, partitions, 3, &[]).await?;
        let mut run = Run {
            brokers: brokers.to_string(),
            protocol,
            session,
            group: format!("{topic}-group"),
            producer: keep_producing(
                brokers.to_string(),
                topic.clone(),
                partitions,
                Duration::from_millis(20),
            ),
            topic,
            seen: Seen::default(),
            members: Vec::new(),
        };
        for _ in 0..n {
            run.add().await?;
        }
        settled(&run.members, partitions as usize, Instant::now()).await?;
        Ok(run)
    }

    /// One member more.
    async fn add(&mut self) -> Result<()> {
        let consumer = self
            .protocol
            .builder(&self.brokers, &self.group, self.session)
            .build()
            .await?;
        self.members.push(start(consumer, &self.topic, &self.seen)?);
        Ok(())
    }

    async fn finish(self) {
        for m in self.members {
            m.close().await;
        }
        self.producer.abort();
    }
}

/// Produces to every partition of `topic` every `every`, until the token is dropped.
fn keep_producing(
    brokers: String,
    topic: String,
    partitions: i32,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(producer) = Producer::builder(&brokers)
            .linger(Duration::from_millis(1))
            .build()
            .await
        else {
            return;
        };
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            for p in 0..partitions {
                let _ = producer
                    .send(Record::new(&topic).partition(p).value(b"x"))
                    .await;
            }
        }
    })
}

struct SmallGroup {
    join: Duration,
    leave: Duration,
    crash: Duration,
}

async fn small_group(
    brokers: &str,
    protocol: Protocol,
    run: usize,
    session: Duration,
) -> Result<SmallGroup> {
    let mut r = Run::start(brokers, (protocol, session), &format!("small-{run}"), 6, 3).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    r.add().await?;
    let join = settled(&r.members, 6, t).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let leaver = r.members.remove(0);
    let t = Instant::now();
    leaver.close().await;
    let leave = settled(&r.members, 6, t).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let crashed = r.members.remove(0);
    let t = Instant::now();
    crashed.crash();
    let crash = settled(&r.members, 6, t).await?;
    r.finish().await;
    Ok(SmallGroup { join, leave, crash })
}

struct Scale {
    settle: Duration,
    /// The fewest partitions owned at once while the group rebalanced.
    fewest_owned: usize,
    moved: Vec<Duration>,
    kept: Vec<Duration>,
}

async fn scale(
    brokers: &str,
    protocol: Protocol,
    run: usize,
    members_n: usize,
    partitions: i32,
    session: Duration,
) -> Result<Scale> {
    let mut r = Run::start(
        brokers,
        (protocol, session),
        &format!("scale-{run}"),
        partitions,
        members_n,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: BTreeMap<i32, usize> = owners(&r.members);
    let t = Instant::now();
    r.add().await?;
    // Owned partitions, sampled every 5 ms until two seconds after the group settles.
    let mut fewest_owned = partitions as usize;
    let mut settle = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while settle.is_none_or(|s: Duration| t.elapsed() < s + Duration::from_secs(2)) {
        let sets: Vec<_> = r.members.iter().map(Member::assignment).collect();
        let union: BTreeSet<_> = sets.iter().flatten().collect();
        fewest_owned = fewest_owned.min(union.len());
        if std::env::var_os("BENCH_TRACE").is_some() {
            let sizes: Vec<usize> = sets.iter().map(BTreeSet::len).collect();
            println!("  {:>5} ms {sizes:?}", t.elapsed().as_millis());
        }
        if settle.is_none() && owns_all(&r.members, partitions as usize) {
            settle = Some(t.elapsed());
        }
        if Instant::now() > deadline {
            return Err(format!("{}: no settled assignment within 120 s", protocol.name()).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let settle = settle.unwrap_or_default();
    let after = owners(&r.members);
    let window = (t - Duration::from_millis(500), Instant::now());
    let seen = r
        .seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let (mut moved, mut kept) = (Vec::new(), Vec::new());
    for p in 0..partitions {
        let times: Vec<Instant> = seen
            .get(&p)
            .into_iter()
            .flatten()
            .copied()
            .filter(|at| *at >= window.0 && *at <= window.1)
            .collect();
        let gap = times
            .windows(2)
            .filter_map(|w| Some(*w.get(1)? - *w.first()?))
            .max()
            .unwrap_or(window.1 - window.0);
        if before.get(&p) == after.get(&p) {
            kept.push(gap);
        } else {
            moved.push(gap);
        }
    }
    r.finish().await;
    Ok(Scale {
        settle,
        fewest_owned,
        moved,
        kept,
    })
}

fn owners(members: &[Member]) -> BTreeMap<i32, usize> {
    members
        .iter()
        .enumerate()
        .flat_map(|(i, m)| m.assignment().into_iter().map(move |tp| (tp.partition, i)))
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn percentile(mut v: Vec<Duration>, q: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::from_env();
    let runs: usize = flags.parse_or("--runs", 3)?;
    let partitions: i32 = flags.parse_or("--partitions", 100)?;
    let members: usize = flags.parse_or("--members", 9)?;
    let session = Duration::from_millis(flags.parse_or("--session-ms", 10_000)?);
    let heartbeat = Duration::from_millis(flags.parse_or("--consumer-heartbeat-ms", 1_000)?);
    let cluster = DevCluster::builder()
        .brokers(3)
        .in_memory()
        .group_consumer_heartbeat_interval(heartbeat)
        .group_consumer_session_timeout(session)
        .start()
        .await?;
    let brokers = cluster.bootstrap_servers();
    println!("bench-rebalance: 3 brokers in this process (in memory), {runs} runs per protocol");
    println!(
        "  classic: heartbeat.interval.ms 3000 (default), session.timeout.ms {}; initial rebalance delay 100 ms (dev cluster default)",
        session.as_millis()
    );
    println!(
        "  consumer protocol: group.consumer.heartbeat.interval.ms {}, group.consumer.session.timeout.ms {}",
        heartbeat.as_millis(),
        session.as_millis()
    );
    println!("  records produced to every partition every 20 ms throughout");
    println!();
    println!("## join, leave, crash: 3 members, 6 partitions (ms until the members own all 6; median [runs])");
    println!("| protocol | join (4th member) | leave (close) | crash (no leave) |");
    println!("|---|---:|---:|---:|");
    for protocol in Protocol::ALL {
        let mut rows = Vec::new();
        for run in 0..runs {
            rows.push(small_group(&brokers, protocol, run, session).await?);
        }
        let col = |f: &dyn Fn(&SmallGroup) -> Duration| {
            let v: Vec<Duration> = rows.iter().map(f).collect();
            let all: Vec<String> = v.iter().map(|d| ms(*d)).collect();
            format!("**{}** [{}]", ms(median(v)), all.join(", "))
        };
        println!(
            "| {} | {} | {} | {} |",
            protocol.name(),
            col(&|r| r.join),
            col(&|r| r.leave),
            col(&|r| r.crash)
        );
    }
    println!();
    println!(
        "## scale: {members} members on {partitions} partitions, one more joins (longest gap between two records of a partition, ms)"
    );
    println!("| protocol | rebalance settles | fewest owned at once | partitions kept: median / p99 / max | moved: count, median / max |");
    println!("|---|---:|---:|---:|---:|");
    for protocol in Protocol::ALL {
        let mut settle = Vec::new();
        let mut fewest = usize::MAX;
        let (mut kept, mut moved) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let s = scale(&brokers, protocol, run, members, partitions, session).await?;
            settle.push(s.settle);
            fewest = fewest.min(s.fewest_owned);
            kept.extend(s.kept);
            moved.extend(s.moved);
        }
        let moved_n = moved.len() / runs.max(1);
        println!(
            "| {} | {} | {} | {} / {} / {} | {}, {} / {} |",
            protocol.name(),
            ms(median(settle)),
            fewest,
            ms(median(kept.clone())),
            ms(percentile(kept.clone(), 0.99)),
            ms(kept.iter().copied().max().unwrap_or_default()),
            moved_n,
            ms(median(moved.clone())),
            ms(moved.iter().copied().max().unwrap_or_default()),
        );
    }
    cluster.shutdown().await;
    Ok(())
}
