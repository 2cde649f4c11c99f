"""Generates `kafka-avro-registry.pcap`: kafka-python's real producer and consumer with
Avro values in the Confluent wire format, and the Schema Registry traffic that goes
with them, in one capture.

Run `python samples/make_kafka_avro_samples.py [--out-dir DIR]` as root (dumpcap on `lo`).
The broker is the stand-in of `make_kafka_samples.py` (Kafka 2.8 versions: Produce v9,
Fetch v12). A tiny Schema Registry stand-in (`http.server` on 127.0.0.1:38081) answers
what Confluent's Avro serializer and deserializer ask: the producer registers the
schema (`POST /subjects/customers-value/versions` -> `{"id": 7}`) and frames each value
(magic 0, schema id, Avro binary written by fastavro); the consumer looks the id up
(`GET /schemas/ids/7`) and decodes what it fetched. Both ports are in the capture.

The schema exercises what the spec names: nested records (`customer.address.street`), a
union holding a record (`card.number`), an array of records (`contacts[].email`), a map
(`attributes.{key}`) and logical types (date, timestamp-millis, decimal, uuid).

The expected CSV comes from ground truth: the broker decodes every value it receives and
serves (with the schema the producer registered) and logs it per message; packet times
are on the private clock of `samples/_capture_tools.py`. Scanned without the registry's
packets, the same capture must still show the e-mail and card numbers by the binary
fallback (field empty): `tests/protocols/test_kafka_avro.py` checks that.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fastavro
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from samples._capture_tools import (
    DUMPCAP_WARMUP_S,
    expected_row,
    ip_header_offset,
    rewrite_times,
    sort_rows,
    tcp_payload,
    write_csv,
)
from samples.make_kafka_samples import HOST, PORT, Broker, Log, Scenario, completion_times

REGISTRY_PORT = 38081
NAME = "kafka-avro-registry"
TOPIC = "customers"
SUBJECT = f"{TOPIC}-value"
SCHEMA_ID = 7
SCHEMA = {
    "type": "record",
    "name": "CustomerEvent",
    "namespace": "shop.avro",
    "fields": [
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Person",
                "fields": [
                    {"name": "email", "type": "string"},
                    {"name": "phone", "type": ["null", "string"]},
                    {"name": "birth_date", "type": {"type": "int", "logicalType": "date"}},
                    {
                        "name": "address",
                        "type": {
                            "type": "record",
                            "name": "Address",
                            "fields": [
                                {"name": "street", "type": "string"},
                                {"name": "city", "type": "string"},
                            ],
                        },
                    },
                ],
            },
        },
        {
            "name": "card",
            "type": [
                "null",
                {"type": "record", "name": "Card", "fields": [{"name": "number", "type": "string"}]},
            ],
        },
        {
            "name": "contacts",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Contact",
                    "fields": [{"name": "email", "type": "string"}],
                },
            },
        },
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {"name": "order_id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "notes", "type": "string"},
        {"name": "seq", "type": "int"},
    ],
}
PARSED = fastavro.parse_schema(SCHEMA)

# Synthetic PII: e-mails at the samples' demo domain, NANP 555-01xx fiction numbers,
# brands' test PANs.
PEOPLE = [
    ("ana.silva@mail.shopper-demo.net", "+1 202 555 0143", "4111111111111111", "1988-03-14"),
    ("li.wei@mail.shopper-demo.net", "+1 202 555 0178", "5555555555554444", "1991-11-02"),
    ("omar.haddad@mail.shopper-demo.net", "+1 415 555 0112", "378282246310005", "1979-06-25"),
    ("sofia.rossi@mail.shopper-demo.net", "+1 646 555 0190", "6011111111111117", "2000-01-09"),
]
# Value fields -> data type (spec: Avro field names from the writer's schema).
VALUE_FIELDS = {
    "customer.email": "EMAIL_ADDRESS",
    "customer.phone": "PHONE_NUMBER",
    "customer.birth_date": "DATE_OF_BIRTH",
    "customer.address.street": "STREET_ADDRESS",
    "card.number": "CARD_NUMBER",
    "contacts[].email": "EMAIL_ADDRESS",
}
CATEGORY = {"CARD_NUMBER": "PCI"}  # the others are PII


def value_of(person: tuple[str, str, str, str], index: int) -> dict[str, Any]:
    email, phone, card, born = person
    local = email.split("@")[0]
    return {
        "customer": {
            "email": email,
            "phone": phone,
            "birth_date": dt.date.fromisoformat(born),
            "address": {"street": f"{12 + index} Harbour Road", "city": "Springfield"},
        },
        "card": {"number": card},
        "contacts": [{"email": f"{local}.work@mail.shopper-demo.net"}],
        "attributes": {"tier": "gold", "channel": "web"},
        "amount": decimal.Decimal(f"{19 + index}.90"),
        "order_id": f"6f1c2d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f{index}",
        "created": dt.datetime(2026, 1, 15, 9, 0, index, tzinfo=dt.UTC),
        "notes": "order status pending review",
        "seq": index,
    }


# -- the Schema Registry stand-in ------------------------------------------------------


class Registry(BaseHTTPRequestHandler):
    """`POST /subjects/<subject>/versions`, `GET /subjects/<subject>/versions`,
    `GET /schemas/ids/<id>`: the Schema Registry API as the serializers use it."""

    schemas: ClassVar[dict[int, str]] = {}  # one registry: shared by every request

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, answer: Any, status: int = 200) -> None:
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(size))
        if self.path == f"/subjects/{SUBJECT}/versions":
            self.schemas[SCHEMA_ID] = request["schema"]
            self._reply({"id": SCHEMA_ID})
        else:
            self._reply({"error_code": 40401, "message": "Subject not found"}, 404)

    def do_GET(self) -> None:
        if self.path == f"/subjects/{SUBJECT}/versions":
            self._reply([1])
        elif self.path.startswith("/schemas/ids/") and int(self.path.rsplit("/", 1)[1]) in self.schemas:
            self._reply({"schema": self.schemas[int(self.path.rsplit("/", 1)[1])]})
        else:
            self._reply({"error_code": 40403, "message": "Schema not found"}, 404)


def registry_url() -> str:
    return f"http://{HOST}:{REGISTRY_PORT}"


# -- Confluent's wire format -------------------------------------------------------------


class AvroSerializer:
    """What Confluent's AvroSerializer does: register the schema once, then frame."""

    def __init__(self) -> None:
        self.schema_id: int | None = None

    def __call__(self, value: dict[str, Any]) -> bytes:
        if self.schema_id is None:
            body = json.dumps({"schema": json.dumps(SCHEMA)}).encode()
            request = urllib.request.Request(
                f"{registry_url()}/subjects/{SUBJECT}/versions",
                data=body,
                headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                self.schema_id = int(json.loads(answer.read())["id"])
        out = io.BytesIO()
        out.write(struct.pack(">bI", 0, self.schema_id))
        fastavro.schemaless_writer(out, PARSED, value)
        return out.getvalue()


class AvroDeserializer:
    """What Confluent's AvroDeserializer does: look the id up once, then decode."""

    def __init__(self) -> None:
        self.schemas: dict[int, Any] = {}

    def __call__(self, raw: bytes) -> dict[str, Any]:
        magic, schema_id = struct.unpack_from(">bI", raw, 0)
        if magic != 0:
            raise ValueError("not the Confluent wire format")
        if schema_id not in self.schemas:
            with urllib.request.urlopen(f"{registry_url()}/schemas/ids/{schema_id}", timeout=5) as answer:
                text = json.loads(answer.read())["schema"]
            self.schemas[schema_id] = fastavro.parse_schema(json.loads(text))
        return dict(fastavro.schemaless_reader(io.BytesIO(raw[5:]), self.schemas[schema_id]))


class AvroBroker(Broker):
    """The stand-in broker; its ground-truth log decodes the Avro values."""

    def decode_value(self, raw: bytes) -> dict[str, Any]:
        return dict(fastavro.schemaless_reader(io.BytesIO(raw[5:]), PARSED))


# -- run and record ------------------------------------------------------------------------


def run_clients() -> None:
    producer = KafkaProducer(
        bootstrap_servers=f"{HOST}:{PORT}",
        linger_ms=50,
        value_serializer=AvroSerializer(),
        acks=1,
        request_timeout_ms=5000,
        retries=0,
    )
    for index, person in enumerate(PEOPLE):
        producer.send(TOPIC, value=value_of(person, index), key=b"cust-%04d" % index, partition=0)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=f"{HOST}:{PORT}",
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        fetch_max_wait_ms=100,
        value_deserializer=AvroDeserializer(),
    )
    partition = TopicPartition(TOPIC, 0)
    consumer.assign([partition])
    consumer.seek(partition, 0)
    got = [record.value for _, record in zip(range(len(PEOPLE)), consumer, strict=False)]
    consumer.close()
    if [v["customer"]["email"] for v in got] != [p[0] for p in PEOPLE]:
        raise RuntimeError(f"consumer read {len(got)} records")


