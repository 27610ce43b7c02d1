//! The registry's state in the `_schemas` topic: one partition, compacted, replicated.
//!
//! ```text
//!  REST write ─▶ writer lock ─▶ check against the state ─▶ produce (acks=all) ─▶ offset N
//!                                                                │
//!  reader task: consume _schemas from the start ─▶ Store::apply ─▶ applied = N+1 ─▶ answer
//! ```
//!
//! The state changes only by reading the topic back, so an answer reflects exactly what a
//! restarted registry (or one started on the same data after a broker failover) reads. An
//! acknowledged write is on the in-sync replicas (acks=all, `min.insync.replicas` one below
//! the replication factor), so with three brokers or more, losing one loses no registered
//! schema. Before a check, the state catches up with the end of the topic, and the writer
//! lock is held until the write's records are acknowledged (or failed, within the
//! producer's delivery timeout) and applied: no check runs against a state missing a write.

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::producer::{Acks, Producer, ProducerConfig, Record};
use streamctl_client::{Admin, ClientConfig, Consumer, OffsetReset, TopicPartition};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::error::RegistryError;
use crate::records::{Key, Write};
use crate::store::Store;

/// The topic, as Confluent's registry names it by default.
pub const TOPIC: &str = "_schemas";

/// How long a write waits for its acknowledgement and for reading itself back.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The state and the means to change it.
#[derive(Debug)]
pub(crate) struct KafkaStore {
    store: Arc<RwLock<Store>>,
    writes: Arc<Writes>,
    reader: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
}

/// What a write needs, shared with the task that carries it out.
#[derive(Debug)]
struct Writes {
    /// The offset up to which the topic has been applied.
    applied: watch::Receiver<i64>,
    /// Held from before a check until its records are acknowledged (or have failed) and
    /// applied, so no write is checked against a state that misses one still in flight.
    writer: Arc<Mutex<()>>,
    producer: Producer,
    /// Looks up the end of `_schemas` (a consumer of its own, outside the reader task).
    probe: Consumer,
}

/// The writer lock, held by a request while it checks and writes.
pub(crate) type WriterGuard = OwnedMutexGuard<()>;

impl KafkaStore {
    /// Creates `_schemas` if needed, then reads it to its end before returning.
    /// Its reader stops with `stop`.
    pub(crate) async fn open(
        client: &ClientConfig,
        replication_factor: i16,
        stop: &CancellationToken,
    ) -> Result<KafkaStore, RegistryError> {
        let admin = Admin::connect(client.clone())
            .await
            .map_err(RegistryError::store)?;
        let min_insync = (replication_factor - 1).max(1).to_string();
        let configs = [
            ("cleanup.policy", "compact"),
            ("min.insync.replicas", min_insync.as_str()),
        ];
        match admin
            .create_topic(TOPIC, 1, replication_factor, &configs)
            .await
        {
            Ok(()) => {}
            Err(e)
                if e.code() == Some(streamctl_client::protocol::ErrorCode::TopicAlreadyExists) =>
            {
                check_existing(&admin).await?;
            }
            Err(e) => return Err(RegistryError::store(format!("cannot create {TOPIC}: {e}"))),
        }
        let consumer_config = ConsumerConfig {
            client: client.clone(),
            auto_offset_reset: OffsetReset::Earliest,
            fetch_max_wait: Duration::from_millis(100),
            ..ConsumerConfig::default()
        };
        let consumer = Consumer::with_config(consumer_config)
            .build()
            .await
            .map_err(RegistryError::store)?;
        consumer
            .assign([TopicPartition::new(TOPIC.to_string(), 0)])
            .map_err(RegistryError::store)?;
        let end = end_of(&consumer).await?;
        let mut producer_config = ProducerConfig::default();
        producer_config.client = client.clone();
        producer_config.acks = Acks::All;
        // A record's fate is known within WRITE_TIMEOUT: the writer lock is not released
        // while the producer may still be retrying it.
        producer_config.delivery_timeout = WRITE_TIMEOUT;
        producer_config.client.request_timeout = WRITE_TIMEOUT / 3;
        let producer = Producer::with_config(producer_config)
            .build()
            .await
            .map_err(RegistryError::store)?;
        let store = Arc::new(RwLock::new(Store::default()));
        let (applied_tx, applied) = watch::channel(0i64);
        let stop = stop.child_token();
        let reader = tokio::spawn(read(consumer, store.clone(), applied_tx, stop.clone()));
        let probe = Consumer::with_config(ConsumerConfig {
            client: client.clone(),
            ..ConsumerConfig::default()
        })
        .build()
        .await
        .map_err(RegistryError::store)?;
        let writes = Arc::new(Writes {
            applied,
            writer: Arc::new(Mutex::new(())),
            producer,
            probe,
        });
        // Start-up reads a long history: more time than one write.
        writes.caught_up_to(end, WRITE_TIMEOUT * 10).await?;
        Ok(KafkaStore {
            store,
            writes,
            reader,
            stop,
        })
    }

    /// The state as read so far.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The writer lock, taken around a check and the write it leads to, once the state has
    /// caught up with the end of `_schemas`: whatever any earlier write left there (even one
    /// whose request gave up) is applied before anything is checked.
    pub(crate) async fn lock(&self) -> Result<WriterGuard, RegistryError> {
        let guard = self.writes.writer.clone().lock_owned().await;
        let end = end_of(&self.writes.probe).await?;
        self.writes.caught_up_to(end, WRITE_TIMEOUT).await?;
        Ok(guard)
    }

