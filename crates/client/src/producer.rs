//! The producer: batching, per-broker sending, retries, idempotence and compression.
//!
//! ```text
//!  producer.send(record).await?   ── waits only for buffer space (buffer.memory, max.block.ms)
//!     partitioner (explicit partition wins; murmur2 of the key; sticky for null keys)
//!     accumulator: the partition's open batch (closes at batch.size or after linger.ms)
//!     sender task: ready batches grouped per leader broker into one ProduceRequest,
//!                  up to max.in.flight requests per broker, one batch in flight per partition
//!  delivery.await?                 ── the broker's acknowledgement: partition, offset, timestamp
//! ```
//!
//! ```no_run
//! use streamctl_client::producer::{Producer, Record};
//!
//! # async fn demo() -> streamctl_client::Result<()> {
//! let producer = Producer::builder("localhost:9092").linger(std::time::Duration::from_millis(5)).build().await?;
//! let delivery = producer.send(Record::new("orders").key(b"customer-7").value(b"{\"total\": 42}")).await?;
//! let meta = delivery.await?;
//! println!("written to {}-{} at offset {}", meta.topic, meta.partition, meta.offset);
//! producer.close(std::time::Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Idempotence is on by default (KIP-98): the producer gets an id from the cluster and numbers
//! its batches per partition, so the broker drops a retried batch it already has; a sequence
//! whose outcome is unknown is never reused, and a broker that lost the producer's sequences
//! gets the batch again under a new epoch (`idempotence`, KIP-360). Kafka's property names
//! are accepted too: `ProducerConfig::set("linger.ms", "10")`.

pub(crate) mod accumulator;
pub(crate) mod idempotence;
pub mod partitioner;
mod record;
pub(crate) mod sender;
mod transactions;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use streamctl_protocol::compression::Compression;
pub use streamctl_protocol::record_batch::HeaderRef;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use self::accumulator::{Accumulator, Append, RecordRef};
use self::idempotence::IdentityState;
use self::partitioner::{DefaultPartitioner, Partitioner};
pub use self::record::{DeliveryFuture, Record, RecordMetadata};
use self::transactions::Transactions;
use crate::config::{parse_bool, parse_ms, ClientConfig};
use crate::error::{Error, Result, TransactionErrorKind};
use crate::metadata::Cluster;

/// How many replicas must have a record before the broker acknowledges it (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no acknowledgement; offsets are reported as -1.
    None,
    /// `acks=1`: the leader has written it.
    Leader,
    /// `acks=all` (-1): every in-sync replica has it.
    All,
}

