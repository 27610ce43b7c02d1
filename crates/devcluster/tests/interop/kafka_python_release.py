"""kafka-python against a dev cluster posing as an older Kafka release (`--kafka-version`):
creates a topic, produces keyed records with acks=all, runs a transaction that commits and
one that aborts, consumes in a group and commits, and checks the committed offsets and that
read_committed hides the aborted records. kafka-python infers the broker's release from the
ApiVersions answer, one probe version per release; the inferred release must never be newer
than the one posed (it can be older where the probe is an API the dev cluster does not serve,
such as DescribeAcls v3 for 3.3 or ListOffsets v10 for 4.0).

usage: kafka_python_release.py BOOTSTRAP RELEASE
Prints one line "ok: ..." and exits 0, or raises.
"""
import logging
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

# The client's own warnings (rebalances, coordinator errors) explain a failure.
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
bootstrap, release = sys.argv[1].split(","), sys.argv[2]
PARTITIONS = 3
COUNT = 60
topic, txn_topic, group = "events", "txn", "release-group"

admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3) for t in (topic, txn_topic)])
inferred = admin._client.check_version()
admin.close()
wanted = tuple(int(x) for x in release.split("."))
assert tuple(inferred[:2]) <= wanted, f"kafka-python takes the cluster for {inferred}, newer than {release}"

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()) for i in range(COUNT)]
producer.flush(20)
for f in futures:
    f.get(timeout=20)
producer.close()

txn = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="release-app")
txn.init_transactions()
for label, commit in (("kept", True), ("dropped", False)):
    txn.begin_transaction()
    for i in range(10):
        txn.send(txn_topic, value=f"{label}-{i}".encode(), partition=i % PARTITIONS)
    txn.flush()
    if commit:
        txn.commit_transaction()
    else:
        txn.abort_transaction()
txn.close()

consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
)
# The topic's metadata before joining. Otherwise, with the dev cluster's short initial
# rebalance delay, the first assignment can be made before the metadata arrives, and the
# rejoin that follows trips a kafka-python 3.0.12 bug: when a rejoin started by a metadata
# change outlives a poll's timeout, the next poll finds nothing to rejoin for and never
# applies the assignment that came back (the consumer stays assigned nothing).
assert consumer.partitions_for_topic(topic) == set(range(PARTITIONS))
consumer.subscribe([topic])
got = set()
deadline = time.time() + 30
while len(got) < COUNT and time.time() < deadline:
    for records in consumer.poll(timeout_ms=500).values():
        got.update(r.key for r in records)
assert len(got) == COUNT, f"consumed {len(got)} of {COUNT}, assigned {consumer.assignment()}"
consumer.commit()
partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
ends = consumer.end_offsets(partitions)
for tp in partitions:
    assert consumer.committed(tp) == ends[tp], (tp, consumer.committed(tp), ends[tp])
consumer.close()

reader = KafkaConsumer(
    bootstrap_servers=bootstrap,
    isolation_level="read_committed",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
)
reader.assign([TopicPartition(txn_topic, p) for p in range(PARTITIONS)])
seen = []
deadline = time.time() + 30
while len(seen) < 10 and time.time() < deadline:
    for records in reader.poll(timeout_ms=500).values():
        seen.extend(r.value.decode() for r in records)
extra = reader.poll(timeout_ms=1000)
reader.close()
assert sorted(seen) == sorted(f"kept-{i}" for i in range(10)), seen
assert not extra, f"aborted records visible: {extra}"
print(f"ok: kafka-python {kafka.__version__} against Kafka {release} (it infers {inferred}): "
      f"{COUNT} records, a committed and an aborted transaction, group commit")
