//! The workloads that run while the faults land, and the history they write: every
//! acknowledgement, every record a group member read and every offset it committed, and
//! samples of the partitions' watermarks and the group's committed offsets over time.
//!
//! ```text
//!  ours, idempotent ──┐
//!  ours, plain ───────┼─ acks ──▶ History.acks ──▶ progress (the schedule's clock)
//!  librdkafka (py) ───┘
//!  group members ────── reads, commits ──▶ History.reads / .commits   (classic and KIP-848)
//!  sampler ──────────── ListOffsets latest/earliest, OffsetFetch, probes below deletions
//! ```
//!
//! Record values are `<writer>-<seq>`: unique, and they name who sent them in which order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamctl_client::consumer::{Consumer, GroupProtocol, OffsetReset, TopicPartition};
use streamctl_client::producer::{Acks, DeliveryFuture, Producer, Record};
use streamctl_client::protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
use streamctl_client::protocol::messages::FetchRequest;
use streamctl_client::protocol::record_batch::RecordBatches;
use streamctl_client::{Admin, ClientConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const TOPIC: &str = "checked";
pub const GROUP: &str = "checked-group";
/// A bound on each writer, whatever the schedule does.
const MAX_RECORDS: u64 = 200_000;

/// Who wrote a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Writer {
    /// Our producer, `enable.idempotence=true` (the default), acks=all.
    Idempotent,
    /// Our producer, `enable.idempotence=false`, acks=all: may duplicate, must not lose.
    Plain,
    /// librdkafka through confluent-kafka, idempotent, acks=all.
    Librdkafka,
}

impl Writer {
    pub const ALL: [Writer; 3] = [Writer::Idempotent, Writer::Plain, Writer::Librdkafka];

    pub fn name(self) -> &'static str {
        match self {
            Writer::Idempotent => "idem",
            Writer::Plain => "plain",
            Writer::Librdkafka => "rdk",
        }
    }

    /// Whether the writer promises no duplicates.
    pub fn idempotent(self) -> bool {
        self != Writer::Plain
    }

    pub fn value(self, seq: u64) -> String {
        format!("{}-{seq}", self.name())
    }

    /// The writer and sequence number a value names.
    pub fn parse(value: &str) -> Option<(Writer, u64)> {
        let (name, seq) = value.split_once('-')?;
        let writer = Writer::ALL.into_iter().find(|w| w.name() == name)?;
        Some((writer, seq.parse().ok()?))
    }
}

/// One acknowledged record.
#[derive(Debug, Clone)]
pub struct Ack {
    pub writer: Writer,
    pub seq: u64,
    pub partition: i32,
    pub offset: i64,
}

/// A record a group member read.
#[derive(Debug, Clone)]
pub struct Read {
    pub consumer: usize,
    pub partition: i32,
    pub offset: i64,
    pub value: String,
}

/// An offset a group member committed (the coordinator said yes), in commit order.
#[derive(Debug, Clone)]
pub struct Commit {
    pub consumer: usize,
    pub partition: i32,
    pub offset: i64,
}

/// A sampled offset; `at` is when the request was sent.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub partition: i32,
    pub offset: i64,
}

/// A DeleteRecords call and its outcome.
#[derive(Debug, Clone)]
pub struct Delete {
    pub partition: i32,
    /// The offset asked for: records below it go.
    pub before: i64,
    /// The low watermark the broker answered, if it answered.
    pub low_watermark: Option<i64>,
    /// When the answer came (or the call failed).
    pub done_at: Instant,
}

/// A record read below a low watermark that DeleteRecords had answered.
#[derive(Debug, Clone)]
pub struct DeletedRead {
    pub partition: i32,
    pub offset: i64,
    pub low_watermark: i64,
}

/// Everything observed during a run.
#[derive(Debug, Default)]
pub struct History {
    pub acks: Vec<Ack>,
    /// Records sent per writer.
    pub sent: BTreeMap<Writer, u64>,
    /// Records a writer gave up on (an error, or a timeout): they may or may not be there.
    pub failed: BTreeMap<Writer, u64>,
    pub reads: Vec<Read>,
    pub commits: Vec<Commit>,
    pub latest: Vec<Sample>,
    pub log_start: Vec<Sample>,
    pub committed: Vec<Sample>,
    pub deletes: Vec<Delete>,
    pub deleted_reads: Vec<DeletedRead>,
    /// Things worth printing (a writer's fatal error, a workload that was skipped).
    pub notes: Vec<String>,
}