impl Acks {
    /// The wire value.
    pub fn code(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Producer settings. Typed setters on [`ProducerBuilder`], or Kafka property names via
/// [`ProducerConfig::set`].
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Connection and metadata settings.
    pub client: ClientConfig,
    /// `acks` (default all).
    pub acks: Acks,
    /// `linger.ms` (default 5 ms): how long a batch waits for more records.
    pub linger: Duration,
    /// `batch.size` (default 16384 bytes): where a batch that could be sent next closes.
    /// Unless set, a batch that has to wait anyway (its partition has one in flight, or full
    /// ones queued ahead) grows to [`BACKLOG_BATCH_SIZE`]; set, it is the limit for every
    /// batch, as in Java.
    pub batch_size: usize,
    batch_size_explicit: bool,
    /// `max.in.flight.requests.per.connection` (default 5).
    pub max_in_flight: usize,
    /// `retries` (default unlimited, bounded by the delivery timeout).
    pub retries: u32,
    /// `delivery.timeout.ms` (default 120 s): from send to acknowledgement, retries included.
    pub delivery_timeout: Duration,
    /// `enable.idempotence` (default true; needs acks=all).
    pub enable_idempotence: bool,
    idempotence_explicit: bool,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `buffer.memory` (default 32 MiB): bytes of unsent records before `send` waits.
    pub buffer_memory: usize,
    /// `max.block.ms` (default 60 s): how long `send` waits for buffer space or metadata.
    pub max_block: Duration,
    /// `max.request.size` (default 1 MiB): the largest request (and record) sent.
    pub max_request_size: usize,
    /// `transactional.id` (default none): makes the producer transactional (see
    /// [`Producer::init_transactions`]); implies idempotence.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (default 60 s): how long the coordinator lets a transaction
    /// stay open before aborting it.
    pub transaction_timeout: Duration,
}

/// How large a batch that waits behind another may grow when `batch.size` is not set: as
/// librdkafka's default `batch.size`, under Kafka's default `max.message.bytes` (1 MiB + 12)
/// with room for the batch header. A topic with a smaller `max.message.bytes` answers such
/// a batch MESSAGE_TOO_LARGE, and the producer splits it and sends the parts.
pub const BACKLOG_BATCH_SIZE: usize = 1_000_000;

impl ProducerConfig {
    /// The size a waiting batch may grow to (see [`ProducerConfig::batch_size`]), never
    /// more than `max.request.size`.
    /// With acks=0 nothing tells the producer that a batch was refused, so batches keep
    /// `batch.size` there.
    pub fn backlog_batch_size(&self) -> usize {
        if self.batch_size_explicit || self.acks == Acks::None {
            self.batch_size
        } else {
            BACKLOG_BATCH_SIZE
                .min(self.max_request_size)
                .max(self.batch_size)
        }
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            batch_size_explicit: false,
            max_in_flight: 5,
            retries: u32::MAX,
            delivery_timeout: Duration::from_secs(120),
            enable_idempotence: true,
            idempotence_explicit: false,
            compression: Compression::None,
            buffer_memory: 32 << 20,
            max_block: Duration::from_secs(60),
            max_request_size: 1 << 20,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
        }
    }
}

fn parse_usize(property: &str, value: &str, min: usize) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(Error::invalid_config(
            property,
            value,
            format!("expected a whole number of at least {min}"),
        )),
    }
}

impl ProducerConfig {
    /// Sets a Kafka producer or client property by name; unknown names and bad values are
    /// errors naming the property.
    pub fn set(&mut self, property: &str, value: &str) -> Result<&mut Self> {
        let v = value.trim();
        match property {
            "acks" => {
                self.acks = match v {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => {
                        return Err(Error::invalid_config(
                            property,
                            value,
                            "expected 0, 1, all or -1",
                        ))
                    }
                }
            }
            "linger.ms" => self.linger = parse_ms(property, v, 0)?,
            "batch.size" => {
                self.batch_size = parse_usize(property, v, 1)?;
                self.batch_size_explicit = true;
            }
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight = parse_usize(property, v, 1)?
            }
            "retries" => {
                self.retries = v.parse().map_err(|_| {
                    Error::invalid_config(property, value, "expected a whole number")
                })?;
            }
            "delivery.timeout.ms" => self.delivery_timeout = parse_ms(property, v, 1)?,
            "enable.idempotence" => {
                self.enable_idempotence = parse_bool(property, v)?;
                self.idempotence_explicit = true;
            }
            "compression.type" => {
                self.compression = v.parse().map_err(|_| {
                    Error::invalid_config(
                        property,
                        value,
                        "expected none, gzip, snappy, lz4 or zstd",
                    )
                })?;
            }
            "buffer.memory" => self.buffer_memory = parse_usize(property, v, 1024)?,
            "max.block.ms" => self.max_block = parse_ms(property, v, 0)?,
            "max.request.size" => self.max_request_size = parse_usize(property, v, 1024)?,
            "transactional.id" => {
                self.transactional_id = Some(v.to_string()).filter(|id| !id.is_empty())
            }
            "transaction.timeout.ms" => self.transaction_timeout = parse_ms(property, v, 1)?,
            // Kafka's producer has no other choice for these; accepted so configs paste as-is.
            "key.serializer" | "value.serializer" | "partitioner.class" => {}
            other => {
                if !self.client.try_set(other, value)? {
                    return Err(Error::UnknownProperty {
                        property: other.to_string(),
                    });
                }
            }
        }
        Ok(self)
    }

    /// Resolves settings that depend on each other, as Kafka does: idempotence needs
    /// acks=all; when it was not asked for explicitly, acks=0/1 quietly turns it off.
    fn validate(&mut self) -> Result<()> {
        if let Some(id) = &self.transactional_id {
            // Kafka: a transactional producer is idempotent, with acks=all.
            if self.idempotence_explicit && !self.enable_idempotence {
                return Err(Error::invalid_config(
                    "enable.idempotence",
                    "false",
                    format!("transactional.id {id} needs idempotence"),
                ));
            }
            if self.acks != Acks::All {
                return Err(Error::invalid_config(
                    "acks",
                    &self.acks.code().to_string(),
                    "a transactional producer needs acks=all",
                ));
            }
            self.enable_idempotence = true;
        }
        if self.enable_idempotence && self.acks != Acks::All {
            if self.idempotence_explicit {
                return Err(Error::invalid_config(
                    "enable.idempotence",
                    "true",
                    "idempotence requires acks=all",
                ));
            }
            self.enable_idempotence = false;
        }
        if self.enable_idempotence && self.max_in_flight > 5 {
            return Err(Error::invalid_config(
                "max.in.flight.requests.per.connection",
                &self.max_in_flight.to_string(),
                "idempotence allows at most 5",
            ));
        }
        Ok(())
    }

    fn request_timeout(&self) -> Duration {
        self.client.request_timeout
    }
}

