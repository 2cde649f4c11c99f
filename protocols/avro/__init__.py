"""Avro, a payload format Kafka values and HTTP bodies carry: values named by their
writer's schema (`_codec.py`, the only module importing fastavro) and the scan's store of
writer schemas (`_schemas.py`)."""

from protocols.avro._codec import (
    AVRO_MEDIA_TYPE,
    CONTAINER_MAGIC,
    AvroError,
    Schema,
    container_pairs,
    datum_pairs,
    fits,
    parse_schema,
)
from protocols.avro._schemas import AvroSchemaError, AvroSchemas, registry_schema

__all__ = [
    "AVRO_MEDIA_TYPE",
    "CONTAINER_MAGIC",
    "AvroError",
    "AvroSchemaError",
    "AvroSchemas",
    "Schema",
    "container_pairs",
    "datum_pairs",
    "fits",
    "parse_schema",
    "registry_schema",
]
