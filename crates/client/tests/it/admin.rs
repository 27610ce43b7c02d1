//! The admin client against an in-process DevCluster: topics created, grown, described with
//! watermarks, reconfigured and deleted; broker errors keep their code, message and topic.

use std::time::Duration;

use streamctl_client::admin::ConfigSource;
use streamctl_client::producer::{Producer, Record};
use streamctl_client::protocol::ErrorCode;
use streamctl_client::{Admin, ClientConfig, Error};
use streamctl_devcluster::DevCluster;
use streamctl_testkit::cluster;

/// Upper bound for any one test.
const BOUND: Duration = Duration::from_secs(60);

async fn setup() -> (DevCluster, Admin) {
    let cluster = cluster(3).await;
    let config = ClientConfig::new(&cluster.bootstrap_servers())
        .client_id("admin-tests")
        .request_timeout(Duration::from_secs(10));
    let admin = Admin::connect(config).await.unwrap();
    (cluster, admin)
}

/// Waits until `describe_topic` sees `partitions` partitions, each with a leader (metadata
/// reaches every broker shortly after the controller answers).
async fn describe_when_ready(
    admin: &Admin,
    topic: &str,
    partitions: usize,
) -> streamctl_client::admin::TopicDescription {
    loop {
        if let Ok(d) = admin.describe_topic(topic).await {
            if d.partitions.len() == partitions && d.partitions.iter().all(|p| p.leader.is_some()) {
                return d;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn topic_lifecycle_create_describe_grow_configure_delete() {
    tokio::time::timeout(BOUND, async {
        let (cluster, admin) = setup().await;
        admin
            .create_topic("orders", 3, 2, &[("retention.ms", "3600000")])
            .await
            .unwrap();
        assert!(admin
            .list_topics(false)
            .await
            .unwrap()
            .contains(&"orders".to_string()));

        // Creating it again keeps the code, the broker's message and the topic.
        let e = admin.create_topic("orders", 1, 1, &[]).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::TopicAlreadyExists), "{e}");
        assert!(
            matches!(&e, Error::Broker { message: Some(_), topic: Some(t), .. } if t == "orders"),
            "{e:?}"
        );

        // Watermarks after producing.
        let producer = Producer::builder(&cluster.bootstrap_servers())
            .build()
            .await
            .unwrap();
        for i in 0..5u8 {
            let delivery = producer
                .send(Record::new("orders").partition(1).value(&[i]))
                .await
                .unwrap();
            delivery.await.unwrap();
        }
        producer.close(Duration::from_secs(5)).await.unwrap();
        let d = describe_when_ready(&admin, "orders", 3).await;
        assert_eq!(d.name, "orders");
        assert!(!d.internal);
        assert!(!d.topic_id.is_nil());
        let indexes: Vec<i32> = d.partitions.iter().map(|p| p.partition).collect();
        assert_eq!(indexes, [0, 1, 2]);
        for p in &d.partitions {
            assert_eq!(p.replicas.len(), 2, "{p:?}");
            assert!(p.replicas.contains(&p.leader.unwrap()), "{p:?}");
            assert!(!p.isr.is_empty(), "{p:?}");
            assert_eq!(p.low_watermark, Some(0), "{p:?}");
        }
        assert_eq!(d.partitions[1].high_watermark, Some(5));
        assert_eq!(d.partitions[0].high_watermark, Some(0));

        // Configs: the override from create, then set one and delete it.
        let configs = admin.describe_topic_configs("orders").await.unwrap();
        let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
        assert_eq!(retention.value.as_deref(), Some("3600000"));
        assert_eq!(retention.source, ConfigSource::DynamicTopicConfig);
        assert!(!retention.is_default);
        admin
            .alter_topic_config(
                "orders",
                &[("cleanup.policy", "compact")],
                &["retention.ms"],
            )
            .await
            .unwrap();
        let configs = admin.describe_topic_configs("orders").await.unwrap();
        let policy = configs.iter().find(|c| c.name == "cleanup.policy").unwrap();
        assert_eq!(policy.value.as_deref(), Some("compact"));
        assert_eq!(policy.source, ConfigSource::DynamicTopicConfig);
        let retention = configs.iter().find(|c| c.name == "retention.ms").unwrap();
        assert!(retention.is_default, "{retention:?}");
        assert_eq!(retention.source, ConfigSource::DefaultConfig);

        // A bad value is refused and names the config.
        let e = admin
            .alter_topic_config("orders", &[("retention.ms", "soon")], &[])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidConfig), "{e}");

        // Grow; shrinking is refused.
        admin.create_partitions("orders", 5).await.unwrap();
        let d = describe_when_ready(&admin, "orders", 5).await;
        assert_eq!(d.partitions.len(), 5);
        let e = admin.create_partitions("orders", 2).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidPartitions), "{e}");

        admin.delete_topic("orders").await.unwrap();
        assert!(!admin
            .list_topics(true)
            .await
            .unwrap()
            .contains(&"orders".to_string()));
        cluster.shutdown().await;
    })
    .await
    .expect("test did not finish in time");
}

