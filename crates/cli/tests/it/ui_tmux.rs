//! `streamctl ui` in a real terminal: tmux runs the binary against an in-process 3-broker
//! devcluster; the test sends keys, reads the pane back (`capture-pane`), kills a broker with
//! the UI's own devcluster panel (through the HTTP admin plane) and watches the failover
//! (broker DOWN, ISR shrunk, under-replicated partitions), then starts it again and watches
//! the ISR recover. Every wait polls the pane with a deadline; no sleeps decide anything.
//!
//! Needs tmux (scripts/install-test-deps installs it): a failure under `CI=true`, a loud skip
//! elsewhere. Run with `--nocapture` to see the captured panes.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use streamctl_testkit::{cluster, cluster_with};

use crate::support::{command, ok, streamctl, test_config, BIN};

/// How long any one expected screen may take to appear.
const DEADLINE: Duration = Duration::from_secs(30);

/// A tmux server of its own (`-L`), killed when the test ends however it ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Tmux {
        // A server per test: tests of this file run in parallel.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "streamctl-ui-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { socket };
        let status = tmux
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "ui",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                command,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = self.cmd(&["send-keys", "-t", "ui", k]).status().unwrap();
            assert!(status.success(), "send-keys {k}");
        }
    }

    fn capture(&self) -> String {
        let out = self
            .cmd(&["capture-pane", "-p", "-t", "ui"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "ui"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Polls the pane until `check` holds on a settled frame; panics with the last pane after
    /// [`DEADLINE`].
    async fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let pane = self.capture();
            if check(&pane) {
                // A capture can catch a frame half written; the same text twice is a whole one.
                tokio::time::sleep(Duration::from_millis(100)).await;
                if self.capture() == pane {
                    println!("---- pane: {what} ----\n{}", pane.trim_end());
                    return pane;
                }
                continue;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the pane shows:\n{pane}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    streamctl_testkit::require(ok, "tmux")
}

/// The line of the pane that contains `needle`, or "".
fn line<'a>(pane: &'a str, needle: &str) -> &'a str {
    pane.lines().find(|l| l.contains(needle)).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_shows_a_broker_kill_and_recovery_in_tmux() {
    if !tmux_available() {
        return;
    }
    let cluster = cluster_with(3, |b| b.admin_http(true)).await;
    let bootstrap = cluster.bootstrap_servers();
    let admin = cluster.admin_url().unwrap();
    ok(&streamctl(
        &[
            "-b", &bootstrap, "topic", "create", "orders", "-p", "3", "-r", "3",
        ],
        b"",
    )
    .await);
    let lines: String = (0..300).map(|i| format!("k{i}:order-{i}\n")).collect();
    ok(&streamctl(
        &["-b", &bootstrap, "produce", "orders", "-K:"],
        lines.as_bytes(),
    )
    .await);
    // A group that read everything and committed it, then 50 more records: 50 behind.
    ok(&streamctl(
        &["-b", &bootstrap, "consume", "orders", "-G", "billing", "-e"],
        b"",
    )
    .await);
    let more: String = (300..350).map(|i| format!("k{i}:order-{i}\n")).collect();
    ok(&streamctl(
        &["-b", &bootstrap, "produce", "orders", "-K:"],
        more.as_bytes(),
    )
    .await);

    // tmux runs the command through its own server: the clean environment goes in the line.
    let ui = format!(
        "env -u STREAMCTL_BROKERS -u STREAMCTL_PROFILE -u STREAMCTL_ADMIN_URL STREAMCTL_CONFIG={} \
         {BIN} -b {bootstrap} ui --admin-url {admin} --refresh 500ms",
        test_config().display()
    );
    let tmux = Tmux::start(&ui, 132, 36);

    // Overview: three brokers up, the topic and the group's lag.
    tmux.wait_for("overview", |p| {
        line(p, "brokers     ").contains("3 up, 0 down")
            && line(p, "topics     ").contains("1 (+1 internal)")
            && line(p, "total lag").contains("50")
    })
    .await;

    // Topics: the row with its partition count, replication factor and records.
    tmux.keys(&["3"]);
    tmux.wait_for("topics", |p| {
        let cols: Vec<&str> = line(p, "│orders").split_whitespace().collect();
        cols.len() > 7 && cols[1] == "3" && cols[2] == "3" && cols[4] == "350" && cols[7] == "50"
    })
    .await;

    // Help is built from the keymap of this screen.
    tmux.keys(&["?"]);
    tmux.wait_for("help", |p| {
        p.contains("keys on the topics screen") && p.contains("sort")
    })
    .await;
    // Each Esc is followed by a wait: an Esc and the next key sent at once read as Alt+key.
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", |p| !p.contains("keys on the"))
        .await;

    // The live tail, newest first.
    tmux.keys(&["m"]);
    tmux.wait_for("messages", |p| {
        p.contains("orders partition all last 50 per partition")
            && p.contains("order-")
            && !p.contains("(0 records)")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("back on topics", |p| p.contains("topics (1 of 1)"))
        .await;

    // Kill broker 2 from the devcluster panel of the brokers screen.
    tmux.keys(&["2"]);
    tmux.wait_for("brokers", |p| p.contains("devcluster: broker 1"))
        .await;
    tmux.keys(&["g", "j", "K"]);
    tmux.wait_for("broker 2 killed", |p| {
        line(p, "│2 ").contains("DOWN")
            && p.contains("brokers (2/3 up")
            && p.contains("devcluster: broker 2")
    })
    .await;

    // The topic: every partition lost a replica from its ISR, leaders moved off broker 2.
    tmux.keys(&[":", "topic orders", "Enter"]);
    tmux.wait_for("failover", |p| {
        p.contains("3 under-replicated")
            && (0..3).all(|i| {
                let cols: Vec<&str> = line(p, &format!("│{i}   ")).split_whitespace().collect();
                cols.len() > 3 && cols[1] != "2" && !cols[3].contains('2')
            })
    })
    .await;

    // Start it again: the ISR recovers.
    tmux.keys(&["2", "g", "j", "U"]);
    tmux.wait_for("broker 2 back", |p| {
        line(p, "│2 ").contains("up") && p.contains("(3/3 up")
    })
    .await;
    tmux.keys(&[":", "topic orders", "Enter"]);
    tmux.wait_for("ISR recovered", |p| p.contains("0 under-replicated"))
        .await;

    // q quits and the session (whose only command is the UI) ends.
    tmux.keys(&["q"]);
    let deadline = Instant::now() + DEADLINE;
    while tmux.alive() {
        assert!(Instant::now() < deadline, "the UI did not exit on q");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(tmux);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_plane_of_another_cluster_gets_no_broker_controls() {
    if !tmux_available() {
        return;
    }
    let shown = cluster(1).await;
    let other = cluster_with(1, |b| b.admin_http(true)).await;
    let ui = format!(
        "env -u STREAMCTL_BROKERS -u STREAMCTL_PROFILE -u STREAMCTL_ADMIN_URL STREAMCTL_CONFIG={} \
         {BIN} -b {} ui --admin-url {}",
        test_config().display(),
        shown.bootstrap_servers(),
        other.admin_url().unwrap()
    );
    let tmux = Tmux::start(&ui, 132, 20);
    tmux.wait_for("refusal", |p| {
        p.contains("belongs to cluster") && p.contains("broker controls off")
    })
    .await;
    tmux.keys(&["2"]);
    tmux.wait_for("no controls", |p| {
        p.contains("brokers (1/1 up") && !p.contains("kill broker") && !p.contains("devcluster")
    })
    .await;
    drop(tmux);
    shown.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn ui_without_a_cluster_says_so_before_touching_the_terminal() {
    let out = command(&test_config())
        .args(["-b", "127.0.0.1:1", "ui"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to 127.0.0.1:1"), "{stderr}");
    // Nothing was drawn: no alternate-screen escape reached stdout.
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);

    let out = command(&test_config())
        .args(["ui", "--refresh", "10ms"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 100ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_starts_against_librdkafka_mock_cluster() {
    // A broker we did not write, without ListGroups, DescribeGroups, DescribeConfigs or
    // ListTransactions: every screen still opens, and the UI keeps running.
    if !tmux_available() {
        return;
    }
    let Some(python) = streamctl_testkit::python("confluent_kafka") else {
        return;
    };
    let mock = crate::foreign::mock_cluster(&python).await;
    ok(&streamctl(&["-b", &mock.brokers, "produce", "shown"], b"a\nb\n").await);
    let ui = format!(
        "env -u STREAMCTL_BROKERS -u STREAMCTL_PROFILE -u STREAMCTL_ADMIN_URL STREAMCTL_CONFIG={} \
         {BIN} -b {} ui",
        test_config().display(),
        mock.brokers
    );
    let tmux = Tmux::start(&ui, 160, 30);
    tmux.wait_for("overview", |p| {
        p.contains("brokers 3/3 up") && p.contains("mockCluster")
    })
    .await;
    tmux.keys(&["3"]);
    tmux.wait_for("topics", |p| p.contains("shown")).await;
    for screen in ["4", "5", "2"] {
        tmux.keys(&[screen]);
    }
    tmux.wait_for("brokers", |p| p.contains("brokers (3/3 up"))
        .await;
    assert!(tmux.alive(), "the UI exited");
}
