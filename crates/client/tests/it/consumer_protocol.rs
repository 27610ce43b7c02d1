//! The consumer with `group.protocol=consumer` (KIP-848) against the dev cluster: members
//! hand partitions over one by one, revoked before assigned elsewhere, commits carry the
//! member epoch, and a group mixes our members with librdkafka's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamctl_client::consumer::{
    Consumer, GroupProtocol, ListenerFuture, OffsetReset, RebalanceListener, TopicPartition,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_devcluster::DevCluster;

use crate::support::{bounded, interop_script};

/// Three brokers; members heartbeat every 200 ms.
async fn cluster() -> DevCluster {
    streamctl_testkit::cluster_with(3, |b| {
        b.group_consumer_heartbeat_interval(Duration::from_millis(200))
    })
    .await
}

async fn produce(dc: &DevCluster, topic: &str, partitions: i32, n: usize) {
    let producer = Producer::builder(&dc.bootstrap_servers())
        .build()
        .await
        .unwrap();
    let mut last = None;
    for i in 0..n {
        let value = format!("v{i}");
        let record = Record::new(topic)
            .partition((i % partitions as usize) as i32)
            .value(value.as_bytes());
        last = Some(producer.send(record).await.unwrap());
    }
    producer.flush().await;
    last.unwrap().await.unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
}

/// One listener call: (member, "assigned" | "revoked" | "lost", partitions).
type Event = (usize, &'static str, Vec<TopicPartition>);

/// Every listener call of every member, in the order they happened.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Event>>>);

struct Listener {
    member: usize,
    log: Log,
}

impl RebalanceListener for Listener {
    fn on_assigned<'a>(&'a self, _: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        self.log
            .0
            .lock()
            .unwrap()
            .push((self.member, "assigned", ps.to_vec()));
        Box::pin(async {})
    }
    fn on_revoked<'a>(&'a self, c: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        self.log
            .0
            .lock()
            .unwrap()
            .push((self.member, "revoked", ps.to_vec()));
        // Commit what was consumed of the revoked partitions while they are still ours.
        Box::pin(async move {
            c.commit().await.unwrap();
        })
    }
    fn on_lost<'a>(&'a self, _: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        self.log
            .0
            .lock()
            .unwrap()
            .push((self.member, "lost", ps.to_vec()));
        Box::pin(async {})
    }
}

fn member(dc: &DevCluster, group: &str) -> streamctl_client::consumer::ConsumerBuilder {
    Consumer::builder(&dc.bootstrap_servers())
        .group_id(group)
        .group_protocol(GroupProtocol::Consumer)
        .enable_auto_commit(false)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(100))
}

