"""Avro binary decoding (protocols/_avro_binary.py) against fastavro, the library it
replaced in the core install (issue #17): same values for every type and logical type,
written by fastavro; damaged bytes give `AvroError`, never another exception."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import uuid
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols._avro import AvroError, decode, parse_schema
from protocols._avro_binary import AvroDecodeError, read_value

EVERYTHING = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "small", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "ratio", "type": "float"},
        {"name": "price", "type": "double"},
        {"name": "blob", "type": "bytes"},
        {"name": "email", "type": "string"},
        {"name": "nothing", "type": "null"},
        {"name": "state", "type": {"type": "enum", "name": "State", "symbols": ["NEW", "PAID"]}},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "maybe", "type": ["null", "string"]},
        {"name": "customer", "type": ["null", {
            "type": "record", "name": "Customer", "namespace": "people",
            "fields": [{"name": "name", "type": "string"}],
        }]},
        {"name": "again", "type": ["null", "people.Customer"]},
        {"name": "kind", "type": ["null", "State"]},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "at_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "local_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "local_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "t_us", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12,
                                    "scale": 2}},
        {"name": "fixed_amount", "type": {"type": "fixed", "name": "Amount", "size": 8,
                                          "logicalType": "decimal", "precision": 18, "scale": 4}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "other", "type": {"type": "string", "logicalType": "not-a-logical-type"}},
    ],
}

VALUE: dict[str, Any] = {
    "flag": True, "small": -7, "big": 2**62, "ratio": 1.5, "price": -0.1, "blob": b"\x00\xff",
    "email": "a.b@example.test", "nothing": None, "state": "PAID", "hash": b"abcd",
    "tags": ["x", "ünï"], "attrs": {"k": -1, "l": 3}, "maybe": "here",
    "customer": {"name": "Ann"}, "again": None, "kind": "NEW",
    "day": dt.date(2024, 2, 29),
    "at_ms": dt.datetime(2024, 5, 1, 12, 30, 1, 123000, tzinfo=dt.UTC),
    "at_us": dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    "local_ms": dt.datetime(2001, 1, 1, 0, 0, 0, 5000),
    "local_us": dt.datetime(2038, 1, 19, 3, 14, 8, 1),
    "t_ms": dt.time(23, 59, 59, 999000), "t_us": dt.time(0, 0, 0, 1),
    "amount": decimal.Decimal("-12345.67"), "fixed_amount": decimal.Decimal("3.1416"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "other": "plain",
}


def _json(schema: Any) -> str:
    return json.dumps(schema)


def _write(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def _fastavro(schema: Any, body: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(schema), None,
                                      return_record_name=True)


def test_every_type_decodes_as_fastavro_decodes_it() -> None:
    body = _write(EVERYTHING, VALUE)
    ours = decode(body, parse_schema(_json(EVERYTHING)))
    assert ours == _fastavro(EVERYTHING, body)
    assert ours["customer"] == ("people.Customer", {"name": "Ann"})  # records in unions: named
    assert ours["at_ms"] == VALUE["at_ms"] and ours["amount"] == VALUE["amount"]


@pytest.mark.parametrize("cut", [1, 5, 17, 40])
def test_a_cut_value_is_an_avro_error(cut: int) -> None:
    body = _write(EVERYTHING, VALUE)
    with pytest.raises(AvroError):
        decode(body[:cut], parse_schema(_json(EVERYTHING)))


def test_bad_utf8_and_branches_out_of_range_are_avro_errors() -> None:
    schema = parse_schema(_json({"type": "record", "name": "R", "fields": [
        {"name": "s", "type": "string"}]}))
    with pytest.raises(AvroError):
        decode(b"\x04\xff\xfe", schema)  # a 2-byte string that is not UTF-8
    union = parse_schema(_json(["null", "string"]))
    with pytest.raises(AvroError):
        decode(b"\x04", union)  # branch 2 of 2


def test_blocks_with_byte_sizes_are_read() -> None:
    """Arrays and maps may give a negative count and the block's size (spec: "Arrays")."""
    schema = {"type": "array", "items": "long"}
    body = b"\x03" + b"\x04" + b"\x02\x04" + b"\x00"  # count -2, size 2, items 1 and 2, end
    assert decode(body, parse_schema(_json(schema))) == [1, 2] == _fastavro(schema, body)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_agree_with_fastavro_or_fail_cleanly(body: bytes) -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "u", "type": ["null", "long", "string", {"type": "array", "items": "int"}]},
        {"name": "m", "type": {"type": "map", "values": ["null", "double"]}},
        {"name": "d", "type": {"type": "int", "logicalType": "date"}},
    ]}
    parsed = parse_schema(_json(schema))
    try:
        ours, end = read_value(body, 0, parsed.root, parsed.named)
    except AvroDecodeError:
        return  # fastavro may read some of these (lenient), but never anything else
    stream = io.BytesIO(body)
    theirs = fastavro.schemaless_reader(stream, fastavro.parse_schema(schema), None,
                                        return_record_name=True)
    assert (ours, end) == (theirs, stream.tell())
