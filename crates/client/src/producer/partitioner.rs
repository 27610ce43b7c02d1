//! Partitioners: which partition of a topic a record goes to.
//!
//! ```text
//!  record ──▶ explicit partition? ──yes──▶ that partition          (the producer decides this)
//!                   │ no
//!                   ▼
//!            Partitioner::partition(topic, key, value, partition_count)
//!                   │
//!        key ───────┴──────── no key
//!   murmur2(key) & 0x7fffffff      uniform sticky (KIP-794): stay on one partition until
//!     % partition_count            batch.size bytes went there, then pick another at random
//! ```
//!
//! An explicit partition on a record always wins; that is the producer's job (it never asks
//! the partitioner then), not the partitioner's.
//!
//! [`DefaultPartitioner`] matches Kafka's Java client, so a key lands on the same partition
//! whether a Java, librdkafka (`partitioner=murmur2_random`) or streamctl producer writes it:
//! `murmur2(key, seed 0x9747b28c) & 0x7fffffff % partition_count` over *all* partitions of the
//! topic, available or not, because a key's partition must not move when a broker is down.
//! Records without a key use uniform sticky partitioning
//! ([KIP-794](https://cwiki.apache.org/confluence/display/KAFKA/KIP-794%3A+Strictly+Uniform+Sticky+Partitioner)):
//! batching many keyless records into one partition makes batches larger and requests fewer,
//! and switching by bytes sent (rather than by batches, as KIP-480 did) spreads data evenly
//! even when one broker is slower than the others.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rand::Rng;

/// Kafka's default `batch.size`, the amount of data sent to a sticky partition before
/// switching.
pub const DEFAULT_STICKY_BATCH_SIZE: usize = 16_384;

/// Chooses a partition for a record that has no explicit partition.
///
/// Implement it for custom logic, or pass a closure
/// `Fn(&str, Option<&[u8]>, Option<&[u8]>, usize) -> usize`:
///
/// ```
/// # use streamctl_client::producer::partitioner::Partitioner;
/// // Everything with a key starting with "vip" goes to partition 0.
/// let p = |_topic: &str, key: Option<&[u8]>, _value: Option<&[u8]>, count: usize| {
///     match key {
///         Some(k) if k.starts_with(b"vip") => 0,
///         _ => count - 1,
///     }
/// };
/// assert_eq!(p.partition("t", Some(b"vip-1"), None, 4), 0);
/// ```
pub trait Partitioner: Send + Sync {
    /// The partition for a record, in `0..partition_count`.
    ///
    /// `partition_count` is the number of partitions of the topic (all of them, led or not);
    /// the producer only calls this with a count of at least 1, and treats a result outside
    /// the range as a bug of the partitioner (it fails the record).
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partition_count: usize,
    ) -> usize;

    /// Called by the producer when a record this partitioner placed in `previous_partition`
    /// of `topic` did not fit the batch being filled there. That batch is sent as it is,
    /// and the producer then asks [`Partitioner::partition`] again for the same record.
    ///
    /// Sticky partitioners use it as the moment they may switch partitions without leaving a
    /// half-filled batch behind (Java's `onNewBatch`). The default does nothing.
    fn on_new_batch(&self, topic: &str, previous_partition: usize, partition_count: usize) {
        let _ = (topic, previous_partition, partition_count);
    }
}

impl<F> Partitioner for F
where
    F: Fn(&str, Option<&[u8]>, Option<&[u8]>, usize) -> usize + Send + Sync,
{
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partition_count: usize,
    ) -> usize {
        self(topic, key, value, partition_count)
    }
}

/// Kafka's `murmur2` hash of a key, as a Java `int` (so it can be compared with Java's
/// `Utils.murmur2`).
pub fn murmur2(key: &[u8]) -> i32 {
    // Kafka hashes the little-endian words of the key; the crate's endian-neutral variant is
    // exactly that. The cast reinterprets the bits as Java's signed int.
    murmur2::murmur2(key, murmur2::KAFKA_SEED) as i32
}

/// The partition Kafka's Java client (and librdkafka's `murmur2_random`) picks for a key:
/// `(murmur2(key) & 0x7fffffff) % partition_count`. Returns 0 when `partition_count` is 0.
pub fn partition_for_key(key: &[u8], partition_count: usize) -> usize {
    // `& 0x7fffffff` rather than `abs`, as Java's `Utils.toPositive`: abs(i32::MIN) overflows.
    let positive = (murmur2(key) & 0x7fff_ffff).unsigned_abs() as usize;
    positive.checked_rem(partition_count).unwrap_or(0)
}

/// The per-topic state of uniform sticky partitioning.
#[derive(Debug, Clone, Copy)]
struct Sticky {
    /// The partition keyless records go to now.
    partition: usize,
    /// Bytes of keyless records sent to it since it was chosen.
    produced_bytes: usize,
}

