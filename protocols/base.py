"""The shared vocabulary of every dissector (see docs/architecture.md, "The seams").

A dissector is a sans-I/O state machine in the style of h11/h2: one instance sees both
directions of one TCP connection, is fed bytes and returns events. It never reads files,
clocks or globals, so every behaviour can be tested from bytes.

Names (`Location` values, `Message.protocol`, anomaly kinds) use the exact spelling of
`spec/inventory.md`; outputs and tests key on them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from protocols._slots import slot_init


class Direction(StrEnum):
    """`request` is client to server, `response` server to client."""

    REQUEST = "request"
    RESPONSE = "response"

    @property
    def opposite(self) -> Direction:
        return Direction.RESPONSE if self is Direction.REQUEST else Direction.REQUEST


class Location(StrEnum):
    """Where in a message a field sits: the spec's location names, never renamed."""

    BODY = "body"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    PATH = "path"
    METADATA = "metadata"
    KEY = "key"
    VALUE = "value"
    COLUMN = "column"
    PARAM = "param"
    AUTH = "auth"


class Probe(Enum):
    """What a dissector says of the first bytes of one direction."""

    YES = "yes"
    NO = "no"
    NEED_MORE = "need_more"


class ProtocolError(Exception):
    """Bytes that break the protocol. The message names positions and sizes, never content."""


class MediaType(StrEnum):
    """How `protocols.payload` turns a part's bytes into field values."""

    JSON = "application/json"
    NDJSON = "application/x-ndjson"
    FORM = "application/x-www-form-urlencoded"
    PROTOBUF = "application/x-protobuf"
    TEXT = "text/plain"  # the whole part is one scalar value
    SSE = "text/event-stream"  # `data:` lines, each JSON or text
    BINARY = "application/octet-stream"  # not decoded into fields


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One undecoded piece of a message.

    `name` is the field name for single-value parts (a header, a cookie, a query
    parameter, a column) and empty for a body. `schema` names the protobuf message type
    (`package.Message`) or the rpc (`/package.Service/Method`) when the dissector knows
    it. `never_indexed` marks HPACK never-indexed headers (senders use it for secrets).
    """

    location: Location
    name: str
    data: bytes = field(repr=False)
    media_type: str = MediaType.TEXT
    schema: str = ""
    never_indexed: bool = False


@slot_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One request or response (a Kafka record batch, a MySQL row, an HTTP exchange half).

    `api` is already in the spec's form (`POST /v1/users/{id}`, `/pkg.Svc/Method`, a
    topic, `schema.table`, or `(unknown)`); `ts_ns` is the capture time of the segment
    that completed the message.
    """

    protocol: str
    direction: Direction
    api: str
    host: str
    ts_ns: int
    parts: tuple[Part, ...] = field(repr=False)
    # HTTP response status (HTTP/1 status line, HTTP/2 `:status`); 0 where the protocol
    # has none or for requests. Findings use it to tell errors and rejections apart.
    status: int = 0
    # The message never completed (its connection closed, lost bytes, or was evicted to
    # stay within the memory budget): `parts` hold what was seen, the body possibly cut.
    # Emitted with an `incomplete_message` anomaly, so that a cut upload's headers and
    # the start of its body are still classified.
    incomplete: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Anomaly:
    """A recoverable oddity, counted by `kind` (stable snake_case)."""

    kind: str
    direction: Direction | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Handoff:
    """The connection stops speaking this protocol (HTTP Upgrade, CONNECT, STARTTLS).

    `protocol` names the dissector that takes over (`http2` after `Upgrade: h2c`), or is
    empty to let the engine probe the rest of the stream again (a CONNECT tunnel), or
    is `opaque` when the rest must not be parsed (a raw stream, TLS).
    `leftover` holds, per direction, bytes already received that belong to the new
    protocol; the engine feeds them to the new dissector first.
    """

    protocol: str
    leftover: dict[Direction, bytes] = field(repr=False, default_factory=dict)
    ts_ns: int = 0
    # What the new dissector needs from the handshake, given to its `takeover` before
    # any byte (WebSocket: `path` template, `host`, `extensions`). Identifiers only.
    context: dict[str, str] = field(default_factory=dict)


