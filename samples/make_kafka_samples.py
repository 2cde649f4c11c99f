"""Generates the Kafka sample captures with kafka-python's real producer and consumer.

Run `python samples/make_kafka_samples.py [--out-dir DIR]` as root (dumpcap on `lo`).
A real Kafka broker cannot be installed here, so a small stand-in broker on 127.0.0.1
answers what kafka-python's KafkaProducer and KafkaConsumer need: ApiVersions, Metadata,
Produce and Fetch (the consumer is assigned its partition and seeks to 0, so no group
coordinator or ListOffsets is needed). Responses are encoded with kafka-python's own
protocol classes; the stand-in advertises per scenario the highest versions it supports,
which is how each scenario pins the versions the client uses.

Each scenario writes `kafka-<name>.pcap` and `kafka-<name>.expected.csv`. Packet times are
rewritten to a private clock (2026-01-15T09:00:00Z onward, whole milliseconds plus 0-499
microseconds, as `make_samples.py` does) so that the CSV's first/last seen are stable.
Ephemeral ports, TCP sequence numbers and record timestamps come from the kernel and the
client, so the capture bytes differ between runs; the expected CSV does not.

The expected CSV comes from ground truth, not from dpi: the stand-in logs which records it
received in each Produce request and served in each Fetch response (by client port and
correlation id); the capture is framed here (size prefix only) to find the packet that
completed each of those messages.

snappy: kafka-python's codec wants python-snappy; cramjam (a project dependency) stands in.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.protocol.broker_version_data import BROKER_API_VERSIONS
from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.metadata import (
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceRequest, ProduceResponse

from samples._capture_tools import (
    dumpcap_loopback,
    expected_row,
    ip_header_offset,
    rewrite_times,
    sort_rows,
    tcp_payload,
    write_csv,
)
from tests.builders.kafka import install_snappy_shim

install_snappy_shim()

PORT = 39092  # private port: the capture filter and the `server` column use it
HOST = "127.0.0.1"
TOPIC_IDS = {
    "customers": "3f1c2d4e-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
    "payments": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f708192a3",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    # The Kafka release whose api version table the stand-in advertises (kafka-python's
    # own table of releases); the client picks min(its own, these) per api key.
    broker: tuple[int, ...]
    # topic -> compression type of its producer
    topics: dict[str, str]


# v3-gzip-snappy: Produce v3, Fetch v5, Metadata v4 (Kafka 0.11, record batches v2).
# flexible-lz4-zstd: Produce v9, Fetch v12, Metadata v11 (Kafka 2.8, KIP-482 encodings).
SCENARIOS = {
    "v3-gzip-snappy": Scenario(
        "v3-gzip-snappy", (0, 11), {"customers": "gzip", "payments": "snappy"}
    ),
    "flexible-lz4-zstd": Scenario(
        "flexible-lz4-zstd", (2, 8), {"customers": "lz4", "payments": "zstd"}
    ),
}

# Synthetic PII: reserved example.com mail, NANP 555-01xx fiction numbers, test PANs.
PEOPLE = [
    ("ana.silva@example.com", "+1 202 555 0143", "4111111111111111"),
    ("li.wei@example.com", "+1 202 555 0178", "5555555555554444"),
    ("omar.haddad@example.com", "+1 415 555 0112", "378282246310005"),
    ("sofia.rossi@example.com", "+1 646 555 0190", "6011111111111117"),
]
RECORDS_PER_TOPIC = len(PEOPLE)
# Value fields -> data type (the JSON paths of spec/inventory.md).
VALUE_FIELDS = {
    "customer.email": "EMAIL_ADDRESS",
    "customer.phone": "PHONE_NUMBER",
    "card.number": "CARD_NUMBER",
}
HEADER_FIELDS = {"x-user-email": "EMAIL_ADDRESS"}
CATEGORY = {"EMAIL_ADDRESS": "PII", "PHONE_NUMBER": "PII", "CARD_NUMBER": "PCI"}


def value_of(person: tuple[str, str, str], index: int) -> dict[str, Any]:
    email, phone, card = person
    return {
        "customer": {"email": email, "phone": phone},
        "card": {"number": card},
        # Filler so that every codec really compresses (kafka-python keeps a batch
        # uncompressed when compression does not make it smaller).
        "notes": "order status pending review " * 8,
        "seq": index,
    }


# -- the stand-in broker -------------------------------------------------------------------


@dataclass
class Log:
    # (client port, correlation id, direction) -> list of (topic, value dict, headers)
    messages: dict[tuple[int, int, str], list[tuple[str, dict[str, Any], dict[str, bytes]]]] = (
        field(default_factory=dict)
    )


class Broker:
    def __init__(self, scenario: Scenario, log: Log) -> None:
        self.scenario = scenario
        self.log = log
        self.batches: dict[str, list[bytes]] = defaultdict(list)
        self.next_offset: dict[str, int] = defaultdict(int)
        self.sock = socket.create_server((HOST, PORT), reuse_port=True)
        self.stop = False
        self.threads: list[threading.Thread] = []

    def decode_value(self, raw: bytes) -> dict[str, Any]:
        """A record value as the ground truth logs it (make_kafka_avro_samples.py: Avro)."""
        return dict(json.loads(raw))

    def serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self.connection, args=(conn, addr[1]), daemon=True)
            thread.start()
            self.threads.append(thread)
        self.sock.close()

    def connection(self, conn: socket.socket, port: int) -> None:
        with conn:
            while True:
                head = _recv(conn, 4)
                if head is None:
                    return
                (size,) = struct.unpack(">i", head)
                body = _recv(conn, size)
                if body is None:
                    return
                key, version, corr = struct.unpack_from(">hhi", body, 0)
                reply = self.answer(key, version, corr, body, port)
                if reply is not None:
                    conn.sendall(reply)

    def answer(self, key: int, version: int, corr: int, body: bytes, port: int) -> bytes | None:
        handlers = {18: self.api_versions, 3: self.metadata, 0: self.produce, 1: self.fetch}
        handler = handlers.get(key)
        if handler is None:
            raise RuntimeError(f"stand-in broker got api key {key}")
        message = handler(version, body, corr, port)
        if message is None:
            return None
        message.with_header(correlation_id=corr)
        return bytes(message.encode(header=True, framed=True))

    def api_versions(self, version: int, body: bytes, corr: int, port: int) -> Any:
        A = ApiVersionsResponse
        table = BROKER_API_VERSIONS[self.scenario.broker]
        keys = [
            A.ApiVersion(api_key=k, min_version=low, max_version=high)
            for k, (low, high) in sorted(table.items())
        ]
        # Answer in the version asked: the table, not this reply, pins the client's versions.
        return A[version](error_code=0, api_keys=keys, throttle_time_ms=0)

    def metadata(self, version: int, body: bytes, corr: int, port: int) -> Any:
        request = MetadataRequest.decode(body, version=version, header=True)
        names = [t.name for t in (request.topics or [])] or list(self.scenario.topics)
        M = MetadataResponse
        return M[version](
            throttle_time_ms=0,
            brokers=[M.MetadataResponseBroker(node_id=0, host=HOST, port=PORT, rack=None)],
            cluster_id="sample-cluster",
            controller_id=0,
            topics=[
                M.MetadataResponseTopic(
                    error_code=0,
                    name=name,
                    topic_id=uuid.UUID(TOPIC_IDS[name]),
                    is_internal=False,
                    partitions=[
                        M.MetadataResponseTopic.MetadataResponsePartition(
                            error_code=0,
                            partition_index=0,
                            leader_id=0,
                            leader_epoch=0,
                            replica_nodes=[0],
                            isr_nodes=[0],
                            offline_replicas=[],
                        )
                    ],
                    authorized_operations=set(),
                )
                for name in names
                if name in TOPIC_IDS
            ],
            authorized_operations=set(),
            error_code=0,
        )

    def produce(self, version: int, body: bytes, corr: int, port: int) -> Any:
        from kafka.record.memory_records import MemoryRecords

        request = ProduceRequest.decode(body, version=version, header=True)
        seen: list[tuple[str, dict[str, Any], dict[str, bytes]]] = []
        R = ProduceResponse
        responses = []
        for topic in request.topic_data:
            for part in topic.partition_data:
                raw = bytearray(part.records)
                base = self.next_offset[topic.name]
                records = MemoryRecords(bytes(raw))
                count = 0
                while records.has_next():
                    batch = records.next_batch()
                    for record in batch:
                        seen.append((topic.name, self.decode_value(record.value), dict(record.headers)))
                        count += 1
                struct.pack_into(">q", raw, 0, base)  # the broker assigns offsets
                self.batches[topic.name].append(bytes(raw))
                self.next_offset[topic.name] += count
                responses.append(
                    R.TopicProduceResponse(
                        name=topic.name,
                        partition_responses=[
                            R.TopicProduceResponse.PartitionProduceResponse(
                                index=part.index,
                                error_code=0,
                                base_offset=base,
                                log_append_time_ms=-1,
                                log_start_offset=0,
                                record_errors=[],
                                error_message=None,
                            )
                        ],
                    )
                )
        self.log.messages[(port, corr, "request")] = seen
        if request.acks == 0:
            return None
        return R[version](responses=responses, throttle_time_ms=0)

    def fetch(self, version: int, body: bytes, corr: int, port: int) -> Any:
        from kafka.record.memory_records import MemoryRecords

        request = FetchRequest.decode(body, version=version, header=True)
        F = FetchResponse
        topics = []
        served: list[tuple[str, dict[str, Any], dict[str, bytes]]] = []
        for topic in request.topics:
            partitions = []
            for part in topic.partitions:
                chosen = [
                    b
                    for b in self.batches[topic.topic]
                    if struct.unpack_from(">q", b, 0)[0] >= part.fetch_offset
                ]
                for raw in chosen:
                    records = MemoryRecords(raw)
                    while records.has_next():
                        for record in records.next_batch():
                            served.append(
                                (topic.topic, self.decode_value(record.value), dict(record.headers))
                            )
                partitions.append(
                    F.FetchableTopicResponse.PartitionData(
                        partition_index=part.partition,
                        error_code=0,
                        high_watermark=self.next_offset[topic.topic],
                        last_stable_offset=self.next_offset[topic.topic],
                        log_start_offset=0,
                        aborted_transactions=[],
                        preferred_read_replica=-1,
                        records=b"".join(chosen),
                    )
                )
            topics.append(F.FetchableTopicResponse(topic=topic.topic, partitions=partitions))
        if served:
            self.log.messages[(port, corr, "response")] = served
        else:
            time.sleep(min(request.max_wait_ms, 100) / 1000)
        return F[version](throttle_time_ms=0, error_code=0, session_id=0, responses=topics)


def _recv(conn: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = conn.recv(size - len(chunks))
        except OSError:
            return None
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


# -- the clients ---------------------------------------------------------------------------


def run_clients(scenario: Scenario) -> None:
    for topic, codec in scenario.topics.items():
        producer = KafkaProducer(
            bootstrap_servers=f"{HOST}:{PORT}",
            compression_type=codec,
            linger_ms=50,
            value_serializer=lambda v: json.dumps(v).encode(),
            acks=1,
            request_timeout_ms=5000,
            retries=0,
        )
        for index, person in enumerate(PEOPLE):
            producer.send(
                topic,
                value=value_of(person, index),
                key=b"cust-%04d" % index,
                headers=[("x-user-email", person[0].encode())],
                partition=0,
            )
        producer.flush()
        producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=f"{HOST}:{PORT}",
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        fetch_max_wait_ms=100,
    )
    partitions = [TopicPartition(topic, 0) for topic in scenario.topics]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, 0)
    got = 0
    for _ in consumer:
        got += 1
        if got == RECORDS_PER_TOPIC * len(scenario.topics):
            break
    consumer.close()
    if got != RECORDS_PER_TOPIC * len(scenario.topics):
        raise RuntimeError(f"consumer read {got} records")


# -- pcap: ground-truth framing ------------------------------------------------------------


def completion_times(
    frames: list[tuple[int, bytes]], linktype_offset: int
) -> dict[tuple[int, int, str], int]:
    """(client port, correlation id, direction) -> time of the packet completing it."""
    streams: dict[tuple[int, str], bytearray] = defaultdict(bytearray)
    done: dict[tuple[int, int, str], int] = {}
    for ts_us, frame in frames:
        segment = tcp_payload(frame, linktype_offset)
        if segment is None:
            continue
        sport, dport, _, payload = segment
        if not payload:
            continue
        key = (sport, "request") if dport == PORT else (dport, "response")
        buf = streams[key]
        buf += payload
        while len(buf) >= 8:
            (size,) = struct.unpack_from(">i", buf, 0)
            if len(buf) < 4 + size:
                break
            corr = struct.unpack_from(">i", buf, 8 if key[1] == "request" else 4)[0]
            done[(key[0], corr, key[1])] = ts_us
            del buf[: 4 + size]
    return done


def expected_rows(log: Log, times: dict[tuple[int, int, str], int]) -> list[dict[str, str]]:
    agg: dict[tuple[str, str, str, str, str], list[Any]] = {}
    for (port, corr, direction), items in log.messages.items():
        ts = times[(port, corr, direction)]
        for topic, value, headers in items:
            found = [("value", path, _dig(value, path), dt) for path, dt in VALUE_FIELDS.items()]
            found += [
                ("header", name, headers[name].decode(), dt) for name, dt in HEADER_FIELDS.items()
            ]
            for location, path, text, data_type in found:
                key = (topic, direction, location, path, data_type)
                row = agg.setdefault(key, [0, ts, ts, text, ts])
                row[0] += 1
                if ts < row[1]:
                    row[1], row[3] = ts, text
                row[2] = max(row[2], ts)
    rows = []
    for (topic, direction, location, path, data_type), (count, first, last, text, _) in agg.items():
        rows.append(
            expected_row(
                protocol="kafka",
                server=f"{HOST}:{PORT}",
                host="",
                api=topic,
                direction=direction,
                location=location,
                field=path,
                data_type=data_type,
                category=CATEGORY[data_type],
                count=count,
                first_us=first,
                last_us=last,
                value=text,
            )
        )
    return sort_rows(rows)


def _dig(value: dict[str, Any], path: str) -> str:
    node: Any = value
    for part in path.split("."):
        node = node[part]
    return str(node)


def make(scenario: Scenario, out_dir: Path) -> None:
    pcap = out_dir / f"kafka-{scenario.name}.pcap"
    log = Log()
    broker = Broker(scenario, log)
    server = threading.Thread(target=broker.serve, daemon=True)
    server.start()
    try:
        with dumpcap_loopback(pcap, PORT):
            run_clients(scenario)
            time.sleep(0.5)
    finally:
        broker.stop = True
        server.join(5)
    frames = rewrite_times(pcap)
    times = completion_times(frames, ip_header_offset(pcap.read_bytes()))
    rows = expected_rows(log, times)
    write_csv(out_dir / f"kafka-{scenario.name}.expected.csv", rows)
    print(f"{pcap.name}: {pcap.stat().st_size} bytes, {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    parser.add_argument("names", nargs="*", default=sorted(SCENARIOS))
    args = parser.parse_args()
    for name in args.names:
        make(SCENARIOS[name], args.out_dir)


if __name__ == "__main__":
    main()
