//! The transactional producer against an in-process 3-broker dev cluster: commit and abort
//! seen through read_committed and read_uncommitted consumers, zombie fencing, offsets
//! committed inside a transaction (consume-transform-produce), and a commit whose future is
//! dropped.

use std::time::Duration;

use streamctl_client::admin::TransactionFilter;
use streamctl_client::consumer::{
    Consumer, ConsumerRecord, IsolationLevel, OffsetReset, TopicPartition,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::TransactionErrorKind;
use streamctl_devcluster::DevCluster;
use streamctl_protocol::ApiKey;

use crate::support::bounded;

async fn producer(dc: &DevCluster, id: &str) -> Producer {
    let p = Producer::builder(&dc.bootstrap_servers())
        .transactional_id(id)
        .linger(Duration::from_millis(2))
        .build()
        .await
        .unwrap();
    p.init_transactions().await.unwrap();
    p
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

async fn consumer(dc: &DevCluster, isolation: IsolationLevel, group: Option<&str>) -> Consumer {
    let mut b = Consumer::builder(&dc.bootstrap_servers())
        .isolation_level(isolation)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false);
    if let Some(g) = group {
        b = b.group_id(g);
    }
    b.build().await.unwrap()
}

/// Reads every partition of `topic` from the start until `n` records arrived, then checks
/// that nothing more comes for a moment.
async fn read_all(c: &Consumer, topic: &str, partitions: i32, n: usize) -> Vec<String> {
    c.assign((0..partitions).map(|p| tp(topic, p))).unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        for r in c.poll(Duration::from_millis(200)).await.unwrap() {
            got.push(value(&r));
        }
    }
    let extra = c.poll(Duration::from_millis(300)).await.unwrap();
    assert!(
        extra.is_empty(),
        "more than {n} records: {:?}",
        extra.iter().map(value).collect::<Vec<_>>()
    );
    got.sort();
    got
}

fn value(r: &ConsumerRecord) -> String {
    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
}

async fn send_n(p: &Producer, topic: &str, label: &str, n: usize) {
    for i in 0..n {
        let v = format!("{label}-{i:03}");
        p.send(
            Record::new(topic)
                .partition((i % 3) as i32)
                .value(v.as_bytes()),
        )
        .await
        .unwrap();
    }
}

/// A cluster finalizing `transaction.version` at `tv`: 2 (the default) runs transactions v2,
/// below 2 the v1 protocol.
async fn cluster_at(tv: i16) -> DevCluster {
    streamctl_testkit::cluster_with(3, |b| b.transaction_version(tv)).await
}

/// Three transactions (commit, abort, commit) seen by both isolation levels; returns the
/// producer epoch the coordinator ends with.
async fn commit_abort_commit(dc: &DevCluster) -> i16 {
    dc.create_topic("tx", 3, 3).unwrap();
    let p = producer(dc, "app").await;
    for (label, commit) in [("a", true), ("b", false), ("c", true)] {
        p.begin_transaction().await.unwrap();
        send_n(&p, "tx", label, 30).await;
        if commit {
            p.commit_transaction().await.unwrap();
        } else {
            // Written first, so the abort has records to hide (an abort fails records
            // not sent yet).
            p.flush().await;
            p.abort_transaction().await.unwrap();
        }
    }
    let committed = consumer(dc, IsolationLevel::ReadCommitted, None).await;
    let got = read_all(&committed, "tx", 3, 60).await;
    assert!(
        got.iter()
            .all(|v| v.starts_with("a-") || v.starts_with("c-")),
        "{got:?}"
    );
    let all = consumer(dc, IsolationLevel::ReadUncommitted, None).await;
    assert_eq!(read_all(&all, "tx", 3, 90).await.len(), 90);
    // Misuse is an InvalidState error, not a hang.
    let e = p.commit_transaction().await.unwrap_err();
    assert_eq!(
        e.transaction_kind(),
        Some(TransactionErrorKind::InvalidState)
    );
    p.close(Duration::from_secs(5)).await.unwrap();
    admin(dc)
        .await
        .describe_transaction("app")
        .await
        .unwrap()
        .producer_epoch
}

