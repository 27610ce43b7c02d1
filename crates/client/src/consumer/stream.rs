//! [`RecordStream`]: the consumer's records as a [`futures_core::Stream`].

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Consumer, ConsumerRecord, TopicPartition};
use crate::error::Result;

type PollFuture = Pin<Box<dyn Future<Output = Result<Vec<ConsumerRecord>>> + Send>>;

/// The consumer's records as a [`futures_core::Stream`] (see [`Consumer::stream`]).
///
/// A record counts as processed for auto-commit once the next one is asked for.
pub struct RecordStream {
    consumer: Consumer,
    buffer: VecDeque<ConsumerRecord>,
    /// The last record handed out: processed once the next is asked for.
    last: Option<(TopicPartition, i64)>,
    pending: Option<PollFuture>,
}

impl fmt::Debug for RecordStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordStream")
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl RecordStream {
    pub(crate) fn new(consumer: Consumer) -> Self {
        RecordStream {
            consumer,
            buffer: VecDeque::new(),
            last: None,
            pending: None,
        }
    }

    fn mark_last_consumed(&mut self) {
        if let Some((tp, offset)) = self.last.take() {
            let mut state = self.consumer.inner.state();
            if let Some(p) = state.assignment.get_mut(&tp) {
                if p.consumed.is_none_or(|c| c < offset + 1) {
                    p.consumed = Some(offset + 1);
                }
            }
        }
    }
}

impl futures_core::Stream for RecordStream {
    type Item = Result<ConsumerRecord>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.mark_last_consumed();
        loop {
            if let Some(r) = this.buffer.pop_front() {
                this.last = Some((r.topic_partition(), r.offset));
                return Poll::Ready(Some(Ok(r)));
            }
            let fut = this.pending.get_or_insert_with(|| {
                let consumer = this.consumer.clone();
                let max = consumer.inner.config.max_poll_records;
                Box::pin(async move {
                    consumer
                        .poll_up_to(Duration::from_secs(3600), max, false)
                        .await
                })
            });
            match fut.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    this.pending = None;
                    match result {
                        Ok(records) => this.buffer.extend(records),
                        Err(e) => {
                            if this.consumer.inner.state().closed {
                                return Poll::Ready(None);
                            }
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
            }
        }
    }
}