/// The history shared by the workloads, and the acknowledgement count the schedule follows.
#[derive(Clone, Default)]
pub struct Shared {
    pub history: Arc<Mutex<History>>,
    pub progress: Arc<AtomicUsize>,
    /// Set when the schedule is done: writers stop sending, readers stop reading.
    pub stop: Arc<AtomicBool>,
}

impl Shared {
    fn ack(&self, ack: Ack) {
        self.history.lock().unwrap().acks.push(ack);
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    fn note(&self, note: String) {
        println!("  note: {note}");
        self.history.lock().unwrap().notes.push(note);
    }

    fn failed(&self, writer: Writer) {
        *self
            .history
            .lock()
            .unwrap()
            .failed
            .entry(writer)
            .or_default() += 1;
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Records one producer instance sends before it is closed and a new one takes over: new
/// instances ask for new producer ids, so a broker that hands out an id again (after a
/// restart, say) is caught deduplicating a new producer's records against an old one's.
const SESSION_RECORDS: u64 = 4_000;

/// Our producer (idempotent or plain), sending paced records to partition `seq % partitions`
/// until told to stop, in sessions of [`SESSION_RECORDS`] per producer instance; each
/// session ends with a bounded flush.
pub fn spawn_ours(
    writer: Writer,
    bootstrap: String,
    partitions: i32,
    shared: Shared,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut seq = 0;
        while seq < MAX_RECORDS && !shared.stopped() {
            let Some(producer) = build_producer(writer, &bootstrap).await else {
                shared.note(format!("{}: no producer within 60 s", writer.name()));
                break;
            };
            let (tx, mut rx) = mpsc::unbounded_channel::<(u64, DeliveryFuture)>();
            let collector = {
                let shared = shared.clone();
                tokio::spawn(async move {
                    while let Some((seq, delivery)) = rx.recv().await {
                        match delivery.await {
                            Ok(m) => shared.ack(Ack {
                                writer,
                                seq,
                                partition: m.partition,
                                offset: m.offset,
                            }),
                            Err(_) => shared.failed(writer),
                        }
                    }
                })
            };
            let session_end = seq + SESSION_RECORDS;
            while seq < session_end && seq < MAX_RECORDS && !shared.stopped() {
                let value = writer.value(seq);
                let partition = i32::try_from(seq % partitions as u64).unwrap();
                let record = Record::new(TOPIC)
                    .partition(partition)
                    .value(value.as_bytes());
                match producer.send(record).await {
                    Ok(d) => tx.send((seq, d)).unwrap(),
                    Err(_) => shared.failed(writer),
                }
                seq += 1;
                // Pacing, not waiting for a condition: about a thousand records a second.
                if seq % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            drop(tx);
            if tokio::time::timeout(Duration::from_secs(60), producer.flush())
                .await
                .is_err()
            {
                shared.note(format!(
                    "{}: flush did not finish within 60 s",
                    writer.name()
                ));
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), collector).await;
            let _ = producer.close(Duration::from_secs(5)).await;
        }
        shared.history.lock().unwrap().sent.insert(writer, seq);
    })
}

/// A producer, retried (bounded) while the cluster cannot answer.
async fn build_producer(writer: Writer, bootstrap: &str) -> Option<Producer> {
    for _ in 0..300 {
        let built = Producer::builder(bootstrap)
            .acks(Acks::All)
            .set(
                "enable.idempotence",
                if writer.idempotent() { "true" } else { "false" },
            )
            .unwrap()
            .linger(Duration::from_millis(5))
            .delivery_timeout(Duration::from_secs(120))
            .max_block(Duration::from_secs(30))
            .build()
            .await;
        if let Ok(p) = built {
            return Some(p);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// librdkafka's producer as a Python subprocess (see rdkafka_producer.py), or `None` when
/// Python or confluent-kafka is missing (a failure under `CI=true`, a loud skip elsewhere).
pub fn spawn_librdkafka(
    bootstrap: String,
    partitions: i32,
    shared: Shared,
) -> Option<JoinHandle<()>> {
    let python = streamctl_testkit::python("confluent_kafka")?;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fault_schedule/rdkafka_producer.py");
    Some(tokio::spawn(async move {
        let mut child = Command::new(python)
            .arg("-u")
            .arg(script)
            .arg(&bootstrap)
            .arg(TOPIC)
            .arg(partitions.to_string())
            .arg(MAX_RECORDS.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let reader = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut acked = 0u64;
                let mut failed = 0u64;
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut words = line.splitn(4, ' ');
                    match words.next() {
                        Some("ACK") => {
                            let partition = words.next().unwrap().parse().unwrap();
                            let offset = words.next().unwrap().parse().unwrap();
                            let (writer, seq) = Writer::parse(words.next().unwrap()).unwrap();
                            shared.ack(Ack {
                                writer,
                                seq,
                                partition,
                                offset,
                            });
                            acked += 1;
                        }
                        Some("ERR") => failed += 1,
                        Some("FATAL") => shared.note(format!("librdkafka: {line}")),
                        Some("DONE") => {
                            if !line.ends_with(" 0") {
                                shared.note(format!("librdkafka flush left records: {line}"));
                            }
                        }
                        _ => shared.note(format!("librdkafka printed: {line}")),
                    }
                }
                let mut h = shared.history.lock().unwrap();
                h.failed.insert(Writer::Librdkafka, failed);
                // Sent = acknowledged + failed + whatever was never reported.
                *h.sent.entry(Writer::Librdkafka).or_default() += acked + failed;
            })
        };
        // Stop when the schedule ends.
        while !shared.stopped() {
            if let Ok(Some(status)) = child.try_wait() {
                shared.note(format!("librdkafka producer exited early: {status}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stdin.write_all(b"stop\n").await;
        let _ = stdin.flush().await;
        if tokio::time::timeout(Duration::from_secs(90), child.wait())
            .await
            .is_err()
        {
            shared.note("librdkafka producer did not finish within 90 s; killed".into());
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
    }))
}

/// A member of the group: subscribes, polls, commits what it read (manual commits), until
/// told to stop. Odd members speak the consumer protocol (KIP-848), even ones the classic
/// protocol: the group is a mixed one, upgraded online when the first consumer-protocol
/// member joins, and its coordinator moves with every fault like any other.
pub fn spawn_member(id: usize, bootstrap: String, shared: Shared) -> JoinHandle<()> {
    tokio::spawn(async move {
        let protocol = if id % 2 == 1 {
            GroupProtocol::Consumer
        } else {
            GroupProtocol::Classic
        };
        let consumer = Consumer::builder(&bootstrap)
            .group_id(GROUP)
            .group_protocol(protocol)
            .client_id(format!("member-{id}"))
            .enable_auto_commit(false)
            .auto_offset_reset(OffsetReset::Earliest)
            .session_timeout(Duration::from_secs(6))
            .heartbeat_interval(Duration::from_millis(500))
            .fetch_max_wait(Duration::from_millis(100))
            .build()
            .await
            .unwrap();
        consumer.subscribe([TOPIC]).unwrap();
        while !shared.stopped() {
            let records = match tokio::time::timeout(
                Duration::from_secs(10),
                consumer.poll(Duration::from_millis(200)),
            )
            .await
            {
                Ok(Ok(r)) => r,
                _ => continue,
            };
            if records.is_empty() {
                continue;
            }
            let mut next: BTreeMap<i32, i64> = BTreeMap::new();
            {
                let mut h = shared.history.lock().unwrap();
                for r in &records {
                    let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default());
                    h.reads.push(Read {
                        consumer: id,
                        partition: r.partition,
                        offset: r.offset,
                        value: value.into_owned(),
                    });
                    next.insert(r.partition, r.offset + 1);
                }
            }
            let offsets: Vec<(TopicPartition, i64)> = next
                .iter()
                .map(|(p, o)| (TopicPartition::new(TOPIC, *p), *o))
                .collect();
            if let Ok(Ok(())) =
                tokio::time::timeout(Duration::from_secs(10), consumer.commit_offsets(offsets))
                    .await
            {
                let mut h = shared.history.lock().unwrap();
                for (partition, offset) in next {
                    h.commits.push(Commit {
                        consumer: id,
                        partition,
                        offset,
                    });
                }
            }
        }
        let _ = consumer.close(Duration::from_secs(5)).await;
    })
}

/// Samples, every 100 ms until told to stop: ListOffsets latest and earliest of every
/// partition, the group's committed offsets, and a raw Fetch just below every low watermark
/// that DeleteRecords answered (it must return nothing below it).
pub fn spawn_sampler(bootstrap: String, partitions: i32, shared: Shared) -> JoinHandle<()> {
    tokio::spawn(async move {
        const BOUND: Duration = Duration::from_secs(3);
        let offsets = Consumer::builder(&bootstrap).build().await.unwrap();
        let admin = Admin::connect(ClientConfig::new(&bootstrap)).await.unwrap();
        let tps: Vec<TopicPartition> = (0..partitions)
            .map(|p| TopicPartition::new(TOPIC, p))
            .collect();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !shared.stopped() {
            tick.tick().await;
            let at = Instant::now();
            if let Ok(Ok(latest)) = tokio::time::timeout(BOUND, offsets.end_offsets(&tps)).await {
                let mut h = shared.history.lock().unwrap();
                for (tp, offset) in latest {
                    h.latest.push(Sample {
                        at,
                        partition: tp.partition,
                        offset,
                    });
                }
            }
            let at = Instant::now();
            if let Ok(Ok(earliest)) =
                tokio::time::timeout(BOUND, offsets.beginning_offsets(&tps)).await
            {
                let mut h = shared.history.lock().unwrap();
                for (tp, offset) in earliest {
                    h.log_start.push(Sample {
                        at,
                        partition: tp.partition,
                        offset,
                    });
                }
            }
            let at = Instant::now();
            if let Ok(Ok(committed)) = tokio::time::timeout(BOUND, admin.group_offsets(GROUP)).await
            {
                let mut h = shared.history.lock().unwrap();
                for (tp, offset) in committed {
                    if tp.topic == TOPIC {
                        h.committed.push(Sample {
                            at,
                            partition: tp.partition,
                            offset,
                        });
                    }
                }
            }
            let answered: BTreeMap<i32, i64> = {
                let h = shared.history.lock().unwrap();
                let mut m = BTreeMap::new();
                for d in &h.deletes {
                    if let Some(low) = d.low_watermark {
                        let e = m.entry(d.partition).or_insert(low);
                        *e = (*e).max(low);
                    }
                }
                m
            };
            for (partition, low) in answered {
                if low == 0 {
                    continue;
                }
                if let Ok(Some(below)) =
                    tokio::time::timeout(BOUND, read_below(&admin, partition, low)).await
                {
                    shared
                        .history
                        .lock()
                        .unwrap()
                        .deleted_reads
                        .push(DeletedRead {
                            partition,
                            offset: below,
                            low_watermark: low,
                        });
                }
            }
        }
        let _ = offsets.close(Duration::from_secs(2)).await;
    })
}

/// A raw Fetch at `low - 1` from the partition's leader: the offset of a record it returns
/// below `low`, if any (a fetch that fails says nothing).
async fn read_below(admin: &Admin, partition: i32, low: i64) -> Option<i64> {
    let cluster = admin.cluster();
    cluster.refresh([TOPIC]).await.ok()?;
    let leader = cluster.leader_for(TOPIC, partition).await.ok()?;
    let conn = cluster.connection(leader.node_id).await.ok()?;
    let fetch_offset = low - 1;
    let resp = conn
        .call(FetchRequest {
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1 << 20,
            topics: vec![FetchRequestTopic {
                topic: TOPIC.into(),
                topic_id: cluster.snapshot().topic(TOPIC)?.topic_id,
                partitions: vec![FetchRequestPartition {
                    partition,
                    fetch_offset,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .ok()?;
    let p = resp.responses.first()?.partitions.first()?;
    if p.error_code != 0 {
        return None;
    }
    for b in RecordBatches::new(p.records.clone().unwrap_or_default()) {
        for r in b.ok()?.records(64 << 20).ok()? {
            let r = r.ok()?;
            if r.offset >= fetch_offset && r.offset < low {
                return Some(r.offset);
            }
        }
    }
    None
}
