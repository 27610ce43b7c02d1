//! Hiccup meters: how late a 1 ms sleep wakes, on an OS thread of its own and as a task on
//! the runtime that runs the clients (and the in-process brokers).
//!
//! A latency tail means little until it is known whose it is. A stall that both meters see
//! at the same moment is the machine's (the scheduler, another process, the hypervisor); one
//! that only the runtime meter sees is a task holding a worker thread, which is ours to fix.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::micros_since_epoch;

const PERIOD: Duration = Duration::from_millis(1);

/// The worst overshoot a meter saw, and when.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Worst {
    /// How much later than asked the sleep returned, in µs.
    pub(super) late_us: u64,
    /// When that sleep returned, in µs since the epoch.
    pub(super) at_us: u64,
}

impl Worst {
    fn note(&mut self, asked: Instant, woke: Instant) {
        let late = woke.saturating_duration_since(asked + PERIOD);
        let late_us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        if late_us > self.late_us {
            *self = Worst {
                late_us,
                at_us: micros_since_epoch(),
            };
        }
    }
}

/// Both meters' worst overshoots over a run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hiccups {
    pub(super) thread: Worst,
    pub(super) runtime: Worst,
}

/// Running meters; [`Meters::stop`] ends them and returns what they saw.
pub(super) struct Meters {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Worst>,
    runtime: tokio::task::JoinHandle<Worst>,
}

impl Meters {
    pub(super) fn start() -> Meters {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut worst = Worst::default();
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    std::thread::sleep(PERIOD);
                    worst.note(asked, Instant::now());
                }
                worst
            })
        };
        let runtime = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut worst = Worst::default();
                while !stop.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    tokio::time::sleep(PERIOD).await;
                    worst.note(asked, Instant::now());
                }
                worst
            })
        };
        Meters {
            stop,
            thread,
            runtime,
        }
    }

    pub(super) async fn stop(self) -> Hiccups {
        self.stop.store(true, Ordering::Relaxed);
        let runtime = self.runtime.await.unwrap_or_default();
        let thread = tokio::task::spawn_blocking(move || self.thread.join().unwrap_or_default())
            .await
            .unwrap_or_default();
        Hiccups { thread, runtime }
    }
}
