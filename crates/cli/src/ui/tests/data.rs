//! The data layer against an in-process devcluster: what one poll maps into the view model,
//! and what it shows after a broker is killed and started through the admin plane.

use std::time::Duration;

use streamctl_client::consumer::{Consumer, TopicPartition};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::{Admin, ClientConfig};
use streamctl_devcluster::DevCluster;
use tokio::sync::{mpsc, watch};

use crate::devadmin::DevAdmin;
use crate::ui::app::{Action, BrokerOp, Watch};
use crate::ui::data::{PollRequest, Poller};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_maps_brokers_topics_watermarks_groups_and_a_killed_broker() {
    let cluster = DevCluster::builder()
        .brokers(3)
        .in_memory()
        .admin_http(true)
        .start()
        .await
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("orders", 3, 3).unwrap();
    let producer = Producer::builder(&bootstrap).build().await.unwrap();
    for i in 0..30 {
        let value = format!("order-{i}");
        producer
            .send(
                Record::new("orders")
                    .partition(i % 3)
                    .value(value.as_bytes()),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
    // A group that committed offset 4 of orders-0: 6 behind there.
    let consumer = Consumer::builder(&bootstrap)
        .group_id("billing")
        .enable_auto_commit(false)
        .build()
        .await
        .unwrap();
    consumer
        .commit_offsets([(TopicPartition::new("orders", 0), 4)])
        .await
        .unwrap();
    consumer.close(Duration::from_secs(5)).await.unwrap();

    let admin = Admin::connect(ClientConfig::default().bootstrap_servers(&bootstrap))
        .await
        .unwrap();
    // What `ui` compares with the admin plane's id before enabling broker controls.
    let kafka_id = admin.cluster().snapshot().cluster_id().map(str::to_string);
    let dev = DevAdmin::new(&cluster.admin_url().unwrap()).unwrap();
    assert_eq!(kafka_id, Some(dev.cluster().await.unwrap().cluster_id));
    let (actions, mut posted) = mpsc::unbounded_channel();
    let (_watch_tx, watch_rx) = watch::channel(Watch {
        topics: vec!["orders".into()],
        group: Some("billing".into()),
        paused: false,
    });
    let mut poller = Poller::new(admin, Some(dev), actions, watch_rx);

    let s = poller.poll().await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(s.admin_plane, Some(true));
    assert!(s.cluster_id.is_some());
    assert!(s.controller.is_some());
    assert_eq!(
        s.brokers.iter().map(|b| (b.id, b.up)).collect::<Vec<_>>(),
        [(1, true), (2, true), (3, true)]
    );
    let orders = s.topics.iter().find(|t| t.name == "orders").unwrap();
    assert!(!orders.internal);
    assert_eq!(orders.partitions.len(), 3);
    assert_eq!(orders.messages(), Some(30));
    for p in &orders.partitions {
        assert_eq!((p.low_watermark, p.high_watermark), (Some(0), Some(10)));
        assert_eq!(p.replicas.len(), 3);
        assert_eq!(p.isr.len(), 3);
    }
    assert!(orders.watermarks_at.is_some());
    // A compacted topic's partitions carry the cleaner's dirty ratio (from the admin plane);
    // others none.
    assert!(orders.partitions.iter().all(|p| p.dirty_ppm.is_none()));
    let offsets = s
        .topics
        .iter()
        .find(|t| t.name == "__consumer_offsets")
        .unwrap();
    assert!(offsets.partitions.iter().all(|p| p.dirty_ppm.is_some()));
    let billing = s
        .groups
        .as_ref()
        .unwrap()
        .iter()
        .find(|g| g.group_id == "billing")
        .unwrap();
    assert_eq!(billing.lag_on("orders"), Some(6));
    assert_eq!(billing.members, Some(0));
    let detail = s.group_detail.as_ref().unwrap();
    assert_eq!(detail.group_id, "billing");
    assert_eq!(detail.state, "Empty");

    // Kill broker 2 through the admin plane, as the K key does: it is listed DOWN, leads
    // nothing, and has left every ISR.
    let (requests_tx, requests_rx) = mpsc::unbounded_channel();
    let (_watch_tx2, watch_rx2) = watch::channel(Watch::default());
    let (actions2, mut posted2) = mpsc::unbounded_channel();
    let admin2 = Admin::connect(ClientConfig::default().bootstrap_servers(&bootstrap))
        .await
        .unwrap();
    let dev2 = DevAdmin::new(&cluster.admin_url().unwrap()).unwrap();
    let task = tokio::spawn(
        Poller::new(admin2, Some(dev2), actions2, watch_rx2)
            .run(requests_rx, Duration::from_secs(3600)),
    );
    requests_tx
        .send(PollRequest::Broker(2, BrokerOp::Kill))
        .unwrap();
    let mut status = None;
    while status.is_none() {
        match posted2.recv().await.unwrap() {
            Action::Status(line) => status = Some(line),
            _ => continue,
        }
    }
    assert_eq!(status.as_deref(), Some("broker 2: kill done"));

    let s = poller.poll().await;
    let b2 = s.brokers.iter().find(|b| b.id == 2).unwrap();
    assert!(!b2.up, "{:?}", s.brokers);
    assert_eq!(s.brokers.len(), 3);
    let orders = s.topics.iter().find(|t| t.name == "orders").unwrap();
    for p in &orders.partitions {
        assert_ne!(p.leader, Some(2));
        assert!(!p.isr.contains(&2), "{p:?}");
        assert!(p.under_replicated());
        assert_eq!(
            p.high_watermark,
            Some(10),
            "watermarks come from the new leaders"
        );
    }

    requests_tx
        .send(PollRequest::Broker(2, BrokerOp::Start))
        .unwrap();
    loop {
        if let Action::Status(line) = posted2.recv().await.unwrap() {
            assert_eq!(line, "broker 2: start done");
            break;
        }
    }
    let s = poller.poll().await;
    assert!(s.brokers.iter().all(|b| b.up), "{:?}", s.brokers);
    drop(requests_tx);
    task.await.unwrap();
    assert!(posted.try_recv().is_err(), "poll() itself posts nothing");
    cluster.shutdown().await;
}

/// An open transaction shows on the transactions screen's data (state, producer, partitions,
/// start) and holds the partition's last stable offset at its first record; once aborted
/// the last stable offset is past the marker again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_shows_open_transactions_and_the_last_stable_offset() {
    let cluster = DevCluster::builder()
        .brokers(3)
        .in_memory()
        .start()
        .await
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("orders", 2, 3).unwrap();
    let producer = Producer::builder(&bootstrap)
        .transactional_id("billing-tx")
        .build()
        .await
        .unwrap();
    producer.init_transactions().await.unwrap();
    producer.begin_transaction().await.unwrap();
    for i in 0..4 {
        let value = format!("order-{i}");
        // Not awaited: the records are delivered by the flush below.
        drop(
            producer
                .send(Record::new("orders").partition(0).value(value.as_bytes()))
                .await
                .unwrap(),
        );
    }
    producer.flush().await;

    let admin = Admin::connect(ClientConfig::default().bootstrap_servers(&bootstrap))
        .await
        .unwrap();
    let (actions, _posted) = mpsc::unbounded_channel();
    let (_watch_tx, watch_rx) = watch::channel(Watch {
        topics: vec!["orders".into()],
        group: None,
        paused: false,
    });
    let mut poller = Poller::new(admin, None, actions, watch_rx);
    let s = poller.poll().await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let txns = s.transactions.as_ref().unwrap();
    assert_eq!(txns.len(), 1, "{txns:?}");
    let t = &txns[0];
    assert_eq!(
        (t.transactional_id.as_str(), t.state.as_str()),
        ("billing-tx", "Ongoing")
    );
    assert!(t.open());
    assert_eq!(t.partitions, ["orders-0"]);
    assert!(
        t.started_ms.is_some() && t.timeout_ms == Some(60_000),
        "{t:?}"
    );
    let orders = s.topics.iter().find(|t| t.name == "orders").unwrap();
    let p0 = &orders.partitions[0];
    assert_eq!(
        (p0.high_watermark, p0.last_stable_offset),
        (Some(4), Some(0))
    );
    assert_eq!(p0.unstable(), Some(4));
    let p1 = &orders.partitions[1];
    assert_eq!(
        (p1.high_watermark, p1.last_stable_offset),
        (Some(0), Some(0))
    );

    producer.abort_transaction().await.unwrap();
    // The abort is answered once it is prepared; its marker follows. Poll until it shows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = poller.poll().await;
        let t = &s.transactions.as_ref().unwrap()[0];
        let p0 = &s
            .topics
            .iter()
            .find(|t| t.name == "orders")
            .unwrap()
            .partitions[0];
        // The high watermark and the last stable offset come from two ListOffsets calls made
        // side by side, so one poll may see the marker in one and not yet in the other.
        if t.state == "CompleteAbort"
            && p0.last_stable_offset == Some(5)
            && p0.high_watermark == Some(5)
        {
            assert!(
                !t.open(),
                "four records and the marker, and the transaction over"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{t:?} {p0:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
    cluster.shutdown().await;
}
