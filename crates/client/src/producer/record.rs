//! What a producer sends and gets back: a [`Record`] borrowing the caller's bytes, and the
//! [`DeliveryFuture`] that resolves with its [`RecordMetadata`] once the broker acknowledges
//! it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::accumulator::{self, BatchCompletion};
use super::HeaderRef;
use crate::error::Result;

/// A record to send, borrowing its key, value and headers from the caller.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub(super) topic: &'a str,
    pub(super) partition: Option<i32>,
    pub(super) key: Option<&'a [u8]>,
    pub(super) value: Option<&'a [u8]>,
    pub(super) headers: &'a [HeaderRef<'a>],
    pub(super) timestamp: Option<i64>,
}

impl<'a> Record<'a> {
    /// A record for `topic` with no key and a null value.
    pub fn new(topic: &'a str) -> Self {
        Self {
            topic,
            partition: None,
            key: None,
            value: None,
            headers: &[],
            timestamp: None,
        }
    }

    /// The key (decides the partition unless one is given).
    pub fn key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }

    /// The value.
    pub fn value(mut self, value: &'a [u8]) -> Self {
        self.value = Some(value);
        self
    }

    /// An explicit partition (wins over the partitioner).
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Headers, in order; duplicate keys are kept: `&[HeaderRef::new("trace-id", b"abc")]`.
    pub fn headers(mut self, headers: &'a [HeaderRef<'a>]) -> Self {
        self.headers = headers;
        self
    }

    /// The timestamp in ms since the epoch (default: now).
    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }

    pub(super) fn size(&self) -> usize {
        estimated_size(self.key, self.value, self.headers)
    }
}

/// A record's size as counted against `batch.size` and `buffer.memory`: close to its encoded
/// size, varint overhead plus payloads.
pub(super) fn estimated_size(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[HeaderRef<'_>],
) -> usize {
    21 + key.map_or(0, <[u8]>::len)
        + value.map_or(0, <[u8]>::len)
        + headers
            .iter()
            .map(|h| 10 + h.key.len() + h.value.map_or(0, <[u8]>::len))
            .sum::<usize>()
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic (shared with the record's batch, so a delivery allocates nothing).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset (-1 with acks=0).
    pub offset: i64,
    /// The record's timestamp (the broker's when the topic uses LogAppendTime).
    pub timestamp: i64,
}

/// Resolves when the broker acknowledges the record (or the producer gives up on it).
///
/// It holds the record's batch and its index there; it allocates only if it is polled while
/// the batch is still in flight (one wait per such poll, not per record sent).
pub struct DeliveryFuture {
    pub(super) completion: Arc<BatchCompletion>,
    pub(super) index: usize,
    pub(super) topic: Arc<str>,
    pub(super) partition: i32,
    pub(super) timestamp: i64,
    /// The wait on the batch, created the first time a poll finds it unfinished.
    pub(super) wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl DeliveryFuture {
    /// The partition the record was appended to (known before the broker answers).
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Whether the broker answered (or the producer gave up), so awaiting returns at once.
    pub fn is_done(&self) -> bool {
        let (mut completion, mut index) = (self.completion.clone(), self.index);
        while let Some((part, i)) = completion.part_of(index) {
            (completion, index) = (part, i);
        }
        completion.result().is_some()
    }

    fn outcome(&self, result: &Result<accumulator::BatchAck>) -> Result<RecordMetadata> {
        match result {
            Ok(ack) => Ok(RecordMetadata {
                topic: self.topic.clone(),
                partition: self.partition,
                offset: if ack.base_offset < 0 {
                    -1
                } else {
                    ack.base_offset + self.index as i64
                },
                timestamp: if ack.log_append_time >= 0 {
                    ack.log_append_time
                } else {
                    self.timestamp
                },
            }),
            Err(e) => Err(e.clone()),
        }
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let this = &mut *self;
            // A batch the broker refused as too large was split: follow the record's part.
            if let Some((part, index)) = this.completion.part_of(this.index) {
                this.completion = part;
                this.index = index;
                this.wait = None;
                continue;
            }
            if let Some(result) = this.completion.result() {
                let outcome = this.outcome(result);
                this.wait = None;
                return Poll::Ready(outcome);
            }
            let wait = this.wait.get_or_insert_with(|| {
                let completion = this.completion.clone();
                Box::pin(async move { completion.wait().await })
            });
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Finished: the result is set; the loop reads it.
            self.wait = None;
        }
    }
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
