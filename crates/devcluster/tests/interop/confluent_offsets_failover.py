"""Committed offsets survive the group coordinator's death, seen from confluent-kafka
(librdkafka): a consumer reads a topic and commits, the test kills the coordinator broker,
and a new consumer of the group finds the same committed offsets (librdkafka rediscovers the
coordinator by itself) and resumes after them.

usage: confluent_offsets_failover.py BOOTSTRAP TOPIC GROUP   (TOPIC exists, 4 partitions)
Prints "committed" when the test should kill the coordinator, then waits for a line on stdin.
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
PARTITIONS = 4
PER_PARTITION = 10
TIMEOUT = 60


def produce(count, prefix):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(count):
        producer.produce(topic, value=f"{prefix}{i}".encode(), partition=i % PARTITIONS)
    assert producer.flush(30) == 0, "records not delivered"


def consumer():
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "heartbeat.interval.ms": 200,
    })
    c.subscribe([topic])
    return c


def consume(c, count):
    got = []
    deadline = time.time() + TIMEOUT
    while len(got) < count and time.time() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg)
    assert len(got) == count, f"consumed {len(got)} of {count}"
    return got


produce(PARTITIONS * PER_PARTITION, "before-")
first = consumer()
consume(first, PARTITIONS * PER_PARTITION)
first.commit(asynchronous=False)
tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
before = {tp.partition: tp.offset for tp in first.committed(tps, timeout=10)}
assert before == {p: PER_PARTITION for p in range(PARTITIONS)}, before
first.close()

print("committed", flush=True)
assert sys.stdin.readline().strip() == "killed"

second = consumer()
after = {tp.partition: tp.offset for tp in second.committed(tps, timeout=TIMEOUT)}
assert after == before, f"committed offsets changed across the coordinator kill: {before} -> {after}"
produce(PARTITIONS, "after-")
resumed = consume(second, PARTITIONS)
assert sorted(m.value() for m in resumed) == sorted(f"after-{i}".encode() for i in range(PARTITIONS)), [m.value() for m in resumed]
assert all(m.offset() == PER_PARTITION for m in resumed), [(m.partition(), m.offset()) for m in resumed]
second.close()
print(f"ok: confluent-kafka: committed offsets {after} survived the coordinator kill; a new consumer resumed after them")
