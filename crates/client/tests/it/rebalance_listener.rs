//! The rebalance listener's contract, under both group protocols: `on_assigned` runs before
//! any record of its partitions is handed out (so a seek there decides where reading
//! starts); `unsubscribe` revokes through the listener, commits what was consumed
//! (auto-commit) and leaves the group, and a new subscription resumes from the commit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamctl_client::consumer::{
    Consumer, ConsumerRecord, GroupProtocol, ListenerFuture, OffsetReset, RebalanceListener,
    TopicPartition,
};
use streamctl_client::producer::{Producer, Record};
use streamctl_client::{Admin, ClientConfig};
use streamctl_devcluster::DevCluster;

use crate::support::bounded;

/// Two tests of `$body` (an async fn of the protocol and its name), one per group protocol.
macro_rules! under_both_protocols {
    ($body:ident: $classic:ident, $consumer:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $classic() {
            bounded($body(GroupProtocol::Classic, "classic")).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $consumer() {
            bounded($body(GroupProtocol::Consumer, "consumer")).await;
        }
    };
}

/// The partitions each `on_revoked` call was given.
#[derive(Clone, Default)]
struct Revoked(Arc<Mutex<Vec<Vec<TopicPartition>>>>);

impl RebalanceListener for Revoked {
    fn on_revoked<'a>(&'a self, _: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        self.0.lock().unwrap().push(ps.to_vec());
        Box::pin(async {})
    }
}

/// Seeks every assigned partition from its position to offset 5, slowly: a `poll`
/// meanwhile must get nothing of them.
struct SeekToFive;

impl RebalanceListener for SeekToFive {
    fn on_assigned<'a>(&'a self, c: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for tp in ps {
                // Looked up when asked (nothing committed yet: earliest).
                assert_eq!(c.position(tp).await.unwrap(), 0);
                c.seek(tp, 5).unwrap();
            }
        })
    }
}

/// Gives the partitions up as soon as they come, and says it did.
#[derive(Clone, Default)]
struct UnsubscribeOnAssign(Arc<std::sync::atomic::AtomicBool>);

impl RebalanceListener for UnsubscribeOnAssign {
    fn on_assigned<'a>(&'a self, c: &'a Consumer, ps: &'a [TopicPartition]) -> ListenerFuture<'a> {
        Box::pin(async move {
            if !ps.is_empty() {
                // Returns at once here: the group task carries it out after the listener.
                c.unsubscribe().await;
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        })
    }
}

async fn produce(dc: &DevCluster, topic: &str, from: usize, n: usize) {
    let producer = Producer::builder(&dc.bootstrap_servers())
        .build()
        .await
        .unwrap();
    for i in from..from + n {
        let value = format!("v{i}");
        let record = Record::new(topic)
            .partition((i % 2) as i32)
            .value(value.as_bytes());
        producer.send(record).await.unwrap().await.unwrap();
    }
    producer.close(Duration::from_secs(5)).await.unwrap();
}

/// A 3-broker cluster with a 2-partition topic `<what>-<protocol>` holding 20 records
/// (10 each), and a subscribed member of group `<topic>-group` with this listener.
async fn subscribed(
    what: &str,
    protocol: GroupProtocol,
    name: &str,
    listener: impl RebalanceListener + 'static,
) -> (DevCluster, Consumer, String, String) {
    let dc = streamctl_testkit::cluster_with(3, |b| {
        b.group_consumer_heartbeat_interval(Duration::from_millis(200))
    })
    .await;
    let topic = format!("{what}-{name}");
    let group = format!("{topic}-group");
    dc.create_topic(&topic, 2, 3).unwrap();
    produce(&dc, &topic, 0, 20).await;
    let c = Consumer::builder(&dc.bootstrap_servers())
        .group_id(&group)
        .group_protocol(protocol)
        .auto_offset_reset(OffsetReset::Earliest)
        .auto_commit_interval(Duration::from_secs(3600))
        .heartbeat_interval(Duration::from_millis(200))
        .fetch_max_wait(Duration::from_millis(100))
        .rebalance_listener(listener)
        .build()
        .await
        .unwrap();
    c.subscribe([&topic]).unwrap();
    (dc, c, topic, group)
}

