"""Avro on Kafka (issue #21, item 3): Confluent-framed values named by their writer's
schema, learnt from Schema Registry traffic in the capture, from `--avro-schema` files or
from `--schema-registry`; and the binary fallback when no schema is known.

The sample (`samples/make_kafka_avro_samples.py`) is kafka-python's real producer and
consumer with Avro values and a Schema Registry stand-in, both in one capture.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fastavro
import pytest

from dpi.api import scan_engine
from dpi.cli import main
from dpi.engine import Engine
from dpi.schema_registry import SchemaRegistryLearner
from protocols.avro import AvroSchemas
from protocols.base import Direction, DissectorOptions, Location, Message, Part
from samples._capture_tools import (
    PCAP_HEADER_LEN,
    ip_header_offset,
    pcap_endian,
    pcap_records,
    tcp_payload,
)
from tests.samples.golden import assert_matches_expected

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CAPTURE = SAMPLES / "kafka-avro-registry.pcap"
EXPECTED = SAMPLES / "kafka-avro-registry.expected.csv"
REGISTRY_PORT = 38081
SCHEMA_ID = 7


def _without_registry(tmp_path: Path) -> Path:
    """The sample with every packet of the Schema Registry's port left out."""
    data = CAPTURE.read_bytes()
    offset = ip_header_offset(data)
    endian = pcap_endian(data)
    out = bytearray(data[:PCAP_HEADER_LEN])
    for sec, frac, incl, orig, frame in pcap_records(data):
        segment = tcp_payload(frame, offset)
        if segment is not None and REGISTRY_PORT in segment[:2]:
            continue
        out += struct.pack(endian + "IIII", sec, frac, incl, orig) + frame
    path = tmp_path / "no-registry.pcap"
    path.write_bytes(bytes(out))
    return path


def _schema_text() -> str:
    """The writer's schema, as the producer registered it (from the sample script)."""
    from samples.make_kafka_avro_samples import SCHEMA

    return json.dumps(SCHEMA)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


# -- the sample ------------------------------------------------------------------------


def test_registry_traffic_in_the_capture_names_the_avro_fields() -> None:
    engine = scan_engine(CAPTURE, strict=True)
    assert engine.stats.bugs == 0
    assert list(engine.facts.avro.by_id) == [SCHEMA_ID]
    assert_matches_expected(engine.inventory.rows(), EXPECTED)
    fields = {r.field for r in engine.inventory.rows()}
    assert {"customer.address.street", "card.number", "contacts[].email"} <= fields


def test_without_registry_traffic_the_fallback_still_finds_email_card_and_phone(
    tmp_path: Path,
) -> None:
    engine = scan_engine(_without_registry(tmp_path), strict=True)
    assert engine.facts.avro.by_id == {}
    rows = engine.inventory.rows()
    found = {(r.direction, r.location, r.field, r.data_type, r.count) for r in rows}
    # Every value holds an e-mail (two), a card number and a phone: one hit per value,
    # 4 values each way, however many runs carry the type.
    for direction in ("request", "response"):
        for data_type in ("EMAIL_ADDRESS", "CARD_NUMBER", "PHONE_NUMBER"):
            assert (direction, "value", "", data_type, 4) in found
    assert {r.field for r in rows} == {""}
    assert {r.sample for r in rows if r.data_type == "CARD_NUMBER"} == {"************1111"}
    explained = engine.inventory.explain()
    assert all("undecoded binary payload" in reason for e in explained for reason in e["reasons"])


def test_avsc_directory_names_the_fields_without_registry_traffic(tmp_path: Path) -> None:
    schemas = tmp_path / "avro"
    schemas.mkdir()
    (schemas / "customers-value.avsc").write_text(_schema_text())
    (schemas / "other.avsc").write_text('{"type": "record", "name": "O", "fields": [{"name": "x", "type": "long"}]}')
    out = tmp_path / "inv.csv"
    status = main(["scan", str(_without_registry(tmp_path)), "--avro-schema", str(schemas),
                   "-o", str(out), "-q", "--no-progress"])  # fmt: skip
    assert status == 0
    assert _rows(out) == _rows_of_golden_scan(tmp_path)


