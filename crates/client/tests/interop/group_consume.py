"""Joins a consumer group with librdkafka (confluent-kafka, range assignor) and consumes.

Prints "assigned P,P,..." on every assignment, "record P OFFSET" per record, and at the end
"final P,P,..." (the assignment it ended with). Stops once it owns 3 partitions and has read
100 records of each (then lingers 3 s so the group stays stable for the other member), or
after SECONDS.

usage: group_consume.py BOOTSTRAP TOPIC GROUP SECONDS
"""
import sys
import time

from confluent_kafka import Consumer

bootstrap, topic, group, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "partition.assignment.strategy": "range",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 300,
})
owned = []


def on_assign(consumer, partitions):
    global owned
    owned = sorted(p.partition for p in partitions)
    print("assigned " + ",".join(map(str, owned)), flush=True)


def on_revoke(consumer, partitions):
    global owned
    owned = []
    print("revoked", flush=True)


c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
deadline = time.time() + seconds
counts = {}
done_at = None
while time.time() < deadline:
    m = c.poll(0.2)
    if m is not None:
        if m.error():
            print("error " + str(m.error()), flush=True)
            continue
        counts[m.partition()] = counts.get(m.partition(), 0) + 1
        print("record %d %d" % (m.partition(), m.offset()), flush=True)
    if done_at is None and len(owned) == 3 and all(counts.get(p, 0) >= 100 for p in owned):
        done_at = time.time()
    if done_at is not None and time.time() - done_at > 3:
        break
print("final " + ",".join(map(str, owned)), flush=True)
c.close()
