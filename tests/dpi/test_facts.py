"""Facts learned on one connection and used on another (issue #18, item 3): they travel
as `Learned` events the engine keeps in the scan's store (dpi/facts.py), never as writes
into the scan-wide `DissectorOptions`. Captures written with scapy in, rows out."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from dpi import facts as facts_module
from dpi.api import scan_engine
from dpi.facts import FactStore
from dpi.observer import Observer
from dpi.reassembly import Flow
from dpi.runs.shard_plan import plan_shards
from dpi.runs.worker import EngineSpec, FileTask, decode, scan_file
from protocols.base import Direction, DissectorOptions, FactKind, Learned, Message
from protocols.kafka import KafkaDissector
from protocols.protobuf import SchemaRegistry
from tests.builders import http2 as h2
from tests.builders import kafka as kb
from tests.builders.conversation import Conversation

EMAIL = "dana.whitfield@mail.shopper-demo.net"
SSN = "536-22-8714"
TOPIC_ID = kb.TOPIC_ID
_REQ, _RESP = Direction.REQUEST, Direction.RESPONSE


def _capture(path: Path, *conversations: Conversation) -> Path:
    """One capture of several connections, their packets in time order."""
    merged = Conversation()
    merged.packets = sorted((p for c in conversations for p in c.packets), key=lambda p: float(p.time))
    return merged.write(path)


def _metadata(cport: int, ts: float, server: str = "10.0.0.5") -> Conversation:
    conv = Conversation(server=server, cport=cport, sport=9092, ts=ts).handshake()
    conv.request(kb.metadata_request(12, ["orders"], 1))
    return conv.response(kb.metadata_response(12, {"orders": TOPIC_ID}, 1)).close()


def _fetch(cport: int, ts: float, server: str = "10.0.0.5") -> Conversation:
    records = kb.batch_v2([(None, json.dumps({"email": EMAIL}).encode(), [])])
    conv = Conversation(server=server, cport=cport, sport=9092, ts=ts).handshake()
    conv.request(kb.fetch_request(13, ["orders"], 7))
    return conv.response(kb.fetch_response(13, [("orders", [(0, records)])], 7)).close()


class _Seen(Observer):
    """The topic ids the scan knew when each Kafka message reached the observers."""

    def __init__(self) -> None:
        self.store: FactStore | None = None
        self.known: list[tuple[str, dict[str, str]]] = []

    def message(self, flow: Flow, message: Message) -> None:
        if message.protocol == "kafka" and self.store is not None:
            self.known.append((message.api, dict(self.store.view.kafka_topic_ids)))


def test_topic_id_learned_on_one_connection_names_the_fetch_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learned: list[Learned] = []
    seen = _Seen()
    real_learn, real_init = FactStore.learn, FactStore.__init__

    def learn(store: FactStore, fact: Learned) -> None:
        learned.append(fact)
        real_learn(store, fact)

    def init(store: FactStore, *args: object, **kw: object) -> None:
        real_init(store, *args, **kw)  # type: ignore[arg-type]
        seen.store = store

    monkeypatch.setattr(FactStore, "learn", learn)
    monkeypatch.setattr(FactStore, "__init__", init)
    path = _capture(tmp_path / "two.pcap", _metadata(40001, 1_768_467_600.0),
                    _fetch(40002, 1_768_467_601.0))  # fmt: skip
    engine = scan_engine(path, strict=True, observers=[seen])
    assert engine.stats.bugs == 0 and engine.stats.flows == 2
    # The fact came back from the Metadata connection's dissector as an event, and the
    # store had it when the other connection's Fetch was read.
    assert learned == [Learned(kind=FactKind.KAFKA_TOPIC_ID, key=TOPIC_ID, value="orders")]
    assert seen.known == [("orders", {TOPIC_ID: "orders"})]
    email = [r for r in engine.inventory.rows() if r.data_type == "EMAIL_ADDRESS"]
    assert [(r.protocol, r.api, r.direction, r.field) for r in email] == [
        ("kafka", "orders", "response", "email")
    ]
    # The options every dissector of the scan shared hold configuration only.
    assert {f.name for f in dataclasses.fields(engine.options)} == {"schemas", "kafka_topic_schemas"}
    assert dict(engine.options.kafka_topic_schemas) == {}


def test_without_the_metadata_connection_the_topic_keeps_its_id(tmp_path: Path) -> None:
    engine = scan_engine(_capture(tmp_path / "one.pcap", _fetch(40002, 1_768_467_601.0)), strict=True)
    apis = {r.api for r in engine.inventory.rows() if r.data_type == "EMAIL_ADDRESS"}
    assert apis == {f"topic-id:{TOPIC_ID}"}
    assert dict(engine.facts.view.kafka_topic_ids) == {}


def test_a_fact_learned_after_the_fetch_does_not_rename_it(tmp_path: Path) -> None:
    path = _capture(tmp_path / "late.pcap", _fetch(40002, 1_768_467_600.0),
                    _metadata(40001, 1_768_467_601.0))  # fmt: skip
    engine = scan_engine(path, strict=True)
    apis = {r.api for r in engine.inventory.rows() if r.data_type == "EMAIL_ADDRESS"}
    assert apis == {f"topic-id:{TOPIC_ID}"}
    assert dict(engine.facts.view.kafka_topic_ids) == {TOPIC_ID: "orders"}


def _reflection(cport: int, ts: float) -> Conversation:
    """gRPC server reflection answering with `r.proto`: rpc /r.S/Get(M), M { ssn = 1 }."""
    fd = descriptor_pb2.FileDescriptorProto(name="r.proto", package="r", syntax="proto3")
    fd.message_type.add(name="M").field.add(name="ssn", number=1, type=9, label=1)
    fd.service.add(name="S").method.add(name="Get", input_type=".r.M", output_type=".r.M")
    answer = h2.pb_bytes(4, h2.pb_bytes(1, fd.SerializeToString()))
    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    return _grpc(cport, ts, path, h2.pb_bytes(1, "localhost"), answer)


def _grpc(cport: int, ts: float, path: str, request: bytes, response: bytes) -> Conversation:
    hp = h2.Hpack()
    conv = Conversation(cport=cport, sport=50051, ts=ts).handshake()
    conv.request(h2.PREFACE + h2.settings() + h2.headers(1, hp.req(h2.grpc_request_headers(path)))
                 + h2.data(1, h2.grpc_message(request), end=True))  # fmt: skip
    conv.response(h2.settings() + h2.settings(ack=True)
                  + h2.headers(1, hp.resp(h2.GRPC_RESPONSE_HEADERS))
                  + h2.data(1, h2.grpc_message(response))
                  + h2.headers(1, hp.resp(h2.grpc_trailers()), end=True))  # fmt: skip
    return conv.close()


def test_schema_reflected_on_one_connection_names_the_fields_of_another(tmp_path: Path) -> None:
    call = h2.pb_bytes(1, SSN)
    later = _capture(tmp_path / "reflected.pcap", _reflection(40001, 1_768_467_600.0),
                     _grpc(40002, 1_768_467_601.0, "/r.S/Get", call, b""))  # fmt: skip
    registry = SchemaRegistry()
    engine = scan_engine(later, strict=True, schemas=registry)
    ssn = [r for r in engine.inventory.rows() if r.api == "/r.S/Get" and r.direction == "request"]
    assert [(r.field, r.data_type) for r in ssn] == [("ssn", "US_SSN")]
    assert "/r.S/Get" in registry.methods  # the engine added it to the scan's registry
    # Without the reflection connection the same call has no field names.
    alone = _capture(tmp_path / "alone.pcap", _grpc(40002, 1_768_467_601.0, "/r.S/Get", call, b""))
    rows = scan_engine(alone, strict=True).inventory.rows()
    assert [(r.field, r.data_type) for r in rows if r.api == "/r.S/Get"] == [("1", "US_SSN")]


# -- the options hold configuration; the store is the only writer -----------------------


def test_dissector_options_hold_no_learned_state() -> None:
    options = DissectorOptions(kafka_topic_schemas={"orders": "shop.Order"})
    assert {f.name for f in dataclasses.fields(options)} == {"schemas", "kafka_topic_schemas"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.schemas = SchemaRegistry()  # type: ignore[misc]
    before = repr(options)
    dissector = KafkaDissector(options=options)
    events = dissector.feed(_REQ, kb.metadata_request(12, ["orders"], 1), 1)
    events += dissector.feed(_RESP, kb.metadata_response(12, {"orders": TOPIC_ID}, 1), 2)
    assert events == [Learned(kind=FactKind.KAFKA_TOPIC_ID, key=TOPIC_ID, value="orders")]
    assert repr(options) == before and dict(options.kafka_topic_schemas) == {"orders": "shop.Order"}
    # A second Metadata answer naming what this connection already knows says nothing.
    assert dissector.feed(_REQ, kb.metadata_request(12, ["orders"], 2), 3) == []
    assert dissector.feed(_RESP, kb.metadata_response(12, {"orders": TOPIC_ID}, 2), 4) == []


def test_what_the_scan_knows_is_not_learned_again() -> None:
    store = FactStore()
    store.learn(Learned(kind=FactKind.KAFKA_TOPIC_ID, key=TOPIC_ID, value="orders"))
    dissector = KafkaDissector()
    dissector.facts = store.view
    dissector.feed(_REQ, kb.metadata_request(12, ["orders"], 1), 1)
    assert dissector.feed(_RESP, kb.metadata_response(12, {"orders": TOPIC_ID}, 1), 2) == []


def test_the_view_is_read_only_and_the_store_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FactStore()
    with pytest.raises(TypeError):
        store.view.kafka_topic_ids["x"] = "y"  # type: ignore[index]
    monkeypatch.setattr(facts_module, "MAX_KEYS", 2)
    for n in range(3):
        store.learn(Learned(kind=FactKind.KAFKA_TOPIC_ID, key=f"id-{n}", value=f"topic-{n}"))
    assert dict(store.view.kafka_topic_ids) == {"id-0": "topic-0", "id-1": "topic-1"}
    # A reflected schema with no registry in the scan is dropped, not an error.
    store.learn(Learned(kind=FactKind.PROTOBUF_FILE, key="", value=b"\x0a\x01r"))
    assert store.schemas is None


def test_each_scan_has_its_own_store(tmp_path: Path) -> None:
    path = _capture(tmp_path / "m.pcap", _metadata(40001, 1_768_467_600.0))
    first, second = scan_engine(path), scan_engine(path)
    assert first.facts is not second.facts
    assert dict(first.facts.view.kafka_topic_ids) == dict(second.facts.view.kafka_topic_ids) == {
        TOPIC_ID: "orders"
    }


def _shard_apis(path: Path, shard: int, shards: int) -> set[str]:
    st = path.stat()
    task = FileTask(index=0, location=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                    shard=shard, shards=shards, plan=plan_shards(path, shards))  # fmt: skip
    inventory = decode(scan_file(EngineSpec(salt_hex="00" * 16), task))[0]
    return {r.api for r in inventory.rows() if r.data_type == "EMAIL_ADDRESS"}


@pytest.mark.parametrize("fetch_broker", ["10.0.0.5", "10.0.0.6"])
def test_split_by_api_every_shard_learns_every_fact(tmp_path: Path, fetch_broker: str) -> None:
    """A capture with Kafka is split by API (dpi/runs/shard_plan.py): every shard reads
    both connections and learns the topic id, and the shard that scores the topic names
    the fetch as one process does, whether the fetch goes to the broker that answered
    the metadata or to another (a fact that crosses servers: split by server, the
    fetch's shard would not know it)."""
    path = _capture(tmp_path / "sharded.pcap", _metadata(40010, 1_768_467_600.0, "10.0.0.5"),
                    _fetch(40002, 1_768_467_601.0, fetch_broker))  # fmt: skip
    assert _shard_apis(path, 0, 1) == {"orders"}
    assert not plan_shards(path, 2).by_server
    assert sorted(map(sorted, (_shard_apis(path, i, 2) for i in range(2)))) == [[], ["orders"]]
