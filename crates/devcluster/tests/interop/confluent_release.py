"""confluent-kafka (librdkafka) against a dev cluster posing as an older Kafka release
(`--kafka-version`): the scenarios an application runs, at the versions that release had.
Creates a topic, produces keyed records idempotently with acks=all, runs a transaction that
commits and one that aborts, consumes in a group and commits, and checks the committed
offsets and that read_committed hides the aborted records.

usage: confluent_release.py BOOTSTRAP RELEASE
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, release = sys.argv[1], sys.argv[2]
PARTITIONS = 3
COUNT = 60
topic, txn_topic, group = "events", "txn", "release-group"

admin = AdminClient({"bootstrap.servers": bootstrap})
for t in (topic, txn_topic):
    admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3)])[t].result(timeout=15)

errors = []


def on_delivery(err, _msg):
    if err is not None:
        errors.append(err)


producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
for i in range(COUNT):
    producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), on_delivery=on_delivery)
assert producer.flush(20) == 0, "records left undelivered"
assert not errors, errors

txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": "release-app", "linger.ms": 5})
txn.init_transactions(30)
for label, commit in (("kept", True), ("dropped", False)):
    txn.begin_transaction()
    for i in range(10):
        txn.produce(txn_topic, value=f"{label}-{i}".encode(), partition=i % PARTITIONS)
    txn.flush(30)
    if commit:
        txn.commit_transaction(30)
    else:
        txn.abort_transaction(30)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
consumer.subscribe([topic])
got = set()
deadline = time.time() + 30
while len(got) < COUNT and time.time() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error():
        raise KafkaException(m.error())
    got.add(m.key())
assert len(got) == COUNT, f"consumed {len(got)} of {COUNT}"
consumer.commit(asynchronous=False)
committed = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=15)
ends = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1] for p in range(PARTITIONS)]
assert [tp.offset for tp in committed] == ends, (committed, ends)
consumer.close()

reader = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "release-reader",
    "isolation.level": "read_committed",
    "enable.auto.commit": False,
})
reader.assign([TopicPartition(txn_topic, p, 0) for p in range(PARTITIONS)])
seen = []
deadline = time.time() + 30
while len(seen) < 10 and time.time() < deadline:
    m = reader.poll(0.5)
    if m is not None and not m.error():
        seen.append(m.value().decode())
extra = reader.poll(1.0)
reader.close()
assert sorted(seen) == sorted(f"kept-{i}" for i in range(10)), seen
assert extra is None or extra.error(), f"aborted record visible: {extra.value()}"
print(f"ok: confluent-kafka {sys.modules['confluent_kafka'].libversion()[0]} against Kafka {release}: "
      f"{COUNT} idempotent records, a committed and an aborted transaction, group commit")
