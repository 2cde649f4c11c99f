"""Kafka dissector: framing, pairing, versions, payload media types, real captures."""

from __future__ import annotations

import random
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Limits,
    Location,
    MediaType,
    Message,
    Probe,
    ProtocolError,
)
from protocols.kafka import KafkaDissector
from tests.builders import kafka as kb
from tests.builders.http2 import pb_varint

REQ = Direction.REQUEST
RESP = Direction.RESPONSE
BIG_JSON = kb.PII_VALUE


def run(
    conversation: list[tuple[Direction, bytes]],
    dissector: KafkaDissector | None = None,
    chunks: int = 0,
    seed: int = 0,
) -> list[Event]:
    dissector = dissector or KafkaDissector()
    rng = random.Random(seed)
    events: list[Event] = []
    for direction, data in conversation:
        if chunks == 1:
            pieces = [data[i : i + 1] for i in range(len(data))]
        elif chunks:
            cuts = sorted(rng.sample(range(1, len(data)), min(chunks, len(data) - 1)))
            pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        else:
            pieces = [data]
        for piece in pieces:
            events.extend(dissector.feed(direction, piece, 7))
    for direction in (REQ, RESP):
        events.extend(dissector.close(direction, 8))
    return events


def messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def summary(events: list[Event]) -> list[tuple[str, str, list[tuple[str, str, str, bytes]]]]:
    return [
        (
            m.direction.value,
            m.api,
            [(p.location.value, p.name, str(p.media_type), p.data) for p in m.parts],
        )
        for m in messages(events)
    ]


# -- contract-style checks -------------------------------------------------------------


def test_contract_conversation_any_split_gives_same_events() -> None:
    conversation = kb.contract_conversation()
    whole = run(conversation)
    assert [m.api for m in messages(whole)] == ["orders", "orders"]
    assert kinds(whole) == []
    assert run(conversation, chunks=1) == whole
    for seed in range(20):
        assert run(conversation, chunks=5, seed=seed) == whole


