"""confluent-kafka (librdkafka) against a dev cluster whose SASL sessions expire
(connections.max.reauth.ms): produce for several session lifetimes and check that every record
arrived and that librdkafka never had to reconnect, i.e. it re-authenticated (KIP-368) on the
connections it had, which the broker would otherwise have closed.

usage: confluent_reauth.py BOOTSTRAP TOPIC SETTINGS_JSON SECONDS
Prints one line "ok: ..." and exits 0, or raises.
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, settings, seconds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
stats = []
delivered = []
producer = Producer({
    "bootstrap.servers": bootstrap,
    **settings,
    "acks": "all",
    "statistics.interval.ms": 200,
    "stats_cb": lambda s: stats.append(json.loads(s)),
})
sent = 0
end = time.time() + seconds
while time.time() < end:
    producer.produce(topic, value=f"v{sent}".encode(), on_delivery=lambda err, msg: delivered.append(err))
    sent += 1
    producer.poll(0.1)
assert producer.flush(20) == 0, "records not delivered"
producer.poll(0.5)
assert len(delivered) == sent and not any(delivered), delivered
brokers = {b["name"]: b["connects"] for b in stats[-1]["brokers"].values() if b["nodeid"] >= 0 and b["connects"] > 0}
assert brokers, stats[-1]["brokers"]
assert all(c == 1 for c in brokers.values()), f"librdkafka reconnected: {brokers}"
print(f"ok: librdkafka {sys.modules['confluent_kafka'].libversion()[0]} sent {sent} records over {seconds}s on {len(brokers)} connection(s) without reconnecting: {brokers}")
