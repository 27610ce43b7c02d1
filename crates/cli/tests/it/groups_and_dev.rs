//! `streamctl group …`, `streamctl dev status|stop|kill|start|down`, `dev up -d`, profiles,
//! `--format yaml` and `completion`, run as a user would against `streamctl dev up`.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn group_commands_list_describe_lag_reset_and_delete() {
    let (mut dev, brokers, _) = dev_up().await;
    let b = brokers.as_str();
    ok(&streamctl(
        &["-b", b, "topic", "create", "g", "-p", "2", "-r", "2"],
        b"",
    )
    .await);
    ok(&streamctl(&["-b", b, "produce", "g", "-p", "0"], b"a\nb\nc\n").await);
    ok(&streamctl(&["-b", b, "produce", "g", "-p", "1"], b"d\n").await);
    // A group that reads everything and commits it, then leaves.
    let out = streamctl(&["-b", b, "consume", "g", "-G", "readers", "-e"], b"").await;
    assert_eq!(stdout_of(&out).lines().count(), 4);
    ok(&streamctl(&["-b", b, "produce", "g", "-p", "0"], b"e\nf\n").await);

    let list = stdout_of(&streamctl(&["-b", b, "group", "list"], b"").await);
    assert!(list.starts_with("GROUP"), "{list}");
    let row = list.lines().find(|l| l.starts_with("readers")).unwrap();
    assert!(row.contains("Empty") && row.contains("consumer"), "{row}");

    let describe = stdout_of(&streamctl(&["-b", b, "group", "describe", "readers"], b"").await);
    assert!(describe.contains("state:     Empty"), "{describe}");
    assert!(describe.contains("members:   0"), "{describe}");

    // A group of the consumer protocol (KIP-848) beside it: listed by type, described with
    // its epochs.
    let out = streamctl(
        &[
            "-b",
            b,
            "consume",
            "g",
            "-G",
            "kip-readers",
            "-X",
            "group.protocol=consumer",
            "-e",
        ],
        b"",
    )
    .await;
    assert_eq!(stdout_of(&out).lines().count(), 6, "{}", stderr_of(&out));
    let consumers =
        stdout_of(&streamctl(&["-b", b, "group", "list", "--type", "consumer"], b"").await);
    let row = consumers
        .lines()
        .find(|l| l.starts_with("kip-readers"))
        .unwrap();
    assert!(row.contains("Empty") && row.contains("consumer"), "{row}");
    assert!(
        !consumers.lines().any(|l| l.starts_with("readers ")),
        "{consumers}"
    );
    let classic =
        stdout_of(&streamctl(&["-b", b, "group", "list", "--type", "classic"], b"").await);
    assert!(
        classic.lines().any(|l| l.starts_with("readers ")),
        "{classic}"
    );
    assert!(!classic.contains("kip-readers"), "{classic}");
    let describe = stdout_of(&streamctl(&["-b", b, "group", "describe", "kip-readers"], b"").await);
    assert!(describe.contains("type:      consumer"), "{describe}");
    assert!(describe.contains("epochs:    group "), "{describe}");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &[
                "-b",
                b,
                "--format",
                "json",
                "group",
                "describe",
                "kip-readers",
            ],
            b"",
        )
        .await,
    ))
    .unwrap();
    assert_eq!(json["type"], "consumer", "{json}");
    assert!(json["group_epoch"].as_i64().unwrap() >= 2, "{json}");

    let lag: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &["-b", b, "--format", "json", "group", "lag", "readers"],
            b"",
        )
        .await,
    ))
    .unwrap();
    assert_eq!(lag["total_lag"], 2, "{lag}");
    assert_eq!(lag["partitions"][0]["committed"], 3);
    assert_eq!(lag["partitions"][0]["end_offset"], 5);
    assert_eq!(lag["partitions"][1]["lag"], 0);
    let text = stdout_of(&streamctl(&["-b", b, "group", "lag", "readers"], b"").await);
    assert!(text.contains("total lag: 2"), "{text}");

    // A dry run prints the plan and changes nothing.
    let out = streamctl(
        &[
            "-b",
            b,
            "group",
            "reset-offsets",
            "readers",
            "--to-earliest",
        ],
        b"",
    )
    .await;
    let plan = stdout_of(&out);
    assert!(plan.contains("CURRENT") && plan.contains("NEW"), "{plan}");
    assert!(stderr_of(&out).contains("dry run"), "{}", stderr_of(&out));
    let lag: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &["-b", b, "--format", "json", "group", "lag", "readers"],
            b"",
        )
        .await,
    ))
    .unwrap();
    assert_eq!(lag["total_lag"], 2);
    // --execute commits it; the group then re-reads from where it was moved.
    let out = streamctl(
        &[
            "-b",
            b,
            "--format",
            "json",
            "group",
            "reset-offsets",
            "readers",
            "--topic",
            "g",
            "--shift-by",
            "-2",
            "--execute",
        ],
        b"",
    )
    .await;
    let plan: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(plan["executed"], true);
    assert_eq!(plan["partitions"][0]["new"], 1);
    assert_eq!(plan["partitions"][1]["new"], 0);
    let again = streamctl(
        &[
            "-b", b, "consume", "g", "-G", "readers", "-e", "-f", "%s\\n",
        ],
        b"",
    )
    .await;
    let mut values: Vec<String> = stdout_of(&again).lines().map(str::to_string).collect();
    values.sort();
    assert_eq!(values, ["b", "c", "d", "e", "f"]);
    let out = streamctl(
        &[
            "-b",
            b,
            "group",
            "reset-offsets",
            "readers",
            "--to-datetime",
            "not-a-time",
        ],
        b"",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("--to-datetime not-a-time"),
        "{}",
        stderr_of(&out)
    );
    let out = streamctl(&["-b", b, "group", "reset-offsets", "readers"], b"").await;
    assert_eq!(out.status.code(), Some(2), "a destination is required");

    // Deleting needs --yes without a terminal; then the group is gone.
    let out = streamctl(&["-b", b, "group", "delete", "readers"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--yes"), "{}", stderr_of(&out));
    ok(&streamctl(&["-b", b, "group", "delete", "readers", "--yes"], b"").await);
    let out = streamctl(&["-b", b, "group", "describe", "readers"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("does not exist"),
        "{}",
        stderr_of(&out)
    );
    let out = streamctl(&["-b", b, "group", "delete", "readers", "--yes"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("group list"),
        "{}",
        stderr_of(&out)
    );
    dev.kill().await.unwrap();
}

#[tokio::test]
async fn dev_status_stop_kill_start_and_down_through_the_admin_plane() {
    let (mut dev, brokers, admin) = dev_up().await;
    let a = admin.as_str();
    let status = stdout_of(&streamctl(&["dev", "status", "--admin-url", a], b"").await);
    assert!(status.contains("BROKER"), "{status}");
    assert_eq!(
        status.lines().filter(|l| l.contains(" up ")).count(),
        3,
        "{status}"
    );

    let out = streamctl(&["dev", "kill", "2", "--admin-url", a], b"").await;
    ok(&out);
    assert!(
        stderr_of(&out).contains("broker 2 killed"),
        "{}",
        stderr_of(&out)
    );
    ok(&streamctl(&["dev", "stop", "3", "--admin-url", a], b"").await);
    let state: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl(
            &["--format", "json", "dev", "status", "--admin-url", a],
            b"",
        )
        .await,
    ))
    .unwrap();
    let running: Vec<bool> = state["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["running"].as_bool().unwrap())
        .collect();
    assert_eq!(running, [true, false, false]);
    ok(&streamctl(&["dev", "start", "2", "--admin-url", a], b"").await);
    ok(&streamctl(&["dev", "start", "3", "--admin-url", a], b"").await);
    // The cluster still serves clients.
    ok(&streamctl(
        &["-b", &brokers, "topic", "create", "after", "-r", "3"],
        b"",
    )
    .await);

    let out = streamctl(&["dev", "kill", "9", "--admin-url", a], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no broker with id 9"),
        "{}",
        stderr_of(&out)
    );

    ok(&streamctl(&["dev", "down", "--admin-url", a], b"").await);
    let exit = tokio::time::timeout(Duration::from_secs(30), dev.wait())
        .await
        .expect("dev up did not exit after dev down")
        .unwrap();
    assert!(exit.success(), "{exit:?}");

    // Nothing answers any more: a clear message and exit 1.
    let out = streamctl(&["dev", "status", "--admin-url", a], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no dev cluster answers"),
        "{}",
        stderr_of(&out)
    );
}

#[tokio::test]
async fn dev_up_detached_writes_a_dev_profile_that_later_commands_use() {
    let dir = std::env::temp_dir().join(format!("streamctl-detach-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dir.join("config.toml");
    let data = dir.join("data");
    let out = streamctl_with(
        &config,
        &[
            "dev",
            "up",
            "-d",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--schema-registry-port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        b"",
    )
    .await;
    let printed = stdout_of(&out);
    assert!(
        printed.contains("BROKERS=") && printed.contains("ADMIN="),
        "{printed}"
    );
    let admin = printed
        .lines()
        .find_map(|l| l.strip_prefix("ADMIN="))
        .unwrap()
        .to_string();
    // If an assertion fails, the background cluster must not outlive the test.
    let _guard = DownOnDrop(admin);
    assert!(
        stderr_of(&out).contains("background"),
        "{}",
        stderr_of(&out)
    );

    // The dev profile is current: no -b, no --admin-url.
    let profiles = stdout_of(&streamctl_with(&config, &["profile", "list"], b"").await);
    assert!(
        profiles
            .lines()
            .any(|l| l.starts_with('*') && l.contains("dev")),
        "{profiles}"
    );
    ok(&streamctl_with(&config, &["topic", "create", "kept", "-p", "1"], b"").await);
    ok(&streamctl_with(&config, &["produce", "kept"], b"one\ntwo\n").await);
    let status = stdout_of(&streamctl_with(&config, &["dev", "status"], b"").await);
    // `kept`, and the schema registry's `_schemas`.
    assert!(status.contains("topics:      2"), "{status}");
    ok(&streamctl_with(&config, &["dev", "down"], b"").await);

    // Restarted on the same data dir (in the foreground this time), the records are back.
    let (mut dev, _, _) = dev_up_with(&config, &["--data-dir", data.to_str().unwrap()]).await;
    let mut read = String::new();
    for _ in 0..100 {
        let out = streamctl_with(&config, &["consume", "kept", "-e"], b"").await;
        if out.status.success() {
            read = stdout_of(&out);
            if read.lines().count() == 2 {
                break;
            }
        }
        // The restarted cluster may still be electing leaders.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(read, "one\ntwo\n");
    dev.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Shuts a background dev cluster down through its admin plane when dropped.
struct DownOnDrop(String);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new(BIN)
            .args(["dev", "down", "--admin-url", &self.0])
            .env("STREAMCTL_CONFIG", test_config())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn profiles_are_created_used_listed_and_deleted() {
    let dir = std::env::temp_dir().join(format!("streamctl-profiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dir.join("config.toml");
    let (mut dev, brokers, _) = dev_up_with(&config, &["--in-memory", "--no-profile"]).await;
    assert!(!config.exists(), "--no-profile wrote {}", config.display());

    let out = streamctl_with(&config, &["profile", "create", "local"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("-b"), "{}", stderr_of(&out));
    ok(&streamctl_with(
        &config,
        &[
            "profile",
            "create",
            "local",
            "-b",
            &brokers,
            "-X",
            "client.id=from-profile",
        ],
        b"",
    )
    .await);
    ok(&streamctl_with(
        &config,
        &["profile", "create", "broken", "-b", "127.0.0.1:1"],
        b"",
    )
    .await);
    // The first profile became current; `cluster info` needs no -b.
    let info = stdout_of(&streamctl_with(&config, &["cluster", "info"], b"").await);
    assert!(info.contains("NODE"), "{info}");
    ok(&streamctl_with(&config, &["profile", "use", "broken"], b"").await);
    let out = streamctl_with(&config, &["cluster", "info"], b"").await;
    assert_eq!(out.status.code(), Some(1), "the broken profile is in use");
    // --profile and -b override the current profile.
    ok(&streamctl_with(&config, &["--profile", "local", "cluster", "info"], b"").await);
    ok(&streamctl_with(&config, &["-b", &brokers, "cluster", "info"], b"").await);
    let out = streamctl_with(&config, &["--profile", "nope", "cluster", "info"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no profile 'nope'"),
        "{}",
        stderr_of(&out)
    );

    let listed: serde_json::Value = serde_json::from_str(&stdout_of(
        &streamctl_with(&config, &["--format", "json", "profile", "list"], b"").await,
    ))
    .unwrap();
    assert_eq!(listed["current"], "broken");
    assert_eq!(listed["profiles"][1]["name"], "local");
    assert_eq!(listed["profiles"][1]["properties"][0], "client.id");
    ok(&streamctl_with(&config, &["profile", "delete", "broken"], b"").await);
    let out = streamctl_with(&config, &["profile", "use", "broken"], b"").await;
    assert_eq!(out.status.code(), Some(1));

    // A config file that is not valid TOML names itself.
    std::fs::write(&config, "current = [").unwrap();
    let out = streamctl_with(&config, &["cluster", "info"], b"").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("config.toml"),
        "{}",
        stderr_of(&out)
    );
    dev.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn yaml_output_and_shell_completions() {
    let (mut dev, brokers, _) = dev_up().await;
    ok(&streamctl(
        &["-b", &brokers, "topic", "create", "ytopic", "-p", "2"],
        b"",
    )
    .await);
    let yaml = stdout_of(
        &streamctl(
            &[
                "-b", &brokers, "--format", "yaml", "topic", "describe", "ytopic",
            ],
            b"",
        )
        .await,
    );
    assert!(yaml.contains("name: ytopic\n"), "{yaml}");
    assert!(yaml.contains("partitions:\n  - "), "{yaml}");
    let info = stdout_of(
        &streamctl(
            &["-b", &brokers, "--format", "yaml", "cluster", "info"],
            b"",
        )
        .await,
    );
    assert!(info.contains("brokers:\n"), "{info}");
    dev.kill().await.unwrap();

    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&streamctl(&["completion", shell], b"").await);
        assert!(script.contains("streamctl"), "{shell}");
        assert!(script.contains("reset-offsets"), "{shell}");
    }
    let out = streamctl(&["completion", "tcsh"], b"").await;
    assert_eq!(out.status.code(), Some(2));
}
