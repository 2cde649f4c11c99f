"""Avro binary decoding: a checked writer schema and bytes -> the value, as fastavro's
`schemaless_reader(..., return_record_name=True)` returns it (so that
`protocols._avro`'s walker names it the same way).

Spec: Apache Avro 1.11 specification, "Data Serialization and Deserialization" (binary
encoding: zigzag varints, IEEE 754 little-endian floats, length-prefixed bytes and
strings, blocked arrays and maps, unions by branch index) and "Logical Types" (date,
time-millis, time-micros, timestamp-millis/-micros, local-timestamp-millis/-micros,
decimal on bytes and fixed, uuid on string; others are left as their underlying type).

Why not fastavro: it was the core install's fifth largest library (13 MB of compiled
modules, issue #17) for one function. Schemas reach this module only through
`protocols._avro._check` (bounded depth, no recursion, arrays of items that take bytes),
so recursion here is bounded and every array item consumes input. Unions of records,
and named types referenced by name in a union, give `(full name, value)`.

Stricter than fastavro: a negative union branch or enum index is an error (fastavro's
Python reader indexes from the end). Not supported: reader schemas (schema evolution),
as in `protocols._avro`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any

_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_FLOAT = struct.Struct("<f")
_DOUBLE = struct.Struct("<d")


class AvroDecodeError(ValueError):
    """The bytes do not decode with the schema. The message names no data."""


def _fullname(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _decimal(unscaled: bytes, node: dict[str, Any]) -> decimal.Decimal:
    scale = node.get("scale", 0)
    context = decimal.Context(prec=node["precision"])
    value = int.from_bytes(unscaled, "big", signed=True)
    return context.create_decimal(value).scaleb(-scale, context)


def _time(value: int, per_second: int) -> dt.time:
    seconds, fraction = divmod(value, per_second)
    minutes, second = divmod(seconds, 60)
    return dt.time(minutes // 60, minutes % 60, second, fraction * (1_000_000 // per_second))


def _logical(value: Any, kind: str, node: dict[str, Any]) -> Any:
    """`value` of underlying type `kind` converted by the node's logical type, as fastavro
    converts it; unknown logical types leave it as it is."""
    match f"{kind}-{node.get('logicalType')}":
        case "long-timestamp-millis":
            return _EPOCH + dt.timedelta(microseconds=value * 1000)
        case "long-local-timestamp-millis":
            return _EPOCH_NAIVE + dt.timedelta(microseconds=value * 1000)
        case "long-timestamp-micros":
            return _EPOCH + dt.timedelta(microseconds=value)
        case "long-local-timestamp-micros":
            return _EPOCH_NAIVE + dt.timedelta(microseconds=value)
        case "int-date":
            return dt.date.fromordinal(value + _EPOCH_ORDINAL)
        case "int-time-millis":
            return _time(value, 1000)
        case "long-time-micros":
            return _time(value, 1_000_000)
        case "bytes-decimal" | "fixed-decimal":
            return _decimal(value, node)
        case "string-uuid":
            return uuid.UUID(value)
    return value


class _Reader:
    """Bytes and a position; `named` maps full and short names to `_check`'s entries."""

    def __init__(self, data: bytes, pos: int, named: dict[str, Any]) -> None:
        self.data = data
        self.pos = pos
        self.named = named

    def _take(self, size: int) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise AvroDecodeError("value is cut short")
        piece = self.data[self.pos : end]
        self.pos = end
        return piece

    def long(self) -> int:
        shift = 0
        raw = 0
        data = self.data
        while True:
            if self.pos >= len(data) or shift > 63:
                raise AvroDecodeError("varint cut or too long")
            byte = data[self.pos]
            self.pos += 1
            raw |= (byte & 0x7F) << shift
            if byte < 0x80:
                return (raw >> 1) ^ -(raw & 1)
            shift += 7

    def _primitive(self, kind: str) -> Any:
        if kind == "null":
            return None
        if kind == "boolean":
            return self._take(1) != b"\x00"
        if kind in ("int", "long"):
            return self.long()
        if kind == "float":
            return _FLOAT.unpack(self._take(4))[0]
        if kind == "double":
            return _DOUBLE.unpack(self._take(8))[0]
        raw = self._take(self.long())
        return raw.decode("utf-8") if kind == "string" else raw

    def _named(self, name: str, space: str) -> tuple[Any, str, str]:
        """A type name -> (its definition, its inner namespace, its full name)."""
        entry = self.named.get(_fullname(name, space), self.named.get(name))
        if entry is None:
            raise AvroDecodeError("schema names an undefined type")
        node = entry["__node"]
        inner = entry["__space"]
        return node, inner, _fullname(str(node["name"]), inner)

    def _blocks(self) -> Any:
        """Item counts of an array or map, block by block (a negative count is followed
        by the block's size in bytes)."""
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:
                count = -count
                self.long()
            yield count

    def read(self, node: Any, space: str) -> Any:
        if isinstance(node, str):
            if node in _PRIMITIVES:
                return self._primitive(node)
            definition, inner, _ = self._named(node, space)
            return self.read(definition, inner)
        if isinstance(node, list):
            index = self.long()
            if not 0 <= index < len(node):
                raise AvroDecodeError("union branch out of range")
            branch = node[index]
            value = self.read(branch, space)
            if isinstance(branch, str) and branch not in _PRIMITIVES:
                return self._named(branch, space)[2], value
            if isinstance(branch, dict) and branch.get("type") == "record":
                return _fullname(str(branch["name"]), self._namespace(branch, space)), value
            return value
        kind = node.get("type")
        if isinstance(kind, (list, dict)):
            return self.read(kind, space)
        if kind in _PRIMITIVES:
            value = self._primitive(kind)
            return _logical(value, kind, node) if "logicalType" in node else value
        if kind in ("record", "error"):
            inner = _fullname(str(node["name"]), self._namespace(node, space)).rpartition(".")[0]
            return {item["name"]: self.read(item.get("type"), inner) for item in node["fields"]}
        if kind == "enum":
            symbols = node["symbols"]
            index = self.long()
            if not 0 <= index < len(symbols):
                raise AvroDecodeError("enum index out of range")
            return symbols[index]
        if kind == "fixed":
            raw = self._take(node["size"])
            return _logical(raw, kind, node) if "logicalType" in node else raw
        if kind == "array":
            items = node["items"]
            out: list[Any] = []
            for count in self._blocks():
                for _ in range(count):
                    out.append(self.read(items, space))
            return out
        if kind == "map":
            values = node["values"]
            found: dict[str, Any] = {}
            for count in self._blocks():
                for _ in range(count):
                    key = self._primitive("string")
                    found[key] = self.read(values, space)
            return found
        if isinstance(kind, str):  # {"type": "Name"}
            definition, inner, _ = self._named(kind, space)
            return self.read(definition, inner)
        raise AvroDecodeError("schema node without a type")

    @staticmethod
    def _namespace(node: dict[str, Any], space: str) -> str:
        namespace = node.get("namespace", space)
        return namespace if isinstance(namespace, str) else space


def read_value(data: bytes, pos: int, root: Any, named: dict[str, Any]) -> tuple[Any, int]:
    """The value at `pos` written with schema `root` (checked by `protocols._avro._check`,
    whose named types are `named`), and the position after it; `AvroDecodeError` when
    the bytes do not decode."""
    reader = _Reader(data, pos, named)
    try:
        value = reader.read(root, "")
    except AvroDecodeError:
        raise  # a ValueError too: kept as it is
    except (ValueError, OverflowError, KeyError, TypeError, IndexError, decimal.DecimalException):
        # Bad UTF-8, dates out of range, decimals beyond their precision, bad schemas.
        raise AvroDecodeError("value does not decode with its schema") from None
    return value, reader.pos
