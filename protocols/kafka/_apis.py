"""Kafka request/response header and body layouts, per api key and version.

Spec: the Kafka protocol guide (kafka.apache.org/protocol), "Headers" (request header
v1/v2, response header v0/v1), "The Messages" for Produce (key 0), Fetch (key 1),
Metadata (key 3), ApiVersions (key 18), SaslHandshake (17) and SaslAuthenticate (36); the
JSON message definitions in apache/kafka `clients/src/main/resources/common/message/`
(ProduceRequest.json, FetchResponse.json, MetadataResponse.json, ApiVersionsResponse.json)
for which field exists in which version; KIP-482 (flexible versions: compact strings and
arrays, tagged fields), KIP-516 (topic ids: Fetch v13+, Produce v13+, Metadata v10+),
KIP-511 (ApiVersions v3 client software tags; its response header stays v0).

Only the fields the inventory needs are extracted: topic names or ids, partitions and the
raw `records` spans of Produce requests and Fetch responses, the topic id -> name map of
Metadata responses, the version table of ApiVersions responses and SASL/PLAIN credentials.
Every other api key is framed and skipped. Not supported: ShareFetch (key 78) records,
Produce/Fetch versions newer than `API_TABLE` knows (they are skipped with an anomaly by
the dissector, not guessed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocols.kafka._versions import is_flexible
from protocols.kafka._wire import Reader

PRODUCE = 0
FETCH = 1
METADATA = 3
SASL_HANDSHAKE = 17
API_VERSIONS = 18
SASL_AUTHENTICATE = 36


# -- headers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def read_request_header(reader: Reader) -> RequestHeader:
    """Request header v1 (v2 adds tagged fields for flexible versions).

    The client id is a classic nullable STRING even in header v2 (the guide: "ClientId is
    never compact"), so that brokers can read it before knowing the version.
    """
    api_key = reader.int16()
    api_version = reader.int16()
    correlation_id = reader.int32()
    client_id = reader.string(compact=False)
    if is_flexible(api_key, api_version):
        reader.skip_tagged_fields()
    return RequestHeader(
        api_key=api_key,
        api_version=api_version,
        correlation_id=correlation_id,
        client_id=client_id,
    )


def skip_response_header_tags(reader: Reader, api_key: int, api_version: int) -> None:
    """Response header v1 (tagged fields) for flexible versions, except ApiVersions: its
    response header stays v0 so that a client can read it whatever version it asked."""
    if api_key != API_VERSIONS and is_flexible(api_key, api_version):
        reader.skip_tagged_fields()


# -- bodies --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionRecords:
    partition: int
    # Span of the raw `records` field inside the message buffer; None for null records.
    span: tuple[int, int] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicRecords:
    name: str | None  # versions before KIP-516
    topic_id: str | None  # Produce v13+, Fetch v13+
    partitions: tuple[PartitionRecords, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProduceRequestBody:
    acks: int
    topics: tuple[TopicRecords, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResponseBody:
    error_code: int
    topics: tuple[TopicRecords, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataResponseBody:
    # (name, topic id) pairs; the id is None before v10 or when all zeroes.
    topics: tuple[tuple[str | None, str | None], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiVersionsResponseBody:
    error_code: int
    versions: tuple[tuple[int, int, int], ...]  # (api key, min, max)


@dataclass(frozen=True, slots=True, kw_only=True)
class SaslHandshakeRequestBody:
    mechanism: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SaslAuthenticateRequestBody:
    span: tuple[int, int] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unparsed:
    """A body this module does not look into (framed and skipped)."""


Body = (
    ProduceRequestBody
    | FetchResponseBody
    | MetadataResponseBody
    | ApiVersionsResponseBody
    | SaslHandshakeRequestBody
    | SaslAuthenticateRequestBody
    | Unparsed
)

_NULL_UUID = "00000000-0000-0000-0000-000000000000"


def _topic_records(
    r: Reader,
    version: int,
    flex: bool,
    min_partition: int,
    partition_fields: Callable[[Reader], None] | None = None,
) -> tuple[TopicRecords, ...]:
    """The topics array that Produce requests and Fetch responses share: a topic (name,
    or id from v13), its partitions (index, the version's own fields read by
    `partition_fields`, then the records bytes), tagged fields in flexible versions.
    `min_partition` is a partition's smallest encoding, bounding the array length."""
    topics: list[TopicRecords] = []
    for _ in range(r.array_len(flex, 2)):
        name = None
        topic_id = None
        if version >= 13:
            topic_id = r.uuid()
        else:
            name = r.string(flex)
        partitions: list[PartitionRecords] = []
        for _ in range(r.array_len(flex, min_partition)):
            index = r.int32()
            if partition_fields is not None:
                partition_fields(r)
            span = r.bytes_span(flex)
            if flex:
                r.skip_tagged_fields()
            partitions.append(PartitionRecords(partition=index, span=span))
        if flex:
            r.skip_tagged_fields()
        topics.append(TopicRecords(name=name, topic_id=topic_id, partitions=tuple(partitions)))
    if flex:
        r.skip_tagged_fields()
    return tuple(topics)


def _produce_request(r: Reader, version: int) -> ProduceRequestBody:
    flex = version >= 9
    if version >= 3:
        r.string(flex)  # transactional id
    acks = r.int16()
    r.int32()  # timeout
    return ProduceRequestBody(acks=acks, topics=_topic_records(r, version, flex, 5))


def _fetch_response(r: Reader, version: int) -> FetchResponseBody:
    flex = version >= 12
    if version >= 1:
        r.int32()  # throttle time
    error_code = 0
    if version >= 7:
        error_code = r.int16()
        r.int32()  # session id

    def partition_fields(r: Reader) -> None:
        r.int16()  # error code
        r.int64()  # high watermark
        if version >= 4:
            r.int64()  # last stable offset
        if version >= 5:
            r.int64()  # log start offset
        if version >= 4:
            for _ in range(r.array_len(flex, 16)):  # aborted transactions
                r.int64()
                r.int64()
                if flex:
                    r.skip_tagged_fields()
        if version >= 11:
            r.int32()  # preferred read replica

    topics = _topic_records(r, version, flex, 14, partition_fields)
    return FetchResponseBody(error_code=error_code, topics=topics)


def _skip_int32_array(r: Reader, flex: bool) -> None:
    r.skip(4 * r.array_len(flex, 4))


def _metadata_response(r: Reader, version: int) -> MetadataResponseBody:
    flex = version >= 9
    if version >= 3:
        r.int32()  # throttle time
    for _ in range(r.array_len(flex, 8)):  # brokers
        r.int32()
        r.string(flex)
        r.int32()
        if version >= 1:
            r.string(flex)  # rack
        if flex:
            r.skip_tagged_fields()
    if version >= 2:
        r.string(flex)  # cluster id
    if version >= 1:
        r.int32()  # controller id
    topics: list[tuple[str | None, str | None]] = []
    for _ in range(r.array_len(flex, 4)):
        r.int16()  # error code
        name = r.string(flex)
        topic_id = None
        if version >= 10:
            topic_id = r.uuid()
            if topic_id == _NULL_UUID:
                topic_id = None
        if version >= 1:
            r.int8()  # is internal
        for _ in range(r.array_len(flex, 10)):
            r.int16()
            r.int32()
            r.int32()
            if version >= 7:
                r.int32()  # leader epoch
            _skip_int32_array(r, flex)  # replicas
            _skip_int32_array(r, flex)  # isr
            if version >= 5:
                _skip_int32_array(r, flex)  # offline replicas
            if flex:
                r.skip_tagged_fields()
        if version >= 8:
            r.int32()  # topic authorized operations
        if flex:
            r.skip_tagged_fields()
        topics.append((name, topic_id))
    # The trailing fields (cluster authorized operations, error code, tags) are not needed.
    return MetadataResponseBody(topics=tuple(topics))


def _api_versions_response(r: Reader, version: int) -> ApiVersionsResponseBody:
    flex = version >= 3
    error_code = r.int16()
    versions: list[tuple[int, int, int]] = []
    for _ in range(r.array_len(flex, 6)):
        key = r.int16()
        low = r.int16()
        high = r.int16()
        if flex:
            r.skip_tagged_fields()
        versions.append((key, low, high))
    return ApiVersionsResponseBody(error_code=error_code, versions=tuple(versions))


def _sasl_handshake_request(r: Reader, version: int) -> SaslHandshakeRequestBody:
    return SaslHandshakeRequestBody(mechanism=r.string(False) or "")


def _sasl_authenticate_request(r: Reader, version: int) -> SaslAuthenticateRequestBody:
    return SaslAuthenticateRequestBody(span=r.bytes_span(version >= 2))


BodyParser = Callable[[Reader, int], Body]

# Api key -> body parser, one table per direction (docs/architecture.md convention 6).
REQUEST_BODIES: dict[int, BodyParser] = {
    PRODUCE: _produce_request,
    SASL_HANDSHAKE: _sasl_handshake_request,
    SASL_AUTHENTICATE: _sasl_authenticate_request,
}
RESPONSE_BODIES: dict[int, BodyParser] = {
    FETCH: _fetch_response,
    METADATA: _metadata_response,
    API_VERSIONS: _api_versions_response,
}


def parse_request_body(api_key: int, version: int, reader: Reader) -> Body:
    parser = REQUEST_BODIES.get(api_key)
    return Unparsed() if parser is None else parser(reader, version)


def parse_response_body(api_key: int, version: int, reader: Reader) -> Body:
    parser = RESPONSE_BODIES.get(api_key)
    return Unparsed() if parser is None else parser(reader, version)
