"""MySQL dissector: conversations from `tests/builders/mysql.py`, then the real captures
of tests/captures/mysql (byte streams taken with tshark, which also cross-checks the
column names)."""

from __future__ import annotations

import random
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Handoff,
    Limits,
    MediaType,
    Message,
    Probe,
    ProtocolError,
)
from protocols.mysql import MysqlDissector
from protocols.mysql._packets import Cap, FieldType
from tests.builders import mysql as b

REQ, RESP = Direction.REQUEST, Direction.RESPONSE
Conv = list[tuple[Direction, bytes]]

MYSQL57_CAPS = b.SERVER_CAPS & ~Cap.DEPRECATE_EOF & ~Cap.QUERY_ATTRIBUTES & ~Cap.ZSTD_COMPRESSION


def run(conv: Conv, limits: Limits | None = None, split: int = 0) -> list[Event]:
    d = MysqlDissector(limits)
    events: list[Event] = []
    for ts, (direction, data) in enumerate(conv):
        if any(isinstance(e, Handoff) for e in events):
            break  # as the engine does: what follows is TLS, for its layer, not for us
        if split:
            for i in range(0, len(data), split):
                events += d.feed(direction, data[i : i + split], ts)
        else:
            events += d.feed(direction, data, ts)
    for direction in Direction:
        events += d.close(direction, len(conv))
    return events


def rows(events: Sequence[Event]) -> list[tuple[str, str, str, str, str]]:
    """(direction, api, location, field, value) of every part, in order."""
    return [
        (e.direction.value, e.api, p.location.value, p.name, p.data.decode("utf-8", "replace"))
        for e in events
        if isinstance(e, Message)
        for p in e.parts
    ]


def kinds(events: Sequence[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def handshake(
    database: str = "shop", deprecate_eof: bool = False, caps: int | None = None,
    client_caps: int = 0,
) -> Conv:
    server = caps if caps is not None else (
        b.SERVER_CAPS if deprecate_eof else MYSQL57_CAPS
    )
    client = b.CLIENT_CAPS | (Cap.DEPRECATE_EOF if deprecate_eof else 0) | client_caps
    return [
        (RESP, b.greeting("8.0.36" if deprecate_eof else "5.7.25", caps=server)),
        (REQ, b.login("app", database, caps=client)),
        (RESP, b.ok(2)),
    ]


CUSTOMERS = (b.Col("name"), b.Col("email"), b.Col("ssn"))
PEOPLE = [
    ("Ana Silva", "ana.silva@example.com", "123-45-6789"),
    ("Li Wei", None, "987-65-4321"),
]


# -- probe --------------------------------------------------------------------------------


def test_probe_greeting_yes() -> None:
    assert MysqlDissector.probe(RESP, b.greeting()) is Probe.YES
    assert MysqlDissector.probe(RESP, b.mariadb_greeting()) is Probe.YES


def test_probe_short_greeting_need_more() -> None:
    assert MysqlDissector.probe(RESP, b.greeting()[:20]) is Probe.NEED_MORE


def test_probe_http_response_no() -> None:
    assert MysqlDissector.probe(RESP, b"HTTP/1.1 200 OK\r\n\r\n") is Probe.NO
    assert MysqlDissector.probe(REQ, b"GET / HTTP/1.1\r\n\r\n") is Probe.NO


def test_probe_command_packets_yes() -> None:
    assert MysqlDissector.probe(REQ, b.query("SELECT 1")) is Probe.YES
    assert MysqlDissector.probe(REQ, b.ping()) is Probe.YES
    assert MysqlDissector.probe(REQ, b.execute(1, [(FieldType.LONG, 5, False)])) is Probe.YES
    assert MysqlDissector.probe(REQ, b.query("SELECT 1")[:3]) is Probe.NEED_MORE


def test_probe_binary_query_no() -> None:
    assert MysqlDissector.probe(REQ, b.packet(b"\x03\x00\xff\xfe\x01", 0)) is Probe.NO


# -- connection phase ---------------------------------------------------------------------------


def test_login_user_auth_part_api_is_database() -> None:
    events = run(handshake("shop"))
    assert rows(events) == [("request", "shop", "auth", "user", "app")]
    assert kinds(events) == []


def test_login_scramble_not_reported() -> None:
    events = run(handshake(""))
    assert rows(events) == [("request", "(unknown)", "auth", "user", "app")]


def test_clear_password_after_auth_switch_reported() -> None:
    conv = [
        (RESP, b.greeting("5.7.25", caps=MYSQL57_CAPS, plugin="mysql_native_password")),
        (REQ, b.login("app", "", plugin="mysql_native_password")),
        (RESP, b.auth_switch("mysql_clear_password")),
        (REQ, b.packet(b"Secr3t-pass\x00", 3)),
        (RESP, b.ok(4)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE[:1])),
    ]
    found = rows(run(conv))
    assert ("request", "(unknown)", "auth", "password", "Secr3t-pass") in found
    assert ("response", "shop.customers", "column", "email", "ana.silva@example.com") in found


def test_login_refused_ends_connection() -> None:
    conv = handshake()[:2] + [(RESP, b.err(2, 1045, "Access denied"))]
    events = run(conv)
    assert kinds(events) == []


def test_ssl_request_hands_off_to_tls_with_tls_anomaly() -> None:
    conv = [
        (RESP, b.greeting()),
        (REQ, b.ssl_request() + b"\x16\x03\x01\x00\x05hello"),
        (RESP, b"\x16\x03\x03\x00\x02hi"),
    ]
    d = MysqlDissector()
    events = d.feed(RESP, conv[0][1], 0) + d.feed(REQ, conv[1][1], 1)
    assert kinds(events) == ["tls"]
    handoff = [e for e in events if isinstance(e, Handoff)]
    assert handoff and handoff[0].protocol == "tls"
    assert handoff[0].leftover[REQ] == b"\x16\x03\x01\x00\x05hello"
    assert d.feed(RESP, conv[2][1], 2) == []


# -- text protocol -------------------------------------------------------------------------------


def test_text_result_with_eof_rows_per_column() -> None:
    conv = handshake() + [
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE)),
    ]
    events = run(conv)
    found = [r for r in rows(events) if r[2] == "column"]
    assert found == [
        ("response", "shop.customers", "column", "name", "Ana Silva"),
        ("response", "shop.customers", "column", "email", "ana.silva@example.com"),
        ("response", "shop.customers", "column", "ssn", "123-45-6789"),
        ("response", "shop.customers", "column", "name", "Li Wei"),
        ("response", "shop.customers", "column", "ssn", "987-65-4321"),
    ]
    assert kinds(events) == []


