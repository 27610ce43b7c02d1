"""confluent-kafka (librdkafka) consumers with group.protocol=consumer (KIP-848): three members
split six partitions, a fourth joins and one leaves while records keep arriving. Every record
is processed at least once, the committed offsets never go backwards, and the admin API sees
a consumer-type group with its members' assignments.

usage: confluent_kip848.py BOOTSTRAP TOPIC GROUP [failover]   (TOPIC exists, with 6 partitions)
With `failover`, the producer stops halfway until the coordinator is gone: the script prints
"kill" once one member has left, waits for a line on stdin (the test kills the group's
coordinator meanwhile), and checks the group goes on: the new coordinator knows the members,
the second half of the records is processed, committed offsets still never go back.
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import threading
import time

from confluent_kafka import Consumer, ConsumerGroupType, TopicPartition

from group_common import COUNT, PARTITIONS, Group, bootstrap, group, start_producing, topic, version

failover = len(sys.argv) > 4 and sys.argv[4] == "failover"
g = Group()
started = time.time()
for i in range(3):
    g.add(f"member-{i}", "consumer")
g.wait("three members to share the partitions", lambda: g.steady(3))
first = [sorted(m.assigned) for m in g.live()]
join_s = time.time() - started

# With a failover, half the records are written before the kill and half after it, so the
# new coordinator's members have records to process and commit.
halfway = threading.Event() if failover else None
producer, produced = start_producing(halfway)
g.wait("some records", lambda: g.processed() >= COUNT // 5)

# A fourth member joins mid-stream: it gets partitions, the others give some up.
t = time.time()
g.add("member-3", "consumer")
g.wait("four members to share the partitions", lambda: g.steady(4))
four = [sorted(m.assigned) for m in g.live()]
add_s = time.time() - t

# One leaves (close() sends the leave heartbeat); its partitions go to the others.
leaver = g.members[0]
leaver.stop.set()
leaver.join(15)
t = time.time()
g.wait("three members again", lambda: g.steady(3))
three = [sorted(m.assigned) for m in g.live()]
leave_s = time.time() - t

if failover:
    # The coordinator dies mid-stream; librdkafka finds the new one, which loaded the group.
    before = g.processed()
    print("kill", flush=True)
    sys.stdin.readline()
    t = time.time()
    halfway.set()
    g.wait("records to flow again", lambda: g.processed() > before + 100)
    g.wait("three members after the failover", lambda: g.steady(3))
    failover_s = time.time() - t

producer.join(60)
assert not producer.is_alive(), "producer stuck"
g.wait(f"all {COUNT} records", lambda: g.values() >= set(produced))
time.sleep(0.5)

# A consumer of its own for the end offsets: the members' are busy in their threads.
probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group + "-probe"})
ends = {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
probe.close()
assert sum(ends.values()) == COUNT, ends
g.wait("commits to reach the end", lambda: g.highest == ends)

# A client made now: one made before a failover still has the dead broker in its metadata,
# and ListGroups goes to every broker the client knows.
admin = g.new_admin()
described = admin.describe_consumer_groups([group])[group].result(timeout=15)
assert described.type == ConsumerGroupType.CONSUMER, described.type
assert len(described.members) == 3, described.members
owned = sorted(tp.partition for mm in described.members for tp in mm.assignment.topic_partitions)
assert owned == list(range(PARTITIONS)), owned
listed = admin.list_consumer_groups(types={ConsumerGroupType.CONSUMER}).result(timeout=15)
assert group in [x.group_id for x in listed.valid], (listed.valid, listed.errors)
classic = admin.list_consumer_groups(types={ConsumerGroupType.CLASSIC}).result(timeout=15)
assert group not in [x.group_id for x in classic.valid], classic.valid

g.finish()
print(
    f"ok: confluent-kafka {version()} group.protocol=consumer: 3 members took {first} in {join_s:.2f}s; "
    f"a 4th joined: {four} in {add_s:.2f}s; one left: {three} in {leave_s:.2f}s; "
    f"{COUNT} records processed ({g.processed() - COUNT} again), committed {ends}, "
    f"offsets never went back over {g.samples} samples"
    + (f"; the coordinator died and records flowed again within {failover_s:.2f}s" if failover else "")
)