def test_contract_conversation_mutations_raise_only_protocol_error() -> None:
    conversation = kb.contract_conversation()
    rng = random.Random(1)
    for _ in range(300):
        mutated = []
        for direction, data in conversation:
            buf = bytearray(data)
            for _ in range(rng.randint(0, 3)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            mutated.append((direction, bytes(buf)))
        try:
            run(mutated, chunks=3, seed=rng.randrange(1000))
        except ProtocolError:
            pass


def test_empty_close_gives_no_events() -> None:
    dissector = KafkaDissector()
    assert dissector.close(REQ, 1) == [] and dissector.close(RESP, 1) == []


# -- probe -------------------------------------------------------------------------------


def test_probe_request_header_yes() -> None:
    assert KafkaDissector.probe(REQ, kb.api_versions_request(3, 1)) is Probe.YES
    assert KafkaDissector.probe(REQ, kb.produce_request(3, [("t", [(0, b"")])], 9)) is Probe.YES


def test_probe_short_request_need_more_garbage_no() -> None:
    data = kb.metadata_request(1, ["t"], 1)
    assert KafkaDissector.probe(REQ, data[:6]) is Probe.NEED_MORE
    assert KafkaDissector.probe(REQ, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is Probe.NO
    assert KafkaDissector.probe(REQ, b"\x00\x00\x00\x20\x03\xe7\x00\x00") is Probe.NO  # key 999


def test_probe_response_never_yes() -> None:
    response = kb.api_versions_response(3, 1)
    assert KafkaDissector.probe(RESP, response) is Probe.NEED_MORE
    assert KafkaDissector.probe(RESP, b"\xff\xff\xff\xff\x00\x00\x00\x01") is Probe.NO


def test_ports_and_name() -> None:
    assert KafkaDissector.name == "kafka"
    assert KafkaDissector.ports == frozenset({9092, 9093, 9094})


# -- Produce and Fetch versions ----------------------------------------------------------


def _records_for_magic(magic: int) -> bytes:
    if magic == 2:
        return kb.batch_v2([(b"k", BIG_JSON, [("source", b"web")])])
    return kb.message_set([(b"k", BIG_JSON)], magic=magic)


@pytest.mark.parametrize(
    ("version", "magic"),
    [(0, 0), (1, 0), (2, 1), (3, 2), (7, 2), (9, 2), (11, 2), (12, 2)],
)
def test_produce_versions_emit_request_per_topic(version: int, magic: int) -> None:
    records = _records_for_magic(magic)
    request = kb.produce_request(version, [("orders", [(0, records), (1, records)])], 11)
    events = run([(REQ, request), (RESP, kb.produce_response(version, ["orders"], 11))])
    assert kinds(events) == []
    (message,) = messages(events)
    assert (message.protocol, message.direction, message.api, message.host) == (
        "kafka",
        REQ,
        "orders",
        "",
    )
    expected = [(Location.KEY, ""), (Location.VALUE, "")]
    if magic == 2:
        expected.append((Location.HEADER, "source"))
    assert [(p.location, p.name) for p in message.parts] == expected * 2
    value = message.parts[1]
    assert value.media_type == MediaType.JSON and value.data == BIG_JSON


def test_produce_v13_topic_id_mapped_by_metadata() -> None:
    ids = {"payments": kb.TOPIC_ID}
    records = kb.batch_v2([(None, BIG_JSON, [])])
    events = run(
        [
            (REQ, kb.metadata_request(12, ["payments"], 1)),
            (RESP, kb.metadata_response(12, ids, 1)),
            (REQ, kb.produce_request(13, [("payments", [(0, records)])], 2, topic_ids=ids)),
        ]
    )
    assert [m.api for m in messages(events)] == ["payments"]


@pytest.mark.parametrize(("version", "magic"), [(0, 0), (4, 1), (11, 2), (12, 2)])
def test_fetch_versions_emit_response_with_request_version(version: int, magic: int) -> None:
    records = _records_for_magic(magic)
    events = run(
        [
            (REQ, kb.fetch_request(version, ["orders"], 21)),
            (RESP, kb.fetch_response(version, [("orders", [(0, records)])], 21)),
        ]
    )
    assert kinds(events) == []
    (message,) = messages(events)
    assert (message.direction, message.api) == (RESP, "orders")
    assert message.parts[1].data == BIG_JSON


@pytest.mark.parametrize("version", [13, 16, 17])
def test_fetch_topic_ids_without_metadata_use_topic_id_api(version: int) -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    events = run(
        [
            (REQ, kb.fetch_request(version, ["orders"], 3)),
            (RESP, kb.fetch_response(version, [("orders", [(0, records)])], 3)),
        ]
    )
    assert [m.api for m in messages(events)] == [f"topic-id:{kb.TOPIC_ID}"]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_fetch_each_codec_yields_values(codec: str) -> None:
    records = kb.batch_v2([(b"k", BIG_JSON, [])] * 4, codec=kb.CODECS[codec])
    events = run(
        [
            (REQ, kb.fetch_request(11, ["orders"], 5)),
            (RESP, kb.fetch_response(11, [("orders", [(0, records)])], 5)),
        ]
    )
    (message,) = messages(events)
    assert [p.data for p in message.parts if p.location is Location.VALUE] == [BIG_JSON] * 4


def test_fetch_partial_trailing_batch_reports_and_keeps_first() -> None:
    first = kb.batch_v2([(None, BIG_JSON, [])])
    second = kb.batch_v2([(None, BIG_JSON, [])], base_offset=1)
    records = first + second[:30]
    events = run(
        [
            (REQ, kb.fetch_request(11, ["orders"], 5)),
            (RESP, kb.fetch_response(11, [("orders", [(0, records)])], 5)),
        ]
    )
    assert len(messages(events)[0].parts) == 1
    assert kinds(events) == ["partial_record_batch"]


def test_hand_encoded_produce_v9_matches_kafka_python() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    hand = kb.hand_produce_v9("orders", records, 4)
    assert hand == kb.produce_request(9, [("orders", [(0, records)])], 4)
    assert [m.api for m in messages(run([(REQ, hand)]))] == ["orders"]


# -- pairing, skipping, resync -----------------------------------------------------------


def test_unpaired_response_is_skipped_with_anomaly() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    events = run([(RESP, kb.fetch_response(11, [("orders", [(0, records)])], 99))])
    assert messages(events) == []
    assert kinds(events) == ["unpaired_response"]


def test_unknown_api_key_is_skipped_and_stream_continues() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    events = run(
        [
            (REQ, kb.api_versions_request(0, 1)),
            (RESP, kb.api_versions_response(0, 1)),
            (REQ, kb.raw_request(99, 0, 2, b"\x00" * 40)),
            (RESP, kb.raw_response(2, b"\x00" * 10)),
            (REQ, kb.produce_request(3, [("orders", [(0, records)])], 3)),
        ]
    )
    assert kinds(events) == ["unknown_api_key"]
    assert [m.api for m in messages(events)] == ["orders"]


def test_other_apis_are_skipped_cleanly() -> None:
    events = run(
        [
            (REQ, kb.raw_request(12, 0, 1, b"\x00\x01g\x00\x00\x00\x01\x00\x01m")),
            (RESP, kb.raw_response(1, b"\x00\x00")),
            (REQ, kb.raw_request(2, 0, 2, b"\x00" * 20)),
            (RESP, kb.raw_response(2, b"\x00" * 12)),
        ]
    )
    assert events == []


def test_midstream_request_side_resyncs_on_header() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    request = kb.produce_request(3, [("orders", [(0, records)])], 5)
    tail_of_previous = request[37:]  # the end of an earlier message
    events = run([(REQ, tail_of_previous + request)])
    assert [m.api for m in messages(events)] == ["orders"]
    assert kinds(events) == ["resync"]


def test_gap_inside_a_message_keeps_alignment() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    first = kb.produce_request(3, [("lost", [(0, records)])], 1)
    second = kb.produce_request(3, [("kept", [(0, records)])], 2)
    dissector = KafkaDissector()
    events = dissector.feed(REQ, first[:50], 1)
    events += dissector.gap(REQ, 20)
    events += dissector.feed(REQ, first[70:] + second, 2)
    assert [m.api for m in messages(events)] == ["kept"]
    assert kinds(events) == ["gap", "gap_in_message"]


def test_gap_at_boundary_resyncs_on_next_request() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    first = kb.produce_request(3, [("lost", [(0, records)])], 1)
    second = kb.produce_request(3, [("kept", [(0, records)])], 2)
    dissector = KafkaDissector()
    events = dissector.gap(REQ, len(first) - 10)
    events += dissector.feed(REQ, first[-10:] + second, 2)
    assert [m.api for m in messages(events)] == ["kept"]
    assert "resync" in kinds(events)


def test_oversized_fetch_response_is_skipped_not_buffered() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])] * 50)
    limits = Limits(max_buffer_bytes=1024)
    dissector = KafkaDissector(limits)
    events = run(
        [
            (REQ, kb.fetch_request(11, ["orders"], 5)),
            (RESP, kb.fetch_response(11, [("orders", [(0, records)])], 5)),
            (REQ, kb.fetch_request(11, ["orders"], 6)),
        ],
        dissector,
        chunks=4,
    )
    assert kinds(events) == ["message_too_large"]
    assert len(dissector._session._sides[RESP].buf) == 0  # the connection's session (_session.py)


