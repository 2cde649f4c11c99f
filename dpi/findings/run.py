"""Findings for one `dpi scan`: the glue the command line calls (it keeps
`dpi/cli/scan.py` to a few lines). Builds the observer from `--internal`, writes the
inventory with the extra columns (through the contract's writer, dpi/outputs/contract.py),
the findings file (CSV, JSON when the name ends in `.json`, an Excel
workbook for `.xlsx`), and the end-report lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dpi.findings.egress import (
    DEFAULT_INTERNAL,
    EXTRA_COLUMNS,
    Networks,
    extra_json_values,
    extra_values,
)
from dpi.findings.model import (
    FINDING_COLUMNS,
    Finding,
    findings_to_csv,
    findings_to_json,
    sort_findings,
    summary_line,
)
from dpi.findings.observe import FindingsObserver
from dpi.findings.rules import findings
from dpi.outputs.contract import to_csv, to_json

if TYPE_CHECKING:
    from dpi.inventory import Row


class FindingsRun:
    """`internal`: the `--internal` CIDRs (empty: the private ranges). Raises
    `dpi.findings.egress.NetworkError` for a bad CIDR."""

    def __init__(self, internal: Sequence[str] = ()) -> None:
        self.networks = Networks(internal or DEFAULT_INTERNAL)
        self.observer = FindingsObserver(self.networks)
        self.results: list[Finding] = []

    def inventory_text(self, rows: Sequence[Row], fmt: str) -> str:
        """The inventory with `egress` and `auth_share` appended."""
        shares, networks = self.observer.auth_shares(), self.networks
        if fmt == "json":
            return to_json(rows, lambda row: extra_json_values(row, networks, shares))
        return to_csv(rows, EXTRA_COLUMNS, lambda row: extra_values(row, networks, shares))

    def compute(self, rows: Sequence[Row]) -> list[Finding]:
        self.results = findings(rows, self.observer, self.networks)
        return self.results

    def write(self, path: Path) -> None:
        """`--findings FILE`: JSON for `*.json`, a workbook for `*.xlsx`, else CSV. CSV and
        JSON are literal (hosts and APIs come from traffic and may start with `=`); the
        workbook is for spreadsheets: text cells, never formulas."""
        if path.suffix.lower() == ".xlsx":
            from dpi.outputs.export import workbook_bytes

            rows = [
                [item[name] for name in FINDING_COLUMNS]
                for item in (f.as_dict() for f in sort_findings(self.results))
            ]
            path.write_bytes(workbook_bytes({"findings": (FINDING_COLUMNS, rows)}))
            return
        text = (
            findings_to_json(self.results)
            if path.suffix.lower() == ".json"
            else findings_to_csv(self.results)
        )
        path.write_text(text, encoding="utf-8", newline="")

    def summary(self) -> str:
        external = [f for f in self.results if f.kind == "external_endpoint"]
        receiving = [f for f in external if f.category]
        egress = [f for f in self.results if f.kind == "egress_sensitive_data"]
        return (
            summary_line(self.results)
            + f"\nexternal endpoints: {len(external)} ({len(receiving)} receiving sensitive "
            f"data); APIs sending sensitive data out: {len(egress)}"
        )
