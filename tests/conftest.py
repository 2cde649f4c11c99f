"""Shared fixtures: where the real captures live (../shared, read-only, never copied)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DPI_SHARED", ROOT.parent / "shared"))
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def shared_captures() -> Path:
    """`../shared/captures`, the corpus of real captures (see its MANIFEST.md)."""
    path = SHARED / "captures"
    if not path.is_dir():
        pytest.skip("../shared/captures is not there")
    return path


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
    """CI runs Hypothesis derandomized (ARCHITECTURE.md convention 15): repeatable runs."""
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