def _rows_of_golden_scan(tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / "golden.csv"
    assert main(["scan", str(CAPTURE), "-o", str(out), "-q", "--no-progress"]) == 0
    return _rows(out)


@pytest.fixture
def registry() -> Iterator[tuple[str, list[str]]]:
    """A Schema Registry stand-in on 127.0.0.1 (an ephemeral port) that knows id 7."""
    asked: list[str] = []
    text = _schema_text()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path == f"/schemas/ids/{SCHEMA_ID}":
                body, status = json.dumps({"schema": text}).encode(), 200
            else:
                body, status = b'{"error_code": 40403}', 404
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        thread.join(5)


def test_schema_registry_url_fetches_each_id_once(
    tmp_path: Path, registry: tuple[str, list[str]]
) -> None:
    url, asked = registry
    out = tmp_path / "inv.csv"
    status = main(["scan", str(_without_registry(tmp_path)), "--schema-registry", url,
                   "-o", str(out), "-q", "--no-progress"])  # fmt: skip
    assert status == 0
    assert asked == [f"/schemas/ids/{SCHEMA_ID}"]
    assert _rows(out) == _rows_of_golden_scan(tmp_path)


def test_unreachable_schema_registry_leaves_the_fallback(tmp_path: Path) -> None:
    store = AvroSchemas.from_dirs([], "http://127.0.0.1:9/")  # discard port: refused
    body = b"\x00\x00\x00\x00\x09" + b"\x02"
    assert store.for_framed(9, "t", "value", body) is None
    assert store.for_framed(9, "t", "value", body) is None
    assert store.fetched == {9}


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--avro-schema", "/nonexistent/avro"], "is not a directory"),
        (["--schema-registry", "ftp://registry.example/"], "http:// or https://"),
        (["--avro-schema", "{dir}", "--jobs", "2"], "do not work with --state, --jobs"),
        (["--avro-schema", "{bad}"], "recursive schema"),
    ],
)
def test_bad_avro_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], wanted: str
) -> None:
    good = tmp_path / "good"
    good.mkdir()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "node.avsc").write_text(
        '{"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}'
    )
    args = [a.format(dir=good, bad=bad) for a in args]
    status = main(["scan", str(CAPTURE), "-q", "--no-progress", *args])
    err = capsys.readouterr().err
    assert status == 2
    assert wanted in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# -- the learner -------------------------------------------------------------------------


class _Flow:
    def __init__(self, flow_id: int) -> None:
        self.id = flow_id


def _http(direction: Direction, api: str, body: dict[str, Any], status: int = 0) -> Message:
    part = Part(location=Location.BODY, name="", data=json.dumps(body).encode(),
                media_type="application/json")  # fmt: skip
    return Message(protocol="http", direction=direction, api=api, host="", ts_ns=1,
                   parts=(part,), status=status)  # fmt: skip


def test_learner_pairs_a_registration_with_its_id_and_keeps_other_answers_as_candidates() -> None:
    store = AvroSchemas()
    learner = SchemaRegistryLearner(store)
    flow = _Flow(1)
    api = "POST /subjects/orders-value/versions"
    string_schema = '"string"'
    learner.message(flow, _http(Direction.REQUEST, api, {"schema": string_schema}))  # type: ignore[arg-type]
    learner.message(flow, _http(Direction.RESPONSE, api, {"id": 12}, 200))  # type: ignore[arg-type]
    assert store.by_id == {12: string_schema}
    # /schemas/ids/{id}: the id is templated away; the schema becomes a candidate.
    record = '{"type": "record", "name": "R", "fields": [{"name": "n", "type": "long"}]}'
    learner.message(flow, _http(Direction.RESPONSE, "GET /schemas/ids/{id}", {"schema": record}, 200))  # type: ignore[arg-type]
    assert [c.text for c in store.candidates] == [record]
    # A protobuf schema's id is never tried as Avro; a failed answer teaches nothing.
    learner.message(flow, _http(Direction.RESPONSE, "GET /subjects/p-value/versions/{id}",
                                {"id": 13, "schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"}, 200))  # type: ignore[arg-type]  # fmt: skip
    learner.message(flow, _http(Direction.RESPONSE, "GET /subjects/q-value/versions/{id}",
                                {"id": 14, "schema": string_schema}, 404))  # type: ignore[arg-type]  # fmt: skip
    assert store.not_avro == {13}
    assert 14 not in store.by_id


def test_candidate_alone_to_fit_is_bound_to_the_id() -> None:
    store = AvroSchemas()
    record = '{"type": "record", "name": "R", "fields": [{"name": "n", "type": "long"}, {"name": "s", "type": "string"}]}'
    store.learn(None, record)
    store.learn(None, '{"type": "record", "name": "F", "fields": [{"name": "f", "type": "float"}]}')
    body = b"\x54" + b"\x0ahello"  # n=42, s="hello": 7 bytes, not a float's 4
    assert store.for_framed(5, "t", "value", body) == record
    assert store.by_id == {5: record}
    # Bytes left over: no schema fits.
    assert store.for_framed(6, "t", "value", body + b"\x00") is None


def test_engine_owns_one_learner_per_scan() -> None:
    options = DissectorOptions()
    engine = Engine(options=options, observers=[])
    learners = [o for o in engine.observers if isinstance(o, SchemaRegistryLearner)]
    assert len(learners) == 1 and learners[0].schemas is engine.facts.avro
    assert engine.facts.view.avro is engine.facts.avro  # what the Kafka dissector asks
    other = Engine(options=options, observers=[])
    assert other.facts.avro is not engine.facts.avro  # one store per scan, never shared
    assert not hasattr(options, "avro")  # configuration only: the store is the engine's


def test_avro_object_container_file_as_kafka_value_is_read_with_its_embedded_schema() -> None:
    from protocols.kafka._session import _payload_part
    from protocols.payload import field_pairs

    schema = {"type": "record", "name": "P", "fields": [{"name": "email", "type": "string"}]}
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(schema), [{"email": "a.b@mail.shopper-demo.net"}],
                    codec="deflate")  # fmt: skip
    part = _payload_part(Location.VALUE, "", out.getvalue())
    from protocols.base import Limits

    assert field_pairs(part, Limits()) == [("email", "a.b@mail.shopper-demo.net")]
