//! The record accumulator: per-partition queues of batches being filled or waiting to be sent.
//!
//! ```text
//!  send(record) ─▶ queue(topic, partition) ─▶ [open batch] [full] [full] …
//!                                              ▲ appends go here
//!  sender ◀── drain: the front batch of every partition that is ready (full, lingered,
//!             flushing) and not muted (one batch in flight per partition keeps order)
//! ```
//!
//! Records are written straight into a [`RecordBatchBuilder`]'s buffer: no per-record heap
//! allocation. Every record of a batch shares one [`BatchCompletion`]; its delivery future
//! only remembers the record's index, and the offset is `base_offset + index`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use streamctl_protocol::compression::Compression;
use streamctl_protocol::record_batch::{
    rewrite_producer_state, HeaderRef, Record, RecordBatch, RecordBatchBuilder,
};
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::idempotence::{PartitionSequences, Stamp};
use crate::error::Error;

/// Largest buffer reserved for a new batch ahead of its records (a huge `batch.size` should
/// not cost its full size for every partition with a record or two).
const MAX_PREALLOCATED_BATCH: usize = 1 << 20;

/// What a batch's send ended with, shared by its records' delivery futures.
#[derive(Debug, Default)]
pub struct BatchCompletion {
    result: OnceLock<Result<BatchAck, Error>>,
    /// Set instead of `result` when the broker refused the batch as too large and it was
    /// split: `(index of its first record here, the part)`, in order.
    parts: OnceLock<Vec<(usize, Arc<BatchCompletion>)>>,
    done: Notify,
}

/// The broker's acknowledgement of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchAck {
    /// Offset of the batch's first record (-1 with acks=0).
    pub base_offset: i64,
    /// Broker time when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
}

impl BatchCompletion {
    /// Completes the batch once; later calls are ignored.
    pub fn complete(&self, result: Result<BatchAck, Error>) {
        if self.parts.get().is_none() && self.result.set(result).is_ok() {
            self.done.notify_waiters();
        }
    }

    /// Hands the batch's records over to the batches it was split into.
    fn split_into(&self, parts: Vec<(usize, Arc<BatchCompletion>)>) {
        if self.result.get().is_none() && self.parts.set(parts).is_ok() {
            self.done.notify_waiters();
        }
    }

    /// The part now holding the record at `index`, and its index there, once the batch was
    /// split.
    pub fn part_of(&self, index: usize) -> Option<(Arc<BatchCompletion>, usize)> {
        let parts = self.parts.get()?;
        let (first, part) = parts.iter().rev().find(|(first, _)| *first <= index)?;
        Some((part.clone(), index - first))
    }

    /// The outcome, if the batch is done.
    pub fn result(&self) -> Option<&Result<BatchAck, Error>> {
        self.result.get()
    }

