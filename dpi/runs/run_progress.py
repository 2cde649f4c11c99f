"""How far a local batch run has read, for its progress bar.

Workers report the bytes they read as they read them (`dpi.runs.worker.report_reading`),
each shard of a split file a share of its bytes (every shard reads the whole file), into
one counter shared with the run; the run polls it while it waits for results. Without
this, a run showed its bar move only when a whole file was done: one big capture split
over the workers sat at 0% to the end.
"""

from __future__ import annotations

from collections.abc import Callable


class RunProgress:
    """One monotone byte count for `progress` (bytes since its last call): what the
    workers have read, at least the files already done, never above the run's total
    (a grown file's reader also goes over the part read by an earlier run)."""

    def __init__(self, progress: Callable[[int], None], total: int) -> None:
        self._progress = progress
        self._total = total
        self._done = 0
        self._live = 0.0
        self._shown = 0

    def read(self, count: float) -> None:
        """`count` more bytes read in this process."""
        self._live += count
        self._show()

    def reached(self, read: float) -> None:
        """The workers' bytes read so far (the shared counter)."""
        self._live = max(self._live, read)
        self._show()

    def finished(self, size: int) -> None:
        """A file done: its `size` bytes to scan are read, whatever was reported."""
        self._done += size
        self._show()

    def _show(self) -> None:
        target = min(self._total, max(self._done, int(self._live)))
        if target > self._shown:
            self._progress(target - self._shown)
            self._shown = target
