"""A rolling upgrade of a live group from the classic protocol to the consumer protocol
(KIP-848, Kafka 4's online migration), with confluent-kafka (librdkafka): three classic
members consume and commit while records arrive; one by one, each is replaced by a member
with group.protocol=consumer. The first of those turns the group into a consumer-protocol
group with the classic members still in it. Every record is processed at least once and the
committed offsets never go backwards.

usage: confluent_upgrade.py BOOTSTRAP TOPIC GROUP   (TOPIC exists, with 6 partitions)
Prints one line "ok: ..." and exits 0, or raises.
"""
import time

from confluent_kafka import ConsumerGroupType

from group_common import COUNT, Group, group, start_producing, version


def group_type():
    return g.admin.describe_consumer_groups([group])[group].result(timeout=15).type


g = Group()
for i in range(3):
    g.add(f"classic-{i}", "classic")
g.wait("three classic members", lambda: g.steady(3))
before = group_type()
assert before == ConsumerGroupType.CLASSIC, before

producer, produced = start_producing()
g.wait("some records", lambda: g.processed() >= COUNT // 6)

# The rolling upgrade: a consumer-protocol member joins, then a classic one leaves.
steps = []
for i in range(3):
    t = time.time()
    g.add(f"consumer-{i}", "consumer")
    g.wait(f"upgraded member {i} in", lambda: g.steady(4))
    old = next(m for m in g.live() if m.name_.startswith("classic"))
    old.stop.set()
    old.join(15)
    g.wait(f"classic member {i} out", lambda: g.steady(3))
    steps.append(time.time() - t)
after = group_type()
assert after == ConsumerGroupType.CONSUMER, after

producer.join(60)
g.wait(f"all {COUNT} records", lambda: g.values() >= set(produced))
g.finish()
print(
    f"ok: confluent-kafka {version()}: a classic group upgraded online to the consumer protocol member by member "
    f"(steps {', '.join(f'{s:.2f}s' for s in steps)}); {COUNT} records processed ({g.processed() - COUNT} again); "
    f"committed offsets never went back over {g.samples} samples"
)
