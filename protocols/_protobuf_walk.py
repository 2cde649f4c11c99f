"""The walk of protobuf messages into field values, by the rules of `protocols.protobuf`'s
docstring, with the schema types it reads and the conversion of protobuf's descriptors to
them. Imported on first use (`protocols.protobuf` looks up its names here; its registry
imports it with the first schema loaded), so that a scan that meets no protobuf message
pays neither for these classes nor for the gRPC framing (`protocols._grpc`) they bring.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from protocols import _grpc
from protocols._protobuf_wire import Malformed, read_varint, scan
from protocols.base import FieldValue, Limits, Location, MediaType, Part

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor

    from protocols.protobuf import SchemaRegistry

# Packed integers above this are more likely binary noise than a repeated int32/enum:
# keeping them small also keeps random bytes from turning into card-length numbers.
MAX_PACKED_INFERRED = 1 << 32
GRPC_MEDIA_PREFIX = "application/grpc"
BARE_MEDIA_TYPES = frozenset(
    {MediaType.PROTOBUF, "application/protobuf", "application/vnd.google.protobuf"}
)


class Kind(Enum):
    """How a declared field's wire value becomes text."""

    VARINT = "varint"  # int32, int64, uint32, uint64
    SINT = "sint"
    BOOL = "bool"
    ENUM = "enum"
    FIXED32 = "fixed32"
    SFIXED32 = "sfixed32"
    FLOAT = "float"
    FIXED64 = "fixed64"
    SFIXED64 = "sfixed64"
    DOUBLE = "double"
    STRING = "string"
    BYTES = "bytes"
    MESSAGE = "message"
    GROUP = "group"


# FieldDescriptorProto.Type numbers (google/protobuf/descriptor.proto, fixed by the
# format; the same as FieldDescriptor.TYPE_*), literal so that this table needs no import.
_KIND_BY_TYPE = {
    5: Kind.VARINT,  # TYPE_INT32
    3: Kind.VARINT,  # TYPE_INT64
    13: Kind.VARINT,  # TYPE_UINT32
    4: Kind.VARINT,  # TYPE_UINT64
    17: Kind.SINT,  # TYPE_SINT32
    18: Kind.SINT,  # TYPE_SINT64
    8: Kind.BOOL,  # TYPE_BOOL
    14: Kind.ENUM,  # TYPE_ENUM
    7: Kind.FIXED32,  # TYPE_FIXED32
    15: Kind.SFIXED32,  # TYPE_SFIXED32
    2: Kind.FLOAT,  # TYPE_FLOAT
    6: Kind.FIXED64,  # TYPE_FIXED64
    16: Kind.SFIXED64,  # TYPE_SFIXED64
    1: Kind.DOUBLE,  # TYPE_DOUBLE
    9: Kind.STRING,  # TYPE_STRING
    12: Kind.BYTES,  # TYPE_BYTES
    11: Kind.MESSAGE,  # TYPE_MESSAGE
    10: Kind.GROUP,  # TYPE_GROUP
}
# Wire type each kind is normally sent with (encoding guide, "Message Structure").
_WIRE_OF_KIND = {
    Kind.VARINT: 0,
    Kind.SINT: 0,
    Kind.BOOL: 0,
    Kind.ENUM: 0,
    Kind.FIXED64: 1,
    Kind.SFIXED64: 1,
    Kind.DOUBLE: 1,
    Kind.STRING: 2,
    Kind.BYTES: 2,
    Kind.MESSAGE: 2,
    Kind.GROUP: 3,
    Kind.FIXED32: 5,
    Kind.SFIXED32: 5,
    Kind.FLOAT: 5,
}
_PACKABLE_WIRE = {0, 1, 5}


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSchema:
    name: str
    kind: Kind
    repeated: bool
    message: str = ""  # full name of the message type, for MESSAGE
    enum_names: dict[int, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSchema:
    full_name: str
    fields: dict[int, FieldSchema] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodSchema:
    input: str
    output: str


def message_schema(descriptor: Descriptor) -> MessageSchema:
    fields: dict[int, FieldSchema] = {}
    for fd in descriptor.fields:
        kind = _KIND_BY_TYPE.get(fd.type, Kind.BYTES)
        enum_names: dict[int, str] = {}
        if kind is Kind.ENUM and fd.enum_type is not None:
            enum_names = {v.number: v.name for v in fd.enum_type.values}
        fields[fd.number] = FieldSchema(
            name=fd.name,
            kind=kind,
            repeated=bool(fd.is_repeated),
            message=fd.message_type.full_name if fd.message_type is not None else "",
            enum_names=enum_names,
        )
    return MessageSchema(full_name=descriptor.full_name, fields=fields)


def _printable_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch < " " and ch not in "\t\r\n" or ch == "\x7f" for ch in text):
        return None
    return text


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _packed_varints(data: bytes) -> list[int] | None:
    values: list[int] = []
    pos = 0
    try:
        while pos < len(data):
            value, pos = read_varint(data, pos)
            if value >= MAX_PACKED_INFERRED:
                return None
            values.append(value)
    except Malformed:
        return None
    return values


