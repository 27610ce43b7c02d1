//! The client against dev clusters posing as every Kafka release they can
//! (`DevClusterBuilder::kafka_version`, 2.8 … 4.1): the versions it negotiates stay within
//! what each release had, and its usual scenarios pass at those versions: topic admin,
//! idempotent keyed produce with acks=all, a transaction committed and one aborted (the v1
//! protocol before 4.0), a consumer group committing, lag, an offset reset, group and
//! transaction listings (ListTransactions is absent from 2.8: a clear error naming it).

use std::time::Duration;

use streamctl_client::admin::{OffsetResetSpec, TransactionFilter};
use streamctl_client::consumer::{
    Consumer, GroupProtocol, IsolationLevel, OffsetReset, TopicPartition,
};
use streamctl_client::producer::{Acks, Producer, Record};
use streamctl_client::protocol::messages::SUPPORTED;
use streamctl_client::protocol::ApiKey;
use streamctl_client::{Admin, ClientConfig, Connection, Error};
use streamctl_devcluster::{DevCluster, KafkaVersion};

use crate::support::bounded;

const PARTITIONS: i32 = 3;
const RECORDS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_against_every_kafka_release_the_cluster_poses_as() {
    for &release in KafkaVersion::all() {
        eprintln!("posing as Kafka {release}");
        bounded(scenarios(release)).await;
    }
}

