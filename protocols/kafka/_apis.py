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

from protocols.kafka._wire import Reader

PRODUCE = 0
FETCH = 1
METADATA = 3
SASL_HANDSHAKE = 17
API_VERSIONS = 18
SASL_AUTHENTICATE = 36


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiInfo:
    """One api key: its name, the highest version known here and its first flexible one."""

    name: str
    max_version: int
    first_flexible: int | None  # None: no flexible version exists


def _api(name: str, max_version: int, first_flexible: int | None) -> ApiInfo:
    return ApiInfo(name=name, max_version=max_version, first_flexible=first_flexible)


# Api key -> versions, from the protocol guide and the JSON definitions of Kafka 4.1.
# Version 0 is accepted for every key: old clients and brokers still send versions that
# newer definitions dropped (Produce v0-v2, Fetch v0-v3 are in the shared captures).
API_TABLE: dict[int, ApiInfo] = {
    0: _api("Produce", 13, 9),
    1: _api("Fetch", 18, 12),
    2: _api("ListOffsets", 11, 6),
    3: _api("Metadata", 13, 9),
    4: _api("LeaderAndIsr", 7, 4),
    5: _api("StopReplica", 4, 2),
    6: _api("UpdateMetadata", 8, 6),
    7: _api("ControlledShutdown", 3, 3),
    8: _api("OffsetCommit", 10, 8),
    9: _api("OffsetFetch", 10, 6),
    10: _api("FindCoordinator", 6, 3),
    11: _api("JoinGroup", 9, 6),
    12: _api("Heartbeat", 4, 4),
    13: _api("LeaveGroup", 5, 4),
    14: _api("SyncGroup", 5, 4),
    15: _api("DescribeGroups", 6, 5),
    16: _api("ListGroups", 5, 3),
    17: _api("SaslHandshake", 1, None),
    18: _api("ApiVersions", 4, 3),
    19: _api("CreateTopics", 7, 5),
    20: _api("DeleteTopics", 6, 4),
    21: _api("DeleteRecords", 2, 2),
    22: _api("InitProducerId", 6, 2),
    23: _api("OffsetForLeaderEpoch", 4, 4),
    24: _api("AddPartitionsToTxn", 5, 3),
    25: _api("AddOffsetsToTxn", 4, 3),
    26: _api("EndTxn", 5, 3),
    27: _api("WriteTxnMarkers", 2, 1),
    28: _api("TxnOffsetCommit", 5, 3),
    29: _api("DescribeAcls", 3, 2),
    30: _api("CreateAcls", 3, 2),
    31: _api("DeleteAcls", 3, 2),
    32: _api("DescribeConfigs", 4, 4),
    33: _api("AlterConfigs", 2, 2),
    34: _api("AlterReplicaLogDirs", 2, 2),
    35: _api("DescribeLogDirs", 5, 2),
    36: _api("SaslAuthenticate", 2, 2),
    37: _api("CreatePartitions", 3, 2),
    38: _api("CreateDelegationToken", 3, 2),
    39: _api("RenewDelegationToken", 2, 2),
    40: _api("ExpireDelegationToken", 2, 2),
    41: _api("DescribeDelegationToken", 3, 2),
    42: _api("DeleteGroups", 2, 2),
    43: _api("ElectLeaders", 2, 2),
    44: _api("IncrementalAlterConfigs", 1, 1),
    45: _api("AlterPartitionReassignments", 1, 0),
    46: _api("ListPartitionReassignments", 0, 0),
    47: _api("OffsetDelete", 0, None),
    48: _api("DescribeClientQuotas", 1, 1),
    49: _api("AlterClientQuotas", 1, 1),
    50: _api("DescribeUserScramCredentials", 0, 0),
    51: _api("AlterUserScramCredentials", 0, 0),
    52: _api("Vote", 2, 0),
    53: _api("BeginQuorumEpoch", 1, 1),
    54: _api("EndQuorumEpoch", 1, 1),
    55: _api("DescribeQuorum", 2, 0),
    56: _api("AlterPartition", 3, 0),
    57: _api("UpdateFeatures", 2, 0),
    58: _api("Envelope", 0, 0),
    59: _api("FetchSnapshot", 1, 0),
    60: _api("DescribeCluster", 2, 0),
    61: _api("DescribeProducers", 0, 0),
    62: _api("BrokerRegistration", 4, 0),
    63: _api("BrokerHeartbeat", 1, 0),
    64: _api("UnregisterBroker", 0, 0),
    65: _api("DescribeTransactions", 0, 0),
    66: _api("ListTransactions", 2, 0),
    67: _api("AllocateProducerIds", 0, 0),
    68: _api("ConsumerGroupHeartbeat", 1, 0),
    69: _api("ConsumerGroupDescribe", 1, 0),
    70: _api("ControllerRegistration", 0, 0),
    71: _api("GetTelemetrySubscriptions", 0, 0),
    72: _api("PushTelemetry", 0, 0),
    73: _api("AssignReplicasToDirs", 0, 0),
    74: _api("ListConfigResources", 1, 0),
    75: _api("DescribeTopicPartitions", 0, 0),
    76: _api("ShareGroupHeartbeat", 1, 0),
    77: _api("ShareGroupDescribe", 1, 0),
    78: _api("ShareFetch", 1, 0),
    79: _api("ShareAcknowledge", 1, 0),
    80: _api("AddRaftVoter", 0, 0),
}

# Clients newer than this table may send a version or two beyond its maximum; the probe
# and the header check accept that much headroom, body parsers do not guess layouts.
VERSION_HEADROOM = 2


def is_flexible(api_key: int, version: int) -> bool:
    info = API_TABLE.get(api_key)
    return info is not None and info.first_flexible is not None and version >= info.first_flexible


def plausible_version(api_key: int, version: int) -> bool:
    info = API_TABLE.get(api_key)
    return info is not None and 0 <= version <= info.max_version + VERSION_HEADROOM


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