def _fixed64_text(data: bytes) -> str:
    """A 64-bit field of unknown type: `double` is far more common than fixed64 in real
    schemas, and reading a double as an integer makes 19-digit numbers that look like
    card numbers to a classifier; so a finite double of sane magnitude is read as one."""
    number = struct.unpack("<d", data)[0]
    if number == 0.0 or (math.isfinite(number) and 1e-300 < abs(number) < 1e300):
        return _float_text(number)
    return str(int.from_bytes(data, "little"))


def _float_text(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.9g}"


class _Walk:
    """One part's walk: bounded by depth, field count and value length."""

    def __init__(self, schemas: SchemaRegistry | None, limits: Limits, location: Location) -> None:
        self.schemas = schemas
        self.limits = limits
        self.location = location
        self.out: list[FieldValue] = []
        self.truncated = False

    def emit(self, path: str, value: str) -> None:
        if value == "":
            return
        if len(self.out) >= self.limits.max_fields_per_part:
            self.truncated = True
            return
        self.out.append(
            FieldValue(
                location=self.location, path=path, value=value[: self.limits.max_value_chars]
            )
        )

    def message(self, data: bytes, schema: MessageSchema | None, prefix: str, depth: int) -> None:
        if depth > self.limits.max_depth or self.truncated:
            self.truncated = True
            return
        fields = scan(data)
        if fields is None:
            return
        for number, wire, value in fields:
            declared = schema.fields.get(number) if schema is not None else None
            if declared is not None and self._declared(declared, wire, value, prefix, depth):
                continue
            path = f"{prefix}.{number}" if prefix else str(number)
            self._unknown(wire, value, path, depth)

    def _unknown(self, wire: int, value: int | bytes, path: str, depth: int) -> None:
        if isinstance(value, int):
            self.emit(path, str(value))
        elif wire == 1:
            self.emit(path, _fixed64_text(value))
        elif wire == 5:
            # fixed32 of unknown meaning: the unsigned reading (at most 10 digits).
            self.emit(path, str(int.from_bytes(value, "little")))
        else:
            self._length_delimited(value, path, depth)

    def _length_delimited(self, data: bytes, path: str, depth: int) -> None:
        text = _printable_text(data)
        if text is not None:
            self.emit(path, text)
            return
        if scan(data):
            self.message(data, None, path, depth + 1)
            return
        text = _utf8(data)
        if text is not None:
            self.emit(path, text)
            return
        packed = _packed_varints(data)
        if packed is not None:
            for item in packed:
                self.emit(path, str(item))
        # other bytes: skipped (module docstring)

    def _declared(
        self, fs: FieldSchema, wire: int, value: int | bytes, prefix: str, depth: int
    ) -> bool:
        """Emit a declared field; False when the wire type does not fit the declaration
        (then it is walked as an unknown field)."""
        name = f"{fs.name}[]" if fs.repeated else fs.name
        path = f"{prefix}.{name}" if prefix else name
        expected = _WIRE_OF_KIND[fs.kind]
        if wire == expected:
            if fs.kind is Kind.MESSAGE:
                assert isinstance(value, bytes)
                sub = self.schemas.message(fs.message) if self.schemas else None
                self.message(value, sub, path, depth + 1)
            else:
                self.emit(path, _scalar_text(fs, value))
            return True
        if wire == 2 and expected in _PACKABLE_WIRE and isinstance(value, bytes):
            for item in _unpack(value, expected):
                self.emit(path, _scalar_text(fs, item))
            return True
        return False


