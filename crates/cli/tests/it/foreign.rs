//! `streamctl` against a broker we did not write: librdkafka's mock cluster, which
//! confluent-kafka starts in-process with `test.mock.num.brokers` (from PyPI, no JVM). What
//! the mock serves must work; what it lacks must fail with an error naming the API.
//!
//! What the mock lacks (librdkafka 2.16): CreateTopics, DeleteTopics, CreatePartitions,
//! DescribeConfigs, ListGroups, DescribeGroups, DeleteGroups, ListTransactions and the other
//! admin APIs; OffsetFetch for all topics (it answers a null topic list, so `group lag` asks
//! per partition); group membership through streamctl (it advertises JoinGroup v6 but reads
//! its protocol list as a v5 array, so it drops the connection); administrative offset
//! commits to a group it knows (UNKNOWN_MEMBER_ID).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{sorted_lines, stderr_of, stdout_of, streamctl};

/// Starts a 3-broker mock cluster in a Python child; it lives until its stdin closes (or the
/// child is dropped). Prints its bootstrap servers first.
const MOCK: &str = r#"
import sys
from confluent_kafka import Producer
p = Producer({'test.mock.num.brokers': 3})
md = p.list_topics(timeout=10)
print(",".join(f"{b.host}:{b.port}" for b in md.brokers.values()), flush=True)
sys.stdin.read()
"#;

/// Consumes `n` records of `topic` in group `group` and commits them.
const COMMIT: &str = r#"
import sys
from confluent_kafka import Consumer
brokers, topic, group, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({'bootstrap.servers': brokers, 'group.id': group,
              'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
c.subscribe([topic])
got = 0
while got < n:
    m = c.poll(30)
    if m is None:
        sys.exit(f"only {got} of {n} records")
    if not m.error():
        got += 1
c.commit(asynchronous=False)
c.close()
"#;

/// A running mock cluster (its Python process goes with it).
pub struct Mock {
    _child: Child,
    /// Its bootstrap servers.
    pub brokers: String,
}

pub async fn mock_cluster(python: &std::path::Path) -> Mock {
    let mut child = Command::new(python)
        .args(["-c", MOCK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("the mock cluster did not start")
    .unwrap();
    assert!(
        line.contains(':'),
        "the mock cluster printed no bootstrap servers: {line:?}"
    );
    Mock {
        _child: child,
        brokers: line.trim().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamctl_against_librdkafka_mock_cluster() {
    let Some(python) = streamctl_testkit::python("confluent_kafka") else {
        return;
    };
    let mock = mock_cluster(&python).await;
    let b = mock.brokers.as_str();

    // Metadata.
    let info = stdout_of(&streamctl(&["-b", b, "cluster", "info"], b"").await);
    for broker in b.split(',') {
        let (host, port) = broker.split_once(':').unwrap();
        assert!(
            info.lines()
                .any(|l| l.split_whitespace().skip(1).take(2).eq([host, port])),
            "{broker} missing from: {info}"
        );
    }

    // Keyed produce with acks=all, then consume from the beginning.
    let input: String = (0..30).map(|i| format!("k{i}:v{i}\n")).collect();
    stdout_of(
        &streamctl(
            &["-b", b, "produce", "foreign", "-K:", "-X", "acks=all"],
            input.as_bytes(),
        )
        .await,
    );
    let read = streamctl(
        &[
            "-b",
            b,
            "consume",
            "foreign",
            "-o",
            "beginning",
            "-e",
            "-f",
            "%k=%s\n",
        ],
        b"",
    )
    .await;
    let mut expected: Vec<String> = (0..30).map(|i| format!("k{i}=v{i}")).collect();
    expected.sort();
    assert_eq!(sorted_lines(&read), expected);
    let listed = stdout_of(&streamctl(&["-b", b, "topic", "list"], b"").await);
    assert!(listed.lines().any(|l| l == "foreign"), "{listed}");
    let described = stdout_of(&streamctl(&["-b", b, "topic", "describe", "foreign"], b"").await);
    assert!(
        described.contains("does not serve DescribeConfigs"),
        "{described}"
    );

    // A group committed by librdkafka: its lag, asked per partition.
    let out = tokio::time::timeout(
        streamctl_testkit::TOOL_TIMEOUT,
        tokio::process::Command::new(&python)
            .args(["-c", COMMIT, b, "foreign", "committed", "30"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the committing consumer did not finish")
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lag = stdout_of(&streamctl(&["-b", b, "group", "lag", "committed"], b"").await);
    assert!(lag.contains("total lag: 0"), "{lag}");
    assert!(
        lag.lines().filter(|l| l.starts_with("foreign")).count() >= 1,
        "{lag}"
    );

    // A transaction (InitProducerId, AddPartitionsToTxn, EndTxn), read back read_committed.
    stdout_of(
        &streamctl(
            &[
                "-b",
                b,
                "produce",
                "foreign-txn",
                "--transactional-id",
                "mock-app",
            ],
            b"t1\nt2\nt3\n",
        )
        .await,
    );
    let committed = streamctl(
        &[
            "-b",
            b,
            "consume",
            "foreign-txn",
            "-o",
            "beginning",
            "-e",
            "-X",
            "isolation.level=read_committed",
        ],
        b"",
    )
    .await;
    assert_eq!(sorted_lines(&committed), ["t1", "t2", "t3"]);

    // perf without CreateTopics: measured on the topic the broker creates on first use.
    let perf = stdout_of(
        &streamctl(
            &[
                "-b",
                b,
                "perf",
                "produce",
                "--topic",
                "foreign-perf",
                "--records",
                "2000",
            ],
            b"",
        )
        .await,
    );
    assert!(perf.contains("produce: 2000 records"), "{perf}");

    // What the mock lacks: a clear error naming the API.
    for (args, api) in [
        (&["topic", "create", "other"][..], "CreateTopics"),
        (&["group", "list"][..], "ListGroups"),
        (&["group", "describe", "committed"][..], "DescribeGroups"),
        (&["txn", "list"][..], "ListTransactions"),
        (&["txn", "describe", "mock-app"][..], "DescribeTransactions"),
        (
            &["txn", "producers", "foreign-txn", "-p", "0"][..],
            "DescribeProducers",
        ),
        (
            &["group", "delete", "committed", "--yes"][..],
            "DeleteGroups",
        ),
        (&["topic", "delete", "foreign", "--yes"][..], "DeleteTopics"),
    ] {
        let out = streamctl(&[&["-b", b][..], args].concat(), b"").await;
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!("does not support {api}")),
            "{args:?}: {err}"
        );
    }
}
