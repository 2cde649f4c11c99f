"""`dpi diff OLD NEW` (or `--state PATH`): what changed between two inventories, as a
table, JSON or a workbook; `--fail-on` makes a change fail the build (exit 1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dpi.cli.common import EXIT_OK, EXIT_POLICY, EXIT_USAGE, err
from dpi.outputs.files import write_atomic


def add_diff_parser(sub: Any) -> None:
    diff = sub.add_parser("diff", help="what changed between two inventories (CSV)")
    diff.add_argument("old", metavar="OLD.csv", nargs="?")
    diff.add_argument("new", metavar="NEW.csv", nargs="?")
    diff.add_argument("--state", metavar="PATH", help="compare the last two runs kept in this scan state instead of two files")
    diff.add_argument("--format", choices=("table", "json", "xlsx"), default="table", help="output format (default table; xlsx, also picked by -o FILE.xlsx, needs --out)")
    diff.add_argument("-o", "--out", metavar="FILE", help="write the diff here (default: stdout)")
    diff.add_argument("--fail-on", choices=("new", "any"), help="exit 1 when something new appeared (new) or anything changed (any)")
    diff.add_argument("--ignore-server", action="store_true", help="compare APIs without their server address")
    diff.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    diff.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")


def run(args: argparse.Namespace) -> int:
    from dpi.outputs.diff import DiffError, diff_files, diff_state, output_format, render

    try:
        if getattr(args, "state", None):
            result = diff_state(args.state, ignore_server=args.ignore_server)
        elif args.old and args.new:
            result = diff_files(Path(args.old), Path(args.new), ignore_server=args.ignore_server)
        else:
            raise DiffError("give OLD and NEW inventories, or --state PATH")
    except DiffError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    fmt = output_format(args.format, args.out)
    if fmt == "xlsx" and not args.out:
        err("error: --format xlsx needs --out FILE")
        return EXIT_USAGE
    data = render(result, fmt)
    if args.out:
        write_atomic(Path(args.out), data)
    else:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
    if args.fail_on == "new" and result.has_new():
        return EXIT_POLICY
    if args.fail_on == "any" and result.changes:
        return EXIT_POLICY
    return EXIT_OK
