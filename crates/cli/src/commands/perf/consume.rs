//! `perf consume` and `perf e2e`: consumers reading assigned shares of the partitions.

use super::*;

/// The topic's partitions, split round-robin among `n` consumers.
pub(super) fn assignments(topic: &str, partitions: i32, n: u32) -> Vec<Vec<TopicPartition>> {
    let mut out: Vec<Vec<TopicPartition>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let len = out.len();
    for p in 0..partitions {
        if let Some(v) = out.get_mut(usize::try_from(p).unwrap_or(0) % len) {
            v.push(TopicPartition::new(topic, p));
        }
    }
    out.retain(|v| !v.is_empty());
    out
}

pub(super) async fn partition_count(setup: &Setup) -> anyhow::Result<i32> {
    let cluster = Cluster::connect(setup.consumer.client.clone()).await?;
    let md = cluster.partitions_for(&setup.opts.topic).await?;
    Ok(i32::try_from(md.partition_count()).unwrap_or(i32::MAX))
}

/// Records in the topic now (end offsets minus beginning offsets).
pub(super) async fn available(
    consumer: &Consumer,
    partitions: &[TopicPartition],
) -> anyhow::Result<u64> {
    let begin = consumer.beginning_offsets(partitions).await?;
    let end = consumer.end_offsets(partitions).await?;
    Ok(partitions
        .iter()
        .map(|tp| {
            let b = begin.get(tp).copied().unwrap_or(0);
            let e = end.get(tp).copied().unwrap_or(0);
            u64::try_from(e - b).unwrap_or(0)
        })
        .sum())
}

pub(super) fn consumer_config(setup: &Setup, reset: OffsetReset) -> ConsumerConfig {
    let mut c = setup.consumer.clone();
    c.auto_offset_reset = reset;
    c.enable_auto_commit = false;
    c.group_id = None;
    c
}

pub(super) async fn consume(setup: &Setup) -> anyhow::Result<Report> {
    let o = &setup.opts;
    let partitions = partition_count(setup).await?;
    let all: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(o.topic.clone(), p))
        .collect();
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Earliest))
        .build()
        .await
        .context("cannot start a consumer")?;
    let have = available(&probe, &all).await?;
    let mut errors = 0;
    let mut first_error = None;
    if have < o.records {
        // Not measured: the records to read.
        let fill = Setup {
            opts: PerfOptions {
                rate: None,
                producers: 1,
                ..o.clone()
            },
            mode: Mode::Produce,
            brokers: setup.brokers.clone(),
            in_process: setup.in_process,
            producer: setup.producer.clone(),
            consumer: setup.consumer.clone(),
        };
        let (sent, _) = run_producers(&fill, o.records - have, false).await?;
        errors += sent.errors;
        first_error = sent.first_error;
    }
    let end = probe.end_offsets(&all).await?;
    probe.close(Duration::from_secs(5)).await?;

    let started = Instant::now();
    let tasks: Vec<_> = assignments(&o.topic, partitions, o.consumers)
        .into_iter()
        .map(|tps| {
            let config = consumer_config(setup, OffsetReset::Earliest);
            let targets: Vec<(TopicPartition, i64)> = tps
                .iter()
                .map(|tp| (tp.clone(), end.get(tp).copied().unwrap_or(0)))
                .collect();
            tokio::spawn(read_until(config, targets))
        })
        .collect();
    let mut records = 0;
    for t in tasks {
        records += t.await.context("a consumer task failed")??;
    }
    Ok(Report {
        records,
        seconds: started.elapsed().as_secs_f64(),
        produce_records: 0,
        produce_seconds: 0.0,
        latency: new_histogram()?,
        errors,
        first_error,
        worst_at_us: None,
        started_us: 0,
        hiccups: None,
    })
}

pub(super) struct Read {
    records: u64,
    latency: Histogram<u64>,
    /// The slowest record's latency and when it was consumed, both in µs.
    worst: (u64, u64),
}

/// Reads the assigned partitions from their current positions until each reaches its
/// target offset, and returns how many records it read; gives up after 30 s without any.
pub(super) async fn read_until(
    config: ConsumerConfig,
    targets: Vec<(TopicPartition, i64)>,
) -> anyhow::Result<u64> {
    let consumer = Consumer::with_config(config)
        .build()
        .await
        .context("cannot start a consumer")?;
    consumer.assign(targets.iter().map(|(tp, _)| tp.clone()))?;
    let mut left: Vec<(String, i32, i64)> = targets
        .iter()
        .filter(|(_, end)| *end > 0)
        .map(|(tp, end)| (tp.topic.clone(), tp.partition, *end))
        .collect();
    let mut records = 0u64;
    let idle_limit = Duration::from_secs(30);
    let mut last_record = Instant::now();
    while !left.is_empty() {
        let batch = consumer.poll(Duration::from_millis(200)).await?;
        if batch.is_empty() {
            if last_record.elapsed() > idle_limit {
                bail!(
                    "no records for {:?}; still waiting on {} partitions",
                    idle_limit,
                    left.len()
                );
            }
            continue;
        }
        last_record = Instant::now();
        for r in &batch {
            records += 1;
            if let Some(i) = left.iter().position(|(t, p, end)| {
                *p == r.partition && **t == *r.topic && r.offset + 1 >= *end
            }) {
                left.swap_remove(i);
            }
        }
    }
    consumer.close(Duration::from_secs(5)).await?;
    Ok(records)
}

/// (partition, end offset) of every partition once the producers are done.
type Targets = Arc<Vec<(i32, i64)>>;

