"""The formats an inventory is written in: their names, which of them are binary (only to
a file), and the file extensions that pick one. One list for the command line, dpi.toml's
[scan] table and the exporter (`dpi/outputs/export.py`); it imports nothing, so the
command line reads it without loading the exporter."""

from __future__ import annotations

FORMATS = ("csv", "json", "parquet", "xlsx")
BINARY_FORMATS = frozenset({"parquet", "xlsx"})
# -o's extension -> the format written when --format is not given.
FORMAT_OF_EXTENSION = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
