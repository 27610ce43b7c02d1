//! The admin client against an in-process DevCluster: topics created, grown, described with
//! watermarks, reconfigured and deleted; broker errors keep their code, message and topic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use streamctl_client::admin::ConfigSource;
use streamctl_client::producer::{Producer, Record};
use streamctl_client::protocol::ErrorCode;
use streamctl_client::{Admin, ClientConfig, Error};
use streamctl_devcluster::DevCluster;

/// Upper bound for any one test.
const BOUND: Duration = Duration::from_secs(60);

async fn setup() -> (DevCluster, Admin) {
    let cluster = DevCluster::builder()
        .brokers(3)
        .in_memory()
        .start()
        .await
        .unwrap();
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
