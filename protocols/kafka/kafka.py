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

The registry's face is this module (name, ports, the probe and what it checks); the work
on a connection is `_session.py`'s `KafkaSession`, imported when a flow first becomes
Kafka, with the body layouts of `_apis.py` and the record batches of `_records.py`.

Not supported: SASL v0 raw tokens (pre KIP-152, sent without a Kafka header) and
mechanisms other than PLAIN; ShareFetch records; Produce with acks=0 is parsed but never
waits for a response.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, ClassVar

from protocols.base import Direction, Facts, Probe, SessionDissector
from protocols.kafka._versions import (
    I32,
    MAX_WIRE_FRAME,
    MIN_REQUEST_SIZE,
    MIN_RESPONSE_SIZE,
    PROTOCOL,
    RESP_HEAD,
    plausible_request,
    plausible_version,
)

if TYPE_CHECKING:
    from protocols.kafka._session import KafkaSession


class KafkaDissector(SessionDissector):
    """One Kafka connection, both directions (see the module docstring).

    The work is done by a `KafkaSession` (`_session.py`), loaded with the first
    connection of this protocol (`SessionDissector`)."""

    name: ClassVar[str] = PROTOCOL
    ports: ClassVar[frozenset[int]] = frozenset({9092, 9093, 9094})

    _session: KafkaSession

    def _new_session(self) -> KafkaSession:
        from protocols.kafka._session import KafkaSession

        return KafkaSession(self.limits, self.options)

    @property
    def facts(self) -> Facts:
        """What the scan has learned, read by the session (the router sets it)."""
        return self._session.facts

    @facts.setter
    def facts(self, value: Facts) -> None:
        self._session.facts = value

    # -- probe -----------------------------------------------------------------------

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        max_size = MAX_WIRE_FRAME
        if direction is Direction.REQUEST:
            verdict = plausible_request(data, 0, max_size)
            if verdict is None:
                return cls._probe_short_request(data, max_size)
            return Probe.YES if verdict else Probe.NO
        # Responses carry no api key: never certain, only sometimes certainly not.
        if len(data) < RESP_HEAD.size:
            return Probe.NEED_MORE
        size, corr = RESP_HEAD.unpack_from(data, 0)
        if not MIN_RESPONSE_SIZE <= size <= max_size or corr < 0:
            return Probe.NO
        return Probe.NEED_MORE

    @staticmethod
    def _probe_short_request(data: bytes, max_size: int) -> Probe:
        if len(data) >= 4:
            (size,) = I32.unpack_from(data, 0)
            if not MIN_REQUEST_SIZE <= size <= max_size:
                return Probe.NO
        if len(data) >= 8:
            key, version = struct.unpack_from(">hh", data, 4)
            if not plausible_version(key, version):
                return Probe.NO
        return Probe.NEED_MORE
