"""Consumes N records from every partition of a topic with librdkafka (confluent-kafka) and
prints "records N SECONDS BYTES FIRST": the time from creating the consumer to the N-th
record, and to the first one.

usage: perf_consume.py BOOTSTRAP TOPIC PARTITIONS N [PROPERTY=VALUE ...]
"""
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

bootstrap, topic, partitions, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
config = {
    "bootstrap.servers": bootstrap,
    "group.id": "perf-consume-librdkafka",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
}
config.update(arg.split("=", 1) for arg in sys.argv[5:])
start = time.perf_counter()
c = Consumer(config)
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
count = 0
size = 0
first = None
while count < n:
    batch = c.consume(num_messages=10000, timeout=1.0)
    if first is None and batch:
        first = time.perf_counter() - start
    for m in batch:
        if m.error():
            raise RuntimeError(m.error())
        count += 1
        size += len(m.value())
elapsed = time.perf_counter() - start
print("records %d %.6f %d %.6f" % (count, elapsed, size, first or 0.0), flush=True)
c.close()