def _unpack(data: bytes, wire: int) -> list[int | bytes]:
    if wire == 0:
        out: list[int | bytes] = []
        pos = 0
        try:
            while pos < len(data):
                value, pos = read_varint(data, pos)
                out.append(value)
        except Malformed:
            pass
        return out
    size = 8 if wire == 1 else 4
    return [data[i : i + size] for i in range(0, len(data) - size + 1, size)]


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _scalar_text(fs: FieldSchema, value: int | bytes) -> str:
    kind = fs.kind
    if isinstance(value, int):
        value &= (1 << 64) - 1
        if kind is Kind.SINT:
            return str((value >> 1) ^ -(value & 1))
        if kind is Kind.BOOL:
            return "true" if value else "false"
        if kind is Kind.ENUM:
            signed = _signed(value, 64)
            return fs.enum_names.get(signed, str(signed))
        return str(_signed(value, 64))
    if kind is Kind.STRING:
        return value.decode("utf-8", errors="replace")
    if kind is Kind.BYTES:
        return _utf8(value) or ""
    if kind is Kind.FLOAT:
        return _float_text(struct.unpack("<f", value)[0])
    if kind is Kind.DOUBLE:
        return _float_text(struct.unpack("<d", value)[0])
    if kind is Kind.SFIXED32:
        return str(struct.unpack("<i", value)[0])
    if kind is Kind.SFIXED64:
        return str(struct.unpack("<q", value)[0])
    return str(int.from_bytes(value, "little"))


def decode_message(
    data: bytes,
    schema: MessageSchema | None,
    schemas: SchemaRegistry | None,
    limits: Limits,
    location: Location = Location.BODY,
) -> list[FieldValue]:
    """Field values of one bare protobuf message."""
    walk = _Walk(schemas, limits, location)
    walk.message(data, schema, "", 0)
    return walk.out


def fields_from_part(
    part: Part,
    schemas: SchemaRegistry | None,
    limits: Limits,
    walk_json: Callable[[object, str, Limits, list[tuple[str, str]]], None] | None = None,
) -> list[FieldValue]:
    """The payload decoder's entry point for protobuf parts.

    `application/grpc...` bodies (gRPC, gRPC-Web, gRPC-Web-text) are deframed first;
    compressed frames are decoded by sniffing gzip/deflate (the `grpc-encoding` header is
    not part of the part); gRPC-Web trailers frames give `metadata` fields named by the
    trailer. A message written in JSON (`_grpc.json_document`; the only reading of a
    `+json` content type) is walked by `walk_json` (the payload decoder's JSON walk:
    same paths as a JSON body), and gives nothing without one. `application/x-protobuf`
    is one bare message. Undecodable input gives no fields, never an exception.
    """
    media = part.media_type.split(";", 1)[0].strip().lower()
    schema = schemas.resolve(part.schema) if schemas is not None else None
    if media in BARE_MEDIA_TYPES:
        return decode_message(part.data, schema, schemas, limits, part.location)
    if not media.startswith(GRPC_MEDIA_PREFIX):
        return []
    json_codec = media.endswith("+json")
    data = part.data
    if media.startswith("application/grpc-web-text"):
        try:
            data = _grpc.decode_web_text(data)
        except _grpc.GrpcError:
            return []
    frames, _ = _grpc.deframe(data, limits)
    out: list[FieldValue] = []
    for frame in frames:
        if frame.trailers:
            try:
                trailers = _grpc.parse_web_trailers(frame.data)
            except _grpc.GrpcError:
                continue
            out.extend(
                FieldValue(
                    location=Location.METADATA, path=name, value=value.decode("utf-8", "replace")
                )
                for name, value in trailers
                if name not in ("grpc-status",)
            )
            continue
        body = frame.data
        if frame.compressed:
            encoding = _grpc.sniff_compression(body)
            if not encoding:
                continue
            try:
                body = _grpc.decompress(body, encoding, limits)
            except _grpc.GrpcError:
                continue
        document = _grpc.json_document(body)
        if document is not None:
            if walk_json is not None:
                pairs: list[tuple[str, str]] = []
                walk_json(document, "", limits, pairs)
                out.extend(FieldValue(location=part.location, path=path, value=value)
                           for path, value in pairs)
        elif not json_codec:
            out.extend(decode_message(body, schema, schemas, limits, part.location))
        if len(out) >= limits.max_fields_per_part:
            return out[: limits.max_fields_per_part]
    return out
