//! Transactions v2 (KIP-890 part 2) over the wire: the leader adds a partition on a
//! transactional Produce v12, EndTxn v5 bumps the epoch and answers it, a retried EndTxn is
//! recognised by its old epoch, and the old epoch is fenced.

use super::transactions::{end, initialised, produce_txn_at, wait_for_lso};
use super::*;
use std::net::SocketAddr;

/// EndTxn v5, retried while the coordinator is busy: (error, producer id, epoch).
async fn end_v2(at: SocketAddr, req: EndTxnRequest) -> (i16, i64, i16) {
    loop {
        let resp = call(at, req.clone(), 5).await;
        if resp.error_code != code(ErrorCode::ConcurrentTransactions) {
            return (resp.error_code, resp.producer_id, resp.producer_epoch);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A Produce v12, sent again while the previous transaction is still ending.
async fn produce_v12(
    c: &DevCluster,
    topic: &str,
    id: &str,
    producer: (i64, i16, i32),
    n: usize,
) -> i16 {
    loop {
        let code_ = produce_txn_at(c, topic, Some(id), producer, n, 12).await;
        if code_ != code(ErrorCode::ConcurrentTransactions) {
            return code_;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_adds_partitions_and_every_end_bumps_the_epoch() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("v2", 1, 3).unwrap();
        c.create_topic("v1", 1, 3).unwrap();
        let (at, pid, epoch) = initialised(&c, "v2id", 60_000).await;
        assert_eq!(epoch, 0);
        // No AddPartitionsToTxn: the Produce v12 has the leader add the partition.
        assert_eq!(produce_v12(&c, "v2", "v2id", (pid, 0, 0), 2).await, 0);
        let described = call(
            at,
            DescribeTransactionsRequest {
                transactional_ids: vec!["v2id".into()],
                ..Default::default()
            },
            0,
        )
        .await;
        let t = &described.transaction_states[0];
        assert_eq!(t.transaction_state, "Ongoing");
        assert_eq!(
            t.topics
                .iter()
                .map(|t| (t.topic.as_str(), t.partitions.clone()))
                .collect::<Vec<_>>(),
            [("v2", vec![0])]
        );
        // A Produce v11 still only verifies: a partition never added is refused.
        let refused = produce_txn_at(&c, "v1", Some("v2id"), (pid, 0, 0), 1, 11).await;
        assert_eq!(refused, code(ErrorCode::TransactionAbortable));

        // The commit answers the epoch to continue with; a retry with the old one is known.
        assert_eq!(end_v2(at, end("v2id", pid, 0, true)).await, (0, pid, 1));
        assert_eq!(end_v2(at, end("v2id", pid, 0, true)).await, (0, pid, 1));
        assert_eq!(
            end_v2(at, end("v2id", pid, 0, false)).await.0,
            code(ErrorCode::InvalidTxnState)
        );
        // Two records and the marker.
        wait_for_lso(&c, "v2", 3).await;
        // The old epoch is fenced; the new one starts its sequences at 0.
        let stale = produce_v12(&c, "v2", "v2id", (pid, 0, 2), 1).await;
        assert_eq!(stale, code(ErrorCode::InvalidProducerEpoch));
        assert_eq!(produce_v12(&c, "v2", "v2id", (pid, 1, 0), 1).await, 0);
        assert_eq!(end_v2(at, end("v2id", pid, 1, false)).await, (0, pid, 2));
        let (hw, lso, aborted) = wait_for_lso(&c, "v2", 5).await;
        assert_eq!((hw, lso), (5, 5));
        assert_eq!(aborted, [(pid, 3)]);
        // An abort with nothing open still moves the epoch on; a commit is refused.
        assert_eq!(end_v2(at, end("v2id", pid, 2, false)).await, (0, pid, 3));
        assert_eq!(
            end_v2(at, end("v2id", pid, 3, true)).await.0,
            code(ErrorCode::InvalidTxnState)
        );
        // The v1 end of a v2 producer's epoch still works (the protocol is per request).
        assert_eq!(produce_v12(&c, "v2", "v2id", (pid, 3, 0), 1).await, 0);
        let v1 = call(at, end("v2id", pid, 3, true), 4).await;
        assert_eq!(
            (v1.error_code, v1.producer_id, v1.producer_epoch),
            (0, -1, -1)
        );
        // The record at 5 and its marker (the empty abort wrote none).
        assert_eq!(wait_for_lso(&c, "v2", 7).await.0, 7);
        c.shutdown().await;
    })
    .await;
}
