"""Atheris harness: payload decoding (protocols/payload.py, protocols/protobuf.py):
JSON, NDJSON, SSE, forms, multipart, protobuf and gRPC framing without a schema.

Input: first byte picks the media type, the rest is the part. Finding: any exception,
more fields than `max_fields_per_part`, a value longer than `max_value_chars`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["protocols", "dpi"]):
    import protocols.protobuf  # noqa: F401 (imported lazily by payload.py)
    from fuzz._common import fuzz_main, payload_seeds, run_payload


def test_one_input(data: bytes) -> None:
    run_payload(data)


if __name__ == "__main__":
    fuzz_main("payload", test_one_input, payload_seeds)
