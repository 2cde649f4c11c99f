"""The garbage collector's pace during a scan (dpi/runs/collector.py): its first
threshold is raised while frames are fed, the process's settings are back afterwards
(after an error too), and a higher threshold or a disabled one (0) is left alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpi.engine import Engine
from dpi.frames import Frame
from dpi.runs import scanner
from dpi.runs.collector import SCAN_GC_THRESHOLD, scan_collector


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_first_threshold_raised_inside_restored_after() -> None:
    gc.set_threshold(700, 10, 10)
    with scan_collector():
        assert gc.get_threshold() == (SCAN_GC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)
    with pytest.raises(RuntimeError), scan_collector():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("threshold", [0, SCAN_GC_THRESHOLD * 2])
def test_disabled_or_higher_threshold_left_alone(threshold: int) -> None:
    gc.set_threshold(threshold, 10, 10)
    with scan_collector():
        assert gc.get_threshold() == (threshold, 10, 10)
    assert gc.get_threshold() == (threshold, 10, 10)


def test_scan_feeds_frames_at_the_scan_pace(
    samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.set_threshold(700, 10, 10)
    seen: list[tuple[int, int, int]] = []
    engine = Engine()
    feed = engine.feed_frame

    def watched(frame: Frame) -> None:
        seen.append(gc.get_threshold())
        feed(frame)

    monkeypatch.setattr(engine, "feed_frame", watched)
    warnings: list[str] = []
    read = scanner.scan_inputs(engine, scanner.expand([samples_dir / "rest-shop.pcap"], warnings))
    assert read == 1 and not warnings
    assert len(seen) > 50 and set(seen) == {(SCAN_GC_THRESHOLD, 10, 10)}
    assert engine.inventory.rows()  # the sample's findings: the scan ran as usual
    assert gc.get_threshold() == (700, 10, 10)
