"""Kafka (the Kafka protocol guide): the dissector in `kafka.py`, primitive types in
`_wire.py`, api keys and versions (what the probe checks) in `_versions.py`,
Produce/Fetch/Metadata bodies in `_apis.py`, record batches in `_records.py`."""

from protocols.kafka.kafka import KafkaDissector

__all__ = ["KafkaDissector"]