/// Polls every member (keeping what they read in `seen`) until `f` holds for their
/// assignments.
async fn wait_for(
    what: &str,
    members: &[Consumer],
    seen: &mut HashSet<(i32, i64)>,
    f: impl Fn(&[BTreeSet<TopicPartition>]) -> bool,
) {
    for _ in 0..300 {
        let sets: Vec<_> = members.iter().map(Consumer::assignment).collect();
        if f(&sets) {
            return;
        }
        for c in members {
            for r in c.poll(Duration::from_millis(10)).await.unwrap() {
                seen.insert((r.partition, r.offset));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sets: Vec<_> = members.iter().map(Consumer::assignment).collect();
    panic!("timed out waiting for {what}: {sets:?}");
}

fn balanced(sets: &[BTreeSet<TopicPartition>], n: usize, partitions: usize) -> bool {
    let union: BTreeSet<_> = sets.iter().flatten().collect();
    sets.len() == n
        && union.len() == partitions
        && sets.iter().map(BTreeSet::len).sum::<usize>() == partitions
        && sets.iter().all(|s| s.len() >= partitions / n)
}

/// Two members, then a third: partitions move only after their owner revoked them, the two
/// first members lose one partition each and nothing else, every record is read, and
/// commits made with the member epoch stick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_hand_partitions_over_revoked_before_assigned() {
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("kip", 6, 3).unwrap();
        produce(&dc, "kip", 6, 3000).await;
        let log = Log::default();
        let mut seen: HashSet<(i32, i64)> = HashSet::new();
        let mut members = Vec::new();
        for i in 0..2 {
            let c = member(&dc, "handover")
                .rebalance_listener(Listener {
                    member: i,
                    log: log.clone(),
                })
                .build()
                .await
                .unwrap();
            c.subscribe(["kip"]).unwrap();
            members.push(c);
        }
        wait_for(
            "two members sharing six partitions",
            &members,
            &mut seen,
            |s| balanced(s, 2, 6),
        )
        .await;
        let before: Vec<_> = members.iter().map(Consumer::assignment).collect();
        for c in &members {
            for r in c.poll(Duration::from_millis(200)).await.unwrap() {
                seen.insert((r.partition, r.offset));
            }
        }
        let third = member(&dc, "handover")
            .rebalance_listener(Listener {
                member: 2,
                log: log.clone(),
            })
            .build()
            .await
            .unwrap();
        third.subscribe(["kip"]).unwrap();
        members.push(third);
        wait_for(
            "three members sharing six partitions",
            &members,
            &mut seen,
            |s| balanced(s, 3, 6),
        )
        .await;
        // The first two kept what they did not give up (uniform is sticky).
        for (old, c) in before.iter().zip(&members) {
            let now = c.assignment();
            assert!(now.is_subset(old), "{old:?} -> {now:?}");
            assert_eq!(now.len(), 2);
        }
        // In the listeners' order: a partition is assigned to the third member only after
        // its previous owner's on_revoked returned.
        let events = log.0.lock().unwrap().clone();
        let mut owner: HashMap<TopicPartition, usize> = HashMap::new();
        for (m, kind, ps) in &events {
            for tp in ps {
                match *kind {
                    "assigned" => {
                        assert!(
                            !owner.contains_key(tp),
                            "{tp:?} assigned while owned: {events:?}"
                        );
                        owner.insert(tp.clone(), *m);
                    }
                    "revoked" => {
                        assert_eq!(owner.remove(tp), Some(*m), "{events:?}");
                    }
                    other => panic!("{other} in a quiet group: {events:?}"),
                }
            }
        }
        // Everything is read by someone; commits are accepted with the current epoch.
        while seen.len() < 3000 {
            for c in &members {
                for r in c.poll(Duration::from_millis(50)).await.unwrap() {
                    seen.insert((r.partition, r.offset));
                }
            }
        }
        for c in &members {
            c.commit().await.unwrap();
        }
        let leaver = members.remove(0);
        leaver.close(Duration::from_secs(10)).await.unwrap();
        wait_for("two members again", &members, &mut seen, |s| {
            balanced(s, 2, 6)
        })
        .await;
        // The group's committed offsets are the ends: nothing is read again.
        for c in &members {
            assert!(c.poll(Duration::from_millis(300)).await.unwrap().is_empty());
            c.close(Duration::from_secs(10)).await.unwrap();
        }
        dc.shutdown().await;
    })
    .await;
}

