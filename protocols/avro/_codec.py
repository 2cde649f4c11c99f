"""Avro values -> field values named by their schema (spec/inventory.md, "field": Avro
values are named from the writer's schema joined by `.`, arrays `[]`, maps `{key}`).

Spec: Apache Avro 1.11 specification, "Schema Declaration" (primitive, record, enum,
array, map, union, fixed; names and namespaces), "Data Serialization and Deserialization"
(binary encoding, zigzag varints), "Object Container Files" and "Logical Types" (date,
time-*, timestamp-*, local-timestamp-*, decimal, uuid, duration). Decoding is fastavro's
(`schemaless_reader`); this module checks schemas before fastavro sees them, walks the
decoded value with its schema for the field names, and reads container files block by
block with bounded decompression.

Paths: record fields by name (`customer.address.street`); array items add `[]`; a map
adds `{key}`, and each map key is also a value at that path (a map keyed by e-mail
addresses is reported, as for JSON); a union takes the branch the value was written
with, its path unchanged. Leaves: strings as they are, numbers as text, enum symbols,
logical types as ISO 8601 dates and times, decimals as plain numbers, uuids as text;
bytes and fixed as text when they are UTF-8, else their printable runs
(`protocols._printable`); null and booleans carry nothing.

Schemas are untrusted (learned from traffic): refused when longer than
`MAX_SCHEMA_CHARS`, nested deeper than `MAX_SCHEMA_DEPTH`, recursive (a record that
contains itself: fastavro decodes those by recursion in C, and a deep value crashes the
process), or with an array whose items take no bytes (a count of 2^62 nulls would loop
for ever). A value must use all its bytes to count as decoded (`decode`): that is also
how a schema is tried on a value whose schema id is unknown.

Not supported: recursive schemas (such values get the binary fallback), reader schemas
(schema evolution: the writer's schema is used as is), container codecs other than
null, deflate, snappy and zstandard.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import logging
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from protocols import _decompress
from protocols._printable import printable_text
from protocols.avro._format import CONTAINER_MAGIC

log = logging.getLogger(__name__)

# Without quotes: the log filter (dpi/logsetup.py) redacts quoted text.
NO_FASTAVRO = (
    "Avro values read as binary: naming their fields needs fastavro, "
    "the avro extra (pip install dpi-inventory[avro])"
)

if TYPE_CHECKING:  # annotations only
    from protocols.base import Limits

# Longest schema accepted (real ones are a few KiB; the parse cache holds up to
# PARSED_SCHEMAS of them).
MAX_SCHEMA_CHARS = 256 * 1024
MAX_SCHEMA_DEPTH = 64
MAX_NAMED_TYPES = 10_000
PARSED_SCHEMAS = 64
# Container blocks read per file (each is bounded by the decompression limits too).
MAX_CONTAINER_BLOCKS = 10_000

_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
# Smallest encoding of each primitive, in bytes: a zigzag varint is at least one.
_MIN_SIZE = {
    "null": 0, "boolean": 1, "int": 1, "long": 1, "float": 4, "double": 8, "bytes": 1,
    "string": 1,
}  # fmt: skip
_CONTAINER_HEADER = {
    "type": "record",
    "name": "org.apache.avro.file.Header",
    "fields": [
        {"name": "meta", "type": {"type": "map", "values": "bytes"}},
        {"name": "sync", "type": {"type": "fixed", "name": "Sync", "size": 16}},
    ],
}
_CODECS = {"deflate": "deflate", "snappy": "snappy", "zstandard": "zstd"}

Pair = tuple[str, str]


class AvroError(ValueError):
    """A schema that is refused or a value that does not decode. Messages name the
    problem, never schema text or data."""


class Schema:
    """A checked schema: the JSON, its named types (full and short names) and
    fastavro's parsed form."""

    __slots__ = ("named", "parsed", "root")

    def __init__(self, root: Any, named: dict[str, Any], parsed: Any) -> None:
        self.root = root
        self.named = named
        self.parsed = parsed


