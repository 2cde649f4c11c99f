"""Bounded decompression for every coding (protocols/_decompress.py)."""

from __future__ import annotations

import gzip
import zlib

import brotli
import cramjam
import lz4.frame
import pytest
import zstandard

from protocols._decompress import (
    CorruptData,
    DecompressionBomb,
    UnsupportedCoding,
    decode_content,
    decompress,
)
from protocols.base import Limits

PAYLOAD = b'{"email": "a@example.test", "n": 1}' * 200


def raw_deflate(data: bytes) -> bytes:
    obj = zlib.compressobj(wbits=-15)
    return obj.compress(data) + obj.flush()


def xerial(data: bytes) -> bytes:
    header = b"\x82SNAPPY\x00" + (1).to_bytes(4, "big") + (1).to_bytes(4, "big")
    block = bytes(cramjam.snappy.compress_raw(data))
    return header + len(block).to_bytes(4, "big") + block


ENCODERS = {
    "gzip": lambda d: gzip.compress(d),
    "x-gzip": lambda d: gzip.compress(d),
    "deflate": zlib.compress,
    "zlib": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
    "lz4": lz4.frame.compress,
    "snappy": lambda d: bytes(cramjam.snappy.compress_raw(d)),
    "identity": lambda d: d,
}


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_roundtrip_each_coding(coding: str) -> None:
    assert decompress(ENCODERS[coding](PAYLOAD), coding, Limits()) == PAYLOAD


def test_coding_name_case_and_spaces() -> None:
    assert decompress(gzip.compress(PAYLOAD), " GZIP ", Limits()) == PAYLOAD


def test_deflate_raw_stream_accepted() -> None:
    assert decompress(raw_deflate(PAYLOAD), "deflate", Limits()) == PAYLOAD


def test_gzip_concatenated_members() -> None:
    data = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert decompress(data, "gzip", Limits()) == b"abcd"


@pytest.mark.parametrize("framing", ["framed", "xerial"])
def test_snappy_framings(framing: str) -> None:
    data = bytes(cramjam.snappy.compress(PAYLOAD)) if framing == "framed" else xerial(PAYLOAD)
    assert decompress(data, "snappy", Limits()) == PAYLOAD


def test_stacked_codings_reverse_order() -> None:
    data = brotli.compress(gzip.compress(PAYLOAD))
    assert decode_content(data, ["gzip", "br"], Limits()) == PAYLOAD


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd", "lz4", "snappy"])
def test_bomb_stopped_by_size_limit(coding: str) -> None:
    zeros = bytes(4 * 1024 * 1024)
    encoders = {**ENCODERS, "snappy": lambda d: bytes(cramjam.snappy.compress_raw(d))}
    limits = Limits(max_decompressed_bytes=1024 * 1024, max_compression_ratio=10**6)
    with pytest.raises(DecompressionBomb):
        decompress(encoders[coding](zeros), coding, limits)


def test_bomb_stopped_by_ratio_past_floor() -> None:
    zeros = bytes(8 * 1024 * 1024)
    with pytest.raises(DecompressionBomb):
        decompress(gzip.compress(zeros), "gzip", Limits(max_compression_ratio=100))


def test_small_repetitive_body_under_floor_is_not_a_bomb() -> None:
    data = b"a" * 500_000
    assert decompress(gzip.compress(data), "gzip", Limits(max_compression_ratio=2)) == data


@pytest.mark.parametrize("coding", ["gzip", "deflate", "zlib", "br", "zstd", "lz4", "snappy"])
def test_corrupt_input_raises_corrupt_data(coding: str) -> None:
    with pytest.raises(CorruptData):
        decompress(b"\x00not compressed at all, really\xff", coding, Limits())


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd", "lz4"])
def test_truncated_stream_is_corrupt(coding: str) -> None:
    data = ENCODERS[coding](PAYLOAD)
    with pytest.raises(CorruptData):
        decompress(data[: len(data) // 2], coding, Limits())


def test_unknown_coding() -> None:
    with pytest.raises(UnsupportedCoding):
        decompress(b"x", "compress", Limits())


def test_errors_never_quote_data() -> None:
    secret = b"SECRETSECRETSECRET"
    for coding in ("gzip", "br", "zstd", "lz4", "snappy", "deflate"):
        with pytest.raises(CorruptData) as info:
            decompress(secret, coding, Limits())
        assert "SECRET" not in str(info.value)