/// Java's default partitioner: murmur2 for keyed records, uniform sticky for keyless ones.
#[derive(Debug)]
pub struct DefaultPartitioner {
    /// `batch.size`: keyless data sent to one partition before switching to another.
    sticky_batch_size: usize,
    /// The sticky choice per topic. A std mutex: held for a few instructions, never across
    /// an await.
    sticky: Mutex<HashMap<String, Sticky>>,
}

impl Default for DefaultPartitioner {
    fn default() -> Self {
        Self::new(DEFAULT_STICKY_BATCH_SIZE)
    }
}

impl DefaultPartitioner {
    /// A default partitioner switching sticky partitions after `batch_size` bytes (the
    /// producer passes its `batch.size`).
    pub fn new(batch_size: usize) -> Self {
        Self {
            sticky_batch_size: batch_size.max(1),
            sticky: Mutex::new(HashMap::new()),
        }
    }

    fn sticky_partition(&self, topic: &str, record_bytes: usize, partition_count: usize) -> usize {
        let mut sticky = self.sticky.lock().unwrap_or_else(PoisonError::into_inner);
        // A partition count that shrank (topic recreated) invalidates the choice.
        let fresh = sticky
            .get(topic)
            .is_none_or(|state| state.partition >= partition_count);
        if fresh {
            sticky.insert(
                topic.to_string(),
                Sticky {
                    partition: random_partition(partition_count),
                    produced_bytes: 0,
                },
            );
        }
        let Some(state) = sticky.get_mut(topic) else {
            return 0;
        };
        // KIP-794: switch at a batch boundary once batch.size bytes went to the partition
        // (see `on_new_batch`), or regardless of batches once twice that went there, so a
        // producer that never reports batches still spreads its data.
        if state.produced_bytes >= self.sticky_batch_size.saturating_mul(2) {
            *state = Sticky {
                partition: random_partition(partition_count),
                produced_bytes: 0,
            };
        }
        state.produced_bytes = state.produced_bytes.saturating_add(record_bytes);
        state.partition
    }
}

impl Partitioner for DefaultPartitioner {
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partition_count: usize,
    ) -> usize {
        match key {
            Some(key) => partition_for_key(key, partition_count),
            // The partitioner sees key and value only, so it counts the value's size: the
            // bulk of a keyless record.
            None => self.sticky_partition(topic, value.map_or(0, <[u8]>::len), partition_count),
        }
    }

    fn on_new_batch(&self, topic: &str, previous_partition: usize, partition_count: usize) {
        let mut sticky = self.sticky.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = sticky.get_mut(topic) {
            if state.partition == previous_partition
                && state.produced_bytes >= self.sticky_batch_size
            {
                *state = Sticky {
                    partition: random_partition(partition_count),
                    produced_bytes: 0,
                };
            }
        }
    }
}

fn random_partition(partition_count: usize) -> usize {
    if partition_count == 0 {
        return 0;
    }
    rand::rng().random_range(0..partition_count)
}

/// Spreads records over all partitions in turn, per topic, ignoring keys (Java's
/// `RoundRobinPartitioner`).
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    /// The next counter value per topic.
    counters: Mutex<HashMap<String, usize>>,
}

