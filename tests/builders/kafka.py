"""Byte factories for Kafka conversations (kafka-python 3.x protocol classes and record
builders; one hand-encoded flexible Produce v9 to cross-check them against the Kafka
protocol guide, "Protocol Primitive Types" and KIP-482)."""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Sequence
from typing import Any

import cramjam
import kafka.codec
from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from protocols.base import Direction


class _SnappyShim:
    """kafka-python's codec wants python-snappy; cramjam (a project dependency) does it."""

    @staticmethod
    def compress(data: bytes) -> bytes:
        return bytes(cramjam.snappy.compress_raw(bytes(data)))

    @staticmethod
    def decompress(data: bytes) -> bytes:
        return bytes(cramjam.snappy.decompress_raw(bytes(data)))


def install_snappy_shim() -> None:
    if kafka.codec.snappy is None:
        kafka.codec.snappy = _SnappyShim()


install_snappy_shim()

GZIP, SNAPPY, LZ4, ZSTD = 1, 2, 3, 4
CODECS = {"none": 0, "gzip": GZIP, "snappy": SNAPPY, "lz4": LZ4, "zstd": ZSTD}
TOPIC_ID = "6b8f0d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"

Rec = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


# -- records --------------------------------------------------------------------------


def batch_v2(
    records: Sequence[Rec],
    codec: int = 0,
    transactional: bool = False,
    control: bool = False,
    base_offset: int = 0,
) -> bytes:
    """A magic 2 record batch built by kafka-python."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=codec,
        is_transactional=transactional,
        producer_id=1000 if transactional else -1,
        producer_epoch=0 if transactional else -1,
        base_sequence=0 if transactional else -1,
        batch_size=1 << 20,
    )
    for offset, (key, value, headers) in enumerate(records):
        builder.append(offset, timestamp=1_700_000_000_000, key=key, value=value, headers=headers)
    data = bytearray(builder.build())
    # kafka-python keeps a batch uncompressed when compression does not shrink it: a
    # test that asks for a codec must get one, so give it compressible records.
    assert data[22] & 0x07 == codec, "records too small to compress"
    struct.pack_into(">q", data, 0, base_offset)
    if control:
        # Attributes bit 5 marks a control batch (KIP-98); kafka-python does not build
        # them, so the bit is set by hand (the CRC is not checked by the dissector).
        (attributes,) = struct.unpack_from(">h", data, 21)
        struct.pack_into(">h", data, 21, attributes | 0x20)
    return bytes(data)


def message_set(
    records: Sequence[tuple[bytes | None, bytes | None]], magic: int, codec: int = 0
) -> bytes:
    """A legacy message set (magic 0 or 1) built by kafka-python."""
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for offset, (key, value) in enumerate(records):
        builder.append(offset, timestamp=1_700_000_000_000 if magic else None, key=key, value=value)
    data = bytes(builder.build())
    assert data[17] & 0x07 == codec, "records too small to compress"
    return data


def legacy_message(
    magic: int, value: bytes | None, key: bytes | None = None, codec: int = 0
) -> bytes:
    """One hand-made legacy message (offset, size, crc, magic, attributes, ...)."""
    body = struct.pack(">bb", magic, codec)
    if magic == 1:
        body += struct.pack(">q", 1_700_000_000_000)
    for item in (key, value):
        body += struct.pack(">i", -1) if item is None else struct.pack(">i", len(item)) + item
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = struct.pack(">I", crc) + body
    return struct.pack(">qi", 0, len(message)) + message


def compress(codec: int, data: bytes) -> bytes:
    encoders: dict[int, Any] = {
        GZIP: kafka.codec.gzip_encode,
        SNAPPY: kafka.codec.snappy_encode,  # xerial framing, as the Java client writes
        LZ4: kafka.codec.lz4_encode,
        ZSTD: kafka.codec.zstd_encode,
    }
    return bytes(encoders[codec](data))


def nested_wrapper(magic: int, inner_values: Sequence[bytes], codec: int = GZIP) -> bytes:
    """A compressed wrapper whose value holds another compressed wrapper (two levels)."""
    inner = b"".join(legacy_message(magic, value) for value in inner_values)
    middle = legacy_message(magic, compress(codec, inner), codec=codec)
    return legacy_message(magic, compress(codec, middle), codec=codec)


# -- requests and responses -------------------------------------------------------------

Topics = Sequence[tuple[str, Sequence[tuple[int, bytes | None]]]]


def _framed(message: Any, corr: int, client_id: str = "dpi-tests") -> bytes:
    if message.is_request():
        message.with_header(correlation_id=corr, client_id=client_id)
    else:
        message.with_header(correlation_id=corr)
    return bytes(message.encode(header=True, framed=True))


def produce_request(
    version: int, topics: Topics, corr: int, acks: int = 1, topic_ids: dict[str, str] | None = None
) -> bytes:
    P = ProduceRequest
    data = [
        P.TopicProduceData(
            name=name,
            topic_id=uuid.UUID((topic_ids or {}).get(name, TOPIC_ID)),
            partition_data=[
                P.TopicProduceData.PartitionProduceData(index=index, records=records)
                for index, records in partitions
            ],
        )
        for name, partitions in topics
    ]
    return _framed(
        P[version](transactional_id=None, acks=acks, timeout_ms=1500, topic_data=data), corr
    )


def produce_response(version: int, topics: Sequence[str], corr: int) -> bytes:
    R = ProduceResponse
    responses = [
        R.TopicProduceResponse(
            name=name,
            topic_id=uuid.UUID(TOPIC_ID),
            partition_responses=[
                R.TopicProduceResponse.PartitionProduceResponse(
                    index=0,
                    error_code=0,
                    base_offset=0,
                    log_append_time_ms=-1,
                    log_start_offset=0,
                    record_errors=[],
                    error_message=None,
                )
            ],
        )
        for name in topics
    ]
    return _framed(R[version](responses=responses, throttle_time_ms=0), corr)


def fetch_request(
    version: int, topics: Sequence[str], corr: int, topic_ids: dict[str, str] | None = None
) -> bytes:
    F = FetchRequest
    data = [
        F.FetchTopic(
            topic=name,
            topic_id=uuid.UUID((topic_ids or {}).get(name, TOPIC_ID)),
            partitions=[
                F.FetchTopic.FetchPartition(
                    partition=0,
                    current_leader_epoch=-1,
                    fetch_offset=0,
                    last_fetched_epoch=-1,
                    log_start_offset=-1,
                    partition_max_bytes=1 << 20,
                )
            ],
        )
        for name in topics
    ]
    message = F[version](
        replica_id=-1,
        max_wait_ms=500,
        min_bytes=1,
        max_bytes=1 << 24,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=data,
        forgotten_topics_data=[],
        rack_id="",
    )
    return _framed(message, corr)


def fetch_response(
    version: int, topics: Topics, corr: int, topic_ids: dict[str, str] | None = None
) -> bytes:
    F = FetchResponse
    responses = [
        F.FetchableTopicResponse(
            topic=name,
            topic_id=uuid.UUID((topic_ids or {}).get(name, TOPIC_ID)),
            partitions=[
                F.FetchableTopicResponse.PartitionData(
                    partition_index=index,
                    error_code=0,
                    high_watermark=10,
                    last_stable_offset=10,
                    log_start_offset=0,
                    aborted_transactions=[],
                    preferred_read_replica=-1,
                    records=records,
                )
                for index, records in partitions
            ],
        )
        for name, partitions in topics
    ]
    message = F[version](throttle_time_ms=0, error_code=0, session_id=0, responses=responses)
    return _framed(message, corr)


def metadata_request(version: int, topics: Sequence[str], corr: int) -> bytes:
    M = MetadataRequest
    message = M[version](
        topics=[M.MetadataRequestTopic(name=name, topic_id=uuid.UUID(int=0)) for name in topics],
        allow_auto_topic_creation=False,
        include_cluster_authorized_operations=False,
        include_topic_authorized_operations=False,
    )
    return _framed(message, corr)


def metadata_response(version: int, topics: dict[str, str], corr: int) -> bytes:
    M = MetadataResponse
    message = M[version](
        throttle_time_ms=0,
        brokers=[M.MetadataResponseBroker(node_id=1, host="broker.test", port=9092, rack=None)],
        cluster_id="cluster-1",
        controller_id=1,
        topics=[
            M.MetadataResponseTopic(
                error_code=0,
                name=name,
                topic_id=uuid.UUID(topic_id),
                is_internal=False,
                partitions=[
                    M.MetadataResponseTopic.MetadataResponsePartition(
                        error_code=0,
                        partition_index=0,
                        leader_id=1,
                        leader_epoch=0,
                        replica_nodes=[1],
                        isr_nodes=[1],
                        offline_replicas=[],
                    )
                ],
                authorized_operations=set(),
            )
            for name, topic_id in topics.items()
        ],
        authorized_operations=set(),
        error_code=0,
    )
    return _framed(message, corr)


def api_versions_request(version: int, corr: int) -> bytes:
    message = ApiVersionsRequest[version](
        client_software_name="dpi-tests", client_software_version="1.0"
    )
    return _framed(message, corr)


def api_versions_response(version: int, corr: int) -> bytes:
    A = ApiVersionsResponse
    keys = [
        A.ApiVersion(api_key=key, min_version=0, max_version=high)
        for key, high in ((0, 11), (1, 17), (3, 12), (18, 4))
    ]
    message = A[version](error_code=0, api_keys=keys, throttle_time_ms=0)
    return _framed(message, corr)


def raw_request(
    api_key: int, version: int, corr: int, body: bytes = b"", client_id: bytes = b"dpi"
) -> bytes:
    """A hand-made non-flexible request (header v1) for keys the builders do not cover."""
    message = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id + body
    return struct.pack(">i", len(message)) + message


def raw_response(corr: int, body: bytes = b"") -> bytes:
    message = struct.pack(">i", corr) + body
    return struct.pack(">i", len(message)) + message


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def hand_produce_v9(topic: str, records: bytes, corr: int, client_id: str = "dpi-tests") -> bytes:
    """Produce v9 encoded by hand from the guide: header v2, compact strings/arrays/bytes
    (length + 1 as an unsigned varint), an empty tagged-field section after each struct."""
    header = struct.pack(">hhih", 0, 9, corr, len(client_id)) + client_id.encode() + b"\x00"
    body = b"\x00"  # transactional id: compact nullable string, null
    body += struct.pack(">hi", 1, 1500)  # acks, timeout
    body += _uvarint(2)  # one topic
    body += _uvarint(len(topic) + 1) + topic.encode()
    body += _uvarint(2)  # one partition
    body += struct.pack(">i", 0) + _uvarint(len(records) + 1) + records + b"\x00"
    body += b"\x00"  # topic tagged fields
    body += b"\x00"  # request tagged fields
    message = header + body
    return struct.pack(">i", len(message)) + message


# -- the contract conversation ------------------------------------------------------------

PII_VALUE = (
    b'{"customer": {"email": "jane.doe@example.com", "phone": "+1 202 555 0143"},'
    b' "card": {"number": "4111111111111111"}}'
)


def contract_conversation() -> list[tuple[Direction, bytes]]:
    """A short valid conversation: versions, metadata with a topic id, a gzip Produce v9
    with a header, a Fetch v13 by topic id answered with lz4 records, a heartbeat."""
    headers = [("trace-id", b"abc-123")]
    produced = batch_v2([(b"user-1", PII_VALUE, headers)] * 3, codec=GZIP)
    fetched = batch_v2([(b"user-1", PII_VALUE, headers)] * 3, codec=LZ4)
    ids = {"orders": TOPIC_ID}
    return [
        (Direction.REQUEST, api_versions_request(3, 1)),
        (Direction.RESPONSE, api_versions_response(3, 1)),
        (Direction.REQUEST, metadata_request(12, ["orders"], 2)),
        (Direction.RESPONSE, metadata_response(12, ids, 2)),
        (Direction.REQUEST, produce_request(9, [("orders", [(0, produced)])], 3)),
        (Direction.RESPONSE, produce_response(9, ["orders"], 3)),
        (Direction.REQUEST, fetch_request(13, ["orders"], 4, ids)),
        (Direction.RESPONSE, fetch_response(13, [("orders", [(0, fetched)])], 4, ids)),
        (Direction.REQUEST, raw_request(12, 0, 5, b"\x00\x01g\x00\x00\x00\x01\x00\x01m")),
        (Direction.RESPONSE, raw_response(5, b"\x00\x00")),
    ]