class FactKind(StrEnum):
    """What a `Learned` fact is about; its `key` and `value` per kind."""

    # A Kafka topic id (KIP-516 UUID, key) and its name (value), from a Metadata response.
    KAFKA_TOPIC_ID = "kafka_topic_id"
    # A serialized `FileDescriptorProto` (value; key empty) from gRPC server reflection.
    PROTOBUF_FILE = "protobuf_file"


@dataclass(frozen=True, slots=True, kw_only=True)
class Learned:
    """A fact seen on this connection that other connections of the scan may need (a
    topic id's name, a reflected protobuf schema). Dissectors never write shared state:
    they return the fact, the engine keeps it in the scan's store, and every dissector
    reads the store through its `facts` view. Names and schemas only, never field values."""

    kind: FactKind
    key: str
    value: str | bytes = field(repr=False)


Event = Message | Anomaly | Handoff | Learned


class AvroLookup(Protocol):
    """The questions a dissector may ask the scan's Avro schemas (`protocols.avro.
    AvroSchemas`): the writer schema text that decodes a value, or None."""

    def for_framed(self, schema_id: int, topic: str, role: str, body: bytes) -> str | None: ...

    def for_bare(self, topic: str, role: str, body: bytes) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Facts:
    """What the scan has learned so far, read-only: the engine's store (dpi/facts.py)
    is its only writer. A fact returned as `Learned` on any connection is here before
    the next event of any connection is read."""

    # Kafka topic id -> topic name (`FactKind.KAFKA_TOPIC_ID`).
    kafka_topic_ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Avro writer schemas: `--avro-schema` files, `--schema-registry`, Schema Registry
    # answers seen in the capture (dpi/schema_registry.py). None: Avro is off.
    avro: AvroLookup | None = None


# What a dissector knows when no engine gave it a view (a dissector used alone).
NO_FACTS = Facts()