pub(super) async fn end_to_end(setup: &Setup) -> anyhow::Result<Report> {
    let o = &setup.opts;
    let partitions = partition_count(setup).await?;
    let all: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(o.topic.clone(), p))
        .collect();
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Latest))
        .build()
        .await
        .context("cannot start a consumer")?;
    let start = probe.end_offsets(&all).await?;
    probe.close(Duration::from_secs(5)).await?;

    // Which partition each record lands in is the partitioner's choice, so the consumers
    // learn their targets only when the producers are done; until then they read on.
    let (targets_tx, targets_rx) = tokio::sync::watch::channel(None::<Targets>);
    let started = Instant::now();
    let mut consumers = Vec::new();
    for tps in assignments(&o.topic, partitions, o.consumers) {
        let config = consumer_config(setup, OffsetReset::Latest);
        let positions: Vec<(TopicPartition, i64)> = tps
            .iter()
            .map(|tp| (tp.clone(), start.get(tp).copied().unwrap_or(0)))
            .collect();
        let rx = targets_rx.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        consumers.push((
            tokio::spawn(read_stamped(config, positions, rx, ready_tx)),
            ready_rx,
        ));
    }
    let mut handles = Vec::new();
    for (handle, ready) in consumers {
        // Every consumer is positioned before the first record is sent.
        ready.await.context("a consumer failed to start")??;
        handles.push(handle);
    }
    let (sent, produce_seconds) = run_producers(setup, o.records, true).await?;
    let end = probe_end(setup, &all).await?;
    let _ = targets_tx.send(Some(Arc::new(
        all.iter()
            .map(|tp| (tp.partition, end.get(tp).copied().unwrap_or(0)))
            .collect(),
    )));
    let mut latency = new_histogram()?;
    let mut records = 0;
    let mut worst = (0, None);
    for h in handles {
        let r = h.await.context("a consumer task failed")??;
        records += r.records;
        latency.add(&r.latency).context("merging histograms")?;
        if r.worst.0 >= worst.0 {
            worst = (r.worst.0, Some(r.worst.1));
        }
    }
    Ok(Report {
        records,
        seconds: started.elapsed().as_secs_f64(),
        produce_records: sent.records,
        produce_seconds,
        latency,
        errors: sent.errors,
        first_error: sent.first_error,
        worst_at_us: worst.1,
        started_us: 0,
        hiccups: None,
    })
}

pub(super) async fn probe_end(
    setup: &Setup,
    all: &[TopicPartition],
) -> anyhow::Result<std::collections::HashMap<TopicPartition, i64>> {
    let probe = Consumer::with_config(consumer_config(setup, OffsetReset::Latest))
        .build()
        .await?;
    let end = probe.end_offsets(all).await?;
    probe.close(Duration::from_secs(5)).await?;
    Ok(end.into_iter().collect())
}

/// An e2e consumer: positioned at `positions`, signals `ready`, then reads and times stamped
/// records until the targets (sent once the producers finish) are reached.
pub(super) async fn read_stamped(
    config: ConsumerConfig,
    positions: Vec<(TopicPartition, i64)>,
    targets: tokio::sync::watch::Receiver<Option<Targets>>,
    ready: tokio::sync::oneshot::Sender<anyhow::Result<()>>,
) -> anyhow::Result<Read> {
    let consumer = match Consumer::with_config(config).build().await {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("cannot start a consumer: {e}")));
            bail!("cannot start a consumer");
        }
    };
    let started = (|| {
        consumer.assign(positions.iter().map(|(tp, _)| tp.clone()))?;
        for (tp, offset) in &positions {
            consumer.seek(tp, *offset)?;
        }
        Ok::<_, streamctl_client::Error>(())
    })();
    if let Err(e) = started {
        let _ = ready.send(Err(anyhow::anyhow!("cannot position a consumer: {e}")));
        bail!("cannot position a consumer");
    }
    let _ = ready.send(Ok(()));
    let mine: Vec<i32> = positions.iter().map(|(tp, _)| tp.partition).collect();
    let mut position: Vec<(i32, i64)> =
        positions.iter().map(|(tp, o)| (tp.partition, *o)).collect();
    let mut latency = new_histogram()?;
    let mut records = 0u64;
    // The slowest record's latency and when it was consumed (µs).
    let mut worst = (0u64, 0u64);
    let mut idle_since = Instant::now();
    loop {
        let done = targets.borrow().as_ref().map(|t| {
            t.iter().filter(|(p, _)| mine.contains(p)).all(|(p, end)| {
                position
                    .iter()
                    .find(|(q, _)| q == p)
                    .is_some_and(|(_, at)| at >= end)
            })
        });
        if done == Some(true) {
            break;
        }
        if done.is_some() && idle_since.elapsed() > Duration::from_secs(30) {
            bail!("an e2e consumer saw no records for 30 s after the producers finished");
        }
        let batch = consumer.poll(Duration::from_millis(100)).await?;
        if batch.is_empty() {
            continue;
        }
        idle_since = Instant::now();
        let now = micros_since_epoch();
        for r in &batch {
            records += 1;
            if let Some(head) = r
                .value
                .as_ref()
                .and_then(|v| v.get(..8))
                .and_then(|h| <[u8; 8]>::try_from(h).ok())
            {
                let took = now.saturating_sub(u64::from_be_bytes(head)).max(1);
                latency.saturating_record(took);
                if took > worst.0 {
                    worst = (took, now);
                }
            }
            if let Some(slot) = position.iter_mut().find(|(p, _)| *p == r.partition) {
                slot.1 = slot.1.max(r.offset + 1);
            }
        }
    }
    consumer.close(Duration::from_secs(5)).await?;
    Ok(Read {
        records,
        latency,
        worst,
    })
}
