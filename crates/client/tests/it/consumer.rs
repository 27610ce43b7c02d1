//! The consumer against an in-process dev cluster: manual assignment, seeks, offsets for
//! times, pause/resume, auto.offset.reset, a leader killed mid-consumption, consumer groups
//! (balanced, cooperative rebalance on leave, resume from commits) and a mixed group with
//! librdkafka (confluent-kafka), read_committed on a cluster without transactions.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamctl_client::consumer::{
    Consumer, ConsumerRecord, CooperativeStickyAssignor, IsolationLevel, ListenerFuture,
    OffsetReset, RangeAssignor, RebalanceListener, TopicPartition,
};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::protocol::ErrorCode;
use streamctl_devcluster::DevCluster;

use crate::support::interop_script;

const LIMIT: Duration = Duration::from_secs(90);

/// Three brokers; a short initial rebalance delay keeps the group tests quick.
async fn cluster() -> DevCluster {
    streamctl_testkit::cluster_with(3, |b| {
        b.group_initial_rebalance_delay(Duration::from_millis(50))
    })
    .await
}

/// Produces `n` records round-robin over `partitions` partitions: key `k{i}`, value `v{i}`.
async fn produce(dc: &DevCluster, topic: &str, partitions: i32, n: usize) {
    let producer = Producer::builder(&dc.bootstrap_servers())
        .build()
        .await
        .unwrap();
    let mut last = None;
    for i in 0..n {
        let key = format!("k{i}");
        let value = format!("v{i}");
        last = Some(
            producer
                .send(
                    Record::new(topic)
                        .partition((i % partitions as usize) as i32)
                        .key(key.as_bytes())
                        .value(value.as_bytes()),
                )
                .await
                .unwrap(),
        );
    }
    producer.flush().await;
    last.unwrap().await.unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn value(r: &ConsumerRecord) -> String {
    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
}

/// Polls until `n` records came (or panics on the test's time limit).
async fn poll_n(consumer: &Consumer, n: usize) -> Vec<ConsumerRecord> {
    let mut out = Vec::new();
    while out.len() < n {
        out.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    out
}

fn builder(dc: &DevCluster) -> streamctl_client::consumer::ConsumerBuilder {
    Consumer::builder(&dc.bootstrap_servers())
        .fetch_max_wait(Duration::from_millis(100))
        .auto_offset_reset(OffsetReset::Earliest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_consumes_everything_from_three_partitions() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("orders", 3, 3).unwrap();
        produce(&dc, "orders", 3, 3000).await;
        let consumer = builder(&dc).max_poll_records(123).build().await.unwrap();
        consumer.assign((0..3).map(|p| tp("orders", p))).unwrap();
        let records = poll_n(&consumer, 3000).await;
        assert!(records.len() <= 3000 + 123);
        let mut seen = HashSet::new();
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        for r in &records {
            // In order per partition, no gaps, no duplicates.
            let expected = next.entry(r.partition).or_insert(0);
            assert_eq!(r.offset, *expected, "partition {}", r.partition);
            *expected += 1;
            let i: usize = value(r)[1..].parse().unwrap();
            assert_eq!(i % 3, r.partition as usize);
            assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
            assert!(seen.insert(i));
        }
        assert_eq!(seen.len(), 3000);
        assert_eq!(next.values().sum::<i64>(), 3000);
        assert_eq!(consumer.position(&tp("orders", 1)).await.unwrap(), 1000);
        // Nothing more arrives.
        assert!(consumer
            .poll(Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty());
        consumer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_yields_records_in_order() {
    use futures_core::Stream;
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("s", 1, 1).unwrap();
        produce(&dc, "s", 1, 50).await;
        let consumer = builder(&dc).build().await.unwrap();
        consumer.assign([tp("s", 0)]).unwrap();
        let mut stream = Box::pin(consumer.stream());
        for expected in 0..50 {
            let r = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(r.offset, expected);
        }
        consumer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_beginning_end_and_offsets_for_times() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("t", 1, 1).unwrap();
        let producer = Producer::builder(&dc.bootstrap_servers())
            .acks(Acks::All)
            .build()
            .await
            .unwrap();
        // Timestamps 1000, 2000, … 100_000.
        for i in 0..100i64 {
            let v = format!("v{i}");
            producer
                .send(
                    Record::new("t")
                        .partition(0)
                        .value(v.as_bytes())
                        .timestamp((i + 1) * 1000),
                )
                .await
                .unwrap();
        }
        producer.flush().await;
        let consumer = builder(&dc).build().await.unwrap();
        let p0 = tp("t", 0);
        consumer.assign([p0.clone()]).unwrap();
        consumer.seek(&p0, 50).unwrap();
        let first = consumer.poll(Duration::from_secs(5)).await.unwrap();
        assert_eq!(first[0].offset, 50);
        assert_eq!(value(&first[0]), "v50");
        assert_eq!(first[0].timestamp, 51_000);

        consumer.seek_to_end(&[]).await.unwrap();
        assert_eq!(consumer.position(&p0).await.unwrap(), 100);
        producer
            .send(Record::new("t").partition(0).value(b"late"))
            .await
            .unwrap()
            .await
            .unwrap();
        let late = poll_n(&consumer, 1).await;
        assert_eq!((late[0].offset, value(&late[0]).as_str()), (100, "late"));

        consumer
            .seek_to_beginning(std::slice::from_ref(&p0))
            .await
            .unwrap();
        assert_eq!(consumer.position(&p0).await.unwrap(), 0);
        let again = poll_n(&consumer, 1).await;
        assert_eq!(again[0].offset, 0);

        let found = consumer
            .offsets_for_times([(p0.clone(), 2_500)])
            .await
            .unwrap();
        assert_eq!(found[&p0], Some((2, 3_000)));
        let none = consumer
            .offsets_for_times([(p0.clone(), i64::MAX / 2)])
            .await
            .unwrap();
        assert_eq!(none[&p0], None);
        let ends = consumer
            .end_offsets(std::slice::from_ref(&p0))
            .await
            .unwrap();
        assert_eq!(ends[&p0], 101);
        // Seeking past the end resets by auto.offset.reset (earliest here).
        consumer.seek(&p0, 5_000).unwrap();
        let reset = poll_n(&consumer, 1).await;
        assert_eq!(reset[0].offset, 0);
        producer.close(Duration::from_secs(5)).await.unwrap();
        consumer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("p", 2, 1).unwrap();
        produce(&dc, "p", 2, 200).await;
        let consumer = builder(&dc).build().await.unwrap();
        consumer.assign([tp("p", 0), tp("p", 1)]).unwrap();
        consumer.pause(&[tp("p", 0)]).unwrap();
        assert_eq!(consumer.paused(), BTreeSet::from([tp("p", 0)]));
        let got = poll_n(&consumer, 100).await;
        assert!(got.iter().all(|r| r.partition == 1));
        // Paused: nothing from partition 0 even while waiting.
        assert!(consumer
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty());
        consumer.resume(&[tp("p", 0)]).unwrap();
        let got = poll_n(&consumer, 100).await;
        assert!(got.iter().all(|r| r.partition == 0));
        assert_eq!(got.len(), 100);
        assert!(consumer.pause(&[tp("other", 0)]).is_err());
        consumer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_offset_reset_earliest_latest_and_none() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("r", 1, 1).unwrap();
        produce(&dc, "r", 1, 10).await;
        let p0 = tp("r", 0);

        let earliest = builder(&dc).build().await.unwrap();
        earliest.assign([p0.clone()]).unwrap();
        assert_eq!(poll_n(&earliest, 10).await[0].offset, 0);

        let latest = builder(&dc)
            .auto_offset_reset(OffsetReset::Latest)
            .build()
            .await
            .unwrap();
        latest.assign([p0.clone()]).unwrap();
        assert_eq!(latest.position(&p0).await.unwrap(), 10);
        produce(&dc, "r", 1, 1).await;
        let got = poll_n(&latest, 1).await;
        assert_eq!((got.len(), got[0].offset), (1, 10));

        let none = builder(&dc)
            .auto_offset_reset(OffsetReset::None)
            .group_id("reset-none")
            .build()
            .await
            .unwrap();
        none.assign([p0.clone()]).unwrap();
        let e = loop {
            match none.poll(Duration::from_millis(200)).await {
                Err(e) => break e,
                Ok(r) => assert!(r.is_empty()),
            }
        };
        assert_eq!(e.code(), Some(ErrorCode::OffsetOutOfRange), "{e}");
        assert!(e.to_string().contains("r-0"), "{e}");
        // After a seek it consumes; a seek out of range is an error again.
        none.seek(&p0, 3).unwrap();
        assert_eq!(poll_n(&none, 1).await[0].offset, 3);
        none.seek(&p0, 1_000).unwrap();
        let e = loop {
            match none.poll(Duration::from_millis(200)).await {
                Err(e) => break e,
                Ok(r) => assert!(r.is_empty()),
            }
        };
        assert_eq!(e.code(), Some(ErrorCode::OffsetOutOfRange), "{e}");
        for c in [earliest, latest, none] {
            c.close(Duration::from_secs(5)).await.unwrap();
        }
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill_during_consumption_loses_nothing() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("k", 3, 3).unwrap();
        produce(&dc, "k", 3, 6000).await;
        let consumer = builder(&dc).max_poll_records(100).build().await.unwrap();
        consumer.assign((0..3).map(|p| tp("k", p))).unwrap();
        let mut seen: BTreeSet<(i32, i64)> = BTreeSet::new();
        let mut values = HashSet::new();
        let mut killed = false;
        while values.len() < 6000 {
            for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
                assert!(
                    seen.insert((r.partition, r.offset)),
                    "duplicate {}@{}",
                    r.partition,
                    r.offset
                );
                values.insert(value(&r));
            }
            if !killed && values.len() >= 1000 {
                let leader = consumer.cluster().leader_for("k", 0).await.unwrap();
                dc.kill_broker(leader.node_id).await.unwrap();
                killed = true;
            }
        }
        assert!(killed);
        assert_eq!(values.len(), 6000);
        for p in 0..3 {
            let n = seen.iter().filter(|(q, _)| *q == p).count() as i64;
            assert_eq!(n, 2000);
            assert_eq!(seen.range((p, 0)..(p, i64::MAX)).last().unwrap().1, 1999);
        }
        consumer.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// Records assigned/revoked/lost calls and commits on revoke.
#[derive(Default)]
struct Events(Mutex<Vec<(String, Vec<TopicPartition>)>>);

#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Events>,
}

impl RebalanceListener for Recorder {
    fn on_assigned<'a>(
        &'a self,
        _: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        self.events
            .0
            .lock()
            .unwrap()
            .push(("assigned".into(), partitions.to_vec()));
        Box::pin(async {})
    }
    fn on_revoked<'a>(
        &'a self,
        consumer: &'a Consumer,
        partitions: &'a [TopicPartition],
    ) -> ListenerFuture<'a> {
        self.events
            .0
            .lock()
            .unwrap()
            .push(("revoked".into(), partitions.to_vec()));
        Box::pin(async move {
            // Commit what was handed out of the revoked partitions, while still owned.
            let mut offsets = Vec::new();
            for tp in partitions {
                if let Ok(p) = consumer.position(tp).await {
                    offsets.push((tp.clone(), p));
                }
            }
            consumer.commit_offsets(offsets).await.unwrap();
        })
    }
}

fn group_member(dc: &DevCluster, group: &str) -> streamctl_client::consumer::ConsumerBuilder {
    builder(dc)
        .group_id(group)
        .enable_auto_commit(false)
        .heartbeat_interval(Duration::from_millis(200))
        .session_timeout(Duration::from_secs(10))
        .assignors(vec![Arc::new(CooperativeStickyAssignor)])
}

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_of_three_splits_six_partitions_and_a_leave_moves_only_its_partitions() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("g", 6, 3).unwrap();
        produce(&dc, "g", 6, 6000).await;
        let recorder = Recorder::default();
        let mut members = Vec::new();
        for _ in 0..3 {
            let c = group_member(&dc, "three")
                .rebalance_listener(recorder.clone())
                .build()
                .await
                .unwrap();
            c.subscribe(["g"]).unwrap();
            members.push(c);
        }
        let all: BTreeSet<TopicPartition> = (0..6).map(|p| tp("g", p)).collect();
        wait_for("a balanced assignment", || {
            let sets: Vec<_> = members.iter().map(Consumer::assignment).collect();
            sets.iter().all(|s| s.len() == 2)
                && sets.iter().flatten().cloned().collect::<BTreeSet<_>>() == all
        })
        .await;
        // Consume everything across the three; nobody gets a record twice.
        let mut seen: HashSet<(i32, i64)> = HashSet::new();
        while seen.len() < 6000 {
            for c in &members {
                let owned = c.assignment();
                for r in c.poll(Duration::from_millis(50)).await.unwrap() {
                    assert!(
                        owned.contains(&r.topic_partition())
                            || c.assignment().contains(&r.topic_partition())
                    );
                    assert!(seen.insert((r.partition, r.offset)), "delivered twice");
                }
            }
        }
        for c in &members {
            c.commit().await.unwrap();
        }
        let before: Vec<BTreeSet<TopicPartition>> =
            members.iter().map(Consumer::assignment).collect();
        // The third leaves; cooperative-sticky moves only its two partitions.
        let leaver = members.pop().unwrap();
        leaver.close(Duration::from_secs(10)).await.unwrap();
        wait_for("the leaver's partitions to move", || {
            members.iter().map(|c| c.assignment().len()).sum::<usize>() == 6
        })
        .await;
        for (c, old) in members.iter().zip(&before) {
            let now = c.assignment();
            assert!(
                now.is_superset(old),
                "{old:?} -> {now:?}: a kept partition moved"
            );
            assert_eq!(now.len(), 3);
        }
        // The survivors were never asked to revoke anything.
        let events = recorder.events.0.lock().unwrap().clone();
        let revoked: Vec<_> = events
            .iter()
            .filter(|(k, p)| k == "revoked" && !p.is_empty())
            .collect();
        assert_eq!(revoked.len(), 1, "{events:?}");
        assert_eq!(
            &revoked[0].1.iter().cloned().collect::<BTreeSet<_>>(),
            &before[2]
        );
        // And the moved partitions resume after the committed offsets: nothing is redelivered.
        assert!(members[0]
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty());
        assert!(members[1]
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty());
        for c in members {
            c.close(Duration::from_secs(10)).await.unwrap();
        }
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_from_the_committed_offset() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("c", 1, 3).unwrap();
        produce(&dc, "c", 1, 300).await;
        let first = group_member(&dc, "resume").build().await.unwrap();
        first.subscribe(["c"]).unwrap();
        let got = poll_n(&first, 120).await;
        // Per-record commit of the 120th record, then an async commit of an explicit offset.
        first.commit_record(&got[119]).await.unwrap();
        assert_eq!(
            first.committed(&[tp("c", 0)]).await.unwrap()[&tp("c", 0)],
            Some(120)
        );
        first
            .commit_offsets_async([(tp("c", 0), 150)])
            .await
            .unwrap();
        first.close(Duration::from_secs(10)).await.unwrap();

        let second = group_member(&dc, "resume").build().await.unwrap();
        second.subscribe(["c"]).unwrap();
        let got = poll_n(&second, 1).await;
        assert_eq!(got[0].offset, 150);
        assert_eq!(value(&got[0]), "v150");
        second.close(Duration::from_secs(10)).await.unwrap();

        // Auto-commit on close commits what was consumed.
        let third = builder(&dc)
            .group_id("resume")
            .auto_commit_interval(Duration::from_secs(60))
            .build()
            .await
            .unwrap();
        third.subscribe(["c"]).unwrap();
        let got = poll_n(&third, 1).await;
        assert_eq!(got[0].offset, 150);
        let last = got.last().unwrap().offset;
        // The next poll marks the batch processed.
        let _ = third.poll(Duration::from_millis(10)).await.unwrap();
        let position = third.position(&tp("c", 0)).await.unwrap();
        assert!(position > last);
        third.close(Duration::from_secs(10)).await.unwrap();
        let check = builder(&dc).group_id("resume").build().await.unwrap();
        assert_eq!(
            check.committed(&[tp("c", 0)]).await.unwrap()[&tp("c", 0)],
            Some(position)
        );
        check.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_group_with_librdkafka_splits_the_partitions() {
    let Some(py) = streamctl_testkit::python("confluent_kafka") else {
        return;
    };
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("mixed", 6, 1).unwrap();
        produce(&dc, "mixed", 6, 600).await;
        let ours = builder(&dc)
            .group_id("mixed-group")
            .heartbeat_interval(Duration::from_millis(300))
            .session_timeout(Duration::from_secs(10))
            .assignors(vec![Arc::new(RangeAssignor)])
            .enable_auto_commit(false)
            .build()
            .await
            .unwrap();
        ours.subscribe(["mixed"]).unwrap();
        let script = interop_script("group_consume.py");
        let child = tokio::process::Command::new(py)
            .arg(script)
            .arg(dc.bootstrap_servers())
            .arg("mixed")
            .arg("mixed-group")
            .arg("20")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Consume while librdkafka joins and works; each side must end with 3 partitions.
        let mut ours_seen: HashSet<(i32, i64)> = HashSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut ours_final = BTreeSet::new();
        while tokio::time::Instant::now() < deadline {
            for r in ours.poll(Duration::from_millis(200)).await.unwrap() {
                ours_seen.insert((r.partition, r.offset));
            }
            ours_final = ours.assignment();
            if ours_final.len() == 3 && ours_seen.len() >= 300 {
                break;
            }
        }
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "assigned 0,1,2" lines and "record P OFFSET" lines.
        let (theirs, theirs_records) = crate::support::group_consume_output(&stdout);
        let ours_parts: BTreeSet<i32> = ours_final.iter().map(|tp| tp.partition).collect();
        assert_eq!(
            ours_parts.len(),
            3,
            "ours {ours_parts:?}, theirs {theirs:?}\n{stdout}"
        );
        assert_eq!(
            theirs.len(),
            3,
            "ours {ours_parts:?}, theirs {theirs:?}\n{stdout}"
        );
        assert!(ours_parts.is_disjoint(&theirs));
        // The range assignor gives the first member (sorted by id) 0-2, the other 3-5.
        assert!(ours_parts == BTreeSet::from([0, 1, 2]) || ours_parts == BTreeSet::from([3, 4, 5]));
        // Every record of our final partitions came to us, of theirs to them.
        crate::support::assert_read_all("ours", &ours_parts, &ours_seen, 100);
        crate::support::assert_read_all("theirs", &theirs, &theirs_records, 100);
        ours.close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_gets_its_partitions_back_without_a_rebalance() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("st", 4, 1).unwrap();
        let stays = Recorder::default();
        let b = group_member(&dc, "static")
            .group_instance_id("b")
            .rebalance_listener(stays.clone())
            .build()
            .await
            .unwrap();
        b.subscribe(["st"]).unwrap();
        let a = group_member(&dc, "static")
            .group_instance_id("a")
            .build()
            .await
            .unwrap();
        a.subscribe(["st"]).unwrap();
        wait_for("two members with two partitions each", || {
            a.assignment().len() == 2 && b.assignment().len() == 2
        })
        .await;
        let a_before = a.assignment();
        let b_before = b.assignment();
        // A static member closes without leaving; its restart takes its place.
        a.close(Duration::from_secs(10)).await.unwrap();
        let a_again = group_member(&dc, "static")
            .group_instance_id("a")
            .build()
            .await
            .unwrap();
        a_again.subscribe(["st"]).unwrap();
        wait_for("the restarted member's partitions", || {
            a_again.assignment() == a_before
        })
        .await;
        assert_eq!(b.assignment(), b_before);
        let events = stays.events.0.lock().unwrap().clone();
        assert!(
            events.iter().all(|(k, p)| k == "assigned" || p.is_empty()),
            "the other member was disturbed: {events:?}"
        );
        a_again.close(Duration::from_secs(10)).await.unwrap();
        b.close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_subscription_covers_every_matching_topic() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("re-a", 2, 1).unwrap();
        dc.create_topic("re-b", 1, 1).unwrap();
        dc.create_topic("other", 1, 1).unwrap();
        produce(&dc, "re-b", 1, 5).await;
        let c = group_member(&dc, "pattern").build().await.unwrap();
        c.subscribe_pattern("re-.*").unwrap();
        wait_for("the matching partitions", || c.assignment().len() == 3).await;
        assert!(c.assignment().iter().all(|tp| tp.topic.starts_with("re-")));
        let got = poll_n(&c, 5).await;
        assert!(got.iter().all(|r| &*r.topic == "re-b"));
        assert!(c.subscribe_pattern("(").is_err());
        c.close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_and_consumption_survive_a_coordinator_kill() {
    use streamctl_client::protocol::messages::FindCoordinatorRequest;
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("cf", 3, 3).unwrap();
        produce(&dc, "cf", 3, 600).await;
        let c = group_member(&dc, "coordinator-failover")
            .build()
            .await
            .unwrap();
        c.subscribe(["cf"]).unwrap();
        let mut seen: HashSet<(i32, i64)> = HashSet::new();
        while seen.len() < 300 {
            for r in c.poll(Duration::from_millis(100)).await.unwrap() {
                seen.insert((r.partition, r.offset));
            }
        }
        c.commit().await.unwrap();
        let conn = c.cluster().any_connection().await.unwrap();
        let found = conn
            .call(FindCoordinatorRequest {
                key: "coordinator-failover".into(),
                coordinator_keys: vec!["coordinator-failover".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let coordinator = found
            .coordinators
            .first()
            .map_or(found.node_id, |c| c.node_id);
        dc.kill_broker(coordinator).await.unwrap();
        // The member finds the new coordinator (the new leader of its __consumer_offsets
        // partition) and keeps its partitions; commits go there.
        while seen.len() < 600 {
            for r in c.poll(Duration::from_millis(100)).await.unwrap() {
                seen.insert((r.partition, r.offset));
            }
        }
        let committed = loop {
            match c.commit().await {
                Ok(()) => {
                    break c
                        .committed(&(0..3).map(|p| tp("cf", p)).collect::<Vec<_>>())
                        .await
                        .unwrap()
                }
                Err(e) => {
                    assert!(
                        e.is_retriable() || e.code() == Some(ErrorCode::RebalanceInProgress),
                        "{e}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        for p in 0..3 {
            assert_eq!(committed[&tp("cf", p)], Some(200), "partition {p}");
        }
        c.close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_commit_on_close_never_goes_below_an_explicit_commit() {
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("explicit", 1, 1).unwrap();
        produce(&dc, "explicit", 1, 10).await;
        // Auto-commit stays on: closing commits what the consumer considers done.
        let consumer = group_member(&dc, "explicit-group")
            .enable_auto_commit(true)
            .build()
            .await
            .unwrap();
        consumer.subscribe(["explicit"]).unwrap();
        let got = poll_n(&consumer, 10).await;
        assert_eq!(got.len(), 10);
        // The application says it is done with all ten, then closes without polling again.
        consumer
            .commit_offsets([(tp("explicit", 0), 10)])
            .await
            .unwrap();
        consumer.close(Duration::from_secs(5)).await.unwrap();
        let check = group_member(&dc, "explicit-group").build().await.unwrap();
        let committed = check.committed(&[tp("explicit", 0)]).await.unwrap();
        assert_eq!(
            committed.get(&tp("explicit", 0)).copied().flatten(),
            Some(10),
            "the commit went backwards"
        );
        dc.shutdown().await;
    })
    .await
    .unwrap();
}

/// The dev cluster has no transactions yet: its last stable offset is the high watermark, so
/// a read_committed consumer must read exactly what a read_uncommitted one reads, its
/// `end_offsets` must be the high watermarks, and it must resume from a committed offset
/// even when the coordinator first answers UNSTABLE_OFFSET_COMMIT (retriable, as in Java).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_reads_everything_without_transactions() {
    use streamctl_client::protocol::ApiKey;
    tokio::time::timeout(LIMIT, async {
        let dc = cluster().await;
        dc.create_topic("rc", 2, 3).unwrap();
        produce(&dc, "rc", 2, 400).await;
        let partitions = [tp("rc", 0), tp("rc", 1)];

        let committed = builder(&dc)
            .set("isolation.level", "read_committed")
            .unwrap()
            .group_id("rc-group")
            .enable_auto_commit(false)
            .build()
            .await
            .unwrap();
        assert!(committed.config().isolation_level.read_committed());
        let ends = committed.end_offsets(&partitions).await.unwrap();
        assert_eq!(ends.values().copied().collect::<Vec<_>>(), [200, 200]);
        committed.subscribe(["rc"]).unwrap();
        let got = poll_n(&committed, 400).await;
        let uncommitted = builder(&dc)
            .isolation_level(IsolationLevel::ReadUncommitted)
            .build()
            .await
            .unwrap();
        uncommitted.assign(partitions.clone()).unwrap();
        let all = poll_n(&uncommitted, 400).await;
        let key = |r: &ConsumerRecord| (r.partition, r.offset, value(r));
        let got: BTreeSet<_> = got.iter().map(key).collect();
        let all: BTreeSet<_> = all.iter().map(key).collect();
        assert_eq!(got.len(), 400);
        assert_eq!(got, all);
        committed
            .commit_offsets([(tp("rc", 0), 150), (tp("rc", 1), 50)])
            .await
            .unwrap();
        committed.close(Duration::from_secs(10)).await.unwrap();
        uncommitted.close(Duration::from_secs(5)).await.unwrap();

        // Whichever broker coordinates the group answers the next OffsetFetch twice with
        // UNSTABLE_OFFSET_COMMIT (a transactional commit still pending).
        let brokers = [1, 2, 3];
        for node in brokers {
            dc.inject_errors(
                node,
                ApiKey::OffsetFetch,
                ErrorCode::UnstableOffsetCommit,
                2,
            )
            .unwrap();
        }
        let resumed = builder(&dc)
            .isolation_level(IsolationLevel::ReadCommitted)
            .group_id("rc-group")
            .build()
            .await
            .unwrap();
        resumed.assign(partitions.clone()).unwrap();
        let got = poll_n(&resumed, 200).await;
        let firsts: BTreeMap<i32, i64> =
            got.iter().rev().map(|r| (r.partition, r.offset)).collect();
        assert_eq!(firsts, BTreeMap::from([(0, 150), (1, 50)]));
        let remaining: u32 = brokers
            .iter()
            .flat_map(|&n| dc.faults(n).unwrap().errors)
            .map(|e| e.remaining)
            .sum();
        assert_eq!(
            remaining, 4,
            "the coordinator's two errors were answered and retried"
        );
        resumed.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await
    .unwrap();
}
