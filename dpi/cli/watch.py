"""`dpi watch`: live traffic from a network interface into one long-running engine, the
inventory rewritten every few minutes (the capture itself is `dpi/runs/live.py`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from dpi.cli.common import (
    CONFIG_HELP,
    EXIT_OK,
    PROTO_HELP,
    UsageError,
    err,
    load_schemas,
    run_config,
    scan_summary,
)


def add_watch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--interface", required=True, metavar="IFACE", help="network interface, e.g. eth0 or lo")
    parser.add_argument("--bpf", metavar="FILTER", help="tcpdump filter expression, compiled once by libpcap")
    parser.add_argument("-o", "--out", required=True, metavar="FILE", help="inventory file, rewritten at every flush")
    parser.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    parser.add_argument("--every", type=float, default=5.0, metavar="MINUTES", help="write the inventory every N minutes (default 5)")
    parser.add_argument("--keep", type=int, default=5, metavar="N", help="previous inventories kept as FILE.1..FILE.N (default 5)")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: until SIGINT/SIGTERM)")
    parser.add_argument("--proto", action="append", default=[], metavar="PATH", help=PROTO_HELP)
    parser.add_argument("--descriptor-set", action="append", default=[], metavar="FILE", help="compiled protobuf descriptor set (repeatable)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary, only warnings and errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")


def run(args: argparse.Namespace) -> int:
    from dpi.build import BuildError, EngineSpec, build_engine
    from dpi.outputs.contract import to_csv, to_json
    from dpi.runs.live import LiveCapture, LiveError, watch, write_rotated

    if args.every <= 0 or args.keep < 0:
        raise UsageError("--every must be positive and --keep not negative")
    schemas = load_schemas(args)
    config = run_config(args)
    try:  # the bounds of dpi.toml [limits], as dpi scan applies them
        engine = build_engine(EngineSpec(config=config, schemas=schemas))
    except BuildError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)

    def flush(engine: Any) -> None:
        rows = config.allowed(engine.inventory.rows())
        write_rotated(out, to_csv(rows) if args.format == "csv" else to_json(rows), args.keep)

    try:
        capture = LiveCapture(args.interface, args.bpf)
    except LiveError as exc:
        raise UsageError(str(exc)) from None
    err(f"watching {args.interface} (link type {capture.linktype}); inventory to {out}")
    started = time.monotonic()
    live = watch(engine, capture, flush, every_s=args.every * 60, duration_s=args.duration)
    if not args.quiet:
        rows = config.allowed(engine.inventory.rows())
        err(scan_summary(engine.stats, rows, time.monotonic() - started))
        err(f"live: {live.packets} packets, {live.kernel_drops} dropped by the kernel, "
            f"{live.truncated} cut, {live.flushes} inventory writes")
    return EXIT_OK
