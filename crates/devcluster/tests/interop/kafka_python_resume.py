"""A kafka-python consumer resumes from the committed offset: one consumer of a group reads 5
of 10 records and commits offset 5, then closes; a new consumer in the same group starts
reading at offset 5, reads the rest and commits 10.

usage: kafka_python_resume.py BOOTSTRAP TOPIC GROUP   (TOPIC exists, with 1 partition)
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = 10
FIRST = 5
tp = TopicPartition(topic, 0)

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
for i in range(COUNT):
    producer.send(topic, value=f"v{i}".encode(), partition=0).get(timeout=20)
producer.close()


def consumer():
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
    )


def read(c, n):
    got = []
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        for records in c.poll(timeout_ms=200, max_records=n - len(got)).values():
            got.extend(records)
    assert len(got) == n, f"read {len(got)} of {n}"
    return got


first = consumer()
got = read(first, FIRST)
assert [r.offset for r in got] == list(range(FIRST)), [r.offset for r in got]
first.commit({tp: OffsetAndMetadata(FIRST, "", -1)})
assert first.committed(tp) == FIRST, first.committed(tp)
first.close()
print(f"committed {FIRST}")

second = consumer()
rest = read(second, COUNT - FIRST)
assert rest[0].offset == FIRST, f"resumed at {rest[0].offset}, not {FIRST}"
assert [r.value for r in rest] == [f"v{i}".encode() for i in range(FIRST, COUNT)]
second.commit()
assert second.committed(tp) == COUNT, second.committed(tp)
second.close()
print(f"ok: kafka-python {kafka.__version__}: a new consumer of {group} resumed at offset {rest[0].offset} and committed {COUNT}")