impl RoundRobinPartitioner {
    /// A round-robin partitioner starting at partition 0 of every topic.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(
        &self,
        topic: &str,
        _key: Option<&[u8]>,
        _value: Option<&[u8]>,
        partition_count: usize,
    ) -> usize {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let counter = match counters.get_mut(topic) {
            Some(counter) => counter,
            None => counters.entry(topic.to_string()).or_insert(0),
        };
        let next = *counter;
        *counter = counter.wrapping_add(1);
        next.checked_rem(partition_count).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Apache Kafka's `UtilsTest.testMurmur2`
    /// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    #[test]
    fn murmur2_matches_kafka_utils_test() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key), expected, "{}", String::from_utf8_lossy(key));
        }
    }

    /// librdkafka's `unittest_murmur2` (src/rdmurmur2.c): Java's results, including every
    /// tail length and the empty key.
    #[test]
    fn murmur2_matches_librdkafka_vectors() {
        let cases: [(&[u8], u32); 11] = [
            (b"kafka", 0xd067_cf64),
            (b"giberish123456789", 0x8f55_2b0c),
            (b"1234", 0x9fc9_7b14),
            (b"234", 0xe7c0_09ca),
            (b"34", 0x8739_30da),
            (b"4", 0x5a4b_5ca1),
            (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
            (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377),
            (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
            (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f),
            (b"", 0x106e_08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(
                murmur2(key) as u32,
                expected,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
    }

    /// Known key → partition results: kafka-python's `test_partitioner.py` (1000 partitions)
    /// and librdkafka's `0048-partitioner.c` `murmur2_random` cases (17 partitions), as
    /// collected in segmentio/kafka-go's `TestMurmur2Balancer`.
    #[test]
    fn keys_land_where_other_clients_put_them() {
        let python: [(&[u8], usize); 6] = [
            (b"", 681),
            (b"a", 524),
            (b"ab", 434),
            (b"abc", 107),
            (b"123456789", 566),
            (b"\x00 ", 742),
        ];
        for (key, partition) in python {
            assert_eq!(partition_for_key(key, 1000), partition, "{key:?}");
        }
        let librdkafka: [(&[u8], usize); 4] = [
            (b"", 0x106e_08d9 % 17),
            (b"23456", 0x058d_780f % 17),
            (
                b"this is another string with more length to it perhaps",
                0x4f77_03da % 17,
            ),
            (b"hejsan", 0x5ec1_9395 % 17),
        ];
        for (key, partition) in librdkafka {
            assert_eq!(partition_for_key(key, 17), partition, "{key:?}");
        }
        // Java's toPositive masks the sign bit, it does not negate: "foobar" hashes to a
        // negative int whose masked value decides.
        let masked = (-790_332_482_i32 & 0x7fff_ffff) as usize;
        assert_eq!(partition_for_key(b"foobar", 16), masked % 16);
        assert_eq!(partition_for_key(b"foobar", 0), 0);
    }

    #[test]
    fn default_partitioner_hashes_keys_over_all_partitions() {
        let p = DefaultPartitioner::default();
        for i in 0..200 {
            let key = format!("key-{i}");
            let expected = partition_for_key(key.as_bytes(), 7);
            assert_eq!(p.partition("t", Some(key.as_bytes()), None, 7), expected);
        }
    }

    #[test]
    fn keyless_records_stick_until_batch_size_then_move_uniformly() {
        let p = DefaultPartitioner::new(1000);
        let first = p.partition("t", None, Some(&[0; 100]), 8);
        // Nine more records (1000 bytes in all) stay on the same partition.
        for _ in 0..9 {
            assert_eq!(p.partition("t", None, Some(&[0; 100]), 8), first);
        }
        // A completed batch of another partition does not move the sticky choice.
        p.on_new_batch("t", (first + 1) % 8, 8);
        assert_eq!(p.partition("t", None, Some(&[0; 100]), 8), first);

        // Over many switches every partition is chosen and the spread is roughly even.
        let mut counts = [0usize; 8];
        for _ in 0..4000 {
            let partition = p.partition("t", None, Some(&[0; 100]), 8);
            counts[partition] += 1;
            p.on_new_batch("t", partition, 8);
        }
        for count in counts {
            assert!(count > 250, "uneven spread {counts:?}");
        }
    }

    #[test]
    fn keyless_records_switch_without_batch_reports_after_twice_batch_size() {
        let p = DefaultPartitioner::new(100);
        let mut switches = 0;
        let mut current = p.partition("t", None, Some(&[0; 50]), 1000);
        for _ in 0..400 {
            let next = p.partition("t", None, Some(&[0; 50]), 1000);
            if next != current {
                switches += 1;
                current = next;
            }
        }
        // One switch per 200 bytes (4 records), bar the rare random repeat.
        assert!((90..=100).contains(&switches), "{switches}");
    }

    #[test]
    fn sticky_state_is_per_topic_and_survives_shrinking_topics() {
        let p = DefaultPartitioner::new(1 << 20);
        let a = p.partition("a", None, None, 1000);
        for _ in 0..10 {
            p.partition("b", None, None, 1000);
            assert_eq!(p.partition("a", None, None, 1000), a);
        }
        for _ in 0..50 {
            assert!(p.partition("a", None, None, 1) == 0);
        }
        assert_eq!(p.partition("a", None, None, 0), 0);
    }

    #[test]
    fn round_robin_cycles_per_topic_ignoring_keys() {
        let p = RoundRobinPartitioner::new();
        let got: Vec<_> = (0..7)
            .map(|i| p.partition("t", Some(format!("k{i}").as_bytes()), None, 3))
            .collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(p.partition("other", None, None, 3), 0);
        assert_eq!(p.partition("t", None, None, 0), 0);
    }

    #[test]
    fn closures_and_trait_objects_are_partitioners() {
        let by_len = |_: &str, key: Option<&[u8]>, _: Option<&[u8]>, n: usize| {
            key.map_or(0, <[u8]>::len) % n
        };
        let boxed: Vec<Box<dyn Partitioner>> = vec![
            Box::new(by_len),
            Box::new(DefaultPartitioner::default()),
            Box::new(RoundRobinPartitioner::new()),
        ];
        assert_eq!(boxed[0].partition("t", Some(b"abcde"), None, 3), 2);
        // The default no-op hook is callable through the trait object.
        boxed[0].on_new_batch("t", 2, 3);
        assert_eq!(boxed[0].partition("t", Some(b"abcde"), None, 3), 2);
        assert_eq!(
            boxed[1].partition("t", Some(b"abcde"), None, 3),
            partition_for_key(b"abcde", 3)
        );
        let cycled: HashSet<_> = (0..3)
            .map(|_| boxed[2].partition("t", None, None, 3))
            .collect();
        assert_eq!(cycled.len(), 3);
    }
}