def test_text_result_deprecate_eof_rows() -> None:
    conv = handshake(deprecate_eof=True) + [
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE, deprecate_eof=True)),
        (REQ, b.ping()),
        (RESP, b.ok(1)),
    ]
    events = run(conv)
    assert len([r for r in rows(events) if r[0] == "response"]) == 5
    assert kinds(events) == []


def test_multi_statement_results_both_read() -> None:
    orders = (b.Col("card_number", table="orders"),)
    conv = handshake() + [
        (REQ, b.query("SELECT name, email, ssn FROM customers; SELECT card_number FROM orders")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE[:1], more=True)
         + b.result_set(orders, [("4111111111111111",)], seq=7)),
        (REQ, b.ping()),
        (RESP, b.ok(1)),
    ]
    events = run(conv)
    apis = {r[1] for r in rows(events) if r[0] == "response"}
    assert apis == {"shop.customers", "shop.orders"}
    assert kinds(events) == []


def test_error_response_then_next_command_read() -> None:
    conv = handshake() + [
        (REQ, b.query("SELECT * FROM missing")),
        (RESP, b.err(1)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE[:1])),
    ]
    events = run(conv)
    assert len([r for r in rows(events) if r[0] == "response"]) == 3
    assert kinds(events) == []


def test_alias_table_and_computed_column_api() -> None:
    cols = (
        b.Col("mail", table="c", org_table="customers", org_name="email"),
        b.Col("n", table="", schema="", org_table="", org_name=""),
    )
    conv = handshake() + [
        (REQ, b.query("SELECT c.email AS mail, 1 AS n FROM customers c")),
        (RESP, b.result_set(cols, [("ana.silva@example.com", "1")])),
    ]
    found = [r for r in rows(run(conv)) if r[0] == "response"]
    assert found == [
        ("response", "shop.customers", "column", "email", "ana.silva@example.com"),
        ("response", "(unknown)", "column", "n", "1"),
    ]


def test_json_column_media_type_json_and_binary_blob() -> None:
    cols = (
        b.Col("profile", type=FieldType.JSON),
        b.Col("photo", type=FieldType.BLOB, charset=b.BINARY),
    )
    conv = handshake() + [
        (REQ, b.query("SELECT profile, photo FROM customers")),
        (RESP, b.result_set(cols, [(b'{"email": "a@example.com"}', b"\x89PNG\xff\x00")])),
    ]
    parts = [p for e in run(conv) if isinstance(e, Message) for p in e.parts]
    media = {p.name: p.media_type for p in parts}
    assert media == {"user": MediaType.TEXT, "profile": MediaType.JSON, "photo": MediaType.BINARY}


def test_rows_batched_per_row_batch() -> None:
    many = [(f"n{i}", f"e{i}@example.com", "") for i in range(600)]
    conv = handshake() + [
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, many)),
    ]
    messages = [e for e in run(conv) if isinstance(e, Message) and e.direction is RESP]
    assert [len(m.parts) for m in messages] == [512, 512, 176]


def test_records_limit_stops_collecting_keeps_sync() -> None:
    many = [(f"n{i}", "e", "s") for i in range(10)]
    conv = handshake() + [
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, many)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, many[:1])),
    ]
    events = run(conv, Limits(max_records=4))
    assert kinds(events) == ["records_limit"]
    assert len([r for r in rows(events) if r[0] == "response"]) == 15


def test_continuation_packet_16mb_row_joined() -> None:
    big = "x" * (b.MAX_PAYLOAD + 100)
    conv = handshake() + [
        (REQ, b.query("SELECT name FROM customers")),
        (RESP, b.result_set((b.Col("name"),), [(big,), ("Ana Silva",)])),
    ]
    events = run(conv, Limits(max_buffer_bytes=32 << 20), split=1 << 20)
    values = [r[4] for r in rows(events) if r[0] == "response"]
    assert values == [big, "Ana Silva"]
    # With the default 16 MiB bound the chain is one byte too long: skipped, in sync.
    events = run(conv, split=1 << 20)
    assert [r[4] for r in rows(events) if r[0] == "response"] == ["Ana Silva"]
    assert kinds(events) == ["message_too_large"]


