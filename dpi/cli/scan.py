"""`dpi scan`: captures in, the inventory out (and, when asked, findings, TLS coverage,
the reasons behind each row and a JSON summary). One process here; `--state`, `--jobs`
and `--dask` hand the scan to `dpi/cli/batch.py`. `dpi check` and `dpi spec` run the
same scan (`run(args, collect)`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dpi.cli import batch
from dpi.cli.common import (
    CONFIG_HELP,
    EXIT_OK,
    EXIT_POLICY,
    EXIT_USAGE,
    PROTO_HELP,
    UsageError,
    config_line,
    err,
    load_schemas,
    run_config,
    scan_summary,
    tls_layer,
    write_inventory,
)
from dpi.outputs.formats import FORMAT_OF_EXTENSION, FORMATS


def add_scan_options(parser: argparse.ArgumentParser) -> None:
    """The options of `scan`, which `check` takes too (it scans the same way)."""
    parser.add_argument("-o", "--out", metavar="FILE", help="write the inventory here (default: stdout); its extension (.csv .json .parquet .xlsx) sets the format")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from --out's extension, else csv; parquet and xlsx need --out)")
    parser.add_argument("--proto", action="append", default=[], metavar="PATH", help=PROTO_HELP)
    parser.add_argument("--topic-schema", action="append", default=[], metavar="TOPIC=MESSAGE", help="decode Kafka values of TOPIC (a glob) as this protobuf message type from --proto/--descriptor-set (repeatable)")
    parser.add_argument("--avro-schema", action="append", default=[], metavar="DIR", help="directory of Avro .avsc schemas for Kafka values (repeatable); Schema Registry answers in the capture are used too")
    parser.add_argument("--schema-registry", metavar="URL", help="fetch unknown Avro schema ids from this Schema Registry (network access: an explicit opt-in)")
    parser.add_argument("--descriptor-set", action="append", default=[], metavar="FILE", help="compiled protobuf descriptor set (repeatable)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--explain", metavar="FILE", help="write why each row is there (JSON; never values)")
    parser.add_argument("--summary-json", metavar="FILE", help="write the scan summary as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything was skipped; re-raise internal errors")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary, only warnings and errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE", help="set a bound, e.g. max_body_bytes=16m (repeatable; names: README 'Hardening')")
    batch.add_scan_arguments(parser)  # --state, --jobs, --dask (dpi/cli/batch.py)
    parser.add_argument("--internal", action="append", default=[], metavar="CIDR", help="internal network (repeatable; default: the private ranges); adds the egress and auth_share columns")
    parser.add_argument("--keylog", action="append", default=[], metavar="FILE", help="TLS key log (SSLKEYLOGFILE format) to decrypt TLS flows (repeatable); pcapng secrets blocks are used too")
    parser.add_argument("--tls-coverage", metavar="FILE", help="write the TLS flows seen and whether each was decrypted, or why not (CSV; JSON for *.json; Excel for *.xlsx)")
    parser.add_argument("--findings", metavar="FILE", help="write exposure findings (CSV; JSON for *.json; Excel for *.xlsx); adds the egress and auth_share columns")
    parser.add_argument("--sensor-pattern", metavar="REGEX", help="file-name regex whose 'sensor' group (or first group) names the sensor of rotated capture sets")
    parser.add_argument("--separate-files", action="store_true", help="read every file alone (no capture sets, no sensor merge)")


def _topic_schemas(args: argparse.Namespace, schemas: Any) -> dict[str, str]:
    """`--topic-schema TOPIC=MESSAGE`: each message type must be in the loaded schemas."""
    mapping: dict[str, str] = {}
    for text in args.topic_schema:
        topic, sep, message = text.partition("=")
        if not sep or not topic or not message:
            raise UsageError(f"--topic-schema wants TOPIC=MESSAGE, got {text!r}")
        if schemas.resolve(message) is None:
            raise UsageError(
                f"--topic-schema: message type {message!r} is not in the --proto/--descriptor-set schemas"
            )
        mapping[topic] = message
    return mapping


def _avro_schemas(args: argparse.Namespace) -> Any:
    """`--avro-schema DIR` and `--schema-registry URL` (protocols/avro/_schemas.py)."""
    from protocols.avro import AvroSchemaError, AvroSchemas

    dirs = getattr(args, "avro_schema", [])
    url = getattr(args, "schema_registry", None) or ""
    if (dirs or url) and batch.batch_requested(args):
        raise UsageError("--avro-schema/--schema-registry do not work with --state, --jobs or --dask yet")
    if dirs or url:
        from dpi.extras import require

        require("fastavro", "--avro-schema" if dirs else "--schema-registry")
    try:
        return AvroSchemas.from_dirs([Path(d) for d in dirs], url)
    except AvroSchemaError as exc:
        raise UsageError(str(exc)) from None


def _format_from_extension(args: argparse.Namespace, scan_table: dict[str, Any]) -> None:
    """`-o x.parquet` writes Parquet unless --format says otherwise; an `out` from
    dpi.toml [scan] does the same unless [scan] names a format."""
    if args.format is not None:
        return
    out = args.out
    if out is None and "format" not in scan_table and isinstance(scan_table.get("out"), str):
        out = scan_table["out"]
    if out:
        args.format = FORMAT_OF_EXTENSION.get(Path(out).suffix.lower())


def _check_inputs(args: argparse.Namespace) -> None:
    """Standard input (`-`) and URLs: what they need before anything runs."""
    from dpi.extras import require_url, url_scheme

    urls = [p for p in args.paths if url_scheme(p) is not None]
    for url in urls:
        require_url(url)
    stdin = args.paths.count("-")
    if stdin > 1:
        raise UsageError("- (standard input) can be read only once")
    if urls and not batch.batch_requested(args):
        args.jobs = 1  # objects are read file by file, as in a batch scan (dpi/runs/sources.py)
    if stdin and batch.batch_requested(args):
        raise UsageError(
            "- (standard input) is one stream: not with URLs, --state, --jobs or --dask"
        )


def _check_extras(args: argparse.Namespace) -> None:
    """Optional libraries the asked-for outputs need (dpi/extras.py), before scanning."""
    from dpi.extras import require, require_format

    require_format(args.format, f"--format {args.format}")
    for flag, value in (("--findings", args.findings), ("--tls-coverage", args.tls_coverage)):
        if value and Path(value).suffix.lower() == ".xlsx":
            require("openpyxl", f"{flag} FILE.xlsx")
    if args.dask:
        require("dask", "--dask")
        require("distributed", "--dask")


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path writable, checked before the scan (not after it); nothing is
    created here."""
    import os

    outputs = (
        ("--out", args.out),
        ("--findings", args.findings),
        ("--explain", args.explain),
        ("--summary-json", args.summary_json),
        ("--tls-coverage", args.tls_coverage),
    )
    for flag, value in outputs:
        if not value:
            continue
        path = Path(value)
        parent = path.parent
        if path.is_dir():
            problem = "is a directory"
        elif not parent.is_dir():
            problem = f"no such directory {parent}"
        elif path.exists() and not os.access(path, os.W_OK):
            problem = "not writable"
        elif not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
            problem = f"directory {parent} not writable"
        else:
            continue
        raise UsageError(f"{flag} {value}: {problem}")


