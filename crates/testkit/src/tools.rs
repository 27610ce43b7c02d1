//! The third-party Kafka tools the interop tests drive (kcat, and Python with confluent-kafka
//! or kafka-python): finding them, and running them bounded in time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// How long one run of a third-party tool may take.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// The repository root (this crate lives in `crates/testkit`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reports a missing tool: a panic under `CI=true`, a loud skip elsewhere. Returns whether
/// the tool is there.
pub fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    let msg = format!("{what} is not installed: run scripts/install-test-deps");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    false
}

/// `kcat`, if installed (see [`require`]).
pub fn kcat() -> Option<&'static str> {
    let ok = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    require(ok, "kcat").then_some("kcat")
}

/// A Python that can import `module`: the repo's test venv, else `python3` (see [`require`]).
pub fn python(module: &str) -> Option<PathBuf> {
    let venv = workspace_root().join(".venv-test/bin/python");
    let found = [venv, PathBuf::from("python3")].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let present = found.is_some();
    require(present, &format!("python module {module}"))
        .then_some(found)
        .flatten()
}

/// Every record of `topic` from the beginning to the end, as kcat consumes it (`kcat -C -e -q`),
/// one line per record in kcat's `-f` `format` (`"%k=%s\n"`: key and value); call [`kcat`]
/// first to know it is there.
pub async fn kcat_consume(brokers: &str, topic: &str, format: &str) -> String {
    let mut cmd = tokio::process::Command::new("kcat");
    cmd.args([
        "-b",
        brokers,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-q",
    ])
    .args(["-f", format]);
    run(&mut cmd, None).await
}

/// Runs a command with optional stdin, bounded by [`TOOL_TIMEOUT`]; returns its stdout,
/// panicking with the command's stderr if it fails or prints anything but UTF-8.
pub async fn run(cmd: &mut tokio::process::Command, stdin: Option<&[u8]>) -> String {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        if let Some(data) = stdin {
            input
                .write_all(data)
                .await
                .unwrap_or_else(|e| panic!("{cmd:?} did not take its input: {e}"));
        }
    }
    let out = tokio::time::timeout(TOOL_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} timed out"))
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout)
        .unwrap_or_else(|e| panic!("{cmd:?} printed something not UTF-8: {e}"))
}
