"""Produces 50 records per codec with confluent-kafka (librdkafka), one topic per codec
("<prefix>-<codec>", created by the test), so our decoder can read librdkafka's batches.

usage: produce_codecs.py BOOTSTRAP PREFIX
"""
import sys

from confluent_kafka import Producer

bootstrap, prefix = sys.argv[1], sys.argv[2]
for codec in ["gzip", "snappy", "lz4", "zstd"]:
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20})
    for i in range(50):
        p.produce(f"{prefix}-{codec}", key=f"k{i}".encode(), value=(f"{codec}-{i}-" + "y" * 300).encode())
    assert p.flush(30) == 0
print("ok")
