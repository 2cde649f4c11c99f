"""Command-line side of batch scans (`dpi scan --state/--jobs/--dask`), exports and
`dpi diff`. Split from `dpi/cli.py` (which calls in here) to keep that shared module
small; like it, this module touches argv, stdout, stderr and output files.

Exit status (spec/inventory.md, "The command line"): 0 the scan completed (or, for diff,
ran); 1 a policy failure asked for (`--strict` and anything skipped, see `dpi/strict.py`;
`diff --fail-on`); 2 bad usage, a state that cannot be used (locked by another run,
unreadable, damaged: `--rebuild-state` starts it over), no readable capture at all; 130
interrupted (the state keeps every file finished before).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

FORMATS = ("csv", "json", "parquet", "xlsx")
BINARY_FORMATS = frozenset({"parquet", "xlsx"})
# dpi.toml [scan] keys and their types; flags on the command line win.
SCAN_KEYS: dict[str, tuple[type, ...]] = {
    "state": (str,),
    "jobs": (int, str),  # a count, or "auto"
    "dask": (str,),
    "settle_seconds": (int, float),
    "checkpoint_seconds": (int, float),  # minimum time between two state saves
    "format": (str,),
    "out": (str,),
    "proto": (list,),
    "descriptor_set": (list,),
}

log = logging.getLogger(__name__)


def _err(message: str) -> None:
    sys.stderr.write(f"dpi: {message}\n")


# -- arguments ----------------------------------------------------------------------


def add_scan_arguments(scan: argparse.ArgumentParser) -> None:
    scan.add_argument("--state", metavar="PATH", help="incremental: remember scanned files and the merged inventory here (directory, or FILE.zst)")
    scan.add_argument("-j", "--jobs", type=int, metavar="N", help="scan in N worker processes, a big capture split by flows over them (default with --state: one per core)")
    scan.add_argument("--dask", metavar="URL", help="scan files on a Dask cluster (scheduler address, e.g. tcp://host:8786)")
    scan.add_argument("--rebuild-state", action="store_true", help="with --state: start the state over from nothing (a damaged state is refused until then); every capture is scanned again")
    scan.add_argument("--settle-seconds", type=float, metavar="S", help="with --state: files modified less than S seconds ago are left for the next run (default 60)")


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


def apply_scan_defaults(args: argparse.Namespace, scan_table: dict[str, Any]) -> str | None:
    """Fills unset flags from dpi.toml's [scan] table. Returns a one-line problem, or None."""
    for key, value in scan_table.items():
        if key not in SCAN_KEYS:
            return f"dpi.toml [scan]: unknown key {key!r}"
        if not isinstance(value, SCAN_KEYS[key]) or isinstance(value, bool):
            return f"dpi.toml [scan]: {key} has the wrong type"
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"dpi.toml [scan]: {key} must be a list of strings"
    if args.state is None:
        args.state = scan_table.get("state")
    if args.dask is None:
        args.dask = scan_table.get("dask")
    if args.jobs is None and "jobs" in scan_table:
        jobs = scan_table["jobs"]
        if jobs == "auto":
            args.jobs = 0
        elif isinstance(jobs, int) and jobs >= 1:
            args.jobs = jobs
        else:
            return "dpi.toml [scan]: jobs must be a positive number or \"auto\""
    elif args.jobs is not None and args.jobs < 1:
        return "--jobs must be at least 1"
    if args.settle_seconds is None:
        args.settle_seconds = float(scan_table.get("settle_seconds", 60.0))
    if args.settle_seconds < 0:
        return "settle time must not be negative"
    args.checkpoint_seconds = float(scan_table.get("checkpoint_seconds", 1.0))
    if args.format is None:
        args.format = scan_table.get("format", "csv")
    if args.format not in FORMATS:
        return f"dpi.toml [scan]: format must be one of {', '.join(FORMATS)}"
    if args.out is None:
        args.out = scan_table.get("out")
    if not args.proto:
        args.proto = list(scan_table.get("proto", []))
    if not args.descriptor_set:
        args.descriptor_set = list(scan_table.get("descriptor_set", []))
    if args.format in BINARY_FORMATS and not args.out:
        return f"--format {args.format} needs --out FILE"
    if args.dask and args.jobs is not None:
        return "--jobs and --dask exclude each other (the cluster decides)"
    if getattr(args, "rebuild_state", False) and not args.state:
        return "--rebuild-state needs --state (or state in dpi.toml [scan])"
    return None


def batch_requested(args: argparse.Namespace) -> bool:
    return bool(args.state or args.dask or args.jobs is not None)


# -- output -------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers of a scheduled run's output never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_inventory(rows: list[Any], fmt: str, out: str | None) -> None:
    from dpi.export import export_bytes

    data = export_bytes(rows, fmt)
    if out:
        _write_atomic(Path(out), data)
    else:
        sys.stdout.write(data.decode("utf-8"))  # text formats only (checked up front)
        sys.stdout.flush()


# -- dpi scan in batch mode ---------------------------------------------------------


class _StopFlag:
    """SIGTERM (systemd stop, timeout) and SIGINT end the run after the current file,
    with the state saved."""

    def __init__(self) -> None:
        self.signum = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:  # a second signal: give up at once
            raise KeyboardInterrupt
        self.signum = signum

    def requested(self) -> bool:
        return self.signum != 0


