//! The live tail: a background task owning one consumer (no group, nothing committed) that
//! reads the topic the messages screen shows and posts records to the event loop.
//!
//! ```text
//!  Request::Tail{topic, partition, from} ──▶ assign ──▶ seek (ListOffsets) ──▶ poll loop
//!  Request::PauseTail(true/false) ──▶ pause/resume every assigned partition (no fetching)
//!  Request::StopTail ──▶ unassign
//!  poll ──(values in Confluent's schema framing decoded, when a registry is known)──
//!       ──Action::Records──▶ event loop
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use streamctl_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use tokio::sync::mpsc;

use super::app::{Action, Request, Seek, TailRequest};
use streamctl_serdes::{Codecs, RegistryClient, SerdesError};

use super::model::{DecodedValue, MessageView};

/// How long one poll waits for records before the task looks at its requests again.
const POLL: Duration = Duration::from_millis(200);

/// Runs the tail until the request channel closes.
pub async fn run(
    config: ConsumerConfig,
    decoder: Option<TailDecoder>,
    mut requests: mpsc::UnboundedReceiver<Request>,
    actions: mpsc::UnboundedSender<Action>,
) {
    let mut consumer: Option<Consumer> = None;
    let mut active = false;
    let mut paused = false;
    loop {
        let polling = active && !paused;
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                match request {
                    Request::Tail(t) => {
                        paused = false;
                        let result = start(&mut consumer, &config, &t, &actions).await;
                        active = result.is_ok();
                        if let Err(e) = result {
                            let _ = actions.send(Action::Status(format!("tail {}: {e:#}", t.topic)));
                        }
                    }
                    Request::StopTail => {
                        active = false;
                        if let Some(c) = &consumer {
                            c.unsubscribe().await;
                        }
                    }
                    Request::PauseTail(p) => {
                        paused = p;
                        if let Some(c) = &consumer {
                            let assigned: Vec<TopicPartition> = c.assignment().into_iter().collect();
                            let _ = if p { c.pause(&assigned) } else { c.resume(&assigned) };
                        }
                    }
                    _ => {}
                }
            }
            polled = poll(consumer.as_ref()), if polling => match polled {
                Ok(records) if !records.is_empty() => {
                    let mut views: Vec<MessageView> = records.into_iter().map(view).collect();
                    if let Some(decoder) = &decoder {
                        for v in &mut views {
                            decoder.decorate(v).await;
                        }
                    }
                    if actions.send(Action::Records(views)).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = actions.send(Action::Status(format!("tail: {e}")));
                }
            },
        }
    }
    if let Some(c) = consumer {
        let _ = c.close(Duration::from_secs(1)).await;
    }
}

async fn poll(consumer: Option<&Consumer>) -> streamctl_client::Result<Vec<ConsumerRecord>> {
    match consumer {
        Some(c) => c.poll(POLL).await,
        None => std::future::pending().await,
    }
}