async fn admin(dc: &DevCluster) -> Admin {
    Admin::connect(ClientConfig::new(&dc.bootstrap_servers()))
        .await
        .unwrap()
}

/// Polls until `n` records came (then once more, which marks them consumed for auto-commit).
async fn read(c: &Consumer, n: usize) -> Vec<ConsumerRecord> {
    let mut got = Vec::new();
    while got.len() < n {
        got.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(got.len(), n, "more records than produced");
    assert!(c.poll(Duration::from_millis(50)).await.unwrap().is_empty());
    got
}

async fn unsubscribe_revokes_commits_and_leaves(protocol: GroupProtocol, name: &str) {
    let revoked = Revoked::default();
    let (dc, c, topic, group) = subscribed("unsubscribe", protocol, name, revoked.clone()).await;
    read(&c, 20).await;

    // Two at once: the second waits for the first rather than dropping what it revokes.
    tokio::join!(c.unsubscribe(), c.unsubscribe());
    // Done by the time it returns: revoked, committed, out of the group.
    let both = vec![
        TopicPartition::new(&topic, 0),
        TopicPartition::new(&topic, 1),
    ];
    assert_eq!(*revoked.0.lock().unwrap(), vec![both.clone()]);
    assert!(c.assignment().is_empty());
    let admin = admin(&dc).await;
    let committed = admin.group_offsets(&group).await.unwrap();
    assert_eq!(
        committed.values().copied().collect::<Vec<_>>(),
        vec![10, 10]
    );
    let described = admin.describe_group(&group).await.unwrap();
    assert!(described.members.is_empty(), "{described:?}");
    assert!(c.poll(Duration::from_millis(100)).await.unwrap().is_empty());

    // Subscribing again resumes where the commit says.
    produce(&dc, &topic, 20, 10).await;
    c.subscribe([&topic]).unwrap();
    let again = read(&c, 10).await;
    assert!(
        again.iter().all(|r| r.offset >= 10),
        "read again from below the commit"
    );
    c.close(Duration::from_secs(5)).await.unwrap();
    dc.shutdown().await;
}

async fn on_assigned_seeks_before_records_flow(protocol: GroupProtocol, name: &str) {
    let (dc, c, _, _) = subscribed("seek-on-assign", protocol, name, SeekToFive).await;
    // Polls all along, the listener's wait included.
    let got = read(&c, 10).await;
    let below: Vec<_> = got
        .iter()
        .filter(|r| r.offset < 5)
        .map(|r| (r.partition, r.offset))
        .collect();
    assert!(
        below.is_empty(),
        "handed out before on_assigned seeked: {below:?}"
    );
    c.close(Duration::from_secs(5)).await.unwrap();
    dc.shutdown().await;
}

async fn unsubscribe_from_the_listener(protocol: GroupProtocol, name: &str) {
    let listener = UnsubscribeOnAssign::default();
    let (dc, c, _, group) =
        subscribed("unsubscribe-in-listener", protocol, name, listener.clone()).await;
    let admin = admin(&dc).await;
    loop {
        let records = c.poll(Duration::from_millis(100)).await.unwrap();
        assert!(
            records.is_empty(),
            "records of partitions given up in on_assigned"
        );
        let members = admin.describe_group(&group).await.unwrap().members.len();
        let called = listener.0.load(std::sync::atomic::Ordering::SeqCst);
        if called && members == 0 && c.assignment().is_empty() {
            break;
        }
    }
    c.close(Duration::from_secs(5)).await.unwrap();
    dc.shutdown().await;
}

under_both_protocols!(
    on_assigned_seeks_before_records_flow:
        on_assigned_seeks_before_records_flow_in_a_classic_group,
        on_assigned_seeks_before_records_flow_in_a_consumer_protocol_group
);

under_both_protocols!(
    unsubscribe_from_the_listener:
        unsubscribe_from_the_listener_in_a_classic_group,
        unsubscribe_from_the_listener_in_a_consumer_protocol_group
);

under_both_protocols!(
    unsubscribe_revokes_commits_and_leaves:
        unsubscribe_revokes_commits_and_leaves_a_classic_group,
        unsubscribe_revokes_commits_and_leaves_a_consumer_protocol_group
);
