"""Sends `bench/realsoftware_messages.py`'s messages through real client and server software
on 127.0.0.1 while tcpdump records the loopback interface.

- REST: Python's `http.server` (ThreadingHTTPServer) answering `urllib.request` clients.
- gRPC: a grpcio server and client, `bench/realsoftware.proto` compiled at run time with
  grpcio-tools, a bearer token in every call's metadata.
- MySQL: a private MariaDB (`tests/mysql_server.py`) and mysql-connector-python (pure
  Python): literal-value INSERTs, server-side prepared INSERTs and SELECTs, result sets.
  Tables are created over the Unix socket, so the DDL is not in the capture.
- Kafka: kafka-python's producer and consumer against the stand-in broker of
  `samples/make_kafka_samples.py` (a real broker cannot be installed here; the stand-in
  answers with kafka-python's own protocol classes).

Each part writes its own capture. Needs root (tcpdump on `lo`).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.realsoftware_messages import Exchange, GrpcCall, KafkaRecord, Table

PROTO = Path(__file__).resolve().parent / "realsoftware.proto"
# tcpdump reports "listening on lo" before it sees packets; then a short grace period.
CAPTURE_WARMUP_S = 0.3
# tcpdump writes each packet as it reads it (-U). A part's capture is complete once a
# marker datagram sent after the traffic is in the file: tcpdump reads packets in order,
# so everything before the marker is there too (on a busy machine tcpdump can lag the
# traffic by seconds, and a file that merely stopped growing for a while lost packets).
# The marker goes to a UDP port nothing listens on; dpi ignores UDP there.
CAPTURE_MARKER_PORT = 9
# The kernel's capture buffer (tcpdump -B, KiB): packets that arrive while tcpdump is not
# scheduled wait there; the default 2 MiB overflowed on a loaded machine (13 of 102
# requests lost).
CAPTURE_BUFFER_KIB = 65536
CAPTURE_DRAIN_TIMEOUT_S = 60.0


class Unavailable(RuntimeError):
    """The software a part needs is missing (or we are not root): the part is skipped."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def can_capture() -> str | None:
    """Why capturing is impossible here, or None."""
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed"
    if os.geteuid() != 0:
        return "capturing on lo needs root"
    return None


