"""Shared fixtures: where the real captures live (`tests/captures/`, copied from the
public corpus with its MANIFEST.md, so that a clone passes on its own)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "tests" / "captures"
SAMPLES = ROOT / "samples"
SPEC = ROOT / "docs" / "spec" / "inventory.md"


def _join_parts(first: Path, target: Path) -> None:
    """`X.part1.pcap.gz` + `X.part2.pcap.gz` -> `X.pcap`: a capture over the repository's
    1 MB file limit is stored as consecutive pieces of one pcap (same global header, the
    records split in two) and joined back here byte for byte."""
    import gzip

    parts = sorted(first.parent.glob(first.name.replace(".part1.", ".part*.")))
    with target.open("wb") as out:
        for i, part in enumerate(parts):
            data = gzip.decompress(part.read_bytes())
            out.write(data if i == 0 else data[24:])


@pytest.fixture(scope="session")
def shared_captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus of real captures (see `tests/captures/MANIFEST.md`), with split files
    joined back into the originals."""
    root = tmp_path_factory.mktemp("captures")
    shutil.copytree(CAPTURES, root, dirs_exist_ok=True)
    for first in list(root.rglob("*.part1.pcap.gz")):
        _join_parts(first, first.with_name(first.name.replace(".part1.pcap.gz", ".pcap")))
        for part in first.parent.glob(first.name.replace(".part1.", ".part*.")):
            part.unlink()
    return root


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def tshark() -> str:
    """Path of Debian's tshark; tests that cross-check against it skip without it."""
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed")
    return path


def _hypothesis_profiles() -> None:
    """CI runs Hypothesis derandomized (docs/architecture.md convention 15): repeatable runs."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )
    settings.register_profile("dev", deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


_hypothesis_profiles()
