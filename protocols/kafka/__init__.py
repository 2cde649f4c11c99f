"""Kafka (the Kafka protocol guide): the dissector in `kafka.py` (its name and probe)
working through `_session.py` (one connection), primitive types in `_wire.py`, what the
probe checks (api keys, versions, plausible headers) in `_versions.py`,
Produce/Fetch/Metadata bodies in `_apis.py`, record batches in `_records.py`."""

from protocols.kafka.kafka import KafkaDissector

__all__ = ["KafkaDissector"]
