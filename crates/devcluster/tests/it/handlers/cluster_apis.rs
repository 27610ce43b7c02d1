//! ApiVersions, DescribeCluster and InitProducerId (idempotent; transactional ids are in
//! `transactions.rs`).

use streamctl_protocol::ApiKey;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_lists_the_new_handlers() {
    bounded(async {
        let c = cluster(3).await;
        let resp = call(addr(&c, 1), ApiVersionsRequest::default(), 3).await;
        let range = |key: ApiKey| {
            resp.api_keys
                .iter()
                .find(|k| k.api_key == key.code())
                .map(|k| (k.min_version, k.max_version))
        };
        assert_eq!(range(ApiKey::DeleteTopics), Some((1, 6)));
        assert_eq!(range(ApiKey::CreatePartitions), Some((0, 3)));
        assert_eq!(range(ApiKey::DescribeConfigs), Some((1, 4)));
        assert_eq!(range(ApiKey::IncrementalAlterConfigs), Some((0, 1)));
        assert_eq!(range(ApiKey::DescribeCluster), Some((0, 1)));
        assert_eq!(range(ApiKey::DeleteRecords), Some((0, 2)));
        assert_eq!(range(ApiKey::InitProducerId), Some((0, 4)));
        assert_eq!(range(ApiKey::FindCoordinator), Some((0, 4)));
        assert_eq!(range(ApiKey::JoinGroup), Some((0, 9)));
        assert_eq!(range(ApiKey::SyncGroup), Some((0, 5)));
        assert_eq!(range(ApiKey::Heartbeat), Some((0, 4)));
        assert_eq!(range(ApiKey::LeaveGroup), Some((0, 5)));
        assert_eq!(range(ApiKey::OffsetCommit), Some((2, 9)));
        assert_eq!(range(ApiKey::OffsetFetch), Some((1, 9)));
        assert_eq!(range(ApiKey::DescribeGroups), Some((0, 5)));
        assert_eq!(range(ApiKey::ListGroups), Some((0, 5)));
        assert_eq!(range(ApiKey::ConsumerGroupHeartbeat), Some((0, 1)));
        assert_eq!(range(ApiKey::ConsumerGroupDescribe), Some((0, 1)));
        assert_eq!(range(ApiKey::DeleteGroups), Some((0, 2)));
        assert_eq!(range(ApiKey::OffsetDelete), Some((0, 0)));
        assert_eq!(range(ApiKey::AddPartitionsToTxn), Some((0, 5)));
        assert_eq!(range(ApiKey::EndTxn), Some((0, 5)));
        assert_eq!(range(ApiKey::TxnOffsetCommit), Some((0, 5)));
        assert_eq!(range(ApiKey::Produce), Some((0, 12)));
        assert_eq!(range(ApiKey::WriteTxnMarkers), Some((1, 1)));
        assert_eq!(range(ApiKey::DescribeProducers), Some((0, 0)));
        // v3 carries the finalized transaction.version (transactions v2); the supported
        // range, whose minimum is 0, only from v4 (as Kafka, KAFKA-17492).
        let finalized = |r: &ApiVersionsResponse| {
            r.finalized_features
                .iter()
                .map(|f| (f.name.clone(), f.min_version_level, f.max_version_level))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            finalized(&resp),
            [("transaction.version".to_string(), 2, 2)]
        );
        assert_eq!(resp.finalized_features_epoch, 1);
        assert!(resp.supported_features.is_empty());
        let v4 = call(addr(&c, 1), ApiVersionsRequest::default(), 4).await;
        let supported: Vec<_> = v4
            .supported_features
            .iter()
            .map(|f| (f.name.as_str(), f.min_version, f.max_version))
            .collect();
        assert_eq!(supported, [("transaction.version", 0, 2)]);
        c.shutdown().await;
        // A cluster posing as one without transactions v2 finalizes nothing.
        let c = cluster_with(1, |b| b.transaction_version(0)).await;
        let resp = call(addr(&c, 1), ApiVersionsRequest::default(), 4).await;
        assert!(finalized(&resp).is_empty());
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_v0_and_v1() {
    bounded(async {
        let c = cluster_with(3, |b| b.cluster_id("handlers-test-cluster")).await;
        let md = c.controller().snapshot();
        for version in [0, 1] {
            let resp = call(addr(&c, 2), DescribeClusterRequest::default(), version).await;
            assert_eq!(resp.error_code, 0);
            assert_eq!(resp.cluster_id, "handlers-test-cluster");
            assert_eq!(resp.controller_id, md.controller_id);
            assert_eq!(resp.cluster_authorized_operations, i32::MIN);
            let mut brokers: Vec<_> = resp.brokers.iter().map(|b| (b.broker_id, b.port)).collect();
            brokers.sort();
            let expected: Vec<_> = (1..=3)
                .map(|id| (id, i32::from(addr(&c, id).port())))
                .collect();
            assert_eq!(brokers, expected);
            assert!(resp.brokers.iter().all(|b| b.host == "127.0.0.1"));
        }
        let req = DescribeClusterRequest {
            include_cluster_authorized_operations: true,
            endpoint_type: 1,
            ..Default::default()
        };
        let resp = call(addr(&c, 1), req, 1).await;
        assert_eq!(resp.endpoint_type, 1);
        // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
        assert_eq!(resp.cluster_authorized_operations, 8096);

        let controllers = DescribeClusterRequest {
            endpoint_type: 2,
            ..Default::default()
        };
        let resp = call(addr(&c, 1), controllers, 1).await;
        assert_eq!(resp.error_code, code(ErrorCode::MismatchedEndpointType));
        assert!(resp.error_message.is_some());
        let unknown = DescribeClusterRequest {
            endpoint_type: 7,
            ..Default::default()
        };
        let resp = call(addr(&c, 1), unknown, 1).await;
        assert_eq!(resp.error_code, code(ErrorCode::UnsupportedEndpointType));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_hands_out_distinct_ids() {
    bounded(async {
        let c = cluster(3).await;
        let idempotent = || InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
            ..Default::default()
        };
        let mut ids = Vec::new();
        for (node_id, version) in [(1, 0), (2, 2), (3, 4), (1, 3)] {
            let resp = call(addr(&c, node_id), idempotent(), version).await;
            assert_eq!((resp.error_code, resp.producer_epoch), (0, 0));
            assert!(resp.producer_id >= 0);
            ids.push(resp.producer_id);
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            ids.len(),
            "ids are cluster-wide unique: {ids:?}"
        );

        let empty = InitProducerIdRequest {
            transactional_id: Some(String::new()),
            ..idempotent()
        };
        let resp = call(addr(&c, 1), empty, 4).await;
        assert_eq!(resp.error_code, code(ErrorCode::InvalidRequest));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_posing_as_kafka_2_8_serves_only_what_2_8_had() {
    bounded(async {
        let release: streamctl_devcluster::KafkaVersion = "2.8".parse().unwrap();
        let c = cluster_with(3, |b| b.kafka_version(release)).await;
        let resp = call(addr(&c, 1), ApiVersionsRequest::default(), 3).await;
        let range = |r: &ApiVersionsResponse, key: ApiKey| {
            r.api_keys
                .iter()
                .find(|k| k.api_key == key.code())
                .map(|k| (k.min_version, k.max_version))
        };
        assert_eq!(range(&resp, ApiKey::Fetch), Some((4, 12)));
        assert_eq!(range(&resp, ApiKey::Metadata), Some((0, 11)));
        assert_eq!(range(&resp, ApiKey::FindCoordinator), Some((0, 3)));
        assert_eq!(range(&resp, ApiKey::ApiVersions), Some((0, 3)));
        // Produce from v0 as Kafka advertises it (old librdkafka needs that to compress).
        assert_eq!(range(&resp, ApiKey::Produce), Some((0, 9)));
        assert_eq!(range(&resp, ApiKey::EndTxn), Some((0, 3)));
        assert_eq!(range(&resp, ApiKey::ListTransactions), None);
        assert_eq!(range(&resp, ApiKey::DescribeTransactions), None);
        // No transactions v2 before Kafka 4.0.
        assert!(resp.finalized_features.is_empty());

        // ApiVersions v4 came with 3.9: Kafka's answer is v0 with UNSUPPORTED_VERSION and
        // the ranges.
        let mut s = tokio::net::TcpStream::connect(addr(&c, 1)).await.unwrap();
        let header = streamctl_protocol::frame::RequestHeader {
            api_key: ApiKey::ApiVersions.code(),
            api_version: 4,
            correlation_id: 7,
            client_id: Some("posing".into()),
            unknown_tagged_fields: Vec::new(),
        };
        let mut out = bytes::BytesMut::new();
        let request = ApiVersionsRequest::default().into();
        streamctl_protocol::frame::encode_request(&header, &request, &mut out).unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut s, &out)
            .await
            .unwrap();
        let mut answer = crate::support::read_frame(&mut s, crate::support::STEP)
            .await
            .expect("no answer to ApiVersions v4");
        let h = streamctl_protocol::frame::ResponseHeader::decode(&mut answer, 0).unwrap();
        assert_eq!(h.correlation_id, 7);
        let v4 = <ApiVersionsResponse as streamctl_protocol::Message>::decode_from(&mut answer, 0)
            .unwrap();
        assert_eq!(v4.error_code, code(ErrorCode::UnsupportedVersion));
        assert_eq!(range(&v4, ApiKey::Fetch), Some((4, 12)));

        // Any other request newer than 2.8's: the connection closes, as Kafka closes it.
        let fetch = FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            ..Default::default()
        };
        let closed = crate::support::call(addr(&c, 1), ApiKey::Fetch, 13, fetch.clone().into())
            .await
            .unwrap_err();
        assert_eq!(closed, "connection closed");
        let listed = crate::support::call(
            addr(&c, 1),
            ApiKey::ListTransactions,
            0,
            ListTransactionsRequest::default().into(),
        )
        .await
        .unwrap_err();
        assert_eq!(listed, "connection closed");
        // The newest 2.8 version is served.
        let resp = call(addr(&c, 1), fetch, 12).await;
        assert_eq!(resp.error_code, 0);
        // (Followers keep fetching at the dev cluster's own version: the client's
        // kafka_versions test writes with acks=all to three replicas at every release.)
        c.shutdown().await;
    })
    .await;
}
