"""Kafka dissector: Produce requests and Fetch responses -> inventory messages.

Spec: the Kafka protocol guide (kafka.apache.org/protocol): "Common Request and Response
Structure" (int32 size prefix, request header v1/v2, response header v0/v1), "The
Messages" (Produce, Fetch, Metadata, ApiVersions, SaslHandshake, SaslAuthenticate), the
record formats of kafka.apache.org/documentation/#messageformat; KIP-482 (flexible
versions, tagged fields), KIP-516 (topic ids), KIP-98 (record batches, transactions),
KIP-152 (SaslAuthenticate) and the Confluent Schema Registry wire format (magic 0, int32
schema id, then Avro, JSON or protobuf with message indexes).

Events (spec/inventory.md, "kafka"): one `Message` per topic of a Produce request
(direction request) or of a Fetch response (direction response), `api` = the topic name.
Parts per record: `key`, `value` (empty field name) and one `header` part per record
header (name = header key). Fetch v13+ and Produce v13+ name topics by id: the id is
resolved with Metadata responses seen earlier in the scan, on any connection (Metadata
usually travels on one broker connection and Fetch on another): each id a Metadata
response names, and the scan does not know yet, is returned as a `Learned` event
(`FactKind.KAFKA_TOPIC_ID`) and read back through `self.facts`; else `api` is
`topic-id:<uuid>`. SASL/PLAIN credentials (SaslAuthenticate after a PLAIN handshake)
become `auth` parts named `username` and `password`, api `(sasl)`.

Media types of keys and values: JSON when the first non-blank byte is `{` or `[`; the
Confluent framing is stripped (5 bytes, plus the protobuf message-index list) and the
body is Avro when the scan's schemas (`Facts.avro`: `--avro-schema` files,
Schema Registry answers seen in the capture, `--schema-registry`) hold one for its
schema id, or one that decodes it, JSON, `application/x-protobuf` when it walks as
protobuf wire format (`protocols.protobuf.is_message`, the one wire walker; decoded
schema-less by `protocols.payload`), else binary (the
binary fallback: its printable runs); an Avro object container file (`Obj\x01`) is read
with its embedded schema; an unframed value is Avro when an `.avsc` file named for the
topic's subject (`<topic>-value`, `<topic>`) decodes it; UTF-8 text is `text/plain`;
anything else protobuf if it walks as such, else binary.

Pairing: responses carry only a correlation id, so requests are remembered per
connection (correlation id -> api key, version), bounded by `MAX_PENDING`. A response
whose request was not seen is skipped with anomaly `unpaired_response`: its body cannot
be parsed without the version. Mid-stream and after a gap the request side resyncs on
the first plausible request header; the response side on a size prefix followed by a
pending correlation id.

Not supported: SASL v0 raw tokens (pre KIP-152, sent without a Kafka header) and
mechanisms other than PLAIN; ShareFetch records; Produce with acks=0 is parsed but never
waits for a response.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, ClassVar

from protocols import protobuf
from protocols.avro import AVRO_MEDIA_TYPE, CONTAINER_MAGIC
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    FactKind,
    Learned,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    Probe,
    ProtocolError,
)
from protocols.kafka._versions import API_TABLE, plausible_version
from protocols.kafka._wire import Reader, WireError

if TYPE_CHECKING:
    from protocols.kafka import _apis as apis
    from protocols.kafka._records import Record

# The body layouts (`_apis.py`) and record batches (`_records.py`) are imported by the
# methods that read them: the registry imports this module and the probe runs on every
# connection, so a scan without Kafka never loads them (tests/test_import_weight.py).

PROTOCOL = "kafka"
# Requests a client may have outstanding on one connection. Clients pipeline at most a
# handful (max.in.flight.requests.per.connection defaults to 5); unanswered ones (acks=0
# produce, a response lost in the capture) must not grow the table without bound.
MAX_PENDING = 1024
# Topic id -> name entries the scan knows, at most: a cluster with more topics than this
# is rare, and the maps must stay bounded (dpi/facts.py keeps the same bound).
MAX_TOPIC_IDS = 100_000
# Longest client id a plausible request header carries (Kafka clients use short ids;
# the protocol allows 32767, but a probe must reject random bytes).
MAX_CLIENT_ID = 1024
# Bytes of a request header a probe or resync needs: size, api key, version,
# correlation id, client id length.
REQUEST_PROBE_BYTES = 14
# Smallest request: api key, version, correlation id and a client id length.
MIN_REQUEST_SIZE = 10
# Largest frame size believed when recognising a connection or finding a message start
# again. Brokers accept requests up to socket.request.max.bytes (100 MiB by default,
# raised on some clusters) and fetch responses can be larger still, so a frame over
# `max_buffer_bytes` is real Kafka: it identifies the flow and is skipped by count
# (`message_too_large`), never buffered.
MAX_WIRE_FRAME = 1 << 30
# Smallest response: a correlation id.
MIN_RESPONSE_SIZE = 4

_I32 = struct.Struct(">i")
_REQ_HEAD = struct.Struct(">ihhih")  # size, api key, version, correlation id, client id len
_RESP_HEAD = struct.Struct(">ii")  # size, correlation id


class _Sync(Enum):
    """Framing state of one direction."""

    START = "start"  # nothing seen yet: maybe at a message start, maybe mid-stream
    IN_SYNC = "in_sync"  # at a message boundary (or inside a known one)
    HUNTING = "hunting"  # lost: scanning for a plausible message start
    STOPPED = "stopped"


class _Edge(Enum):
    ALIGNED = "aligned"
    MISALIGNED = "misaligned"
    FOUND = "found"
    GAP = "gap"


# One transition table (docs/architecture.md convention 6): (state, edge) -> next state.
_TRANSITIONS: dict[tuple[_Sync, _Edge], _Sync] = {
    (_Sync.START, _Edge.ALIGNED): _Sync.IN_SYNC,
    (_Sync.START, _Edge.MISALIGNED): _Sync.HUNTING,
    (_Sync.START, _Edge.GAP): _Sync.HUNTING,
    (_Sync.IN_SYNC, _Edge.GAP): _Sync.HUNTING,
    (_Sync.HUNTING, _Edge.FOUND): _Sync.IN_SYNC,
    (_Sync.HUNTING, _Edge.GAP): _Sync.HUNTING,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    api_key: int
    api_version: int


@dataclass(slots=True)
class _Side:
    """Per-direction buffer; `skip` counts bytes of a message being skipped unbuffered."""

    state: _Sync = _Sync.START
    buf: bytearray = field(default_factory=bytearray)
    skip: int = 0

    def move(self, edge: _Edge) -> None:
        self.state = _TRANSITIONS[(self.state, edge)]


def _past_frame(side: _Side, pos: int, size: int) -> tuple[int, bool]:
    """Past a frame of `size` bytes (after its 4-byte length) at `pos` that is not read:
    (the position after it, True) when it is all in the buffer; else (the buffer's end,
    False), the rest of it left to `side.skip` for the bytes still to come."""
    available = len(side.buf) - pos - 4
    if available >= size:
        return pos + 4 + size, True
    side.skip = size - available
    return len(side.buf), False


def _plausible_request(
    data: bytes | bytearray, pos: int, max_size: int, strict: bool = False
) -> bool | None:
    """Does a request header start at `pos`? None: not enough bytes to say.

    `strict` is for resyncing inside a stream, where zero-filled record bytes look like
    a Produce v0 header with an empty client id: it wants a non-empty client id, all
    of it present and printable.
    """
    if len(data) - pos < REQUEST_PROBE_BYTES:
        return None
    size, key, version, corr, client_len = _REQ_HEAD.unpack_from(data, pos)
    if not MIN_REQUEST_SIZE <= size <= max_size:
        return False
    if not plausible_version(key, version) or corr < 0:
        return False
    if client_len == -1:
        return not strict
    if not (1 if strict else 0) <= client_len <= MAX_CLIENT_ID:
        return False
    if client_len + MIN_REQUEST_SIZE > size:
        return False
    # The client id is printable ASCII in every client seen; check what is there.
    start = pos + REQUEST_PROBE_BYTES
    sample = data[start : start + min(client_len, len(data) - start)]
    if strict and len(sample) < client_len:
        return None
    return all(0x20 <= byte < 0x7F for byte in sample)


# -- payload sniffing ----------------------------------------------------------------

_BLANK = b" \t\r\n"
def _is_json(data: bytes) -> bool:
    head = data[:64].lstrip(_BLANK)
    return head[:1] in (b"{", b"[")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text[:256])


def _confluent_body(data: bytes, avro: _AvroLookup | None = None) -> tuple[str, bytes, str] | None:
    """Schema Registry framing: magic 0, int32 schema id, body. Returns (media, body,
    Avro schema text): Avro when the scan knows a schema for the id that fits."""
    if len(data) < 6 or data[0] != 0:
        return None
    body = data[5:]
    if avro is not None:
        (schema_id,) = _I32.unpack_from(data, 1)
        schema = avro(schema_id, body)
        if schema is not None:
            return AVRO_MEDIA_TYPE, body, schema
    if _is_json(body):
        return MediaType.JSON, body, ""
    # Protobuf serializer: zigzag varint count of message indexes, then the indexes
    # ([0], the first message, is written as a single 0 byte).
    reader = Reader(body)
    try:
        count = reader.varint()
        if 0 <= count <= 64:
            for _ in range(count):
                reader.varint()
            if protobuf.is_message(body, reader.pos):
                return MediaType.PROTOBUF, body[reader.pos :], ""
    except WireError:
        pass
    # Avro has no tags: without its schema only the binary fallback reads it.
    return MediaType.BINARY, body, ""


# (schema id, body) -> the Avro schema text that decodes it, or None.
_AvroLookup = Callable[[int, bytes], "str | None"]


def _payload_part(
    location: Location,
    name: str,
    data: bytes,
    avro: _AvroLookup | None = None,
    bare_avro: Callable[[bytes], str | None] | None = None,
) -> Part:
    if _is_json(data):
        return Part(location=location, name=name, data=data, media_type=MediaType.JSON)
    framed = _confluent_body(data, avro)
    if framed is not None:
        media, body, schema = framed
        return Part(location=location, name=name, data=body, media_type=media, schema=schema)
    if data.startswith(CONTAINER_MAGIC):  # an Avro file: protocols.payload reads it
        return Part(location=location, name=name, data=data, media_type=MediaType.BINARY)
    if bare_avro is not None:
        bare_schema = bare_avro(data)
        if bare_schema is not None:
            return Part(
                location=location,
                name=name,
                data=data,
                media_type=AVRO_MEDIA_TYPE,
                schema=bare_schema,
            )
    if _is_text(data):
        return Part(location=location, name=name, data=data, media_type=MediaType.TEXT)
    media = MediaType.PROTOBUF if protobuf.is_message(data) else MediaType.BINARY
    return Part(location=location, name=name, data=data, media_type=media)


class KafkaDissector(Dissector):
    """One Kafka connection, both directions (see the module docstring)."""

    def _topic_schema(self, topic: apis.TopicRecords) -> str:
        """The protobuf message type configured for this topic (`--topic-schema`), if any:
        its values then decode with field names instead of field numbers."""
        mapping = self.options.kafka_topic_schemas
        if not mapping:
            return ""
        name = self._topic_api(topic)
        for pattern, message in mapping.items():
            if fnmatchcase(name, pattern):
                return message
        return ""

    name: ClassVar[str] = PROTOCOL
    ports: ClassVar[frozenset[int]] = frozenset({9092, 9093, 9094})

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        self._sides = {Direction.REQUEST: _Side(), Direction.RESPONSE: _Side()}
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        # Topic ids this connection learned and the scan did not know then: read after
        # the scan's (`self.facts`), for the rest of the call that learned them (the
        # engine stores a `Learned` fact once the call returns) and when used alone.
        self._learned_ids: dict[str, str] = {}
        self._sasl_mechanism = ""

    # -- probe -----------------------------------------------------------------------

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        max_size = MAX_WIRE_FRAME
        if direction is Direction.REQUEST:
            verdict = _plausible_request(data, 0, max_size)
            if verdict is None:
                return cls._probe_short_request(data, max_size)
            return Probe.YES if verdict else Probe.NO
        # Responses carry no api key: never certain, only sometimes certainly not.
        if len(data) < _RESP_HEAD.size:
            return Probe.NEED_MORE
        size, corr = _RESP_HEAD.unpack_from(data, 0)
        if not MIN_RESPONSE_SIZE <= size <= max_size or corr < 0:
            return Probe.NO
        return Probe.NEED_MORE

    @staticmethod
    def _probe_short_request(data: bytes, max_size: int) -> Probe:
        if len(data) >= 4:
            (size,) = _I32.unpack_from(data, 0)
            if not MIN_REQUEST_SIZE <= size <= max_size:
                return Probe.NO
        if len(data) >= 8:
            key, version = struct.unpack_from(">hh", data, 4)
            if not plausible_version(key, version):
                return Probe.NO
        return Probe.NEED_MORE

    # -- feeding ---------------------------------------------------------------------

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if side.state is _Sync.STOPPED or not data:
            return []
        events: list[Event] = []
        view = memoryview(data)
        if side.skip:
            used = min(side.skip, len(view))
            side.skip -= used
            view = view[used:]
        side.buf += view
        if direction is Direction.REQUEST:
            self._drain_requests(side, ts_ns, events)
        else:
            self._drain_responses(side, ts_ns, events)
        return events

    def gap(self, direction: Direction, size: int) -> list[Event]:
        side = self._sides[direction]
        if side.state is _Sync.STOPPED or size <= 0:
            return []
        if side.skip >= size:
            # The gap fell inside a message we were skipping anyway: still aligned.
            side.skip -= size
            return []
        events: list[Event] = [Anomaly(kind="gap", direction=direction)]
        missing = self._missing_bytes(side)
        if side.state is _Sync.IN_SYNC and missing is not None and size < missing + side.skip:
            # The gap cut one message whose size we know: drop it, keep alignment.
            events.append(Anomaly(kind="gap_in_message", direction=direction))
            side.skip = missing + side.skip - size
            side.buf.clear()
            return events
        side.buf.clear()
        side.skip = 0
        side.move(_Edge.GAP)
        return events

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        events: list[Event] = []
        if side.state is _Sync.IN_SYNC and (side.buf or side.skip):
            events.append(Anomaly(kind="truncated_message", direction=direction))
        side.buf.clear()
        side.skip = 0
        side.state = _Sync.STOPPED
        return events

    def held_bytes(self) -> int:
        return len(self._sides[Direction.REQUEST].buf) + len(self._sides[Direction.RESPONSE].buf)

    @staticmethod
    def _missing_bytes(side: _Side) -> int | None:
        """Bytes still to come for the buffered partial message, if its size is known."""
        if len(side.buf) < 4:
            return None if side.buf else 0
        (size,) = _I32.unpack_from(side.buf, 0)
        return max(0, 4 + int(size) - len(side.buf))

    # -- requests --------------------------------------------------------------------

    def _drain_requests(self, side: _Side, ts_ns: int, events: list[Event]) -> None:
        from protocols.kafka import _apis as apis

        buf = side.buf
        max_size = self.limits.max_buffer_bytes
        pos = 0
        while True:
            if side.state is not _Sync.IN_SYNC:
                found, pos = self._align_request(side, pos, MAX_WIRE_FRAME, events)
                if not found:
                    break
            if len(buf) - pos < 12:
                break
            size, key, version, corr = struct.unpack_from(">ihhi", buf, pos)
            if size < MIN_REQUEST_SIZE:
                side.state = _Sync.STOPPED
                side.buf.clear()
                raise ProtocolError(f"request size {size} below the minimum")
            if key not in apis.REQUEST_BODIES or size > max_size:
                # Not inspected (or too big to buffer): remember the pairing, skip it.
                self._note_request(key, version, corr, events)
                if size > max_size and key in apis.REQUEST_BODIES:
                    events.append(Anomaly(kind="message_too_large", direction=Direction.REQUEST))
                pos, whole = _past_frame(side, pos, size)
                if whole:
                    continue
                break
            if len(buf) - pos < 4 + size:
                break
            message = bytes(buf[pos + 4 : pos + 4 + size])
            pos += 4 + size
            self._on_request(message, ts_ns, events)
        del buf[:pos]

    @staticmethod
    def _align_request(
        side: _Side, pos: int, max_size: int, events: list[Event]
    ) -> tuple[bool, int]:
        """Scan for a plausible request header from `pos`: (found, its position), or
        (False, start of the tail that could still begin one)."""
        buf = side.buf
        while True:
            strict = side.state is _Sync.HUNTING
            verdict = _plausible_request(buf, pos, max_size, strict)
            if verdict is None:
                return False, pos
            if verdict:
                if side.state is _Sync.HUNTING:
                    # Once per lost stretch, however the bytes were split.
                    events.append(Anomaly(kind="resync", direction=Direction.REQUEST))
                    side.move(_Edge.FOUND)
                else:
                    side.move(_Edge.ALIGNED)
                return True, pos
            if side.state is _Sync.START:
                side.move(_Edge.MISALIGNED)
            pos += 1

    def _note_request(self, key: int, version: int, corr: int, events: list[Event]) -> None:
        if key not in API_TABLE:
            events.append(Anomaly(kind="unknown_api_key", direction=Direction.REQUEST))
        if len(self._pending) >= MAX_PENDING:
            self._pending.popitem(last=False)
            events.append(Anomaly(kind="pending_overflow", direction=Direction.REQUEST))
        self._pending[corr] = _Pending(api_key=key, api_version=version)

    def _on_request(self, message: bytes, ts_ns: int, events: list[Event]) -> None:
        from protocols.kafka import _apis as apis

        reader = Reader(message)
        try:
            header = apis.read_request_header(reader)
        except WireError:
            events.append(Anomaly(kind="malformed_request", direction=Direction.REQUEST))
            return
        key = header.api_key
        version = header.api_version
        if not plausible_version(key, version):
            self._note_request(key, version, header.correlation_id, events)
            events.append(Anomaly(kind="unsupported_version", direction=Direction.REQUEST))
            return
        try:
            body = apis.parse_request_body(key, version, reader)
        except WireError:
            self._note_request(key, version, header.correlation_id, events)
            events.append(Anomaly(kind="malformed_request", direction=Direction.REQUEST))
            return
        if not (isinstance(body, apis.ProduceRequestBody) and body.acks == 0):
            # acks=0: the broker never answers, so nothing to pair.
            self._note_request(key, version, header.correlation_id, events)
        if isinstance(body, apis.ProduceRequestBody):
            self._emit_topics(message, body.topics, Direction.REQUEST, ts_ns, events)
        elif isinstance(body, apis.SaslHandshakeRequestBody):
            self._sasl_mechanism = body.mechanism.upper()
        elif isinstance(body, apis.SaslAuthenticateRequestBody):
            self._emit_sasl(message, body, ts_ns, events)

    # -- responses -------------------------------------------------------------------

    def _drain_responses(self, side: _Side, ts_ns: int, events: list[Event]) -> None:
        from protocols.kafka import _apis as apis

        buf = side.buf
        max_size = self.limits.max_buffer_bytes
        pos = 0
        while True:
            if len(buf) - pos < _RESP_HEAD.size:
                break
            size, corr = _RESP_HEAD.unpack_from(buf, pos)
            if side.state is _Sync.START:
                side.move(
                    _Edge.ALIGNED
                    if MIN_RESPONSE_SIZE <= size <= MAX_WIRE_FRAME or corr in self._pending
                    else _Edge.MISALIGNED
                )
            if side.state is _Sync.HUNTING:
                if corr in self._pending and MIN_RESPONSE_SIZE <= size <= MAX_WIRE_FRAME:
                    events.append(Anomaly(kind="resync", direction=Direction.RESPONSE))
                    side.move(_Edge.FOUND)
                else:
                    pos += 1
                    continue
            if size < MIN_RESPONSE_SIZE:
                side.state = _Sync.STOPPED
                side.buf.clear()
                raise ProtocolError(f"response size {size} below the minimum")
            pending = self._pending.get(corr)
            parse = pending is not None and pending.api_key in apis.RESPONSE_BODIES
            if pending is None or not parse or size > max_size:
                if pending is None:
                    events.append(Anomaly(kind="unpaired_response", direction=Direction.RESPONSE))
                else:
                    del self._pending[corr]
                    if parse:
                        events.append(
                            Anomaly(kind="message_too_large", direction=Direction.RESPONSE)
                        )
                pos, whole = _past_frame(side, pos, size)
                if whole:
                    continue
                break
            if len(buf) - pos < 4 + size:
                break
            del self._pending[corr]
            message = bytes(buf[pos + 4 : pos + 4 + size])
            pos += 4 + size
            self._on_response(message, pending, ts_ns, events)
        del buf[:pos]

    def _on_response(
        self, message: bytes, pending: _Pending, ts_ns: int, events: list[Event]
    ) -> None:
        from protocols.kafka import _apis as apis

        reader = Reader(message, 4)  # after the correlation id
        try:
            apis.skip_response_header_tags(reader, pending.api_key, pending.api_version)
            body = apis.parse_response_body(pending.api_key, pending.api_version, reader)
        except WireError:
            if pending.api_key == apis.API_VERSIONS and pending.api_version > 0:
                # A broker that does not know the asked version answers in v0 (KIP-511).
                try:
                    apis.parse_response_body(apis.API_VERSIONS, 0, Reader(message, 4))
                    return
                except WireError:
                    pass
            events.append(Anomaly(kind="malformed_response", direction=Direction.RESPONSE))
            return
        if isinstance(body, apis.FetchResponseBody):
            self._emit_topics(message, body.topics, Direction.RESPONSE, ts_ns, events)
        elif isinstance(body, apis.MetadataResponseBody):
            known = self.facts.kafka_topic_ids
            learned = self._learned_ids
            for name, topic_id in body.topics:
                if not (name and topic_id) or known.get(topic_id, learned.get(topic_id)) == name:
                    continue
                if len(known) + len(learned) < MAX_TOPIC_IDS:
                    learned[topic_id] = name
                    events.append(Learned(kind=FactKind.KAFKA_TOPIC_ID, key=topic_id, value=name))

    # -- events ----------------------------------------------------------------------

    def _record_parts(self, record: Record, topic: apis.TopicRecords) -> list[Part]:
        """Parts of one record; Avro keys and values by the scan's schemas
        (`Facts.avro`, asked only: this dissector never teaches it)."""
        store = self.facts.avro
        name = self._topic_api(topic)
        parts: list[Part] = []
        for location, role, data in (
            (Location.KEY, "key", record.key),
            (Location.VALUE, "value", record.value),
        ):
            if not data:
                continue
            if store is None:
                parts.append(_payload_part(location, "", data))
                continue

            def framed(schema_id: int, body: bytes, role: str = role) -> str | None:
                return store.for_framed(schema_id, name, role, body)

            def bare(body: bytes, role: str = role) -> str | None:
                return store.for_bare(name, role, body)

            parts.append(_payload_part(location, "", data, framed, bare))
        for header, value in record.headers:
            if value:
                parts.append(_payload_part(Location.HEADER, header, value))
        return parts

    def _topic_api(self, topic: apis.TopicRecords) -> str:
        if topic.topic_id is not None:
            topic_id = topic.topic_id
            name = self.facts.kafka_topic_ids.get(topic_id) or self._learned_ids.get(topic_id)
            return name or f"topic-id:{topic_id}"
        return topic.name or "(unknown)"

    def _emit_topics(
        self,
        message: bytes,
        topics: tuple[apis.TopicRecords, ...],
        direction: Direction,
        ts_ns: int,
        events: list[Event],
    ) -> None:
        from protocols.kafka._records import parse_records

        for topic in topics:
            parts: list[Part] = []
            kinds: list[str] = []
            for partition in topic.partitions:
                if partition.span is None:
                    continue
                start, end = partition.span
                found = parse_records(memoryview(message)[start:end], self.limits)
                kinds.extend(kind for kind in found.anomalies if kind not in kinds)
                for record in found.records:
                    parts.extend(self._record_parts(record, topic))
            schema = self._topic_schema(topic)
            if schema:
                parts = [
                    replace(p, schema=schema) if p.media_type == MediaType.PROTOBUF else p
                    for p in parts
                ]
            events.extend(Anomaly(kind=kind, direction=direction) for kind in kinds)
            if parts:
                events.append(
                    Message(
                        protocol=PROTOCOL,
                        direction=direction,
                        api=self._topic_api(topic),
                        host="",
                        ts_ns=ts_ns,
                        parts=tuple(parts),
                    )
                )

    def _emit_sasl(
        self,
        message: bytes,
        body: apis.SaslAuthenticateRequestBody,
        ts_ns: int,
        events: list[Event],
    ) -> None:
        if self._sasl_mechanism != "PLAIN" or body.span is None:
            return
        start, end = body.span
        # RFC 4616: [authzid] NUL authcid NUL passwd.
        fields = message[start:end].split(b"\x00")
        if len(fields) != 3:
            events.append(Anomaly(kind="malformed_sasl", direction=Direction.REQUEST))
            return
        parts = tuple(
            Part(location=Location.AUTH, name=name, data=value, media_type=MediaType.TEXT)
            for name, value in (("username", fields[1]), ("password", fields[2]))
            if value
        )
        if parts:
            events.append(
                Message(
                    protocol=PROTOCOL,
                    direction=Direction.REQUEST,
                    api="(sasl)",
                    host="",
                    ts_ns=ts_ns,
                    parts=parts,
                )
            )