# Descriptive headers whose few values recur in every message of a connection and
# across connections (`Accept: application/json`, `Connection: keep-alive`). Never
# headers that carry credentials or identifiers (nor User-Agent, which apps fill with
# device and user ids): their values, up to MAX_SHARED_VALUE bytes, may be kept in
# process-wide tables (HTTP/1's shared parts, the field scorer's pairs).
SHAREABLE_HEADERS = frozenset(
    {
        "accept", "accept-encoding", "accept-language", "cache-control", "connection",
        "content-encoding", "content-type", "host", "pragma", "server", "transfer-encoding",
        "vary",
    }
)
MAX_SHARED_VALUE = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldValue:
    """One scalar found in a part: `path` follows the spec's field rules."""

    location: Location
    path: str
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Every bound a dissector or payload decoder applies; each hit is an `Anomaly`.

    Captures are untrusted and can be huge; the machine budget is 2 cores and a few
    hundred MB per scan, so nothing may grow with the input.
    """

    # Largest message body kept for field extraction. Real API bodies are far smaller;
    # bigger ones (file downloads) are skipped, not buffered.
    max_body_bytes: int = 8 * 1024 * 1024
    # Decompressed size cap and ratio: a gzip/brotli/zstd bomb stops here.
    max_decompressed_bytes: int = 32 * 1024 * 1024
    max_compression_ratio: int = 200
    # Expanded bytes per compressed byte of a .gz/.zst capture file, judged after its
    # first 8 MiB (dpi/capture.py): real captures compress 2-30x, zero-filled bulk
    # transfers ~140x; a bomb stops here with a warning, what was read is scanned.
    max_capture_compression_ratio: int = 200
    # A header block bigger than this is not HTTP that any server accepts (most cap at 8-64 KB).
    max_header_bytes: int = 64 * 1024
    # Bytes a dissector may hold while waiting for the rest of a message.
    max_buffer_bytes: int = 16 * 1024 * 1024
    # JSON/protobuf nesting and field counts: deeper or wider payloads are cut there.
    max_depth: int = 64
    max_fields_per_part: int = 20_000
    # Longest single value handed to the classifiers (free text beyond this is cut).
    max_value_chars: int = 4096
    # Longest object key or form name, and longest field path, kept in a field's path
    # (cut with `…`, `key_too_long` / `path_too_long`): real keys are tens of characters,
    # and a path is copied into every value under it.
    max_key_chars: int = 256
    max_path_chars: int = 1024
    # HTTP/2 concurrent streams tracked per connection (RFC 9113 suggests >= 100).
    max_streams: int = 1000
    # Kafka records per batch and MySQL rows per result set that are classified.
    max_records: int = 100_000
    # Distinct fields in the scan's inventory (dpi/inventory.py): beyond, fields that
    # never matched are evicted, then new ones refused; both count as `max_fields`.
    max_fields: int = 500_000
    # HPACK dynamic table size an encoder may announce (RFC 7541 6.3): peers use
    # 4-64 KiB; a larger size update breaks the header block (`hpack_table_limit`).
    max_hpack_table_bytes: int = 1 << 20
    # Header fields per HTTP/2 header block (HTTP/1 stops at 1,000 lines too); with
    # `max_header_bytes` on the decoded size, bounds HPACK amplification (one table entry
    # referenced by a one-byte index thousands of times). Cut there: `too_many_headers`.
    max_header_fields: int = 1000


@dataclass(frozen=True, kw_only=True)
class DissectorOptions:
    """The user's configuration, the same for every flow of one scan (not a global: one
    per scan). What the capture teaches is not here: see `Learned` and `Facts`.

    `schemas` is the protobuf schema registry of `protocols.protobuf` (from `--proto` and
    `--descriptor-set`), or None. The engine adds what server reflection in the capture
    returns to it (`FactKind.PROTOBUF_FILE`); no dissector writes it.
    """

    schemas: Any = None
    # Kafka topic (glob pattern) -> protobuf message full name, for record values and
    # keys in the Confluent protobuf wire format or bare protobuf (`--topic-schema`).
    kafka_topic_schemas: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class Dissector(ABC):
    """One protocol, one connection, both directions. Returns lists, never generators,
    so that errors surface inside the engine's guard.

    Subclasses set `name` (the protocol's registry name) and `ports` (a hint only: the
    probe decides). `feed` may raise `ProtocolError`; anything else is a bug.
    """

    name: ClassVar[str]
    ports: ClassVar[frozenset[int]] = frozenset()
    # What the scan has learned (read-only): given by the flow router before any byte,
    # like `takeover`'s context; a dissector used alone knows nothing it did not see.
    facts: Facts = NO_FACTS

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        self.limits = limits or Limits()
        self.options = options or DissectorOptions()

    @classmethod
    @abstractmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        """Does `data`, the first bytes seen in `direction`, look like this protocol?"""

    @abstractmethod
    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        """More bytes of one direction, in order."""

    @abstractmethod
    def gap(self, direction: Direction, size: int) -> list[Event]:
        """`size` bytes of one direction were lost; resync or stop that direction."""

    @abstractmethod
    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        """That direction ended (FIN, RST, idle timeout, eviction or end of capture).
        A message still being read is emitted with what was seen (`incomplete`)."""

    def held_bytes(self) -> int:
        """Bytes this dissector holds between calls (buffers, partial bodies, batched
        rows), for the engine's global budget (`max_held_bytes_total`). Called after
        every feed, so it must be O(1): dissectors that buffer keep a running count."""
        return 0

    def takeover(self, context: dict[str, str]) -> None:
        """Called once, before any byte, on a dissector started by a `Handoff`, with its
        `context` (the upgrade handshake's facts). Most dissectors need none."""


class DissectorSession(Protocol):
    """The connection-level work of a `SessionDissector`: its `feed`, `gap`, `close` and
    `held_bytes`, as the dissector's own."""

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]: ...

    def gap(self, direction: Direction, size: int) -> list[Event]: ...

    def close(self, direction: Direction, ts_ns: int) -> list[Event]: ...

    def held_bytes(self) -> int: ...


class SessionDissector(Dissector):
    """A dissector whose module is only its face: name, ports and probe, which the
    registry imports and every connection of every scan probes. The work is done by a
    session that `_new_session` makes, importing its module then: a scan without this
    protocol never loads that code (tests/test_import_weight.py)."""

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        self._session = self._new_session()

    @abstractmethod
    def _new_session(self) -> DissectorSession:
        """This connection's session, on `self.limits` and `self.options`."""

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        return self._session.feed(direction, data, ts_ns)

    def gap(self, direction: Direction, size: int) -> list[Event]:
        return self._session.gap(direction, size)

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        return self._session.close(direction, ts_ns)

    def held_bytes(self) -> int:
        return self._session.held_bytes()
