"""`bench/floor.py` is a lower bound only if it does the work dpi does at least: on the
shared benchmark's traffic (its own generator, which we did not write) it must frame
every HTTP message dpi reads and match values, and its framing-only mode must stop short
of the values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.api import scan_engine

ROOT = Path(__file__).resolve().parent.parent
FLOOR = ROOT / "bench" / "floor.py"
GENERATOR = ROOT / "bench" / "workloads" / "make_http_pcap.py"


def _floor(path: Path, *extra: str) -> dict[str, int]:
    out = subprocess.run([sys.executable, str(FLOOR), str(path), *extra],
                         capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(out.stdout)
    return result


@pytest.fixture(scope="module")
def shared_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("floor") / "shared.pcap"
    subprocess.run([sys.executable, str(GENERATOR), "0.5", str(path), "--seed", "3"],
                   check=True, stdout=subprocess.DEVNULL)
    return path


def test_floor_frames_the_messages_dpi_reads(shared_capture: Path) -> None:
    engine = scan_engine([str(shared_capture)])
    floor = _floor(shared_capture)
    assert floor["messages"] > 100
    assert floor["messages"] == sum(engine.stats.messages.values())
    assert floor["values"] > floor["messages"]
    assert floor["matched_fields"] > 0


def test_framing_only_matches_no_values(shared_capture: Path) -> None:
    whole, framing = _floor(shared_capture), _floor(shared_capture, "--framing-only")
    assert framing["messages"] == whole["messages"]
    assert framing["matched_fields"] == 0
    assert framing["values"] < whole["values"]  # header values only: no body walked