@contextlib.contextmanager
def tcpdump(pcap: Path, port: int) -> Iterator[None]:
    """Record TCP port `port` on `lo` into `pcap` while the block runs."""
    process = subprocess.Popen(
        # --immediate-mode: without it packets wait in the kernel's ring for up to a second
        # and those still there when tcpdump is stopped are lost.
        ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-B", str(CAPTURE_BUFFER_KIB), "-Z", "root", "-w", str(pcap),
         f"tcp port {port} or udp dst port {CAPTURE_MARKER_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()
    if "listening" not in line:
        process.kill()
        raise Unavailable("tcpdump did not start")
    time.sleep(CAPTURE_WARMUP_S)
    try:
        yield
    finally:
        _wait_for_marker(pcap)
        process.terminate()
        process.communicate(timeout=10)


def _wait_for_marker(pcap: Path) -> None:
    marker = b"dpi-realsoftware-capture-end-" + os.urandom(8).hex().encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(marker, ("127.0.0.1", CAPTURE_MARKER_PORT))
    deadline = time.monotonic() + CAPTURE_DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if pcap.exists() and marker in pcap.read_bytes():
            return
        time.sleep(0.05)


# -- REST ----------------------------------------------------------------------------------


def run_rest(exchanges: list[Exchange], pcap: Path) -> None:
    answers = {e.headers["X-Request-Id"]: e.response for e in exchanges}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "shop-api/2.4"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(answers[self.headers["X-Request-Id"]]).encode()
            self.send_response(201 if self.command == "POST" else 200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line can hold sensitive query values

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with tcpdump(pcap, port):
        thread.start()
        try:
            for e in exchanges:
                url = f"http://127.0.0.1:{port}{e.path}"
                if e.query:
                    url += "?" + urllib.parse.urlencode(e.query)
                headers = dict(e.headers)
                data = None
                if e.form is not None:
                    data = urllib.parse.urlencode(e.form).encode()
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                elif e.body is not None:
                    data = json.dumps(e.body).encode()
                    headers["Content-Type"] = "application/json"
                request = urllib.request.Request(url, data=data, headers=headers, method=e.method)
                with urllib.request.urlopen(request, timeout=10) as reply:
                    reply.read()
        finally:
            server.shutdown()
            server.server_close()
    # Every request must be in the capture (its tracing id is not sensitive): a capture that
    # lost traffic would turn into misses that are not detection's.
    data = pcap.read_bytes()
    lost = sum(1 for e in exchanges if e.headers["X-Request-Id"].encode() not in data)
    if lost:
        raise RuntimeError(f"{lost} of {len(exchanges)} HTTP requests are not in the capture")


# -- gRPC ----------------------------------------------------------------------------------


def _compile(out: Path) -> tuple[Any, Any]:
    from grpc_tools import protoc

    code = protoc.main(["protoc", f"-I{PROTO.parent}", f"--python_out={out}",
                        f"--grpc_python_out={out}", PROTO.name])
    if code != 0:
        raise RuntimeError(f"{PROTO.name} does not compile")
    sys.path.insert(0, str(out))
    try:
        return (importlib.import_module("realsoftware_pb2"),
                importlib.import_module("realsoftware_pb2_grpc"))
    finally:
        sys.path.remove(str(out))


def run_grpc(calls: list[GrpcCall], pcap: Path, workdir: Path) -> None:
    try:
        import grpc
        from google.protobuf import json_format
    except ImportError as exc:
        raise Unavailable("grpcio is not installed") from exc
    pb2, pb2_grpc = _compile(workdir)
    queues: dict[str, list[GrpcCall]] = {}
    for c in calls:
        queues.setdefault(c.method, []).append(c)

    def message(name: str, fields: dict[str, Any]) -> Any:
        return json_format.ParseDict(fields, getattr(pb2, name)())

    def next_answer(method: str) -> GrpcCall:
        return queues[method].pop(0)

    class Customers(pb2_grpc.CustomerServiceServicer):  # type: ignore[misc,name-defined]
        def CreateCustomer(self, request: Any, context: Any) -> Any:
            return message("Customer", next_answer("/crm.v1.CustomerService/CreateCustomer")
                           .responses[0])

        def GetCustomer(self, request: Any, context: Any) -> Any:
            return message("Customer", next_answer("/crm.v1.CustomerService/GetCustomer")
                           .responses[0])

        def ListCustomers(self, request: Any, context: Any) -> Any:
            for fields in next_answer("/crm.v1.CustomerService/ListCustomers").responses:
                yield message("Customer", fields)

    class Payments(pb2_grpc.PaymentServiceServicer):  # type: ignore[misc,name-defined]
        def Authorize(self, request: Any, context: Any) -> Any:
            return message("AuthorizeResponse",
                           next_answer("/crm.v1.PaymentService/Authorize").responses[0])

        def GetAccounts(self, request: Any, context: Any) -> Any:
            return message("GetAccountsResponse",
                           next_answer("/crm.v1.PaymentService/GetAccounts").responses[0])

    request_types = {"CreateCustomer": "CreateCustomerRequest", "GetCustomer": "GetCustomerRequest",
                     "ListCustomers": "ListCustomersRequest", "Authorize": "AuthorizeRequest",
                     "GetAccounts": "GetAccountsRequest"}
    port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb2_grpc.add_CustomerServiceServicer_to_server(Customers(), server)
    pb2_grpc.add_PaymentServiceServicer_to_server(Payments(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    with tcpdump(pcap, port):
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stubs = {"CustomerService": pb2_grpc.CustomerServiceStub(channel),
                         "PaymentService": pb2_grpc.PaymentServiceStub(channel)}
                for c in calls:
                    service, method = c.method.rsplit("/", 1)
                    stub = getattr(stubs[service.rsplit(".", 1)[1]], method)
                    request = message(request_types[method], c.requests[0])
                    result = stub(request, metadata=tuple(c.metadata.items()), timeout=10)
                    if method == "ListCustomers":
                        list(result)
        finally:
            server.stop(grace=None)


# -- MySQL ---------------------------------------------------------------------------------


def run_mysql(tables: list[Table], pcap: Path) -> None:
    from tests.mysql_server import MariaDB, ServerUnavailable

    try:
        import mysql.connector
    except ImportError as exc:
        raise Unavailable("mysql-connector-python is not installed") from exc
    port = free_port()
    try:
        server = MariaDB(port).start()
    except ServerUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    try:
        for schema in sorted({t.schema for t in tables}):
            server.admin(f"CREATE DATABASE {schema} CHARACTER SET utf8mb4")
        for t in tables:
            server.admin(f"CREATE TABLE {t.api} ({t.ddl}) CHARACTER SET utf8mb4")
        with tcpdump(pcap, port):
            conn = mysql.connector.connect(
                host="127.0.0.1", port=port, user=server.user, password=server.password,
                use_pure=True, ssl_disabled=True, compress=False, autocommit=True,
                charset="utf8mb4")
            text = conn.cursor()
            prepared = conn.cursor(prepared=True)
            for t in tables:
                columns = list(t.rows[0])
                names = ", ".join(columns)
                for row in t.rows:
                    if t.prepared_insert:
                        marks = ", ".join("?" for _ in columns)
                        prepared.execute(f"INSERT INTO {t.api} ({names}) VALUES ({marks})",
                                         tuple(row[c] for c in columns))
                    else:
                        literals = ", ".join(sql_literal(row[c]) for c in columns)
                        text.execute(f"INSERT INTO {t.api} ({names}) VALUES ({literals})")
                text.execute(f"SELECT {names} FROM {t.api}")
                text.fetchall()
                if t.lookup:
                    for row in t.rows:
                        prepared.execute(f"SELECT {names} FROM {t.api} WHERE {t.lookup} = ?",
                                         (row[t.lookup],))
                        prepared.fetchall()
            prepared.close()
            text.close()
            conn.close()
    finally:
        server.stop()


def sql_literal(value: Any) -> str:
    """A value written into a statement as an application's own SQL would write it."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return str(value)


# -- Kafka ---------------------------------------------------------------------------------


def run_kafka(records: list[KafkaRecord], pcap: Path) -> None:
    try:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        from samples import make_kafka_samples as standin
    except ImportError as exc:
        raise Unavailable(f"kafka-python or the stand-in broker is missing: {exc}") from exc
    topics = sorted({r.topic for r in records})
    scenario = standin.Scenario("realsoftware", (2, 8), {t: "gzip" for t in topics})
    try:
        broker = standin.Broker(scenario, standin.Log())
    except OSError as exc:
        raise Unavailable(f"the stand-in broker's port {standin.PORT} is taken") from exc
    thread = threading.Thread(target=broker.serve, daemon=True)
    address = f"{standin.HOST}:{standin.PORT}"
    with tcpdump(pcap, standin.PORT):
        thread.start()
        try:
            for topic in topics:
                producer = KafkaProducer(
                    bootstrap_servers=address, linger_ms=20, acks=1, retries=0,
                    compression_type="gzip" if topic == "customers" else None,
                    value_serializer=lambda v: json.dumps(v).encode(),
                    request_timeout_ms=5000)
                for r in records:
                    if r.topic == topic:
                        producer.send(topic, value=r.value, key=r.key.encode(), partition=0,
                                      headers=[(k, v.encode()) for k, v in r.headers.items()])
                producer.flush()
                producer.close()
            consumer = KafkaConsumer(bootstrap_servers=address, group_id=None,
                                     enable_auto_commit=False, consumer_timeout_ms=3000,
                                     fetch_max_wait_ms=100)
            partitions = [TopicPartition(t, 0) for t in topics]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, 0)
            got = 0
            for _ in consumer:
                got += 1
                if got == len(records):
                    break
            consumer.close()
            if got != len(records):
                raise RuntimeError(f"the Kafka consumer read {got} of {len(records)} records")
        finally:
            broker.stop = True
            thread.join(5)