/// Builds a [`Producer`].
#[derive(Clone)]
pub struct ProducerBuilder {
    config: ProducerConfig,
    partitioner: Option<Arc<dyn Partitioner>>,
}

impl std::fmt::Debug for ProducerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProducerBuilder {
    /// Sets a Kafka property by name (see [`ProducerConfig::set`]).
    pub fn set(mut self, property: &str, value: &str) -> Result<Self> {
        self.config.set(property, value)?;
        Ok(self)
    }

    /// `acks`.
    pub fn acks(mut self, acks: Acks) -> Self {
        self.config.acks = acks;
        self
    }

    /// `linger.ms`.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.config.linger = linger;
        self
    }

    /// `batch.size` in bytes.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.config.batch_size = bytes.max(1);
        self.config.batch_size_explicit = true;
        self
    }

    /// `compression.type`.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.config.compression = compression;
        self
    }

    /// `enable.idempotence`.
    pub fn idempotence(mut self, enabled: bool) -> Self {
        self.config.enable_idempotence = enabled;
        self.config.idempotence_explicit = true;
        self
    }

    /// `delivery.timeout.ms`.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.config.delivery_timeout = timeout;
        self
    }

    /// `max.in.flight.requests.per.connection`.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.config.max_in_flight = n.max(1);
        self
    }

    /// `buffer.memory` in bytes.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.config.buffer_memory = bytes;
        self
    }

    /// `max.block.ms`.
    pub fn max_block(mut self, timeout: Duration) -> Self {
        self.config.max_block = timeout;
        self
    }

    /// `transactional.id`: makes the producer transactional.
    pub fn transactional_id(mut self, id: impl Into<String>) -> Self {
        self.config.transactional_id = Some(id.into());
        self
    }

    /// `transaction.timeout.ms`.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.config.transaction_timeout = timeout;
        self
    }

    /// A custom partitioner (a [`Partitioner`] or a closure).
    pub fn partitioner(mut self, partitioner: impl Partitioner + 'static) -> Self {
        self.partitioner = Some(Arc::new(partitioner));
        self
    }

    /// Connects to the cluster, gets a producer id when idempotent, and starts the sender.
    pub async fn build(mut self) -> Result<Producer> {
        self.config.validate()?;
        let cluster = Cluster::connect(self.config.client.clone()).await?;
        let partitioner = self
            .partitioner
            .unwrap_or_else(|| Arc::new(DefaultPartitioner::new(self.config.batch_size)));
        let permits = self.config.buffer_memory.min(Semaphore::MAX_PERMITS);
        let transactions = self
            .config
            .transactional_id
            .clone()
            .map(|id| Transactions::new(id, self.config.transaction_timeout));
        let inner = Arc::new(ProducerInner {
            transactions,
            cluster,
            memory: Arc::new(Semaphore::new(permits)),
            config: self.config,
            partitioner,
            accumulator: Mutex::new(Accumulator::default()),
            wake: Notify::new(),
            idle: Notify::new(),
            flushing: AtomicUsize::new(0),
            drain_index: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            identity: Mutex::new(IdentityState::default()),
            stop: CancellationToken::new(),
        });
        // A transactional producer gets its id from its coordinator in init_transactions.
        if inner.config.enable_idempotence && inner.transactions.is_none() {
            let id = sender::init_producer_id(&inner, None).await?;
            inner.identities().current = Some(id);
        }
        let task = tokio::spawn(sender::run(inner.clone()));
        Ok(Producer {
            inner,
            sender: Arc::new(Mutex::new(Some(task))),
        })
    }
}

