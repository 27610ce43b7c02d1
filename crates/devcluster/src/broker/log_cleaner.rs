//! The broker's log cleaner (Kafka's `LogCleaner` thread): a task that cleans every local
//! replica of a compacted topic that is due (`partition/cleaning.rs`), then sleeps
//! `log.cleaner.backoff.ms` when nothing was, as Kafka's cleaner does.
//!
//! ```text
//!  cleaner task ─▶ spawn_blocking(pass) ─▶ Partition::clean for each local replica
//!       ▲                                     └─▶ /metrics counters, dirty gauges
//!       └── backoff, or run_now() (DevCluster::run_log_cleaner, POST /v1/cleaner/run)
//! ```
//!
//! A pass reads and writes files, so it runs on a blocking thread. A killed broker's pass
//! is not cut off mid-swap by the kill: `RunningBroker::kill` waits for it (`busy`), so a
//! restarted broker never opens a directory that the old one is still renaming files in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::BrokerShared;

/// The cleaner's controls, one per broker incarnation.
#[derive(Debug)]
pub struct LogCleaner {
    /// Wakes the task before its backoff ends.
    wake: Notify,
    /// Held by a running pass.
    busy: Mutex<()>,
    /// Requests for a pass, numbered.
    requested: AtomicU64,
    /// The highest request number that a finished pass started after.
    done: watch::Sender<u64>,
}

impl Default for LogCleaner {
    fn default() -> Self {
        Self {
            wake: Notify::new(),
            busy: Mutex::new(()),
            requested: AtomicU64::new(0),
            done: watch::channel(0).0,
        }
    }
}

impl LogCleaner {
    /// Runs a pass now and waits for it (or for the broker to stop).
    pub async fn run_now(&self, stop: &CancellationToken) {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut done = self.done.subscribe();
        self.wake.notify_one();
        tokio::select! {
            _ = done.wait_for(|d| *d >= ticket) => {}
            () = stop.cancelled() => {}
        }
    }

    /// Waits until no pass runs: after a kill, the old incarnation's pass must be over
    /// before the broker's directories are opened again.
    pub async fn idle(self: &Arc<Self>) {
        let me = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            drop(me.busy.lock().unwrap_or_else(PoisonError::into_inner));
        })
        .await;
    }
}

/// The cleaner task of one broker incarnation.
pub(super) async fn run(shared: Arc<BrokerShared>, stop: CancellationToken) {
    let backoff = shared.config.log_cleaner_backoff;
    loop {
        let ticket = shared.cleaner.requested.load(Ordering::SeqCst);
        let pass = {
            let shared = shared.clone();
            let stop = stop.clone();
            tokio::task::spawn_blocking(move || pass(&shared, &stop))
        };
        let cleaned = pass.await.unwrap_or(false);
        shared.cleaner.done.send_modify(|d| *d = (*d).max(ticket));
        if stop.is_cancelled() {
            return;
        }
        if cleaned || shared.cleaner.requested.load(Ordering::SeqCst) > ticket {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
            () = shared.cleaner.wake.notified() => {}
        }
    }
}

/// Cleans every local replica that is due; true if any was cleaned.
fn pass(shared: &BrokerShared, stop: &CancellationToken) -> bool {
    let _busy = shared
        .cleaner
        .busy
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let now = crate::partition::now_ms();
    let metrics = &shared.metrics;
    let mut cleaned = false;
    let mut dirty_bytes = 0u64;
    let mut max_dirty_ppm = 0u64;
    for replica in shared.replicas.local_replicas() {
        if stop.is_cancelled() {
            return cleaned;
        }
        let started = Instant::now();
        match replica.clean(now, &|| stop.is_cancelled()) {
            Ok(Some(stats)) => {
                cleaned = true;
                let add = |c: &AtomicU64, n: u64| c.fetch_add(n, Ordering::Relaxed);
                add(&metrics.cleaner_runs, 1);
                add(
                    &metrics.cleaner_time_ms,
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
                add(&metrics.cleaner_bytes_read, stats.bytes_before);
                add(
                    &metrics.cleaner_bytes_reclaimed,
                    stats.bytes_before.saturating_sub(stats.bytes_after),
                );
                info!(broker = shared.node_id, topic = %replica.topic, partition = replica.partition, segments = stats.segments, bytes_before = stats.bytes_before, bytes_after = stats.bytes_after, keys = stats.keys, cleaned_to = stats.cleaned_to, "log cleaned");
            }
            Ok(None) => {}
            Err(e) => {
                warn!(broker = shared.node_id, topic = %replica.topic, partition = replica.partition, error = %e, "log cleaning failed");
            }
        }
        if let Some(state) = replica.cleaner_state(now) {
            dirty_bytes += state.dirty_bytes;
            let ratio = crate::state::CleanerView::from(state).dirty_ratio();
            max_dirty_ppm = max_dirty_ppm.max((ratio * 1_000_000.0) as u64);
        }
    }
    metrics
        .cleaner_dirty_bytes
        .store(dirty_bytes, Ordering::Relaxed);
    metrics
        .cleaner_max_dirty_ppm
        .store(max_dirty_ppm, Ordering::Relaxed);
    cleaned
}

/// How long the cleaner sleeps when nothing was due (Kafka's `log.cleaner.backoff.ms`).
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(15);
