"""confluent-kafka producing with acks=all while the test kills a partition leader.

usage: confluent_failover.py BOOTSTRAP TOPIC PARTITIONS TOTAL
Prints "ready" once a first share of records is acknowledged (the test then kills the leader),
keeps producing, then reads everything back and checks that no acknowledged record is missing.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, topic, partitions, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

acked = set()
failed = []


def on_delivery(err, msg):
    if err is not None:
        failed.append(str(err))
    else:
        acked.add(msg.value())


producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "linger.ms": 2,
    "message.timeout.ms": 60000,
    "retry.backoff.ms": 50,
    "topic.metadata.refresh.interval.ms": 1000,
})
ready_at = total // 4
announced = False
for i in range(total):
    while True:
        try:
            producer.produce(topic, value=f"value-{i}".encode(), key=f"k{i % 97}".encode(), on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
    if not announced and len(acked) >= ready_at:
        print("ready", flush=True)
        announced = True
    if i % 200 == 0:
        # Pace the producer so the kill lands mid-stream.
        producer.poll(0.01)
left = producer.flush(60)
assert left == 0, f"{left} records still queued"
if not announced:
    print("ready", flush=True)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "failover-check", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
seen = set()
deadline = time.time() + 60
while not acked <= seen and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        raise KafkaException(msg.error())
    seen.add(msg.value())
consumer.close()
lost = acked - seen
assert not lost, f"{len(lost)} acknowledged records lost, e.g. {sorted(lost)[:5]}"
print(f"ok: acknowledged {len(acked)}, failed {len(failed)}, read {len(seen)}, lost 0", flush=True)
