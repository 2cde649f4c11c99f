"""What the Kafka probe checks, shared with the connection's framing (`_session.py`):
the api keys and their versions (the protocol guide's "Api Keys" and the JSON message
definitions) and the size and header of a plausible request or response.

Apart from the body layouts (`_apis.py`) and the session, which load only once a
connection is Kafka: the probe runs on every connection of a scan, Kafka or not
(tests/test_import_weight.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


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


PROTOCOL = "kafka"
# Longest client id a plausible request header carries (Kafka clients use short ids;
# the protocol allows 32767, but a probe must reject random bytes).
MAX_CLIENT_ID = 1024
# Bytes of a request header a probe or resync needs: size, api key, version,
# correlation id, client id length.
REQUEST_PROBE_BYTES = 14
# Smallest request: api key, version, correlation id and a client id length.
MIN_REQUEST_SIZE = 10
# Largest frame size believed when recognising a connection or finding a message start
# again. Brokers accept requests up to socket.request.max.bytes (100 MiB by default,
# raised on some clusters) and fetch responses can be larger still, so a frame over
# `max_buffer_bytes` is real Kafka: it identifies the flow and is skipped by count
# (`message_too_large`), never buffered.
MAX_WIRE_FRAME = 1 << 30
# Smallest response: a correlation id.
MIN_RESPONSE_SIZE = 4

I32 = struct.Struct(">i")
REQ_HEAD = struct.Struct(">ihhih")  # size, api key, version, correlation id, client id len
RESP_HEAD = struct.Struct(">ii")  # size, correlation id


def plausible_request(
    data: bytes | bytearray, pos: int, max_size: int, strict: bool = False
) -> bool | None:
    """Does a request header start at `pos`? None: not enough bytes to say.

    `strict` is for resyncing inside a stream, where zero-filled record bytes look like
    a Produce v0 header with an empty client id: it wants a non-empty client id, all
    of it present and printable.
    """
    if len(data) - pos < REQUEST_PROBE_BYTES:
        return None
    size, key, version, corr, client_len = REQ_HEAD.unpack_from(data, pos)
    if not MIN_REQUEST_SIZE <= size <= max_size:
        return False
    if not plausible_version(key, version) or corr < 0:
        return False
    if client_len == -1:
        return not strict
    if not (1 if strict else 0) <= client_len <= MAX_CLIENT_ID:
        return False
    if client_len + MIN_REQUEST_SIZE > size:
        return False
    # The client id is printable ASCII in every client seen; check what is there.
    start = pos + REQUEST_PROBE_BYTES
    sample = data[start : start + min(client_len, len(data) - start)]
    if strict and len(sample) < client_len:
        return None
    return all(0x20 <= byte < 0x7F for byte in sample)
