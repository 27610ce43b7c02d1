//! Third-party Kafka clients against an in-process 3-broker dev cluster: kcat (librdkafka's
//! CLI), confluent-kafka (librdkafka from Python) and kafka-python. These prove the dev cluster
//! speaks Kafka to software we did not write.
//!
//! The tools are installed by `scripts/install-test-deps` (CI runs it). A missing tool fails
//! the test under `CI=true` and prints a loud warning elsewhere.

use std::process::Stdio;

use streamctl_testkit::{
    cluster, cluster_with, kcat, kcat_consume, python, run, TempDir, TOOL_TIMEOUT,
};
use tokio::process::Command;

use crate::support::{interop_script, run_python, script_summary};

/// Runs a Python client's script (module `module`, `script BOOTSTRAP NAME`) against a new
/// 3-broker cluster.
async fn script_on_a_fresh_cluster(module: &str, script: &str, name: &str) {
    let cluster = cluster(3).await;
    run_python(module, script, &[&cluster.bootstrap_servers(), name]).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_lists_metadata() {
    let Some(kcat) = kcat() else { return };
    let cluster = cluster(3).await;
    cluster.create_topic("listed", 4, 3).unwrap();
    let out = run(
        Command::new(kcat).args(["-b", &cluster.bootstrap_servers(), "-L", "-J"]),
        None,
    )
    .await;
    let md: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(md["brokers"].as_array().unwrap().len(), 3, "{md}");
    let topic = md["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "listed")
        .unwrap();
    let partitions = topic["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 4);
    for p in partitions {
        assert_eq!(p["replicas"].as_array().unwrap().len(), 3, "{p}");
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_produces_keyed_messages_and_consumes_them_back() {
    let Some(kcat) = kcat() else { return };
    let cluster = cluster(3).await;
    cluster.create_topic("keyed", 3, 1).unwrap();
    let b = cluster.bootstrap_servers();
    let input: String = (0..200).map(|i| format!("key{i}:value {i}\n")).collect();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        run(
            Command::new(kcat).args(["-b", &b, "-P", "-t", "keyed", "-K:", "-z", codec]),
            Some(input.as_bytes()),
        )
        .await;
    }
    let out = kcat_consume(&b, "keyed", "%k=%s\n").await;
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    let mut want: Vec<String> = (0..5)
        .flat_map(|_| (0..200).map(|i| format!("key{i}=value {i}")))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
    // Keys are partitioned consistently: every copy of a key landed on one partition.
    let out = kcat_consume(&b, "keyed", "%k %p\n").await;
    let mut partition_of = std::collections::HashMap::new();
    for line in out.lines() {
        let (k, p) = line.split_once(' ').unwrap();
        assert_eq!(
            *partition_of.entry(k.to_string()).or_insert(p.to_string()),
            p,
            "key {k} on two partitions"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_admin_produce_consume() {
    script_on_a_fresh_cluster("confluent_kafka", "confluent_roundtrip.py", "confluent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_transactions_commit_abort_and_fence() {
    script_on_a_fresh_cluster("confluent_kafka", "confluent_txn.py", "transactions").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_sends_offsets_to_a_transaction() {
    script_on_a_fresh_cluster("confluent_kafka", "confluent_txn_offsets.py", "eos").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_creates_topics_with_kafka_4_configs() {
    script_on_a_fresh_cluster("confluent_kafka", "confluent_topic_configs.py", "changelog").await;
}

/// Admin requests go to the broker Metadata names as controller: after broker 1 dies, that
/// is a live one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_admin_works_with_broker_1_down() {
    let cluster = cluster(3).await;
    cluster.kill_broker(1).await.unwrap();
    let script = "confluent_admin_without_broker_1.py";
    run_python(
        "confluent_kafka",
        script,
        &[&cluster.bootstrap_servers(), "no1"],
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_transactions_commit_and_abort() {
    script_on_a_fresh_cluster("kafka", "kafka_python_txn.py", "kptxn").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_admin_produce_consume() {
    script_on_a_fresh_cluster("kafka", "kafka_python_roundtrip.py", "kafkapython").await;
}

/// Runs a client's release script against a cluster posing as every Kafka release the dev
/// cluster can pose as (`--kafka-version`), one fresh cluster each.
async fn against_every_release(module: &str, script: &str) {
    if python(module).is_none() {
        return;
    }
    for &release in streamctl_devcluster::KafkaVersion::all() {
        let cluster = cluster_with(3, |b| {
            b.kafka_version(release)
                .group_initial_rebalance_delay(std::time::Duration::from_millis(20))
        })
        .await;
        run_python(
            module,
            script,
            &[&cluster.bootstrap_servers(), &release.to_string()],
        )
        .await;
        cluster.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_against_every_kafka_release_posed() {
    against_every_release("confluent_kafka", "confluent_release.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_against_every_kafka_release_posed() {
    against_every_release("kafka", "kafka_python_release.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_a_restart_on_the_same_data_dir() {
    let Some(kcat) = kcat() else { return };
    let dir = TempDir::new("restart");
    let cluster = cluster_with(3, |b| b.data_dir(dir.path())).await;
    cluster.create_topic("durable", 3, 1).unwrap();
    let input: String = (0..300).map(|i| format!("k{i}:v{i}\n")).collect();
    run(
        Command::new(kcat).args([
            "-b",
            &cluster.bootstrap_servers(),
            "-P",
            "-t",
            "durable",
            "-K:",
        ]),
        Some(input.as_bytes()),
    )
    .await;
    let before = kcat_consume(&cluster.bootstrap_servers(), "durable", "%p %o %k=%s\n").await;
    cluster.shutdown().await;

    let cluster = cluster_with(3, |b| b.data_dir(dir.path())).await;
    let after = kcat_consume(&cluster.bootstrap_servers(), "durable", "%p %o %k=%s\n").await;
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&before).len(), 300);
    assert_eq!(
        sorted(&before),
        sorted(&after),
        "records changed across a restart"
    );
    // New records continue after the recovered ones.
    run(
        Command::new(kcat).args([
            "-b",
            &cluster.bootstrap_servers(),
            "-P",
            "-t",
            "durable",
            "-K:",
            "-p",
            "0",
        ]),
        Some(b"again:1\n"),
    )
    .await;
    let p0 = run(
        Command::new(kcat).args([
            "-b",
            &cluster.bootstrap_servers(),
            "-C",
            "-t",
            "durable",
            "-p",
            "0",
            "-e",
            "-q",
            "-f",
            "%o %k\n",
        ]),
        None,
    )
    .await;
    let last = p0.lines().last().unwrap();
    let n0 = before.lines().filter(|l| l.starts_with("0 ")).count();
    assert_eq!(last, format!("{n0} again"));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_acks_all_across_a_leader_kill_loses_nothing() {
    use tokio::io::AsyncBufReadExt;
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let cluster = cluster(3).await;
    cluster.create_topic("failover", 3, 3).unwrap();
    let victim = cluster
        .controller()
        .snapshot()
        .partition("failover", 0)
        .unwrap()
        .leader;
    let script = interop_script("confluent_failover.py");
    let mut child = Command::new(py)
        .arg(script)
        .args([&cluster.bootstrap_servers(), "failover", "3", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let finished = tokio::time::timeout(TOOL_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line == "ready" {
                cluster.kill_broker(victim).await.unwrap();
            }
            out.push(line);
        }
        child.wait_with_output().await.unwrap()
    })
    .await
    .expect("the producer did not finish in time");
    let summary = script_summary(&finished, &out);
    println!("{summary}");
    let new_leader = cluster
        .controller()
        .snapshot()
        .partition("failover", 0)
        .unwrap()
        .leader;
    assert_ne!(new_leader, victim);
    cluster.shutdown().await;
}
