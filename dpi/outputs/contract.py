"""The inventory as the output contract writes it (docs/spec/inventory.md): the one CSV
writer and the one JSON writer, each with optional extra columns after the contract's,
and the typed pandas DataFrame the binary formats start from.

CSV is RFC 4180, UTF-8, CRLF, the header in the contract's order; extra columns (the
`egress` and `auth_share` of `--findings`/`--internal`, dpi/findings/egress.py) are
appended after the contract's, never between them, so readers of the contract's columns
read both. Plain Python, no pandas: it takes ~0.7 s and ~60 MB to load, more than a
small scan.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dpi.inventory import COLUMNS, Row

if TYPE_CHECKING:
    import pandas


def to_csv(
    rows: Sequence[Row],
    extra_columns: Sequence[str] = (),
    extra_values: Callable[[Row], Sequence[str]] | None = None,
) -> str:
    """The contract's CSV; with `extra_columns`, `extra_values(row)` gives each line's
    values for them, in the same order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow((*COLUMNS, *extra_columns))
    if extra_values is None:
        for row in rows:
            writer.writerow(row.as_list())
    else:
        for row in rows:
            writer.writerow(row.as_list() + list(extra_values(row)))
    return buffer.getvalue()


def to_json(rows: Sequence[Row], extra: Callable[[Row], Mapping[str, Any]] | None = None) -> str:
    """A list of row objects, keys in the contract's order; `extra(row)` adds keys after
    them."""
    items: list[dict[str, Any]] = []
    for row in rows:
        item = dict(zip(COLUMNS, row.as_list()))
        if extra is not None:
            item.update(extra(row))
        items.append(item)
    return json.dumps(items, indent=2) + "\n"


def to_dataframe(rows: Sequence[Row]) -> pandas.DataFrame:
    import pandas  # the only pandas import: the library is slow to load and optional on the scan path

    frame = pandas.DataFrame([row.as_list() for row in rows], columns=list(COLUMNS))
    return frame.astype({"count": "int64", "clients": "int64", "confidence": "float64"})
