//! Third-party clients in consumer groups against the dev cluster: kcat members splitting a
//! topic, confluent-kafka consumers sharing one and finding their offsets after the
//! coordinator is killed, kafka-python resuming from a committed offset.

use super::*;

/// Lines a child process prints, collected as they come.
fn collect_lines(child: &mut tokio::process::Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(out).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Polls DescribeGroups until `cond` holds (a few ms apart), bounded by `TOOL_TIMEOUT`.
async fn wait_group(
    c: &DevCluster,
    group: &str,
    what: &str,
    cond: impl Fn(&describe_groups::DescribedGroup) -> bool,
) {
    let deadline = Instant::now() + TOOL_TIMEOUT;
    loop {
        let (_, addr) = coordinator(c, group).await;
        let d = describe(addr, group).await;
        if d.error_code == 0 && cond(&d) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} never got {what}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kcat_members_split_a_topic() {
    let Some(kcat) = kcat() else { return };
    let c = cluster(3).await;
    c.create_topic("split", 4, 3).unwrap();
    let b = c.bootstrap_servers();
    let spawn = || {
        let mut child = Command::new(kcat)
            .args([
                "-b",
                &b,
                "-G",
                "kcat-group",
                "split",
                "-f",
                "%p %o %s\\n",
                "-u",
                "-q",
            ])
            .args([
                "-X",
                "auto.offset.reset=earliest",
                "-X",
                "heartbeat.interval.ms=200",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = collect_lines(&mut child);
        (child, lines)
    };
    let (mut first, first_lines) = spawn();
    let (mut second, second_lines) = spawn();
    wait_group(
        &c,
        "kcat-group",
        "two members in a stable generation",
        |d| d.group_state == "Stable" && d.members.len() == 2,
    )
    .await;

    const PER_PARTITION: usize = 50;
    let mut produced = BTreeSet::new();
    for p in 0..4 {
        let values: Vec<String> = (0..PER_PARTITION).map(|i| format!("p{p}-{i}")).collect();
        let leader = support::leader(&c, "split", p).await;
        let (e, _) = support::produce(support::addr(&c, leader), "split", p, -1, &values)
            .await
            .unwrap();
        assert_eq!(e, ErrorCode::None);
        produced.extend(values);
    }
    let deadline = Instant::now() + TOOL_TIMEOUT;
    while first_lines.lock().unwrap().len() + second_lines.lock().unwrap().len() < produced.len() {
        assert!(
            Instant::now() < deadline,
            "kcat members consumed only {} + {} of {}",
            first_lines.lock().unwrap().len(),
            second_lines.lock().unwrap().len(),
            produced.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().await.unwrap();
    second.kill().await.unwrap();
    let parse = |lines: &Arc<Mutex<Vec<String>>>| {
        let mut partitions = BTreeSet::new();
        let mut values = Vec::new();
        for l in lines.lock().unwrap().iter() {
            let mut it = l.splitn(3, ' ');
            partitions.insert(it.next().unwrap().parse::<i32>().unwrap());
            it.next();
            values.push(it.next().unwrap().to_string());
        }
        (partitions, values)
    };
    let (p1, v1) = parse(&first_lines);
    let (p2, v2) = parse(&second_lines);
    println!("kcat members: {p1:?} and {p2:?}");
    assert!(
        !p1.is_empty() && !p2.is_empty(),
        "both members got partitions: {p1:?} {p2:?}"
    );
    assert!(p1.is_disjoint(&p2), "{p1:?} {p2:?}");
    let mut all: Vec<String> = v1.into_iter().chain(v2).collect();
    all.sort();
    let expected: Vec<String> = produced.into_iter().collect();
    assert_eq!(all, expected, "each record consumed once");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_confluent_kafka_consumers_share_a_topic_exactly_once_and_commit() {
    let c = cluster(3).await;
    c.create_topic("shared", 6, 3).unwrap();
    run_python(
        "confluent_kafka",
        "confluent_group.py",
        &[&c.bootstrap_servers(), "shared", "confluent-group"],
    )
    .await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_python_consumer_resumes_from_the_committed_offset() {
    let c = cluster(3).await;
    c.create_topic("resume", 1, 3).unwrap();
    let Some(out) = run_python(
        "kafka",
        "kafka_python_resume.py",
        &[&c.bootstrap_servers(), "resume", "resume-group"],
    )
    .await
    else {
        c.shutdown().await;
        return;
    };
    // The Rust side sees the same committed offset.
    let (_, addr) = coordinator(&c, "resume-group").await;
    let offsets: BTreeMap<i32, i64> = fetch_all(addr, "resume-group")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, p, o, _)| (p, o))
        .collect();
    assert!(out.contains("committed 5"), "{out}");
    assert_eq!(
        offsets.get(&0),
        Some(&10),
        "the second consumer committed its end"
    );
    c.shutdown().await;
}

/// Runs a Python client's script that prints `trigger` when the group's coordinator should
/// die: kills it, waits for a new leader of the group's `__consumer_offsets` partition, and
/// tells the script (a line on its stdin). Returns the script's summary and the killed node.
async fn script_killing_the_coordinator(
    c: &DevCluster,
    py: std::path::PathBuf,
    script: &str,
    args: &[&str],
    group: &str,
    trigger: &str,
) -> (String, i32) {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(py)
        .arg(interop_script(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    let mut killed = None;
    let finished = tokio::time::timeout(TOOL_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line == trigger {
                let (node, _) = coordinator(c, group).await;
                c.kill_broker(node).await.unwrap();
                let p = partition_for(group, 10);
                wait_partition(c, OFFSETS_TOPIC, p, "a new leader", |l, _| {
                    l >= 0 && l != node
                })
                .await;
                killed = Some(node);
                stdin.write_all(b"killed\n").await.unwrap();
                stdin.flush().await.unwrap();
            }
            out.push(line);
        }
        child.wait_with_output().await.unwrap()
    })
    .await
    .expect("the script did not finish in time");
    let summary = script_summary(&finished, &out);
    (summary.to_string(), killed.expect("never killed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_finds_its_committed_offsets_after_the_coordinator_is_killed() {
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let c = cluster(3).await;
    c.create_topic("failover-offsets", 4, 3).unwrap();
    let bootstrap = c.bootstrap_servers();
    let args = [bootstrap.as_str(), "failover-offsets", "failover-group"];
    let (summary, node) = script_killing_the_coordinator(
        &c,
        py,
        "confluent_offsets_failover.py",
        &args,
        "failover-group",
        "committed",
    )
    .await;
    println!("{summary} (coordinator {node} killed)");
    c.shutdown().await;
}

/// KIP-848 with librdkafka through a coordinator failover: the new coordinator loads the
/// group from `__consumer_offsets` and the members go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_consumer_protocol_survives_a_coordinator_failover() {
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let c = cluster(3).await;
    c.create_topic("kip848-failover", 6, 3).unwrap();
    let bootstrap = c.bootstrap_servers();
    let args = [
        bootstrap.as_str(),
        "kip848-failover",
        "kip848-failover-group",
        "failover",
    ];
    let (summary, node) = script_killing_the_coordinator(
        &c,
        py,
        "confluent_kip848.py",
        &args,
        "kip848-failover-group",
        "kill",
    )
    .await;
    println!("{summary} (coordinator {node} killed)");
    c.shutdown().await;
}

/// KIP-848 end to end with librdkafka: members join, one joins and one leaves mid-stream;
/// at least once, committed offsets never go back, and the admin API sees a consumer group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_consumers_with_the_consumer_protocol() {
    let c = cluster(3).await;
    c.create_topic("kip848", 6, 3).unwrap();
    run_python(
        "confluent_kafka",
        "confluent_kip848.py",
        &[&c.bootstrap_servers(), "kip848", "kip848-group"],
    )
    .await;
    c.shutdown().await;
}

/// Kafka 4's online migration with librdkafka: a live classic group is replaced member by
/// member with consumer-protocol members; nothing is lost, committed offsets never go back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_group_upgraded_online_to_the_consumer_protocol() {
    let c = cluster(3).await;
    c.create_topic("upgrade-online", 6, 3).unwrap();
    run_python(
        "confluent_kafka",
        "confluent_upgrade.py",
        &[
            &c.bootstrap_servers(),
            "upgrade-online",
            "upgrade-online-group",
        ],
    )
    .await;
    c.shutdown().await;
}
