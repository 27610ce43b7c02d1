//! Replication over the wire: acks=all, leader kill and election, follower restart and ISR
//! rejoin, min.insync.replicas, preferred leaders. Faults come from the cluster's control
//! methods (kill/stop/start), and waits are on the controller's metadata watch, not sleeps.

use std::collections::BTreeMap;

use streamctl_devcluster::controller::NewTopic;
use streamctl_protocol::ErrorCode;
use streamctl_testkit::{cluster, cluster_with, TempDir};

use crate::support;
use crate::support::{addr, leader, produce, read_all, values, wait_partition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_all_writes_reach_every_replica() {
    let cluster = cluster(3).await;
    cluster.create_topic("r", 1, 3).unwrap();
    let l = leader(&cluster, "r", 0).await;
    for i in 0..10 {
        let (err, base) = produce(addr(&cluster, l), "r", 0, -1, &values(&format!("b{i}"), 5))
            .await
            .unwrap();
        assert_eq!(err, ErrorCode::None);
        assert_eq!(base, i * 5);
    }
    // acks=all answered, so every ISR member holds all 50 records.
    for node in 1..=3 {
        let (_, _, leo) = cluster.replica(node, "r", 0).unwrap().offsets();
        assert_eq!(leo, 50, "broker {node}");
    }
    let (_, hw, leo) = cluster.replica(l, "r", 0).unwrap().offsets();
    assert_eq!((hw, leo), (50, 50));
    assert_eq!(read_all(addr(&cluster, l), "r", 0).await.unwrap().len(), 50);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_a_leader_kill_in_order() {
    let cluster = cluster(3).await;
    cluster.create_topic("k", 1, 3).unwrap();
    let first_leader = leader(&cluster, "k", 0).await;
    let epoch_before = cluster
        .controller()
        .snapshot()
        .partition("k", 0)
        .unwrap()
        .leader_epoch;
    let mut acked: Vec<String> = Vec::new();
    let mut current = first_leader;
    let mut retries = 0;
    for i in 0..120 {
        if i == 40 {
            cluster.kill_broker(first_leader).await.unwrap();
        }
        let batch = values(&format!("b{i}"), 5);
        loop {
            match produce(addr(&cluster, current), "k", 0, -1, &batch).await {
                Ok((ErrorCode::None, _)) => {
                    acked.extend(batch.iter().cloned());
                    break;
                }
                other => {
                    // Not acknowledged: find the new leader and retry the same batch.
                    retries += 1;
                    assert!(retries < 50, "too many retries: {other:?}");
                    wait_partition(&cluster, "k", 0, "a live leader", |l, _| {
                        l >= 0 && l != first_leader
                    })
                    .await;
                    current = leader(&cluster, "k", 0).await;
                }
            }
        }
    }
    assert_ne!(current, first_leader);
    let epoch_after = cluster
        .controller()
        .snapshot()
        .partition("k", 0)
        .unwrap()
        .leader_epoch;
    assert!(epoch_after > epoch_before, "leader epoch must be bumped");
    let read = read_all(addr(&cluster, current), "k", 0).await.unwrap();
    // Every acknowledged record is there, in order (a retried batch may appear twice).
    let mut it = read.iter();
    for v in &acked {
        assert!(
            it.any(|r| r == v),
            "acknowledged {v} missing or out of order"
        );
    }
    assert_eq!(acked.len(), 600);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_follower_restarts_catches_up_and_rejoins_the_isr() {
    let cluster = cluster(3).await;
    cluster.create_topic("f", 1, 3).unwrap();
    let l = leader(&cluster, "f", 0).await;
    let follower = (1..=3).find(|n| *n != l).unwrap();
    produce(addr(&cluster, l), "f", 0, -1, &values("before", 20))
        .await
        .unwrap();
    cluster.kill_broker(follower).await.unwrap();
    wait_partition(&cluster, "f", 0, "follower out of the ISR", |_, isr| {
        !isr.contains(&follower)
    })
    .await;
    for i in 0..10 {
        let (err, _) = produce(
            addr(&cluster, l),
            "f",
            0,
            -1,
            &values(&format!("during{i}"), 10),
        )
        .await
        .unwrap();
        assert_eq!(
            err,
            ErrorCode::None,
            "two in-sync replicas still take acks=all"
        );
    }
    cluster.start_broker(follower).await.unwrap();
    wait_partition(&cluster, "f", 0, "follower back in the ISR", |_, isr| {
        isr.len() == 3
    })
    .await;
    let (_, _, follower_leo) = cluster.replica(follower, "f", 0).unwrap().offsets();
    assert_eq!(
        follower_leo, 120,
        "an in-memory broker restarts empty and copies everything back"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_insync_replicas_refuses_acks_all_with_two_brokers_down() {
    let cluster = cluster(3).await;
    cluster
        .controller()
        .create_topic(
            &NewTopic {
                name: "m".into(),
                num_partitions: 1,
                replication_factor: 3,
                configs: BTreeMap::from([("min.insync.replicas".to_string(), "2".to_string())]),
                ..NewTopic::default()
            },
            false,
        )
        .unwrap();
    let l = leader(&cluster, "m", 0).await;
    assert_eq!(
        produce(addr(&cluster, l), "m", 0, -1, &values("ok", 1))
            .await
            .unwrap()
            .0,
        ErrorCode::None
    );
    for n in (1..=3).filter(|n| *n != l) {
        cluster.kill_broker(n).await.unwrap();
    }
    wait_partition(&cluster, "m", 0, "ISR down to the leader", |_, isr| {
        isr.len() == 1
    })
    .await;
    let (err, _) = produce(addr(&cluster, l), "m", 0, -1, &values("refused", 1))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::NotEnoughReplicas);
    // acks=1 does not need the ISR.
    let (err, _) = produce(addr(&cluster, l), "m", 0, 1, &values("acks1", 1))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::None);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_stop_moves_leadership_and_restart_restores_the_preferred_leader() {
    let dir = TempDir::new("repl");
    let cluster = cluster_with(3, |b| b.data_dir(dir.path())).await;
    cluster.create_topic("p", 1, 3).unwrap();
    let preferred = cluster
        .controller()
        .snapshot()
        .partition("p", 0)
        .unwrap()
        .replicas[0];
    assert_eq!(leader(&cluster, "p", 0).await, preferred);
    produce(addr(&cluster, preferred), "p", 0, -1, &values("a", 30))
        .await
        .unwrap();
    cluster.stop_broker(preferred).await.unwrap();
    let other = leader(&cluster, "p", 0).await;
    assert_ne!(other, preferred);
    assert_eq!(
        produce(addr(&cluster, other), "p", 0, -1, &values("b", 30))
            .await
            .unwrap()
            .0,
        ErrorCode::None
    );
    // Restart from disk: recover 30, catch up the other 30, rejoin, take leadership back.
    cluster.start_broker(preferred).await.unwrap();
    wait_partition(&cluster, "p", 0, "preferred leader restored", |l, isr| {
        l == preferred && isr.len() == 3
    })
    .await;
    let read = read_all(addr(&cluster, preferred), "p", 0).await.unwrap();
    assert_eq!(read.len(), 60);
    assert_eq!(read[0], "a-0");
    assert_eq!(read[59], "b-29");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_old_leader_truncates_its_divergent_tail() {
    let dir = TempDir::new("diverge");
    let cluster = cluster_with(3, |b| b.data_dir(dir.path())).await;
    cluster.create_topic("div", 1, 3).unwrap();
    let old = leader(&cluster, "div", 0).await;
    let (err, _) = produce(addr(&cluster, old), "div", 0, -1, &values("committed", 10))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::None);
    // An uncommitted tail: appended on the leader directly (no wake-up for the followers'
    // long polls), then the leader dies before anyone copied it.
    let md = cluster.controller().snapshot();
    let config = md.topic("div").unwrap().config.clone();
    let info = cluster
        .replica(old, "div", 0)
        .unwrap()
        .append_as_leader(&support::batch(&values("divergent", 5)), &config, 0)
        .unwrap();
    assert_eq!(info.base_offset, 10);
    cluster.kill_broker(old).await.unwrap();
    wait_partition(&cluster, "div", 0, "a new leader", |l, _| {
        l >= 0 && l != old
    })
    .await;
    let new = leader(&cluster, "div", 0).await;
    for i in 0..3 {
        let (err, _) = produce(
            addr(&cluster, new),
            "div",
            0,
            -1,
            &values(&format!("after{i}"), 4),
        )
        .await
        .unwrap();
        assert_eq!(err, ErrorCode::None);
    }
    // The old leader comes back from disk with 15 records, 5 of them never committed: it must
    // cut those (OffsetForLeaderEpoch) and copy the new leader's 12.
    cluster.start_broker(old).await.unwrap();
    wait_partition(&cluster, "div", 0, "old leader back in sync", |_, isr| {
        isr.contains(&old)
    })
    .await;
    // The old leader's own log, read directly: without truncation it would also end at 22,
    // but with the divergent records at 10..15.
    let replica = cluster.replica(old, "div", 0).unwrap();
    let raw = replica
        .read(
            0,
            1 << 20,
            true,
            streamctl_devcluster::partition::Reader::Replica,
        )
        .unwrap()
        .records;
    let mut on_old = Vec::new();
    for b in streamctl_protocol::record_batch::RecordBatches::new(raw) {
        for r in b.unwrap().records(1 << 20).unwrap() {
            let r = r.unwrap();
            on_old.push((
                r.offset,
                String::from_utf8_lossy(&r.value.unwrap()).into_owned(),
            ));
        }
    }
    assert_eq!(on_old.len(), 22, "{on_old:?}");
    assert!(
        on_old.iter().all(|(_, v)| !v.starts_with("divergent")),
        "divergent records survived: {on_old:?}"
    );
    assert_eq!(on_old[10], (10, "after0-0".to_string()));
    let now_leading = leader(&cluster, "div", 0).await;
    let read = read_all(addr(&cluster, now_leading), "div", 0)
        .await
        .unwrap();
    let old_values: Vec<String> = on_old.into_iter().map(|(_, v)| v).collect();
    assert_eq!(read, old_values, "old and new leader hold the same log");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_topic_configs_reach_every_open_replica() {
    let cluster = cluster(3).await;
    cluster.create_topic("cfg", 1, 3).unwrap();
    let l = leader(&cluster, "cfg", 0).await;
    produce(addr(&cluster, l), "cfg", 0, -1, &values("x", 3))
        .await
        .unwrap();
    let overrides = BTreeMap::from([
        ("retention.ms".to_string(), "60000".to_string()),
        ("segment.bytes".to_string(), "1048576".to_string()),
    ]);
    cluster
        .controller()
        .set_topic_config("cfg", overrides)
        .unwrap();
    // Brokers apply the new metadata on their own; wait for it on each replica (bounded).
    for node in 1..=3 {
        let replica = cluster.replica(node, "cfg", 0).unwrap();
        tokio::time::timeout(support::STEP, async {
            while replica.log_config().retention_ms != Some(60_000) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("broker {node} kept {:?}", replica.log_config()));
        assert_eq!(replica.log_config().segment_bytes, 1_048_576);
    }
    cluster.shutdown().await;
}

/// A follower fetching past the leader's log end gets OFFSET_OUT_OF_RANGE with the leader's
/// high watermark and log start, so it moves back to the high watermark instead of guessing.
/// Without them a follower used to truncate its whole log to 0 while staying in the ISR (a
/// chaos test lost every record of two partitions when such a replica then led).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_fetch_past_the_log_end_learns_where_the_leader_log_is() {
    use streamctl_protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
    use streamctl_protocol::messages::FetchRequest;
    let cluster = cluster(3).await;
    cluster.create_topic("oor", 1, 3).unwrap();
    let l = leader(&cluster, "oor", 0).await;
    let (err, _) = produce(addr(&cluster, l), "oor", 0, -1, &values("x", 20))
        .await
        .unwrap();
    assert_eq!(err, ErrorCode::None);
    let follower = (1..=3).find(|n| *n != l).unwrap();
    let resp = support::request(
        addr(&cluster, l),
        FetchRequest {
            replica_id: follower,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1 << 20,
            topics: vec![FetchRequestTopic {
                topic: "oor".into(),
                partitions: vec![FetchRequestPartition {
                    partition: 0,
                    fetch_offset: 500,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        },
        11,
    )
    .await;
    let p = &resp.responses[0].partitions[0];
    assert_eq!(
        ErrorCode::from_code(p.error_code),
        ErrorCode::OffsetOutOfRange
    );
    assert_eq!((p.high_watermark, p.log_start_offset), (20, 0));
    cluster.shutdown().await;
}