def test_acks_zero_produce_is_not_paired() -> None:
    records = kb.batch_v2([(None, BIG_JSON, [])])
    dissector = KafkaDissector()
    run([(REQ, kb.produce_request(3, [("orders", [(0, records)])], 1, acks=0))], dissector)
    assert dissector._session._pending == {}


def test_negative_size_in_sync_raises_protocol_error() -> None:
    dissector = KafkaDissector()
    dissector.feed(REQ, kb.api_versions_request(0, 1), 1)
    with pytest.raises(ProtocolError) as info:
        dissector.feed(REQ, b"\xff\xff\xff\xf0" + b"\x00" * 12, 2)
    assert "\\x" not in str(info.value)


def test_truncated_message_on_close_is_reported() -> None:
    request = kb.api_versions_request(3, 1)
    dissector = KafkaDissector()
    events = dissector.feed(REQ, request[:-3], 1) + dissector.close(REQ, 2)
    assert kinds(events) == ["truncated_message"]


# -- payloads ---------------------------------------------------------------------------


def _value_part(value: bytes):  # type: ignore[no-untyped-def]
    records = kb.batch_v2([(None, value, [])])
    (message,) = messages(run([(REQ, kb.produce_request(3, [("t", [(0, records)])], 1))]))
    return message.parts[0]


def test_confluent_json_schema_framing_is_stripped() -> None:
    part = _value_part(b"\x00\x00\x00\x00\x07" + BIG_JSON)
    assert (part.media_type, part.data) == (MediaType.JSON, BIG_JSON)


def test_confluent_protobuf_framing_gives_protobuf_body() -> None:
    body = b"\x0a\x14jane.doe@example.com\x10\x2a"  # field 1 string, field 2 varint
    part = _value_part(b"\x00\x00\x00\x00\x07\x00" + body)
    assert (part.media_type, part.data) == (MediaType.PROTOBUF, body)


def test_unframed_value_is_protobuf_only_with_valid_field_numbers() -> None:
    # protocols.protobuf.is_message judges it: field numbers are 29 bits (the same rule the
    # schema-less decoder applies, so a value it would refuse is binary from the start)
    assert _value_part(pb_varint((1 << 29) - 1, 5)).media_type == MediaType.PROTOBUF
    assert _value_part(pb_varint(1 << 29, 5)).media_type == MediaType.BINARY


