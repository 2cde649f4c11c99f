"""Hypothesis properties of every dissector on hostile input (issue #9).

Any conversation (fuzz/_common.py encoding: data, gaps, closes, either direction) raises
nothing but `ProtocolError`, whose message never quotes input; events are lists of
well-formed events. Inputs are arbitrary bytes, and the contract conversation of
`tests/builders/<module>.py` with splices, byte flips, gaps and early closes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.registry import dissector_by_name
from fuzz._common import (
    OP_CLOSE,
    OP_GAP,
    Conversation,
    decode_conversation,
    encode_conversation,
    probe_all,
    run_dissector,
)
from protocols.base import Direction, Dissector, Limits

PROTOCOLS = ["http", "http2", "kafka", "mysql"]
_BUILDER = {"http": "http1", "http2": "http2", "kafka": "kafka", "mysql": "mysql"}


def _cls(name: str) -> type[Dissector]:
    cls = dissector_by_name(name)
    assert cls is not None
    return cls


def _contract(name: str) -> list[tuple[Direction, bytes]]:
    module = __import__(f"tests.builders.{_BUILDER[name]}", fromlist=["contract_conversation"])
    return list(module.contract_conversation())


@pytest.mark.parametrize("name", PROTOCOLS)
@settings(max_examples=150)
@given(data=st.binary(max_size=2048))
def test_any_bytes_raise_only_protocol_errors(name: str, data: bytes) -> None:
    run_dissector(_cls(name), decode_conversation(data))


@pytest.mark.parametrize("name", PROTOCOLS)
@settings(max_examples=60)
@given(data=st.data())
def test_damaged_contract_conversation_raises_only_protocol_errors(
    name: str, data: st.DataObject
) -> None:
    """Flips, cuts, gaps and early closes on a conversation that is valid to begin with."""
    records = _contract(name)
    conversation: Conversation = []
    for direction, payload in records:
        buf = bytearray(payload)
        for _ in range(data.draw(st.integers(0, 4), label="flips")):
            if buf:
                at = data.draw(st.integers(0, len(buf) - 1))
                buf[at] = data.draw(st.integers(0, 255))
        if buf and data.draw(st.booleans(), label="cut"):
            del buf[data.draw(st.integers(0, len(buf) - 1)) :]
        op = 1 if direction is Direction.RESPONSE else 0
        if data.draw(st.integers(0, 9), label="gap") == 0:
            conversation.append((op | OP_GAP, direction, data.draw(st.integers(1, 5000))))
        split = data.draw(st.integers(0, len(buf)), label="split")
        conversation.append((op, direction, bytes(buf[:split])))
        close = OP_CLOSE if data.draw(st.integers(0, 19), label="close") == 0 else 0
        conversation.append((op | close, direction, bytes(buf[split:])))
    run_dissector(_cls(name), conversation)
    run_dissector(_cls(name), conversation, Limits())


@pytest.mark.parametrize("name", PROTOCOLS)
def test_contract_conversation_runs_clean_under_fuzz_limits(name: str) -> None:
    """The seeds the harnesses start from give messages even under the tiny fuzz limits."""
    events = run_dissector(_cls(name), decode_conversation(encode_conversation(_contract(name))))
    assert events


@settings(max_examples=300)
@given(data=st.binary(max_size=600))
def test_every_probe_answers_any_bytes(data: bytes) -> None:
    probe_all(data)
