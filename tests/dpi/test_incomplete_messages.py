"""What a cut conversation still yields, through the engine from crafted captures: rows
batched before a gap or close (MySQL), requests and responses whose body never
completes (HTTP/1, HTTP/2), and a Kafka connection whose first frame is over the buffer
limit."""

from __future__ import annotations

import json
from pathlib import Path

from dpi.api import scan_engine
from dpi.engine import Engine
from dpi.inventory import Row
from tests.builders import http2 as h2
from tests.builders import kafka as kb
from tests.builders import mysql as my
from tests.builders.conversation import Conversation

EMAIL = "dana.whitfield@mail.shopper-demo.net"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def _scan(path: Path) -> Engine:
    return scan_engine(path)


def _rows(engine: Engine, **want: str) -> list[Row]:
    return [
        r for r in engine.inventory.rows() if all(getattr(r, k) == v for k, v in want.items())
    ]


# -- MySQL: rows decoded before a gap ---------------------------------------------------


def _mysql_result(rows: int) -> tuple[bytes, bytes]:
    """A SELECT's result set with `rows` e-mail rows, split where row 300 ends: (head and
    rows 1..300, rows 301.. and the terminator)."""
    cols = [my.Col("id", my.FieldType.LONG), my.Col("email")]
    data = [[str(i), f"customer{i}@mail.shopper-demo.net"] for i in range(1, rows + 1)]
    whole = my.result_set(cols, data)
    cut_row = my.packets([my.text_row(data[300])], 0)[4:]  # row 301's payload
    cut = whole.index(cut_row) - 4
    return whole[:cut], whole[cut:]


def test_mysql_gap_after_row_300_keeps_the_300_rows(tmp_path: Path) -> None:
    head, lost = _mysql_result(320)
    conv = Conversation(sport=3306).handshake()
    conv.response(my.greeting("5.7.25", caps=my.SERVER_CAPS & ~my.Cap.DEPRECATE_EOF))
    conv.request(my.login("app", "shop")).response(my.ok(2))
    conv.request(my.query("SELECT id, email FROM customers"))
    conv.response(head)
    conv.segments(False, lost)  # never captured: the client's next ACK shows the hole
    conv.request(my.ping()).response(my.ok(1)).close()
    engine = _scan(conv.write(tmp_path / "mysql-gap.pcap"))
    assert engine.stats.gaps == 1
    (email,) = _rows(engine, api="shop.customers", field="email")
    assert email.data_type == "EMAIL_ADDRESS"
    assert email.count == 300  # 256 were emitted in a batch before the fix, 44 were lost


def test_mysql_close_inside_a_result_keeps_the_rows(tmp_path: Path) -> None:
    head, _ = _mysql_result(320)
    conv = Conversation(sport=3306).handshake()
    conv.response(my.greeting("5.7.25", caps=my.SERVER_CAPS & ~my.Cap.DEPRECATE_EOF))
    conv.request(my.login("app", "shop")).response(my.ok(2))
    conv.request(my.query("SELECT id, email FROM customers")).response(head)
    engine = _scan(conv.write(tmp_path / "mysql-cut.pcap"))  # the capture ends here
    (email,) = _rows(engine, api="shop.customers", field="email")
    assert email.count == 300


# -- HTTP/1: a body that never completes ------------------------------------------------