def test_oversized_row_skipped_with_anomaly() -> None:
    conv = handshake() + [
        (REQ, b.query("SELECT name FROM customers")),
        (RESP, b.result_set((b.Col("name"),), [("y" * 5000,), ("Ana Silva",)])),
        (REQ, b.query("SELECT name FROM customers")),
        (RESP, b.result_set((b.Col("name"),), [("Li Wei",)])),
    ]
    events = run(conv, Limits(max_buffer_bytes=1024))
    assert "message_too_large" in kinds(events)
    assert [r[4] for r in rows(events) if r[0] == "response"] == ["Ana Silva", "Li Wei"]


# -- statements -------------------------------------------------------------------------------


def test_insert_values_request_columns() -> None:
    conv = handshake() + [
        (REQ, b.query("INSERT INTO customers (name, email) VALUES ('Ana Silva', 'a@example.com')")),
        (RESP, b.ok(1, affected=1)),
    ]
    assert [r for r in rows(run(conv)) if r[2] == "column"] == [
        ("request", "shop.customers", "column", "name", "Ana Silva"),
        ("request", "shop.customers", "column", "email", "a@example.com"),
    ]


def test_update_set_and_where_literals() -> None:
    conv = handshake() + [
        (REQ, b.query("UPDATE crm.customers SET phone = '+1 202 555 0143' WHERE email = 'a@b.example'")),
        (RESP, b.ok(1, affected=1)),
    ]
    assert [r for r in rows(run(conv)) if r[2] == "column"] == [
        ("request", "crm.customers", "column", "phone", "+1 202 555 0143"),
        ("request", "crm.customers", "column", "email", "a@b.example"),
    ]


def test_init_db_and_use_change_current_schema() -> None:
    conv = handshake("") + [
        (REQ, b.init_db("crm")),
        (RESP, b.ok(1)),
        (REQ, b.query("INSERT INTO leads SET email = 'x@example.com'")),
        (RESP, b.ok(1)),
        (REQ, b.query("USE billing")),
        (RESP, b.ok(1)),
        (REQ, b.query("REPLACE INTO cards (number) VALUES ('4111111111111111')")),
        (RESP, b.ok(1)),
    ]
    found = [r[:4] for r in rows(run(conv)) if r[2] == "column"]
    assert found == [
        ("request", "crm.leads", "column", "email"),
        ("request", "billing.cards", "column", "number"),
    ]


def test_unparsable_statement_no_mapping_no_error() -> None:
    conv = handshake() + [
        (REQ, b.query("INSERT INTO ((( 'broken")),
        (RESP, b.err(1, 1064, "syntax")),
    ]
    events = run(conv)
    assert [r for r in rows(events) if r[2] == "column"] == []
    assert kinds(events) == []


def test_query_attributes_prefix_skipped() -> None:
    conv = handshake(deprecate_eof=True, client_caps=Cap.QUERY_ATTRIBUTES) + [
        (REQ, b.query("INSERT INTO customers (email) VALUES ('a@example.com')", attributes=True)),
        (RESP, b.ok(1)),
    ]
    found = [r for r in rows(run(conv)) if r[2] == "column"]
    assert found == [("request", "shop.customers", "column", "email", "a@example.com")]


# -- prepared statements ------------------------------------------------------------------------


ALL_TYPES: list[b.Param] = [
    (FieldType.TINY, -5, False),
    (FieldType.SHORT, 300, False),
    (FieldType.LONG, 4000000000, True),
    (FieldType.LONGLONG, -9000000000, False),
    (FieldType.FLOAT, 1.5, False),
    (FieldType.DOUBLE, 2.25, False),
    (FieldType.NEWDECIMAL, "1234.56", False),
    (FieldType.VAR_STRING, "Ana Silva", False),
    (FieldType.BLOB, b"blob-data", False),
    (FieldType.DATE, (1990, 4, 1), False),
    (FieldType.DATETIME, (2026, 1, 15, 9, 30, 5), False),
    (FieldType.TIMESTAMP, (2026, 1, 15, 9, 30, 5, 123456), False),
    (FieldType.TIME, (1, 1, 2, 3, 4, 0), False),
    (FieldType.YEAR, 2026, False),
    (FieldType.VAR_STRING, None, False),
]
ALL_COLUMNS = [f"c{i}" for i in range(len(ALL_TYPES))]
ALL_VALUES = [
    "-5", "300", "4000000000", "-9000000000", "1.5", "2.25", "1234.56", "Ana Silva",
    "blob-data", "1990-04-01", "2026-01-15 09:30:05", "2026-01-15 09:30:05.123456",
    "-26:03:04", "2026",
]


def _prepared_insert(stmt: int = 1) -> Conv:
    sql = "INSERT INTO t ({}) VALUES ({})".format(
        ", ".join(ALL_COLUMNS), ", ".join("?" * len(ALL_COLUMNS))
    )
    params = [b.Col("?", table="", schema="") for _ in ALL_COLUMNS]
    return [(REQ, b.prepare(sql)), (RESP, b.prepare_ok(stmt, params, []))]


