//! The `streamctl` binary, run as a user would: `dev up` in the background, `produce` into
//! it, kcat reading back; usage errors and unreachable brokers give clear messages and the
//! right exit codes.

use std::collections::BTreeMap;
use std::time::Duration;

use streamctl_testkit::{kcat, kcat_consume};

use crate::support::*;

#[tokio::test]
async fn dev_up_then_produce_keyed_lines_read_back_by_kcat() {
    if kcat().is_none() {
        return;
    }
    let (mut dev, brokers, admin) = dev_up().await;
    assert!(admin.starts_with("http://127.0.0.1:"), "{admin}");
    let out = streamctl(
        &[
            "-b", &brokers, "produce", "cli", "-K:", "-H", "h=1", "-H", "h:2",
        ],
        b"k1:v1\nk2:v2\n:nokey\n",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = kcat_consume(&brokers, "cli", "%k=%s %h\n").await;
    assert_eq!(text, "k1=v1 h=1,h=2\nk2=v2 h=1,h=2\n=nokey h=1,h=2\n");
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn usage_errors_exit_2_with_a_message() {
    let out = streamctl(&["produce"], b"").await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<TOPIC>"));
    let out = streamctl(&["produce", "t", "--bogus"], b"").await;
    assert_eq!(out.status.code(), Some(2));
    let out = streamctl(
        &["-b", "127.0.0.1:1", "produce", "t", "-z", "brotli"],
        b"x\n",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-z brotli"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_unreachable_broker_names_the_address_and_exits_1() {
    let out = streamctl(&["-b", "127.0.0.1:1", "produce", "t"], b"x\n").await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(err.contains("refused"), "{err}");
}

#[tokio::test]
async fn a_bad_property_names_the_property() {
    let out = streamctl(
        &["-b", "127.0.0.1:1", "-X", "linger.ms=soon", "produce", "t"],
        b"",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linger.ms"), "{err}");
    let out = streamctl(
        &[
            "-b",
            "127.0.0.1:1",
            "-X",
            "no.such.property=1",
            "produce",
            "t",
        ],
        b"",
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("no.such.property"));
}

#[tokio::test]
async fn topic_commands_create_describe_alter_grow_and_delete() {
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    stdout_of(
        &streamctl(
            &[
                "-b",
                b,
                "topic",
                "create",
                "admin-t",
                "-p",
                "2",
                "-r",
                "2",
                "-c",
                "retention.ms=3600000",
            ],
            b"",
        )
        .await,
    );
    let list = stdout_of(&streamctl(&["-b", b, "topic", "list"], b"").await);
    assert!(list.lines().any(|l| l == "admin-t"), "{list}");

    stdout_of(
        &streamctl(
            &["-b", b, "produce", "admin-t", "-p", "1"],
            b"one\ntwo\nthree\n",
        )
        .await,
    );
    let text = stdout_of(&streamctl(&["-b", b, "topic", "describe", "admin-t"], b"").await);
    assert!(text.contains("retention.ms=3600000"), "{text}");
    assert!(text.contains("PARTITION"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &["-b", b, "--format", "json", "topic", "describe", "admin-t"],
            b"",
        )
        .await,
    ))
    .unwrap();
    assert_eq!(json["name"], "admin-t");
    let partitions = json["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    for p in partitions {
        let replicas = p["replicas"].as_array().unwrap();
        assert_eq!(replicas.len(), 2, "{p}");
        assert!(replicas.contains(&p["leader"]), "{p}");
        assert!(!p["isr"].as_array().unwrap().is_empty(), "{p}");
    }
    assert_eq!(partitions[1]["partition"], 1);
    assert_eq!(partitions[1]["high_watermark"], 3);
    assert_eq!(partitions[0]["high_watermark"], 0);

    stdout_of(
        &streamctl(
            &[
                "-b",
                b,
                "topic",
                "alter-config",
                "admin-t",
                "-c",
                "cleanup.policy=compact",
                "--delete",
                "retention.ms",
            ],
            b"",
        )
        .await,
    );
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &["-b", b, "--format", "json", "topic", "describe", "admin-t"],
            b"",
        )
        .await,
    ))
    .unwrap();
    assert_eq!(
        json["configs"],
        serde_json::json!({ "cleanup.policy": "compact" })
    );

    stdout_of(
        &streamctl(
            &["-b", b, "topic", "add-partitions", "admin-t", "-p", "4"],
            b"",
        )
        .await,
    );
    // New partitions reach every broker's metadata shortly after the controller answers.
    let mut count = 0;
    for _ in 0..100 {
        let json: serde_json::Value = serde_json::from_str(&stdout_of(
            &streamctl(
                &["-b", b, "--format", "json", "topic", "describe", "admin-t"],
                b"",
            )
            .await,
        ))
        .unwrap();
        count = json["partitions"].as_array().unwrap().len();
        if count == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count, 4);

    stdout_of(&streamctl(&["-b", b, "topic", "delete", "admin-t", "--yes"], b"").await);
    let list: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(&["-b", b, "--format", "json", "topic", "list"], b"").await,
    ))
    .unwrap();
    assert!(
        !list.as_array().unwrap().contains(&"admin-t".into()),
        "{list}"
    );

    let info: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(&["-b", b, "--format", "json", "cluster", "info"], b"").await,
    ))
    .unwrap();
    assert_eq!(info["brokers"].as_array().unwrap().len(), 3, "{info}");
    let text = stdout_of(&streamctl(&["-b", b, "-L"], b"").await);
    assert!(text.contains("controller:"), "{text}");
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn topic_errors_name_the_topic_and_what_to_do() {
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    let out = streamctl(&["-b", b, "topic", "describe", "nosuch"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("topic 'nosuch' does not exist"), "{err}");
    assert!(err.contains("streamctl topic list"), "{err}");

    stdout_of(&streamctl(&["-b", b, "topic", "create", "keep", "-p", "1"], b"").await);
    // stdin is a pipe here, not a terminal: no prompt, a refusal naming --yes.
    let out = streamctl(&["-b", b, "topic", "delete", "keep"], b"y\n").await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--yes"), "{err}");
    let list = stdout_of(&streamctl(&["-b", b, "topic", "list"], b"").await);
    assert!(list.lines().any(|l| l == "keep"), "{list}");

    let out = streamctl(&["-b", b, "topic", "create", "keep"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TOPIC_ALREADY_EXISTS"));

    let out = streamctl(&["-b", b, "topic", "alter-config", "keep"], b"").await;
    assert_eq!(out.status.code(), Some(2));
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn consume_prints_formats_json_offsets_and_resumes_a_group() {
    let (mut dev, brokers, _) = dev_up().await;
    let ok = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr))
    };
    ok(&streamctl(
        &["-b", &brokers, "topic", "create", "c", "-p", "2", "-r", "3"],
        b"",
    )
    .await);
    ok(&streamctl(
        &[
            "-b", &brokers, "produce", "c", "-K:", "-H", "h=x", "-p", "0",
        ],
        b"a:1\nb:2\nc:3\n",
    )
    .await);
    ok(&streamctl(
        &["-b", &brokers, "produce", "c", "-K:", "-p", "1"],
        b"d:4\n",
    )
    .await);

    let out = streamctl(
        &[
            "-b",
            &brokers,
            "consume",
            "c",
            "-e",
            "-f",
            "%p %o %k=%s %h\\n",
        ],
        b"",
    )
    .await;
    ok(&out);
    let lines = sorted_lines(&out);
    assert_eq!(
        lines,
        ["0 0 a=1 h=x", "0 1 b=2 h=x", "0 2 c=3 h=x", "1 0 d=4 "]
    );

    let out = streamctl(
        &[
            "-b", &brokers, "consume", "c", "-e", "-J", "-p", "0", "-c", "1",
        ],
        b"",
    )
    .await;
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["key"].as_str(), v["value"].as_str(), v["offset"].as_i64()),
        (Some("a"), Some("1"), Some(0))
    );
    assert_eq!(v["headers"][0]["key"], "h");

    let out = streamctl(
        &[
            "-b", &brokers, "consume", "c", "-e", "-o", "-1", "-f", "%p:%o\\n",
        ],
        b"",
    )
    .await;
    let last = sorted_lines(&out);
    assert_eq!(last, ["0:2", "1:0"]);

    // A group commits what it printed: a second run prints only what is new.
    let out = streamctl(
        &[
            "-b", &brokers, "consume", "c", "-e", "-G", "g", "-f", "%k\\n",
        ],
        b"",
    )
    .await;
    ok(&out);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 4);
    ok(&streamctl(
        &["-b", &brokers, "produce", "c", "-K:", "-p", "1"],
        b"e:5\n",
    )
    .await);
    let out = streamctl(
        &[
            "-b", &brokers, "consume", "c", "-e", "-G", "g", "-f", "%k\\n",
        ],
        b"",
    )
    .await;
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "e\n");

    let out = streamctl(&["-b", &brokers, "consume", "nosuch", "-e"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));

    // read_committed, as a flag or as kcat's property: without transactions, everything.
    for isolation in [
        &["consume", "c", "--isolation", "read_committed"][..],
        &["-X", "isolation.level=read_committed", "consume", "c"][..],
    ] {
        let mut cmd = vec!["-b", brokers.as_str()];
        cmd.extend_from_slice(isolation);
        cmd.extend_from_slice(&["-e", "-f", "%k\\n"]);
        let out = streamctl(&cmd, b"").await;
        ok(&out);
        let keys = sorted_lines(&out);
        assert_eq!(keys, ["a", "b", "c", "d", "e"], "{isolation:?}");
    }
    // A transaction: committed when every record is delivered, aborted when one is not
    // (a record over max.request.size), and read_committed sees only the committed one.
    ok(&streamctl(
        &[
            "-b",
            &brokers,
            "produce",
            "c",
            "-K:",
            "--transactional-id",
            "cli-txn",
        ],
        b"f:6\ng:7\n",
    )
    .await);
    let big = format!("h:{}\ni:9\n", "x".repeat(4096));
    let out = streamctl(
        &[
            "-b",
            &brokers,
            "-X",
            "max.request.size=2048",
            "-X",
            "transactional.id=cli-txn",
            "produce",
            "c",
            "-K:",
        ],
        big.as_bytes(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("transaction aborted"));
    let out = streamctl(
        &[
            "-b",
            &brokers,
            "consume",
            "c",
            "--isolation",
            "read_committed",
            "-e",
            "-f",
            "%k\\n",
        ],
        b"",
    )
    .await;
    ok(&out);
    let keys = sorted_lines(&out);
    assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g"]);
    // The transactional id, as `txn list|describe|producers` show it: its last transaction
    // aborted, nothing open, and partition 0's producers without an open transaction.
    let out = streamctl(&["-b", &brokers, "--format", "json", "txn", "list"], b"").await;
    ok(&out);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["transactional_id"], "cli-txn", "{listed}");
    assert_eq!(listed[0]["state"], "CompleteAbort", "{listed}");
    let out = streamctl(&["-b", &brokers, "txn", "describe", "cli-txn"], b"").await;
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("state:            CompleteAbort"), "{text}");
    assert!(text.contains("partitions:       -"), "{text}");
    let out = streamctl(&["-b", &brokers, "txn", "list", "--state", "Ongoing"], b"").await;
    ok(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cli-txn"));
    let out = streamctl(
        &["-b", &brokers, "--format", "json", "txn", "producers", "c"],
        b"",
    )
    .await;
    ok(&out);
    let producers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = producers["producers"].as_array().unwrap();
    assert!(!all.is_empty(), "{producers}");
    assert!(
        all.iter().all(|p| p["current_txn_start_offset"].is_null()),
        "{producers}"
    );
    for (bad, says) in [
        (&["txn", "describe", "nosuch"][..], "does not exist"),
        (
            &["txn", "list", "--state", "Running"][..],
            "unknown transaction state",
        ),
        (&["txn", "producers", "nosuch"][..], "nosuch"),
    ] {
        let mut cmd = vec!["-b", brokers.as_str()];
        cmd.extend_from_slice(bad);
        let out = streamctl(&cmd, b"").await;
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{bad:?}: {err}");
    }
    // A bad level: a config error naming the property (1), or a usage error from clap (2).
    for (bad, code) in [
        (&["-X", "isolation.level=committed", "consume", "c"][..], 1),
        (&["consume", "c", "--isolation", "committed"][..], 2),
    ] {
        let mut cmd = vec!["-b", brokers.as_str()];
        cmd.extend_from_slice(bad);
        cmd.push("-e");
        let out = streamctl(&cmd, b"").await;
        assert_eq!(out.status.code(), Some(code), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("isolation"));
    }
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn dev_clean_compacts_and_topic_describe_shows_the_cleaner() {
    // `dev up` makes its profile current, with the admin plane `topic describe` asks for the
    // cleaner's state (Kafka shows it only in metrics).
    let dir = streamctl_testkit::TempDir::new("cli-dev-clean");
    let config = dir.path().join("config.toml");
    let (mut dev, _, _) = dev_up_with(&config, &["--in-memory"]).await;
    ok(&streamctl_with(
        &config,
        &[
            "topic",
            "create",
            "table",
            "-r",
            "3",
            "-c",
            "cleanup.policy=compact",
            "-c",
            "segment.bytes=4096",
        ],
        b"",
    )
    .await);
    let lines: String = (0..2_000).map(|i| format!("k{}:v{i}\n", i % 20)).collect();
    // Batches smaller than a segment (Kafka refuses a batch larger than segment.bytes).
    ok(&streamctl_with(
        &config,
        &[
            "-X",
            "batch.size=1000",
            "produce",
            "table",
            "-K:",
            "-p",
            "0",
        ],
        lines.as_bytes(),
    )
    .await);
    let cleaned = stdout_of(&streamctl_with(&config, &["dev", "clean"], b"").await);
    assert!(cleaned.contains("table-0"), "{cleaned}");
    let text = stdout_of(&streamctl_with(&config, &["topic", "describe", "table"], b"").await);
    assert!(text.contains("DIRTY RATIO"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl_with(
            &config,
            &["--format", "json", "topic", "describe", "table"],
            b"",
        )
        .await,
    ))
    .unwrap();
    let cleaner = &json["partitions"][0]["cleaner"];
    assert_eq!(cleaner["runs"], 1, "{json}");
    assert!(
        cleaner["bytes_reclaimed"].as_u64().unwrap() > 0,
        "{cleaner}"
    );
    assert!(cleaner["cleaned_to"].as_i64().unwrap() > 0, "{cleaner}");
    // Read back from the start: the latest value of each of the 20 keys last.
    let out = stdout_of(
        &streamctl_with(
            &config,
            &["consume", "table", "-o", "beginning", "-e", "-f", "%k=%s\n"],
            b"",
        )
        .await,
    );
    let table: BTreeMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(table.len(), 20, "{out}");
    assert_eq!(table["k19"], "v1999");
    assert!(out.lines().count() < 2_000, "nothing was cleaned: {out}");
    dev.kill().await.unwrap();
}
