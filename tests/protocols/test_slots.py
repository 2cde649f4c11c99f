"""`slot_init`: the per-packet classes keep the constructor `dataclasses` would give them
(parameters, defaults, keyword-only markers) while setting fields through the slots."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from dpi.decode import Segment
from dpi.frames import Frame
from dpi.reassembly import Data
from protocols._slots import slot_init
from protocols.base import Direction, Location, Message, Part


@pytest.mark.parametrize("cls", [Frame, Segment, Data, Part, Message])
def test_the_signature_is_the_dataclass_one(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for param, f in zip(params, fields, strict=True):
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert param.default == expected, f.name
        kind = inspect.Parameter.KEYWORD_ONLY if f.kw_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert param.kind == kind, f.name


def test_objects_are_set_and_still_frozen() -> None:
    part = Part(location=Location.HEADER, name="accept", data=b"*/*")
    assert (part.media_type, part.schema, part.never_indexed) == ("text/plain", "", False)
    message = Message(protocol="http", direction=Direction.REQUEST, api="GET /", host="h",
                      ts_ns=5, parts=(part,))
    assert message.parts == (part,) and message.status == 0 and not message.incomplete
    assert message == dataclasses.replace(message)
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Part(Location.HEADER, "accept", b"")  # type: ignore[misc]  # keyword-only
    frame = Frame(1, 2, 1, b"ab")
    assert (frame.number, frame.ts_ns, frame.linktype, frame.data, frame.wire_len) == (
        1, 2, 1, b"ab", 0)


def test_a_default_factory_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="default factory"):
        slot_init(WithFactory)


def test_shapes_it_cannot_build_are_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int
        b: int = dataclasses.field(default=0, init=False)

    for cls in (PostInit, NotInInit):
        with pytest.raises(TypeError, match="slot_init"):
            slot_init(cls)


def test_a_subclass_sets_its_inherited_slots() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @slot_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int = 2

    child = Child(1)
    assert (child.a, child.b) == (1, 2)
