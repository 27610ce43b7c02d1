//! The broker side of idempotent producers (KIP-98): sequence checks, duplicate detection
//! that answers a retry with the original offset, fencing of old epochs, and dedup state that
//! survives a leader change because followers learn it from the batches they copy.

use streamctl_protocol::ErrorCode;
use streamctl_testkit::cluster;

use crate::support::{
    addr, idempotent_batch, leader, produce_batch, read_all, values, wait_partition,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_are_checked_and_retries_deduplicated_across_a_leader_kill() {
    let cluster = cluster(3).await;
    cluster.create_topic("idem", 1, 3).unwrap();
    let l = leader(&cluster, "idem", 0).await;
    let pid = 42;
    let b0 = idempotent_batch(&values("a", 3), pid, 0, 0);
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, b0.clone())
            .await
            .unwrap(),
        (ErrorCode::None, 0)
    );
    // The same batch again (a retry after a lost response): same offset, nothing written.
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, b0)
            .await
            .unwrap(),
        (ErrorCode::None, 0)
    );
    // A gap in sequences.
    let gap = idempotent_batch(&values("x", 1), pid, 0, 7);
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, gap)
            .await
            .unwrap()
            .0,
        ErrorCode::OutOfOrderSequenceNumber
    );
    let b1 = idempotent_batch(&values("b", 2), pid, 0, 3);
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, b1.clone())
            .await
            .unwrap(),
        (ErrorCode::None, 3)
    );
    // A newer epoch starts again at 0; then the old epoch is fenced.
    let e1 = idempotent_batch(&values("c", 1), pid, 1, 0);
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, e1.clone())
            .await
            .unwrap(),
        (ErrorCode::None, 5)
    );
    let stale = idempotent_batch(&values("d", 1), pid, 0, 5);
    assert_eq!(
        produce_batch(addr(&cluster, l), "idem", 0, -1, stale)
            .await
            .unwrap()
            .0,
        ErrorCode::InvalidProducerEpoch
    );

    // Kill the leader; the new leader learned the sequences from the batches it replicated.
    cluster.kill_broker(l).await.unwrap();
    wait_partition(&cluster, "idem", 0, "new leader", |new, _| {
        new >= 0 && new != l
    })
    .await;
    let l2 = leader(&cluster, "idem", 0).await;
    assert_eq!(
        produce_batch(addr(&cluster, l2), "idem", 0, -1, e1)
            .await
            .unwrap(),
        (ErrorCode::None, 5),
        "retry after failover is a duplicate"
    );
    let next = idempotent_batch(&values("e", 1), pid, 1, 1);
    assert_eq!(
        produce_batch(addr(&cluster, l2), "idem", 0, -1, next)
            .await
            .unwrap(),
        (ErrorCode::None, 6)
    );
    let all = read_all(addr(&cluster, l2), "idem", 0).await.unwrap();
    assert_eq!(all, vec!["a-0", "a-1", "a-2", "b-0", "b-1", "c-0", "e-0"]);
    cluster.shutdown().await;
}
