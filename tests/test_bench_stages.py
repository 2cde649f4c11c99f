"""`bench/stages.py` switches stages off by patching the engine's functions by name: each
variant must still scan the same messages and leave what it says it leaves (a renamed
function would otherwise make the split measure nothing, silently)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "rest-shop.pcap"


def _variant(variant: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stages.py"), "--child", variant, str(SAMPLE)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def variants() -> dict[str, dict[str, float]]:
    return {v: _variant(v) for v in ("full", "no classifiers", "values only", "messages only")}


def test_every_variant_reads_the_same_messages(variants: dict[str, dict[str, float]]) -> None:
    messages = {v: r["messages"] for v, r in variants.items()}
    assert variants["full"]["messages"] > 0
    assert len(set(messages.values())) == 1, messages


def test_each_variant_leaves_out_what_it_says(variants: dict[str, dict[str, float]]) -> None:
    assert variants["full"]["rows"] > 0
    # Classifiers off: the fields are still scored (counted), none reports a type.
    assert variants["no classifiers"]["rows"] == 0
    assert variants["no classifiers"]["fields"] == variants["full"]["fields"] > 0
    # Values only, messages only: nothing reaches the inventory.
    assert variants["values only"]["fields"] == 0
    assert variants["messages only"]["fields"] == 0
