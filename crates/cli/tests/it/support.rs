//! Running the `streamctl` binary in tests: a dev cluster on free ports, commands with
//! stdin and a bounded wait, and a config file of the test process's own, so nothing reads or
//! writes the user's profiles.

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

/// Starts `streamctl dev up --port 0 --admin-port 0` plus `extra` flags, with `config`.
pub async fn dev_up_with(config: &Path, extra: &[&str]) -> (Child, String, String) {
    let mut child = command(config)
        .args(["dev", "up", "--port", "0", "--admin-port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, brokers, admin)
}

/// Runs the binary with `args` and `stdin`, waiting at most a minute.
pub async fn streamctl(args: &[&str], stdin: &[u8]) -> Output {
    streamctl_with(&test_config(), args, stdin).await
}

/// As [`streamctl`], with a given config file.
pub async fn streamctl_with(config: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = command(config)
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

/// Asserts the command succeeded.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether kcat is installed (tests that need it return early, saying so, when not).
pub fn kcat_available() -> bool {
    streamctl_testkit::kcat().is_some()
}