@lru_cache(maxsize=PARSED_SCHEMAS)
def parse_schema(text: str) -> Schema:
    """The checked schema of `text` (a JSON schema), cached by text; `AvroError` if refused."""
    if len(text) > MAX_SCHEMA_CHARS:
        raise AvroError(f"schema of {len(text)} characters (at most {MAX_SCHEMA_CHARS})")
    try:
        root = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise AvroError("schema is not JSON") from None
    named: dict[str, Any] = {}
    _check(root, "", named, [], 0)
    fastavro = _fastavro()
    try:
        parsed = fastavro.parse_schema(root, _write_hint=False)
    except Exception:  # noqa: BLE001 - fastavro raises assorted errors on bad schemas
        raise AvroError("schema refused by fastavro") from None
    return Schema(root, named, parsed)


def _fastavro() -> Any:
    """fastavro, loaded with the first Avro schema; it is the optional `[avro]` extra.
    Without it no schema is usable (`AvroError`), so Avro values are read as binary
    (their printable runs, as the caller's fallback), with one warning per process."""
    try:
        import fastavro
    except ImportError:
        _warn_no_fastavro()
        raise AvroError("fastavro is not installed") from None
    return fastavro


@lru_cache(maxsize=1)
def _warn_no_fastavro() -> None:
    log.warning(NO_FASTAVRO)


