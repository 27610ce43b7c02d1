"""confluent-kafka (librdkafka) admin requests while broker 1, the first bootstrap address,
is down: topics are created, altered and deleted through the broker Metadata names as
controller, which must be a live one.

usage: confluent_admin_without_broker_1.py BOOTSTRAP TOPIC   (broker 1 is down, two are up)
Prints one line "ok: ..." and exits 0, or raises.
"""
import sys
import time

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap})

controller = admin.describe_cluster().result(15).controller
assert controller.id != 1, f"controller {controller.id} is the dead broker"
admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=2)])[topic].result(15)
resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
    ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)])
admin.incremental_alter_configs([resource])[resource].result(15)
described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
value = list(described.values())[0].result(15)["retention.ms"].value
assert value == "3600000", value
admin.delete_topics([topic])[topic].result(15)
deadline = time.time() + 15
while topic in admin.list_topics(timeout=15).topics:
    assert time.time() < deadline, "the topic was not deleted"
    time.sleep(0.05)
print(f"ok: with broker 1 down, controller {controller.id} created, altered and deleted {topic}")
