"""Reading back the tables `dpi scan` writes: inventories (and findings) in CSV, JSON,
Parquet or Excel. The one reader `dpi diff` and `dpi report` share.

The format is told by the file's first bytes, not its name (a renamed file still
reads): `PAR1` Parquet, a zip archive (`PK\\x03\\x04`) an Excel workbook (every sheet, in
order: the inventory's are one per category, each with the header), `[` JSON (a list of
objects), anything else CSV (RFC 4180, UTF-8, an optional BOM). Records come back as
dicts of plain Python values: strings from CSV, the written types from JSON, Parquet
and Excel (numbers stay numbers); empty cells are "". Callers check the columns they
need (`require_columns`).

Errors are `InventoryReadError` with one line naming the file, never its content; a
missing optional library (pyarrow for Parquet, openpyxl for Excel) is
`dpi.extras.MissingExtra`, naming the extra to install.

Not supported: CSV with another delimiter or encoding, JSON Lines, Excel's legacy
`.xls`, workbooks whose sheets have different headers (each sheet is read with its own).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dpi.extras import require

# A file bigger than this is not an inventory anyone reads back whole.
MAX_INPUT_BYTES = 512 * 1024 * 1024
MAX_ROWS = 5_000_000

Record = dict[str, Any]

_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


class InventoryReadError(Exception):
    """The file cannot be read as a table dpi wrote; one line naming the file."""


def detect_format(head: bytes) -> str:
    """`parquet`, `xlsx`, `json` or `csv` from a file's first bytes."""
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return "json"
    return "csv"


def read_records(path: Path, *, max_bytes: int = MAX_INPUT_BYTES) -> list[Record]:
    """Every record of the table in `path` (module docstring)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InventoryReadError(f"{path}: larger than {max_bytes} bytes")
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise InventoryReadError(f"{path}: {exc.strerror or 'unreadable'}") from None
    fmt = detect_format(head)
    if fmt == "parquet":
        require("pyarrow", f"reading the Parquet file {path.name}")
        return _parquet(path)
    if fmt == "xlsx":
        require("openpyxl", f"reading the Excel file {path.name}")
        return _xlsx(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InventoryReadError(f"{path}: {exc.strerror or 'unreadable'}") from None
    except UnicodeDecodeError:
        raise InventoryReadError(f"{path}: not UTF-8 text") from None
    return _json(path, text) if fmt == "json" else _csv(path, text)


def require_columns(path: Path, records: Sequence[Record], columns: Iterable[str], what: str) -> None:
    """Raise when the table's first record lacks any of `columns` (an empty table passes)."""
    if not records:
        return
    missing = [c for c in columns if c not in records[0]]
    if missing:
        raise InventoryReadError(f"{path}: not {what} (missing {', '.join(missing)})")


def _limited(path: Path, rows: Iterable[Record]) -> list[Record]:
    out = []
    for i, row in enumerate(rows):
        if i >= MAX_ROWS:
            raise InventoryReadError(f"{path}: more than {MAX_ROWS} rows")
        out.append(row)
    return out


def _csv(path: Path, text: str) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _limited(
            path, ({k: v or "" for k, v in row.items() if k is not None} for row in reader)
        )
    except csv.Error:
        raise InventoryReadError(f"{path}: malformed CSV") from None


def _json(path: Path, text: str) -> list[Record]:
    try:
        loaded = json.loads(text)
    except ValueError:
        raise InventoryReadError(f"{path}: not valid JSON") from None
    if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
        raise InventoryReadError(f"{path}: expected a JSON list of objects")
    return _limited(path, ({k: "" if v is None else v for k, v in r.items()} for r in loaded))


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):  # an empty cell
        return ""
    return value


def _parquet(path: Path) -> list[Record]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors vary by version; never shown
        raise InventoryReadError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    if table.num_rows > MAX_ROWS:
        raise InventoryReadError(f"{path}: more than {MAX_ROWS} rows")
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def _xlsx(path: Path) -> list[Record]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, XML and openpyxl errors alike; never shown
        raise InventoryReadError(f"{path}: not a readable Excel workbook ({type(exc).__name__})") from None
    out: list[Record] = []
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if not header:
                continue
            names = [str(h) if h is not None else "" for h in header]
            for values in rows:
                if all(v is None for v in values):
                    continue
                out.append({n: _plain(v) for n, v in zip(names, values, strict=False) if n})
                if len(out) > MAX_ROWS:
                    raise InventoryReadError(f"{path}: more than {MAX_ROWS} rows")
    finally:
        book.close()
    return out
