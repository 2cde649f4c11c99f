"""Kafka `records` fields -> our own `Record` tuples (the only module importing kafka-python).

Spec: the Kafka protocol guide, "Record Batch" and "Message Sets" (kafka.apache.org/
documentation/#messageformat): legacy message sets with magic 0 and 1 (KIP-32
timestamps), record batches with magic 2 (KIP-98: varint records, headers, producer ids,
transactional and control batches), compression codecs 1 gzip, 2 snappy (raw or xerial
framed), 3 lz4 (frame format), 4 zstd (KIP-110).

What is reused from kafka-python 3.x and why:
- `kafka.record.default_records.DefaultRecordBatch` parses the varint records of a magic 2
  batch (record length, attributes, deltas, key, value, headers). It is sound for that
  part, but it would decompress through `kafka.codec`, which is unbounded (gzip and zstd
  read everything) and needs python-snappy for snappy. So this module decompresses the
  batch itself, bounded, with `protocols._decompress`, and hands kafka-python an
  uncompressed copy of the batch (codec bits cleared).
- Not reused: `MemoryRecords` (it slices batches but stops silently on a partial batch
  without saying so) and `LegacyRecordBatch` (it validates with `assert`, decompresses
  unbounded and refuses nested wrappers). Legacy messages are read here with `struct`.

Limits: `Limits.max_records` records per `records` field; decompression is bounded per
call by `protocols._decompress` (size and ratio) and in total per field by
`Limits.max_decompressed_bytes`; wrapper nesting by `MAX_WRAPPER_DEPTH`.

Not supported: CRC verification (CRC-32C in pure Python would cost more than the rest
of the parse; a damaged record shows up as a structure error instead), Kafka 0.8/0.9's
lz4 framing with the wrong header checksum (magic 0 + lz4: reported, skipped).
Errors never carry payload bytes: problems are returned as anomaly kinds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from protocols._decompress import DecompressionBomb, DecompressionError, decompress
from protocols.base import Limits

# Offset (int64) + length (int32): the prefix shared by every message-set entry and batch.
_LOG_OVERHEAD = struct.Struct(">qi")
# Legacy message after the log overhead: crc, magic, attributes (magic 1 adds a timestamp).
_LEGACY_V0 = struct.Struct(">Ibb")
_LEGACY_V1 = struct.Struct(">Ibbq")
_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")
# Magic sits at the same offset in every format: after offset, length, crc/leader epoch.
_MAGIC_OFFSET = 16
# Magic 2 batch header size and the attributes / record count offsets inside it.
_V2_HEADER_SIZE = 61
_V2_ATTRIBUTES_OFFSET = 21
_CODEC_MASK = 0x07
_CONTROL_MASK = 0x20
_CODEC_NAMES = {1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
# Kafka writes at most one level of compressed wrapper (a compressed message whose value
# is a message set). Some old producers nested one more; deeper is abuse.
MAX_WRAPPER_DEPTH = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One record: key, value and headers as they were produced (None = null)."""

    key: bytes | None = field(repr=False)
    value: bytes | None = field(repr=False)
    headers: tuple[tuple[str, bytes | None], ...] = field(repr=False, default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class Records:
    """What one `records` field held, and the anomaly kinds met on the way."""

    records: tuple[Record, ...]
    anomalies: tuple[str, ...]


@dataclass(slots=True)
class _State:
    records: list[Record]
    anomalies: list[str]
    max_records: int
    decompressed_budget: int
    limits: Limits

    def full(self) -> bool:
        return len(self.records) >= self.max_records

    def note(self, kind: str) -> None:
        if kind not in self.anomalies:
            self.anomalies.append(kind)


def parse_records(data: bytes | memoryview, limits: Limits) -> Records:
    """Records of one Produce/Fetch `records` field (message set or record batches).

    A batch cut at the end is normal in Fetch responses (brokers send up to the byte
    limit) and is reported as `partial_record_batch`, as in Kafka's own consumer.
    """
    state = _State(
        records=[],
        anomalies=[],
        max_records=limits.max_records,
        decompressed_budget=limits.max_decompressed_bytes,
        limits=limits,
    )
    _walk(bytes(data), state, 0)
    return Records(records=tuple(state.records), anomalies=tuple(state.anomalies))


def _walk(buf: bytes, state: _State, depth: int) -> None:
    pos = 0
    end = len(buf)
    while pos < end:
        if state.full():
            state.note("max_records")
            return
        if end - pos < _LOG_OVERHEAD.size + 5:
            state.note("partial_record_batch")
            return
        _offset, length = _LOG_OVERHEAD.unpack_from(buf, pos)
        entry_end = pos + _LOG_OVERHEAD.size + length
        if length < 6:
            state.note("corrupt_records")
            return
        if entry_end > end:
            state.note("partial_record_batch")
            return
        magic = buf[pos + _MAGIC_OFFSET]
        if magic == 2:
            _batch_v2(buf[pos:entry_end], state)
        elif magic in (0, 1):
            _legacy_message(buf, pos, entry_end, magic, state, depth)
        else:
            state.note("unknown_record_magic")
            return
        pos = entry_end


def _bounded_decompress(codec: int, data: bytes, state: _State) -> bytes | None:
    name = _CODEC_NAMES.get(codec)
    if name is None:
        state.note("unknown_codec")
        return None
    try:
        out = decompress(data, name, state.limits)
    except DecompressionBomb:
        state.note("decompression_bomb")
        return None
    except DecompressionError:
        state.note("decompression_failed")
        return None
    # The per-call budget is in `_decompress`; this one caps a whole `records` field
    # whose many small batches would each pass on their own.
    state.decompressed_budget -= len(out)
    if state.decompressed_budget < 0:
        state.note("decompression_bomb")
        return None
    return out


def _legacy_message(buf: bytes, pos: int, end: int, magic: int, state: _State, depth: int) -> None:
    head = _LEGACY_V1 if magic == 1 else _LEGACY_V0
    cursor = pos + _LOG_OVERHEAD.size
    if cursor + head.size + 8 > end:
        state.note("corrupt_records")
        return
    attributes = head.unpack_from(buf, cursor)[2]
    cursor += head.size
    key, cursor = _legacy_bytes(buf, cursor, end)
    if cursor < 0:
        state.note("corrupt_records")
        return
    value, cursor = _legacy_bytes(buf, cursor, end)
    if cursor < 0:
        state.note("corrupt_records")
        return
    codec = attributes & _CODEC_MASK
    if codec == 0:
        state.records.append(Record(key=key, value=value))
        return
    # A compressed wrapper: its value is a whole message set.
    if depth >= MAX_WRAPPER_DEPTH:
        state.note("nested_wrapper_depth")
        return
    if value is None:
        state.note("corrupt_records")
        return
    if codec == 3 and magic == 0:
        # Kafka 0.8/0.9 wrote lz4 frames with a wrong header checksum; not supported.
        state.note("decompression_failed")
        return
    inner = _bounded_decompress(codec, value, state)
    if inner is not None:
        _walk(inner, state, depth + 1)


def _legacy_bytes(buf: bytes, cursor: int, end: int) -> tuple[bytes | None, int]:
    """BYTES with an int32 length (-1 = null); cursor -1 on a bad length."""
    if cursor + 4 > end:
        return None, -1
    (size,) = _I32.unpack_from(buf, cursor)
    cursor += 4
    if size == -1:
        return None, cursor
    if size < 0 or cursor + size > end:
        return None, -1
    return buf[cursor : cursor + size], cursor + size


def _batch_v2(batch: bytes, state: _State) -> None:
    if len(batch) < _V2_HEADER_SIZE:
        state.note("corrupt_records")
        return
    (attributes,) = _I16.unpack_from(batch, _V2_ATTRIBUTES_OFFSET)
    if attributes & _CONTROL_MASK:
        # Control batches carry transaction markers (commit/abort), not user data.
        return
    codec = attributes & _CODEC_MASK
    if codec:
        body = _bounded_decompress(codec, batch[_V2_HEADER_SIZE:], state)
        if body is None:
            return
        # Hand kafka-python an uncompressed batch: same header, codec bits cleared.
        batch = (
            batch[:_V2_ATTRIBUTES_OFFSET]
            + _I16.pack(attributes & ~_CODEC_MASK)
            + batch[_V2_ATTRIBUTES_OFFSET + 2 : _V2_HEADER_SIZE]
            + body
        )
    # kafka-python loads in ~150 ms (its client, admin and codec modules come along):
    # imported here, when a record batch is decoded, not on every scan.
    from kafka.errors import CorruptRecordError
    from kafka.record.default_records import DefaultRecordBatch

    try:
        for record in DefaultRecordBatch(batch):
            if state.full():
                state.note("max_records")
                return
            headers = tuple((str(k), None if v is None else bytes(v)) for k, v in record.headers)
            key = record.key
            value = record.value
            state.records.append(
                Record(
                    key=None if key is None else bytes(key),
                    value=None if value is None else bytes(value),
                    headers=headers,
                )
            )
    except (CorruptRecordError, ValueError, IndexError, struct.error):
        # kafka-python raises CorruptRecordError for structure errors, but lets
        # IndexError/struct.error through on a truncated header and ValueError on a
        # header key that is not UTF-8. Records read before the error are kept.
        state.note("corrupt_records")
