//! The schedule generator: from one seed, the settings of a run (which cluster, which topic
//! settings) and the faults it suffers, each placed after so many acknowledgements.
//!
//! Everything here is a pure function of the seed, so a failing seed prints the same
//! schedule again when replayed; only where the faults land in the log depends on timing.

use std::collections::BTreeMap;
use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Acknowledgements between two steps: at the writers' pace (about 3,000 a second in all)
/// a step every half second to two seconds.
const GAP: std::ops::Range<usize> = 1_500..6_000;

/// Where the dev cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `DevCluster` in this process, logs in memory (a killed broker starts empty).
    InProcessMemory,
    /// `DevCluster` in this process on a data directory; a whole-cluster crash kills every
    /// broker and starts a new `DevCluster` on the same directory.
    InProcessDisk,
    /// `streamctl dev up` as a child process driven through its admin plane; a whole-cluster
    /// crash is a SIGKILL and a restart on the same data directory.
    Process,
}

impl Variant {
    pub fn on_disk(self) -> bool {
        self != Variant::InProcessMemory
    }
}

/// What one seed runs against.
#[derive(Debug, Clone)]
pub struct Settings {
    pub variant: Variant,
    /// The topic's `min.insync.replicas` (replication factor is always 3).
    pub min_insync: u8,
    pub partitions: i32,
}

/// One fault (or its end).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Kill a broker as a crash would (no controlled shutdown).
    Kill(i32),
    /// Stop a broker cleanly (leaderships move first, logs flushed).
    Stop(i32),
    /// Start a killed or stopped broker again.
    Start(i32),
    /// Delay every answer of a broker (replication included).
    Latency { broker: i32, ms: u64 },
    /// Remove the injected latency.
    ClearLatency(i32),
    /// Close every connection open to a broker.
    DropConnections(i32),
    /// The whole cluster crashes and restarts on its data directory.
    Crash,
    /// DeleteRecords on `partition` before an offset at `fraction` of the way from 0 to the
    /// highest offset acknowledged there so far (so at or below what was acknowledged).
    DeleteRecords { partition: i32, fraction: f64 },
}

impl Action {
    /// The name the report counts faults by.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Kill(_) => "kill",
            Action::Stop(_) => "stop",
            Action::Start(_) => "start",
            Action::Latency { .. } => "latency",
            Action::ClearLatency(_) => "clear-latency",
            Action::DropConnections(_) => "drop-connections",
            Action::Crash => "crash-restart",
            Action::DeleteRecords { .. } => "delete-records",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill(b) => write!(f, "kill broker {b}"),
            Action::Stop(b) => write!(f, "stop broker {b}"),
            Action::Start(b) => write!(f, "start broker {b}"),
            Action::Latency { broker, ms } => write!(f, "latency {ms} ms on broker {broker}"),
            Action::ClearLatency(b) => write!(f, "clear latency on broker {b}"),
            Action::DropConnections(b) => write!(f, "drop connections of broker {b}"),
            Action::Crash => write!(f, "crash the whole cluster and restart it on its data"),
            Action::DeleteRecords {
                partition,
                fraction,
            } => write!(
                f,
                "delete records of partition {partition} below {:.0}% of its acknowledged offsets",
                fraction * 100.0
            ),
        }
    }
}

/// One step: wait until `after` more records are acknowledged, then act.
#[derive(Debug, Clone)]
pub struct Step {
    pub after: usize,
    pub action: Action,
}

/// A seed's settings and faults.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub settings: Settings,
    pub steps: Vec<Step>,
}

impl Schedule {
    /// The schedule of `seed`. The variant cycles with the seed (so any three consecutive
    /// seeds cover all three); everything else is drawn from the seeded generator.
    pub fn generate(seed: u64) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let variant = match seed % 3 {
            0 => Variant::Process,
            1 => Variant::InProcessDisk,
            _ => Variant::InProcessMemory,
        };
        let min_insync = rng.random_range(1..=2);
        let settings = Settings {
            variant,
            // In memory a killed broker loses its log, as a disk failure would; with
            // min.insync.replicas=1 an acknowledged record may then have had no other copy,
            // and losing it is beyond Kafka's promise. On disk both values are fair.
            min_insync: if variant.on_disk() { min_insync } else { 2 },
            partitions: rng.random_range(2..=4),
        };
        let mut steps = Vec::new();
        // The model of the cluster the generator keeps, so it never takes down more than
        // one broker at a time (beyond that Kafka promises no availability with RF=3) and
        // always ends a fault it started.
        let mut down: Option<i32> = None;
        let mut slow: Option<i32> = None;
        let faults = rng.random_range(10..=14);
        // Every on-disk seed crashes the whole cluster once, at a seeded place.
        let mut crash_at = variant.on_disk().then(|| rng.random_range(2..faults));
        while steps.len() < faults {
            let after = rng.random_range(GAP);
            if crash_at.is_some_and(|at| steps.len() >= at) {
                crash_at = None;
                if let Some(b) = down.take() {
                    steps.push(Step {
                        after,
                        action: Action::Start(b),
                    });
                }
                steps.push(Step {
                    after,
                    action: Action::Crash,
                });
                continue;
            }
            let broker = rng.random_range(1..=3);
            let roll = rng.random_range(0..100);
            let action = match roll {
                0..=19 if down.is_none() => {
                    down = Some(broker);
                    Action::Kill(broker)
                }
                20..=29 if down.is_none() => {
                    down = Some(broker);
                    Action::Stop(broker)
                }
                0..=34 if down.is_some() => Action::Start(down.take().unwrap_or(broker)),
                35..=49 => match slow.take() {
                    Some(b) => Action::ClearLatency(b),
                    None => {
                        slow = Some(broker);
                        Action::Latency {
                            broker,
                            ms: rng.random_range(5..200),
                        }
                    }
                },
                50..=64 => Action::DropConnections(broker),
                65..=74 if variant.on_disk() && down.is_none() => Action::Crash,
                75..=89 => Action::DeleteRecords {
                    partition: rng.random_range(0..settings.partitions),
                    fraction: rng.random_range(0.1..=1.0),
                },
                _ => continue,
            };
            steps.push(Step { after, action });
        }
        if let Some(b) = down {
            steps.push(Step {
                after: rng.random_range(GAP),
                action: Action::Start(b),
            });
        }
        if let Some(b) = slow {
            steps.push(Step {
                after: rng.random_range(GAP),
                action: Action::ClearLatency(b),
            });
        }
        Schedule {
            seed,
            settings,
            steps,
        }
    }

    /// Faults by kind (starts and clears are the ends of faults, not faults).
    pub fn fault_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for s in &self.steps {
            if !matches!(s.action, Action::Start(_) | Action::ClearLatency(_)) {
                *out.entry(s.action.kind()).or_default() += 1;
            }
        }
        out
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        writeln!(
            f,
            "seed {}: {:?}, replication factor 3, min.insync.replicas {}, {} partitions",
            self.seed, s.variant, s.min_insync, s.partitions
        )?;
        let mut at = 0;
        for (i, step) in self.steps.iter().enumerate() {
            at += step.after;
            writeln!(f, "  {i:>2}. after ~{at:>6} acks: {}", step.action)?;
        }
        Ok(())
    }
}