    /// Waits for the outcome, or for the batch to be split.
    pub async fn wait(&self) {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.result.get().is_some() || self.parts.get().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// A batch for one partition.
#[derive(Debug)]
pub struct ProducerBatch {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The records, until the batch is closed.
    builder: Option<RecordBatchBuilder>,
    /// The encoded batch once closed; retries resend exactly these bytes (same sequence).
    pub built: Option<Bytes>,
    /// Idempotent producers: the producer id, epoch and first sequence, given when the batch
    /// is first drained and kept for every retry.
    pub stamp: Option<Stamp>,
    /// An attempt under the current stamp may have been written (its outcome is unknown), so
    /// if the batch fails for good its sequences must never be reused.
    pub maybe_written: bool,
    /// The broker lost the producer's sequence state: the batch needs a new stamp (a new
    /// identity, sequence 0) before it is sent again.
    pub resequence: bool,
    /// Shared by every record's delivery future.
    pub completion: Arc<BatchCompletion>,
    /// Number of records.
    pub record_count: usize,
    /// Bytes appended so far (uncompressed estimate).
    pub size: usize,
    /// When the first record arrived (linger and delivery timeout count from here).
    pub created: Instant,
    /// Not before this time (retry backoff).
    pub retry_after: Option<Instant>,
    /// Sends so far.
    pub attempts: u32,
    /// Closed to appends before reaching `batch.size`: a record the partitioner placed here
    /// did not fit and went elsewhere, so the batch is as full as it gets and is sent now.
    pub full: bool,
    /// Buffer memory held until the batch completes.
    permits: Option<OwnedSemaphorePermit>,
}

impl ProducerBatch {
    fn new(
        topic: Arc<str>,
        partition: i32,
        compression: Compression,
        batch_size: usize,
        now: Instant,
    ) -> Self {
        Self {
            topic,
            partition,
            // Room for a full batch up front: the buffer is not regrown while records arrive.
            builder: Some(RecordBatchBuilder::with_capacity(
                compression,
                batch_size.min(MAX_PREALLOCATED_BATCH),
            )),
            built: None,
            stamp: None,
            maybe_written: false,
            resequence: false,
            completion: Arc::new(BatchCompletion::default()),
            record_count: 0,
            size: 0,
            created: now,
            retry_after: None,
            attempts: 0,
            full: false,
            permits: None,
        }
    }

    /// Encodes the batch once, with its stamp if it has one (and the transactional flag for
    /// a transactional producer); later calls return the same bytes.
    pub fn close(&mut self, transactional: bool) -> Result<Bytes, Error> {
        if let Some(b) = &self.built {
            return Ok(b.clone());
        }
        let Some(mut builder) = self.builder.take() else {
            return Err(Error::Internal(
                "batch has neither records nor bytes".into(),
            ));
        };
        if let Some(s) = self.stamp {
            builder = builder
                .producer(s.identity.id, s.identity.epoch, s.base_sequence)
                .transactional(transactional);
        }
        let bytes = builder
            .build()
            .map_err(|e| Error::RecordTooLarge(e.to_string()))?;
        self.built = Some(bytes.clone());
        Ok(bytes)
    }

    /// Gives the batch a new stamp. An encoded batch is rewritten in place: the producer
    /// fields sit in the header, and its CRC, which covers them, is recomputed.
    pub fn restamp(&mut self, stamp: Stamp) -> Result<(), Error> {
        if let Some(built) = self.built.take() {
            let mut bytes = bytes::BytesMut::from(built.as_ref());
            let rewritten = rewrite_producer_state(
                &mut bytes,
                stamp.identity.id,
                stamp.identity.epoch,
                stamp.base_sequence,
            );
            if let Err(e) = rewritten {
                self.built = Some(built);
                return Err(Error::Internal(format!(
                    "cannot give the batch a new producer id and sequence: {e}"
                )));
            }
            self.built = Some(bytes.freeze());
        }
        self.stamp = Some(stamp);
        self.resequence = false;
        // What the old stamp's attempts did cannot make the new sequence's outcome unknown.
        self.maybe_written = false;
        Ok(())
    }

    /// Completes every record of the batch and releases its memory.
    pub fn finish(mut self, result: Result<BatchAck, Error>) {
        self.permits.take();
        self.completion.complete(result);
    }

    /// Splits a sent batch the broker refused as too large (`MESSAGE_TOO_LARGE`,
    /// `RECORD_LIST_TOO_LARGE`, written nowhere) into batches of at most `max_bytes` of
    /// records, and at most half of it, so that splitting again always makes progress (Java's
    /// `splitAndReenqueue`). The parts are unstamped: the caller settles the refused batch's
    /// sequences, and each part gets its own when it is drained, as any new batch does. Its
    /// buffer memory is shared out by size. Each record's delivery future follows its part.
    /// The batch comes back when it cannot be split (one record, or undecodable).
    pub fn split(mut self, max_bytes: usize) -> Result<Vec<ProducerBatch>, Box<ProducerBatch>> {
        let decoded = self
            .built
            .clone()
            .ok_or_else(|| "the batch was never encoded".to_string())
            .and_then(|bytes| {
                let batch = RecordBatch::from_bytes(bytes).map_err(|e| e.to_string())?;
                let compression = batch.compression();
                let records = batch
                    .records(usize::MAX)
                    .map_err(|e| e.to_string())?
                    .collect::<Result<Vec<Record>, _>>()
                    .map_err(|e| e.to_string())?;
                Ok((compression, records))
            });
        let (compression, records) = match decoded {
            Ok(d) if d.1.len() > 1 => d,
            Ok(_) => return Err(Box::new(self)),
            Err(error) => {
                tracing::warn!(topic = %self.topic, partition = self.partition, %error, "cannot split a batch the broker refused as too large");
                return Err(Box::new(self));
            }
        };
        let target = max_bytes.min(self.size / 2).max(1);
        let mut parts: Vec<ProducerBatch> = Vec::new();
        let mut links = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let headers: Vec<HeaderRef<'_>> = record.headers.iter().map(HeaderRef::from).collect();
            let size = super::record::estimated_size(
                record.key.as_deref(),
                record.value.as_deref(),
                &headers,
            );
            let room = parts
                .last()
                .is_some_and(|p| p.record_count == 0 || p.size + size <= target);
            if !room {
                let mut part = ProducerBatch::new(
                    self.topic.clone(),
                    self.partition,
                    compression,
                    target,
                    self.created,
                );
                part.attempts = self.attempts;
                links.push((index, part.completion.clone()));
                parts.push(part);
            }
            let Some(part) = parts.last_mut() else {
                continue;
            };
            let pushed = part.builder.as_mut().map(|b| {
                b.push(
                    record.timestamp,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &headers,
                )
            });
            if let Some(Err(error)) = pushed {
                tracing::warn!(topic = %self.topic, partition = self.partition, %error, "cannot split a batch the broker refused as too large");
                return Err(Box::new(self));
            }
            part.record_count += 1;
            part.size += size;
        }
        // Each part holds the memory of its records; the last takes what is left.
        let mut permits = self.permits.take();
        let count = parts.len();
        for (i, part) in parts.iter_mut().enumerate() {
            part.permits = match permits.as_mut() {
                Some(p) if i + 1 < count => p.split(part.size.min(p.num_permits())),
                _ => permits.take(),
            };
        }
        self.completion.split_into(links);
        Ok(parts)
    }
}

/// One partition's queue.
#[derive(Debug, Default)]
pub struct PartitionQueue {
    /// Oldest first; only the last one is open for appends.
    pub batches: VecDeque<ProducerBatch>,
    /// A batch of this partition is in flight (ordering: at most one).
    pub muted: bool,
    /// Idempotent sequences of the partition.
    pub sequences: PartitionSequences,
    /// The smallest batch size the broker refused as too large here: waiting batches grow
    /// to half of it at most, so a topic with a small `max.message.bytes` is not sent an
    /// oversized batch again and again.
    pub refused_size: Option<usize>,
}

/// Where an appended record went, for its delivery future.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The batch's completion.
    pub completion: Arc<BatchCompletion>,
    /// The record's index in the batch.
    pub index: usize,
    /// The batch's topic name (shared, so delivery futures need not copy it).
    pub topic: Arc<str>,
    /// Whether this append filled a batch or started a new one (wake the sender: a new
    /// batch brings a new linger deadline it does not know yet).
    pub batch_ready: bool,
}

