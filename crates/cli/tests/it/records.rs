//! Records through the CLI: the JSON round trip (`consume -J | produce --input jsonl`), key
//! partitioning identical to kcat's murmur2 partitioner, and time-based `-o` offsets.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use streamctl_testkit::{kcat, kcat_consume, run};
use tokio::process::Command;

use crate::support::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The JSON lines of `consume -J -e`, parsed, in (partition, offset) order.
async fn consume_json(brokers: &str, topic: &str) -> Vec<serde_json::Value> {
    let out = streamctl(&["-b", brokers, "consume", topic, "-e", "-J"], b"").await;
    let mut records: Vec<serde_json::Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    records.sort_by_key(|r| (r["partition"].as_i64(), r["offset"].as_i64()));
    records
}

#[tokio::test]
async fn consume_json_piped_into_produce_jsonl_reproduces_every_record() {
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    for t in ["src", "copy"] {
        ok(&streamctl(&["-b", b, "topic", "create", t, "-p", "3"], b"").await);
    }
    let ts = now_ms() - 60_000;
    // Binary and null keys and values, duplicate and null headers, explicit partitions.
    let input = format!(
        concat!(
            r#"{{"partition":0,"timestamp":{ts},"key":"k1","value":"plain text"}}"#,
            "\n",
            r#"{{"partition":1,"key":null,"value":"AP8B/g==","value_encoding":"base64","headers":[{{"key":"h","value":"1"}},{{"key":"h","value":"2"}},{{"key":"n","value":null}}]}}"#,
            "\n",
            r#"{{"partition":2,"key":"gA==","key_encoding":"base64","value":null}}"#,
            "\n",
            r#"{{"partition":1,"key":"ünïcødé","value":"{{\"nested\": \"json\"}}"}}"#,
            "\n",
        ),
        ts = ts
    );
    ok(&streamctl(
        &["-b", b, "produce", "src", "--input", "jsonl"],
        input.as_bytes(),
    )
    .await);
    let original = consume_json(b, "src").await;
    assert_eq!(original.len(), 4);
    assert_eq!(original[0]["timestamp"], ts);
    assert_eq!(original[1]["value_encoding"], "base64");
    assert_eq!(original[1]["headers"].as_array().unwrap().len(), 3);

    // consume -J | produce --input jsonl, through a real pipe.
    let json = streamctl(&["-b", b, "consume", "src", "-e", "-J"], b"").await;
    ok(&streamctl(
        &["-b", b, "produce", "copy", "--input", "jsonl"],
        &json.stdout,
    )
    .await);
    let copied = consume_json(b, "copy").await;
    let strip = |records: &[serde_json::Value]| -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("topic");
                r
            })
            .collect()
    };
    assert_eq!(strip(&copied), strip(&original));

    // A malformed line is reported with its number and nothing else is lost; exit 1.
    let out = streamctl(
        &["-b", b, "produce", "copy", "--input", "jsonl"],
        b"{\"value\":\"ok\"}\n{\"value\":\"@@\",\"value_encoding\":\"base64\"}\n",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("line 2"), "{}", stderr_of(&out));
    assert_eq!(consume_json(b, "copy").await.len(), 5);
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn keys_land_on_the_same_partitions_as_kcat_murmur2() {
    let Some(kcat) = kcat() else {
        return;
    };
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    for t in ["ours", "theirs"] {
        ok(&streamctl(&["-b", b, "topic", "create", t, "-p", "7"], b"").await);
    }
    let input: String = (0..300).map(|i| format!("key-{i}:{i}\n")).collect();
    ok(&streamctl(&["-b", b, "produce", "ours", "-K:"], input.as_bytes()).await);
    run(
        Command::new(kcat).args([
            "-b",
            b,
            "-P",
            "-t",
            "theirs",
            "-K:",
            "-X",
            "partitioner=murmur2_random",
        ]),
        Some(input.as_bytes()),
    )
    .await;
    let mut placements = Vec::new();
    for topic in ["ours", "theirs"] {
        let out = kcat_consume(b, topic, "%k %p\n").await;
        let placement: BTreeMap<String, String> = out
            .lines()
            .map(|l| {
                let (k, p) = l.split_once(' ').unwrap();
                (k.to_string(), p.to_string())
            })
            .collect();
        placements.push(placement);
    }
    let (ours, theirs) = (&placements[0], &placements[1]);
    assert_eq!(ours.len(), 300);
    assert_eq!(ours, theirs);
    let used: std::collections::BTreeSet<&String> = ours.values().collect();
    assert_eq!(used.len(), 7, "300 keys spread over every partition");
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn time_offsets_start_and_stop_by_timestamp() {
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    ok(&streamctl(&["-b", b, "topic", "create", "timed", "-p", "1"], b"").await);
    let base = now_ms() - 600_000;
    let input: String = (0..4)
        .map(|i| format!("{{\"timestamp\":{},\"value\":\"v{i}\"}}\n", base + i * 1000))
        .collect();
    ok(&streamctl(
        &["-b", b, "produce", "timed", "--input", "jsonl"],
        input.as_bytes(),
    )
    .await);
    let read = |o: String| async move {
        stdout_of(&streamctl(&["-b", b, "consume", "timed", "-o", &o, "-e"], b"").await)
    };
    assert_eq!(read(format!("@{}", base + 1000)).await, "v1\nv2\nv3\n");
    assert_eq!(read(format!("s@{}", base + 2500)).await, "v3\n");
    assert_eq!(read(format!("e@{}", base + 2000)).await, "v0\nv1\n");
    assert_eq!(
        read(format!("@{}:{}", base + 1000, base + 3000)).await,
        "v1\nv2\n"
    );
    // Nothing that recent: starts at the end, prints nothing.
    assert_eq!(read(format!("@{}", now_ms() + 3_600_000)).await, "");
    // An end time stops even without -e.
    let out = streamctl(
        &[
            "-b",
            b,
            "consume",
            "timed",
            "-o",
            &format!("e@{}", base + 1000),
        ],
        b"",
    )
    .await;
    assert_eq!(stdout_of(&out), "v0\n");

    let out = streamctl(&["-b", b, "consume", "timed", "-o", "@yesterday"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("-o @yesterday"),
        "{}",
        stderr_of(&out)
    );
    let out = streamctl(&["-b", b, "consume", "timed", "-G", "g", "-o", "@5"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("reset-offsets"),
        "{}",
        stderr_of(&out)
    );
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn a_reader_that_leaves_early_ends_consume_quietly() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    ok(&streamctl(&["-b", b, "topic", "create", "many", "-p", "1"], b"").await);
    let input: String = (0..20_000).map(|i| format!("record-{i}\n")).collect();
    ok(&streamctl(&["-b", b, "produce", "many"], input.as_bytes()).await);
    // `streamctl consume many | head -1`: the reader takes a line and closes the pipe.
    let mut child = command(&test_config())
        .args(["-b", b, "consume", "many", "-e"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "record-0");
    drop(lines);
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(stderr_of(&out), "", "a closed pipe is not an error");
    dev.kill().await.unwrap();
}
