"""What a one-process scan says about itself beyond its counters: `-v`'s log and the
summary's "where".

- `-v` (INFO on dpi's loggers) logs each file as it is read, each flow's protocol
  decision (the dissector that took it, TLS decrypted or not, or no protocol
  recognised: skipped) and, through the warnings, what was skipped and where.
- The summary names the files behind TCP gaps (gaps counted per file, or per capture
  set read as one stream) and the APIs behind limit hits (a dissector's limit anomaly,
  `body_too_large` and the like, counted on the API of the flow's next message, or of
  its last one when none follows).

Flows are named by number and server endpoint; APIs by protocol and templated name as
the inventory shows them (identifiers already sanitised by `dpi/identifiers.py`).
Client addresses and values never appear.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dpi.observer import Observer

if TYPE_CHECKING:
    import re

    from dpi.engine import Engine
    from dpi.reassembly import Flow
    from dpi.runs.scanner import Input
    from protocols.base import Message

log = logging.getLogger(__name__)

# Names shown on a summary line before "and N more".
MAX_NAMED = 5
# Flows whose limit hits wait for a message to name their API: beyond, the oldest are
# counted without one (a scan of millions of flows must not grow this without bound).
MAX_PENDING_FLOWS = 10_000


def _endpoint(flow: Flow) -> str:
    from dpi.engine import format_endpoint

    return format_endpoint(flow.server)


class TraceObserver(Observer):
    """Logs flow decisions; attributes limit hits to APIs."""

    def __init__(self) -> None:
        self.limit_apis: Counter[str] = Counter()  # "protocol api" -> hits
        self._pending: dict[int, Counter[str]] = {}  # flow id -> limit kinds not yet placed
        self._last_api: dict[int, tuple[str, str]] = {}  # flow id -> its last message's (protocol, API)
        self.unplaced = 0

    # The flow lines name the server endpoint, which `ipaddress` formats at a cost of
    # several microseconds: they are formatted only when INFO is logged (-v), not for
    # every flow of every scan.

    def flow_identified(self, flow: Flow, protocol: str) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info("flow %d to %s: %s", flow.id, _endpoint(flow), protocol)

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        if log.isEnabledFor(logging.INFO):
            state = "decrypted" if info.get("decrypted") else "not decrypted"
            log.info("flow %d to %s: %s, %s", flow.id, _endpoint(flow), layer, state)

    def flow_unidentified(self, flow: Flow) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info("flow %d to %s: no protocol recognised; skipped", flow.id, _endpoint(flow))
        self._forget(flow.id)

    def limit_hit(self, flow: Flow, kind: str) -> None:
        if flow.id not in self._pending and len(self._pending) >= MAX_PENDING_FLOWS:
            oldest = next(iter(self._pending))
            self.unplaced += sum(self._pending.pop(oldest).values())
        self._pending.setdefault(flow.id, Counter())[kind] += 1
        if log.isEnabledFor(logging.INFO):
            log.info("flow %d to %s: limit hit (%s)", flow.id, _endpoint(flow), kind)

    def message(self, flow: Flow, message: Message) -> None:
        # Called for every message: the API's name is kept as its two parts and joined
        # only when a limit hit is placed on it; the pending hits (rare) are looked up
        # only when some flow has any.
        flow_id = flow.id
        last_api = self._last_api
        if len(last_api) < MAX_PENDING_FLOWS or flow_id in last_api:
            last_api[flow_id] = (message.protocol, message.api)
        if self._pending:
            pending = self._pending.pop(flow_id, None)
            if pending:
                self.limit_apis[f"{message.protocol} {message.api}"] += sum(pending.values())

    def finish(self) -> None:
        """End of a group: hits with no message after them go to the flow's last API."""
        for flow_id, pending in self._pending.items():
            api = self._last_api.get(flow_id)
            if api is None:
                self.unplaced += sum(pending.values())
            else:
                self.limit_apis[f"{api[0]} {api[1]}"] += sum(pending.values())
        self._pending.clear()
        self._last_api.clear()

    def _forget(self, flow_id: int) -> None:
        self._last_api.pop(flow_id, None)


class ScanTrace:
    """Runs the scan group by group (as `scanner.scan_inputs`) to tell which files the
    gaps came from; collects the observer's limit hits."""

    def __init__(self) -> None:
        self.observer = TraceObserver()
        self.gap_files: Counter[str] = Counter()

    def scan(
        self,
        engine: Engine,
        inputs: list[Input],
        progress: Callable[[int], None] | None,
        *,
        sensor_pattern: re.Pattern[str] | None = None,
        separate_files: bool = False,
    ) -> int:
        from dpi.runs.scanner import plan_groups, scan_group

        scanned = 0
        groups = plan_groups(inputs, sensor_pattern=sensor_pattern, separate_files=separate_files)
        for group in groups:
            names = [_label(item.path) for s in group.sets for item in s.files]
            for name in names:
                log.info("%s: reading", name)
            gaps = engine.stats.gaps
            warned = len(engine.stats.warnings)
            scanned += scan_group(engine, group, progress)
            self.observer.finish()
            if engine.stats.gaps > gaps:
                self.gap_files[" + ".join(names)] += engine.stats.gaps - gaps
            for warning in engine.stats.warnings[warned:]:
                log.info("skipped: %s", warning)
        return scanned

    def summary_lines(self) -> list[str]:
        lines = []
        if self.gap_files:
            lines.append("gaps in: " + _named(self.gap_files))
        if self.observer.limit_apis:
            lines.append("limits hit on: " + _named(self.observer.limit_apis))
        return lines


def _label(path: Path) -> str:
    from dpi.stdin_capture import LABEL, NAME

    return LABEL if str(path) == NAME else str(path)


def _named(counts: Counter[str]) -> str:
    top = counts.most_common(MAX_NAMED)
    text = ", ".join(f"{name} ({count})" for name, count in top)
    rest = len(counts) - len(top)
    return f"{text} and {rest} more" if rest > 0 else text
