//! Running the `streamctl` binary in tests: a dev cluster on free ports, commands with
//! stdin and a bounded wait, and a config file of the test process's own, so nothing reads or
//! writes the user's profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_streamctl");

/// A config file path private to this test process (tests that need their own pass one).
pub fn test_config() -> PathBuf {
    std::env::temp_dir()
        .join(format!("streamctl-cli-tests-{}", std::process::id()))
        .join("config.toml")
}

/// A command for the binary with a clean environment for streamctl's variables.
pub fn command(config: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("STREAMCTL_CONFIG", config)
        .env_remove("STREAMCTL_BROKERS")
        .env_remove("STREAMCTL_PROFILE")
        .env_remove("STREAMCTL_ADMIN_URL")
        .env_remove("NO_COLOR")
        .kill_on_drop(true);
    c
}

/// Starts `streamctl dev up --in-memory` on free ports; returns the child and its
/// BROKERS/ADMIN lines.
pub async fn dev_up() -> (Child, String, String) {
    dev_up_with(&test_config(), &["--in-memory"]).await
}

/// Starts `streamctl dev up --port 0 --admin-port 0` plus `extra` flags, with `config`;
/// returns the child and its BROKERS/ADMIN lines.
pub async fn dev_up_with(config: &Path, extra: &[&str]) -> (Child, String, String) {
    let (child, printed) = dev_up_printing(config, extra, Duration::from_secs(20)).await;
    let line = |key: &str| printed.get(key).cloned().unwrap_or_default();
    let (brokers, admin) = (line("BROKERS"), line("ADMIN"));
    assert!(!brokers.is_empty());
    (child, brokers, admin)
}

/// Starts `streamctl dev up --port 0 --admin-port 0` plus `extra` flags, with `config`;
/// returns the child and every `KEY=value` line it printed up to `ADMIN=` (each line must
/// be one), read within `wait`.
pub async fn dev_up_printing(
    config: &Path,
    extra: &[&str],
    wait: Duration,
) -> (Child, BTreeMap<String, String>) {
    let mut child = command(config)
        .args([
            "dev",
            "up",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--schema-registry-port",
            "0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = BTreeMap::new();
    tokio::time::timeout(wait, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {l}"));
            printed.insert(k.to_string(), v.to_string());
            if k == "ADMIN" {
                break;
            }
        }
    })
    .await
    .expect("dev up printed no ADMIN line");
    // Keep draining stdout so the child never blocks on a full pipe (a closed stdout would
    // make dev up's next write fail and end it).
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, printed)
}

/// Runs the binary with `args` and `stdin`, waiting at most a minute.
pub async fn streamctl(args: &[&str], stdin: &[u8]) -> Output {
    streamctl_with(&test_config(), args, stdin).await
}

/// As [`streamctl`], with a given config file.
pub async fn streamctl_with(config: &Path, args: &[&str], stdin: &[u8]) -> Output {
    output(command(config), args, stdin).await
}

/// Runs `cmd` (see [`command`]) with `args` and `stdin`, waiting at most a minute.
pub async fn output(mut cmd: Command, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command may exit before reading its input (a usage error): ignore a broken pipe.
    let _ = input.write_all(stdin).await;
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("streamctl did not finish within a minute")
        .unwrap()
}

/// The command's stdout, after asserting it succeeded.
pub fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The command's stderr, lossily.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command's stdout lines, sorted (records of several partitions come in any order).
pub fn sorted_lines(out: &Output) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Asserts the command succeeded.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}
