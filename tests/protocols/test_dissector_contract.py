"""The contract every dissector keeps (docs/architecture.md, convention 13).

For each dissector of `dpi.registry.dissector_classes()` whose author wrote
`contract_conversation()` in `tests/builders/<module>.py`: the conversation fed whole,
byte by byte and in random splits gives the same events; random byte mutations raise
nothing but `ProtocolError`; `probe` never raises on garbage; `close` on a fresh
instance returns a list.
"""

from __future__ import annotations

import importlib
import itertools
import random
from collections.abc import Callable, Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpi.registry import dissector_classes
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    Handoff,
    Learned,
    Message,
    Probe,
    ProtocolError,
)

Conversation = list[tuple[Direction, bytes]]
Splitter = Callable[[bytes], Iterable[bytes]]

# Hypothesis budgets: the contract runs for every dissector, so each stays small.
SPLIT_EXAMPLES = 40
MUTATION_EXAMPLES = 150
PROBE_EXAMPLES = 300


def _conversation_of(cls: type[Dissector]) -> Conversation | None:
    leaf = cls.__module__.rsplit(".", 1)[-1]
    try:
        builder = importlib.import_module(f"tests.builders.{leaf}")
    except ModuleNotFoundError:
        return None
    make = getattr(builder, "contract_conversation", None)
    return None if make is None else list(make())


def _all_classes() -> list[type[Dissector]]:
    return list(dissector_classes())


def _with_conversation() -> list[tuple[type[Dissector], Conversation]]:
    found = []
    for cls in _all_classes():
        conv = _conversation_of(cls)
        if conv is not None:
            found.append((cls, conv))
    return found


def _ids(item: object) -> str:
    if isinstance(item, tuple):
        return str(item[0].name)
    return str(getattr(item, "name", item))


def _key(event: object) -> tuple[object, ...]:
    if isinstance(event, Message):
        parts = tuple(
            (p.location, p.name, p.data, p.media_type, p.schema, p.never_indexed)
            for p in event.parts
        )
        return ("message", event.protocol, event.direction, event.api, event.host, parts)
    if isinstance(event, Anomaly):
        return ("anomaly", event.kind, event.direction)
    if isinstance(event, Learned):
        return ("learned", event.kind, event.key, event.value)
    raise AssertionError(f"unexpected event type {type(event).__name__}")


def run(cls: type[Dissector], conv: Conversation, split: Splitter) -> list[tuple[object, ...]]:
    """Feed `conv` cut by `split`, close both directions; events in a comparable form.

    After a `Handoff`, what the dissector kept (`leftover`) and what is fed later are
    one byte stream per direction: only their concatenation is split-independent."""
    dissector = cls()
    out: list[tuple[object, ...]] = []
    handoff: Handoff | None = None
    after: dict[Direction, bytearray] = {d: bytearray() for d in Direction}

    def take(events: list[object]) -> None:
        nonlocal handoff
        assert isinstance(events, list)
        for event in events:
            if isinstance(event, Handoff):
                assert handoff is None, "two hand-offs"
                handoff = event
                for direction, data in event.leftover.items():
                    after[direction] += data
            else:
                assert handoff is None, "events after a hand-off"
                out.append(_key(event))

    for ts, (direction, data) in enumerate(conv):
        for piece in split(data):
            if handoff is not None:
                after[direction] += piece
                continue
            take(list(dissector.feed(direction, piece, ts)))
    for direction in Direction:
        take(list(dissector.close(direction, len(conv))))
    if handoff is not None:
        out.append(("handoff", handoff.protocol, tuple(bytes(after[d]) for d in Direction)))
    return out


def _whole(data: bytes) -> Iterable[bytes]:
    return [data]


def _bytewise(data: bytes) -> Iterable[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


@pytest.mark.parametrize("cls", _all_classes(), ids=_ids)
def test_close_fresh_instance_returns_list(cls: type[Dissector]) -> None:
    dissector = cls()
    for direction in Direction:
        assert isinstance(dissector.close(direction, 0), list)


@pytest.mark.parametrize("cls", _all_classes(), ids=_ids)
def test_probe_empty_is_need_more_or_no(cls: type[Dissector]) -> None:
    for direction in Direction:
        assert cls.probe(direction, b"") in (Probe.NEED_MORE, Probe.NO)


@pytest.mark.parametrize("cls", _all_classes(), ids=_ids)
def test_probe_garbage_never_raises(cls: type[Dissector]) -> None:
    @settings(max_examples=PROBE_EXAMPLES, derandomize=True, deadline=None)
    @given(st.sampled_from(list(Direction)), st.binary(max_size=300))
    def check(direction: Direction, data: bytes) -> None:
        assert isinstance(cls.probe(direction, data), Probe)

    check()


@pytest.mark.parametrize("case", _with_conversation(), ids=_ids)
def test_conversation_whole_equals_bytewise(case: tuple[type[Dissector], Conversation]) -> None:
    cls, conv = case
    whole = run(cls, conv, _whole)
    assert any(item[0] == "message" for item in whole), "the conversation yields no message"
    assert run(cls, conv, _bytewise) == whole


@pytest.mark.parametrize("case", _with_conversation(), ids=_ids)
def test_conversation_random_splits_equal_whole(
    case: tuple[type[Dissector], Conversation],
) -> None:
    cls, conv = case
    whole = run(cls, conv, _whole)

    @settings(
        max_examples=SPLIT_EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.integers(min_value=0, max_value=2**32 - 1))
    def check(seed: int) -> None:
        rng = random.Random(seed)

        def split(data: bytes) -> list[bytes]:
            cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12))))
            bounds = [0, *cuts, len(data)]
            return [data[a:b] for a, b in itertools.pairwise(bounds)]

        assert run(cls, conv, split) == whole

    check()


@pytest.mark.parametrize("case", _with_conversation(), ids=_ids)
def test_mutated_conversation_raises_only_protocol_error(
    case: tuple[type[Dissector], Conversation],
) -> None:
    cls, conv = case

    @settings(
        max_examples=MUTATION_EXAMPLES,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=8))
    def check(seed: int, count: int) -> None:
        rng = random.Random(seed)
        mutated: Conversation = []
        for direction, data in conv:
            buf = bytearray(data)
            for _ in range(count):
                if buf and rng.random() < 0.5:
                    buf[rng.randrange(len(buf))] = rng.randrange(256)
            if rng.random() < 0.1 and buf:
                del buf[rng.randrange(len(buf)) :]
            mutated.append((direction, bytes(buf)))
        dissector = cls()
        try:
            for ts, (direction, data) in enumerate(mutated):
                cut = rng.randint(0, len(data))
                dissector.feed(direction, data[:cut], ts)
                dissector.feed(direction, data[cut:], ts)
            for direction in Direction:
                dissector.close(direction, len(mutated))
        except ProtocolError:
            pass

    check()
