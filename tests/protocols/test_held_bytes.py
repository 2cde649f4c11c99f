"""`Dissector.held_bytes()`: what each buffering dissector reports holding while a
message is incomplete, and that closing a connection releases it (the engine's
`max_held_bytes_total` budget adds these up incrementally)."""

from __future__ import annotations

from protocols.base import Direction, Message
from protocols.http1 import Http1Dissector
from protocols.http2 import Http2Dissector
from protocols.kafka import KafkaDissector
from protocols.mysql import MysqlDissector
from tests.builders import http2 as h2
from tests.builders import kafka as kb
from tests.builders import mysql as my

REQ, RESP = Direction.REQUEST, Direction.RESPONSE


def _close(d: Http1Dissector | Http2Dissector | KafkaDissector | MysqlDissector) -> list[object]:
    return [*d.close(REQ, 9), *d.close(RESP, 9)]


def test_http1_counts_the_unread_tail_and_the_body_kept() -> None:
    d = Http1Dissector()
    head = b"POST /x HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    d.feed(REQ, head + b"{" + b"a" * 999, 1)
    assert d.held_bytes() == 1000  # the body so far
    d.feed(REQ, b"GET /partial-head HTTP/1.1\r\n", 2)  # inside the body: kept as body
    assert d.held_bytes() == 1000 + 28
    d.feed(RESP, b"HTTP/1.1 200 OK\r\nContent-", 3)  # a response head still incomplete
    assert d.held_bytes() == 1028 + 25
    (msg,) = [e for e in _close(d) if isinstance(e, Message)]
    assert msg.incomplete and d.held_bytes() == 0


def test_http2_counts_partial_bodies_and_frames() -> None:
    hp = h2.Hpack()
    block = hp.req([(":method", "POST"), (":scheme", "http"), (":path", "/p"),
                    (":authority", "a"), ("content-type", "application/json")])  # fmt: skip
    d = Http2Dissector()
    d.feed(REQ, h2.PREFACE + h2.settings() + h2.headers(1, block) + h2.data(1, b"x" * 700), 1)
    assert d.held_bytes() == 700
    d.feed(REQ, h2.data(1, b"y" * 300)[:100], 2)  # a frame still arriving
    assert d.held_bytes() == 800
    msgs = [e for e in _close(d) if isinstance(e, Message)]
    assert [m.incomplete for m in msgs] == [True] and d.held_bytes() == 0


def test_kafka_counts_the_partial_frame() -> None:
    d = KafkaDissector()
    frame = kb.produce_request(3, [("t", [(0, kb.batch_v2([(None, b"v" * 400, [])]))])], 1)
    d.feed(REQ, frame[:300], 1)
    assert d.held_bytes() == 300
    _close(d)
    assert d.held_bytes() == 0


def test_mysql_counts_batched_rows_and_emits_them_on_a_gap() -> None:
    d = MysqlDissector()
    for direction, data in (
        (RESP, my.greeting("5.7.25", caps=my.SERVER_CAPS & ~my.Cap.DEPRECATE_EOF)),
        (REQ, my.login("app", "shop")),
        (RESP, my.ok(2)),
        (REQ, my.query("SELECT email FROM customers")),
    ):
        d.feed(direction, data, 1)
    rows = [[f"c{i}@mail.example"] for i in range(100)]
    whole = my.result_set([my.Col("email")], rows)
    d.feed(RESP, whole[:-9], 2)  # 100 rows batched, the EOF packet not yet here
    assert d.held_bytes() == sum(len(r[0]) for r in rows)
    events = d.gap(RESP, 50)
    values = [p.data for e in events if isinstance(e, Message) for p in e.parts]
    assert len(values) == 100 and values[0] == b"c0@mail.example"
    assert d.held_bytes() == 0