def _fullname(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _check(node: Any, namespace: str, named: dict[str, Any], open_names: list[str], depth: int) -> int:
    """Validates one schema node (module docstring); returns its smallest encoding in bytes."""
    if depth > MAX_SCHEMA_DEPTH:
        raise AvroError(f"schema nested deeper than {MAX_SCHEMA_DEPTH}")
    if isinstance(node, str):
        if node in _PRIMITIVES:
            return _MIN_SIZE[node]
        full = _fullname(node, namespace)
        if full in open_names or node in open_names:
            raise AvroError("recursive schema")
        target = named.get(full, named.get(node))
        if target is None:
            raise AvroError("schema names an undefined type")
        return int(target["__min"])
    if isinstance(node, list):  # a union: the branch index comes first
        for branch in node:
            _check(branch, namespace, named, open_names, depth + 1)
        return 1
    if not isinstance(node, dict):
        raise AvroError("schema node is neither a name, a union nor an object")
    kind = node.get("type")
    if isinstance(kind, (list, dict)):
        return _check(kind, namespace, named, open_names, depth + 1)
    if kind in _PRIMITIVES:
        return _MIN_SIZE[kind]
    if kind in ("record", "error", "enum", "fixed"):
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise AvroError("named type without a name")
        space = node.get("namespace", namespace)
        space = space if isinstance(space, str) else namespace
        full = _fullname(name, space)
        if len(named) >= MAX_NAMED_TYPES:
            raise AvroError(f"schema defines more than {MAX_NAMED_TYPES} named types")
        inner_space = full.rpartition(".")[0]
        if kind == "enum":
            size = 1
        elif kind == "fixed":
            fixed_size = node.get("size")
            size = fixed_size if isinstance(fixed_size, int) else 0
        else:
            fields = node.get("fields")
            if not isinstance(fields, list):
                raise AvroError("record without a field list")
            open_names.extend((full, name))
            size = 0
            for item in fields:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise AvroError("record field without a name")
                size += _check(item.get("type"), inner_space, named, open_names, depth + 1)
            del open_names[-2:]
        entry = {"__min": size, "__node": node, "__space": inner_space}
        named[full] = entry
        named.setdefault(name, entry)
        return size
    if kind == "array":
        if _check(node.get("items"), namespace, named, open_names, depth + 1) == 0:
            raise AvroError("array of items that take no bytes")
        return 1
    if kind == "map":
        _check(node.get("values"), namespace, named, open_names, depth + 1)
        return 1
    if isinstance(kind, str):  # a named type used as {"type": "Name"}
        return _check(kind, namespace, named, open_names, depth + 1)
    raise AvroError("schema node without a type")


def decode(body: bytes, schema: Schema) -> Any:
    """The value `body` holds, which must use every byte; `AvroError` otherwise."""
    fastavro = _fastavro()  # a Schema exists only where fastavro parsed it

    stream = io.BytesIO(body)
    try:
        value = fastavro.schemaless_reader(stream, schema.parsed, None, return_record_name=True)
    except Exception:  # noqa: BLE001 - fastavro raises assorted errors on bad data
        raise AvroError("value does not decode with its schema") from None
    if stream.tell() != len(body):
        raise AvroError(f"value decoded with {len(body) - stream.tell()} bytes left over")
    return value


def fits(body: bytes, schema: Schema) -> bool:
    """Does `body` decode with `schema`, every byte used?"""
    try:
        decode(body, schema)
    except AvroError:
        return False
    return True


def datum_pairs(body: bytes, schema_text: str, prefix: str, limits: Limits) -> list[Pair] | None:
    """Field values of one Avro datum; None when the schema is refused or the body does
    not decode with it (the caller falls back to printable runs)."""
    try:
        schema = parse_schema(schema_text)
        value = decode(body, schema)
    except AvroError:
        return None
    walker = _Walker(schema, limits)
    walker.walk(value, schema.root, prefix, "")
    return walker.out


def container_pairs(data: bytes, prefix: str, limits: Limits) -> list[Pair] | None:
    """Field values of every record of an object container file, named by its embedded
    schema; None when `data` is not a readable container."""
    if not data.startswith(CONTAINER_MAGIC):
        return None
    try:
        fastavro = _fastavro()
    except AvroError:
        return None

    stream = io.BytesIO(data)
    stream.seek(len(CONTAINER_MAGIC))
    try:
        header: Any = fastavro.schemaless_reader(stream, _header_schema())
        meta = header["meta"]
        schema = parse_schema(bytes(meta["avro.schema"]).decode("utf-8"))
        codec = bytes(meta.get("avro.codec", b"null")).decode("ascii")
    except (AvroError, KeyError, UnicodeDecodeError):
        return None
    except Exception:  # noqa: BLE001 - fastavro raises assorted errors on bad data
        return None
    if codec != "null" and codec not in _CODECS:
        return None
    sync = bytes(header["sync"])
    walker = _Walker(schema, limits)
    pos = stream.tell()
    records = 0
    for _ in range(MAX_CONTAINER_BLOCKS):
        if pos >= len(data):
            break
        try:
            count, pos = _read_long(data, pos)
            size, pos = _read_long(data, pos)
        except AvroError:
            break
        if count < 0 or size < 0 or pos + size + 16 > len(data):
            break  # a cut file: what was read counts
        block = data[pos : pos + size]
        pos += size
        if data[pos : pos + 16] != sync:
            break
        pos += 16
        try:
            if codec == "snappy":
                block = block[:-4]  # the CRC-32 of the uncompressed data follows
            if codec != "null":
                block = _decompress.decompress(block, _CODECS[codec], limits)
        except _decompress.DecompressionError:
            break
        stream = io.BytesIO(block)
        try:
            for _ in range(min(count, limits.max_records - records)):
                value = fastavro.schemaless_reader(
                    stream, schema.parsed, None, return_record_name=True
                )
                walker.walk(value, schema.root, prefix, "")
                records += 1
        except Exception:  # noqa: BLE001 - fastavro raises assorted errors on bad data
            break
        if records >= limits.max_records or walker.full:
            break
    return walker.out


@lru_cache(maxsize=1)
def _header_schema() -> Any:
    return _fastavro().parse_schema(_CONTAINER_HEADER)


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at `pos` -> (value, position after it)."""
    shift = 0
    raw = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise AvroError("varint cut or too long")
        byte = data[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Walker:
    """A decoded value and its schema -> (path, text) pairs, bounded like every part."""

    def __init__(self, schema: Schema, limits: Limits) -> None:
        self.named = schema.named
        self.limits = limits
        self.out: list[Pair] = []
        self.room = limits.max_fields_per_part
        self.full = False

    def _emit(self, path: str, text: str) -> None:
        if self.room <= 0:
            self.full = True
            return
        self.out.append((path[: self.limits.max_path_chars], text[: self.limits.max_value_chars]))
        self.room -= 1

    def _resolve(self, node: Any, space: str) -> tuple[Any, str]:
        """A type name -> its definition and namespace; anything else as it is."""
        for _ in range(MAX_SCHEMA_DEPTH):
            if isinstance(node, dict) and isinstance(node.get("type"), (str, list, dict)):
                kind = node["type"]
                if isinstance(kind, str) and (kind in _PRIMITIVES or kind in _COMPLEX):
                    return node, space
                node = kind
                continue
            if isinstance(node, str) and node not in _PRIMITIVES:
                entry = self.named.get(_fullname(node, space), self.named.get(node))
                if entry is None:
                    return node, space
                return entry["__node"], entry["__space"]
            return node, space
        return node, space

    def walk(self, value: Any, node: Any, path: str, space: str) -> None:
        if self.full or value is None or isinstance(value, bool):
            return
        node, space = self._resolve(node, space)
        if isinstance(node, list):  # a union: the branch the value was written with
            node, value = self._branch(value, node, space)
            node, space = self._resolve(node, space)
        kind = node.get("type") if isinstance(node, dict) else node
        if kind in ("record", "error") and isinstance(value, dict):
            inner = self._space_of(node, space)
            for item in node.get("fields", ()):
                name = item["name"]
                if name in value:
                    self.walk(value[name], item.get("type"), _join(path, name), inner)
            return
        if kind == "array" and isinstance(value, list):
            items = node.get("items")
            elem = path + "[]"
            for item in value:
                self.walk(item, items, elem, space)
                if self.full:
                    return
            return
        if kind == "map" and isinstance(value, dict):
            values = node.get("values")
            at = _join(path, "{key}")
            for key, item in value.items():
                self._emit(at, str(key))
                self.walk(item, values, at, space)
                if self.full:
                    return
            return
        self._leaf(value, path)

    @staticmethod
    def _space_of(node: dict[str, Any], space: str) -> str:
        name = node.get("name", "")
        namespace = node.get("namespace", space)
        full = _fullname(name, namespace if isinstance(namespace, str) else space)
        return full.rpartition(".")[0]

    def _branch(self, value: Any, union: list[Any], space: str) -> tuple[Any, Any]:
        """(branch schema, value) of a union value; fastavro gives records in unions as
        (full name, record)."""
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            name, inner = value
            for branch in union:
                resolved, branch_space = self._resolve(branch, space)
                if isinstance(resolved, dict) and resolved.get("name") is not None:
                    full = _fullname(str(resolved["name"]), branch_space)
                    if name in (full, resolved["name"]):
                        return resolved, inner
            return "string", inner
        wanted = "map" if isinstance(value, dict) else "array" if isinstance(value, list) else ""
        if wanted:
            for branch in union:
                resolved, _ = self._resolve(branch, space)
                if isinstance(resolved, dict) and resolved.get("type") == wanted:
                    return resolved, value
        return "string", value  # a scalar: the path is the same whatever its branch

    def _leaf(self, value: Any, path: str) -> None:
        convert = _LEAVES.get(type(value))
        if convert is not None:
            text = convert(value)
        elif isinstance(value, (bytes, bytearray)):
            try:
                text = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if not text.isprintable():  # binary after all: its printable runs
                text = printable_text(bytes(value), self.limits) or ""
        elif isinstance(value, (dt.date, dt.time)):  # datetime is a date
            text = value.isoformat()
        else:
            return
        if text:
            self._emit(path, text)


_COMPLEX = frozenset({"record", "error", "enum", "fixed", "array", "map"})


def _decimal_text(value: decimal.Decimal) -> str:
    return format(value, "f")


_LEAVES: dict[type, Callable[[Any], str]] = {
    str: lambda v: v,
    int: str,
    float: repr,
    decimal.Decimal: _decimal_text,
    uuid.UUID: str,
}
