"""What a scan concludes beyond the inventory: exposure findings (egress, unauthenticated
access, leaky responses: see `rules` for the kinds, `model` for the output, `observe`
for what is gathered during a scan), internal networks (`egress`), DNS names (`dns`), TLS
coverage (`coverage`) and the data policy `dpi check` evaluates (`policy`)."""

from __future__ import annotations

from dpi.findings.model import (
    FINDING_COLUMNS,
    Finding,
    Severity,
    finding_id,
    findings_from_records,
    findings_to_csv,
    findings_to_json,
    sort_findings,
    summary_line,
)
from dpi.findings.observe import FindingsObserver
from dpi.findings.rules import findings

__all__ = [
    "FINDING_COLUMNS",
    "Finding",
    "FindingsObserver",
    "Severity",
    "finding_id",
    "findings",
    "findings_from_records",
    "findings_to_csv",
    "findings_to_json",
    "sort_findings",
    "summary_line",
]
