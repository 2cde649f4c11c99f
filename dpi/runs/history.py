"""The inventory over time, kept in the `--state` of scheduled scans.

At the end of each run that scanned something (`dpi/runs/batch.py`), the merged inventory's
rows are compared with the previous run's: a row that is new, or whose count or last
seen moved, was seen in this run, and the UTC days of its traffic (the day of its first
seen when new, the day of its last seen) join its days. Per row at most `MAX_DAYS`
daily buckets are kept; beyond, the oldest after the first are merged away, so the day a
field first appeared is never lost. The rows of the last two runs are kept too, so that
`dpi diff --state DIR` and `dpi report --state DIR` need no exported file.

This runs once per run on the finished rows, never per value. Everything kept is what
the inventory already holds (data types, fields, counts, masked samples, times): never a
value. A state written before this module has no `history`: it loads empty.

When a parent is found to be a map keyed by names (`dpi/map_keys.py`) after earlier runs
reported its literal keys, the rows kept are renamed as the inventory now names them
(`fold_maps`), so that the state keeps no such key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dpi.inventory import COLUMNS, Row
from dpi.map_keys import Where, template
from dpi.runs.codec import CodecError

# Daily buckets kept per row (a bit more than a year of daily runs).
MAX_DAYS = 400
# Runs whose rows are kept whole: the last two, what diff and "new since" compare.
KEPT_RUNS = 2

RowKey = tuple[str, str, str, str, str, str, str]


def row_key(row: Row) -> RowKey:
    """The contract's identity of a row (spec/inventory.md)."""
    return (row.protocol, row.server, row.api, row.direction, row.location, row.field, row.data_type)


def _day(stamp: str) -> str:
    return stamp[:10]  # ISO 8601 UTC: YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class Run:
    at: str  # when the run ended (UTC, ISO 8601)
    rows: list[Row]


@dataclass(slots=True)
class History:
    days: dict[RowKey, list[str]] = field(default_factory=dict)  # sorted, first kept
    runs: list[Run] = field(default_factory=list)  # oldest first, at most KEPT_RUNS

    def record_run(self, rows: Sequence[Row], at: str) -> None:
        previous = {row_key(r): (r.count, r.last_seen) for r in self.runs[-1].rows} if self.runs else {}
        for row in rows:
            key = row_key(row)
            before = previous.get(key)
            if before == (row.count, row.last_seen):
                continue  # not seen in this run
            days = self.days.setdefault(key, [])
            for stamp in ((row.first_seen, row.last_seen) if before is None else (row.last_seen,)):
                if stamp and _day(stamp) not in days:
                    days.append(_day(stamp))
            _trim_days(days)
        self.runs = [*self.runs, Run(at, list(rows))][-KEPT_RUNS:]

    def fold_maps(self, maps: dict[Where, set[str]]) -> None:
        """The rows and days kept, under parents found to be maps since (`maps`, the
        inventory's), renamed to `{key}`; rows that then share a key are merged: days
        united, counts added, times widened, the earliest sample, the most clients of
        any (the hashes are not kept: a lower bound)."""
        if not maps:
            return
        days: dict[RowKey, list[str]] = {}
        for key, kept in self.days.items():
            merged = days.setdefault(_folded(key, maps), [])
            merged.extend(day for day in kept if day not in merged)
        for merged in days.values():
            _trim_days(merged)
        self.days = days
        self.runs = [Run(run.at, _folded_rows(run.rows, maps)) for run in self.runs]

    def first_day(self, row: Row) -> str:
        days = self.days.get(row_key(row))
        return days[0] if days else _day(row.first_seen)

    def new_since_previous(self) -> list[Row]:
        """Rows of the last run that the run before it did not have (all of them after
        the first run)."""
        if not self.runs:
            return []
        before = {row_key(r) for r in self.runs[-2].rows} if len(self.runs) > 1 else set()
        return [r for r in self.runs[-1].rows if row_key(r) not in before]

    def timeline(self) -> dict[str, Counter[str]]:
        """Per day, how many fields of each category were seen (rows of the last run)."""
        out: dict[str, Counter[str]] = {}
        rows = self.runs[-1].rows if self.runs else []
        for row in rows:
            for day in self.days.get(row_key(row), ()):
                out.setdefault(day, Counter())[row.category] += 1
        return dict(sorted(out.items()))


def _trim_days(days: list[str]) -> None:
    """Sorts a row's days and keeps MAX_DAYS: the oldest after the first go, so when the
    row first appeared stays."""
    days.sort()
    while len(days) > MAX_DAYS:
        del days[1]


def _folded(key: RowKey, maps: dict[Where, set[str]]) -> RowKey:
    parents = maps.get(key[:5])
    if not parents:
        return key
    return (*key[:5], template(key[5], parents, {}), key[6])


def _folded_rows(rows: list[Row], maps: dict[Where, set[str]]) -> list[Row]:
    out: dict[RowKey, Row] = {}
    for row in rows:
        key = _folded(row_key(row), maps)
        held = out.get(key)
        if held is None:
            out[key] = replace(row, field=key[5])
            continue
        count = held.count + row.count
        earlier = row if row.first_seen < held.first_seen else held
        out[key] = replace(
            held,
            count=count,
            first_seen=earlier.first_seen,
            last_seen=max(held.last_seen, row.last_seen),
            clients=max(held.clients, row.clients),
            sample=earlier.sample,
            confidence=round((held.confidence * held.count + row.confidence * row.count) / count, 2),
        )
    return list(out.values())


def _row_from_list(values: Any) -> Row:
    if not isinstance(values, list) or len(values) != len(COLUMNS):
        raise CodecError("malformed history row")
    item = dict(zip(COLUMNS, values))
    try:
        for name in COLUMNS:
            if name in ("count", "clients"):
                item[name] = int(item[name])
            elif name == "confidence":
                item[name] = float(item[name])
            else:
                item[name] = str(item[name])
    except (TypeError, ValueError):
        raise CodecError("malformed history row") from None
    return Row(**item)


def history_to_obj(history: History) -> dict[str, Any]:
    return {
        "days": [[*key, days] for key, days in history.days.items()],
        "runs": [{"at": run.at, "rows": [r.as_list() for r in run.rows]} for run in history.runs],
    }


def history_from_obj(obj: Any) -> History:
    """`None` (a state older than the history): empty."""
    if obj is None:
        return History()
    if not isinstance(obj, dict) or not isinstance(obj.get("days"), list) or not isinstance(obj.get("runs"), list):
        raise CodecError("malformed history")
    history = History()
    for entry in obj["days"]:
        if not isinstance(entry, list) or len(entry) != 8 or not isinstance(entry[7], list):
            raise CodecError("malformed history")
        key: RowKey = tuple(str(x) for x in entry[:7])  # type: ignore[assignment]
        history.days[key] = sorted(str(d)[:10] for d in entry[7])[:MAX_DAYS]
    for run in obj["runs"][-KEPT_RUNS:]:
        if not isinstance(run, dict) or not isinstance(run.get("rows"), list):
            raise CodecError("malformed history")
        history.runs.append(Run(str(run.get("at", "")), [_row_from_list(r) for r in run["rows"]]))
    return history