def test_execute_every_type_param_rows() -> None:
    conv = handshake() + _prepared_insert() + [
        (REQ, b.execute(1, ALL_TYPES)),
        (RESP, b.ok(1, affected=1)),
        (REQ, b.execute(1, ALL_TYPES, new_params_bound=False)),
        (RESP, b.ok(1, affected=1)),
    ]
    events = run(conv)
    params = [r for r in rows(events) if r[2] == "param"]
    expected = [("request", "shop.t", "param", c, v) for c, v in zip(ALL_COLUMNS, ALL_VALUES, strict=False)]
    assert params == expected + expected
    assert kinds(events) == []


def test_execute_unknown_statement_positional_unknown_api() -> None:
    conv = [
        (REQ, b.execute(9, [(FieldType.VAR_STRING, "Ana Silva", False), (FieldType.LONG, 7, False)])),
        (RESP, b.ok(1)),
    ]
    events = run(conv)
    assert [r for r in rows(events) if r[2] == "param"] == [
        ("request", "(unknown)", "param", "?1", "Ana Silva"),
        ("request", "(unknown)", "param", "?2", "7"),
    ]
    assert "midstream" in kinds(events)


def test_binary_result_rows_null_bitmap() -> None:
    cols = (
        b.Col("id", type=FieldType.LONG),
        b.Col("email"),
        b.Col("salary", type=FieldType.NEWDECIMAL),
        b.Col("born", type=FieldType.DATE),
    )
    sql = "SELECT id, email, salary, born FROM customers WHERE email = ?"
    conv = handshake() + [
        (REQ, b.prepare(sql)),
        (RESP, b.prepare_ok(3, [b.Col("?", table="", schema="")], cols)),
        (REQ, b.execute(3, [(FieldType.VAR_STRING, "ana.silva@example.com", False)])),
        (RESP, b.result_set(cols, [
            b.binary_row(cols, [1, "ana.silva@example.com", "1000.50", (1990, 4, 1)]),
            b.binary_row(cols, [2, None, None, (1985, 12, 31)]),
        ], binary=True)),
        (REQ, b.stmt_close(3)),
        (REQ, b.execute(3, [(FieldType.VAR_STRING, "x@example.com", False)])),
        (RESP, b.ok(1)),
    ]
    found = rows(run(conv))
    assert ("request", "shop.customers", "param", "email", "ana.silva@example.com") in found
    assert [r[3:] for r in found if r[0] == "response"] == [
        ("id", "1"), ("email", "ana.silva@example.com"), ("salary", "1000.50"),
        ("born", "1990-04-01"), ("id", "2"), ("born", "1985-12-31"),
    ]
    # After COM_STMT_CLOSE the id is unknown again.
    assert ("request", "(unknown)", "param", "?1", "x@example.com") in found


def test_prepare_deprecate_eof_and_cursor_free() -> None:
    cols = (b.Col("email"),)
    conv = handshake(deprecate_eof=True) + [
        (REQ, b.prepare("SELECT email FROM customers WHERE name = ?")),
        (RESP, b.prepare_ok(4, [b.Col("?", table="", schema="")], cols, deprecate_eof=True)),
        (REQ, b.execute(4, [(FieldType.VAR_STRING, "Ana Silva", False)])),
        (RESP, b.result_set(cols, [b.binary_row(cols, ["a@example.com"])], deprecate_eof=True,
                            binary=True)),
    ]
    events = run(conv)
    assert ("response", "shop.customers", "column", "email", "a@example.com") in rows(events)
    assert ("request", "shop.customers", "param", "name", "Ana Silva") in rows(events)
    assert kinds(events) == []


def test_send_long_data_value_replaces_param() -> None:
    conv = handshake() + [
        (REQ, b.prepare("UPDATE customers SET notes = ? WHERE id = ?")),
        (RESP, b.prepare_ok(5, [b.Col("?", table="", schema="")] * 2, [])),
        (REQ, b.send_long_data(5, 0, b"diagnosed with ")),
        (REQ, b.send_long_data(5, 0, b"asthma")),
        (REQ, b.execute(5, [(FieldType.BLOB, b"", False), (FieldType.LONG, 7, False)], skip=[0])),
        (RESP, b.ok(1)),
        (REQ, b.stmt_reset(5)),
        (RESP, b.ok(1)),
    ]
    found = [r for r in rows(run(conv)) if r[2] == "param"]
    assert found == [
        ("request", "shop.customers", "param", "notes", "diagnosed with asthma"),
        ("request", "shop.customers", "param", "id", "7"),
    ]