async fn admin(dc: &DevCluster) -> streamctl_client::Admin {
    streamctl_client::Admin::connect(
        streamctl_client::ClientConfig::default().bootstrap_servers(&dc.bootstrap_servers()),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transactions_are_read_and_aborted_ones_skipped() {
    bounded(async {
        // Transactions v2 (KIP-890 part 2): every end bumps the epoch.
        let dc = cluster_at(2).await;
        assert_eq!(commit_abort_commit(&dc).await, 3);
        dc.shutdown().await;
        // The v1 protocol: the epoch stays.
        let dc = cluster_at(1).await;
        assert_eq!(commit_abort_commit(&dc).await, 0);
        dc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_id_fences_the_first() {
    bounded(async {
        let dc = streamctl_testkit::cluster(3).await;
        dc.create_topic("fence", 3, 3).unwrap();
        let zombie = producer(&dc, "shared").await;
        zombie.begin_transaction().await.unwrap();
        send_n(&zombie, "fence", "zombie", 6).await;
        zombie.flush().await;
        // The successor's init aborts the zombie's open transaction.
        let successor = producer(&dc, "shared").await;
        let e = zombie.commit_transaction().await.unwrap_err();
        assert_eq!(
            e.transaction_kind(),
            Some(TransactionErrorKind::Fenced),
            "{e}"
        );
        let e = zombie.begin_transaction().await.unwrap_err();
        assert_eq!(
            e.transaction_kind(),
            Some(TransactionErrorKind::Fenced),
            "{e}"
        );
        successor.begin_transaction().await.unwrap();
        send_n(&successor, "fence", "next", 6).await;
        successor.commit_transaction().await.unwrap();
        let c = consumer(&dc, IsolationLevel::ReadCommitted, None).await;
        let got = read_all(&c, "fence", 3, 6).await;
        assert!(got.iter().all(|v| v.starts_with("next-")), "{got:?}");
        dc.shutdown().await;
    })
    .await;
}

/// One consume-transform-produce round: at least `want` records from `c`, their transformed
/// copies and the consumer's positions in one transaction, committed or aborted. Returns how
/// many records it took; a committed round's values go into `taken`.
async fn round(
    p: &Producer,
    c: &Consumer,
    taken: &mut Vec<String>,
    commit: bool,
    want: usize,
) -> usize {
    let mut batch = Vec::new();
    while batch.len() < want {
        batch.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    p.begin_transaction().await.unwrap();
    for r in &batch {
        let v = value(r).replace("in-", "out-");
        p.send(
            Record::new("out")
                .partition(r.partition)
                .value(v.as_bytes()),
        )
        .await
        .unwrap();
    }
    let offsets: Vec<(TopicPartition, i64)> = c.positions();
    let group = c.group_metadata().unwrap();
    p.send_offsets_to_transaction(&offsets, &group)
        .await
        .unwrap();
    if commit {
        p.commit_transaction().await.unwrap();
        taken.extend(batch.iter().map(value));
    } else {
        p.abort_transaction().await.unwrap();
    }
    batch.len()
}

/// A consume-transform-produce round trip on a cluster at `transaction.version` `tv`.
async fn offsets_move_only_on_commit(tv: i16) {
    {
        let dc = cluster_at(tv).await;
        dc.create_topic("in", 3, 3).unwrap();
        dc.create_topic("out", 3, 3).unwrap();
        let plain = Producer::builder(&dc.bootstrap_servers())
            .build()
            .await
            .unwrap();
        let fill = |from: i32| {
            let plain = plain.clone();
            async move {
                for i in from..from + 30 {
                    let v = format!("in-{i:03}");
                    plain
                        .send(Record::new("in").partition(i % 3).value(v.as_bytes()))
                        .await
                        .unwrap();
                }
                plain.flush().await;
            }
        };
        fill(0).await;
        let p = producer(&dc, "ctp").await;
        let c = consumer(&dc, IsolationLevel::ReadCommitted, Some("ctp-group")).await;
        c.subscribe(["in"]).unwrap();
        let mut taken = Vec::new();
        let first = round(&p, &c, &mut taken, true, 30).await;
        fill(30).await;
        let parts: Vec<TopicPartition> = (0..3).map(|i| tp("in", i)).collect();
        let after_commit = c.committed(&parts).await.unwrap();
        let total: i64 = after_commit.values().map(|o| o.unwrap_or(0)).sum();
        assert_eq!(total as usize, first);
        round(&p, &c, &mut taken, false, 1).await;
        assert_eq!(c.committed(&parts).await.unwrap(), after_commit);
        c.close(Duration::from_secs(5)).await.unwrap();
        let out = consumer(&dc, IsolationLevel::ReadCommitted, None).await;
        let got = read_all(&out, "out", 3, first).await;
        let mut want: Vec<String> = taken.iter().map(|v| v.replace("in-", "out-")).collect();
        want.sort();
        assert_eq!(got, want);
        // Under transactions v2 TxnOffsetCommit v5 adds the group's partition: no client
        // sends AddOffsetsToTxn.
        let add_offsets: u64 = (1..=3)
            .filter_map(|n| dc.metrics(n))
            .map(|m| m.requests(ApiKey::AddOffsetsToTxn))
            .sum();
        assert_eq!(
            add_offsets == 0,
            tv >= 2,
            "{add_offsets} AddOffsetsToTxn at tv {tv}"
        );
        dc.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_a_transaction_move_only_when_it_commits() {
    bounded(async {
        offsets_move_only_on_commit(2).await;
        offsets_move_only_on_commit(1).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_future_is_dropped_still_completes() {
    bounded(async {
        let dc = streamctl_testkit::cluster(3).await;
        dc.create_topic("drop", 3, 3).unwrap();
        let p = producer(&dc, "dropper").await;
        p.begin_transaction().await.unwrap();
        send_n(&p, "drop", "kept", 9).await;
        // Poll the commit once, then drop it.
        let mut commit = Box::pin(p.commit_transaction());
        let _ = tokio::time::timeout(Duration::from_micros(1), &mut commit).await;
        drop(commit);
        // The next call waits for the commit to end, then starts a new transaction.
        p.begin_transaction().await.unwrap();
        p.abort_transaction().await.unwrap();
        let c = consumer(&dc, IsolationLevel::ReadCommitted, None).await;
        assert_eq!(read_all(&c, "drop", 3, 9).await.len(), 9);
        dc.shutdown().await;
    })
    .await;
}

/// The admin's view of transactions: an open one listed and described with its partitions,
/// the partitions' producers showing where it started, filters by state and producer id,
/// and what is left once it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_lists_and_describes_transactions_and_producers() {
    bounded(async {
        let dc = streamctl_testkit::cluster(3).await;
        dc.create_topic("tx", 3, 3).unwrap();
        let admin = streamctl_client::Admin::connect(
            streamctl_client::ClientConfig::default().bootstrap_servers(&dc.bootstrap_servers()),
        )
        .await
        .unwrap();
        let p = producer(&dc, "lister").await;
        p.begin_transaction().await.unwrap();
        send_n(&p, "tx", "a", 6).await;
        p.flush().await;

        let listed = admin.list_transactions(&Default::default()).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(
            (
                listed[0].transactional_id.as_str(),
                listed[0].state.as_str()
            ),
            ("lister", "Ongoing")
        );
        let pid = listed[0].producer_id;
        let filter = |states: &[&str], pids: &[i64]| TransactionFilter {
            states: states.iter().map(|s| s.to_string()).collect(),
            producer_ids: pids.to_vec(),
            running_longer_than_ms: None,
        };
        assert_eq!(
            admin
                .list_transactions(&filter(&["Ongoing"], &[pid]))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(admin
            .list_transactions(&filter(&["CompleteCommit"], &[]))
            .await
            .unwrap()
            .is_empty());
        assert!(admin
            .list_transactions(&filter(&[], &[pid + 1]))
            .await
            .unwrap()
            .is_empty());
        let e = admin
            .list_transactions(&filter(&["Running"], &[]))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Running"), "{e}");

        let d = admin.describe_transaction("lister").await.unwrap();
        assert_eq!((d.state.as_str(), d.producer_id), ("Ongoing", pid));
        assert_eq!(d.partitions.get("tx"), Some(&vec![0, 1, 2]));
        assert!(d.start_time_ms.is_some());
        assert_eq!(d.coordinator, listed[0].coordinator);
        let producers = admin.describe_producers("tx", 1).await.unwrap();
        assert_eq!(producers.len(), 1, "{producers:?}");
        assert_eq!(producers[0].producer_id, pid);
        assert_eq!(producers[0].current_txn_start_offset, Some(0));
        assert_eq!(producers[0].last_sequence, 1, "two records on partition 1");

        p.commit_transaction().await.unwrap();
        // The commit is answered once PrepareCommit is durable; the markers, then
        // CompleteCommit, follow.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let d = admin.describe_transaction("lister").await.unwrap();
            let open_here =
                admin.describe_producers("tx", 1).await.unwrap()[0].current_txn_start_offset;
            if d.state == "CompleteCommit" && open_here.is_none() {
                // Kafka keeps the start time of the last transaction in Complete states.
                assert!(
                    d.partitions.is_empty() && d.start_time_ms.is_some(),
                    "{d:?}"
                );
                break;
            }
            assert!(
                d.state == "PrepareCommit" || d.state == "CompleteCommit",
                "{d:?}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "{d:?} {open_here:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let e = admin.describe_transaction("nobody").await.unwrap_err();
        assert_eq!(
            e.code(),
            Some(streamctl_client::protocol::ErrorCode::TransactionalIdNotFound)
        );
        p.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await;
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_ending(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_transactions_stay_hidden_after_every_broker_crashes() {
    // The aborted transactions a read_committed fetch lists come from the segments'
    // `.txnindex` files, and the producer state from the snapshots taken as segments roll:
    // after a crash of every broker (no shutdown snapshot) each replica restores them and
    // replays only its active segment. A missing entry would show aborted records.
    bounded(async {
        let dir = streamctl_testkit::TempDir::new("txn-restart");
        let dc = streamctl_testkit::cluster_with(3, |b| b.data_dir(dir.path())).await;
        dc.controller()
            .create_topic(
                &streamctl_devcluster::controller::NewTopic {
                    name: "txlog".into(),
                    num_partitions: 3,
                    replication_factor: 3,
                    configs: [("segment.bytes".to_string(), "2048".to_string())].into(),
                    ..Default::default()
                },
                false,
            )
            .unwrap();
        let p = producer(&dc, "restarted").await;
        for round in 0..16 {
            p.begin_transaction().await.unwrap();
            send_n(&p, "txlog", &format!("r{round:02}"), 12).await;
            if round % 2 == 0 {
                p.commit_transaction().await.unwrap();
            } else {
                p.flush().await;
                p.abort_transaction().await.unwrap();
            }
        }
        p.close(Duration::from_secs(5)).await.unwrap();
        let indexes = files_ending(dir.path(), ".txnindex");
        assert!(
            indexes
                .iter()
                .filter(|f| std::fs::metadata(f).unwrap().len() > 0)
                .count()
                >= 9,
            "every replica of every partition indexes aborts in more than one segment"
        );
        assert!(!files_ending(dir.path(), ".snapshot").is_empty());

        for broker in 1..=3 {
            dc.kill_broker(broker).await.unwrap();
        }
        for broker in 1..=3 {
            dc.start_broker(broker).await.unwrap();
        }
        let committed = consumer(&dc, IsolationLevel::ReadCommitted, None).await;
        let got = read_all(&committed, "txlog", 3, 8 * 12).await;
        let rounds: std::collections::BTreeSet<&str> =
            got.iter().map(|v| v.split('-').next().unwrap()).collect();
        let even: std::collections::BTreeSet<String> =
            (0..16).step_by(2).map(|r| format!("r{r:02}")).collect();
        assert_eq!(
            rounds,
            even.iter().map(String::as_str).collect(),
            "only committed rounds are read"
        );
        let all = consumer(&dc, IsolationLevel::ReadUncommitted, None).await;
        assert_eq!(read_all(&all, "txlog", 3, 16 * 12).await.len(), 16 * 12);
        dc.shutdown().await;
    })
    .await;
}

/// Polls DescribeTransactions until the id is unknown to its coordinator.
async fn until_expired(admin: &streamctl_client::Admin, id: &str) {
    loop {
        match admin.describe_transaction(id).await {
            Err(e) if e.code() == Some(streamctl_protocol::ErrorCode::TransactionalIdNotFound) => {
                return
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("describing {id}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_transactional_id_expires_and_stays_expired_across_a_restart() {
    // `transactional.id.expiration.ms`: an id with no transaction in flight is removed with
    // a tombstone, so a coordinator reloading `__transaction_state` does not bring it back;
    // an id with a transaction open is kept whatever its age.
    bounded(async {
        let dir = streamctl_testkit::TempDir::new("txn-expiry");
        let dc = streamctl_testkit::cluster_with(3, |b| {
            b.data_dir(dir.path())
                .transactional_id_expiration(Duration::from_millis(300))
        })
        .await;
        dc.create_topic("exp", 3, 3).unwrap();
        let admin = admin(&dc).await;
        let idle = producer(&dc, "idle").await;
        idle.begin_transaction().await.unwrap();
        send_n(&idle, "exp", "i", 3).await;
        idle.commit_transaction().await.unwrap();
        let old_pid = admin
            .describe_transaction("idle")
            .await
            .unwrap()
            .producer_id;
        let busy = producer(&dc, "busy").await;
        busy.begin_transaction().await.unwrap();
        send_n(&busy, "exp", "b", 3).await;
        busy.flush().await;

        until_expired(&admin, "idle").await;
        let open = admin.describe_transaction("busy").await.unwrap();
        assert_eq!(open.state, "Ongoing");
        // The removal is logged: a tombstone for the id's key.
        let log = consumer(&dc, IsolationLevel::ReadUncommitted, None).await;
        log.assign((0..10).map(|p| tp("__transaction_state", p)))
            .unwrap();
        'tombstone: loop {
            for r in log.poll(Duration::from_millis(200)).await.unwrap() {
                if r.value.is_none() && r.key.as_deref().is_some_and(|k| k.ends_with(b"idle")) {
                    break 'tombstone;
                }
            }
        }

        for broker in 1..=3 {
            dc.kill_broker(broker).await.unwrap();
        }
        for broker in 1..=3 {
            dc.start_broker(broker).await.unwrap();
        }
        let admin = self::admin(&dc).await;
        until_expired(&admin, "idle").await;
        // The id starts afresh: a new producer id.
        let again = producer(&dc, "idle").await;
        let new_pid = admin
            .describe_transaction("idle")
            .await
            .unwrap()
            .producer_id;
        assert_ne!(new_pid, old_pid);
        again.close(Duration::from_secs(5)).await.unwrap();
        dc.shutdown().await;
    })
    .await;
}