/// State shared by the producer handle, the sender task and response waiters.
pub(crate) struct ProducerInner {
    cluster: Cluster,
    config: ProducerConfig,
    partitioner: Arc<dyn Partitioner>,
    memory: Arc<Semaphore>,
    accumulator: Mutex<Accumulator>,
    /// Wakes the sender: a batch filled up, a response came back, flush or close.
    wake: Notify,
    /// Signalled when nothing is queued or in flight (flush waits on it).
    idle: Notify,
    flushing: AtomicUsize,
    /// Where the sender's next drain starts (`sender::collect_ready`).
    drain_index: AtomicUsize,
    closing: AtomicBool,
    /// The identity new idempotent batches are stamped with, and whether a partition gave
    /// it up (see `idempotence`).
    identity: Mutex<IdentityState>,
    /// The transaction state of a producer with a `transactional.id`.
    transactions: Option<Transactions>,
    stop: CancellationToken,
}

impl std::fmt::Debug for ProducerInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerInner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProducerInner {
    fn accumulator(&self) -> MutexGuard<'_, Accumulator> {
        self.accumulator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn identities(&self) -> MutexGuard<'_, IdentityState> {
        self.identity.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A Kafka producer. Cheap to clone; all clones share one sender.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
    sender: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Producer {
    /// Starts building a producer for `bootstrap.servers`.
    pub fn builder(bootstrap_servers: &str) -> ProducerBuilder {
        let mut config = ProducerConfig::default();
        config.client = config.client.bootstrap_servers(bootstrap_servers);
        ProducerBuilder {
            config,
            partitioner: None,
        }
    }

    /// Starts building a producer from a full config.
    pub fn with_config(config: ProducerConfig) -> ProducerBuilder {
        ProducerBuilder {
            config,
            partitioner: None,
        }
    }

    /// The cluster view the producer uses.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// Queues a record; waits only for buffer space and metadata (at most `max.block.ms`).
    /// The returned future resolves with the record's offset once the broker acknowledges it.
    ///
    /// Cancel-safe: dropping this future before it resolves queues nothing.
    pub async fn send(&self, record: Record<'_>) -> Result<DeliveryFuture> {
        let inner = &self.inner;
        if inner.closing.load(Ordering::Acquire) {
            return Err(Error::Closed("the producer"));
        }
        let size = record.size();
        if size > inner.config.max_request_size {
            return Err(Error::invalid_config(
                "max.request.size",
                &inner.config.max_request_size.to_string(),
                format!("a record of about {size} bytes is larger than max.request.size"),
            ));
        }
        // Fast path first: cached metadata and free buffer space need neither a clock read
        // nor a timer; `max.block.ms` starts counting only when the record has to wait.
        let mut deadline = None;
        let max_block = inner.config.max_block;
        let mut deadline_now =
            || *deadline.get_or_insert_with(|| tokio::time::Instant::now() + max_block);
        let topic_md = match inner.cluster.cached_topic(record.topic) {
            Some(t) => t,
            None => {
                tokio::time::timeout_at(deadline_now(), inner.cluster.partitions_for(record.topic))
                    .await
                    .map_err(|_| Error::Timeout {
                        what: format!("metadata for topic {}", record.topic),
                        timeout: max_block,
                    })??
            }
        };
        let count = topic_md.partition_count();
        if count == 0 {
            return Err(Error::Broker {
                code: streamctl_protocol::ErrorCode::UnknownTopicOrPartition,
                message: Some("the topic has no partitions".into()),
                topic: Some(record.topic.to_string()),
                partition: None,
            });
        }
        let mut partition = match record.partition {
            Some(p) if p >= 0 && (p as usize) < count => p,
            Some(p) => {
                return Err(Error::Broker {
                    code: streamctl_protocol::ErrorCode::UnknownTopicOrPartition,
                    message: Some(format!("the topic has {count} partitions")),
                    topic: Some(record.topic.to_string()),
                    partition: Some(p),
                })
            }
            None => Self::place(inner, &record, count)?,
        };
        // A transactional record holds the send permit until it is queued, so a commit or
        // abort that starts meanwhile flushes it (see `transactions.rs`).
        let _permit = match &inner.transactions {
            Some(txn) => {
                let permit = txn.send_permit().await;
                txn.ensure_partition(inner, record.topic, partition).await?;
                Some(permit)
            }
            None => None,
        };
        let needed = u32::try_from(size).unwrap_or(u32::MAX);
        let mut permits = match inner.memory.clone().try_acquire_many_owned(needed) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Error::Closed("the producer")),
            Err(tokio::sync::TryAcquireError::NoPermits) => tokio::time::timeout_at(
                deadline_now(),
                inner.memory.clone().acquire_many_owned(needed),
            )
            .await
            .map_err(|_| Error::Timeout {
                what: "buffer memory for a record (buffer.memory is full)".into(),
                timeout: max_block,
            })?
            .map_err(|_| Error::Closed("the producer"))?,
        };
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        // A record the partitioner placed moves at most once: when it does not fit the open
        // batch there, that batch is sent as it is and the partitioner, told of the full
        // batch, places the record again (a sticky partitioner moves on).
        let mut may_move = record.partition.is_none();
        let appended = loop {
            let outcome = inner.accumulator().append(
                record.topic,
                partition,
                RecordRef {
                    timestamp,
                    key: record.key,
                    value: record.value,
                    headers: record.headers,
                },
                size,
                (inner.config.batch_size, inner.config.backlog_batch_size()),
                inner.config.compression,
                (permits, may_move),
            )?;
            match outcome {
                Append::Done(appended) => break appended,
                Append::BatchFull(returned) => {
                    permits = returned;
                    may_move = false;
                    inner.wake.notify_one();
                    inner
                        .partitioner
                        .on_new_batch(record.topic, partition as usize, count);
                    partition = Self::place(inner, &record, count)?;
                    if let Some(txn) = &inner.transactions {
                        txn.ensure_partition(inner, record.topic, partition).await?;
                    }
                }
            }
        };
        if appended.batch_ready || inner.config.linger.is_zero() {
            inner.wake.notify_one();
        }
        Ok(DeliveryFuture {
            completion: appended.completion,
            index: appended.index,
            topic: appended.topic,
            partition,
            timestamp,
            wait: None,
        })
    }

    /// The partition the partitioner chooses for a record, checked against the count.
    fn place(inner: &ProducerInner, record: &Record<'_>, count: usize) -> Result<i32> {
        let p = inner
            .partitioner
            .partition(record.topic, record.key, record.value, count);
        if p >= count {
            return Err(Error::InvalidRequest(format!(
                "the partitioner chose partition {p} of {count}"
            )));
        }
        Ok(p as i32)
    }

    /// Sends everything queued now, without waiting for `linger.ms`, and waits until every
    /// record sent before the call is acknowledged or failed.
    pub async fn flush(&self) {
        Self::flush_inner(&self.inner).await;
    }

    async fn flush_inner(inner: &ProducerInner) {
        inner.flushing.fetch_add(1, Ordering::AcqRel);
        loop {
            let idle = inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if inner.accumulator().is_idle() {
                break;
            }
            inner.wake.notify_one();
            idle.await;
        }
        inner.flushing.fetch_sub(1, Ordering::AcqRel);
    }

    /// The producer's `transactional.id`, if it is transactional.
    pub fn transactional_id(&self) -> Option<&str> {
        self.inner.transactions.as_ref().map(|t| t.id.as_str())
    }

    fn transactions(&self) -> Result<&Transactions> {
        self.inner.transactions.as_ref().ok_or_else(|| {
            Error::transaction(
                TransactionErrorKind::InvalidState,
                "the producer has no transactional.id",
            )
        })
    }

    /// Registers the `transactional.id` with its transaction coordinator and gets the
    /// producer id and epoch: any older producer with the id is fenced, and a transaction it
    /// left open is aborted (or completed, if it was committing) before this returns. Call
    /// once, before the first transaction.
    pub async fn init_transactions(&self) -> Result<()> {
        self.transactions()?.init(&self.inner).await
    }

    /// Starts a transaction: the records sent and offsets added until
    /// [`Producer::commit_transaction`] become visible to read_committed consumers together,
    /// or never.
    pub async fn begin_transaction(&self) -> Result<()> {
        self.transactions()?.begin().await
    }

    /// Adds a consumer's offsets to the open transaction: they count for `group` only if the
    /// transaction commits (consume-transform-produce, exactly once). `offsets` are the next
    /// offsets to read, as [`Consumer::commit_offsets`](crate::Consumer::commit_offsets)
    /// takes them; `group` comes from [`Consumer::group_metadata`](crate::Consumer::group_metadata).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(crate::TopicPartition, i64)],
        group: &crate::consumer::ConsumerGroupMetadata,
    ) -> Result<()> {
        self.transactions()?
            .send_offsets(&self.inner, offsets, group)
            .await
    }

    /// Flushes the transaction's records and commits it. Fails with an
    /// [`Abortable`](TransactionErrorKind::Abortable) error when a record of it failed (then
    /// call [`Producer::abort_transaction`]), [`Fenced`](TransactionErrorKind::Fenced) when
    /// another producer took the `transactional.id` over. Cancel-safe: dropping the future
    /// does not stop the commit once it started (its first poll), and the next transactional
    /// call waits for it to end. When the commit's outcome is unknown (the coordinator did
    /// not answer in `max.block.ms`) the error is not a transaction error: call this again,
    /// it resends the commit; aborting is refused until it is known.
    pub async fn commit_transaction(&self) -> Result<()> {
        self.transactions()?.end(&self.inner, true).await
    }

    /// Aborts the open transaction: records not sent yet fail, the others are aborted by the
    /// coordinator's markers; read_committed consumers never see them. Cancel-safe as
    /// [`Producer::commit_transaction`].
    pub async fn abort_transaction(&self) -> Result<()> {
        self.transactions()?.end(&self.inner, false).await
    }

    /// Flushes for at most `timeout`, then stops the sender; records still queued fail. A
    /// transactional producer first aborts its open transaction (within `timeout`), as Java's
    /// does, so read_committed consumers need not wait for `transaction.timeout.ms`.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        let inner = &self.inner;
        if inner
            .transactions
            .as_ref()
            .is_some_and(|t| t.has_open_transaction())
        {
            let _ = tokio::time::timeout(timeout, self.abort_transaction()).await;
        }
        inner.closing.store(true, Ordering::Release);
        inner.wake.notify_one();
        let flushed = tokio::time::timeout(timeout, self.flush()).await.is_ok();
        inner.stop.cancel();
        let task = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
        // Fail what is left so no delivery future waits forever.
        let left: Vec<_> = {
            let mut acc = inner.accumulator();
            let batches: Vec<_> = acc
                .topics
                .values_mut()
                .flat_map(|q| q.values_mut())
                .flat_map(|q| q.batches.drain(..))
                .collect();
            acc.outstanding = acc.outstanding.saturating_sub(batches.len());
            batches
        };
        let n = left.len();
        if n > 0 {
            if let Some(txn) = &inner.transactions {
                txn.record_failed(&Error::Closed("the producer"));
            }
        }
        for b in left {
            b.finish(Err(Error::Closed("the producer")));
        }
        // A flush waiting (a commit's) must see the producer idle now.
        inner.idle.notify_waiters();
        inner.memory.close();
        if flushed && n == 0 {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: format!("closing the producer ({n} batches unsent)"),
                timeout,
            })
        }
    }
}