def test_confluent_avro_framing_is_binary() -> None:
    part = _value_part(b"\x00\x00\x00\x00\x07\x06\x80\xff\xfe\x01")
    assert part.media_type == MediaType.BINARY


def test_plain_text_and_binary_values() -> None:
    assert _value_part(b"hello world").media_type == MediaType.TEXT
    assert _value_part(b"\xff\xfe\x00\x01").media_type == MediaType.BINARY


def test_sasl_plain_credentials_become_auth_parts() -> None:
    handshake = kb.raw_request(17, 1, 1, b"\x00\x05PLAIN")
    token = b"\x00alice\x00s3cr3t-pass"
    authenticate = kb.raw_request(36, 1, 2, len(token).to_bytes(4, "big") + token)
    (message,) = messages(run([(REQ, handshake), (REQ, authenticate)]))
    assert message.api == "(sasl)"
    assert [(p.location, p.name, p.data) for p in message.parts] == [
        (Location.AUTH, "username", b"alice"),
        (Location.AUTH, "password", b"s3cr3t-pass"),
    ]


def test_message_repr_has_no_payload() -> None:
    events = run(kb.contract_conversation())
    assert all("jane" not in repr(e) for e in events)


# -- real captures ----------------------------------------------------------------------

KAFKA_PORTS = {9092, 36333}


def tshark_streams(tshark: str, path: Path) -> dict[int, list[tuple[Direction, bytes, int]]]:
    """Per TCP stream, the payload segments in capture order, retransmits dropped."""
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(path),
            "-Y",
            "tcp.len>0",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.dstport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.payload",
            "-e",
            "frame.time_epoch",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    streams: dict[int, list[tuple[Direction, bytes, int]]] = defaultdict(list)
    seen: set[tuple[int, Direction, int]] = set()
    for line in out.splitlines():
        stream, dport, seq, payload, epoch = line.split("\t")
        direction = REQ if int(dport) in KAFKA_PORTS else RESP
        key = (int(stream), direction, int(seq))
        if key in seen:
            continue
        seen.add(key)
        ts_ns = int(epoch.replace(".", "")[:19].ljust(19, "0"))
        streams[int(stream)].append((direction, bytes.fromhex(payload), ts_ns))
    return streams


def scan(tshark: str, path: Path) -> list[Event]:
    events: list[Event] = []
    for segments in tshark_streams(tshark, path).values():
        dissector = KafkaDissector()
        for direction, data, ts_ns in segments:
            events.extend(dissector.feed(direction, data, ts_ns))
        for direction in (REQ, RESP):
            events.extend(dissector.close(direction, 0))
    return events


REAL = {
    "rdkafka-produce-v3-v9-metadata.pcapng": (
        [("request", "LB_MAIN_LOG_INPUT", "application/json")] * 2
        + [("request", "sampleTopic", "text/plain")],
        ["unpaired_response"] * 3,
    ),
    "kafka-python-produce-v1-sll.pcap": ([("request", "test", "application/json")], []),
    "produce-v2-console.pcap": ([("request", "topic2", "text/plain")], []),
    "produce-v7-record-headers.pcap": ([("request", "quickstart-events", "text/plain")], []),
    "produce-v9-flexible.pcap": ([("request", "zqy-test", "text/plain")], []),
    "fetch-v12-flexible.pcap": ([], []),
    # The manifest speaks of a response without its request; by correlation id (tshark
    # agrees) every response here is paired: the Fetch v13 answer is an empty 21 bytes.
    "consumer-group-mixed-versions.pcap": ([], []),
    "offsets-v0-vlan.pcap": ([], []),
    "api-versions-v3.pcap": ([], []),
    "join-group-v7.pcap": ([], []),
    "sync-group-v5.pcap": ([], []),
}


@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_capture_inventory_pinned(name: str, shared_captures: Path, tshark: str) -> None:
    events = scan(tshark, shared_captures / "kafka" / name)
    expected_messages, expected_kinds = REAL[name]
    got = [(m.direction.value, m.api, str(m.parts[-1].media_type)) for m in messages(events)]
    assert sorted(got) == sorted(expected_messages)
    assert sorted(kinds(events)) == sorted(expected_kinds)


