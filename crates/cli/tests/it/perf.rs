//! `streamctl perf`: the shape of its output (text and `--json`) on tiny runs, against the
//! in-process dev cluster it starts itself and against `-b` brokers; the records it writes are
//! readable by kcat. Nothing here asserts a speed: the numbers are for people.

use serde_json::Value;
use streamctl_testkit::{cluster, kcat, kcat_consume};

use crate::support::streamctl;

/// The one JSON object a `--json` run prints.
async fn json_of(args: &[&str]) -> Value {
    let out = streamctl(args, b"").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected: {stdout}");
    serde_json::from_str(lines[0]).unwrap()
}

fn number(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"))
}

#[tokio::test]
async fn produce_json_has_throughput_and_latency_fields() {
    let v = json_of(&[
        "perf",
        "produce",
        "--topic",
        "t",
        "--records",
        "300",
        "--record-size",
        "50",
        "--acks",
        "all",
        "--keys",
        "--compression",
        "lz4",
        "--producers",
        "2",
        "--json",
    ])
    .await;
    assert_eq!(v["mode"], "produce");
    assert_eq!(v["records"], 300);
    assert_eq!(v["errors"], 0);
    for f in [
        "records_per_sec",
        "mb_per_sec",
        "p50_ms",
        "p99_ms",
        "p999_ms",
    ] {
        assert!(number(&v, f) > 0.0, "{f} in {v}");
    }
    assert!(number(&v, "p50_ms") <= number(&v, "p99_ms"));
    assert!(number(&v, "p99_ms") <= number(&v, "p999_ms"));
    assert_eq!(v["setup"]["brokers"], "in-process devcluster");
    assert_eq!(v["setup"]["producers"], 2);
    assert_eq!(v["setup"]["compression"], "lz4");
    assert_eq!(v["setup"]["idempotence"], true);
}

#[tokio::test]
async fn produce_text_prints_setup_rate_and_percentiles() {
    let out = streamctl(&["perf", "produce", "--records", "100", "--acks", "1"], b"").await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("setup: produce 100 records x 100 B"),
        "{text}"
    );
    assert!(
        lines[0].contains("acks=1") && lines[0].contains("in-process"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("produce: 100 records") && lines[1].contains("records/s"),
        "{text}"
    );
    assert!(lines[1].contains("MB/s"), "{text}");
    assert!(
        lines[2].contains("p50") && lines[2].contains("p99 ") && lines[2].contains("p99.9"),
        "{text}"
    );
}

#[tokio::test]
async fn consume_fills_the_topic_then_reads_it_with_several_consumers() {
    let v = json_of(&[
        "perf",
        "consume",
        "--records",
        "400",
        "--consumers",
        "3",
        "--json",
    ])
    .await;
    assert_eq!(v["mode"], "consume");
    assert_eq!(v["records"], 400);
    assert!(number(&v, "records_per_sec") > 0.0);
    assert!(number(&v, "mb_per_sec") > 0.0);
    // Consume alone has no latency to report (e2e has); the fields are there, as null.
    for f in ["p50_ms", "p99_ms", "p999_ms", "hiccups"] {
        assert!(v[f].is_null(), "{f} in {v}");
    }
}

#[tokio::test]
async fn e2e_times_every_record_from_send_to_consume() {
    let v = json_of(&[
        "perf",
        "e2e",
        "--records",
        "300",
        "--rate",
        "3000",
        "--partitions",
        "3",
        "--consumers",
        "2",
        "--json",
    ])
    .await;
    assert_eq!(v["mode"], "e2e");
    assert_eq!(v["records"], 300);
    assert_eq!(v["setup"]["rate"], 3000);
    for f in [
        "records_per_sec",
        "produce_records_per_sec",
        "p50_ms",
        "p99_ms",
        "p999_ms",
    ] {
        assert!(number(&v, f) > 0.0, "{f} in {v}");
    }
    // When the slowest record arrived, and the worst scheduling hiccups, to tell whose a
    // tail is: within the run (a few seconds at most here).
    assert!(
        (0.0..60.0).contains(&number(&v, "slowest_record_at_s")),
        "{v}"
    );
    let hiccups = &v["hiccups"];
    for f in ["thread_max_ms", "runtime_max_ms"] {
        assert!(number(hiccups, f) >= 0.0, "{f} in {v}");
    }
}

#[tokio::test]
async fn against_given_brokers_the_records_are_readable_by_kcat() {
    let cluster = cluster(3).await;
    let brokers = cluster.bootstrap_servers();
    let v = json_of(&[
        "-b",
        &brokers,
        "perf",
        "produce",
        "--topic",
        "given",
        "--records",
        "250",
        "--record-size",
        "20",
        "--partitions",
        "2",
        "--replication-factor",
        "2",
        "--json",
    ])
    .await;
    assert_eq!(v["setup"]["brokers"], brokers.as_str());
    assert_eq!(v["records"], 250);
    // The topic now holds 250 records: a consume run of 250 reads them without producing more.
    let c = json_of(&[
        "-b",
        &brokers,
        "perf",
        "consume",
        "--topic",
        "given",
        "--records",
        "250",
        "--json",
    ])
    .await;
    assert_eq!(c["records"], 250);
    if kcat().is_some() {
        let text = kcat_consume(&brokers, "given", "%s\n").await;
        let values: Vec<&str> = text.lines().collect();
        assert_eq!(values.len(), 250, "{text}");
        assert!(values
            .iter()
            .all(|v| v.len() == 20 && v.bytes().all(|b| b.is_ascii_uppercase())));
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn startup_reports_metadata_time_and_memory() {
    let v = json_of(&["perf", "startup", "--idle-ms", "0", "--json"]).await;
    assert_eq!(v["brokers"], 3);
    assert!(number(&v, "metadata_ms") >= number(&v, "start_ms"));
    assert!(number(&v, "idle_rss_kib") > 0.0);
}

#[tokio::test]
async fn bad_perf_flags_are_refused_with_the_reason() {
    let out = streamctl(
        &["perf", "e2e", "--record-size", "4", "--records", "10"],
        b"",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let out = streamctl(&["perf", "produce", "--acks", "2", "--records", "10"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--acks 2"));
    let out = streamctl(
        &["perf", "produce", "-X", "no.such=1", "--records", "10"],
        b"",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no.such"));
}
