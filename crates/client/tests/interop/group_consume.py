"""Joins a consumer group with librdkafka (confluent-kafka, range assignor) and consumes.

Prints "assigned P,P,..." whenever its assignment changes, "record P OFFSET" per record, and at the end
"final P,P,..." (the assignment it ended with). Stops once it owns 3 partitions and has read
100 records of each (then lingers 3 s so the group stays stable for the other member), or
after SECONDS.

usage: group_consume.py BOOTSTRAP TOPIC GROUP SECONDS [PROTOCOL]
PROTOCOL: classic (default: the range assignor) or consumer (KIP-848: the coordinator assigns).
"""
import sys
import time

from confluent_kafka import Consumer

bootstrap, topic, group, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
protocol = sys.argv[5] if len(sys.argv) > 5 else "classic"
config = {
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
}
if protocol == "consumer":
    # The coordinator assigns, and the session and heartbeat interval are its own.
    config["group.protocol"] = "consumer"
else:
    config.update({
        "partition.assignment.strategy": "range",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 300,
    })
c = Consumer(config)
owned = []
c.subscribe([topic])
deadline = time.time() + seconds
counts = {}
done_at = None
while time.time() < deadline:
    m = c.poll(0.2)
    # What the consumer owns now (the consumer protocol hands partitions over one by one).
    now = sorted(tp.partition for tp in c.assignment())
    if now != owned:
        owned = now
        print("assigned " + ",".join(map(str, owned)), flush=True)
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
