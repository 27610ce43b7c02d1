"""confluent-kafka's ProtobufSerializer and ProtobufDeserializer against the dev cluster's
registry. The message classes are built at run time from descriptors (no protoc): an
`Order` in shop/order.proto importing common/money.proto (registered as a reference) and
google/protobuf/timestamp.proto (built in), and a second top-level message, `Refund`, whose
records carry the message index [1].

usage: confluent_protobuf.py BOOTSTRAP REGISTRY_URL TOPIC COUNT produce|consume
Prints one line "ok: ..." and exits 0, or raises.
"""
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import timestamp_pb2  # noqa: F401 (puts timestamp.proto in the pool)
from registry_common import bootstrap, context, count, mode, read_back, registry, subject, topic

conf = {"subject.name.strategy.type": "TOPIC"}
F = descriptor_pb2.FieldDescriptorProto

pool = descriptor_pool.Default()
money = descriptor_pb2.FileDescriptorProto(name="common/money.proto", package="common", syntax="proto3")
m = money.message_type.add(name="Money")
m.field.add(name="cents", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL, json_name="cents")
m.field.add(name="currency", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="currency")
pool.Add(money)

order_file = descriptor_pb2.FileDescriptorProto(
    name="shop/order.proto", package="shop", syntax="proto3",
    dependency=["common/money.proto", "google/protobuf/timestamp.proto"])
o = order_file.message_type.add(name="Order")
o.field.add(name="id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="id")
o.field.add(name="price", number=2, type=F.TYPE_MESSAGE, type_name=".common.Money", label=F.LABEL_OPTIONAL, json_name="price")
o.field.add(name="at", number=3, type=F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp", label=F.LABEL_OPTIONAL, json_name="at")
o.field.add(name="tags", number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED, json_name="tags")
o.field.add(name="lines", number=5, type=F.TYPE_MESSAGE, type_name=".shop.Order.Line", label=F.LABEL_REPEATED, json_name="lines")
o.field.add(name="status", number=6, type=F.TYPE_ENUM, type_name=".shop.Order.Status", label=F.LABEL_OPTIONAL, json_name="status")
line = o.nested_type.add(name="Line")
line.field.add(name="sku", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="sku")
line.field.add(name="quantity", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL, json_name="quantity")
status = o.enum_type.add(name="Status")
for name, number in (("UNKNOWN", 0), ("OPEN", 1), ("CLOSED", 2)):
    status.value.add(name=name, number=number)
r = order_file.message_type.add(name="Refund")
r.field.add(name="order_id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="orderId")
r.field.add(name="amount", number=2, type=F.TYPE_MESSAGE, type_name=".common.Money", label=F.LABEL_OPTIONAL, json_name="amount")
pool.Add(order_file)
Order = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
Refund = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Refund"))

# The same file as .proto text: registering it must find the descriptor's version.
ORDER_TEXT = """syntax = "proto3";
package shop;
import "common/money.proto";
import "google/protobuf/timestamp.proto";
message Order {
  string id = 1;
  common.Money price = 2;
  google.protobuf.Timestamp at = 3;
  repeated string tags = 4;
  repeated Line lines = 5;
  Status status = 6;
  message Line { string sku = 1; int32 quantity = 2; }
  enum Status { UNKNOWN = 0; OPEN = 1; CLOSED = 2; }
}
message Refund { string order_id = 1; common.Money amount = 2; }
"""
# `id` turned from a string into a number: readers of either cannot read the other.
BAD_TEXT = ORDER_TEXT.replace("string id = 1;", "int64 id = 1;")


def record(i):
    """The i-th record: orders, every fifth a refund."""
    if i % 5 == 4:
        return Refund(order_id=f"o-{i - 1}", amount={"cents": 100 * i, "currency": "EUR"})
    value = Order(id=f"o-{i}", price={"cents": 250 * i + 1, "currency": "EUR"}, tags=["a", f"t{i}"],
                  lines=[{"sku": f"s{i}", "quantity": i % 7}], status=i % 3)
    value.at.seconds, value.at.nanos = 1_700_000_000 + i, 1000 * i
    return value


if mode == "produce":
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    orders = ProtobufSerializer(Order, registry, conf)
    refunds = ProtobufSerializer(Refund, registry, conf)
    for i in range(count):
        value = record(i)
        serialize = refunds if isinstance(value, Refund) else orders
        producer.produce(topic, partition=0, value=serialize(value, context))
    assert producer.flush(30) == 0
    references = [SchemaReference("common/money.proto", "common/money.proto", 1)]
    found = registry.lookup_schema(subject, Schema(ORDER_TEXT, "PROTOBUF", references))
    assert found.version == 1, found
    try:
        registry.register_schema(subject, Schema(BAD_TEXT, "PROTOBUF", references))
        raise AssertionError("an incompatible schema was registered")
    except SchemaRegistryError as e:
        assert e.http_status_code == 409 and e.error_code in (409, 40901), e
        refused = e.error_code
    assert registry.get_subjects().count("common/money.proto") == 1
    print(f"ok: produced {count} records with schema id {found.schema_id}; the .proto text is version 1; incompatible refused with {refused}")
elif mode == "consume":
    orders = ProtobufDeserializer(Order, conf, registry)
    refunds = ProtobufDeserializer(Refund, conf, registry)

    def deserialize(value, ctx, i):
        expected = record(i)
        got = (refunds if isinstance(expected, Refund) else orders)(value, ctx)
        assert got == expected, (i, got, expected)
        return got

    seen = read_back(count, deserialize)
    print(f"ok: consumed {len(seen)} orders and refunds")
else:
    raise SystemExit(f"unknown mode {mode}")
