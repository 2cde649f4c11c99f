"""Avro, a payload format Kafka values and HTTP bodies carry: values named by their
writer's schema (`_codec.py`, the only module importing fastavro) and the scan's store of
writer schemas (`_schemas.py`); `_format.py` names the media type and container magic.

Every scan imports this package (the payload decoder names its functions, and every scan
has a store of schemas) but few meet an Avro value: `_codec.py` is imported the first
time a value, a container file or a schema is read, through `datum_pairs` and
`container_pairs` below or a name looked up here (`parse_schema`, `AvroError`, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocols.avro._format import AVRO_MEDIA_TYPE, CONTAINER_MAGIC
from protocols.avro._schemas import AvroSchemaError, AvroSchemas, registry_schema

if TYPE_CHECKING:
    from protocols.avro._codec import AvroError, Pair, Schema, fits, parse_schema
    from protocols.base import Limits

# The names `_codec` defines, looked up there on first use (`__getattr__`).
_CODEC_NAMES = frozenset({"AvroError", "Schema", "fits", "parse_schema"})

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


def datum_pairs(body: bytes, schema_text: str, prefix: str, limits: Limits) -> list[Pair] | None:
    """`_codec.datum_pairs`, the codec imported on the first call."""
    from protocols.avro import _codec

    return _codec.datum_pairs(body, schema_text, prefix, limits)


def container_pairs(data: bytes, prefix: str, limits: Limits) -> list[Pair] | None:
    """`_codec.container_pairs`, the codec imported on the first call."""
    from protocols.avro import _codec

    return _codec.container_pairs(data, prefix, limits)


def __getattr__(name: str) -> Any:
    """A name of the codec: the module is imported now (PEP 562), and the name kept here."""
    if name not in _CODEC_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from protocols.avro import _codec

    value = getattr(_codec, name)
    globals()[name] = value
    return value
