"""Differences between two inventories (any format `dpi scan` writes), for alerting.

Reports, from OLD to NEW:
- `new_api`: an API (protocol, server, api) carrying sensitive data that OLD did not have;
- `new_field`: a sensitive field on an API that OLD knew;
- `new_type`: a data type on a field that OLD knew with other types;
- `gone_field`: a field of OLD that NEW no longer has.

Comparison follows the spec's rules for readers: API placeholders compare by position
only (`{id}` equals `{uuid}`), field paths case-insensitively and ignoring `[]`. With
`ignore_server`, servers are left out of every key (cloud addresses change). Nothing but
the key columns, data types and categories is read or shown (never `sample`).

Outputs: `to_table` (aligned text), `to_json` and `to_xlsx`; `render` picks one
(`OUTPUT_FORMATS`). Table and JSON are literal: API and field names come from traffic and
may start with `=`, `+`, `-` or `@`, so the workbook (`--format xlsx`, or `-o FILE.xlsx`)
is the format for spreadsheets: text cells, never formulas (`dpi.outputs.export.workbook_bytes`).

Not supported: renamed APIs or fields (they show as one new and one gone).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dpi.outputs.inventory_io import (
    InventoryReadError,
    detect_format,
    read_records,
    require_columns,
)

if TYPE_CHECKING:
    from dpi.inventory import Row as InventoryRow

KEY_COLUMNS = ("protocol", "server", "api", "direction", "location", "field", "data_type", "category")
KINDS = ("new_api", "new_field", "new_type", "gone_field")
NEW_KINDS = frozenset({"new_api", "new_field", "new_type"})
OUTPUT_FORMATS = ("table", "json", "xlsx")
CHANGE_COLUMNS = (
    "kind", "protocol", "server", "api", "direction", "location", "field", "data_types",
    "categories",
)  # fmt: skip
# A row is a handful of short strings; an inventory beyond this is not one (and a diff
# must not load an arbitrary file whole).
MAX_ROWS = 5_000_000
_PLACEHOLDER = re.compile(r"\{[^{}/]*\}")


class DiffError(Exception):
    """An input is not an inventory; one-line reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    kind: str
    protocol: str
    server: str
    api: str
    direction: str = ""
    location: str = ""
    field: str = ""
    data_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "protocol": self.protocol,
            "server": self.server,
            "api": self.api,
            "direction": self.direction,
            "location": self.location,
            "field": self.field,
            "data_types": list(self.data_types),
            "categories": list(self.categories),
        }


@dataclass(slots=True)
class Diff:
    changes: list[Change] = field(default_factory=list)

    def has_new(self) -> bool:
        return any(c.kind in NEW_KINDS for c in self.changes)

    def counts(self) -> dict[str, int]:
        return {kind: sum(c.kind == kind for c in self.changes) for kind in KINDS}


Row = dict[str, str]


def read_inventory(path: Path) -> list[Row]:
    """The key columns of an inventory in any format `dpi scan` writes (CSV, JSON,
    Parquet, Excel: `dpi.outputs.inventory_io`). A CSV must have the header even when empty."""
    try:
        records = read_records(path)
        require_columns(path, records, KEY_COLUMNS, "an inventory")
    except InventoryReadError as exc:
        raise DiffError(str(exc)) from None
    if not records and detect_format(_head(path)) == "csv":
        _check_csv_header(path)
    if len(records) > MAX_ROWS:
        raise DiffError(f"{path}: more than {MAX_ROWS} rows")
    return [{c: str(record[c]) for c in KEY_COLUMNS} for record in records]


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(16)


def _check_csv_header(path: Path) -> None:
    """An inventory CSV without rows still has the contract's header."""
    first = path.read_text(encoding="utf-8-sig").partition("\n")[0]
    names = next(csv.reader([first]), [])
    missing = [c for c in KEY_COLUMNS if c not in names]
    if missing:
        raise DiffError(f"{path}: not an inventory (missing {', '.join(missing)})")


def _api(row: Row, ignore_server: bool) -> tuple[str, ...]:
    server = "" if ignore_server else row["server"]
    return (row["protocol"], server, _PLACEHOLDER.sub("{}", row["api"]))


def _field(row: Row, ignore_server: bool) -> tuple[str, ...]:
    path = row["field"].replace("[]", "").lower()
    return (*_api(row, ignore_server), row["direction"], row["location"], path)


