//! `perf produce`: producer tasks and their per-partition delivery collectors.

use super::*;

/// A value of `size` pseudo-random capital letters, as kafka-producer-perf-test sends:
/// compressible like text, not a run of one byte.
pub(super) fn payload(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect()
}

pub(super) fn micros_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Sends `count` records (numbered from `first`) at `rate` records/s (or flat out); each
/// delivery is timed by a collector task. With `stamp`, the first 8 bytes of every value
/// carry the send time in µs since the epoch. With `--transaction-records N` the records go
/// in transactions of N, each committed (the commit's wait counts in the run's time).
pub(super) async fn run_producer(
    mut config: ProducerConfig,
    opts: PerfOptions,
    first: u64,
    count: u64,
    rate: Option<f64>,
    stamp: bool,
) -> anyhow::Result<Sent> {
    let per_transaction = opts.transaction_records.filter(|n| *n > 0);
    if per_transaction.is_some() {
        config.transactional_id = Some(format!("streamctl-perf-{}-{first}", std::process::id()));
    }
    let producer = Producer::with_config(config)
        .build()
        .await
        .context("cannot start a producer")?;
    if per_transaction.is_some() {
        producer
            .init_transactions()
            .await
            .context("init_transactions")?;
        producer
            .begin_transaction()
            .await
            .context("begin_transaction")?;
    }
    // Bounded, so a producer that outruns its acknowledgements waits rather than queueing
    // the whole run in memory (buffer.memory bounds the records, this bounds the futures).
    let (tx, rx) = mpsc::channel::<(Instant, DeliveryFuture)>(64 * 1024);
    let collector = tokio::spawn(collect(rx, opts.partitions));
    let mut value = payload(opts.record_size);
    let started = Instant::now();
    let mut send_error = None;
    for i in 0..count {
        if let Some(rate) = rate {
            // Sleep only when a millisecond or more ahead: timers are that coarse, so the
            // records go out in small bursts at the right average rate.
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            if due > Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let key = (first + i).to_be_bytes();
        if stamp {
            if let Some(head) = value.get_mut(..8) {
                head.copy_from_slice(&micros_since_epoch().to_be_bytes());
            }
        }
        let mut record = Record::new(&opts.topic).value(&value);
        if opts.keys {
            record = record.key(&key);
        }
        let sent_at = Instant::now();
        match producer.send(record).await {
            Ok(delivery) => {
                if tx.send((sent_at, delivery)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                send_error = Some(e.to_string());
                break;
            }
        }
        if per_transaction.is_some_and(|n| (i + 1) % n == 0) {
            let next = async {
                producer.commit_transaction().await?;
                if i + 1 < count {
                    producer.begin_transaction().await?;
                }
                Ok::<(), streamctl_client::Error>(())
            };
            if let Err(e) = next.await {
                send_error = Some(format!("transaction: {e}"));
                break;
            }
        }
    }
    if per_transaction.is_some_and(|n| count % n != 0) && send_error.is_none() {
        if let Err(e) = producer.commit_transaction().await {
            send_error = Some(format!("transaction: {e}"));
        }
    }
    drop(tx);
    producer.flush().await;
    let mut sent = collector.await.context("the delivery collector failed")??;
    if let Err(e) = producer.close(Duration::from_secs(30)).await {
        sent.first_error.get_or_insert_with(|| e.to_string());
        sent.errors += 1;
    }
    if let Some(e) = send_error {
        sent.errors += 1;
        sent.first_error.get_or_insert(e);
    }
    Ok(sent)
}

/// Waits for every delivery of one producer and times it. Each partition's deliveries are
/// kept in send order and only the oldest is polled: the ones behind it belong to the same
/// or a later batch, so they cannot be done earlier.
pub(super) async fn collect(
    mut rx: mpsc::Receiver<(Instant, DeliveryFuture)>,
    partitions: i32,
) -> anyhow::Result<Sent> {
    let mut queues: Vec<VecDeque<(Instant, DeliveryFuture)>> = (0..partitions.max(1))
        .map(|_| VecDeque::with_capacity(4096))
        .collect();
    let mut latency = new_histogram()?;
    let mut records = 0u64;
    let mut errors = 0u64;
    let mut first_error = None;
    let mut closed = false;
    std::future::poll_fn(|cx| {
        while !closed {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    let p = usize::try_from(item.1.partition()).unwrap_or(0);
                    if p >= queues.len() {
                        queues.resize_with(p + 1, VecDeque::new);
                    }
                    if let Some(q) = queues.get_mut(p) {
                        q.push_back(item);
                    }
                }
                Poll::Ready(None) => closed = true,
                Poll::Pending => break,
            }
        }
        let mut now = None;
        for q in &mut queues {
            while let Some((sent_at, delivery)) = q.front_mut() {
                let Poll::Ready(result) = Pin::new(delivery).poll(cx) else {
                    break;
                };
                let now = *now.get_or_insert_with(Instant::now);
                let micros =
                    u64::try_from(now.duration_since(*sent_at).as_micros()).unwrap_or(u64::MAX);
                latency.saturating_record(micros.max(1));
                records += 1;
                if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
                q.pop_front();
            }
        }
        if closed && queues.iter().all(VecDeque::is_empty) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    Ok(Sent {
        records,
        latency,
        errors,
        first_error,
    })
}

/// Splits `total` into `n` shares differing by at most one.
pub(super) fn shares(total: u64, n: u32) -> Vec<(u64, u64)> {
    let n = u64::from(n.max(1));
    let mut first = 0;
    (0..n)
        .map(|i| {
            let count = total / n + u64::from(i < total % n);
            let share = (first, count);
            first += count;
            share
        })
        .collect()
}

/// Runs every producer concurrently; returns the merged result and the wall time.
pub(super) async fn run_producers(
    setup: &Setup,
    count: u64,
    stamp: bool,
) -> anyhow::Result<(Sent, f64)> {
    let o = &setup.opts;
    let per_producer_rate = o.rate.map(|r| r as f64 / f64::from(o.producers));
    let started = Instant::now();
    let tasks: Vec<_> = shares(count, o.producers)
        .into_iter()
        .map(|(first, n)| {
            tokio::spawn(run_producer(
                setup.producer.clone(),
                o.clone(),
                first,
                n,
                per_producer_rate,
                stamp,
            ))
        })
        .collect();
    let mut total = Sent {
        records: 0,
        latency: new_histogram()?,
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        let s = t.await.context("a producer task failed")??;
        total.records += s.records;
        total.errors += s.errors;
        if total.first_error.is_none() {
            total.first_error = s.first_error;
        }
        total
            .latency
            .add(&s.latency)
            .context("merging histograms")?;
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

pub(super) async fn produce(setup: &Setup) -> anyhow::Result<Report> {
    let (sent, seconds) = run_producers(setup, setup.opts.records, false).await?;
    Ok(Report {
        records: sent.records,
        seconds,
        produce_records: sent.records,
        produce_seconds: seconds,
        latency: sent.latency,
        errors: sent.errors,
        first_error: sent.first_error,
        worst_at_us: None,
        started_us: 0,
        hiccups: None,
    })
}
