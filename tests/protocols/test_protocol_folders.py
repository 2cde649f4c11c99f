"""One folder per protocol (docs/architecture.md, "Adding a unit"): every dissector lives
in `protocols/<name>/<name>.py` and its package exports it, and a new folder is found by
the registry with no list to edit."""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import protocols
from dpi.registry import dissector_by_name, dissector_classes
from protocols.base import Direction, Dissector, Probe

ECHO_INIT = '''"""A protocol added for the test: one folder."""

from protocols.echo.echo import EchoDissector

__all__ = ["EchoDissector"]
'''

ECHO_DISSECTOR = '''"""The echo protocol: every byte is ignored."""

from __future__ import annotations

from typing import ClassVar

from protocols.base import Direction, Dissector, Event, Probe
from protocols.echo._framing import MAGIC


class EchoDissector(Dissector):
    name: ClassVar[str] = "echo"

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        return Probe.YES if data.startswith(MAGIC) else Probe.NO

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        return []

    def gap(self, direction: Direction, size: int) -> list[Event]:
        return []

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        return []
'''

ECHO_HELPER = '''"""A private helper of the echo protocol: skipped by the registry."""

MAGIC = b"ECHO"
'''


def test_every_dissector_lives_in_its_folder_and_is_exported_by_it() -> None:
    classes = dissector_classes()
    assert {cls.name for cls in classes} == {"http", "http2", "kafka", "mysql", "websocket"}
    for cls in classes:
        _, folder, module = cls.__module__.split(".")
        assert folder == module, cls.__module__
        assert getattr(importlib.import_module(f"protocols.{folder}"), cls.__name__) is cls


def test_every_protocol_folder_is_packaged() -> None:
    # pyproject.toml finds the packages: a new folder needs no edit there, and nothing
    # outside the three trees gets into the wheel.
    from setuptools import find_packages

    root = Path(protocols.__file__).parent
    folders = {f"protocols.{p.parent.name}" for p in root.glob("*/__init__.py")}
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    packaged = set(find_packages(str(root.parent), include=find["include"]))
    assert folders
    assert folders <= packaged, sorted(folders - packaged)
    assert {p.split(".")[0] for p in packaged} == {"dpi", "protocols", "classifiers"}


@pytest.fixture
def echo_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`protocols/echo/` in a temporary directory that joins the package's path."""
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "__init__.py").write_text(ECHO_INIT)
    (folder / "echo.py").write_text(ECHO_DISSECTOR)
    (folder / "_framing.py").write_text(ECHO_HELPER)
    monkeypatch.setattr(protocols, "__path__", [*protocols.__path__, str(tmp_path)])
    dissector_classes.cache_clear()
    yield folder
    dissector_classes.cache_clear()
    for name in [n for n in sys.modules if n == "protocols.echo" or n.startswith("protocols.echo.")]:
        del sys.modules[name]


def test_a_new_protocol_folder_is_found_with_no_list_to_edit(echo_folder: Path) -> None:
    found = dissector_by_name("echo")
    assert found is not None
    assert found.__module__ == "protocols.echo.echo"
    assert issubclass(found, Dissector)
    assert found.probe(Direction.REQUEST, b"ECHO 1") is Probe.YES
    # the shipped ones are still found, the helper module is not a unit
    names = [cls.name for cls in dissector_classes()]
    assert names == ["echo", "http", "http2", "kafka", "mysql", "websocket"]
