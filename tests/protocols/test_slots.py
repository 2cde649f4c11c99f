"""`slot_init`: the per-packet classes keep the constructor `dataclasses` would give them
(parameters, defaults, keyword-only markers) while setting fields through the slots.
`slot_factory`: a function with that signature that makes the same, frozen objects."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from dpi.decode import Segment
from dpi.frames import Frame
from dpi.reassembly import Data
from protocols._slots import slot_factory, slot_init
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


def _child_class() -> type:
    """A `slot_init` class whose first slot is inherited from its base."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @slot_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int = 2

    return Child


def test_a_subclass_sets_its_inherited_slots() -> None:
    child = _child_class()(1)
    assert (child.a, child.b) == (1, 2)


@pytest.mark.parametrize("cls", [Frame, Segment, Data, Part, Message])
def test_a_factory_has_the_class_signature(cls: type) -> None:
    assert inspect.signature(slot_factory(cls)) == inspect.signature(cls)


def test_a_factory_makes_what_the_class_makes() -> None:
    make_part, make_message = slot_factory(Part), slot_factory(Message)
    part = make_part(location=Location.QUERY, name="", data=b"a=1", media_type="x", schema="s")
    same = Part(location=Location.QUERY, name="", data=b"a=1", media_type="x", schema="s")
    assert type(part) is Part and part == same and hash(part) == hash(same)
    assert repr(part) == repr(same) and pickle.loads(pickle.dumps(part)) == same
    assert make_part(location=Location.HEADER, name="a", data=b"") == Part(
        location=Location.HEADER, name="a", data=b"")  # defaults
    message = make_message(protocol="http", direction=Direction.RESPONSE, api="GET /", host="h",
                           ts_ns=5, parts=(part,), status=404)
    assert message == Message(protocol="http", direction=Direction.RESPONSE, api="GET /",
                              host="h", ts_ns=5, parts=(same,), status=404)
    segment = slot_factory(Segment)(b"\x01" * 4, b"\x02" * 4, 1, 2, 3, 4, 0x18, b"xy")
    assert segment == Segment(b"\x01" * 4, b"\x02" * 4, 1, 2, 3, 4, 0x18, b"xy", 0)
    assert b"xy" not in repr(segment).encode()  # payloads stay out of reprs
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        segment.seq = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        make_part(Location.HEADER, "accept", b"")  # type: ignore[misc]  # keyword-only
    with pytest.raises(TypeError):
        slot_factory(Frame)(1, 2)  # type: ignore[call-arg]  # missing fields


def test_a_factory_refuses_classes_it_cannot_build() -> None:
    @slot_init
    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class Weak:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Plain:  # no slot_init: its fields were never checked
        a: int

    for cls in (_child_class(), Weak, Plain):
        with pytest.raises(TypeError, match="slot_factory"):
            slot_factory(cls)
