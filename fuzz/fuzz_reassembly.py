"""Atheris harness: TCP reassembly (dpi/reassembly.py) on any sequence of segments.

Input: 8-byte segment records (fuzz/_common.py, `decode_segments`): SYN/FIN/RST/ACK,
sequence and ACK offsets around a wrap-around, lengths, snaplen loss, time steps,
four client ports against a two-flow table. Payload bytes are a function of their
sequence number, so the harness checks that every delivered stream is in order and
continuous across gaps, that held bytes stay in budget, and that flush leaves nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["protocols", "dpi"]):
    from fuzz._common import fuzz_main, reassembly_seeds, run_reassembly


def test_one_input(data: bytes) -> None:
    run_reassembly(data)


if __name__ == "__main__":
    fuzz_main("reassembly", test_one_input, reassembly_seeds)