def test_mariadb_cache_metadata_uses_prepared_columns() -> None:
    ext = 1 << 4  # MARIADB_CLIENT_CACHE_METADATA
    cols = (b.Col("email"),)
    caps = b.CLIENT_CAPS & ~Cap.LONG_PASSWORD
    conv = [
        (RESP, b.mariadb_greeting(mariadb_caps=ext)),
        (REQ, b.login("app", "shop", caps=caps, plugin="mysql_native_password", mariadb_caps=ext)),
        (RESP, b.ok(2)),
        (REQ, b.prepare("SELECT email FROM customers WHERE id = ?")),
        (RESP, b.prepare_ok(1, [b.Col("?", table="", schema="")], cols)),
        (REQ, b.execute(1, [(FieldType.LONG, 1, False)])),
        # Column count, "metadata follows" = 0, then rows directly.
        (RESP, b.packets([b"\x01\x00", b.binary_row(cols, ["a@example.com"]), b.eof_payload()])),
    ]
    events = run(conv)
    assert ("response", "shop.customers", "column", "email", "a@example.com") in rows(events)
    assert kinds(events) == []


# -- compression ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["zlib", "zstd"])
def test_compressed_protocol_rows(algorithm: str) -> None:
    caps = MYSQL57_CAPS | Cap.COMPRESS | Cap.ZSTD_COMPRESSION
    client = b.CLIENT_CAPS | Cap.COMPRESS
    many = PEOPLE * 20
    conv = [
        (RESP, b.greeting("8.0.36", caps=caps)),
        (REQ, b.login("app", "shop", caps=client, zstd_level=3 if algorithm == "zstd" else 0)),
        (RESP, b.ok(2)),
        (REQ, b.compress(b.query("SELECT name, email, ssn FROM customers"), algorithm)),
        (RESP, b.compress(b.result_set(CUSTOMERS, many), algorithm)),
        (REQ, b.compress(b.query("INSERT INTO customers (email) VALUES ('z@example.com')" + " " * 60),
                         algorithm)),
        (RESP, b.compress(b.ok(1), algorithm)),
    ]
    events = run(conv)
    assert len([r for r in rows(events) if r[0] == "response"]) == 5 * 20
    assert ("request", "shop.customers", "column", "email", "z@example.com") in rows(events)
    assert kinds(events) == []


def test_compressed_packet_spanning_packets_split_anywhere() -> None:
    caps = MYSQL57_CAPS | Cap.COMPRESS
    stream = b.result_set(CUSTOMERS, PEOPLE * 10)
    third = len(stream) // 3
    conv = [
        (RESP, b.greeting("5.7.25", caps=caps)),
        (REQ, b.login("app", "shop", caps=b.CLIENT_CAPS | Cap.COMPRESS)),
        (RESP, b.ok(2)),
        (REQ, b.compress(b.query("SELECT name, email, ssn FROM customers"))),
        (RESP, b.compress(stream[:third], seq=1) + b.compress(stream[third:], seq=2)),
    ]
    whole = rows(run(conv))
    assert len(whole) == 1 + 5 * 10
    assert rows(run(conv, split=3)) == whole


def test_corrupt_compressed_payload_undecodable() -> None:
    caps = MYSQL57_CAPS | Cap.COMPRESS
    bad = bytearray(b.compress(b.result_set(CUSTOMERS, PEOPLE * 10)))
    bad[12:20] = b"\xff" * 8
    conv = [
        (RESP, b.greeting("5.7.25", caps=caps)),
        (REQ, b.login("app", "shop", caps=b.CLIENT_CAPS | Cap.COMPRESS)),
        (RESP, b.ok(2)),
        (REQ, b.compress(b.query("SELECT name, email, ssn FROM customers"))),
        (RESP, bytes(bad)),
        (REQ, b.compress(b.query("SELECT name, email, ssn FROM customers"))),
        (RESP, b.compress(b.result_set(CUSTOMERS, PEOPLE[:1]))),
    ]
    events = run(conv)
    assert "undecodable" in kinds(events)
    assert len([r for r in rows(events) if r[0] == "response"]) == 3


# -- mid-stream and gaps ------------------------------------------------------------------------


def test_midstream_query_learns_classic_eof() -> None:
    conv = [
        (RESP, b"\x00\x01tail of an earlier reply"),
        (REQ, b"garbage" + b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE[:1])),
    ]
    events = run(conv)
    assert kinds(events)[:1] == ["midstream"]
    assert len([r for r in rows(events) if r[0] == "response"]) == 8


def test_midstream_query_learns_deprecate_eof() -> None:
    conv = [
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE, deprecate_eof=True)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, [], deprecate_eof=True)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE[:1], deprecate_eof=True)),
    ]
    events = run(conv)
    assert len([r for r in rows(events) if r[0] == "response"]) == 8
    assert "unexpected_packet" not in kinds(events)


def test_midstream_prepare_deprecate_eof_learnt() -> None:
    cols = (b.Col("email"),)
    conv = [
        (REQ, b.prepare("SELECT email FROM customers WHERE name = ?")),
        (RESP, b.prepare_ok(4, [b.Col("?", table="", schema="")], cols, deprecate_eof=True)),
        (REQ, b.execute(4, [(FieldType.VAR_STRING, "Ana Silva", False)])),
        (RESP, b.result_set(cols, [b.binary_row(cols, ["a@example.com"])], deprecate_eof=True,
                            binary=True)),
    ]
    found = rows(run(conv))
    assert ("request", "shop.customers", "param", "name", "Ana Silva") in found
    assert ("response", "shop.customers", "column", "email", "a@example.com") in found


