"""Inventory exports: CSV, JSON, Parquet, Excel.

- `csv`: the contract's CSV (spec/inventory.md): RFC 4180, CRLF, header in spec order;
  written by `dpi/outputs/contract.py` in plain Python (no pandas: it takes ~0.7 s and
  ~60 MB to load, more than a small scan).
- `json`: a list of row objects in column order, `dpi/outputs/contract.py` too.
- `parquet`: one table from a pandas DataFrame, the contract's columns and dtypes (pyarrow).
- `xlsx`: a workbook with one sheet per category (PII, PHI, PCI, SECRET; a sheet with
  only the header when a category has no row). Every cell is written as text or number,
  never as a formula: an API path or field name seen in traffic that starts with `=`
  must not run in a spreadsheet. Characters Excel cannot store become U+FFFD.
  `workbook_bytes` does the same for the other tables written for people: findings,
  TLS coverage and `dpi diff` (their CSV and JSON stay literal, as the inventory's).

Not supported: appending to an existing file, other spreadsheet formats.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dpi.inventory import COLUMNS, Row
from dpi.outputs.contract import to_csv, to_dataframe, to_json

if TYPE_CHECKING:
    import pandas

CATEGORIES = ("PII", "PHI", "PCI", "SECRET")


def frame(rows: list[Row]) -> pandas.DataFrame:
    return to_dataframe(rows)


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value  # numpy scalar -> Python


def _parquet(df: pandas.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def _xlsx(df: pandas.DataFrame) -> bytes:
    sheets = {
        category: (
            list(COLUMNS),
            df[df["category"] == category][list(COLUMNS)].itertuples(index=False, name=None),
        )
        for category in CATEGORIES
    }
    return workbook_bytes(sheets)


def workbook_bytes(sheets: Mapping[str, tuple[Sequence[str], Iterable[Iterable[Any]]]]) -> bytes:
    """An xlsx workbook: one sheet per item (name -> (header, rows)), header frozen.
    Strings are always literal text cells (`data_type` "s"), never formulas, whatever
    they start with (`=`, `+`, `-`, `@`): names seen in traffic are attacker-chosen.
    Numbers and booleans stay typed; None is an empty cell. Shared by the inventory,
    findings (`--findings FILE.xlsx`), TLS coverage and `dpi diff` exports."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name)
        for c, title in enumerate(header, 1):
            _put(sheet, 1, c, title)
        for r, row in enumerate(rows, 2):
            for c, value in enumerate(row, 1):
                _put(sheet, r, c, value)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _put(sheet: Any, row: int, column: int, value: Any) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _native(value)
    if value is None:
        return
    if isinstance(value, (bool, int, float)):
        sheet.cell(row=row, column=column, value=value)
        return
    cell = sheet.cell(row=row, column=column, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value)))
    cell.data_type = "s"  # openpyxl reads a leading "=" as a formula


# Text formats straight from the rows (the same bytes the DataFrame path gave: the
# columns are already str/int/float); only the binary ones need pandas.
_TEXT_WRITERS: dict[str, Callable[[list[Row]], str]] = {"csv": to_csv, "json": to_json}
_FRAME_WRITERS = {"parquet": _parquet, "xlsx": _xlsx}


def export_bytes(rows: list[Row], fmt: str) -> bytes:
    """The inventory `rows` in format `fmt` (one of `dpi.outputs.formats.FORMATS`)."""
    if fmt in _TEXT_WRITERS:
        return _TEXT_WRITERS[fmt](rows).encode("utf-8")
    return _FRAME_WRITERS[fmt](frame(rows))