@pytest.mark.tshark
def test_real_produce_v7_key_value_header(shared_captures: Path, tshark: str) -> None:
    events = scan(tshark, shared_captures / "kafka" / "produce-v7-record-headers.pcap")
    (message,) = messages(events)
    assert [(p.location, p.name) for p in message.parts] == [
        (Location.KEY, ""),
        (Location.VALUE, ""),
        (Location.HEADER, "sw8"),
    ]
    assert message.parts[0].data == b"MyKey" and message.parts[1].data == b"Hello Kafka"


@pytest.mark.tshark
def test_real_produce_v2_text_value(shared_captures: Path, tshark: str) -> None:
    events = scan(tshark, shared_captures / "kafka" / "produce-v2-console.pcap")
    assert messages(events)[0].parts[0].data == b"Message without compression"


@pytest.mark.tshark
@pytest.mark.parametrize(
    ("name", "decode_as"),
    [
        ("rdkafka-produce-v3-v9-metadata.pcapng", ""),
        ("produce-v7-record-headers.pcap", "tcp.port==36333,kafka"),
    ],
)
def test_real_topics_match_tshark(
    name: str, decode_as: str, shared_captures: Path, tshark: str
) -> None:
    """tshark 4.0 decodes Produce v3/v7 (not v9): its topic names must be ours."""
    path = shared_captures / "kafka" / name
    args = [
        tshark,
        "-r",
        str(path),
        "-Y",
        "kafka.request_key==0 && kafka.api_version<9",
        "-T",
        "fields",
        "-e",
        "kafka.topic_name",
    ]
    if decode_as:
        args[3:3] = ["-d", decode_as]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    theirs = {name for line in out.split() for name in line.split(",") if name}
    ours = {m.api for m in messages(scan(tshark, path))} - {"sampleTopic"}
    assert theirs == ours


# -- generated samples (samples/make_kafka_samples.py) ---------------------------------

SAMPLE_PORT = 39092


def _json_paths(data: bytes) -> set[str]:
    import json

    paths: set[str] = set()

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else key)
        else:
            paths.add(prefix)

    walk(json.loads(data), "")
    return paths


@pytest.mark.tshark
@pytest.mark.parametrize("name", ["kafka-v3-gzip-snappy", "kafka-flexible-lz4-zstd"])
def test_sample_messages_match_expected_csv(name: str, samples_dir: Path, tshark: str) -> None:
    import csv

    KAFKA_PORTS.add(SAMPLE_PORT)
    try:
        events = scan(tshark, samples_dir / f"{name}.pcap")
    finally:
        KAFKA_PORTS.discard(SAMPLE_PORT)
    assert kinds(events) == []
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for message in messages(events):
        for part in message.parts:
            if part.location is Location.VALUE:
                assert part.media_type == MediaType.JSON
                fields = _json_paths(part.data)
            elif part.location is Location.HEADER:
                fields = {part.name}
            else:
                continue
            for path in fields:
                counts[(message.api, message.direction.value, part.location.value, path)] += 1
    with (samples_dir / f"{name}.expected.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        key = (row["api"], row["direction"], row["location"], row["field"])
        assert counts[key] == int(row["count"]), key


def test_topic_schema_names_confluent_protobuf_fields(tmp_path: Path) -> None:
    """`--topic-schema`: values of a mapped topic decode with the .proto's field names."""
    from protocols.base import DissectorOptions, Limits
    from protocols.payload import decode_part
    from protocols.protobuf import SchemaRegistry

    (tmp_path / "customer.proto").write_text(
        'syntax = "proto3";\npackage shop;\n'
        "message Customer { string email = 1; int32 tier = 2; }\n"
    )
    registry = SchemaRegistry()
    registry.load_proto_dirs([tmp_path])
    body = b"\x0a\x17dana.w@shopper-demo.net\x10\x02"  # field 1 string (23), field 2 varint
    records = kb.batch_v2([(None, b"\x00\x00\x00\x00\x07\x00" + body, [])])
    request = kb.produce_request(3, [("customers.v1", [(0, records)])], 1)
    options = DissectorOptions(schemas=registry, kafka_topic_schemas={"customers.*": "shop.Customer"})
    dissector = KafkaDissector(options=options)
    (message,) = messages(dissector.feed(REQ, request, 1))
    (part,) = message.parts
    assert part.schema == "shop.Customer"
    values = {v.path: v.value for v in decode_part(part, Limits(), registry)}
    assert values == {"email": "dana.w@shopper-demo.net", "tier": "2"}
    # an unmapped topic keeps field numbers
    plain = KafkaDissector(options=DissectorOptions(schemas=registry))
    (message,) = messages(plain.feed(REQ, request, 1))
    assert {v.path for v in decode_part(message.parts[0], Limits(), registry)} == {"1", "2"}
