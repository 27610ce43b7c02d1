"""Produces one record per key with librdkafka's murmur2_random partitioner (Java's default)
and prints "key partition" per record.

usage: murmur2_partitions.py BOOTSTRAP TOPIC KEYS_FILE
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]
keys = [line.rstrip("\n") for line in open(keys_file, encoding="utf-8") if line.strip()]
out = {}
p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5})


def cb(err, msg):
    if err is not None:
        raise RuntimeError(err)
    out[msg.key().decode()] = msg.partition()


for k in keys:
    p.produce(topic, key=k.encode(), value=b"x", on_delivery=cb)
assert p.flush(30) == 0
for k in keys:
    print(k, out[k])
