//! DescribeConfigs and IncrementalAlterConfigs.

use streamctl_protocol::messages::describe_configs::{
    DescribeConfigsResource, DescribeConfigsResourceResult, DescribeConfigsResult,
};
use streamctl_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterableConfig,
};

use super::*;

fn resource(resource_type: i8, name: &str, keys: Option<&[&str]>) -> DescribeConfigsResource {
    DescribeConfigsResource {
        resource_type,
        resource_name: name.into(),
        configuration_keys: keys.map(|k| k.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

async fn describe(
    c: &DevCluster,
    node_id: i32,
    resources: Vec<DescribeConfigsResource>,
    version: i16,
) -> Vec<DescribeConfigsResult> {
    let req = DescribeConfigsRequest {
        resources,
        include_synonyms: true,
        include_documentation: true,
        ..Default::default()
    };
    call(addr(c, node_id), req, version).await.results
}

fn config<'a>(r: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    r.configs
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} not described"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_of_a_topic() {
    bounded(async {
        let c = cluster(3).await;
        create_topic_with_config(&c, "configured", &[("retention.ms", "1000")]).await;

        let r = describe(&c, 2, vec![resource(2, "configured", None)], 4).await;
        let r = &r[0];
        assert_eq!(
            (r.error_code, r.resource_type, r.resource_name.as_str()),
            (0, 2, "configured")
        );
        assert_eq!(
            r.configs.len(),
            streamctl_devcluster::config::TOPIC_CONFIGS.len()
        );

        let retention = config(r, "retention.ms");
        assert_eq!(retention.value.as_deref(), Some("1000"));
        assert_eq!(retention.config_source, 1, "TOPIC_CONFIG");
        assert!(!retention.read_only && !retention.is_sensitive);
        assert_eq!(retention.config_type, 5, "LONG");
        let synonyms: Vec<_> = retention
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_deref(), s.source))
            .collect();
        assert_eq!(
            synonyms,
            vec![
                ("retention.ms", Some("1000"), 1),
                ("log.retention.ms", Some("604800000"), 5)
            ]
        );
        assert!(!retention.documentation.as_deref().unwrap_or("").is_empty());

        let cleanup = config(r, "cleanup.policy");
        assert_eq!(cleanup.value.as_deref(), Some("delete"));
        assert_eq!(cleanup.config_source, 5, "DEFAULT_CONFIG");
        assert_eq!(cleanup.config_type, 7, "LIST");
        assert_eq!(
            config(r, "unclean.leader.election.enable").config_type,
            1,
            "BOOLEAN"
        );
        assert_eq!(config(r, "compression.type").config_type, 2, "STRING");
        assert_eq!(config(r, "segment.bytes").config_type, 3, "INT");

        // Only the named keys; names the broker does not know are left out.
        let r = describe(
            &c,
            1,
            vec![resource(
                2,
                "configured",
                Some(&["retention.ms", "no.such"]),
            )],
            1,
        )
        .await;
        let names: Vec<_> = r[0].configs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, vec!["retention.ms"]);
        assert_eq!(r[0].configs[0].config_source, 1);

        // Without synonyms or documentation they are left out.
        let req = DescribeConfigsRequest {
            resources: vec![resource(2, "configured", Some(&["retention.ms"]))],
            ..Default::default()
        };
        let r = call(addr(&c, 3), req, 3).await.results;
        assert!(r[0].configs[0].synonyms.is_empty());
        assert_eq!(r[0].configs[0].documentation, None);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_errors() {
    bounded(async {
        let c = cluster(3).await;
        let r = describe(
            &c,
            1,
            vec![
                resource(2, "no-such-topic", None),
                resource(2, "bad/name", None),
                resource(8, "1", None),
                resource(4, "2", None),
                resource(4, "two", None),
            ],
            4,
        )
        .await;
        assert_eq!(r.len(), 5);
        assert_eq!(r[0].error_code, code(ErrorCode::UnknownTopicOrPartition));
        assert!(r[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("no-such-topic"));
        assert!(r[0].configs.is_empty());
        assert_eq!(r[1].error_code, code(ErrorCode::InvalidTopicException));
        assert_eq!(
            r[2].error_code,
            code(ErrorCode::InvalidRequest),
            "broker loggers"
        );
        assert!(r[2].error_message.is_some());
        assert_eq!(
            r[3].error_code,
            code(ErrorCode::InvalidRequest),
            "another broker's id"
        );
        assert_eq!(
            r[4].error_code,
            code(ErrorCode::InvalidRequest),
            "not a broker id"
        );
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_of_a_broker() {
    bounded(async {
        let c = cluster_with(3, |b| b.default_partitions(3)).await;
        let r = describe(
            &c,
            2,
            vec![resource(4, "2", None), resource(4, "", None)],
            4,
        )
        .await;
        assert_eq!(r[0].error_code, 0, "{:?}", r[0].error_message);
        let id = config(&r[0], "broker.id");
        assert_eq!(id.value.as_deref(), Some("2"));
        assert!(id.read_only);
        assert_eq!(config(&r[0], "node.id").value.as_deref(), Some("2"));
        let partitions = config(&r[0], "num.partitions");
        assert_eq!(partitions.value.as_deref(), Some("3"));
        assert_eq!(
            partitions.config_source, 4,
            "STATIC_BROKER_CONFIG: not Kafka's default"
        );
        let auto = config(&r[0], "auto.create.topics.enable");
        assert_eq!(
            (auto.value.as_deref(), auto.config_source),
            (Some("true"), 5)
        );
        assert_eq!(
            config(&r[0], "default.replication.factor").value.as_deref(),
            Some("1")
        );
        assert_eq!(
            config(&r[0], "socket.request.max.bytes").value.as_deref(),
            Some("104857600")
        );
        assert_eq!(
            config(&r[0], "log.retention.ms").value.as_deref(),
            Some("604800000")
        );
        assert_eq!(config(&r[0], "log.cleanup.policy").config_type, 7);
        let backoff = config(&r[0], "log.cleaner.backoff.ms");
        assert_eq!(
            (
                backoff.value.as_deref(),
                backoff.config_source,
                backoff.config_type
            ),
            (Some("15000"), 5, 5)
        );
        // The cluster-wide dynamic defaults: none.
        assert_eq!((r[1].error_code, r[1].configs.len()), (0, 0));

        let r = describe(&c, 1, vec![resource(4, "1", Some(&["num.partitions"]))], 2).await;
        assert_eq!(r[0].configs.len(), 1);
        c.shutdown().await;
    })
    .await;
}

fn change(name: &str, op: i8, value: Option<&str>) -> AlterableConfig {
    AlterableConfig {
        name: name.into(),
        config_operation: op,
        value: value.map(str::to_string),
        ..Default::default()
    }
}

async fn alter(
    c: &DevCluster,
    resource_type: i8,
    name: &str,
    configs: Vec<AlterableConfig>,
    validate_only: bool,
    version: i16,
) -> (i16, Option<String>) {
    let req = IncrementalAlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource_type,
            resource_name: name.into(),
            configs,
            ..Default::default()
        }],
        validate_only,
        ..Default::default()
    };
    let resp = call(addr(c, 1), req, version).await;
    let r = &resp.responses[0];
    assert_eq!(
        (r.resource_type, r.resource_name.as_str()),
        (resource_type, name)
    );
    (r.error_code, r.error_message.clone())
}

/// The value and source of one topic config, read back with DescribeConfigs.
async fn read_config(c: &DevCluster, topic: &str, name: &str) -> (String, i8) {
    let r = describe(c, 3, vec![resource(2, topic, Some(&[name]))], 4).await;
    assert_eq!(r[0].error_code, 0);
    let e = &r[0].configs[0];
    (e.value.clone().unwrap(), e.config_source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_alter_configs_set_delete_append_subtract() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("tuned", 1, 1).unwrap();

        let set = change("retention.ms", 0, Some("5000"));
        assert_eq!(alter(&c, 2, "tuned", vec![set], false, 1).await, (0, None));
        assert_eq!(
            read_config(&c, "tuned", "retention.ms").await,
            ("5000".into(), 1)
        );
        let md = c.controller().snapshot();
        let overrides = &md.topic("tuned").unwrap().config.overrides;
        assert_eq!(
            overrides.get("retention.ms").map(String::as_str),
            Some("5000")
        );

        let append = change("cleanup.policy", 2, Some("compact"));
        assert_eq!(
            alter(&c, 2, "tuned", vec![append.clone()], false, 0)
                .await
                .0,
            0
        );
        assert_eq!(
            read_config(&c, "tuned", "cleanup.policy").await.0,
            "delete,compact"
        );
        // Appending a word already present changes nothing.
        assert_eq!(alter(&c, 2, "tuned", vec![append], false, 1).await.0, 0);
        assert_eq!(
            read_config(&c, "tuned", "cleanup.policy").await.0,
            "delete,compact"
        );
        let subtract = change("cleanup.policy", 3, Some("delete"));
        assert_eq!(alter(&c, 2, "tuned", vec![subtract], false, 1).await.0, 0);
        assert_eq!(
            read_config(&c, "tuned", "cleanup.policy").await,
            ("compact".into(), 1)
        );

        // DELETE goes back to the default.
        let delete = change("retention.ms", 1, None);
        assert_eq!(alter(&c, 2, "tuned", vec![delete], false, 1).await.0, 0);
        assert_eq!(
            read_config(&c, "tuned", "retention.ms").await,
            ("604800000".into(), 5)
        );

        // validate_only changes nothing.
        let set = change("retention.ms", 0, Some("42"));
        assert_eq!(alter(&c, 2, "tuned", vec![set], true, 1).await.0, 0);
        assert_eq!(
            read_config(&c, "tuned", "retention.ms").await.0,
            "604800000"
        );
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_alter_configs_refuses_bad_changes() {
    bounded(async {
        let c = cluster(3).await;
        c.create_topic("strict", 1, 1).unwrap();
        let set = change("retention.ms", 0, Some("7000"));
        assert_eq!(alter(&c, 2, "strict", vec![set], false, 1).await.0, 0);

        let cases = [
            (
                vec![change("retention.ms", 0, Some("soon"))],
                ErrorCode::InvalidConfig,
                "not a number",
            ),
            (
                vec![change("no.such.config", 0, Some("1"))],
                ErrorCode::InvalidConfig,
                "unknown name",
            ),
            (
                vec![change("retention.ms", 2, Some("1"))],
                ErrorCode::InvalidConfig,
                "append to a long",
            ),
            (
                vec![change("cleanup.policy", 2, Some("shred"))],
                ErrorCode::InvalidConfig,
                "bad list word",
            ),
            (
                vec![change("retention.ms", 0, None)],
                ErrorCode::InvalidRequest,
                "null value",
            ),
            (
                vec![change("retention.ms", 9, Some("1"))],
                ErrorCode::InvalidRequest,
                "unknown op",
            ),
            (
                vec![
                    change("retention.ms", 0, Some("1")),
                    change("retention.ms", 1, None),
                ],
                ErrorCode::InvalidRequest,
                "same config twice",
            ),
            (
                // One bad change leaves the good one unapplied too.
                vec![
                    change("segment.ms", 0, Some("1000")),
                    change("retention.ms", 0, Some("x")),
                ],
                ErrorCode::InvalidConfig,
                "one bad change",
            ),
        ];
        for (configs, expected, why) in cases {
            let (error_code, message) = alter(&c, 2, "strict", configs, false, 1).await;
            assert_eq!(error_code, code(expected), "{why}: {message:?}");
            assert!(message.is_some(), "{why}: the error says why");
        }
        // Read back: unchanged.
        assert_eq!(
            read_config(&c, "strict", "retention.ms").await,
            ("7000".into(), 1)
        );
        assert_eq!(read_config(&c, "strict", "segment.ms").await.1, 5);

        let set = change("retention.ms", 0, Some("1"));
        let (error_code, _) = alter(&c, 2, "missing", vec![set.clone()], false, 1).await;
        assert_eq!(error_code, code(ErrorCode::UnknownTopicOrPartition));
        let (error_code, message) = alter(
            &c,
            4,
            "1",
            vec![change("num.partitions", 0, Some("3"))],
            false,
            1,
        )
        .await;
        assert_eq!(error_code, code(ErrorCode::InvalidRequest));
        assert!(message.unwrap().contains("not supported"));
        let (error_code, _) = alter(&c, 16, "x", vec![set], false, 0).await;
        assert_eq!(error_code, code(ErrorCode::InvalidRequest));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kafka_topic_config_is_accepted_validated_and_described() {
    bounded(async {
        let c = cluster(1).await;
        // What Kafka Streams, Debezium and operators set when they create their topics.
        let wanted = [
            ("cleanup.policy", "compact,delete"),
            ("delete.retention.ms", "3600000"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("min.compaction.lag.ms", "1000"),
            ("max.compaction.lag.ms", "86400000"),
            ("message.timestamp.after.max.ms", "86400000"),
            ("message.timestamp.before.max.ms", "9223372036854775807"),
            ("segment.jitter.ms", "10"),
            ("segment.index.bytes", "1048576"),
            ("index.interval.bytes", "1024"),
            ("file.delete.delay.ms", "0"),
            ("preallocate", "false"),
            ("compression.zstd.level", "6"),
            ("local.retention.ms", "-2"),
            ("remote.storage.enable", "false"),
            ("leader.replication.throttled.replicas", "0:1"),
        ];
        create_topic_with_config(&c, "changelog", &wanted).await;
        let r = describe(&c, 1, vec![resource(2, "changelog", None)], 4).await;
        for (name, value) in wanted {
            let e = config(&r[0], name);
            assert_eq!(e.value.as_deref(), Some(value), "{name}");
            assert_eq!(e.config_source, 1, "{name}: a topic override");
        }
        // Defaults as Kafka 4 prints them, with the broker config behind each.
        let ratio = config(&r[0], "min.cleanable.dirty.ratio");
        assert_eq!(ratio.config_type, 6, "DOUBLE");
        let after = describe(
            &c,
            1,
            vec![resource(2, "changelog", Some(&["segment.bytes"]))],
            4,
        )
        .await;
        let segment = config(&after[0], "segment.bytes");
        assert_eq!(
            (segment.value.as_deref(), segment.config_source),
            (Some("1073741824"), 5)
        );
        assert_eq!(segment.synonyms[0].name, "log.segment.bytes");

        // Out of range or of the wrong shape: refused, naming the config and what it takes.
        for (name, value) in [
            ("min.cleanable.dirty.ratio", "1.5"),
            ("delete.retention.ms", "-1"),
            ("segment.bytes", "10"),
            ("compression.gzip.level", "0"),
            ("follower.replication.throttled.replicas", "all"),
        ] {
            let (error_code, message) = alter(
                &c,
                2,
                "changelog",
                vec![change(name, 0, Some(value))],
                false,
                1,
            )
            .await;
            assert_eq!(error_code, code(ErrorCode::InvalidConfig), "{name}={value}");
            let message = message.unwrap_or_default();
            assert!(
                message.contains(name) && message.contains("expected"),
                "{message}"
            );
        }
        c.shutdown().await;
    })
    .await;
}

/// Produces one batch of `(key, timestamp)` records to partition 0 (the topic's only one);
/// the partition's error code and message.
async fn produce_keyed(
    c: &DevCluster,
    topic: &str,
    records: &[(Option<&str>, i64)],
) -> (i16, Option<String>) {
    let mut batch = RecordBatchBuilder::new(Compression::None);
    for (key, ts) in records {
        batch
            .push(*ts, key.map(str::as_bytes), Some(b"v".as_slice()), &[])
            .unwrap();
    }
    let p = produce_request(c, topic, 0, batch.build().unwrap(), 1, None, 9).await;
    (p.error_code, p.error_message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_checked_for_keys_and_timestamps_as_kafka_checks_them() {
    bounded(async {
        let c = cluster(1).await;
        let now = crate::support::now_ms();
        create_topic_with_config(&c, "table", &[("cleanup.policy", "compact")]).await;
        // A compacted topic refuses a record without a key, even one among keyed records.
        let (error, message) = produce_keyed(&c, "table", &[(Some("k"), now), (None, now)]).await;
        assert_eq!(error, code(ErrorCode::InvalidRecord), "{message:?}");
        assert_eq!(produce_keyed(&c, "table", &[(Some("k"), now)]).await.0, 0);

        // Kafka 4's default: at most an hour into the future, any age into the past.
        create_topic_with_config(&c, "events", &[]).await;
        let future = now + 2 * 3_600_000;
        let (error, message) = produce_keyed(&c, "events", &[(None, now), (None, future)]).await;
        assert_eq!(error, code(ErrorCode::InvalidTimestamp), "{message:?}");
        assert!(message.unwrap_or_default().contains(&future.to_string()));
        assert_eq!(
            produce_keyed(&c, "events", &[(None, 0), (None, now + 60_000)])
                .await
                .0,
            0
        );

        // With message.timestamp.before.max.ms every record's age is checked, not only the
        // first or the newest.
        create_topic_with_config(
            &c,
            "recent",
            &[("message.timestamp.before.max.ms", "60000")],
        )
        .await;
        let old = now - 3_600_000;
        let (error, _) =
            produce_keyed(&c, "recent", &[(None, now), (None, old), (None, now)]).await;
        assert_eq!(error, code(ErrorCode::InvalidTimestamp));
        assert_eq!(produce_keyed(&c, "recent", &[(None, now)]).await.0, 0);

        // LogAppendTime topics take any producer timestamp (the broker's replaces it).
        create_topic_with_config(
            &c,
            "stamped",
            &[("message.timestamp.type", "LogAppendTime")],
        )
        .await;
        assert_eq!(produce_keyed(&c, "stamped", &[(None, future)]).await.0, 0);
        c.shutdown().await;
    })
    .await;
}