def record(pcap: Path) -> None:
    """dumpcap on `lo` for the broker's and the registry's ports while the clients run."""
    capture = subprocess.Popen(
        ["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {PORT} or tcp port {REGISTRY_PORT}",
         "-P", "-w", str(pcap)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(DUMPCAP_WARMUP_S)
    try:
        run_clients()
        time.sleep(0.5)
    finally:
        capture.terminate()
        capture.wait(10)
    os.chmod(pcap, 0o644)


def kafka_frames(frames: list[tuple[int, bytes]], offset: int) -> list[tuple[int, bytes]]:
    """The broker's packets only (the registry's are HTTP)."""
    out = []
    for ts_us, frame in frames:
        segment = tcp_payload(frame, offset)
        if segment is not None and PORT in segment[:2]:
            out.append((ts_us, frame))
    return out


def leaves(value: Any, path: str) -> list[str]:
    """The values at a spec path (`contacts[].email`) of a decoded record."""
    nodes = [value]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        nodes = [n[key] for n in nodes if isinstance(n, dict) and n.get(key) is not None]
        if many:
            nodes = [item for n in nodes for item in n]
    return [str(n) for n in nodes]


def expected_rows(log: Log, times: dict[tuple[int, int, str], int]) -> list[dict[str, str]]:
    agg: dict[tuple[str, str, str], list[Any]] = {}
    for (port, corr, direction), items in log.messages.items():
        ts = times[(port, corr, direction)]
        for topic, value, _ in items:
            for path, data_type in VALUE_FIELDS.items():
                for text in leaves(value, path):
                    row = agg.setdefault((direction, path, data_type), [0, ts, ts, text])
                    row[0] += 1
                    if ts < row[1]:
                        row[1], row[3] = ts, text
                    row[2] = max(row[2], ts)
    rows = [
        expected_row(
            protocol="kafka",
            server=f"{HOST}:{PORT}",
            host="",
            api=TOPIC,
            direction=direction,
            location="value",
            field=path,
            data_type=data_type,
            category=CATEGORY.get(data_type, "PII"),
            count=count,
            first_us=first,
            last_us=last,
            value=text,
        )
        for (direction, path, data_type), (count, first, last, text) in agg.items()
    ]
    return sort_rows(rows)


def make(out_dir: Path) -> None:
    pcap = out_dir / f"{NAME}.pcap"
    log = Log()
    broker = AvroBroker(Scenario(NAME, (2, 8), {TOPIC: "none"}), log)
    server = threading.Thread(target=broker.serve, daemon=True)
    registry = ThreadingHTTPServer((HOST, REGISTRY_PORT), Registry)
    registry_thread = threading.Thread(target=registry.serve_forever, daemon=True)
    server.start()
    registry_thread.start()
    try:
        record(pcap)
    finally:
        broker.stop = True
        server.join(5)
        registry.shutdown()
    frames = rewrite_times(pcap)
    offset = ip_header_offset(pcap.read_bytes())
    times = completion_times(kafka_frames(frames, offset), offset)
    rows = expected_rows(log, times)
    write_csv(out_dir / f"{NAME}.expected.csv", rows)
    print(f"{pcap.name}: {pcap.stat().st_size} bytes, {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    make(parser.parse_args().out_dir)


if __name__ == "__main__":
    main()
