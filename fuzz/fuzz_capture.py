"""Atheris harness: the capture reader (dpi/capture.py) and link/IP/TCP decoding
(dpi/decode.py) on any file content: pcap, pcapng, gzip, zstd or garbage.

Finding: any exception but CaptureError (which only `open_capture` may raise), a
warning that is not one printable line, an unbounded warning list. Long run: see
fuzz/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["protocols", "dpi"]):
    from fuzz._common import capture_seeds, fuzz_main, run_capture


def test_one_input(data: bytes) -> None:
    run_capture(data)


if __name__ == "__main__":
    fuzz_main("capture", test_one_input, capture_seeds)
