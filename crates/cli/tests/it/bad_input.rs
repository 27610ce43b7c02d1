//! Bad user input to the `streamctl` binary: each case exits non-zero with a message that
//! names the input and, where there is one, what to do instead. The rows of
//! docs/bad-input.md point here.

use std::path::Path;
use std::process::Output;

use streamctl_testkit::cluster;

use crate::support::streamctl;

/// Asserts exit code 1 and that stderr mentions every one of `needles`.
fn fails_with(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_start_offset_or_partition_names_the_flag() {
    let dc = cluster(1).await;
    dc.create_topic("t", 2, 1).unwrap();
    let b = dc.bootstrap_servers();
    let out = streamctl(&["-b", &b, "consume", "t", "-o", "soon", "-e"], b"").await;
    fails_with(&out, &["-o soon", "beginning"]);
    let out = streamctl(&["-b", &b, "consume", "t", "-p", "7", "-e"], b"").await;
    fails_with(&out, &["-p", "no partition"]);
    let out = streamctl(&["-b", &b, "consume", "nosuch", "-e"], b"").await;
    fails_with(&out, &["nosuch"]);
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topic_names_counts_and_configs_are_refused_by_name() {
    let dc = cluster(1).await;
    let b = dc.bootstrap_servers();
    let long = "x".repeat(250);
    for name in ["a/b", "..", long.as_str()] {
        let out = streamctl(&["-b", &b, "topic", "create", name], b"").await;
        fails_with(&out, &["INVALID_TOPIC_EXCEPTION"]);
    }
    let out = streamctl(&["-b", &b, "topic", "create", "ok", "-p", "0"], b"").await;
    fails_with(&out, &["INVALID_PARTITIONS"]);
    let out = streamctl(&["-b", &b, "topic", "create", "ok", "-r", "4"], b"").await;
    fails_with(&out, &["INVALID_REPLICATION_FACTOR"]);
    let out = streamctl(
        &["-b", &b, "topic", "create", "ok", "-c", "retention.ms=soon"],
        b"",
    )
    .await;
    fails_with(&out, &["retention.ms"]);
    let out = streamctl(&["-b", &b, "topic", "create", "ok", "-c", "no.such=1"], b"").await;
    fails_with(&out, &["no.such"]);
    dc.shutdown().await;
}

/// `dev up` on free ports over `data_dir`.
async fn dev_up_on(data_dir: &Path) -> Output {
    let data_dir = data_dir.to_str().unwrap();
    let args = [
        "dev",
        "up",
        "--data-dir",
        data_dir,
        "--port",
        "0",
        "--admin-port",
        "0",
        "--no-schema-registry",
    ];
    streamctl(&args, b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_up_on_a_busy_port_or_a_corrupt_data_dir_says_why() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = streamctl(
        &[
            "dev",
            "up",
            "--in-memory",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--count",
            "1",
            "--admin-port",
            "0",
            "--no-schema-registry",
        ],
        b"",
    )
    .await;
    fails_with(&out, &["--port 0"]);

    let dir = std::env::temp_dir().join(format!("streamctl-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("topics.json"), b"{ not json").unwrap();
    let out = dev_up_on(&dir).await;
    fails_with(&out, &["topics.json"]);
    let _ = std::fs::remove_dir_all(&dir);

    // A data dir that is a file.
    let file =
        std::env::temp_dir().join(format!("streamctl-bad-input-file-{}", std::process::id()));
    std::fs::write(&file, b"").unwrap();
    let out = dev_up_on(&file).await;
    fails_with(&out, &[file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
}