#[tokio::test]
async fn unknown_topics_are_errors_naming_the_topic_and_never_created() {
    tokio::time::timeout(BOUND, async {
        let (cluster, admin) = setup().await;
        let check = |e: Error| {
            assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition), "{e}");
            assert!(e.to_string().contains("nosuch"), "{e}");
        };
        check(admin.describe_topic("nosuch").await.unwrap_err());
        check(admin.describe_topic_configs("nosuch").await.unwrap_err());
        check(admin.delete_topic("nosuch").await.unwrap_err());
        check(admin.create_partitions("nosuch", 4).await.unwrap_err());
        check(
            admin
                .alter_topic_config("nosuch", &[("retention.ms", "1")], &[])
                .await
                .unwrap_err(),
        );
        // Describing did not auto-create it.
        assert!(!admin
            .list_topics(true)
            .await
            .unwrap()
            .contains(&"nosuch".to_string()));
        cluster.shutdown().await;
    })
    .await
    .expect("test did not finish in time");
}

#[tokio::test]
async fn describe_cluster_lists_every_broker_and_the_controller() {
    tokio::time::timeout(BOUND, async {
        let (cluster, admin) = setup().await;
        let d = admin.describe_cluster().await.unwrap();
        let ids: Vec<i32> = d.brokers.iter().map(|b| b.node_id).collect();
        assert_eq!(ids.len(), 3, "{d:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{d:?}");
        assert!(ids.contains(&d.controller_id.unwrap()), "{d:?}");
        assert!(d.cluster_id.is_some_and(|c| !c.is_empty()));
        assert!(d.brokers.iter().all(|b| b.port > 0 && !b.host.is_empty()));
        cluster.shutdown().await;
    })
    .await
    .expect("test did not finish in time");
}

