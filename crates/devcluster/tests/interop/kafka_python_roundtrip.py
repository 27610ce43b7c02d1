"""kafka-python against the dev cluster: admin create, produce keyed records, consume them.

usage: kafka_python_roundtrip.py BOOTSTRAP TOPIC
"""
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
PARTITIONS = 2
COUNT = 100

admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
described = admin.describe_topics([topic])
assert len(described[0]["partitions"]) == PARTITIONS, described
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5)
futures = [
    producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("h", b"x")])
    for i in range(COUNT)
]
producer.flush(20)
sent = {}
for i, f in enumerate(futures):
    md = f.get(timeout=20)
    sent[(md.partition, md.offset)] = (f"k{i}".encode(), f"v{i}".encode())
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
for p in range(PARTITIONS):
    consumer.seek(TopicPartition(topic, p), 0)
got = {}
deadline = time.time() + 30
while len(got) < COUNT and time.time() < deadline:
    for tp, records in consumer.poll(timeout_ms=500).items():
        for r in records:
            got[(r.partition, r.offset)] = (r.key, r.value)
consumer.close()
assert got == sent, f"consumed {len(got)} of {len(sent)}"
print(f"ok: kafka-python {kafka.__version__} produced and consumed {len(got)} records")
