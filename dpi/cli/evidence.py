"""Command-line side of findings and TLS coverage in batch scans (`dpi scan --state/--jobs/
--dask` with `--findings`, `--internal`, `--tls-coverage`). Called by `dpi/cli/batch.py`;
writes the same files as a one-process scan (`dpi/cli/scan.py`), from the evidence the batch
merged file by file (`dpi/runs/evidence.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.findings.run import FindingsRun
    from dpi.inventory import Row
    from dpi.runs.evidence import Evidence


def batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `BatchOptions` fields of the evidence the command line asks for."""
    internal = tuple(getattr(args, "internal", []) or ())
    return {
        "findings": bool(getattr(args, "findings", None) or internal),
        "internal": internal,
        "tls_coverage": bool(getattr(args, "tls_coverage", None)),
    }


def finish(args: argparse.Namespace, evidence: Evidence, rows: list[Row]) -> FindingsRun | None:
    """Findings computed from the merged evidence and written to `--findings`, the TLS
    coverage to `--tls-coverage`. Returns the findings run (for the inventory's extra
    columns and the summary) when findings were asked for, else None. Raises
    `dpi.findings.egress.NetworkError` for a bad `--internal` (checked before the scan already)."""
    # The findings' and coverage's modules are imported only when they were asked for.
    if args.tls_coverage:
        from dpi.findings.coverage import TlsCoverage

        (evidence.tls_coverage or TlsCoverage()).write(Path(args.tls_coverage))
    if not args.findings and not args.internal:
        return None
    from dpi.findings.run import FindingsRun

    run = FindingsRun(args.internal)
    if evidence.findings is not None:
        # This run's --internal decides what is external, as in a one-process scan.
        evidence.findings.networks = run.networks
        run.observer = evidence.findings
    run.compute(rows)
    if args.findings:
        run.write(Path(args.findings))
    return run
