"""The core install's size (issue #17): `pip install .` of the project, no extras, into a
fresh Python 3.11 venv must take less than 250 MB.

Measured without making a venv: the project's core requirements (pyproject.toml's
`dependencies` of the tree under test, no extras, environment markers evaluated here)
are walked recursively through the installed distributions' metadata
(`importlib.metadata`, `Requires-Dist`, extras asked for honoured), and the sizes of the
files each distribution installed (its RECORD: `dist.files` -> `locate()` -> `stat`,
the byte-compiled modules included) are added up: the apparent size, as `du
--apparent-size` of the venv's site-packages minus a bare venv's gives it (on disk, in
whole 4 KiB blocks, `du` counts some 9% more). The project's own packages count as they
are in the tree. Left out: what a fresh Python 3.11 venv already has (pip, setuptools:
grpcio-tools asks for setuptools).

Skipped, with the reason, when the project is not installed (no metadata to walk) or a
requirement is missing (an environment installed from an older pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "dpi-inventory"
LIMIT_BYTES = 250 * 1000 * 1000
# Distributions `python3.11 -m venv` installs: a bare venv has them already.
BARE_VENV = frozenset({"pip", "setuptools"})


def _size(files: list[Path]) -> int:
    """Bytes in `files` (apparent size)."""
    total = 0
    for path in files:
        try:
            total += os.stat(path).st_size
        except OSError:  # listed in RECORD, not there (removed by hand)
            continue
    return total


def _distribution_files(dist: metadata.Distribution) -> list[Path]:
    return [Path(str(f.locate())).resolve() for f in dist.files or []]


def _own_packages() -> list[Path]:
    """The files of the project's packages in the tree under test (an editable install
    records none of them)."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    files: list[Path] = []
    for top in sorted({pattern.split(".")[0] for pattern in find["include"]}):
        spec = importlib.util.find_spec(top)
        assert spec is not None and spec.submodule_search_locations, top
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        files += [p for p in package_dir.rglob("*") if p.is_file()]
    return files


def _requirements(texts: list[str], extras: frozenset[str]) -> list[Requirement]:
    """The requirements among `texts` that apply here with `extras` asked for."""
    found = []
    for text in texts:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None:
            found.append(requirement)
            continue
        env = {**default_environment(), "extra": ""}
        if marker.evaluate(env) or any(marker.evaluate({**env, "extra": e}) for e in extras):
            found.append(requirement)
    return found


def core_closure() -> dict[str, int]:
    """Bytes on disk of each distribution the core install brings, by name; the project
    itself under its own name. Raises `LookupError` naming a missing distribution."""
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    sizes = {PROJECT: _size(_own_packages())}
    pending = [(r, frozenset(r.extras)) for r in _requirements(core, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LookupError(name) from None
        if name not in BARE_VENV:
            sizes.setdefault(name, _size(_distribution_files(dist)))
        pending += [(r, frozenset(r.extras)) for r in _requirements(dist.requires or [], extras)]
    return sizes


def _table(sizes: dict[str, int]) -> str:
    rows = sorted(sizes.items(), key=lambda item: -item[1])
    return "\n".join(f"{size / 1e6:8.1f} MB  {name}" for name, size in rows)


def test_the_core_install_stays_under_250_mb() -> None:
    try:
        metadata.distribution(PROJECT)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{PROJECT} is not installed (pip install -e .): no metadata to walk")
    try:
        sizes = core_closure()
    except LookupError as missing:
        pytest.skip(f"{missing} (a core requirement) is not installed: reinstall with pip install -e .")
    total = sum(sizes.values())
    # The walk is real: the project's named libraries and their own requirements are in it.
    assert {"pandas", "numpy", "grpcio-tools", "grpcio", "protobuf", "kafka-python"} <= set(sizes)
    assert total < LIMIT_BYTES, f"core install {total / 1e6:.1f} MB:\n{_table(sizes)}"