def diff_rows(old: list[Row], new: list[Row], *, ignore_server: bool = False) -> Diff:
    old_apis = {_api(r, ignore_server) for r in old}
    old_types: dict[tuple[str, ...], set[str]] = {}
    for r in old:
        old_types.setdefault(_field(r, ignore_server), set()).add(r["data_type"])
    new_fields: dict[tuple[str, ...], list[Row]] = {}
    for r in new:
        new_fields.setdefault(_field(r, ignore_server), []).append(r)

    out = Diff()
    apis_done: set[tuple[str, ...]] = set()
    new_by_api: dict[tuple[str, ...], list[Row]] = {}
    for r in new:
        new_by_api.setdefault(_api(r, ignore_server), []).append(r)
    for key, rows in new_by_api.items():
        if key in old_apis:
            continue
        apis_done.add(key)
        first = rows[0]
        out.changes.append(
            Change(
                kind="new_api",
                protocol=first["protocol"],
                server=first["server"],
                api=first["api"],
                data_types=tuple(sorted({r["data_type"] for r in rows})),
                categories=tuple(sorted({r["category"] for r in rows})),
            )
        )
    for key, rows in new_fields.items():
        if key[:3] in apis_done:
            continue
        first = rows[0]
        types = {r["data_type"] for r in rows}
        before = old_types.get(key)
        if before is None:
            kind, shown = "new_field", types
        else:
            shown = types - before
            if not shown:
                continue
            kind = "new_type"
        out.changes.append(
            Change(
                kind=kind,
                protocol=first["protocol"],
                server=first["server"],
                api=first["api"],
                direction=first["direction"],
                location=first["location"],
                field=first["field"],
                data_types=tuple(sorted(shown)),
                categories=tuple(sorted({r["category"] for r in rows if r["data_type"] in shown})),
            )
        )
    for r in old:
        key = _field(r, ignore_server)
        if key in new_fields:
            continue
        new_fields[key] = []  # report each gone field once
        out.changes.append(
            Change(
                kind="gone_field",
                protocol=r["protocol"],
                server=r["server"],
                api=r["api"],
                direction=r["direction"],
                location=r["location"],
                field=r["field"],
                data_types=tuple(sorted(old_types[key])),
            )
        )
    order = {kind: i for i, kind in enumerate(KINDS)}
    out.changes.sort(
        key=lambda c: (order[c.kind], c.protocol, c.server, c.api, c.direction, c.location, c.field)
    )
    return out


def diff_files(old: Path, new: Path, *, ignore_server: bool = False) -> Diff:
    return diff_rows(read_inventory(old), read_inventory(new), ignore_server=ignore_server)


def to_json(diff: Diff) -> str:
    doc = {"counts": diff.counts(), "changes": [c.as_dict() for c in diff.changes]}
    return json.dumps(doc, indent=2) + "\n"


def to_table(diff: Diff) -> str:
    if not diff.changes:
        return "no changes\n"
    header = ("kind", "protocol", "server", "api", "direction", "location", "field", "data_types")
    lines = [header] + [
        (c.kind, c.protocol, c.server, c.api, c.direction, c.location, c.field, ",".join(c.data_types))
        for c in diff.changes
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )
    counts = ", ".join(f"{n} {kind}" for kind, n in diff.counts().items() if n)
    return f"{text}\n\n{counts}\n"


def to_xlsx(diff: Diff) -> bytes:
    """One sheet of changes (`CHANGE_COLUMNS`; lists joined by `,`) and one of counts."""
    from dpi.outputs.export import workbook_bytes

    changes = [
        [*(c.as_dict()[k] for k in CHANGE_COLUMNS[:-2]), ",".join(c.data_types), ",".join(c.categories)]
        for c in diff.changes
    ]
    counts = list(diff.counts().items())
    return workbook_bytes({"changes": (CHANGE_COLUMNS, changes), "counts": (("kind", "count"), counts)})


def output_format(fmt: str, out: str | None) -> str:
    """The format to write: `fmt` (`--format`), except that the default table written to
    a `*.xlsx` file is a workbook (a text table there is never what is wanted)."""
    if fmt == "table" and out is not None and out.lower().endswith(".xlsx"):
        return "xlsx"
    return fmt


def render(diff: Diff, fmt: str) -> bytes:
    """`diff` in `fmt` (one of `OUTPUT_FORMATS`), as the bytes to write."""
    if fmt == "xlsx":
        return to_xlsx(diff)
    return (to_json(diff) if fmt == "json" else to_table(diff)).encode("utf-8")


def diff_state(location: str, *, ignore_server: bool = False) -> Any:
    """`dpi diff --state`: the last two runs kept in the state (dpi/runs/history.py)."""
    from dpi.runs.state import StateError, read_history

    try:
        history = read_history(location)
    except StateError as exc:
        raise DiffError(str(exc)) from None
    if len(history.runs) < 2:
        raise DiffError(f"{location}: fewer than two runs recorded in this state (nothing to compare yet)")

    def keyed(rows: list[InventoryRow]) -> list[Row]:
        return [{c: str(getattr(r, c)) for c in KEY_COLUMNS} for r in rows]

    return diff_rows(keyed(history.runs[-2].rows), keyed(history.runs[-1].rows), ignore_server=ignore_server)