def test_midstream_compressed_detected() -> None:
    conv = [
        (RESP, b"\x99" * 40),
        (REQ, b"\x01\x02" + b.compress(b.query("SELECT name, email, ssn FROM customers " + "-" * 60))),
        (RESP, b.compress(b.result_set(CUSTOMERS, PEOPLE * 5), seq=1)),
    ]
    events = run(conv)
    assert len([r for r in rows(events) if r[0] == "response"]) == 25
    assert "midstream" in kinds(events)


def test_response_gap_waits_for_next_command() -> None:
    d = MysqlDissector()
    events: list[Event] = []
    for direction, data in handshake():
        events += d.feed(direction, data, 0)
    events += d.feed(REQ, b.query("SELECT name, email, ssn FROM customers"), 1)
    reply = b.result_set(CUSTOMERS, PEOPLE)
    events += d.feed(RESP, reply[:30], 2)
    events += d.gap(RESP, 100)
    events += d.feed(RESP, reply[130:], 3)
    events += d.feed(REQ, b.query("SELECT name, email, ssn FROM customers"), 4)
    events += d.feed(RESP, b.result_set(CUSTOMERS, PEOPLE[:1]), 5)
    assert "gap" in kinds(events)
    assert len([r for r in rows(events) if r[0] == "response"]) == 3


def test_request_gap_resyncs_on_next_command() -> None:
    d = MysqlDissector()
    for direction, data in handshake():
        d.feed(direction, data, 0)
    events = d.gap(REQ, 10)
    events += d.feed(REQ, b"lost tail" + b.query("INSERT INTO customers (email) VALUES ('q@example.com')"), 1)
    assert "resync" in kinds(events)
    assert ("request", "shop.customers", "column", "email", "q@example.com") in rows(events)


# -- splits and mutations of richer conversations ----------------------------------------------


def _rich() -> Conv:
    cols = (b.Col("id", type=FieldType.LONG), b.Col("email"))
    return handshake() + _prepared_insert() + [
        (REQ, b.execute(1, ALL_TYPES)),
        (RESP, b.ok(1)),
        (REQ, b.prepare("SELECT id, email FROM customers WHERE id = ?")),
        (RESP, b.prepare_ok(2, [b.Col("?", table="", schema="")], cols)),
        (REQ, b.execute(2, [(FieldType.LONG, 1, False)])),
        (RESP, b.result_set(cols, [b.binary_row(cols, [1, "a@example.com"])], binary=True)),
        (REQ, b.query("UPDATE customers SET email = 'b@example.com' WHERE id = 1")),
        (RESP, b.ok(1)),
        (REQ, b.query("SELECT name, email, ssn FROM customers")),
        (RESP, b.result_set(CUSTOMERS, PEOPLE)),
    ]


def _key(events: Sequence[Event]) -> list[object]:
    return [
        (e.direction, e.api, tuple((p.location, p.name, p.data, p.media_type) for p in e.parts))
        if isinstance(e, Message) else e
        for e in events
        if not isinstance(e, Handoff)
    ]


def test_rich_conversation_bytewise_equals_whole() -> None:
    conv = _rich()
    assert _key(run(conv, split=1)) == _key(run(conv))


@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_rich_conversation_mutations_raise_only_protocol_error(seed: int) -> None:
    rng = random.Random(seed)
    d = MysqlDissector()
    try:
        for ts, (direction, data) in enumerate(_rich()):
            buf = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            d.feed(direction, bytes(buf), ts)
        for direction in Direction:
            d.close(direction, 99)
    except ProtocolError:
        pass


def test_close_mid_message_truncated() -> None:
    d = MysqlDissector()
    for direction, data in handshake():
        d.feed(direction, data, 0)
    d.feed(REQ, b.query("SELECT 1")[:6], 1)
    assert kinds(d.close(REQ, 2)) == ["truncated_message"]


# -- real captures ---------------------------------------------------------------------------

SERVER_PORTS = {3306, 20130, 30130, 33306}


def tcp_streams(tshark: str, path: Path) -> list[Conv]:
    """Per TCP connection to a MySQL port: the payloads in capture order, each segment
    once (retransmissions dropped by sequence number)."""
    out = subprocess.run(
        [tshark, "-r", str(path), "-o", "tcp.analyze_sequence_numbers:FALSE", "-Y", "tcp.len>0",
         "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.seq_raw", "-e", "tcp.payload"],
        capture_output=True, text=True, check=True,
    ).stdout
    convs: dict[int, Conv] = defaultdict(list)
    seen: set[tuple[str, str, str]] = set()
    for line in out.splitlines():
        stream, sport, dport, seq, payload = line.split("\t")
        if (stream, sport, seq) in seen or not payload:
            continue
        seen.add((stream, sport, seq))
        if int(sport) in SERVER_PORTS:
            convs[int(stream)].append((RESP, bytes.fromhex(payload)))
        elif int(dport) in SERVER_PORTS:
            convs[int(stream)].append((REQ, bytes.fromhex(payload)))
    return [convs[k] for k in sorted(convs)]


def scan(tshark: str, path: Path) -> tuple[list[tuple[str, str, str, str, str]], list[str]]:
    found: list[tuple[str, str, str, str, str]] = []
    anomalies: list[str] = []
    for conv in tcp_streams(tshark, path):
        events = run(conv)
        found += rows(events)
        anomalies += kinds(events)
    return found, anomalies


