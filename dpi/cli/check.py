"""`dpi check`: scan (or read an inventory), evaluate a data policy, fail the build.

Exit status: 0 every rule passes; 1 a rule is violated; 2 bad usage (a bad policy, no
readable capture). The reports for CI (`--junit`, `--sarif`) are written whatever the
verdict, before the exit status is returned, so a failing build still shows why.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.findings.model import Finding
    from dpi.inventory import Row

from dpi.cli.batch import batch_requested
from dpi.cli.common import EXIT_OK, EXIT_POLICY, EXIT_USAGE, UsageError, run_config
from dpi.cli.scan import run as run_scan


class CheckError(Exception):
    """Bad usage of `dpi check` (one line on stderr, exit 2)."""


def add_check_arguments(check: argparse.ArgumentParser) -> None:
    """The options of `check` beyond those it shares with `scan`."""
    check.add_argument("--policy", metavar="FILE", help="policy TOML (default: dpi.toml [policy], else the built-in default policy)")
    check.add_argument("--inventory", metavar="FILE", help="evaluate this inventory (CSV or JSON from `dpi scan`) instead of scanning")
    check.add_argument("--findings-in", metavar="FILE", help="with --inventory: the findings written by `dpi scan --findings`")
    check.add_argument("--junit", metavar="FILE", help="write a JUnit XML report (one test case per rule)")
    check.add_argument("--sarif", metavar="FILE", help="write a SARIF 2.1.0 report (one result per violation)")
    check.add_argument("--print-default-policy", action="store_true", help="print the built-in policy (TOML) and exit")


def run(args: argparse.Namespace) -> int:
    """`dpi check`: the scan is `dpi scan`'s (dpi/cli/scan.py), with findings."""

    def scan(a: argparse.Namespace) -> tuple[int, list[Any], list[Any]]:
        if batch_requested(a):
            raise UsageError("dpi check scans in one process: --state, --jobs and --dask are for dpi scan")
        collected: dict[str, Any] = {}
        status = run_scan(a, collect=collected)
        return status, collected.get("rows", []), collected.get("findings", [])

    try:
        return check(args, scan, run_config(args).policy or None)
    except CheckError as exc:
        raise UsageError(str(exc)) from None


def _policy(args: argparse.Namespace, config_table: dict[str, Any] | None) -> Any:
    from dpi.findings.policy import PolicyError, load_policy

    try:
        if args.policy:
            return load_policy(Path(args.policy))
        if config_table:
            return load_policy(table=config_table)
        return load_policy()
    except PolicyError as exc:
        raise CheckError(str(exc)) from None


def _from_files(args: argparse.Namespace) -> tuple[list[Row], list[Finding]]:
    from dpi.outputs.report import ReportError, read_findings, read_inventory

    try:
        rows = [r.row for r in read_inventory(Path(args.inventory))]
        found = read_findings(Path(args.findings_in)) if args.findings_in else []
    except ReportError as exc:
        raise CheckError(str(exc)) from None
    return rows, found


def check(
    args: argparse.Namespace,
    scan: Callable[[argparse.Namespace], tuple[int, list[Row], list[Finding]]],
    config_table: dict[str, Any] | None = None,
) -> int:
    """`scan(args)` runs the scan with findings and returns (status, rows, findings)."""
    from dpi.findings.egress import NetworkError, Networks
    from dpi.findings.policy import DEFAULT_POLICY
    from dpi.outputs.ci_reports import table, to_junit, to_sarif

    if args.print_default_policy:
        sys.stdout.write(DEFAULT_POLICY.lstrip())
        return EXIT_OK
    policy = _policy(args, config_table)
    if args.inventory:
        if args.paths:
            raise CheckError("give captures or --inventory, not both")
        rows, found = _from_files(args)
        artifact = args.inventory
    else:
        if not args.paths:
            raise CheckError("give captures to scan, or --inventory FILE")
        if args.findings_in:
            raise CheckError("--findings-in goes with --inventory")
        status, rows, found = scan(args)
        if status == EXIT_USAGE:
            return status
        artifact = args.paths[0]
    try:
        networks = Networks(args.internal) if args.internal else Networks()
    except NetworkError as exc:
        raise CheckError(str(exc)) from None
    violations = policy.evaluate(rows, found, networks)
    if args.junit:
        Path(args.junit).write_text(to_junit(policy, violations), encoding="utf-8")
    if args.sarif:
        Path(args.sarif).write_text(to_sarif(policy, violations, _uri(artifact)), encoding="utf-8")
    sys.stderr.write(table(policy, violations) + "\n")
    return EXIT_POLICY if violations else EXIT_OK


def _uri(path: str) -> str:
    """A relative URI where possible (SARIF viewers resolve it against the checkout)."""
    p = Path(path)
    try:
        p = p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    return p.as_posix()
