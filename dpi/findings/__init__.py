"""What a scan concludes beyond the inventory: exposure findings (egress, unauthenticated
access, leaky responses: see `rules` for the kinds, `model` for the output, `observe`
for what is gathered during a scan), internal networks (`egress`), DNS names (`dns`), TLS
coverage (`coverage`) and the data policy `dpi check` evaluates (`policy`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The names above, imported from their module when first asked for (PEP 562): every scan
# imports `dpi.findings.coverage`, and importing the package must not also load the
# exposure rules and observer (their regexes and dataclasses, ~8% of a small scan's
# start-up) that only --findings, --internal and `dpi check` use.
_HOMES = {
    "FINDING_COLUMNS": "model",
    "Finding": "model",
    "Severity": "model",
    "finding_id": "model",
    "findings_from_records": "model",
    "findings_to_csv": "model",
    "findings_to_json": "model",
    "sort_findings": "model",
    "summary_line": "model",
    "FindingsObserver": "observe",
    "findings": "rules",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