async fn scenarios(release: KafkaVersion) {
    let dc = streamctl_testkit::cluster_with(3, |b| {
        b.kafka_version(release)
            .group_initial_rebalance_delay(Duration::from_millis(20))
    })
    .await;
    let bootstrap = dc.bootstrap_servers();
    negotiates_within(release, &dc).await;

    let admin = Admin::connect(ClientConfig::new(&bootstrap)).await.unwrap();
    admin
        .create_topic("events", PARTITIONS, 3, &[])
        .await
        .unwrap();
    let described = admin.describe_cluster().await.unwrap();
    assert_eq!(described.brokers.len(), 3, "{release}");
    let configs = admin.describe_topic_configs("events").await.unwrap();
    assert!(
        configs.iter().any(|c| c.name == "retention.ms"),
        "{release}"
    );

    // Idempotent keyed produce with acks=all.
    let producer = Producer::builder(&bootstrap)
        .acks(Acks::All)
        .idempotence(true)
        .build()
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..RECORDS {
        let (key, value) = (format!("k{i}"), format!("v{i}"));
        let record = Record::new("events")
            .key(key.as_bytes())
            .value(value.as_bytes());
        deliveries.push(producer.send(record).await.unwrap());
    }
    producer.flush().await;
    for d in deliveries {
        d.await
            .unwrap_or_else(|e| panic!("{release}: not delivered: {e}"));
    }
    producer.close(Duration::from_secs(5)).await.unwrap();

    // One transaction committed, one aborted: read_committed sees only the first.
    let txn = Producer::builder(&bootstrap)
        .transactional_id("versions-app")
        .build()
        .await
        .unwrap();
    txn.init_transactions().await.unwrap();
    for (label, commit) in [("kept", true), ("dropped", false)] {
        txn.begin_transaction().await.unwrap();
        for i in 0..10 {
            let value = format!("{label}-{i}");
            txn.send(Record::new("txn").partition(0).value(value.as_bytes()))
                .await
                .unwrap();
        }
        txn.flush().await;
        if commit {
            txn.commit_transaction().await.unwrap();
        } else {
            txn.abort_transaction().await.unwrap();
        }
    }
    txn.close(Duration::from_secs(5)).await.unwrap();
    let committed = Consumer::builder(&bootstrap)
        .isolation_level(IsolationLevel::ReadCommitted)
        .auto_offset_reset(OffsetReset::Earliest)
        .build()
        .await
        .unwrap();
    committed.assign([TopicPartition::new("txn", 0)]).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 10 {
        for r in committed.poll(Duration::from_millis(200)).await.unwrap() {
            seen.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    assert!(
        committed
            .poll(Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty(),
        "{release}: aborted records visible"
    );
    assert!(
        seen.iter().all(|v| v.starts_with("kept-")),
        "{release}: {seen:?}"
    );

    // A consumer group reads everything and commits. `group.protocol=auto` speaks the
    // consumer protocol (KIP-848) to releases that serve it and the classic one to others.
    let member = Consumer::builder(&bootstrap)
        .group_id("versions")
        .group_protocol(GroupProtocol::Auto)
        .enable_auto_commit(false)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    member.subscribe(["events"]).unwrap();
    let mut read = 0;
    while read < RECORDS {
        read += member.poll(Duration::from_millis(200)).await.unwrap().len();
    }
    member.commit().await.unwrap();
    member.close(Duration::from_secs(5)).await.unwrap();

    let lag = admin.group_lag("versions").await.unwrap();
    assert_eq!(lag.len(), PARTITIONS as usize, "{release}: {lag:?}");
    assert!(lag.iter().all(|p| p.lag == Some(0)), "{release}: {lag:?}");
    let groups = admin.list_groups().await.unwrap();
    let listed = groups.iter().find(|g| g.group_id == "versions");
    let expected_type = match release.api_versions(ApiKey::ConsumerGroupHeartbeat) {
        Some(_) => Some("consumer"),
        None if release
            .api_versions(ApiKey::ListGroups)
            .is_some_and(|(_, hi)| hi >= 5) =>
        {
            Some("classic")
        }
        None => None,
    };
    assert_eq!(
        listed.map(|g| g.group_type.as_deref()),
        Some(expected_type),
        "{release}: {groups:?}"
    );

    // Reset the (now empty) group to the beginning.
    let plan = admin
        .plan_offset_reset("versions", &[], OffsetResetSpec::Earliest)
        .await
        .unwrap();
    admin.commit_group_offsets("versions", &plan).await.unwrap();
    let offsets = admin.group_offsets("versions").await.unwrap();
    assert!(offsets.values().all(|&o| o == 0), "{release}: {offsets:?}");

    // ListTransactions came with 3.0.
    match admin.list_transactions(&TransactionFilter::default()).await {
        Ok(listed) => {
            assert!(release.api_versions(ApiKey::ListTransactions).is_some());
            assert!(
                listed.iter().any(|t| t.transactional_id == "versions-app"),
                "{release}: {listed:?}"
            );
        }
        Err(e @ Error::UnsupportedVersion { .. }) => {
            assert!(release.api_versions(ApiKey::ListTransactions).is_none());
            assert!(e.to_string().contains("ListTransactions"), "{e}");
        }
        Err(e) => panic!("{release}: list_transactions: {e}"),
    }
    dc.shutdown().await;
}

/// The versions a connection negotiates are within the release's ranges, an API the release
/// lacks is not offered at all, and `transaction.version` is finalized only from 4.0.
async fn negotiates_within(release: KafkaVersion, dc: &DevCluster) {
    let broker = dc.bootstrap_servers();
    let first = broker.split(',').next().unwrap();
    let conn = Connection::connect(first, &ClientConfig::new(&broker))
        .await
        .unwrap();
    for &(api, _, _) in SUPPORTED {
        let negotiated = conn.negotiated_version(api);
        match (release.api_versions(api), negotiated) {
            (Some((_, max)), Some(v)) => assert!(v <= max, "{release}: {api} v{v} > v{max}"),
            (None, Some(v)) => panic!("{release} has no {api}, negotiated v{v}"),
            (_, None) => {}
        }
    }
    // The APIs every client needs are there at every release.
    for api in [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::Metadata,
        ApiKey::JoinGroup,
    ] {
        assert!(conn.negotiated_version(api).is_some(), "{release}: {api}");
    }
    assert_eq!(
        conn.transaction_version(),
        release.max_transaction_version(),
        "{release}"
    );
}
