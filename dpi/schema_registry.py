"""Learning Avro schemas from Confluent Schema Registry traffic seen in the capture.

The Kafka dissector needs a value's writer schema to name its fields; producers and
consumers ask a Schema Registry for it over HTTP, often in the same capture. This
observer (one per engine, attached by it) reads those HTTP answers and teaches the
scan's `protocols.avro.AvroSchemas`; the Kafka dissector only asks that store.
So the one cross-connection channel is explicit and one-way: registry answers in,
schema texts (checked, bounded) out, never anything a Kafka connection wrote.

Schema Registry REST API (docs.confluent.io, "Schema Registry API Reference"):
- `POST /subjects/{subject}/versions` (register) sends `{"schema": ..., "schemaType"?}`
  and gets `{"id": N}`: the request's schema is kept per connection until its answer;
- `GET /subjects/{subject}/versions/{version}` and `POST /subjects/{subject}` (look up)
  answer `{"subject", "id", "version", "schema", "schemaType"?}`;
- `GET /schemas/ids/{id}` answers `{"schema", "schemaType"?}` without the id, which is
  only in the path, and the HTTP dissector templates it away (`{id}`): that schema is
  learnt without an id and tried on values whose id is unknown.
Only 2xx answers count. A value produced before its schema appears in the capture is
read before this observer learns it: it gets the binary fallback.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import TYPE_CHECKING

from dpi.observer import Observer
from protocols.avro import AvroSchemas, registry_schema
from protocols.base import Direction, Location

if TYPE_CHECKING:
    from dpi.reassembly import Flow
    from protocols.base import Message

# Connections with registrations awaiting their answer, and registrations per connection.
MAX_FLOWS = 1024
MAX_PENDING = 16


class SchemaRegistryLearner(Observer):
    """See the module docstring."""

    def __init__(self, schemas: AvroSchemas) -> None:
        self.schemas = schemas
        # flow id -> (api, schema text, schema type) of registrations not answered yet.
        self._pending: OrderedDict[int, deque[tuple[str, str, str]]] = OrderedDict()

    def message(self, flow: Flow, message: Message) -> None:
        if message.protocol != "http" or "/s" not in message.api:
            return  # cheap: the Schema Registry's paths all hold /schemas or /subjects
        method, _, path = message.api.partition(" ")
        segments = path.strip("/").split("/")
        if "subjects" not in segments and "schemas" not in segments:
            return
        body = b"".join(p.data for p in message.parts if p.location is Location.BODY)
        if message.direction is Direction.REQUEST:
            if method == "POST" and segments[-1] == "versions":
                self._registration(flow, message.api, body)
            return
        if not 200 <= message.status < 300 and message.status != 0:
            return
        self._answer(flow, message.api, segments, body)

    def _registration(self, flow: Flow, api: str, body: bytes) -> None:
        found = registry_schema(body)
        if found is None:
            return
        queue = self._pending.get(flow.id)
        if queue is None:
            if len(self._pending) >= MAX_FLOWS:
                self._pending.popitem(last=False)
            queue = self._pending[flow.id] = deque(maxlen=MAX_PENDING)
        queue.append((api, found[0], found[1]))

    def _answer(self, flow: Flow, api: str, segments: list[str], body: bytes) -> None:
        subject = _subject(segments)
        queue = self._pending.get(flow.id)
        if queue and queue[0][0] == api:
            _, text, kind = queue.popleft()
            schema_id = _id_of(body)
            if schema_id is not None:
                self.schemas.learn(schema_id, text, subject, kind)
            return
        found = registry_schema(body)
        if found is None:
            return
        self.schemas.learn(_id_of(body), found[0], subject, found[1])


def _subject(segments: list[str]) -> str:
    if "subjects" in segments:
        at = segments.index("subjects") + 1
        if at < len(segments):
            return segments[at]
    return ""


def _id_of(body: bytes) -> int | None:
    """The `id` member of a registry answer, if it has one."""
    import orjson

    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(answer, dict):
        value = answer.get("id")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 31:
            return value
    return None
