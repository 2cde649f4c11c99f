"""`dpi report INVENTORY --html FILE`: the HTML page of an inventory (written by
`dpi/outputs/report.py`), with its findings, compliance views and, from a `--state`,
its history."""

from __future__ import annotations

import argparse
from pathlib import Path

from dpi.cli.common import EXIT_OK, UsageError, err


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inventory", metavar="INVENTORY", nargs="?", help="inventory written by `dpi scan` (CSV, JSON, Parquet or Excel); default with --state: the state's last run")
    parser.add_argument("--html", required=True, metavar="FILE", help="write the HTML page here")
    parser.add_argument("--findings-in", metavar="FILE", help="findings written by `dpi scan --findings` (default: computed from the inventory)")
    # The old spelling: `--findings` is an output everywhere else (dpi scan, dpi check).
    parser.add_argument("--findings", dest="findings_legacy", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--internal", action="append", default=[], metavar="CIDR", help="internal network (repeatable; default: the private ranges)")
    parser.add_argument("--compliance-dir", metavar="DIR", help="also write pci-scope.csv, hipaa-phi-flows.csv and gdpr-article30.csv here")
    parser.add_argument("--state", metavar="PATH", help="scan state (dpi scan --state): add when each field first appeared, a timeline and what is new since the previous run")
    parser.add_argument("--summary-json", metavar="FILE", help="the scan's --summary-json: the header names the captures behind the inventory")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.set_defaults(verbose=0)


def run(args: argparse.Namespace) -> int:
    from dpi.findings.egress import NetworkError
    from dpi.outputs.report import ReportError, write_report

    findings_in = args.findings_in
    if args.findings_legacy:
        if findings_in:
            raise UsageError("give the findings once, with --findings-in")
        err("warning: dpi report --findings is now --findings-in (the old spelling will go)")
        findings_in = args.findings_legacy
    if not args.inventory and not args.state:
        raise UsageError("give an INVENTORY, or --state PATH")
    try:
        shown = write_report(
            Path(args.inventory) if args.inventory else None,
            Path(args.html),
            findings_path=Path(findings_in) if findings_in else None,
            internal=args.internal,
            compliance_dir=Path(args.compliance_dir) if args.compliance_dir else None,
            state=args.state,
            summary_path=Path(args.summary_json) if args.summary_json else None,
        )
    except (ReportError, NetworkError) as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        err(f"report: {args.html} ({shown} findings)")
    return EXIT_OK
