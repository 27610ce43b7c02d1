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
//! the replication factor), so losing one broker loses no registered schema.

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::producer::{Acks, Producer, ProducerConfig, Record};
use streamctl_client::{Admin, ClientConfig, Consumer, OffsetReset, TopicPartition};
use tokio::sync::{watch, Mutex, MutexGuard};
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
    /// The offset up to which the topic has been applied.
    applied: watch::Receiver<i64>,
    writer: Mutex<()>,
    producer: Producer,
    reader: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
}

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
                if e.code() == Some(streamctl_client::protocol::ErrorCode::TopicAlreadyExists) => {}
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
        let partition = TopicPartition::new(TOPIC.to_string(), 0);
        consumer
            .assign([partition.clone()])
            .map_err(RegistryError::store)?;
        let end = consumer
            .end_offsets(std::slice::from_ref(&partition))
            .await
            .map_err(RegistryError::store)?
            .get(&partition)
            .copied()
            .unwrap_or(0);
        let mut producer_config = ProducerConfig::default();
        producer_config.client = client.clone();
        producer_config.acks = Acks::All;
        let producer = Producer::with_config(producer_config)
            .build()
            .await
            .map_err(RegistryError::store)?;
        let store = Arc::new(RwLock::new(Store::default()));
        let (applied_tx, applied) = watch::channel(0i64);
        let stop = stop.child_token();
        let reader = tokio::spawn(read(consumer, store.clone(), applied_tx, stop.clone()));
        let kafka = KafkaStore {
            store,
            applied,
            writer: Mutex::new(()),
            producer,
            reader,
            stop,
        };
        kafka.caught_up_to(end).await?;
        Ok(kafka)
    }

    /// The state as read so far.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Taken around a check and the write it leads to, so two registrations cannot both
    /// pass their checks against the same state.
    pub(crate) async fn lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Writes the records (in order) and returns once they are acknowledged and applied.
    pub(crate) async fn write(&self, records: Vec<Write>) -> Result<(), RegistryError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for (key, value) in &records {
            let key = serde_json::to_vec(key).map_err(RegistryError::store)?;
            let mut record = Record::new(TOPIC).partition(0).key(&key);
            if let Some(value) = value {
                record = record.value(value);
            }
            let delivery = self
                .producer
                .send(record)
                .await
                .map_err(RegistryError::store)?;
            deliveries.push(delivery);
        }
        let mut last = -1;
        for delivery in deliveries {
            let metadata = tokio::time::timeout(WRITE_TIMEOUT, delivery)
                .await
                .map_err(|_| RegistryError::timeout(format!("no acknowledgement from {TOPIC}")))?
                .map_err(RegistryError::store)?;
            last = last.max(metadata.offset);
        }
        self.caught_up_to(last + 1).await
    }

    async fn caught_up_to(&self, offset: i64) -> Result<(), RegistryError> {
        let mut applied = self.applied.clone();
        tokio::time::timeout(WRITE_TIMEOUT, applied.wait_for(|at| *at >= offset))
            .await
            .map_err(|_| RegistryError::timeout(format!("{TOPIC} not read up to offset {offset}")))?
            .map_err(|_| RegistryError::store(format!("the {TOPIC} reader stopped")))?;
        Ok(())
    }

    pub(crate) async fn close(self) {
        self.stop.cancel();
        let _ = self.reader.await;
        let _ = self.producer.close(Duration::from_secs(5)).await;
    }
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