def scan(args: argparse.Namespace, config: Any, summary_tail: Callable[[], str] | None = None) -> int:
    """Batch scan. `summary_tail`: lines the caller adds at the end of the summary (the
    config used), before the `--strict` verdict, which stays the last line."""
    from dpi.batch import BatchError, BatchOptions, run_batch
    from dpi.cli import _load_schemas, _summary, _tls, _UsageError

    # Bad schema or key log paths are a usage error here, not in every worker.
    _load_schemas(args)
    _tls(args)
    if getattr(args, "sensor_pattern", None):
        raise _UsageError(
            "--sensor-pattern joins rotated files into one stream; --state, --jobs and --dask "
            "scan files one by one"
        )
    from dpi import cli_evidence
    from dpi.codec import CodecError
    from dpi.state import StateError

    options = BatchOptions(
        paths=tuple(args.paths),
        state=args.state,
        rebuild_state=bool(getattr(args, "rebuild_state", False)),
        jobs=args.jobs or 0,
        dask=args.dask,
        settle_seconds=args.settle_seconds,
        checkpoint_seconds=args.checkpoint_seconds,
        config_text=config.text,  # the file dpi/config.py found (--config, $DPI_CONFIG, ...)
        proto_dirs=tuple(str(Path(p).resolve()) for p in args.proto),
        descriptor_sets=tuple(str(Path(p).resolve()) for p in args.descriptor_set),
        limit_args=tuple(getattr(args, "limit", [])),
        keylogs=tuple(str(Path(p).resolve()) for p in getattr(args, "keylog", [])),
        topic_schemas=tuple(sorted(getattr(args, "topic_schemas", {}).items())),
        strict=args.strict,
        **cli_evidence.batch_options(args),  # --findings, --internal, --tls-coverage
    )
    bar = None
    # tqdm hides its bar off a terminal (disable=None) anyway: not importing it then
    # keeps scheduled and piped scans from loading it.
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit="B", unit_scale=True, file=sys.stderr, disable=None, desc="scanning", leave=False)
    stop = _StopFlag()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    try:
        outcome = run_batch(options, bar.update if bar is not None else None, stop.requested,
                            row_filter=config.allowed)
    except (BatchError, StateError, CodecError) as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except (OSError, TimeoutError) as exc:
        if args.dask:
            _err(f"error: Dask scheduler {args.dask}: {type(exc).__name__}")
            return EXIT_USAGE
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - started
    for warning in outcome.warnings:
        _err(f"warning: {warning}")
    nothing = outcome.scanned == 0 and outcome.stats.files == 0 and not outcome.inventory.fields
    if nothing and outcome.listed and outcome.known + outcome.deferred == 0:
        _err("error: no readable capture among the inputs")
        return EXIT_USAGE
    rows = config.allowed(outcome.inventory.rows())
    exposure = cli_evidence.finish(args, outcome.evidence, rows)
    if exposure is not None and args.format in ("csv", "json"):
        # The extra columns (dpi/egress.py), as a one-process scan writes them.
        text = exposure.inventory_text(rows, args.format)
        if args.out:
            _write_atomic(Path(args.out), text.encode("utf-8"))
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    else:
        write_inventory(rows, args.format, args.out)
    if args.explain:
        explained = config.allowed_explain(outcome.inventory.explain(), rows)
        _write_atomic(Path(args.explain), (json.dumps(explained, indent=2) + "\n").encode())
    if args.summary_json:
        summary = outcome.stats.as_dict() | {
            "rows": len(rows),
            "seconds": round(seconds, 3),
            "batch": outcome.as_dict() | {"jobs": options.jobs or None, "dask": bool(args.dask)},
            "paths": list(args.paths),  # for dpi report's header
        }
        _write_atomic(Path(args.summary_json), (json.dumps(summary, indent=2) + "\n").encode())
    if not args.quiet:
        _err(_summary(outcome.stats, rows, seconds))
        if exposure is not None:
            _err(exposure.summary())
        line = (
            f"files: {outcome.listed} listed, {outcome.scanned} scanned, "
            f"{outcome.known} already scanned, {outcome.deferred} still being written"
        )
        if outcome.grown:
            line += (
                f", {outcome.grown} grew since their scan ({outcome.appended_read} read on: "
                f"{outcome.appended_records} appended records)"
            )
        if outcome.rewritten:
            line += f", {outcome.rewritten} changed and scanned again whole"
        if outcome.pending_bytes:
            line += f", {outcome.pending_bytes} bytes left for the next run"
        if outcome.unreadable:
            line += f", {outcome.unreadable} unreadable"
        if args.state:
            line += f"; state: {outcome.ledger_files} files"
        _err(line)
        if summary_tail:
            _err(summary_tail())
    if outcome.interrupted:
        _err("interrupted; the state keeps what was finished, the next run goes on")
        return EXIT_INTERRUPTED
    if args.strict:
        from dpi.strict import strict_failure

        failure = strict_failure(
            outcome.stats,
            warnings=len(outcome.warnings),
            dropped_fields=outcome.dropped_fields,
        )
        if failure:
            _err(failure)
            return EXIT_POLICY
    return EXIT_OK


# -- dpi diff -----------------------------------------------------------------------


def diff(args: argparse.Namespace) -> int:
    from dpi.diff import DiffError, diff_files, output_format, render

    try:
        if getattr(args, "state", None):
            from dpi.history import diff_state

            result = diff_state(args.state, ignore_server=args.ignore_server)
        elif args.old and args.new:
            result = diff_files(Path(args.old), Path(args.new), ignore_server=args.ignore_server)
        else:
            raise DiffError("give OLD and NEW inventories, or --state PATH")
    except DiffError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    fmt = output_format(args.format, args.out)
    if fmt == "xlsx" and not args.out:
        _err("error: --format xlsx needs --out FILE")
        return EXIT_USAGE
    data = render(result, fmt)
    if args.out:
        _write_atomic(Path(args.out), data)
    else:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
    if args.fail_on == "new" and result.has_new():
        return EXIT_POLICY
    if args.fail_on == "any" and result.changes:
        return EXIT_POLICY
    return EXIT_OK