/// Produces `n` one-byte records to each of `partitions` of `topic`.
async fn fill(cluster: &DevCluster, topic: &str, partitions: i32, n: u8) {
    let producer = Producer::builder(&cluster.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for p in 0..partitions {
        for i in 0..n {
            let delivery = producer
                .send(Record::new(topic).partition(p).value(&[i]))
                .await
                .unwrap();
            delivery.await.unwrap();
        }
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_described_lagged_reset_and_deleted() {
    use streamctl_client::admin::OffsetResetSpec;
    use streamctl_client::consumer::{Consumer, OffsetReset};
    tokio::time::timeout(BOUND, async {
        let (cluster, admin) = setup().await;
        admin.create_topic("events", 3, 2, &[]).await.unwrap();
        describe_when_ready(&admin, "events", 3).await;
        fill(&cluster, "events", 3, 10).await;

        let consumer = Consumer::builder(&cluster.bootstrap_servers())
            .group_id("readers")
            .client_id("reader-1")
            .enable_auto_commit(false)
            .auto_offset_reset(OffsetReset::Earliest)
            .fetch_max_wait(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        consumer.subscribe(["events"]).unwrap();
        let mut seen = 0;
        while seen < 30 {
            seen += consumer
                .poll(Duration::from_millis(200))
                .await
                .unwrap()
                .len();
        }
        consumer.commit().await.unwrap();

        // Active: listed as Stable, one member owning the three partitions, no lag.
        let groups = admin.list_groups().await.unwrap();
        let listed = groups.iter().find(|g| g.group_id == "readers").unwrap();
        assert_eq!(listed.protocol_type, "consumer");
        assert_eq!(listed.state.as_deref(), Some("Stable"));
        let described = admin.describe_group("readers").await.unwrap();
        assert_eq!(described.state, "Stable");
        assert_eq!(described.members.len(), 1, "{described:?}");
        let member = &described.members[0];
        assert_eq!(member.client_id, "reader-1");
        assert_eq!(member.assignment.get("events"), Some(&vec![0, 1, 2]));
        fill(&cluster, "events", 1, 4).await;
        let lag = admin.group_lag("readers").await.unwrap();
        assert_eq!(lag.len(), 3, "{lag:?}");
        assert_eq!(lag[0].committed, Some(10));
        assert_eq!(lag[0].end_offset, Some(14));
        assert_eq!(lag[0].lag, Some(4));
        assert_eq!(lag[1].lag, Some(0));
        assert!(lag
            .iter()
            .all(|l| l.member_id.as_deref() == Some(member.member_id.as_str())));

        // Resets and deletion need an empty group.
        let plan = admin
            .plan_offset_reset("readers", &[], OffsetResetSpec::Earliest)
            .await
            .unwrap();
        let e = admin
            .commit_group_offsets("readers", &plan)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NonEmptyGroup), "{e}");
        let e = admin.delete_group("readers").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::NonEmptyGroup), "{e}");
        assert!(e.to_string().contains("readers"), "{e}");
        consumer.close(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            admin.describe_group("readers").await.unwrap().state,
            "Empty"
        );

        // Plans: every spec, clamped into [log start, end].
        admin.delete_records("events", &[(2, 3)]).await.unwrap();
        let targets = |plan: Vec<streamctl_client::admin::OffsetResetPlan>| -> Vec<i64> {
            plan.iter().map(|r| r.target).collect()
        };
        let plan = |spec| admin.plan_offset_reset("readers", &[], spec);
        assert_eq!(
            targets(plan(OffsetResetSpec::Earliest).await.unwrap()),
            [0, 0, 3]
        );
        assert_eq!(
            targets(plan(OffsetResetSpec::Latest).await.unwrap()),
            [14, 10, 10]
        );
        assert_eq!(
            targets(plan(OffsetResetSpec::Offset(12)).await.unwrap()),
            [12, 10, 10]
        );
        assert_eq!(
            targets(plan(OffsetResetSpec::ShiftBy(-8)).await.unwrap()),
            [2, 2, 3]
        );
        assert_eq!(
            targets(plan(OffsetResetSpec::Timestamp(0)).await.unwrap()),
            [0, 0, 3]
        );
        let far = i64::MAX / 2;
        assert_eq!(
            targets(plan(OffsetResetSpec::Timestamp(far)).await.unwrap()),
            [14, 10, 10]
        );
        let shift = plan(OffsetResetSpec::ShiftBy(-8)).await.unwrap();
        assert_eq!(shift[0].current, Some(10));

        // Executing commits the plan; named topics include partitions never committed.
        admin.commit_group_offsets("readers", &shift).await.unwrap();
        let committed = admin.group_offsets("readers").await.unwrap();
        let values: Vec<i64> = committed.values().copied().collect();
        assert_eq!(values, [2, 2, 3]);

        // Deleting an empty group removes it and its offsets.
        admin.delete_group("readers").await.unwrap();
        assert!(!admin
            .list_groups()
            .await
            .unwrap()
            .iter()
            .any(|g| g.group_id == "readers"));
        assert!(admin.group_offsets("readers").await.unwrap().is_empty());
        let e = admin.delete_group("readers").await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::GroupIdNotFound), "{e}");
        assert_eq!(admin.describe_group("nobody").await.unwrap().state, "Dead");
        cluster.shutdown().await;
    })
    .await
    .expect("test did not finish in time");
}