/// Our member and a librdkafka member, both with `group.protocol=consumer`, split six
/// partitions three and three, and each reads all of its partitions' records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_protocol_group_mixed_with_librdkafka() {
    let Some(py) = streamctl_testkit::python("confluent_kafka") else {
        return;
    };
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("mixed848", 6, 1).unwrap();
        produce(&dc, "mixed848", 6, 600).await;
        let ours = member(&dc, "mixed848-group").build().await.unwrap();
        ours.subscribe(["mixed848"]).unwrap();
        let child = tokio::process::Command::new(py)
            .arg(interop_script("group_consume.py"))
            .arg(dc.bootstrap_servers())
            .arg("mixed848")
            .arg("mixed848-group")
            .arg("30")
            .arg("consumer")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut ours_seen: HashSet<(i32, i64)> = HashSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut ours_final = BTreeSet::new();
        while tokio::time::Instant::now() < deadline {
            for r in ours.poll(Duration::from_millis(200)).await.unwrap() {
                ours_seen.insert((r.partition, r.offset));
            }
            ours_final = ours.assignment();
            let mine: BTreeSet<i32> = ours_final.iter().map(|tp| tp.partition).collect();
            let done = mine.len() == 3
                && mine
                    .iter()
                    .all(|p| ours_seen.iter().filter(|(q, _)| q == p).count() == 100);
            if done {
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
        let (theirs, theirs_records) = crate::support::group_consume_output(&stdout);
        let ours_parts: BTreeSet<i32> = ours_final.iter().map(|tp| tp.partition).collect();
        assert_eq!(
            (ours_parts.len(), theirs.len()),
            (3, 3),
            "ours {ours_parts:?}, theirs {theirs:?}\n{stdout}"
        );
        assert!(ours_parts.is_disjoint(&theirs));
        crate::support::assert_read_all("ours", &ours_parts, &ours_seen, 100);
        crate::support::assert_read_all("theirs", &theirs, &theirs_records, 100);
        ours.close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await;
}

/// `group.protocol=auto` joining a live classic group speaks the consumer protocol and
/// upgrades the group online; the classic member carries on in it and the two share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_joins_a_classic_group_and_upgrades_it() {
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("auto-classic", 4, 3).unwrap();
        let classic = member(&dc, "auto-classic-group")
            .group_protocol(GroupProtocol::Classic)
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        classic.subscribe(["auto-classic"]).unwrap();
        let mut seen = HashSet::new();
        let first = [classic];
        wait_for("the classic member", &first, &mut seen, |s| {
            balanced(s, 1, 4)
        })
        .await;
        let auto = member(&dc, "auto-classic-group")
            .group_protocol(GroupProtocol::Auto)
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        auto.subscribe(["auto-classic"]).unwrap();
        let [classic] = first;
        let members = [classic, auto];
        wait_for("both members", &members, &mut seen, |s| balanced(s, 2, 4)).await;
        let admin = streamctl_client::Admin::connect(streamctl_client::ClientConfig::new(
            &dc.bootstrap_servers(),
        ))
        .await
        .unwrap();
        let described = admin.describe_group("auto-classic-group").await.unwrap();
        assert_eq!(described.group_type, "consumer", "{described:?}");
        for c in &members {
            c.close(Duration::from_secs(10)).await.unwrap();
        }
        dc.shutdown().await;
    })
    .await;
}

/// A classic member (JoinGroup/SyncGroup) joining a consumer-protocol group with members is
/// taken in by the coordinator (Kafka 4's mixed groups), and the two share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_member_joins_a_consumer_protocol_group() {
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("mixed-kinds", 4, 3).unwrap();
        produce(&dc, "mixed-kinds", 4, 400).await;
        let modern = member(&dc, "mixed-kinds-group").build().await.unwrap();
        modern.subscribe(["mixed-kinds"]).unwrap();
        let mut seen = HashSet::new();
        let first = [modern];
        wait_for("the consumer-protocol member", &first, &mut seen, |s| {
            balanced(s, 1, 4)
        })
        .await;
        let classic = member(&dc, "mixed-kinds-group")
            .group_protocol(GroupProtocol::Classic)
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        classic.subscribe(["mixed-kinds"]).unwrap();
        let [modern] = first;
        let members = [modern, classic];
        wait_for("both kinds of member", &members, &mut seen, |s| {
            balanced(s, 2, 4)
        })
        .await;
        while seen.len() < 400 {
            for c in &members {
                for r in c.poll(Duration::from_millis(50)).await.unwrap() {
                    seen.insert((r.partition, r.offset));
                }
            }
        }
        // Commit first: once the consumer-protocol member leaves, the group goes back to
        // being classic and rebalances, and a commit of the old generation is refused.
        for c in &members {
            c.commit().await.unwrap();
        }
        for c in &members {
            c.close(Duration::from_secs(10)).await.unwrap();
        }
        dc.shutdown().await;
    })
    .await;
}