def fields(found: Sequence[tuple[str, str, str, str, str]]) -> set[tuple[str, str, str, str]]:
    return {r[:4] for r in found}


@pytest.mark.tshark
def test_capture_prepared_insert_execute(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/prepared-insert-execute.pcap")
    assert ("request", "demo.peeps", "param", "name", "person") in found
    assert ("request", "demo.peeps", "param", "age", "33") in found
    # INSERT INTO test VALUES (2, 'TEST'): no column list, values by position.
    assert ("request", "demo.test", "column", "#2", "TEST") in found
    assert anomalies == []


@pytest.mark.tshark
def test_capture_prepared_numeric_types(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/prepared-numeric-types.pcap")
    salaries = [r[4] for r in found if r[:4] == ("response", "demo.dbtypes", "column", "salary")]
    assert salaries and all(s.replace(".", "").replace("-", "").isdigit() for s in salaries)
    assert ("request", "demo.dbtypes", "param", "big", "9223372036854775807") in found
    assert anomalies == []


@pytest.mark.tshark
def test_capture_prepared_date_types(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/prepared-date-types.pcap")
    assert ("request", "demo.dates", "param", "created", "2013-03-04") in found
    assert ("response", "demo.dates", "column", "updated", "2021-09-25 17:21:23") in found
    assert anomalies == []


@pytest.mark.tshark
def test_capture_compressed_select_decoded(tshark: str, shared_captures: Path) -> None:
    # zlib packets: the SELECT's result set is empty (column definitions and EOFs).
    found, anomalies = scan(tshark, shared_captures / "mysql/compressed-protocol-select.pcap")
    assert found == [("request", "demo", "auth", "user", "site")]
    assert anomalies == []


@pytest.mark.tshark
def test_capture_webapp_users(tshark: str, shared_captures: Path) -> None:
    found, _ = scan(tshark, shared_captures / "mysql/webapp-users-queries.pcap")
    got = fields(found)
    for column in ("password", "u2f", "totp"):
        assert ("response", "demo.users", "column", column) in got
    assert any(r[1].endswith("users") and r[3] == "username" and r[0] == "request" for r in found)
    assert ("request", "demo.fish_and_chips", "column", "food") in got


@pytest.mark.tshark
def test_capture_large_rows_multipacket(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/large-rows-multipacket.pcap")
    # One row whose 64 KB value spans many TCP segments, echoing the prepared INSERT.
    big = [r for r in found if r[1] == "demo.lots" and len(r[4]) > 60_000]
    assert [r[0] for r in big] == ["request", "response"] and big[0][4] == big[1][4]
    assert anomalies == []


@pytest.mark.tshark
def test_capture_mysql50_text_queries(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/mysql50-text-queries.pcap")
    assert ("request", "test.foo", "column", "name", "Goofy") in found
    assert ("response", "test.foo", "column", "name", "Garfield") in found
    assert anomalies == []


@pytest.mark.tshark
@pytest.mark.parametrize("name", [
    "mysql80-deprecate-eof-selects.pcap", "mysql80-caching-sha2.pcap",
    "mysql90-query-attributes.pcap",
])
def test_capture_mysql8_sessions_clean(tshark: str, shared_captures: Path, name: str) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql" / name)
    assert any(r[0] == "response" for r in found)
    assert anomalies == []


@pytest.mark.tshark
def test_capture_query_attributes_values(tshark: str, shared_captures: Path) -> None:
    found, _ = scan(tshark, shared_captures / "mysql/mysql90-query-attributes.pcap")
    values = {r[4] for r in found if r[3].startswith("mysql_query_attribute_string")}
    assert values == {"42", "v2"}


@pytest.mark.tshark
def test_capture_orm_prepared_midstream(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/orm-prepared-statements.pcap")
    assert ("request", "deepflow.domain", "param", "controller_ip", "10.33.40.162") in found
    assert ("response", "deepflow.controller", "column", "ip", "10.33.40.162") in found
    assert "midstream" in anomalies and "unexpected_packet" not in anomalies


@pytest.mark.tshark
def test_capture_controller_polling_midstream(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/controller-polling-queries.pcap")
    assert len([r for r in found if r[3] == "updated_at"]) >= 120
    assert "unexpected_packet" not in anomalies and "malformed_response" not in anomalies


@pytest.mark.tshark
def test_capture_mariadb_login_and_mysql8_tls(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "mysql/mariadb-and-mysql8-login.pcapng")
    assert ("request", "(unknown)", "auth", "user", "admin") in found
    assert any(r[3] == "@@version_comment" for r in found)
    assert anomalies == ["tls"]


@pytest.mark.tshark
def test_capture_midstream_compressed_decoded(tshark: str, shared_captures: Path) -> None:
    found, anomalies = scan(tshark, shared_captures / "robustness/mysql-midstream-compressed.pcap")
    assert "midstream" in anomalies
    assert {r[1] for r in found} == {"deepflow.process"}


@pytest.mark.tshark
@pytest.mark.parametrize("name", [
    "mysql50-text-queries.pcap", "webapp-users-queries.pcap", "mysql80-deprecate-eof-selects.pcap",
    "mysql80-caching-sha2.pcap",
])
def test_capture_column_names_match_tshark(tshark: str, shared_captures: Path, name: str) -> None:
    """Every (table, column) we report from a text result set is one tshark decoded."""
    path = shared_captures / "mysql" / name
    out = subprocess.run(
        [tshark, "-r", str(path), "-Y", "mysql", "-T", "fields", "-E", "occurrence=a",
         "-E", "aggregator=|", "-e", "mysql.field.org_table", "-e", "mysql.field.table",
         "-e", "mysql.field.org_name", "-e", "mysql.field.name"],
        capture_output=True, text=True, check=True,
    ).stdout
    names: set[tuple[str, str]] = set()
    for line in out.splitlines():
        org_tables, tables, org_names, plain = (f.split("|") for f in line.split("\t"))
        for org_table, table, org_name, plain_name in zip(org_tables, tables, org_names, plain,
                                                          strict=False):
            names.add((org_table or table, org_name or plain_name))
    found, _ = scan(tshark, path)
    ours = {(r[1].rsplit(".", 1)[-1], r[3]) for r in found
            if r[0] == "response" and r[1] != "(unknown)"}
    assert ours and ours <= names


@pytest.mark.tshark
def test_sample_customers_capture(tshark: str, samples_dir: Path) -> None:
    """The generated MariaDB sample (text and server-side prepared statements)."""
    path = samples_dir / "mysql-customers.pcap"
    if not path.is_file():
        pytest.skip("run python samples/make_mysql_samples.py")
    found, anomalies = scan(tshark, path)
    got = fields(found)
    for column in ("email", "phone", "ssn", "date_of_birth", "card_number"):
        assert ("request", "crm.customers", "column", column) in got
        assert ("request", "crm.customers", "param", column) in got
        assert ("response", "crm.customers", "column", column) in got
    assert anomalies == []
    # tshark sees the same statements (text and PREPARE) that we mapped.
    out = subprocess.run(
        [tshark, "-r", str(path), "-d", "tcp.port==33306,mysql", "-Y", "mysql.query",
         "-T", "fields", "-e", "mysql.query"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.count("INSERT INTO customers") == 4
    assert "WHERE email = ?" in out


# -- a live MariaDB server through an in-process relay -----------------------------------------


class _Relay:
    """Forwards one client connection to the server and logs each chunk in arrival order."""

    def __init__(self, server_port: int) -> None:
        import socket
        import threading

        self.log: list[tuple[Direction, bytes]] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.server_port = server_port
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import socket
        import threading

        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.server_port))
        pumps = [
            threading.Thread(target=self._pump, args=(client, upstream, REQ), daemon=True),
            threading.Thread(target=self._pump, args=(upstream, client, RESP), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()

    def _pump(self, src: object, dst: object, direction: Direction) -> None:
        import socket

        assert isinstance(src, socket.socket) and isinstance(dst, socket.socket)
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for sock in (src, dst):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            with self.lock:
                self.log.append((direction, data))
            dst.sendall(data)


@pytest.fixture(scope="module")
def mariadb() -> object:
    from tests.mysql_server import MariaDB, ServerUnavailable

    server = MariaDB(33917)
    try:
        server.start()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    server.admin(
        "CREATE DATABASE live; CREATE TABLE live.people (id INT PRIMARY KEY, email VARCHAR(80),"
        " born DATE, profile JSON);"
    )
    yield server
    server.stop()


@pytest.mark.mysql
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "zlib"])
def test_live_mariadb_text_and_prepared(mariadb: object, compress: bool) -> None:
    connector = pytest.importorskip("mysql.connector")
    relay = _Relay(33917)
    conn = connector.connect(host="127.0.0.1", port=relay.port, user="app", password="app-pass",
                             database="live", use_pure=True, ssl_disabled=True,
                             compress=compress, autocommit=True)
    key = 2 if compress else 1
    text = conn.cursor()
    text.execute(f"REPLACE INTO people (id, email, born, profile) VALUES ({key}, 'a@example.com',"
                 " '1990-04-01', '{\"phone\": \"+1 202 555 0143\"}')")
    text.execute(f"SELECT email, born, profile FROM people WHERE id = {key}")
    text.fetchall()
    prepared = conn.cursor(prepared=True)
    prepared.execute("UPDATE people SET email = ? WHERE id = ?", ("b@example.com", key))
    prepared.execute("SELECT id, email, born FROM people WHERE id = ?", (key,))
    prepared.fetchall()
    conn.close()
    relay.thread.join(10)
    events = run(list(relay.log))
    found = rows(events)
    assert ("request", "live.people", "column", "email", "a@example.com") in found
    assert ("response", "live.people", "column", "email", "a@example.com") in found
    assert ("request", "live.people", "param", "email", "b@example.com") in found
    assert ("request", "live.people", "param", "id", str(key)) in found
    assert ("response", "live.people", "column", "born", "1990-04-01") in found
    # MariaDB's JSON is a LONGTEXT alias: without MARIADB_CLIENT_EXTENDED_METADATA (which
    # Connector/Python does not ask for) nothing marks it JSON, so it stays text.
    profile = [p for e in events if isinstance(e, Message) for p in e.parts if p.name == "profile"]
    assert profile and all(p.media_type == MediaType.TEXT for p in profile)
    assert kinds(events) == []