def _cut_upload(length: int) -> bytes:
    body = json.dumps({"user": {"email": EMAIL, "name": "Dana"}, "blob": "a" * 3000}).encode()
    head = (
        "POST /v1/upload HTTP/1.1\r\nHost: api.shop.example\r\n"
        f"Authorization: Bearer {TOKEN}\r\nCookie: session=4f9c2a7e1b\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    return head + body


def test_http1_request_with_1gib_content_length_cut_by_the_capture_end(tmp_path: Path) -> None:
    conv = Conversation().handshake().request(_cut_upload(1 << 30))  # then the capture ends
    engine = _scan(conv.write(tmp_path / "upload.pcap"))
    (auth,) = _rows(engine, location="header", field="authorization")
    assert auth.api == "POST /v1/upload" and auth.data_type == "BEARER_TOKEN"
    # The JSON seen before the cut is parsed as far as it goes.
    (email,) = _rows(engine, location="body", field="user.email")
    assert email.data_type == "EMAIL_ADDRESS"
    assert engine.stats.anomalies["incomplete_message"] == 1
    assert engine.stats.limits_hit["body_too_large"] == 1


def test_http1_body_cut_by_a_gap_keeps_head_and_start(tmp_path: Path) -> None:
    data = _cut_upload(4200)
    conv = Conversation().handshake()
    conv.packets.extend(conv.segments(True, data[:1448]))
    conv.segments(True, data[1448:])  # lost: never captured
    conv.response(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n").close()
    engine = _scan(conv.write(tmp_path / "gap.pcap"))
    assert engine.stats.gaps == 1
    assert _rows(engine, field="authorization") and _rows(engine, field="user.email")
    assert engine.stats.anomalies["incomplete_message"] == 1


def test_http1_response_cut_by_the_capture_end(tmp_path: Path) -> None:
    body = json.dumps({"email": EMAIL, "notes": "n" * 3000}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 90000\r\n\r\n"
    conv = Conversation().handshake()
    conv.request(b"GET /v1/me HTTP/1.1\r\nHost: api.shop.example\r\n\r\n").response(head + body)
    engine = _scan(conv.write(tmp_path / "resp.pcap"))
    (email,) = _rows(engine, direction="response", field="email")
    assert email.api == "GET /v1/me"
    assert engine.stats.anomalies["incomplete_message"] == 1


# -- HTTP/2: a stream that never ends ---------------------------------------------------


def test_http2_stream_that_never_ends_gives_its_headers_and_body_seen(tmp_path: Path) -> None:
    hp = h2.Hpack()
    block = hp.req([
        (":method", "POST"), (":scheme", "http"), (":path", "/v1/profile"),
        (":authority", "api.shop.example"), ("authorization", f"Bearer {TOKEN}"),
        ("content-type", "application/json"),
    ])
    body = json.dumps({"email": EMAIL, "bio": "b" * 2000}).encode()
    conv = Conversation(sport=50051).handshake()
    conv.request(h2.PREFACE + h2.settings())
    conv.response(h2.settings() + h2.settings(ack=True))
    conv.request(h2.headers(1, block) + h2.data(1, body[:1200]))  # no END_STREAM, ever
    engine = _scan(conv.write(tmp_path / "h2.pcap"))
    assert engine.stats.flows_by_protocol["http2"] == 1
    (auth,) = _rows(engine, field="authorization")
    assert auth.api == "POST /v1/profile"
    (email,) = _rows(engine, location="body", field="email")
    assert email.data_type == "EMAIL_ADDRESS"
    assert engine.stats.anomalies["incomplete_message"] == 1


# -- Kafka: a first frame over max_buffer_bytes -----------------------------------------


def test_kafka_first_frame_over_16_mib_still_identifies_the_flow(tmp_path: Path) -> None:
    huge = 20 << 20
    # A Produce v3 header declaring 20 MiB; only its first bytes were captured.
    first = kb.produce_request(3, [("bulk", [(0, kb.batch_v2([(None, b"x" * 200, [])]))])], 1)
    first = huge.to_bytes(4, "big") + first[4:]
    record = json.dumps({"email": EMAIL}).encode()
    second = kb.produce_request(3, [("signups", [(0, kb.batch_v2([(b"k", record, [])]))])], 2)
    conv = Conversation(sport=9092).handshake()
    conv.request(first)
    conv.cseq += huge + 4 - len(first)  # the rest of the 20 MiB frame was not captured
    conv.response(kb.produce_response(3, ["bulk"], 1))
    conv.request(second).response(kb.produce_response(3, ["signups"], 2)).close()
    engine = _scan(conv.write(tmp_path / "kafka-big.pcap"))
    assert engine.stats.flows_by_protocol["kafka"] == 1
    assert engine.stats.unidentified_flows == 0
    assert engine.stats.limits_hit["message_too_large"] == 1
    (email,) = _rows(engine, api="signups", field="email")
    assert email.protocol == "kafka" and email.data_type == "EMAIL_ADDRESS"