/// A classic group upgraded online (Kafka 4): two classic members consume and commit, a
/// consumer-protocol member joins, the group becomes a consumer-protocol group with the
/// classic members carrying on in it, and every record is read with nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_group_is_upgraded_online() {
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("upgrade", 4, 3).unwrap();
        produce(&dc, "upgrade", 4, 400).await;
        let mut seen = HashSet::new();
        let mut classic = Vec::new();
        for _ in 0..2 {
            let c = member(&dc, "upgrade-group")
                .group_protocol(GroupProtocol::Classic)
                .heartbeat_interval(Duration::from_millis(200))
                .build()
                .await
                .unwrap();
            c.subscribe(["upgrade"]).unwrap();
            classic.push(c);
        }
        wait_for("two classic members", &classic, &mut seen, |s| {
            balanced(s, 2, 4)
        })
        .await;
        for c in &classic {
            c.commit().await.unwrap();
        }
        let admin = streamctl_client::Admin::connect(streamctl_client::ClientConfig::new(
            &dc.bootstrap_servers(),
        ))
        .await
        .unwrap();
        let kind = |groups: Vec<streamctl_client::admin::GroupListing>| {
            groups
                .into_iter()
                .find(|g| g.group_id == "upgrade-group")
                .and_then(|g| g.group_type)
        };
        assert_eq!(
            kind(admin.list_groups().await.unwrap()).as_deref(),
            Some("classic")
        );
        let modern = member(&dc, "upgrade-group").build().await.unwrap();
        modern.subscribe(["upgrade"]).unwrap();
        let mut members = classic;
        members.push(modern);
        wait_for("three members of both kinds", &members, &mut seen, |s| {
            balanced(s, 3, 4)
        })
        .await;
        assert_eq!(
            kind(admin.list_groups().await.unwrap()).as_deref(),
            Some("consumer")
        );
        produce(&dc, "upgrade", 4, 400).await;
        while seen.len() < 800 {
            for c in &members {
                for r in c.poll(Duration::from_millis(50)).await.unwrap() {
                    seen.insert((r.partition, r.offset));
                }
                c.commit().await.unwrap();
            }
        }
        let described = admin.describe_group("upgrade-group").await.unwrap();
        assert_eq!(described.group_type, "consumer");
        assert_eq!(described.members.len(), 3, "{described:?}");
        for c in &members {
            c.close(Duration::from_secs(10)).await.unwrap();
        }
        let offsets = admin.group_offsets("upgrade-group").await.unwrap();
        assert_eq!(offsets.values().sum::<i64>(), 800, "{offsets:?}");
        dc.shutdown().await;
    })
    .await;
}

/// Kafka 4's online downgrade: when the last consumer-protocol member leaves a group whose
/// other members are classic, the group becomes classic again and they take everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_consumer_protocol_member_leaving_makes_the_group_classic() {
    bounded(async {
        let dc = cluster().await;
        dc.create_topic("downgrade", 4, 3).unwrap();
        produce(&dc, "downgrade", 4, 400).await;
        let modern = member(&dc, "downgrade-group").build().await.unwrap();
        modern.subscribe(["downgrade"]).unwrap();
        let mut seen = HashSet::new();
        let first = [modern];
        wait_for("the consumer-protocol member", &first, &mut seen, |s| {
            balanced(s, 1, 4)
        })
        .await;
        let classic = member(&dc, "downgrade-group")
            .group_protocol(GroupProtocol::Classic)
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        classic.subscribe(["downgrade"]).unwrap();
        let [modern] = first;
        let both = [modern, classic];
        wait_for("both kinds", &both, &mut seen, |s| balanced(s, 2, 4)).await;
        for c in &both {
            c.commit().await.unwrap();
        }
        let [modern, classic] = both;
        modern.close(Duration::from_secs(10)).await.unwrap();
        let last = [classic];
        wait_for("the classic member alone", &last, &mut seen, |s| {
            balanced(s, 1, 4)
        })
        .await;
        let admin = streamctl_client::Admin::connect(streamctl_client::ClientConfig::new(
            &dc.bootstrap_servers(),
        ))
        .await
        .unwrap();
        let described = admin.describe_group("downgrade-group").await.unwrap();
        assert_eq!(described.group_type, "classic", "{described:?}");
        assert_eq!(described.members.len(), 1, "{described:?}");
        while seen.len() < 400 {
            for r in last[0].poll(Duration::from_millis(50)).await.unwrap() {
                seen.insert((r.partition, r.offset));
            }
        }
        last[0].close(Duration::from_secs(10)).await.unwrap();
        dc.shutdown().await;
    })
    .await;
}
