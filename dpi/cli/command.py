"""The `dpi` command: the parser of every subcommand (each module of `dpi/cli/` adds its
own options) and `main`, which runs one and turns what goes wrong into one line on
stderr and an exit status (`dpi/cli/common.py`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from dpi import logsetup
from dpi.cli import check, diff, report, scan, spec, watch
from dpi.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, err
from dpi.collector import tune_collector
from dpi.extras import MissingExtra, hint_for


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and status 2, as argparse does, but ours
        self.exit(EXIT_USAGE, f"dpi: error: {message}\n")


class _VersionAction(argparse.Action):
    """`dpi --version`: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"dpi {_version()}\n")
        parser.exit(EXIT_OK)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dpi-inventory")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of `dpi`. With `command`, only that subcommand's options are added (the
    others are listed, as `dpi --help` shows them, but left empty): argparse reads only
    the chosen subcommand's parser, and adding every option of the six (scan's three
    times) was ~2% of a small scan."""
    parser = _Parser(prog="dpi", description="Inventory the sensitive data in packet captures.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    scan_parser = sub.add_parser("scan", help="scan captures (files or directories) into one inventory")
    if command in (None, "scan"):
        scan_parser.add_argument("paths", nargs="+", metavar="PATH", help="pcap/pcapng files (.gz/.zst too), directories, s3:// URLs, or - for one capture on stdin")
        scan.add_scan_options(scan_parser)
    check_parser = sub.add_parser("check", help="scan captures (or read an inventory) and fail when a data policy is violated")
    if command in (None, "check"):
        check_parser.add_argument("paths", nargs="*", metavar="PATH", help="pcap/pcapng files (.gz/.zst too) or directories")
        scan.add_scan_options(check_parser)
        check.add_check_arguments(check_parser)
    spec_parser = sub.add_parser("spec", help="scan captures and write OpenAPI/AsyncAPI documents of the APIs and Kafka topics seen")
    if command in (None, "spec"):
        spec_parser.add_argument("paths", nargs="+", metavar="PATH", help="pcap/pcapng files (.gz/.zst too) or directories")
        scan.add_scan_options(spec_parser)
        spec.add_spec_arguments(spec_parser)
    watch_parser = sub.add_parser("watch", help="inventory live traffic from a network interface (Linux, root)")
    if command in (None, "watch"):
        watch.add_watch_arguments(watch_parser)
    report_parser = sub.add_parser("report", help="write a self-contained HTML report of an inventory")
    if command in (None, "report"):
        report.add_report_arguments(report_parser)
    diff.add_diff_parser(sub)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names: its first argument that is not an option (`dpi` has
    no option taking a value), when it is one of ours; None otherwise (every subcommand
    then gets its options, so that any error or help reads as it always did)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in _RUN else None
    return None


# `dpi SUBCOMMAND`: the function that runs it.
_RUN = {
    "scan": scan.run,
    "watch": watch.run,
    "diff": diff.run,
    "report": report.run,
    "check": check.run,
    "spec": spec.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # run as the program: the process is ours to tune
        tune_collector()
    args = build_parser(_command(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    logsetup.configure(args.verbose, quiet=args.quiet)  # dpi's loggers only; values redacted
    try:
        run = _RUN.get(args.command)
        if run is not None:
            return run(args)
    except (UsageError, MissingExtra) as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        # An optional library found missing only at run time (dpi/extras.py names the
        # extra); any other missing module is a broken install, reported by name.
        err(f"error: {hint_for(exc) or f'{exc.name} is not installed (a broken install?)'}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # File names are ours to show; the OS message never quotes file contents.
        err(f"error: {exc.filename or ''}: {exc.strerror or type(exc).__name__}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, no traceback, no payload
        if getattr(args, "strict", False):
            raise
        err(f"internal error ({type(exc).__name__}); rerun with --strict for details")
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