async fn start(
    consumer: &mut Option<Consumer>,
    config: &ConsumerConfig,
    request: &TailRequest,
    actions: &mpsc::UnboundedSender<Action>,
) -> anyhow::Result<()> {
    if consumer.is_none() {
        let built = Consumer::with_config(config.clone())
            .build()
            .await
            .context("cannot start the consumer")?;
        *consumer = Some(built);
    }
    let Some(c) = consumer.as_ref() else {
        return Ok(());
    };
    c.unsubscribe().await;
    let topic = &request.topic;
    // The metadata may be cached from before partitions were added: ask afresh.
    c.cluster().invalidate_topic(topic);
    let md = c
        .cluster()
        .partitions_for(topic)
        .await
        .with_context(|| format!("topic {topic} cannot be read"))?;
    let all: Vec<i32> = md.partitions.iter().map(|p| p.partition).collect();
    let tps: Vec<TopicPartition> = all
        .iter()
        .filter(|p| request.partition.is_none_or(|want| want == **p))
        .map(|p| TopicPartition::new(topic.clone(), *p))
        .collect();
    if tps.is_empty() {
        anyhow::bail!(
            "no partition {} in {topic}",
            request.partition.map_or("?".to_string(), |p| p.to_string())
        );
    }
    c.assign(tps.clone())?;
    match request.from {
        Seek::Beginning => c.seek_to_beginning(&tps).await?,
        Seek::End => c.seek_to_end(&tps).await?,
        Seek::Offset(o) => {
            for tp in &tps {
                c.seek(tp, o)?;
            }
        }
        Seek::FromEnd(n) => {
            let end = c.end_offsets(&tps).await?;
            let begin = c.beginning_offsets(&tps).await?;
            for tp in &tps {
                let e = end.get(tp).copied().unwrap_or(0);
                let b = begin.get(tp).copied().unwrap_or(0);
                c.seek(tp, e.saturating_sub(n).max(b))?;
            }
        }
        Seek::Timestamp(_) | Seek::Ago(_) => {
            let ms = match request.from {
                Seek::Timestamp(ms) => ms,
                Seek::Ago(d) => crate::output::now_ms()
                    .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                _ => 0,
            };
            let found = c
                .offsets_for_times(tps.iter().map(|tp| (tp.clone(), ms)))
                .await?;
            let mut past_end = Vec::new();
            for (tp, hit) in found {
                match hit {
                    Some((offset, _)) => c.seek(&tp, offset)?,
                    None => past_end.push(tp),
                }
            }
            if !past_end.is_empty() {
                c.seek_to_end(&past_end).await?;
            }
        }
    }
    let _ = actions.send(Action::TailStarted {
        topic: topic.clone(),
        partitions: all,
    });
    Ok(())
}

fn view(r: ConsumerRecord) -> MessageView {
    MessageView {
        topic: r.topic.to_string(),
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key.map(|b| b.to_vec()),
        value: r.value.map(|b| b.to_vec()),
        headers: r
            .headers
            .into_iter()
            .map(|(k, v)| (k, v.map(|b| b.to_vec())))
            .collect(),
        decoded: None,
    }
}

/// Decodes tailed values that are in Confluent's schema framing (Avro, Protobuf or JSON
/// Schema, as their schema says), with the subject and version of their schema; anything
/// else is shown as it is stored.
#[derive(Debug)]
pub struct TailDecoder {
    codecs: Codecs,
    /// "subject vN (id I)" per schema id, asked once.
    labels: Mutex<HashMap<u32, String>>,
    /// Ids that did not decode, and when: not asked again for a while, so a value the
    /// registry cannot help with (or a registry that is down) costs one request, not one
    /// per record, and the tail keeps answering its keys.
    failed: Mutex<HashMap<u32, std::time::Instant>>,
}

/// How long an id that did not decode is left alone.
const RETRY_FAILED: Duration = Duration::from_secs(30);

impl TailDecoder {
    pub fn new(registry: RegistryClient) -> Self {
        Self {
            codecs: Codecs::new(Arc::new(registry)),
            labels: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
        }
    }

    /// Fills in `view.decoded` when the value decodes.
    pub async fn decorate(&self, view: &mut MessageView) {
        let Some(value) = view.value.as_deref() else {
            return;
        };
        let Ok((id, _)) = streamctl_serdes::wire::unframe(value) else {
            return;
        };
        let recently_failed = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .is_some_and(|at| at.elapsed() < RETRY_FAILED);
        if recently_failed {
            return;
        }
        let decoded = tokio::time::timeout(RETRY_FAILED / 6, self.codecs.decode_any(value)).await;
        let json = match decoded {
            Ok(Ok((_, json))) => json,
            // This record's bytes: the next record of the schema may well decode.
            Ok(Err(SerdesError::Decode(_) | SerdesError::NotFramed(_))) => return,
            // The schema id or the registry: leave the id alone for a while.
            _ => {
                self.failed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, std::time::Instant::now());
                return;
            }
        };
        let schema = self.label(id).await;
        view.decoded = Some(DecodedValue { json, schema });
    }

    async fn label(&self, id: u32) -> String {
        if let Some(l) = self
            .labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return l.clone();
        }
        let label = match self
            .codecs
            .registry()
            .uses(id)
            .await
            .ok()
            .and_then(|u| u.into_iter().next())
        {
            Some((subject, version)) => format!("{subject} v{version} (id {id})"),
            None => format!("id {id}"),
        };
        self.labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, label.clone());
        label
    }
}
