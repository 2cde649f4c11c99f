"""The Kafka dissector's work on one connection (`protocols.kafka.kafka` is the
protocol's documentation and its registry face): framing both directions, pairing
responses with requests, Produce/Fetch/Metadata/SASL bodies (`_apis.py`) and record
batches (`_records.py`) -> messages.

Imported when the first connection of a scan is Kafka (`KafkaDissector.__init__`): the
registry imports `kafka.py` and runs its probe on every connection of every scan.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from fnmatch import fnmatchcase

from protocols import protobuf
from protocols.avro import AVRO_MEDIA_TYPE, CONTAINER_MAGIC
from protocols.base import (
    NO_FACTS,
    Anomaly,
    Direction,
    DissectorOptions,
    Event,
    FactKind,
    Learned,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    ProtocolError,
)
from protocols.kafka import _apis as apis
from protocols.kafka._records import Record, parse_records
from protocols.kafka._versions import (
    API_TABLE,
    I32,
    MAX_WIRE_FRAME,
    MIN_REQUEST_SIZE,
    MIN_RESPONSE_SIZE,
    PROTOCOL,
    RESP_HEAD,
    plausible_request,
    plausible_version,
)
from protocols.kafka._wire import Reader, WireError

# Requests a client may have outstanding on one connection. Clients pipeline at most a
# handful (max.in.flight.requests.per.connection defaults to 5); unanswered ones (acks=0
# produce, a response lost in the capture) must not grow the table without bound.
MAX_PENDING = 1024
# Topic id -> name entries the scan knows, at most: a cluster with more topics than this
# is rare, and the maps must stay bounded (dpi/facts.py keeps the same bound).
MAX_TOPIC_IDS = 100_000

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
        (schema_id,) = I32.unpack_from(data, 1)
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


class KafkaSession:
    """One Kafka connection, both directions (see `protocols.kafka.kafka`)."""

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

    def __init__(self, limits: Limits, options: DissectorOptions) -> None:
        self.limits = limits
        self.options = options
        # What the scan has learned: `KafkaDissector.facts` is this (the router sets it).
        self.facts = NO_FACTS
        self._sides = {Direction.REQUEST: _Side(), Direction.RESPONSE: _Side()}
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        # Topic ids this connection learned and the scan did not know then: read after
        # the scan's (`self.facts`), for the rest of the call that learned them (the
        # engine stores a `Learned` fact once the call returns) and when used alone.
        self._learned_ids: dict[str, str] = {}
        self._sasl_mechanism = ""

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
        (size,) = I32.unpack_from(side.buf, 0)
        return max(0, 4 + int(size) - len(side.buf))

    # -- requests --------------------------------------------------------------------

    def _drain_requests(self, side: _Side, ts_ns: int, events: list[Event]) -> None:
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
            verdict = plausible_request(buf, pos, max_size, strict)
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
        buf = side.buf
        max_size = self.limits.max_buffer_bytes
        pos = 0
        while True:
            if len(buf) - pos < RESP_HEAD.size:
                break
            size, corr = RESP_HEAD.unpack_from(buf, pos)
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
