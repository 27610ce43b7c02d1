//! The `streamctl` binary, run as a user would: `dev up` in the background, `produce` into
//! it, kcat reading back; usage errors and unreachable brokers give clear messages and the
//! right exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_streamctl");

/// Starts `streamctl dev up` on free ports; returns the child and its BROKERS/ADMIN lines.
async fn dev_up() -> (Child, String, String) {
    let mut child = Command::new(BIN)
        .args([
            "dev",
            "up",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--in-memory",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut brokers, mut admin) = (String::new(), String::new());
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(b) = l.strip_prefix("BROKERS=") {
                brokers = b.to_string();
            }
            if let Some(a) = l.strip_prefix("ADMIN=") {
                admin = a.to_string();
                break;
            }
        }
    })
    .await
    .expect("dev up printed no BROKERS/ADMIN lines");
    assert!(!brokers.is_empty());
    (child, brokers, admin)
}

async fn streamctl(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

fn kcat_available() -> bool {
    let ok = std::process::Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "kcat is not installed: run scripts/install-test-deps"
        );
        eprintln!("\n!!!!!!!! SKIPPED: kcat is not installed !!!!!!!!\n");
    }
    ok
}

#[tokio::test]
async fn dev_up_then_produce_keyed_lines_read_back_by_kcat() {
    if !kcat_available() {
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
    let read = std::process::Command::new("kcat")
        .args([
            "-b",
            &brokers,
            "-C",
            "-t",
            "cli",
            "-e",
            "-q",
            "-f",
            "%k=%s %h\n",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(read.stdout).unwrap();
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
