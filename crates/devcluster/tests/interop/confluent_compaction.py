"""confluent-kafka against a compacted topic, in steps the test runs between its cleanings.

usage: confluent_compaction.py BOOTSTRAP TOPIC produce
       confluent_compaction.py BOOTSTRAP TOPIC roll
       confluent_compaction.py BOOTSTRAP TOPIC check TOMBSTONES

produce  creates TOPIC (compacted, 1 MiB segments, max.compaction.lag.ms=1000), writes 100,000
         updates over 1,000 keys in a seeded random order, then tombstones for 100 of them,
         then, once max.compaction.lag.ms has passed, a sentinel record that rolls the segment
         (so that every update and tombstone is in a closed segment the cleaner may clean).
roll     waits out max.compaction.lag.ms again and writes another sentinel: the segment the
         last one is in closes, and its age makes a cleaning due whatever the dirty ratio.
check    reads the partition from the start to the high watermark and checks that, sentinels
         aside, it holds exactly the latest value of each of the 900 live keys, in the order
         they were last written, and TOMBSTONES tombstones (100 before delete.retention.ms has
         passed, 0 after a cleaning past it).
"""
import random
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, mode = sys.argv[1], sys.argv[2], sys.argv[3]
KEYS, UPDATES, DELETED = 1000, 100_000, 100
MAX_LAG_MS = 1000
SENTINEL = b"~roll"


def workload():
    """The updates and tombstones, in write order: (key, value or None)."""
    rng = random.Random(22)
    out = []
    for i in range(UPDATES):
        key = rng.randrange(KEYS)
        out.append((f"key-{key:04}".encode(), f"{key}:{i}:".encode() + b"x" * 80))
    for key in sorted(rng.sample(range(KEYS), DELETED)):
        out.append((f"key-{key:04}".encode(), None))
    return out


def producer():
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": True})


def send_all(p, records):
    failed = []

    def on_delivery(err, _msg):
        if err is not None:
            failed.append(str(err))

    for key, value in records:
        while True:
            try:
                p.produce(topic, key=key, value=value, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0, "records still queued"
    assert not failed, failed[:5]


def sentinel():
    # Segments roll once a record is max.compaction.lag.ms younger than the segment's first.
    time.sleep(MAX_LAG_MS / 1000 + 0.2)
    send_all(producer(), [(SENTINEL, str(time.time()).encode())])


if mode == "produce":
    admin = AdminClient({"bootstrap.servers": bootstrap})
    configs = {
        "cleanup.policy": "compact",
        "segment.bytes": str(1024 * 1024),
        "max.compaction.lag.ms": str(MAX_LAG_MS),
        "delete.retention.ms": "2000",
    }
    for f in admin.create_topics([NewTopic(topic, 1, 3, config=configs)]).values():
        f.result(30)
    records = workload()
    started = time.time()
    send_all(producer(), records)
    elapsed = time.time() - started
    sentinel()
    print(f"ok: {len(records)} records produced in {elapsed:.1f}s, then a sentinel", flush=True)
elif mode == "roll":
    sentinel()
    print("ok: sentinel written", flush=True)
elif mode == "check":
    tombstones = int(sys.argv[4])
    last = {}
    for offset, (key, value) in enumerate(workload()):
        last[key] = (offset, value)
    live = [(k, v) for k, (o, v) in sorted(last.items(), key=lambda kv: kv[1][0]) if v is not None]
    deleted = {k for k, (_, v) in last.items() if v is None}
    assert len(live) == KEYS - DELETED and len(deleted) == DELETED

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-check", "enable.auto.commit": False})
    tp = TopicPartition(topic, 0, 0)
    low, high = consumer.get_watermark_offsets(tp, timeout=30)
    consumer.assign([tp])
    seen_live, seen_tombstones, offsets = [], set(), []
    deadline = time.time() + 60
    position = low
    while position < high and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        offsets.append(msg.offset())
        position = msg.offset() + 1
        if msg.key() == SENTINEL:
            continue
        if msg.value() is None:
            seen_tombstones.add(msg.key())
        else:
            seen_live.append((msg.key(), msg.value()))
    consumer.close()
    assert position >= high, f"read up to {position} of {high}"
    assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
    assert len(seen_live) == len(live), f"{len(seen_live)} live records, expected {len(live)}"
    assert seen_live == live, "not the latest value of each key in write order"
    if tombstones:
        assert seen_tombstones == deleted, f"{len(seen_tombstones)} tombstones, expected {len(deleted)}"
    else:
        assert not seen_tombstones, f"{len(seen_tombstones)} tombstones outlived delete.retention.ms"
    print(f"ok: {len(seen_live)} live keys and {len(seen_tombstones)} tombstones in {len(offsets)} "
          f"records (offsets {low}..{high})", flush=True)
else:
    sys.exit(f"unknown mode {mode}")