    /// Writes the records (in order) and returns once they are acknowledged and applied.
    /// The work runs in a task of its own that holds `guard` to the end, so a request that
    /// goes away (its client disconnected) cannot free the lock while its records are still
    /// in flight.
    pub(crate) async fn write(
        &self,
        guard: WriterGuard,
        records: Vec<Write>,
    ) -> Result<(), RegistryError> {
        let writes = self.writes.clone();
        tokio::spawn(async move {
            let result = writes.write(records).await;
            drop(guard);
            result
        })
        .await
        .map_err(|e| RegistryError::store(format!("the write task failed: {e}")))?
    }

    pub(crate) async fn close(self) {
        self.stop.cancel();
        let _ = self.reader.await;
        let _ = self.writes.producer.close(Duration::from_secs(5)).await;
        let _ = self.writes.probe.close(Duration::from_secs(1)).await;
    }
}

impl Writes {
    async fn write(&self, records: Vec<Write>) -> Result<(), RegistryError> {
        let mut deliveries = Vec::with_capacity(records.len());
        let mut refused = None;
        for (key, value) in &records {
            let key = serde_json::to_vec(key).map_err(RegistryError::store)?;
            let mut record = Record::new(TOPIC).partition(0).key(&key);
            if let Some(value) = value {
                record = record.value(value);
            }
            match self.producer.send(record).await {
                Ok(delivery) => deliveries.push(delivery),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        // Every record queued is waited for, even after one was refused: the lock must
        // outlive them all.
        let mut last = -1;
        let mut failed = refused.map(RegistryError::store);
        for delivery in deliveries {
            match delivery.await {
                Ok(metadata) => last = last.max(metadata.offset),
                Err(e) => failed = failed.or(Some(RegistryError::store(e))),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.caught_up_to(last + 1, WRITE_TIMEOUT).await
    }

    async fn caught_up_to(&self, offset: i64, wait: Duration) -> Result<(), RegistryError> {
        let mut applied = self.applied.clone();
        tokio::time::timeout(wait, applied.wait_for(|at| *at >= offset))
            .await
            .map_err(|_| RegistryError::timeout(format!("{TOPIC} not read up to offset {offset}")))?
            .map_err(|_| RegistryError::store(format!("the {TOPIC} reader stopped")))?;
        Ok(())
    }
}

/// The end offset of `_schemas` (its high watermark).
async fn end_of(consumer: &Consumer) -> Result<i64, RegistryError> {
    let partition = TopicPartition::new(TOPIC.to_string(), 0);
    Ok(consumer
        .end_offsets(std::slice::from_ref(&partition))
        .await
        .map_err(RegistryError::store)?
        .get(&partition)
        .copied()
        .unwrap_or(0))
}

/// An existing `_schemas` must be what the registry relies on: one partition (the order of
/// its records is the order of the registry's changes) and compacted (never deleted by
/// retention). Anything else is refused rather than served.
async fn check_existing(admin: &Admin) -> Result<(), RegistryError> {
    let topic = admin
        .cluster()
        .partitions_for(TOPIC)
        .await
        .map_err(RegistryError::store)?;
    if topic.partition_count() != 1 {
        return Err(RegistryError::store(format!(
            "{TOPIC} has {} partitions; the registry needs exactly 1",
            topic.partition_count()
        )));
    }
    let configs = admin
        .describe_topic_configs(TOPIC)
        .await
        .map_err(RegistryError::store)?;
    let policy = configs
        .iter()
        .find(|c| c.name == "cleanup.policy")
        .and_then(|c| c.value.clone())
        .unwrap_or_default();
    if policy != "compact" {
        return Err(RegistryError::store(format!(
            "{TOPIC} has cleanup.policy={policy}; the registry needs compact (its schemas must never expire)"
        )));
    }
    Ok(())
}

/// The reader task: applies every record of the topic, in order, for as long as it runs.
async fn read(
    consumer: Consumer,
    store: Arc<RwLock<Store>>,
    applied: watch::Sender<i64>,
    stop: CancellationToken,
) {
    loop {
        let batch = tokio::select! {
            () = stop.cancelled() => break,
            batch = consumer.poll(Duration::from_millis(500)) => batch,
        };
        let records = match batch {
            Ok(records) => records,
            Err(e) => {
                warn!(error = %e, "reading {TOPIC}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // The position, not the last record: it also moves past offsets with nothing to
        // read (transaction markers, records compacted away).
        let position = consumer.positions().first().map(|(_, at)| *at);
        let Some(next) = position.or(records.last().map(|r| r.offset + 1)) else {
            continue;
        };
        {
            let mut store = store
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for record in &records {
                let key = record
                    .key
                    .as_deref()
                    .ok_or_else(|| "no key".to_string())
                    .and_then(|k| serde_json::from_slice::<Key>(k).map_err(|e| e.to_string()));
                let applied = key.and_then(|key| store.apply(&key, record.value.as_deref()));
                if let Err(error) = applied {
                    warn!(offset = record.offset, %error, "skipping a {TOPIC} record this registry cannot read");
                }
            }
        }
        applied.send_if_modified(|at| {
            let moved = next > *at;
            *at = (*at).max(next);
            moved
        });
    }
    let _ = consumer.close(Duration::from_secs(5)).await;
}
