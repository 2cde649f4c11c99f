"""Protobuf messages -> field values (protobuf encoding guide, "Encoding"; gRPC over
HTTP/2 for the framing handled by `protocols._grpc`).

The only module importing `protobuf` and `grpcio-tools` (docs/architecture.md). Their
descriptors are turned into this module's own `MessageSchema`/`FieldSchema` at once, so
the walker below never touches a third-party object.

Schemas come from `.proto` directories compiled at run time with grpcio-tools (imports
resolved, well-known types included), from a compiled `FileDescriptorSet`, or from
`FileDescriptorProto`s seen in server reflection responses (`add_file_descriptor`). A part
names its schema in `Part.schema`:
- `/pkg.Service/Method#request` or `#response`: the method's input or output type;
- `/pkg.Service/Method` without a suffix: the input type if input and output are the
  same message, else schema-less (the direction is unknown);
- `pkg.Message`: that message.

Field paths (spec/inventory.md, "field"): declared field names joined by `.`, `[]` after
a repeated field (`patients[].postal_code`); a field the descriptor does not declare, and
every field without a descriptor, is named by its number (`2.1.4`). Values are text:
strings as is, integers as digits (sint zig-zag decoded, int32/int64 two's complement),
bools `true`/`false`, enums by name (the number when the name is unknown), floats in
shortest form. `bytes` that are UTF-8 text become a value; other bytes are skipped, since
binary blobs (hashes, images, trace ids) are not text a classifier can judge.

Schema-less, a 64-bit field is read as a double when it is a finite double of sane
magnitude, else as an unsigned integer; a 32-bit field as an unsigned integer. A
length-delimited field is decided in this order, the first that fits:
1. UTF-8 text without control characters (tab, CR, LF allowed) -> a string;
2. a well-formed message (every tag valid, lengths exact) -> a nested message;
3. UTF-8 text with control characters -> a string;
4. packed varints each below 2^32 -> repeated integers;
5. otherwise bytes, skipped.
Printable text first because short strings often parse as messages by accident, while a
real nested message almost always starts with a control byte (a tag or a length).

Not supported: groups (wire types 3/4, proto2 legacy) end the walk of their message;
`Any` is walked as its two declared fields, not unpacked; extensions are field numbers.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocols import _grpc
from protocols.base import FieldValue, Limits, Location, MediaType, Part

if TYPE_CHECKING:
    # protobuf is imported where a schema is loaded or looked up (below), not at import:
    # every scan builds a registry and walks protobuf schema-less, neither needs it.
    from google.protobuf import descriptor_pb2
    from google.protobuf.descriptor import Descriptor

# Largest varint: 10 bytes (64 bits, 7 per byte).
MAX_VARINT_BYTES = 10
# Field numbers are 29 bits (encoding guide, "Message Structure").
MAX_FIELD_NUMBER = (1 << 29) - 1
# Fields `is_message` walks to judge "is this protobuf": enough to reject random bytes
# cheaply without walking a large value whole.
MAX_SNIFF_FIELDS = 10_000
# Packed integers above this are more likely binary noise than a repeated int32/enum:
# keeping them small also keeps random bytes from turning into card-length numbers.
MAX_PACKED_INFERRED = 1 << 32
# A .proto directory with more files than this is not a schema folder (a whole source
# tree): compiling it would take minutes.
MAX_PROTO_FILES = 5000
# Bytes of one descriptor set or reflection FileDescriptorProto: real ones are KBs.
MAX_DESCRIPTOR_BYTES = 64 * 1024 * 1024
GRPC_MEDIA_PREFIX = "application/grpc"
BARE_MEDIA_TYPES = frozenset(
    {MediaType.PROTOBUF, "application/protobuf", "application/vnd.google.protobuf"}
)


class SchemaError(Exception):
    """A schema source that cannot be loaded (names files, never their content)."""


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


_WELL_KNOWN_MODULES = (
    "any_pb2",
    "api_pb2",
    "descriptor_pb2",
    "duration_pb2",
    "empty_pb2",
    "field_mask_pb2",
    "source_context_pb2",
    "struct_pb2",
    "timestamp_pb2",
    "type_pb2",
    "wrappers_pb2",
)


def _well_known() -> dict[str, bytes]:
    """`google/protobuf/*.proto` name -> serialized FileDescriptorProto, from the
    modules bundled with protobuf (reflection clients rarely resend them)."""
    import importlib

    out: dict[str, bytes] = {}
    for module_name in _WELL_KNOWN_MODULES:
        module = importlib.import_module(f"google.protobuf.{module_name}")
        descriptor = module.DESCRIPTOR
        out[descriptor.name] = bytes(descriptor.serialized_pb)
    return out


class SchemaRegistry:
    """Descriptors of one scan, by rpc path and by message name."""

    def __init__(self) -> None:
        # The descriptor pool (and protobuf with it) is made when the first file is added.
        self._pool_made: Any = None
        self._files: set[str] = set()
        # FileDescriptorProtos waiting for a dependency (reflection sends a file before
        # its imports).
        self._pending: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        self._methods: dict[str, MethodSchema] = {}
        self._schemas: dict[str, MessageSchema] = {}
        self._well_known: dict[str, bytes] | None = None

    @property
    def _pool(self) -> Any:
        if self._pool_made is None:
            from google.protobuf import descriptor_pool

            self._pool_made = descriptor_pool.DescriptorPool()
        return self._pool_made

    # -- sources -------------------------------------------------------------------

    def load_proto_dirs(self, dirs: list[str] | list[Path]) -> list[str]:
        """Compile every `.proto` under `dirs` (each also an import root; a `.proto`
        file in `dirs` is compiled with its directory as the import root). Returns
        warnings naming the files that did not compile; raises SchemaError when none
        did."""
        from grpc_tools import protoc  # heavy import, only when .proto files are given

        given = [Path(d).resolve() for d in dirs]
        for root in given:
            if not root.is_dir() and not (root.is_file() and root.suffix == ".proto"):
                raise SchemaError(f"not a directory or .proto file: {root}")
        # A .proto file given alone: compiled with its directory as the import root.
        roots = list(dict.fromkeys(p if p.is_dir() else p.parent for p in given))
        files: list[tuple[Path, Path]] = []
        for item in given:
            root = item if item.is_dir() else item.parent
            for path in sorted(item.rglob("*.proto")) if item.is_dir() else [item]:
                files.append((root, path))
                if len(files) > MAX_PROTO_FILES:
                    raise SchemaError(f"more than {MAX_PROTO_FILES} .proto files")
        if not files:
            raise SchemaError("no .proto file found")
        include = Path(protoc.__file__).resolve().parent / "_proto"
        args = [f"-I{root}" for root in roots] + [f"-I{include}"]
        warnings: list[str] = []
        import tempfile  # here: only compiling .proto files needs it

        with tempfile.TemporaryDirectory(prefix="dpi-proto-") as tmp:
            out = Path(tmp) / "set.pb"

            def compile_(names: list[str]) -> bool:
                code = protoc.main(
                    ["protoc", *args, f"--descriptor_set_out={out}", "--include_imports", *names]
                )
                if code != 0:
                    return False
                self.load_descriptor_set(out)
                return True

            names = [str(path.relative_to(root)) for root, path in files]
            if not compile_(names):
                # One broken file fails the batch: keep every file that compiles alone.
                ok = 0
                for name in names:
                    if compile_([name]):
                        ok += 1
                    else:
                        warnings.append(f"{name}: does not compile")
                if ok == 0:
                    raise SchemaError(f"none of {len(names)} .proto files compiled")
        return warnings

    def load_descriptor_set(self, path: str | Path) -> None:
        data = Path(path).read_bytes()
        if len(data) > MAX_DESCRIPTOR_BYTES:
            raise SchemaError(f"descriptor set of {len(data)} bytes")
        from google.protobuf import descriptor_pb2

        fds = descriptor_pb2.FileDescriptorSet()
        try:
            fds.ParseFromString(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError differs per backend
            raise SchemaError(f"{Path(path).name}: not a FileDescriptorSet") from None
        for proto in fds.file:
            self._pending[proto.name] = proto
        self._flush()

    def add_file_descriptor(self, data: bytes) -> bool:
        """One serialized FileDescriptorProto (server reflection). True if it parsed."""
        if len(data) > MAX_DESCRIPTOR_BYTES:
            return False
        from google.protobuf import descriptor_pb2

        proto = descriptor_pb2.FileDescriptorProto()
        try:
            proto.ParseFromString(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError differs per backend
            return False
        if not proto.name:
            return False
        if proto.name not in self._files:
            self._pending[proto.name] = proto
            self._flush()
        return True

    def _flush(self) -> None:
        """Add every pending file whose dependencies are loaded, until none moves."""
        progress = True
        while progress and self._pending:
            progress = False
            for name, proto in list(self._pending.items()):
                if name in self._files:
                    del self._pending[name]
                    continue
                missing = [d for d in proto.dependency if d not in self._files]
                for dep in missing:
                    if dep.startswith("google/protobuf/") and dep not in self._pending:
                        self._add_well_known(dep)
                if any(d not in self._files for d in proto.dependency):
                    continue
                del self._pending[name]
                try:
                    self._pool.AddSerializedFile(proto.SerializeToString())
                except (TypeError, ValueError):
                    # Conflicting or malformed definition: keep what was loaded before.
                    continue
                self._files.add(name)
                self._index(proto)
                progress = True

    def _add_well_known(self, name: str) -> None:
        if self._well_known is None:
            self._well_known = _well_known()
        data = self._well_known.get(name)
        if data is None:
            return
        from google.protobuf import descriptor_pb2

        proto = descriptor_pb2.FileDescriptorProto()
        proto.ParseFromString(data)
        for dep in proto.dependency:
            if dep not in self._files:
                self._add_well_known(dep)
        try:
            self._pool.AddSerializedFile(data)
        except (TypeError, ValueError):
            return
        self._files.add(name)

    def _index(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        package = f"{proto.package}." if proto.package else ""
        for service in proto.service:
            for method in service.method:
                self._methods[f"/{package}{service.name}/{method.name}"] = MethodSchema(
                    input=method.input_type.lstrip("."), output=method.output_type.lstrip(".")
                )

    # -- lookups -------------------------------------------------------------------

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._methods)

    def message_for(self, rpc_path: str, direction: str) -> MessageSchema | None:
        """The input (`request`) or output (`response`) type of `/pkg.Svc/Method`."""
        method = self._methods.get(rpc_path)
        if method is None:
            return None
        return self.message(method.input if direction == "request" else method.output)

    def message(self, full_name: str) -> MessageSchema | None:
        cached = self._schemas.get(full_name)
        if cached is not None:
            return cached
        if not self._files:
            return None  # nothing loaded: no need to make the pool
        try:
            descriptor = self._pool.FindMessageTypeByName(full_name)
        except KeyError:
            return None
        schema = _convert(descriptor)
        self._schemas[full_name] = schema
        return schema

    def resolve(self, schema: str) -> MessageSchema | None:
        """`Part.schema` -> message schema (see the module docstring for the forms)."""
        if not schema:
            return None
        if schema.startswith("/"):
            path, _, direction = schema.partition("#")
            if direction:
                return self.message_for(path, direction)
            method = self._methods.get(path)
            if method is not None and method.input == method.output:
                return self.message(method.input)
            return None
        return self.message(schema)


def _convert(descriptor: Descriptor) -> MessageSchema:
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


# -- wire format -----------------------------------------------------------------------


class _Bad(Exception):
    """Bytes that are not a well-formed message at this position."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after) of the varint at `pos`; raises _Bad."""
    result = 0
    shift = 0
    end = min(len(data), pos + MAX_VARINT_BYTES)
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise _Bad


