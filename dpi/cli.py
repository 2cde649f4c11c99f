"""`dpi` command line (spec/inventory.md, "The command line"). The only module that
touches argv, stdout and stderr.

Exit status: 0 the scan completed (even if damaged data was skipped: warnings say what
and where); 2 bad usage or no readable capture at all; 1 a policy failure the user asked
for (`--strict` with warnings). Errors are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and status 2, as argparse does, but ours
        self.exit(EXIT_USAGE, f"dpi: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dpi", description="Inventory the sensitive data in packet captures.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    scan = sub.add_parser("scan", help="scan captures (files or directories) into one inventory")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="pcap/pcapng files (.gz/.zst too) or directories")
    scan.add_argument("-o", "--out", metavar="FILE", help="write the inventory here (default: stdout)")
    scan.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    scan.add_argument("--proto", action="append", default=[], metavar="DIR", help="directory of .proto files for gRPC/protobuf (repeatable)")
    scan.add_argument("--descriptor-set", action="append", default=[], metavar="FILE", help="compiled protobuf descriptor set (repeatable)")
    scan.add_argument("--config", metavar="FILE", help="dpi.toml with extra classifiers and allow rules (default: ./dpi.toml if present)")
    scan.add_argument("--explain", metavar="FILE", help="write why each row is there (JSON; never values)")
    scan.add_argument("--summary-json", metavar="FILE", help="write the scan summary as JSON")
    scan.add_argument("--strict", action="store_true", help="exit 1 when anything was skipped; re-raise internal errors")
    scan.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    scan.add_argument("-q", "--quiet", action="store_true", help="no summary, only warnings and errors")
    scan.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    return parser


def _err(message: str) -> None:
    sys.stderr.write(f"dpi: {message}\n")


def _load_schemas(args: argparse.Namespace) -> Any:
    """Always a registry: server reflection seen in the capture fills it too."""
    from protocols.protobuf import SchemaError, SchemaRegistry

    registry = SchemaRegistry()
    try:
        if args.proto:
            for warning in registry.load_proto_dirs([Path(p) for p in args.proto]):
                _err(f"warning: {warning}")
        for path in args.descriptor_set:
            registry.load_descriptor_set(Path(path))
    except SchemaError as exc:
        raise _UsageError(str(exc)) from None
    return registry


class _UsageError(Exception):
    pass


def _summary(stats: Any, rows: list[Any], seconds: float) -> str:
    by_category: dict[str, int] = {}
    for row in rows:
        by_category[row.category] = by_category.get(row.category, 0) + 1
    apis = len({(r.protocol, r.server, r.api) for r in rows})
    mb = stats.bytes_read / 1e6
    rate = mb / seconds if seconds > 0 else 0.0
    categories = ", ".join(f"{k} {v}" for k, v in sorted(by_category.items())) or "none"
    protocols = ", ".join(f"{k} {v}" for k, v in sorted(stats.messages.items())) or "none"
    skipped = []
    if stats.decode_errors:
        skipped.append(f"{stats.decode_errors} undecodable frames")
    if stats.gaps:
        skipped.append(f"{stats.gaps} gaps ({stats.gap_bytes} bytes lost)")
    if stats.protocol_errors:
        skipped.append(f"{stats.protocol_errors} flows stopped on protocol errors")
    if stats.bugs:
        skipped.append(f"{stats.bugs} flows dropped on internal errors")
    if stats.unidentified_flows:
        skipped.append(f"{stats.unidentified_flows} flows of unknown protocols")
    lines = [
        f"scanned {stats.files} file(s), {mb:.1f} MB, {stats.frames} packets, "
        f"{stats.flows} TCP flows ({stats.partial_flows} without handshake) "
        f"in {seconds:.1f} s ({rate:.1f} MB/s)",
        f"messages: {protocols}",
        f"sensitive fields: {len(rows)} on {apis} APIs ({categories})",
    ]
    if skipped:
        lines.append("skipped: " + "; ".join(skipped))
    return "\n".join(lines)


def _config(args: argparse.Namespace) -> Any:
    from classifiers._configured import ConfigError
    from dpi.config import load_config

    path = Path(args.config) if args.config else None
    if path is None and Path("dpi.toml").is_file():
        path = Path("dpi.toml")
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None


def _scan(args: argparse.Namespace) -> int:
    from dpi.classify import ClassifierSet
    from dpi.engine import Engine
    from dpi.inventory import to_csv, to_json
    from dpi.scanner import expand, scan_inputs
    from protocols.base import DissectorOptions

    schemas = _load_schemas(args)
    config = _config(args)
    warnings: list[str] = []
    inputs = expand(args.paths, warnings)
    if not inputs:
        for warning in warnings:
            _err(f"error: {warning}")
        if not warnings:
            _err("error: no capture to scan")
        return EXIT_USAGE
    for warning in warnings:
        _err(f"warning: {warning}")
    engine = Engine(
        options=DissectorOptions(schemas=schemas),
        classifiers=ClassifierSet.with_extra(list(config.classifiers)),
        strict=args.strict,
    )
    started = time.monotonic()
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(
            total=sum(i.size for i in inputs),
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            disable=None,  # off when stderr is not a terminal
            desc="scanning",
            leave=False,
        )
    try:
        scanned = scan_inputs(engine, inputs, bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - started
    stats = engine.stats
    if scanned == 0:
        # Nothing readable: every reason is an error, one line each.
        for warning in stats.warnings:
            _err(f"error: {warning}")
        if len(inputs) > 1 or not stats.warnings:
            _err("error: no readable capture among the inputs")
        return EXIT_USAGE
    for warning in stats.warnings:
        _err(f"warning: {warning}")
    rows = config.allowed(engine.inventory.rows())
    text = to_csv(rows) if args.format == "csv" else to_json(rows)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if args.explain:
        Path(args.explain).write_text(
            json.dumps(engine.inventory.explain(), indent=2) + "\n", encoding="utf-8"
        )
    if args.summary_json:
        summary = stats.as_dict() | {"rows": len(rows), "seconds": round(seconds, 3)}
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        _err(_summary(stats, rows, seconds))
    if args.strict and (stats.warnings or warnings or stats.decode_errors or stats.gaps):
        _err("strict: data was skipped (see warnings); exit status 1")
        return EXIT_POLICY
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2) if not args.quiet else logging.ERROR
    logging.basicConfig(level=level, format="dpi: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "scan":
            return _scan(args)
    except _UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # File names are ours to show; the OS message never quotes file contents.
        _err(f"error: {exc.filename or ''}: {exc.strerror or type(exc).__name__}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, no traceback, no payload
        if getattr(args, "strict", False):
            raise
        _err(f"internal error ({type(exc).__name__}); rerun with --strict for details")
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
