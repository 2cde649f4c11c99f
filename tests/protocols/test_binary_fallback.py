"""The binary fallback (issue #21, item 4): bytes no decoder reads have their printable
runs classified, field empty, one value per payload; and the Avro decoding beneath
`protocols.avro` (schema checks, names, logical types, container files)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections import Counter
from pathlib import Path

import fastavro
import pytest

from dpi.api import scan_engine
from protocols._printable import MAX_RUNS, PrintableText, printable_runs
from protocols.avro import AvroError, container_pairs, datum_pairs, parse_schema
from protocols.base import Limits, Location, MediaType, Part
from protocols.payload import field_pairs
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.websocket import BINARY, frame

LIMITS = Limits()
EMAIL = "jo.kim@mail.shopper-demo.net"
CARD = "4111111111111111"


def _blob(*strings: str) -> bytes:
    """Strings inside a made-up binary format: a tag byte, a 2-byte length, the bytes."""
    out = b"\x89\x01"
    for text in strings:
        data = text.encode()
        out += b"\x0b" + len(data).to_bytes(2, "big") + data + b"\x00\xff"
    return out


# -- printable runs ----------------------------------------------------------------------


def test_runs_in_utf8_and_utf16le_in_order() -> None:
    data = _blob(EMAIL) + b"\x01\x02" + "Zoë Müller-Ünal".encode("utf-16-le") + b"\x00\x00\x07"
    assert printable_runs(data, LIMITS) == [EMAIL, "Zoë Müller-Ünal"]


def test_short_runs_are_noise() -> None:
    assert printable_runs(b"\x00abc\x01de\x02\x03ok!\x04", LIMITS) == []


def test_length_prefix_glued_to_a_string_also_gives_the_string() -> None:
    # Avro: zigzag length 16 is 0x20 (a space), glued to the phone before it.
    avro = b"\x1e+1 202 555 0143\x20" + CARD.encode() + b"\x00"
    runs = printable_runs(avro, LIMITS)
    assert runs[0] == f"+1 202 555 0143 {CARD}"
    assert {CARD, "+1 202 555 0143"} <= set(runs)


def test_compressed_and_media_containers_give_nothing() -> None:
    for magic in (b"\x1f\x8b\x08", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"\xff\xd8\xff\xe0"):
        assert printable_runs(magic + _blob(EMAIL), LIMITS) == []


def test_runs_are_bounded_in_count_and_size() -> None:
    many = b"\x00".join(b"run%05d" % i for i in range(5000))
    assert len(printable_runs(many, LIMITS)) == MAX_RUNS
    huge = b"\x00" + b"a" * 100_000 + b"\x00"
    runs = printable_runs(huge, Limits(max_value_chars=500))
    assert runs[0] == "a" * 500
    assert all(len(run) <= 500 for run in runs) and len(runs) <= 5


def test_binary_part_gives_one_value_per_payload_named_by_the_part() -> None:
    body = Part(location=Location.BODY, name="", data=_blob(EMAIL, CARD), media_type=MediaType.BINARY)
    [(path, value)] = field_pairs(body, LIMITS)
    assert path == "" and isinstance(value, PrintableText)
    assert value.runs() == [EMAIL, CARD]
    header = Part(location=Location.HEADER, name="x-trace", data=_blob(EMAIL), media_type=MediaType.BINARY)
    assert field_pairs(header, LIMITS) == [("x-trace", EMAIL)]


def test_undecodable_protobuf_body_falls_back() -> None:
    part = Part(location=Location.BODY, name="", data=b"\xff\xff\xff" + _blob(EMAIL),
                media_type=MediaType.PROTOBUF)  # fmt: skip
    assert field_pairs(part, LIMITS) == [("", EMAIL)]


# -- end to end: one value per payload -----------------------------------------------------


def _http_capture(tmp_path: Path, bodies: list[bytes], content_type: str) -> Path:
    conv = Conversation().handshake()
    for body in bodies:
        conv.request(http_request("GET", "/v1/export"))
        conv.response(http_response(body, content_type=content_type))
    return conv.close().write(tmp_path / "c.pcap")


def test_binary_http_bodies_report_email_and_card_per_payload(tmp_path: Path) -> None:
    # Each body holds an e-mail, a card number and five other strings: as separate
    # values each type would be 1/7 of the field (under the card's 0.6); per payload 3/3.
    filler = ["status=active", "region=eu-west", "plan=premium", "locale=en_GB", "v=2.14.7"]
    bodies = [_blob(EMAIL, *filler[:2], CARD, *filler[2:]) for _ in range(3)]
    engine = scan_engine(_http_capture(tmp_path, bodies, "application/x-thrift"), strict=True)
    rows = {(r.api, r.direction, r.location, r.field, r.data_type): r for r in engine.inventory.rows()}
    key = ("GET /v1/export", "response", "body", "")
    assert set(rows) == {(*key, "EMAIL_ADDRESS"), (*key, "CARD_NUMBER")}
    assert rows[(*key, "CARD_NUMBER")].count == 3
    assert rows[(*key, "CARD_NUMBER")].sample == "************1111"
    assert rows[(*key, "EMAIL_ADDRESS")].sample == "**.***@****.*******-****.net"


def test_markup_served_as_binary_stays_unread(tmp_path: Path) -> None:
    page = f"<!doctype html><p>Write to {EMAIL}</p>".encode()
    engine = scan_engine(_http_capture(tmp_path, [page], "text/html"), strict=True)
    assert engine.inventory.rows() == []


def test_websocket_blob_with_an_email_and_a_card_gives_both_rows(tmp_path: Path) -> None:
    upgrade = http_request("GET", "/v1/feed", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})  # fmt: skip
    accepted = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")  # fmt: skip
    conv = Conversation().handshake().request(upgrade).response(accepted)
    conv.response(frame(BINARY, _blob("order 5512", EMAIL, "note: leave at door", CARD)))
    engine = scan_engine(conv.close().write(tmp_path / "ws.pcap"), strict=True)
    found = {(r.api, r.field, r.data_type, r.count) for r in engine.inventory.rows()}
    assert found == {("WS /v1/feed", "", "EMAIL_ADDRESS", 1), ("WS /v1/feed", "", "CARD_NUMBER", 1)}


# -- Avro ------------------------------------------------------------------------------------

RECORD = {
    "type": "record",
    "name": "Event",
    "namespace": "t",
    "fields": [
        {"name": "who", "type": ["null", {"type": "record", "name": "Who", "fields": [
            {"name": "email", "type": "string"},
            {"name": "born", "type": {"type": "int", "logicalType": "date"}}]}]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "by_mail", "type": {"type": "map", "values": "Who"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 8, "scale": 2}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "raw", "type": "bytes"},
        {"name": "ok", "type": "boolean"},
    ],
}  # fmt: skip


def _encode(schema: dict[str, object], value: dict[str, object]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def _value() -> dict[str, object]:
    who = {"email": EMAIL, "born": dt.date(1990, 4, 12)}
    return {
        "who": who,
        "tags": ["a-tag", "b-tag"],
        "by_mail": {"x@mail.shopper-demo.net": who},
        "amount": decimal.Decimal("12.30"),
        "at": dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC),
        "id": "9a70af25-3988-4d52-8526-0c14e94f8720",
        "raw": b"\x00\x01" + CARD.encode() + b"\x02",
        "ok": True,
    }


def test_avro_datum_named_by_its_schema() -> None:
    import json

    pairs = datum_pairs(_encode(RECORD, _value()), json.dumps(RECORD), "", LIMITS)
    assert pairs == [
        ("who.email", EMAIL),
        ("who.born", "1990-04-12"),
        ("tags[]", "a-tag"),
        ("tags[]", "b-tag"),
        ("by_mail.{key}", "x@mail.shopper-demo.net"),
        ("by_mail.{key}.email", EMAIL),
        ("by_mail.{key}.born", "1990-04-12"),
        ("amount", "12.30"),
        ("at", "2026-01-15T09:00:00+00:00"),
        ("id", "9a70af25-3988-4d52-8526-0c14e94f8720"),
        ("raw", CARD),
    ]


def test_avro_value_with_bytes_left_over_is_not_decoded() -> None:
    import json

    body = _encode(RECORD, _value()) + b"\x00"
    assert datum_pairs(body, json.dumps(RECORD), "", LIMITS) is None
    # The Avro part then gets the binary fallback, counted as damage.
    part = Part(location=Location.VALUE, name="", data=body, media_type="avro/binary",
                schema=json.dumps(RECORD))  # fmt: skip
    damage: Counter[str] = Counter()
    pairs = field_pairs(part, LIMITS, None, None, damage)
    assert damage == {"avro_undecodable": 1}
    assert [p for p, _ in pairs] == [""] and EMAIL in pairs[0][1].split("\n")


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ('{"type": "record", "name": "N", "fields": [{"name": "n", "type": ["null", "N"]}]}', "recursive"),
        ('{"type": "array", "items": "null"}', "take no bytes"),
        ('{"type": "array", "items": {"type": "record", "name": "E", "fields": []}}', "take no bytes"),
        ('{"type": "array", "items": ' * 70 + '"int"' + "}" * 70, "deeper"),
        ('{"type": "record", "name": "R", "fields": [{"name": "x", "type": "Missing"}]}', "undefined"),
        ("not json", "not JSON"),
    ],
)
def test_untrusted_schemas_are_refused(schema: str, problem: str) -> None:
    with pytest.raises(AvroError, match=problem):
        parse_schema(schema)


def test_container_file_records_with_deflate_and_a_cut_end() -> None:
    schema = {"type": "record", "name": "P", "fields": [{"name": "email", "type": "string"}]}
    out = io.BytesIO()
    records = [{"email": f"user{i}@mail.shopper-demo.net"} for i in range(3)]
    fastavro.writer(out, fastavro.parse_schema(schema), records, codec="deflate", sync_interval=1)
    data = out.getvalue()
    assert container_pairs(data, "", LIMITS) == [("email", r["email"]) for r in records]
    cut = container_pairs(data[:-20], "", LIMITS)
    assert cut == [("email", r["email"]) for r in records[:2]]
    assert container_pairs(b"Obj\x01garbage", "", LIMITS) is None
