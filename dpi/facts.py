"""The facts one scan has learned from its capture, kept by the engine.

Dissectors never write shared state: a fact one connection teaches (a Kafka topic id's
name from a Metadata response, a protobuf schema from gRPC server reflection) comes back
from the dissector as a `protocols.base.Learned` event, the engine hands it to this
store (`learn`), and every dissector reads the store through its read-only `view`
(`protocols.base.Facts`), which the flow router gives each dissector it starts. The
router yields events as they happen, so a fact is known before the next event of any
flow is read.

Where each kind goes:
- `KAFKA_TOPIC_ID`: the topic-id map here (the Kafka dissector names topics with it);
- `PROTOBUF_FILE`: the scan's protobuf registry (`DissectorOptions.schemas`), read by
  the field scorer and by `dpi spec`; ignored when the scan has none.
Avro schemas are the third store of the view (`avro`): the Schema Registry observer
(dpi/schema_registry.py, one of the store's `learners`, which the engine attaches)
teaches it from HTTP answers, never a dissector.

One store per scan (dpi/build.py's `build_engine` makes it); bounded: each keyed kind
holds at most `MAX_KEYS` facts, later ones are dropped.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from dpi.observer import Observer
from dpi.schema_registry import SchemaRegistryLearner
from protocols.avro import AvroSchemas
from protocols.base import FactKind, Facts, Learned

# Topic ids remembered per scan: a cluster with more topics than this is rare.
MAX_KEYS = 100_000


class FactStore:
    """See the module docstring. `schemas`: the scan's protobuf registry, or None;
    `avro`: the scan's Avro schemas, or None (Avro off)."""

    def __init__(self, schemas: Any = None, avro: AvroSchemas | None = None) -> None:
        self.schemas = schemas
        self.avro = avro
        self._topic_ids: dict[str, str] = {}
        self.view = Facts(kafka_topic_ids=MappingProxyType(self._topic_ids), avro=avro)

    @classmethod
    def for_scan(cls, schemas: Any = None) -> FactStore:
        """A store with the registry `schemas` (or None) and empty Avro schemas."""
        return cls(schemas, AvroSchemas())

    def learners(self) -> list[Observer]:
        """The observers that teach this store from what the scan sees."""
        return [SchemaRegistryLearner(self.avro)] if self.avro is not None else []

    def learn(self, fact: Learned) -> None:
        """One fact a dissector returned; facts of unknown kinds are ignored."""
        if fact.kind is FactKind.KAFKA_TOPIC_ID:
            if isinstance(fact.value, str) and len(self._topic_ids) < MAX_KEYS:
                self._topic_ids[fact.key] = fact.value
        elif fact.kind is FactKind.PROTOBUF_FILE:
            add = getattr(self.schemas, "add_file_descriptor", None)  # None: no registry
            if add is not None and isinstance(fact.value, bytes):
                add(fact.value)
