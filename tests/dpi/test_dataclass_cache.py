"""dpi/dataclass_cache.py: our dataclasses' generated methods come from a cache of compiled
code, and a class made from the cache is the class `dataclasses` makes without it:
the same code in every method, the same signatures and annotations, the same equality,
hashing, repr, frozenness and pickling. The cache file round-trips, a damaged one is
ignored, and nothing is written when bytecode writing is off."""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dpi  # noqa: F401 - installs the cache, as every entry point does
from dpi import dataclass_cache

# Classes with the options our modules use: frozen and slotted with keyword-only fields,
# defaults and a default factory, plain mutable ones, ordering, a class without fields.
CLASSES = '''
from __future__ import annotations
from dataclasses import dataclass, field

@dataclass(frozen=True, slots=True, kw_only=True)
class Frozen:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict, repr=False, compare=False, hash=False)

@dataclass
class Mutable:
    path: str
    sizes: list[int] = field(default_factory=list)

@dataclass(order=True, frozen=True)
class Ordered:
    a: int
    b: str = "x"

@dataclass(frozen=True)
class Empty:
    pass
'''
NAMES = ("Frozen", "Mutable", "Ordered", "Empty")


def _made(module_name: str) -> dict[str, type]:
    """The classes of CLASSES, made afresh in a module called `module_name`."""
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module  # dataclasses reads the module's globals from here
    try:
        exec(CLASSES, module.__dict__)  # noqa: S102 - the test's own class definitions
    finally:
        del sys.modules[module_name]
    return {name: module.__dict__[name] for name in NAMES}


@pytest.fixture()
def without_cache() -> Iterator[None]:
    """dataclasses with the interpreter's own exec while the test makes its reference."""
    ours = vars(dataclasses).get("exec")
    delattr(dataclasses, "exec")
    try:
        yield
    finally:
        setattr(dataclasses, "exec", ours)  # noqa: B010


def _methods(cls: type) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(cls).items()
        if inspect.isfunction(value) and name.startswith("__")
    }


def _same_class(ours: type, reference: type) -> None:
    mine, theirs = _methods(ours), _methods(reference)
    assert sorted(mine) == sorted(theirs) and mine
    for name, method in mine.items():
        other = theirs[name]
        assert method.__code__ == other.__code__, name
        assert method.__code__.co_filename == other.__code__.co_filename, name
        assert method.__defaults__ == other.__defaults__, name
        assert method.__kwdefaults__ == other.__kwdefaults__, name
        assert method.__annotations__ == other.__annotations__, name
        assert method.__qualname__.split(".")[-1] == other.__qualname__.split(".")[-1]
    assert str(inspect.signature(ours)) == str(inspect.signature(reference))
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(reference)]
    assert getattr(ours, "__slots__", None) == getattr(reference, "__slots__", None)
    assert ours.__hash__ is None if reference.__hash__ is None else ours.__hash__ is not None


def test_import_dpi_installs_the_cache() -> None:
    assert vars(dataclasses)["exec"] is dataclass_cache._exec


def test_a_class_made_from_the_cache_is_the_class_dataclasses_makes(without_cache: None) -> None:
    reference = _made("dpi._cache_probe")
    setattr(dataclasses, "exec", dataclass_cache._exec)  # noqa: B010
    first = _made("dpi._cache_probe")  # compiled, then kept
    cached = len(dataclass_cache._cache)
    again = _made("dpi._cache_probe")  # every source now comes from the cache
    assert len(dataclass_cache._cache) == cached
    for name in NAMES:
        _same_class(first[name], reference[name])
        _same_class(again[name], reference[name])
    frozen = again["Frozen"](name="a", count=2, tags=("t",), extra={"x": 1})
    assert frozen == again["Frozen"](name="a", count=2, tags=("t",))  # extra: compare=False
    assert hash(frozen) == hash(again["Frozen"](name="a", count=2, tags=("t",)))
    assert repr(frozen) == "Frozen(name='a', count=2, tags=('t',))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.name = "b"  # type: ignore[misc]
    assert again["Ordered"](1) < again["Ordered"](2)
    assert again["Mutable"]("p") == again["Mutable"]("p", [])
    assert repr(again["Empty"]()) == repr(reference["Empty"]()) == "Empty()"


def test_a_cached_frozen_class_pickles_as_dataclasses_makes_it() -> None:
    from protocols.base import Location, Part  # frozen and slotted, made from the cache

    part = Part(location=Location.BODY, name="n", data=b"v")
    assert pickle.loads(pickle.dumps(part)) == part
    assert vars(dataclasses)["exec"] is dataclass_cache._exec


def test_other_modules_classes_compile_as_before_and_are_not_cached(without_cache: None) -> None:
    reference = _made("elsewhere_probe")
    setattr(dataclasses, "exec", dataclass_cache._exec)  # noqa: B010
    before = dict(dataclass_cache._cache)
    theirs = _made("elsewhere_probe")
    assert dataclass_cache._cache == before
    for name in NAMES:
        _same_class(theirs[name], reference[name])


def test_the_file_round_trips_and_a_damaged_one_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "__pycache__" / "dataclass-methods.bin"
    monkeypatch.setattr(dataclass_cache._State, "path", str(path))
    monkeypatch.setattr(dataclass_cache._State, "new", True)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    dataclass_cache._save()
    loaded = dataclass_cache._load(str(path))
    assert loaded and set(dataclass_cache._used) <= set(loaded)
    assert all(loaded[s] == code for s, code in dataclass_cache._used.items())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut short
    assert dataclass_cache._load(str(path)) == {}
    path.write_bytes(b"\0\0\0\0" + data[4:])  # another interpreter's magic number
    assert dataclass_cache._load(str(path)) == {}
    assert dataclass_cache._load(str(tmp_path / "missing.bin")) == {}


def test_nothing_is_written_when_bytecode_writing_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dataclass-methods.bin"
    monkeypatch.setattr(dataclass_cache._State, "path", str(path))
    monkeypatch.setattr(dataclass_cache._State, "new", True)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    dataclass_cache._save()
    assert not path.exists()
    monkeypatch.setattr(dataclass_cache._State, "new", False)  # nothing new: nothing to write
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    dataclass_cache._save()
    assert not path.exists()
    assert builtins.exec is not dataclass_cache._exec
