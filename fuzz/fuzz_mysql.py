"""Atheris harness: the mysql dissector (protocols/mysql.py) fed any conversation.

Input: the conversation encoding of fuzz/_common.py (direction, data or gap, close).
Finding: any exception but ProtocolError, a ProtocolError quoting input bytes, a
non-list return or a malformed event. Long run: see fuzz/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["protocols", "dpi"]):
    from dpi.registry import dissector_by_name, dissector_classes
    from fuzz._common import (
        decode_conversation,
        dissector_seeds,
        fuzz_main,
        probe_all,
        run_dissector,
    )
    from protocols.base import Dissector
    dissector_classes()  # imports every dissector module under instrumentation
    _FOUND = dissector_by_name("mysql")
    assert _FOUND is not None
    TARGET: type[Dissector] = _FOUND


def test_one_input(data: bytes) -> None:
    conversation = decode_conversation(data)
    if conversation and isinstance(conversation[0][2], bytes):
        probe_all(conversation[0][2][:512])
    run_dissector(TARGET, conversation)


if __name__ == "__main__":
    fuzz_main("mysql", test_one_input, lambda: dissector_seeds("mysql"))
