"""TLS coverage: which encrypted flows the scan saw, and which it could read.

An `Observer` (dpi/observer.py) that keeps, per flow under a stream layer, the last
`info()` the layer reported (at attach time and when the flow closes): server, server
name (SNI), ALPN, TLS version, cipher suite, bytes per direction, whether it was
decrypted and, if not, why (`no_key`, `unsupported_suite`, `unsupported_version`,
`missing_handshake`, `resumed_without_key`, `decrypt_failed`, `malformed_record`; see
dpi/tls/layer.py). The list is what operators need to ask the right team for keys.
It never holds key material or payload: layers never put any in `info()`, and only the
columns below are copied from it.

Outputs: `rows()` (plain dicts in column order), `to_csv()` (RFC 4180, header row),
`to_json()` and `to_xlsx()`; `write(path)` picks one by the file name (`.json`, `.xlsx`,
else CSV). CSV and JSON are literal: a server name (SNI) is attacker-chosen and may start
with `=`, so the workbook is the format for spreadsheets (text cells, never formulas:
`dpi.outputs.export.workbook_bytes`). The list is bounded (`MAX_FLOWS`); flows beyond it are counted, not listed.

Lists of separate scans merge in order (`merge`; batch scans fold one per file) and
travel as JSON-safe objects (`to_obj`/`from_obj`, validated: the state keeps them).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from dpi.engine import format_endpoint
from dpi.identifiers import safe_host

if TYPE_CHECKING:
    from dpi.reassembly import Flow

from dpi.observer import Observer

COLUMNS = (
    "server", "sni", "alpn", "version", "cipher",
    "bytes_client", "bytes_server", "decrypted", "reason",
)  # fmt: skip
# Flows listed per scan: a day of a busy link has millions of TLS flows; the summary
# counts all of them, the list keeps the first ones (aggregate with `summary()`).
MAX_FLOWS = 200_000


def _alpn_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return ""


class TlsCoverage(Observer):
    """Collects one row per flow that a stream layer was attached to."""

    def __init__(self, layer: str = "tls") -> None:
        self.layer = layer
        self._rows: dict[int, dict[str, object]] = {}
        self.dropped = 0
        self._merged = 0  # rows merged from other lists, keyed below any flow id

    def __repr__(self) -> str:
        return f"TlsCoverage(flows={len(self._rows)}, dropped={self.dropped})"

    def flow_layer(self, flow: Flow, layer: str, info: dict[str, object]) -> None:
        if layer != self.layer:
            return
        row = self._rows.get(flow.id)
        if row is None:
            if len(self._rows) >= MAX_FLOWS:
                self.dropped += 1
                return
            row = self._rows[flow.id] = {}
        decrypted = bool(info.get("decrypted", False))
        row.update(
            server=format_endpoint(flow.server),
            sni=safe_host(str(info.get("sni", ""))),  # a name from traffic (dpi/identifiers.py)
            alpn=_alpn_text(info.get("alpn", "")),
            version=str(info.get("version", "")),
            cipher=str(info.get("cipher", "")),
            bytes_client=int(info.get("bytes_client", 0)),  # type: ignore[call-overload]
            bytes_server=int(info.get("bytes_server", 0)),  # type: ignore[call-overload]
            decrypted=decrypted,
            reason="" if decrypted else str(info.get("reason", "")),
        )

    def merge(self, other: TlsCoverage) -> None:
        """Appends the rows of `other` (a later, finished scan) after this list's."""
        for row in other._rows.values():
            if len(self._rows) >= MAX_FLOWS:
                self.dropped += 1
                continue
            self._merged += 1
            self._rows[-self._merged] = dict(row)  # flow ids are >= 0: no clash
        self.dropped += other.dropped

    def to_obj(self) -> dict[str, object]:
        """JSON-safe: the rows as lists in `COLUMNS` order, and the dropped count."""
        return {"rows": [list(row.values()) for row in self.rows()], "dropped": self.dropped}

    @classmethod
    def from_obj(cls, obj: object) -> TlsCoverage:
        """Raises `ValueError` (no value quoted) when `obj` is not what `to_obj` makes."""
        rows = obj.get("rows") if isinstance(obj, dict) else None
        dropped = obj.get("dropped") if isinstance(obj, dict) else None
        if rows is None:
            raise ValueError("malformed TLS coverage")
        if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
            raise ValueError("malformed TLS coverage")
        coverage = cls()
        coverage.dropped = dropped
        for values in rows if isinstance(rows, list) else [None]:
            if not isinstance(values, list) or len(values) != len(COLUMNS):
                raise ValueError("malformed TLS coverage row")
            row = dict(zip(COLUMNS, values, strict=True))
            counts = (row["bytes_client"], row["bytes_server"])
            texts = [row[c] for c in COLUMNS if c not in ("bytes_client", "bytes_server", "decrypted")]
            if (
                not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts)
                or not isinstance(row["decrypted"], bool)
                or not all(isinstance(v, str) for v in texts)
            ):
                raise ValueError("malformed TLS coverage row")
            coverage._merged += 1
            coverage._rows[-coverage._merged] = row
        return coverage

    def rows(self) -> list[dict[str, object]]:
        """One dict per flow, keys in `COLUMNS` order, sorted by their values in that
        order (server first): the same list however the scan was split (the order in
        which flows were first seen differs between a one-process scan and the shards
        of a split one, which merge one after the other)."""
        rows = [{c: row[c] for c in COLUMNS} for row in self._rows.values()]
        rows.sort(key=lambda row: tuple(row.values()))
        return rows

    def summary(self) -> dict[str, int]:
        """Flow counts: total, decrypted, and not decrypted per reason."""
        out: dict[str, int] = {"flows": len(self._rows), "decrypted": 0}
        for row in self._rows.values():
            if row["decrypted"]:
                out["decrypted"] += 1
            else:
                key = f"not_decrypted_{row['reason'] or 'unknown'}"
                out[key] = out.get(key, 0) + 1
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow(
                ["true" if v is True else "false" if v is False else v for v in row.values()]
            )
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps(self.rows(), indent=2) + "\n"

    def to_xlsx(self) -> bytes:
        from dpi.outputs.export import workbook_bytes

        rows = [list(row.values()) for row in self.rows()]
        return workbook_bytes({"tls_coverage": (COLUMNS, rows)})

    def write(self, path: Path) -> None:
        """`--tls-coverage FILE`: JSON for `*.json`, a workbook for `*.xlsx`, else CSV."""
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            path.write_bytes(self.to_xlsx())
        elif suffix == ".json":
            path.write_text(self.to_json(), encoding="utf-8", newline="")
        else:
            path.write_text(self.to_csv(), encoding="utf-8", newline="")