def _expand(paths: Sequence[str], warnings: list[str]) -> list[Any]:
    """`scanner.expand`, with `-` (standard input) kept in its place."""
    from dpi.runs.scanner import Input, expand

    inputs: list[Any] = []
    for path in paths:
        inputs.extend([Input(Path(path), 0)] if path == "-" else expand([path], warnings))
    return inputs


def run(args: argparse.Namespace, collect: dict[str, Any] | None = None) -> int:
    """`dpi scan`. With `collect` (`dpi check`): findings are always computed, the rows
    and findings are put in it, and the inventory is written only to `--out`."""
    from dpi.build import EngineSpec, build_engine
    from dpi.runs.scan_trace import ScanTrace

    config = run_config(args)
    _format_from_extension(args, config.scan)
    problem = batch.apply_scan_defaults(args, config.scan)  # dpi.toml [scan]
    if problem:
        raise UsageError(problem)
    _check_inputs(args)
    if collect is not None and batch.batch_requested(args):
        raise UsageError("dpi check reads local captures: URLs are for dpi scan")
    _check_extras(args)
    _check_outputs(args)
    exposure = _exposure(args, always=collect is not None)
    limits, reassembly = _limits(args, config)
    schemas = collect["schemas"] if collect and "schemas" in collect else load_schemas(args)  # dpi spec shares it
    args.topic_schemas = _topic_schemas(args, schemas)
    avro = _avro_schemas(args)
    if batch.batch_requested(args):
        return batch.scan(args, config, summary_tail=lambda: config_line(config))
    tls, coverage = tls_layer(args)
    warnings: list[str] = []
    inputs = _expand(args.paths, warnings)
    if not inputs:
        for warning in warnings:
            err(f"error: {warning}")
        if not warnings:
            err("error: no capture to scan")
        return EXIT_USAGE
    for warning in warnings:
        err(f"warning: {warning}")
    trace = ScanTrace()
    engine = build_engine(EngineSpec(
        config=config, schemas=schemas, topic_schemas=tuple(args.topic_schemas.items()), avro=avro,
        strict=args.strict, bounds=(limits, reassembly), keylog=tls.keylog,
        observers=(coverage, trace.observer) + ((exposure.observer,) if exposure is not None else ())
        + tuple((collect or {}).get("observers", ())),  # dpi spec's shape observer
    ))
    started = time.monotonic()
    bar = None
    # tqdm hides its bar off a terminal (disable=None) anyway: not importing it then
    # keeps scheduled and piped scans from loading it.
    if not args.no_progress and sys.stderr.isatty():
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
        scanned = trace.scan(  # scanner.scan_inputs, with -v's log and the gaps' files
            engine,
            inputs,
            bar.update if bar is not None else None,
            sensor_pattern=_sensor_pattern(args.sensor_pattern),
            separate_files=args.separate_files,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - started
    stats = engine.stats
    if scanned == 0:
        # Nothing readable: every reason is an error, one line each.
        for warning in stats.warnings:
            err(f"error: {warning}")
        if len(inputs) > 1 or not stats.warnings:
            err("error: no readable capture among the inputs")
        return EXIT_USAGE
    for warning in stats.warnings:
        err(f"warning: {warning}")
    rows = config.allowed(engine.inventory.rows())
    if exposure is not None:
        exposure.compute(rows)
        if args.findings:
            exposure.write(Path(args.findings))
    if collect is not None:
        collect["rows"], collect["findings"] = rows, exposure.results if exposure else []
    if collect is not None and not args.out:
        pass  # `dpi check` writes its reports, not the inventory, unless asked
    else:
        write_inventory(rows, args.format, args.out, exposure)
    if args.explain:
        Path(args.explain).write_text(
            json.dumps(config.allowed_explain(engine.inventory.explain(), rows), indent=2) + "\n",
            encoding="utf-8",
        )
    if args.tls_coverage:
        coverage.write(Path(args.tls_coverage))  # CSV, *.json, or *.xlsx (text cells)
    if args.summary_json:
        summary = stats.as_dict() | {"rows": len(rows), "seconds": round(seconds, 3),
                                     "paths": list(args.paths)}  # for dpi report's header
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        err("\n".join([scan_summary(stats, rows, seconds), *trace.summary_lines(), config_line(config)]))
        if exposure is not None:
            err(exposure.summary())
    if args.strict:
        from dpi.runs.strict import strict_failure

        failure = strict_failure(
            stats,
            warnings=len(stats.warnings) + len(warnings),
            dropped_fields=engine.inventory.dropped_fields,
        )
        if failure:  # what was skipped, by counter name
            err(failure)
            return EXIT_POLICY
    return EXIT_OK


def _limits(args: argparse.Namespace, config: Any) -> tuple[Any, Any]:
    """Bounds: the defaults, then dpi.toml's [limits], then --limit (dpi/limits.py)."""
    from dpi.limits import LimitError, apply_limits, parse_limit

    overrides = dict(getattr(config, "limits", {}))
    try:
        for text in getattr(args, "limit", []):
            name, value = parse_limit(text)
            overrides[name] = value
        return apply_limits(overrides)
    except LimitError as exc:
        raise UsageError(str(exc)) from None


def _exposure(args: argparse.Namespace, always: bool = False) -> Any:
    """Findings are gathered only when asked for (`--findings` or `--internal`, or
    `dpi check`, whose rules read them)."""
    if not always and not args.findings and not args.internal:
        return None
    from dpi.findings.egress import NetworkError
    from dpi.findings.run import FindingsRun

    try:
        return FindingsRun(args.internal)
    except NetworkError as exc:
        raise UsageError(str(exc)) from None


def _sensor_pattern(text: str | None) -> Any:
    import re

    try:
        return re.compile(text) if text else None
    except re.error as exc:
        raise UsageError(f"--sensor-pattern: {exc}") from None
