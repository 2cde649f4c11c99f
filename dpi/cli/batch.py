"""`dpi scan` in batch mode (`--state`, `--jobs`, `--dask`): its options, dpi.toml's
[scan] defaults, and the run (`dpi/runs/batch.py` does the work). `dpi/cli/scan.py`
calls in here; like it, this module touches argv, stdout, stderr and output files.

Exit status (`dpi/cli/common.py`): 0 the scan completed; 1 `--strict` and anything
skipped (see `dpi/runs/strict.py`); 2 bad usage, a state that cannot be used (locked by
another run, unreadable, damaged: `--rebuild-state` starts it over), no readable capture
at all; 130 interrupted (the state keeps every file finished before).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from dpi.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_POLICY,
    EXIT_USAGE,
    UsageError,
    err,
    load_schemas,
    scan_summary,
    tls_layer,
    write_inventory,
)
from dpi.outputs.files import write_atomic
from dpi.outputs.formats import BINARY_FORMATS, FORMATS

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


# -- arguments ----------------------------------------------------------------------


def add_scan_arguments(scan: argparse.ArgumentParser) -> None:
    scan.add_argument("--state", metavar="PATH", help="incremental: remember scanned files and the merged inventory here (directory, or FILE.zst)")
    scan.add_argument("-j", "--jobs", type=int, metavar="N", help="scan in N worker processes, a big capture split by flows over them (default with --state: one per core)")
    scan.add_argument("--dask", metavar="URL", help="scan files on a Dask cluster (scheduler address, e.g. tcp://host:8786)")
    scan.add_argument("--rebuild-state", action="store_true", help="with --state: start the state over from nothing (a damaged state is refused until then); every capture is scanned again")
    scan.add_argument("--settle-seconds", type=float, metavar="S", help="with --state: files modified less than S seconds ago are left for the next run (default 60)")


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


def _set_total(bar: Any, size: int) -> None:
    """The bar's 100%: the bytes the run has to read, known once it has listed them."""
    bar.total = size
    bar.refresh()


def scan(args: argparse.Namespace, config: Any, summary_tail: Callable[[], str] | None = None) -> int:
    """Batch scan. `summary_tail`: lines the caller adds at the end of the summary (the
    config used), before the `--strict` verdict, which stays the last line."""
    from dpi.runs.batch import BatchError, BatchOptions, run_batch

    # Bad schema or key log paths are a usage error here, not in every worker. Without
    # them nothing can be bad: no registry or TLS layer is built (nor their modules
    # imported) in this process, whose workers build their own.
    if args.proto or args.descriptor_set:
        load_schemas(args)
    if args.keylog:
        tls_layer(args)
    if getattr(args, "sensor_pattern", None):
        raise UsageError(
            "--sensor-pattern joins rotated files into one stream; --state, --jobs and --dask "
            "scan files one by one"
        )
    import signal  # here: only batch runs trap SIGTERM and SIGINT

    from dpi.cli import evidence
    from dpi.runs.codec import CodecError
    from dpi.runs.state import StateError

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
        **evidence.batch_options(args),  # --findings, --internal, --tls-coverage
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
                            row_filter=config.allowed,
                            total=partial(_set_total, bar) if bar is not None else None)
    except (BatchError, StateError, CodecError) as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except (OSError, TimeoutError) as exc:
        if args.dask:
            err(f"error: Dask scheduler {args.dask}: {type(exc).__name__}")
            return EXIT_USAGE
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - started
    for warning in outcome.warnings:
        err(f"warning: {warning}")
    nothing = outcome.scanned == 0 and outcome.stats.files == 0 and not outcome.inventory.fields
    if nothing and outcome.listed and outcome.known + outcome.deferred == 0:
        err("error: no readable capture among the inputs")
        return EXIT_USAGE
    rows = config.allowed(outcome.inventory.rows())
    exposure = evidence.finish(args, outcome.evidence, rows)
    write_inventory(rows, args.format, args.out, exposure)
    if args.explain:
        explained = config.allowed_explain(outcome.inventory.explain(), rows)
        write_atomic(Path(args.explain), (json.dumps(explained, indent=2) + "\n").encode())
    if args.summary_json:
        summary = outcome.stats.as_dict() | {
            "rows": len(rows),
            "seconds": round(seconds, 3),
            "batch": outcome.as_dict() | {"jobs": options.jobs or None, "dask": bool(args.dask)},
            "paths": list(args.paths),  # for dpi report's header
        }
        write_atomic(Path(args.summary_json), (json.dumps(summary, indent=2) + "\n").encode())
    if not args.quiet:
        err(scan_summary(outcome.stats, rows, seconds))
        if exposure is not None:
            err(exposure.summary())
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
        err(line)
        if summary_tail:
            err(summary_tail())
    if outcome.interrupted:
        err("interrupted; the state keeps what was finished, the next run goes on")
        return EXIT_INTERRUPTED
    if args.strict:
        from dpi.runs.strict import strict_failure

        failure = strict_failure(
            outcome.stats,
            warnings=len(outcome.warnings),
            dropped_fields=outcome.dropped_fields,
        )
        if failure:
            err(failure)
            return EXIT_POLICY
    return EXIT_OK
