"""confluent-kafka (librdkafka) against the dev cluster: create a topic through the admin API,
produce keyed records with headers under every compression codec, and read them all back.

usage: confluent_roundtrip.py BOOTSTRAP TOPIC
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 40

admin = AdminClient({"bootstrap.servers": bootstrap})
for name, future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).items():
    future.result(timeout=15)
md = admin.list_topics(timeout=15)
assert topic in md.topics, f"{topic} missing from metadata"
assert len(md.topics[topic].partitions) == PARTITIONS, md.topics[topic].partitions
assert len(md.brokers) == 3, md.brokers

# Creating it again must fail with TOPIC_ALREADY_EXISTS.
again = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic]
try:
    again.result(timeout=15)
    raise AssertionError("second create_topics succeeded")
except KafkaException as e:
    assert e.args[0].name() == "TOPIC_ALREADY_EXISTS", e

sent = {}
errors = []
for codec in CODECS:
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5, "acks": "all"})

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            sent[(msg.partition(), msg.offset())] = (msg.key(), msg.value())

    for i in range(PER_CODEC):
        producer.produce(
            topic,
            key=f"{codec}-k{i}".encode(),
            value=(f"{codec}-v{i}-" + "x" * 200).encode(),
            headers=[("h", b"1"), ("h", b"2")],
            on_delivery=on_delivery,
        )
    left = producer.flush(20)
    assert left == 0, f"{left} records not delivered with {codec}"
assert not errors, errors
assert len(sent) == PER_CODEC * len(CODECS), len(sent)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-unused", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
got = {}
deadline = time.time() + 30
while len(got) < len(sent) and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        raise KafkaException(msg.error())
    assert [h for h in msg.headers()] == [("h", b"1"), ("h", b"2")], msg.headers()
    got[(msg.partition(), msg.offset())] = (msg.key(), msg.value())
consumer.close()
assert got == sent, f"consumed {len(got)} of {len(sent)}"
print(f"ok: confluent-kafka {sys.modules['confluent_kafka'].version()} produced and consumed {len(got)} records over {len(CODECS)} codecs")
