"""confluent-kafka (librdkafka) consume-transform-produce against the dev cluster, with the
consumer's offsets committed inside the producer's transaction (send_offsets_to_transaction):
a committed round moves the group's offsets with the output, an aborted round moves neither,
and a new consumer of the group resumes right after the last committed round.

usage: confluent_txn_offsets.py BOOTSTRAP PREFIX
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix = sys.argv[1], sys.argv[2]
source, sink, group = f"{prefix}-in", f"{prefix}-out", f"{prefix}-group"
PARTITIONS = 3
INPUT = 60

admin = AdminClient({"bootstrap.servers": bootstrap})
for _, f in admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=3) for t in (source, sink)]).items():
    f.result(timeout=15)
plain = Producer({"bootstrap.servers": bootstrap})
for i in range(INPUT):
    plain.produce(source, value=f"in-{i}".encode(), partition=i % PARTITIONS)
plain.flush(30)


def consumer():
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    c.subscribe([source])
    return c


def take(c, n):
    """Polls until n records arrived (bounded)."""
    got, deadline = [], time.time() + 30
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(m.error())
        got.append(m)
    assert len(got) == n, f"only {len(got)} of {n} records arrived"
    return got


def committed(c):
    parts = [TopicPartition(source, i) for i in range(PARTITIONS)]
    return {tp.partition: tp.offset for tp in c.committed(parts, timeout=15)}


producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{prefix}-txn", "linger.ms": 5})
producer.init_transactions(30)
c = consumer()


def round_trip(n, commit):
    records = take(c, n)
    producer.begin_transaction()
    for m in records:
        producer.produce(sink, value=m.value().replace(b"in-", b"out-"), partition=m.partition())
    producer.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.abort_transaction(30)
    return records


first = round_trip(30, True)
after_first = committed(c)
assert sum(max(o, 0) for o in after_first.values()) == 30, after_first
round_trip(15, False)
assert committed(c) == after_first, f"an aborted transaction moved the offsets: {committed(c)} vs {after_first}"
c.close()

# A new member of the group resumes after the committed round: the aborted round's input
# comes again.
c = consumer()
rest = take(c, INPUT - 30)
assert sorted(m.value() for m in rest) == sorted(f"in-{i}".encode() for i in range(INPUT)
                                                  if f"in-{i}".encode() not in {m.value() for m in first}), "resume point"
c.close()

reader = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"{prefix}-reader",
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",
})
reader.assign([TopicPartition(sink, i, 0) for i in range(PARTITIONS)])
out = [m.value() for m in take(reader, 30)]
extra = reader.poll(1.0)
assert extra is None or extra.error(), f"aborted output visible: {extra.value()}"
assert sorted(out) == sorted(m.value().replace(b"in-", b"out-") for m in first), out
reader.close()
print(f"ok: {len(first)} records committed with their offsets, an aborted round left offsets at {after_first}")