/// What [`Accumulator::append`] did.
#[derive(Debug)]
pub enum Append {
    /// The record is in a batch.
    Done(Appended),
    /// The record was not appended: it did not fit the partition's open batch, which is now
    /// closed and ready to send. The record's buffer memory comes back with it, to be
    /// appended again wherever the partitioner places it now.
    BatchFull(OwnedSemaphorePermit),
}

/// All partitions' queues. Lives behind a mutex held only for bookkeeping.
#[derive(Debug, Default)]
pub struct Accumulator {
    /// Queues by topic, then partition.
    pub topics: HashMap<Arc<str>, HashMap<i32, PartitionQueue>>,
    /// Batches not yet completed (queued or in flight).
    pub outstanding: usize,
}

/// One record to append (borrowed from the caller).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Timestamp in ms.
    pub timestamp: i64,
    /// Key.
    pub key: Option<&'a [u8]>,
    /// Value.
    pub value: Option<&'a [u8]>,
    /// Headers, in order, duplicates kept.
    pub headers: &'a [HeaderRef<'a>],
}

impl Accumulator {
    /// Appends a record to the partition's open batch, or a new one when it is full.
    #[allow(clippy::too_many_arguments)]
    ///
    /// `batch_size` is where a batch that could be sent next closes; a batch that cannot (its
    /// partition has a batch in flight, or full ones ahead of it) keeps growing up to
    /// `backlog_batch_size`, so a partition with a backlog sends fewer, larger batches while
    /// a quiet one keeps small batches and low latency.
    ///
    /// With `may_move` (the partitioner chose the partition), a record that does not fit the
    /// open batch is handed back ([`Append::BatchFull`]) instead of starting a new batch
    /// behind it, Java's `abortOnNewBatch`: a sticky partitioner then moves on at the batch
    /// boundary rather than leaving this one record alone in a batch that waits out
    /// `linger.ms`.
    pub fn append(
        &mut self,
        topic: &str,
        partition: i32,
        record: RecordRef<'_>,
        size: usize,
        (batch_size, backlog_batch_size): (usize, usize),
        compression: Compression,
        (permits, may_move): (OwnedSemaphorePermit, bool),
    ) -> Result<Append, Error> {
        // The map's key is the topic's one shared name: batches and delivery futures clone it.
        let topic_arc = match self.topics.get_key_value(topic) {
            Some((name, _)) => name.clone(),
            None => {
                let name: Arc<str> = Arc::from(topic);
                self.topics.insert(name.clone(), HashMap::new());
                name
            }
        };
        let Some(queues) = self.topics.get_mut(topic) else {
            return Err(Error::Internal("no queue for the topic".into()));
        };
        let queue = queues.entry(partition).or_default();
        let waiting = queue.muted || queue.batches.len() > 1;
        let limit = if waiting {
            let refused = queue.refused_size.map_or(usize::MAX, |r| r / 2);
            backlog_batch_size.min(refused).max(batch_size)
        } else {
            batch_size
        };
        let open_has_room = queue.batches.back().is_some_and(|b| {
            b.builder.is_some() && !b.full && (b.record_count == 0 || b.size + size <= limit)
        });
        let started_batch = !open_has_room;
        if !open_has_room {
            if may_move {
                if let Some(open) = queue
                    .batches
                    .back_mut()
                    .filter(|b| b.builder.is_some() && !b.full)
                {
                    open.full = true;
                    return Ok(Append::BatchFull(permits));
                }
            }
            queue.batches.push_back(ProducerBatch::new(
                topic_arc,
                partition,
                compression,
                batch_size,
                // Read the clock only when a batch starts: linger counts from here.
                Instant::now(),
            ));
            self.outstanding += 1;
        }
        let Some(batch) = queue.batches.back_mut() else {
            return Err(Error::Internal("no open batch".into()));
        };
        let Some(builder) = batch.builder.as_mut() else {
            return Err(Error::Internal("batch already closed".into()));
        };
        builder
            .push(record.timestamp, record.key, record.value, record.headers)
            .map_err(|e| Error::RecordTooLarge(e.to_string()))?;
        let was_full = batch.size >= batch_size;
        batch.record_count += 1;
        batch.size += size;
        match &mut batch.permits {
            Some(p) => p.merge(permits),
            slot @ None => *slot = Some(permits),
        }
        Ok(Append::Done(Appended {
            completion: batch.completion.clone(),
            index: batch.record_count - 1,
            topic: batch.topic.clone(),
            // The sender learns of a batch once: when it starts (a new linger deadline) and
            // when it fills. Appends to a growing batch behind a full one do not wake it.
            batch_ready: started_batch || (!was_full && batch.size >= batch_size),
        }))
    }

    /// Whether nothing is queued or in flight.
    pub fn is_idle(&self) -> bool {
        self.outstanding == 0
    }
}
