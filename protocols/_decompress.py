"""Bounded decompression of one payload, shared by every dissector that meets codings:
HTTP `Content-Encoding` (RFC 9110 section 8.4.1: gzip, x-gzip, deflate, br, zstd), Kafka
record-batch codecs (gzip, snappy, lz4, zstd) and MySQL's compressed protocol (zlib).

Supported codings (names are lower-case, `x-gzip` is an alias of `gzip`, RFC 9110 section
8.4.1.3):
- `gzip` (RFC 1952), several members concatenated;
- `deflate`: the zlib format of RFC 1950 as RFC 9110 section 8.4.1.2 says, and the raw
  RFC 1951 stream that some servers send instead; `zlib` is the RFC 1950 format only;
- `br` (RFC 7932), `zstd` (RFC 8878);
- `snappy`: raw snappy, the framing format (`sNaPpY` stream identifier) and Kafka's
  xerial framing (`\\x82SNAPPY\\x00` header, big-endian length-prefixed blocks);
- `lz4`: the LZ4 frame format (Kafka's pre-0.10 broken lz4 framing is not supported);
- `identity`: no change.

Every coding is decoded with bounded output: never more than
`Limits.max_decompressed_bytes`, nor more than `Limits.max_compression_ratio` times the
input once past `RATIO_FLOOR_BYTES`. Not supported: `compress` (LZW), checksum
verification of snappy frames.

Errors never quote data: `DecompressionBomb` (a limit was hit), `CorruptData` (the
bytes are not valid for the coding), `UnsupportedCoding`; all are `DecompressionError`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

# cramjam (brotli, snappy, lz4) and zstd are imported by the codecs that use them: most
# scans never meet these codings (tests/test_import_weight.py).

if TYPE_CHECKING:  # annotations only: protocols.base must not import back (no circle)
    from protocols.base import Limits

# Below this output size the ratio is not judged: small repetitive bodies (a JSON array
# of identical objects) legitimately compress far better than 200:1.
RATIO_FLOOR_BYTES = 1024 * 1024
# Input fed to a streaming decompressor per step, so that output is checked often.
_STEP = 64 * 1024
# Stacked codings allowed on one body (RFC 9110 allows a list; more than a few is abuse).
MAX_STACKED_CODINGS = 4


class DecompressionError(ValueError):
    """The payload could not be decompressed. Messages name sizes, never content."""


class DecompressionBomb(DecompressionError):
    """The output would exceed the size or ratio limit."""


class CorruptData(DecompressionError):
    """The input is not valid for its coding."""


class UnsupportedCoding(DecompressionError):
    """A coding this module does not know."""


def output_budget(input_size: int, limits: Limits) -> int:
    """Most bytes that `input_size` compressed bytes may expand to."""
    by_ratio = max(RATIO_FLOOR_BYTES, input_size * limits.max_compression_ratio)
    return min(limits.max_decompressed_bytes, by_ratio)


def _bomb(budget: int) -> DecompressionBomb:
    return DecompressionBomb(f"output exceeds the limit of {budget} bytes")


def _zlib_stream(data: bytes, wbits: int, budget: int, multi_member: bool) -> bytes:
    out: list[bytes] = []
    total = 0
    rest = data
    while True:
        obj = zlib.decompressobj(wbits)
        pending = rest
        try:
            while pending and not obj.eof:
                # max_length bounds each step's output; unconsumed_tail keeps the rest.
                chunk = obj.decompress(pending, budget - total + 1)
                total += len(chunk)
                if total > budget:
                    raise _bomb(budget)
                out.append(chunk)
                pending = obj.unconsumed_tail
            if not obj.eof:
                chunk = obj.flush()
                total += len(chunk)
                if total > budget:
                    raise _bomb(budget)
                out.append(chunk)
                raise CorruptData("compressed stream is truncated")
        except zlib.error as exc:
            raise CorruptData("invalid compressed stream") from exc
        rest = obj.unused_data
        # Concatenated gzip members decode as one (RFC 1952 section 2.2); trailing zero
        # padding after the last member is tolerated, as gzip(1) does.
        if not multi_member or not rest or not rest.strip(b"\x00"):
            break
    return b"".join(out)


def _gzip(data: bytes, budget: int) -> bytes:
    return _zlib_stream(data, 16 + zlib.MAX_WBITS, budget, multi_member=True)


def _zlib(data: bytes, budget: int) -> bytes:
    return _zlib_stream(data, zlib.MAX_WBITS, budget, multi_member=False)


def _deflate(data: bytes, budget: int) -> bytes:
    # RFC 9110 says zlib-wrapped; a zlib header is 2 bytes whose big-endian value is a
    # multiple of 31 with method 8. Anything else is taken as raw deflate.
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        try:
            return _zlib_stream(data, zlib.MAX_WBITS, budget, multi_member=False)
        except CorruptData:
            pass
    return _zlib_stream(data, -zlib.MAX_WBITS, budget, multi_member=False)


# cramjam reports an output buffer too small for the data with this message (Rust's
# `io::ErrorKind::WriteZero`); any other error is invalid input.
_BUFFER_FULL = "failed to write whole buffer"
# First output buffer for a cramjam one-shot decode, as a multiple of the input size.
_FIRST_GUESS_RATIO = 8


def _cramjam_bounded(decompress_into: Callable[[bytes, bytearray], int], data: bytes,
                     budget: int, name: str) -> bytes:
    """One-shot cramjam decoding (brotli, lz4 frame) into a buffer of at most `budget`
    + 1 bytes: cramjam stops writing when the buffer is full, so a bomb never expands
    past it. The buffer starts small and doubles (each try decodes again from the
    start: at most twice the work of the final size)."""
    size = min(budget + 1, max(_STEP, len(data) * _FIRST_GUESS_RATIO))
    while True:
        out = bytearray(size)
        try:
            written = decompress_into(data, out)
        except Exception as exc:  # cramjam raises its own DecompressionError type
            if _BUFFER_FULL not in str(exc):
                raise CorruptData(f"invalid {name} stream") from exc
            written = size
        if written < size:
            return bytes(out[:written])
        if size > budget:
            raise _bomb(budget)
        size = min(budget + 1, size * 2)


def _brotli(data: bytes, budget: int) -> bytes:
    # A truncated brotli stream is an error in cramjam too (`Invalid Data`).
    import cramjam

    return _cramjam_bounded(cramjam.brotli.decompress_into, data, budget, "brotli")


def _zstd(data: bytes, budget: int) -> bytes:
    from protocols._zstd import zstd

    out: list[bytes] = []
    total = 0
    rest = data
    try:
        # Several frames may follow each other (zstd(1) concatenation): one
        # decompressor per frame, the next one starting on the unused data.
        while rest:
            dec = zstd.ZstdDecompressor()
            pending = rest
            while not dec.eof:
                chunk = dec.decompress(pending, max_length=budget - total + 1)
                pending = b""
                total += len(chunk)
                if total > budget:
                    raise _bomb(budget)
                out.append(chunk)
                if dec.needs_input and not dec.eof:
                    raise CorruptData("zstd stream is truncated")
            rest = dec.unused_data
    except zstd.ZstdError as exc:
        raise CorruptData("invalid zstd stream") from exc
    return b"".join(out)


def _snappy_raw(data: bytes, budget: int) -> bytes:
    # The raw format starts with the uncompressed length as a varint: check it first,
    # so that nothing is allocated for a bomb.
    length = 0
    for shift, byte in zip(range(0, 35, 7), data[:5], strict=False):
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    else:
        raise CorruptData("invalid snappy length")
    if length > budget:
        raise _bomb(budget)
    import cramjam

    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except Exception as exc:  # cramjam raises its own DecompressionError type
        raise CorruptData("invalid snappy block") from exc


_SNAPPY_FRAMED = b"\xff\x06\x00\x00sNaPpY"
_SNAPPY_XERIAL = b"\x82SNAPPY\x00"


def _snappy_framed(data: bytes, budget: int) -> bytes:
    # Framing format (google/snappy framing_format.txt): 1-byte type, 3-byte LE length.
    out: list[bytes] = []
    total = 0
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise CorruptData("snappy frame header is truncated")
        kind = data[pos]
        size = data[pos + 1] | data[pos + 2] << 8 | data[pos + 3] << 16
        body = data[pos + 4 : pos + 4 + size]
        if len(body) < size:
            raise CorruptData("snappy frame is truncated")
        pos += 4 + size
        if kind == 0x00:  # compressed: 4-byte masked CRC, then a raw block
            chunk = _snappy_raw(body[4:], budget - total)
        elif kind == 0x01:  # uncompressed: 4-byte masked CRC, then the data
            chunk = body[4:]
        elif kind == 0xFF or 0x80 <= kind <= 0xFE:  # stream identifier, padding, skippable
            continue
        else:
            raise CorruptData("reserved snappy frame type")
        total += len(chunk)
        if total > budget:
            raise _bomb(budget)
        out.append(chunk)
    return b"".join(out)


def _snappy_xerial(data: bytes, budget: int) -> bytes:
    # Header: magic (8), version (4), compatible version (4); then blocks of a 4-byte
    # big-endian length and a raw snappy block (as Kafka's Java clients write).
    out: list[bytes] = []
    total = 0
    pos = 16
    while pos < len(data):
        if pos + 4 > len(data):
            raise CorruptData("snappy block header is truncated")
        (size,) = struct.unpack_from(">I", data, pos)
        block = data[pos + 4 : pos + 4 + size]
        if len(block) < size:
            raise CorruptData("snappy block is truncated")
        pos += 4 + size
        chunk = _snappy_raw(block, budget - total)
        total += len(chunk)
        out.append(chunk)
    return b"".join(out)


def _snappy(data: bytes, budget: int) -> bytes:
    if data.startswith(_SNAPPY_FRAMED):
        return _snappy_framed(data, budget)
    if data.startswith(_SNAPPY_XERIAL):
        return _snappy_xerial(data, budget)
    return _snappy_raw(data, budget)


def _lz4(data: bytes, budget: int) -> bytes:
    # The LZ4 frame format; a truncated frame is an error in cramjam.
    import cramjam

    return _cramjam_bounded(cramjam.lz4.decompress_into, data, budget, "lz4")


def _identity(data: bytes, budget: int) -> bytes:
    return data


_CODECS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "zlib": _zlib,
    "br": _brotli,
    "zstd": _zstd,
    "snappy": _snappy,
    "lz4": _lz4,
    "identity": _identity,
}


def supported(coding: str) -> bool:
    return coding.strip().lower() in _CODECS


def decompress(data: bytes, coding: str, limits: Limits) -> bytes:
    """`data` decoded from `coding`, or a `DecompressionError`."""
    codec = _CODECS.get(coding.strip().lower())
    if codec is None:
        raise UnsupportedCoding("unsupported coding")
    return codec(data, output_budget(len(data), limits))


def decode_content(data: bytes, codings: list[str], limits: Limits) -> bytes:
    """Undo a list of codings given in the order they were applied (RFC 9110 section
    8.4: `Content-Encoding: gzip, br` was gzipped first, so br is undone first)."""
    if len(codings) > MAX_STACKED_CODINGS:
        raise UnsupportedCoding("too many stacked codings")
    for coding in reversed(codings):
        data = decompress(data, coding, limits)
    return data