# A wire field: (number, wire type, integer value or payload bytes)
WireField = tuple[int, int, int | bytes]


def scan(data: bytes, start: int = 0, max_fields: int = 0) -> list[WireField] | None:
    """Every top-level field of the message at `data[start:]`, or None if it is not a
    well-formed one. Groups (wire types 3/4) count as malformed (module docstring).
    `max_fields` > 0 stops after that many fields, the rest unjudged (`is_message`)."""
    fields: list[WireField] = []
    pos = start
    end = len(data)
    # Every field takes at least one byte: without a cap the count never reaches `cap`.
    cap = max_fields if max_fields > 0 else end + 1
    try:
        while pos < end:
            if len(fields) == cap:
                break
            key, pos = read_varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0 or number > MAX_FIELD_NUMBER:
                return None
            if wire == 0:
                value, pos = read_varint(data, pos)
                fields.append((number, 0, value))
            elif wire == 1:
                if pos + 8 > end:
                    return None
                fields.append((number, 1, data[pos : pos + 8]))
                pos += 8
            elif wire == 2:
                length, pos = read_varint(data, pos)
                if pos + length > end:
                    return None
                fields.append((number, 2, data[pos : pos + length]))
                pos += length
            elif wire == 5:
                if pos + 4 > end:
                    return None
                fields.append((number, 5, data[pos : pos + 4]))
                pos += 4
            else:
                return None
    except _Bad:
        return None
    return fields


def is_message(data: bytes, start: int = 0) -> bool:
    """True if `data[start:]` walks as a well-formed message of at least one field (the
    first MAX_SNIFF_FIELDS judged): how a carrier without a content type (a Kafka value)
    tells protobuf from other bytes."""
    return bool(scan(data, start, MAX_SNIFF_FIELDS))


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
    except _Bad:
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
        except _Bad:
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


def reflection_file_descriptors(data: bytes) -> list[bytes]:
    """Serialized FileDescriptorProtos in a ServerReflectionResponse (grpc.reflection.v1
    and v1alpha: field 4 `file_descriptor_response`, its field 1 repeated bytes)."""
    fields = scan(data)
    if not fields:
        return []
    out: list[bytes] = []
    for number, wire, value in fields:
        if number == 4 and wire == 2 and isinstance(value, bytes):
            for inner_number, inner_wire, inner in scan(value) or []:
                if inner_number == 1 and inner_wire == 2 and isinstance(inner, bytes):
                    out.append(inner)
    return out
