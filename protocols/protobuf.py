"""Protobuf messages -> field values (protobuf encoding guide, "Encoding"; gRPC over
HTTP/2 for the framing handled by `protocols._grpc`).

Every scan loads this module (each has a registry, and the WebSocket and Kafka dissectors
sniff the wire format with `scan` and `is_message`), so it holds only what they need: the
registry, which imports protobuf when a schema is loaded, and the wire format's field
scanner (`protocols/_protobuf_wire.py`, which the walk uses too). The walk that turns messages into values, with the schema types it reads (`Kind`,
`FieldSchema`, `MessageSchema`, `MethodSchema`) and the gRPC framing it uses, is
`protocols/_protobuf_walk.py`: it is imported the first time one of its names is looked up
here (`fields_from_part`, `decode_message`, ...) or a schema is loaded.

The only module importing `protobuf` and `grpcio-tools` (docs/architecture.md). Their
descriptors are turned into our own `MessageSchema`/`FieldSchema` at once, so the walk
never touches a third-party object.

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

from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocols._protobuf_wire import (
    MAX_FIELD_NUMBER,
    MAX_VARINT_BYTES,
    WireField,
    read_varint,
    scan,
)

if TYPE_CHECKING:
    # protobuf is imported where a schema is loaded or looked up (below), not at import:
    # every scan builds a registry and walks protobuf schema-less, neither needs it.
    from google.protobuf import descriptor_pb2

    from protocols._protobuf_walk import (
        BARE_MEDIA_TYPES,
        GRPC_MEDIA_PREFIX,
        MAX_PACKED_INFERRED,
        FieldSchema,
        Kind,
        MessageSchema,
        MethodSchema,
        decode_message,
        fields_from_part,
    )

# Fields `is_message` walks to judge "is this protobuf": enough to reject random bytes
# cheaply without walking a large value whole.
MAX_SNIFF_FIELDS = 10_000
# A .proto directory with more files than this is not a schema folder (a whole source
# tree): compiling it would take minutes.
MAX_PROTO_FILES = 5000
# Bytes of one descriptor set or reflection FileDescriptorProto: real ones are KBs.
MAX_DESCRIPTOR_BYTES = 64 * 1024 * 1024

# The names `protocols._protobuf_walk` defines, looked up there on first use (`__getattr__`).
_WALK_NAMES = frozenset({
    "BARE_MEDIA_TYPES", "GRPC_MEDIA_PREFIX", "MAX_PACKED_INFERRED", "FieldSchema", "Kind",
    "MessageSchema", "MethodSchema", "decode_message", "fields_from_part",
})
__all__ = [
    "BARE_MEDIA_TYPES", "GRPC_MEDIA_PREFIX", "MAX_DESCRIPTOR_BYTES", "MAX_FIELD_NUMBER",
    "MAX_PACKED_INFERRED", "MAX_PROTO_FILES", "MAX_SNIFF_FIELDS", "MAX_VARINT_BYTES",
    "FieldSchema", "Kind", "MessageSchema", "MethodSchema", "SchemaError", "SchemaRegistry",
    "WireField", "decode_message", "fields_from_part", "is_message", "read_varint",
    "reflection_file_descriptors", "scan",
]


def __getattr__(name: str) -> Any:
    """A name of the value walk: its module is imported now (PEP 562), and the name kept
    here, so that the next lookup is a plain attribute read."""
    if name not in _WALK_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from protocols import _protobuf_walk

    value = getattr(_protobuf_walk, name)
    globals()[name] = value
    return value


class SchemaError(Exception):
    """A schema source that cannot be loaded (names files, never their content)."""


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
        from protocols._protobuf_walk import MethodSchema  # with the first schema loaded

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
        from protocols._protobuf_walk import message_schema

        schema = message_schema(descriptor)
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


# -- wire format (the scanner is `protocols._protobuf_wire`) ------------------------


def is_message(data: bytes, start: int = 0) -> bool:
    """True if `data[start:]` walks as a well-formed message of at least one field (the
    first MAX_SNIFF_FIELDS judged): how a carrier without a content type (a Kafka value)
    tells protobuf from other bytes."""
    return bool(scan(data, start, MAX_SNIFF_FIELDS))


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
